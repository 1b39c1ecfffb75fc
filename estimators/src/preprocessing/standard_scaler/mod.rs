//! `StandardScaler`: removes the mean and scales to unit variance, column by column.

mod algorithm;
mod errors;
pub mod ops;
mod params;

pub use algorithm::StandardScaler;
pub use errors::StandardScalerError;
pub use params::{StandardScalerParams, StandardScalerValidParams};
