//! `LabelEncoder`: codes integer labels as `0 .. k − 1`, in memory or lazily on chunked vectors.

mod algorithm;
mod errors;
pub(crate) mod ops;
mod params;

pub use algorithm::LabelEncoder;
pub use errors::LabelEncoderError;
pub use params::{LabelEncoderParams, LabelEncoderValidParams};
