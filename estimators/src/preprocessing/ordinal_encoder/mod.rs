//! `OrdinalEncoder`: codes each column's categories (float-coded values) as `0 .. k − 1`.

mod algorithm;
mod errors;
mod params;

pub use algorithm::OrdinalEncoder;
pub use errors::OrdinalEncoderError;
pub use params::{OrdinalEncoderParams, OrdinalEncoderValidParams, OrdinalUnknown};
