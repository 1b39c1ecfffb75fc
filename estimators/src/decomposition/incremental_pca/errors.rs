//! What an incremental PCA fit can fail with.

use rask_ml::MlError;

use super::params::IncrementalPcaParamsError;

/// A failed incremental PCA fit or update.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IncrementalPcaError {
    /// The parameters are invalid.
    #[error(transparent)]
    Params(#[from] IncrementalPcaParamsError),
    /// The data or the task graph failed (NaN or infinite values are reported here).
    #[error(transparent)]
    Ml(#[from] MlError),
    /// More components than features.
    #[error("n_components={n_components} invalid for n_features={n_features}, need more rows than columns for IncrementalPCA processing")]
    TooManyComponents {
        /// Asked for.
        n_components: usize,
        /// Columns of the data.
        n_features: usize,
    },
    /// The first batch has fewer rows than components.
    #[error("n_components={n_components} must be less or equal to the batch number of samples {n_samples} for the first partial_fit call")]
    FirstBatchTooSmall {
        /// Asked for.
        n_components: usize,
        /// Rows of the first batch.
        n_samples: usize,
    },
    /// The batch's width differs from the model's.
    #[error("the model was fitted on {expected} features, this batch has {found}")]
    FeatureMismatch {
        /// The model's features.
        expected: usize,
        /// The batch's.
        found: usize,
    },
    /// The model being updated was fitted with another `n_components`.
    #[error("the model has {found} components, the params ask for {expected}")]
    ComponentMismatch {
        /// The params' `n_components`.
        expected: usize,
        /// The model's.
        found: usize,
    },
    /// Fewer than two rows seen in all: the sample variance is undefined.
    #[error("IncrementalPCA needs at least 2 samples to estimate variances, got {n_samples}")]
    TooFewSamples {
        /// Rows seen.
        n_samples: usize,
    },
    /// A dense factorisation failed.
    #[error("linear algebra failed: {0}")]
    Linalg(String),
}
