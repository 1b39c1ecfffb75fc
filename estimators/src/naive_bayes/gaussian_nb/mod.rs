//! `GaussianNB`: Gaussian naive Bayes, fitted with one reduction of per-class moments.

mod algorithm;
mod errors;
pub(crate) mod ops;
mod params;

pub use algorithm::GaussianNB;
pub use errors::GaussianNBError;
pub use ops::ClassStats;
pub use params::{GaussianNBParams, GaussianNBValidParams};
