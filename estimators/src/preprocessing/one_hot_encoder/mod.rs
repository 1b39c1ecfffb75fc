//! `OneHotEncoder`: one indicator column per category of each (float-coded) column.

mod algorithm;
mod errors;
mod params;

pub use algorithm::OneHotEncoder;
pub use errors::OneHotEncoderError;
pub use params::{OneHotDrop, OneHotEncoderParams, OneHotEncoderValidParams, OneHotUnknown};
