//! Incremental principal component analysis: scikit-learn's `IncrementalPCA`, one batch at a
//! time, for data streamed through `partial_fit`.

mod algorithm;
mod errors;
mod params;

pub use algorithm::IncrementalPca;
pub use errors::IncrementalPcaError;
pub use params::{IncrementalPcaParams, IncrementalPcaParamsError, IncrementalPcaValidParams};
