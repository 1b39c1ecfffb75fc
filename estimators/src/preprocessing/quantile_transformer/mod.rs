//! `QuantileTransformer`: maps each column through its empirical distribution function.

mod algorithm;
mod errors;
mod normal;
mod params;

pub use algorithm::QuantileTransformer;
pub use errors::QuantileTransformerError;
pub use params::{OutputDistribution, QuantileTransformerParams, QuantileTransformerValidParams};
