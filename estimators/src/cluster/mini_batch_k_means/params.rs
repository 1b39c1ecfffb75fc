//! Hyperparameters of [`MiniBatchKMeans`](super::MiniBatchKMeans).

use ndarray::Array2;
use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use crate::by_name::not_by_name;

/// How the initial centres are chosen; always from the first block of the data (or the first
/// blocks, as many as it takes to hold `n_clusters` rows, when the first is shorter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MiniBatchInit {
    /// Greedy k-means++ (as scikit-learn's) over the rows of the first block.
    KMeansPlusPlus,
    /// `k` distinct rows of the first block.
    Random,
    /// These centres (`k × d`).
    Given(Array2<f64>),
}

/// By name: `"k-means++"` or `"random"`; given centres read as `"given"` and cannot be set by
/// name (give them with [`MiniBatchKMeansParams::init`]).
impl ParamType for MiniBatchInit {
    fn to_param(&self) -> ParamValue {
        ParamValue::from(match self {
            MiniBatchInit::KMeansPlusPlus => "k-means++",
            MiniBatchInit::Random => "random",
            MiniBatchInit::Given(_) => "given",
        })
    }

    fn from_param(name: &str, value: &ParamValue) -> rask_ml::Result<Self> {
        match value.as_str() {
            Some("k-means++") => Ok(MiniBatchInit::KMeansPlusPlus),
            Some("random") => Ok(MiniBatchInit::Random),
            _ => Err(not_by_name(
                name,
                r#""k-means++" "random""#,
                "given centres are set with `MiniBatchKMeansParams::init(MiniBatchInit::Given(centres))`, not by name",
                value,
            )),
        }
    }
}

/// The validated hyperparameters, as produced by
/// [`MiniBatchKMeansParams::check`](MiniBatchKMeansParams#method.check).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchKMeansValidParams {
    pub(crate) n_clusters: usize,
    pub(crate) init: MiniBatchInit,
    pub(crate) batch_size: usize,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
}

/// The hyperparameters of mini-batch k-means, with these defaults:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `n_clusters` | 8 | clusters to find |
/// | `init` | k-means++ | see [`MiniBatchInit`]; drawn from the first block(s) |
/// | `batch_size` | 1024 | rows per mini-batch: each block is cut into batches of this many rows, in order (as scikit-learn's default) |
/// | `max_iter` | 100 | passes over the data in `fit` (scikit-learn: also 100) |
/// | `tol` | 0 | stop `fit` when the squared centre shift over a pass is at most `tol` × the mean feature variance (0 disables, as scikit-learn's default) |
/// | `seed` | 0 | seed of the initialisation |
///
/// scikit-learn's random reassignment of small clusters (`reassignment_ratio`), its `init_size`
/// sample and its early stopping on the smoothed inertia (`max_no_improvement`) are not
/// offered. Batches are taken in block order, not drawn at random: shuffle the data first
/// (`ChunkedDataset::shuffle`) if it is sorted.
///
/// By name ([`SetParams`](rask_ml::SetParams)): `n_clusters`, `init` (see [`MiniBatchInit`]),
/// `batch_size`, `max_iter`, `tol` and `seed` (scikit-learn's `random_state`).
///
/// # Algorithm
///
/// Sculley's mini-batch k-means with scikit-learn's update: the centres are drawn from the
/// first block (greedy k-means++ or random rows; from the first blocks together when the first
/// holds fewer than `n_clusters` rows) unless given; then each block is cut into
/// batches of `batch_size` rows, in order, every batch is assigned to the current centres,
/// and every centre that received rows moves to the mean of all the rows it has absorbed
/// (learning rate `1 / count`). `fit` runs up to `max_iter` passes and stops when the
/// squared centre shift over a pass is at most `tol` × the mean feature variance;
/// `partial_fit` runs one pass, continuing the model's counts.
///
/// # Parallelism and cost
///
/// A pass is one graph computation: a chain of one task per block, each taking the state
/// (`k × d` centres and `k` counts) and the block and returning the new state; only the state
/// travels, so the blocks are read where they live, but the pass is sequential. `O(n·d·k)`
/// flops per pass. With `tol > 0`, `fit` first runs one column-statistics pass. The input is
/// not persisted: every pass recomputes its blocks. For a parallel fit use
/// [`KMeansParams`](crate::cluster::KMeansParams).
///
/// # Compared with scikit-learn and dask-ml
///
/// - Batches are taken in block order, not sampled at random (shuffle sorted data first);
///   the initialisation uses the first block, not a random `init_size` sample.
/// - `reassignment_ratio`, `init_size`, `max_no_improvement` and `n_init` are not offered;
///   sample weights are refused (`MiniBatchKMeansError::WeightsUnsupported`).
/// - dask-ml has no mini-batch k-means of its own: it runs scikit-learn's
///   `MiniBatchKMeans.partial_fit` block by block (`Incremental`; early releases had
///   `PartialMiniBatchKMeans`), which is what one pass here does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchKMeansParams(MiniBatchKMeansValidParams);

