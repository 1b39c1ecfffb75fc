//! Clustering: [`KMeans`] (Lloyd's algorithm with k-means‖ initialisation, as dask-ml's),
//! [`MiniBatchKMeans`] (scikit-learn's mini-batch updates, block after block) and
//! [`SpectralClustering`] (Nyström approximation, as dask-ml's).

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

pub mod k_means;
pub mod mini_batch_k_means;
pub mod spectral_clustering;

pub use k_means::{KMeans, KMeansError, KMeansInit, KMeansParams, KMeansParamsError, KMeansValidParams};
pub use mini_batch_k_means::{
    MiniBatchInit, MiniBatchKMeans, MiniBatchKMeansError, MiniBatchKMeansParams, MiniBatchKMeansParamsError,
    MiniBatchKMeansValidParams,
};
pub use spectral_clustering::{
    SpectralClustering, SpectralClusteringError, SpectralClusteringParams, SpectralClusteringParamsError,
    SpectralClusteringValidParams,
};

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<k_means::ops::LloydPartials>(),
    OpEntry::of::<k_means::ops::UpdateMinDist>(),
    OpEntry::of::<k_means::ops::MinDistSum>(),
    OpEntry::of::<k_means::ops::CandidateCounts>(),
    OpEntry::of::<k_means::ops::SampleCandidates>(),
    OpEntry::of::<k_means::ops::PickByWeight>(),
    OpEntry::of::<k_means::ops::TakeRowsAt>(),
    OpEntry::of::<k_means::ops::TrialPotentials>(),
    OpEntry::of::<k_means::ops::SumVecs>(),
    OpEntry::of::<ApplyModel<KMeans>>(),
    OpEntry::of::<mini_batch_k_means::ops::MiniBatchInitOp>(),
    OpEntry::of::<mini_batch_k_means::ops::MiniBatchStep>(),
    OpEntry::of::<ApplyModel<MiniBatchKMeans>>(),
    OpEntry::of::<spectral_clustering::ops::AffinitySums>(),
    OpEntry::of::<spectral_clustering::ops::NystromGram>(),
    OpEntry::of::<spectral_clustering::ops::EmbedBlock>(),
    OpEntry::of::<ApplyModel<SpectralClustering>>(),
];

/// The search ops of this module's estimators (fit, partial fit and apply inside a search task).
pub const SEARCH_OPS: &[OpEntry] =
    rask_ml::search_entries!(KMeansParams, MiniBatchKMeansParams, SpectralClusteringParams);

/// The codecs of this module's estimators' models fitted inside search tasks.
pub const SEARCH_CODECS: &[Codec] =
    rask_ml::search_codec_entries!(KMeansParams, MiniBatchKMeansParams, SpectralClusteringParams);

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[
    Codec::serde::<k_means::ops::MinDist>("rask.estimators.kmeans.min_dist"),
    Codec::serde::<mini_batch_k_means::ops::MiniBatchState>("rask.estimators.mini_batch_kmeans.state"),
];
