//! `SimpleImputer`: replaces missing values (NaN) with a per-column statistic.

mod algorithm;
mod errors;
mod params;

pub use algorithm::SimpleImputer;
pub use errors::SimpleImputerError;
pub use params::{ImputeStrategy, SimpleImputerParams, SimpleImputerValidParams};
