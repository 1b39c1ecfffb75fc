//! `BernoulliNB`: Bernoulli naive Bayes, for binary (or binarised) features, fitted with one reduction of per-class feature counts.

mod algorithm;
mod errors;
mod params;

pub use algorithm::BernoulliNB;
pub use errors::BernoulliNBError;
pub use params::{BernoulliNBParams, BernoulliNBValidParams};
