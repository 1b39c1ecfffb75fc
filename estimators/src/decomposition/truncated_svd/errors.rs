//! What a truncated SVD fit can fail with.

use rask_ml::MlError;

use super::params::TruncatedSvdParamsError;

/// A failed truncated SVD fit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TruncatedSvdError {
    /// The parameters are invalid.
    #[error(transparent)]
    Params(#[from] TruncatedSvdParamsError),
    /// The data or the task graph failed (NaN or infinite values are reported here).
    #[error(transparent)]
    Ml(#[from] MlError),
    /// More components than `min(n_samples, n_features)`.
    #[error("n_components={n_components} must be at most min(n_samples, n_features)={max}")]
    TooManyComponents {
        /// Asked for.
        n_components: usize,
        /// `min(n_samples, n_features)`.
        max: usize,
    },
    /// A dense factorisation failed.
    #[error("linear algebra failed: {0}")]
    Linalg(String),
}
