//! Truncated SVD (latent semantic analysis): scikit-learn's `TruncatedSVD` on chunked data.
//! Unlike PCA it does not centre the data.

mod algorithm;
mod errors;
mod params;

pub use algorithm::TruncatedSvd;
pub use errors::TruncatedSvdError;
pub use params::{SvdSolver, TruncatedSvdParams, TruncatedSvdParamsError, TruncatedSvdValidParams};
