//! What a mini-batch k-means fit can fail with.

use rask_ml::MlError;

use super::params::MiniBatchKMeansParamsError;

/// Errors of [`MiniBatchKMeansParams`](super::MiniBatchKMeansParams) fits and of the fitted
/// [`MiniBatchKMeans`](super::MiniBatchKMeans).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MiniBatchKMeansError {
    /// A hyperparameter is invalid.
    #[error(transparent)]
    Params(#[from] MiniBatchKMeansParamsError),
    /// The data has no rows.
    #[error("mini-batch k-means needs at least one row, and the data has none")]
    Empty,
    /// The data has fewer rows than clusters (the initial centres are drawn from the first
    /// blocks, as many as it takes to hold `n_clusters` rows).
    #[error("n_clusters = {n_clusters} is larger than the number of rows of the data ({n_samples})")]
    TooFewSamples {
        /// Rows in the data.
        n_samples: usize,
        /// Requested clusters.
        n_clusters: usize,
    },
    /// The dataset carries sample weights, which mini-batch k-means does not use yet.
    #[error("sample weights are not supported by mini-batch k-means yet; fit a dataset without weights")]
    WeightsUnsupported,
    /// The data (or given centres) do not have the model's number of features.
    #[error("the data has {found} features, but the model (or given centres) has {expected}")]
    Features {
        /// Features of the model.
        expected: usize,
        /// Features of the data.
        found: usize,
    },
    /// A model passed to `partial_fit` has another number of clusters than the params.
    #[error("the model has {found} clusters, but n_clusters is {expected}")]
    Clusters {
        /// `n_clusters` of the params.
        expected: usize,
        /// Clusters of the model.
        found: usize,
    },
    /// Chunked data or the task graph failed (NaN or infinite values in a block end up here,
    /// with a message naming the row).
    #[error(transparent)]
    Ml(#[from] MlError),
}
