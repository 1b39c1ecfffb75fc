//! What a k-means fit can fail with.

use rask_ml::MlError;

use super::params::KMeansParamsError;

/// Errors of [`KMeansParams`](super::KMeansParams) fits and of the fitted [`KMeans`](super::KMeans).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansError {
    /// A hyperparameter is invalid.
    #[error(transparent)]
    Params(#[from] KMeansParamsError),
    /// The data has no rows.
    #[error("k-means needs at least one row, and the data has none")]
    Empty,
    /// Fewer rows than clusters.
    #[error("n_clusters = {n_clusters} is larger than the number of rows ({n_samples})")]
    TooFewSamples {
        /// Rows in the data.
        n_samples: usize,
        /// Requested clusters.
        n_clusters: usize,
    },
    /// The data holds NaN or infinite values (where: the first one found).
    #[error(
        "the data holds NaN or infinite values{0}; k-means needs finite data: impute missing values first (e.g. a \
         SimpleImputer step) or drop those rows"
    )]
    NonFinite(String),
    /// The dataset carries sample weights, which k-means does not use yet.
    #[error("sample weights are not supported by k-means yet; fit a dataset without weights")]
    WeightsUnsupported,
    /// Given initial centres do not have the data's number of features.
    #[error("the given initial centres have {found} columns, but the data has {expected}")]
    GivenWidth {
        /// Columns of the data.
        expected: usize,
        /// Columns of the given centres.
        found: usize,
    },
    /// Chunked data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
