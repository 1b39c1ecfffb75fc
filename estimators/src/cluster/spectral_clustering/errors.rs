//! What a spectral clustering fit can fail with.

use rask_ml::MlError;

use super::params::SpectralClusteringParamsError;
use crate::cluster::KMeansError;

/// Errors of [`SpectralClusteringParams`](super::SpectralClusteringParams) fits.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpectralClusteringError {
    /// A hyperparameter is invalid.
    #[error(transparent)]
    Params(#[from] SpectralClusteringParamsError),
    /// The data has no rows.
    #[error("spectral clustering needs at least one row, and the data has none")]
    Empty,
    /// Fewer rows than landmarks.
    #[error("n_components = {n_components} landmarks is larger than the number of rows ({n_samples})")]
    TooFewSamples {
        /// Rows in the data.
        n_samples: usize,
        /// Requested landmarks.
        n_components: usize,
    },
    /// The data holds NaN or infinite values.
    #[error("the data holds NaN or infinite values; spectral clustering needs finite data")]
    NonFinite,
    /// The dataset carries sample weights.
    #[error("sample weights are not supported by spectral clustering; fit a dataset without weights")]
    WeightsUnsupported,
    /// The landmarks' kernel matrix has too few usable directions for `n_clusters`.
    #[error("the landmarks' affinity matrix has rank {rank}, fewer than n_clusters = {n_clusters}; use more landmarks or another gamma")]
    Rank {
        /// Numerical rank found.
        rank: usize,
        /// Requested clusters.
        n_clusters: usize,
    },
    /// The k-means step on the embedding failed.
    #[error(transparent)]
    KMeans(#[from] KMeansError),
    /// Chunked data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
