//! What a PCA fit can fail with.

use rask_ml::MlError;

use super::params::PcaParamsError;

/// A failed PCA fit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PcaError {
    /// The parameters are invalid.
    #[error(transparent)]
    Params(#[from] PcaParamsError),
    /// The data or the task graph failed (NaN or infinite values are reported here, naming
    /// the row and column).
    #[error(transparent)]
    Ml(#[from] MlError),
    /// The data has no columns.
    #[error("PCA needs at least one feature, the data has none")]
    NoFeatures,
    /// Fewer than two rows: the sample variance is undefined.
    #[error("PCA needs at least 2 samples to estimate variances, got {n_samples}")]
    TooFewSamples {
        /// Rows in the data.
        n_samples: usize,
    },
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
