//! `RobustScaler`: centres on the median and scales by an interquantile range, column by column.

mod algorithm;
mod errors;
mod params;

pub use algorithm::RobustScaler;
pub use errors::RobustScalerError;
pub use params::{RobustScalerParams, RobustScalerValidParams};
