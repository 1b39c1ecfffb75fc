//! `MinMaxScaler`: scales each column linearly onto a range.

mod algorithm;
mod errors;
mod params;

pub use algorithm::MinMaxScaler;
pub use errors::MinMaxScalerError;
pub use params::{MinMaxScalerParams, MinMaxScalerValidParams};
