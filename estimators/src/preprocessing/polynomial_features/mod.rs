//! `PolynomialFeatures`: products of the input columns up to a degree, in scikit-learn's order.

mod algorithm;
mod errors;
mod params;

pub use algorithm::PolynomialFeatures;
pub use errors::PolynomialFeaturesError;
pub use params::{PolynomialFeaturesParams, PolynomialFeaturesValidParams};
