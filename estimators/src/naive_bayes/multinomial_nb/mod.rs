//! `MultinomialNB`: Multinomial naive Bayes, for count features, fitted with one reduction of per-class feature counts.

mod algorithm;
mod errors;
mod params;

pub use algorithm::MultinomialNB;
pub use errors::MultinomialNBError;
pub use params::{MultinomialNBParams, MultinomialNBValidParams};