rask_ml::impl_set_params!(MiniBatchKMeansParams, |p| {
    "n_clusters" => p.0.n_clusters,
    "init" => p.0.init,
    "batch_size" => p.0.batch_size,
    "max_iter" => p.0.max_iter,
    "tol" => p.0.tol,
    "seed" => p.0.seed,
});

impl Default for MiniBatchKMeansParams {
    fn default() -> Self {
        MiniBatchKMeansParams(MiniBatchKMeansValidParams {
            n_clusters: 8,
            init: MiniBatchInit::KMeansPlusPlus,
            batch_size: 1024,
            max_iter: 100,
            tol: 0.0,
            seed: 0,
        })
    }
}

rask_ml::params! {
    MiniBatchKMeansParams(MiniBatchKMeansValidParams) {
        set {
            /// Sets the number of clusters.
            n_clusters(n: usize);
            /// Sets the initialisation.
            init(init: MiniBatchInit);
            /// Sets the rows per mini-batch.
            batch_size(n: usize);
            /// Sets the maximum number of passes of `fit`.
            max_iter(n: usize);
            /// Sets the relative tolerance of `fit`.
            tol(tol: f64);
            /// Sets the seed.
            seed(seed: u64);
        }
        get {
            /// Number of clusters.
            n_clusters: usize;
            /// The initialisation.
            init: &MiniBatchInit;
            /// Rows per mini-batch.
            batch_size: usize;
            /// Maximum passes over the data.
            max_iter: usize;
            /// Relative tolerance on the centre shift over one pass.
            tol: f64;
            /// The seed of the initialisation.
            seed: u64;
        }
        check_ref(&self) -> MiniBatchKMeansParamsError {
            let p = &self.0;
            if p.n_clusters == 0 {
                return Err(MiniBatchKMeansParamsError::NClusters);
            }
            if p.batch_size == 0 {
                return Err(MiniBatchKMeansParamsError::BatchSize);
            }
            if p.max_iter == 0 {
                return Err(MiniBatchKMeansParamsError::MaxIter);
            }
            if !(p.tol.is_finite() && p.tol >= 0.0) {
                return Err(MiniBatchKMeansParamsError::Tol(p.tol));
            }
            if let MiniBatchInit::Given(c) = &p.init {
                if c.nrows() != p.n_clusters {
                    return Err(MiniBatchKMeansParamsError::GivenRows { expected: p.n_clusters, found: c.nrows() });
                }
                if c.iter().any(|v| !v.is_finite()) {
                    return Err(MiniBatchKMeansParamsError::GivenNonFinite);
                }
            }
            Ok(p)
        }
    }
}

impl MiniBatchKMeansParams {
    /// Defaults with `n_clusters` clusters.
    pub fn new(n_clusters: usize) -> Self {
        Self::default().n_clusters(n_clusters)
    }
}

/// An invalid mini-batch k-means hyperparameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MiniBatchKMeansParamsError {
    /// `n_clusters` is 0.
    #[error("n_clusters must be at least 1")]
    NClusters,
    /// `batch_size` is 0.
    #[error("batch_size must be at least 1")]
    BatchSize,
    /// `max_iter` is 0.
    #[error("max_iter must be at least 1")]
    MaxIter,
    /// `tol` is negative or not finite.
    #[error("tol must be finite and >= 0, got {0}")]
    Tol(f64),
    /// Given centres do not have `n_clusters` rows.
    #[error("the given initial centres have {found} rows, but n_clusters is {expected}")]
    GivenRows {
        /// `n_clusters`.
        expected: usize,
        /// Rows of the given centres.
        found: usize,
    },
    /// Given centres hold NaN or infinite values.
    #[error("the given initial centres hold NaN or infinite values")]
    GivenNonFinite,
}
