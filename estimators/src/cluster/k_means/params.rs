//! Hyperparameters of [`KMeans`](super::KMeans): an unchecked builder and its validated form.

use ndarray::Array2;
use rask_ml::params::{ParamType, ParamValue};
use serde::{Deserialize, Serialize};

use crate::by_name::{not_by_name, set_params_by_hand};

/// How the initial centres are chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KMeansInit {
    /// k-means‖ (Bahmani et al. 2012, "Scalable k-means++"), as dask-ml's `init_scalable`:
    /// one random row, then `n_rounds` rounds that each keep every row independently with
    /// probability `min(1, oversampling_factor · k · d²(x) / φ)` (`d²(x)` the squared
    /// distance to the nearest candidate so far, `φ` their sum); each block draws from its
    /// own stream derived from `(seed, round, block)`. The candidates are weighted by the
    /// number of rows nearest to them and reduced to `k` centres on the driver by weighted
    /// k-means++ followed by weighted Lloyd iterations. Unlike dask-ml, whose factor `ℓ`
    /// means "about `ℓ` new candidates per round", the factor here is per cluster (about
    /// `oversampling_factor · k` candidates per round), as in the paper's experiments, and
    /// the number of rounds is exactly `n_rounds` (dask-ml uses `min(init_max_iter,
    /// round(log φ₀))`). Stops early when every row coincides with a candidate.
    KMeansParallel {
        /// Expected candidates per round, per cluster (default 2).
        oversampling_factor: f64,
        /// Sampling rounds (default 5).
        n_rounds: usize,
    },
    /// Greedy k-means++ (Arthur and Vassilvitskii 2007, with scikit-learn's `2 + ⌊ln k⌋`
    /// local trials per centre) over all rows, exactly rather than on a sample: per centre,
    /// the trials are drawn with probability proportional to the squared distance to the
    /// nearest centre so far, and the one that lowers the potential most is kept. Two chunked
    /// passes per centre. The random streams differ from scikit-learn's, so the centres do too.
    KMeansPlusPlus,
    /// `k` distinct rows drawn uniformly.
    Random,
    /// These centres (`k × d`); `n_init` must be 1.
    Given(Array2<f64>),
}

impl KMeansInit {
    /// k-means‖ with the default factor 2 and 5 rounds.
    pub fn k_means_parallel() -> Self {
        KMeansInit::KMeansParallel { oversampling_factor: 2.0, n_rounds: 5 }
    }
}

impl Default for KMeansInit {
    fn default() -> Self {
        Self::k_means_parallel()
    }
}

/// The validated hyperparameters of k-means, as produced by
/// [`KMeansParams::check`](KMeansParams#method.check).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansValidParams {
    pub(crate) n_clusters: usize,
    pub(crate) init: KMeansInit,
    pub(crate) n_init: usize,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
    pub(crate) split_every: usize,
}

/// The hyperparameters of k-means (Lloyd's algorithm on chunked data), with these defaults:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `n_clusters` | 8 | clusters to find |
/// | `init` | k-means‖ (factor 2, 5 rounds) | see [`KMeansInit`] |
/// | `n_init` | 1 | initialisations (the best inertia is kept); 1 as dask-ml (which has no `n_init`), because k-means‖ is already a careful, costly start; scikit-learn's `"auto"` is also 1 for k-means++ and given centres, but 10 for random starts |
/// | `max_iter` | 300 | Lloyd iterations per initialisation |
/// | `tol` | 1e-4 | stop when the squared centre shift (Frobenius²) is at most `tol` × the mean of the feature variances, as scikit-learn |
/// | `seed` | 0 | seed of every random choice |
/// | `split_every` | 8 | fan-in of the tree reductions |
///
/// `check()` (or fitting) validates the fields; each invalid field has its own error.
///
/// # By name
///
/// [`SetParams`](rask_ml::SetParams) names: `n_clusters`, `init` (`"k-means||"`,
/// `"k-means++"` or `"random"`), `oversampling_factor` and `n_rounds` (the k-means‖ settings,
/// kept when `init` is another choice, as scikit-learn keeps unused parameters), `n_init`,
/// `max_iter`, `tol`, `seed` (scikit-learn's `random_state`) and `split_every`. Given centres
/// ([`KMeansInit::Given`]) read as `"given"` and cannot be set by name: give them with
/// [`init`](Self::init).
///
/// # Algorithm
///
/// One pass of column statistics (refuses NaN and infinite values, and gives the mean feature
/// variance that scales `tol`), the initialisation ([`KMeansInit`]), then Lloyd iterations:
/// every row goes to its nearest centre (the tiled kernel of [`kernel`](super::kernel):
/// argmin of `‖c‖² − 2x·c` over 256-row tiles, AVX2 + FMA when the CPU has them) and every
/// centre moves to the mean of its rows; a centre that loses all its rows stays where it was.
/// Iterations stop when the squared centre shift is at most `tol` × the mean feature
/// variance, or after `max_iter`; one more pass computes the exact inertia. All of it is
/// repeated `n_init` times from different streams and the lowest inertia is kept. `f32` rows
/// are widened to `f64` as they are read.
///
/// # Parallelism and cost
///
/// - **A Lloyd iteration** is one graph computation and one pass: one `LloydPartials` task per
///   block (per-centre sums and counts of its rows, `k × (d + 1)` numbers), merged by a tree
///   of fan-in `split_every`; the client divides the sums by the counts and builds the next
///   graph. `O(n·d·k)` flops per iteration.
/// - **k-means‖** costs `1 + 2·n_rounds` passes (the distances to the first candidate, then
///   per round a sampling pass and a distance-update pass) and a small graph that fetches the
///   first row; the candidates (about `oversampling_factor · k` per round) are reduced to `k`
///   centres on the client, in memory (10 restarts of weighted k-means++ and weighted Lloyd).
///   **k-means++** costs `1 + 2(k − 1)` passes (per centre: a trial-potential pass and a
///   distance-update pass, plus a graph reading the blocks its trials fall in), so it is slow
///   for large `k`. **Random** costs one graph reading the blocks of `k` rows.
/// - For k-means‖ and k-means++ the per-row squared distance to the nearest candidate (and
///   its index: 12 bytes a row) comes back to the client after each pass and enters the next
///   pass's graph as data: client memory and traffic `O(n)` per pass.
/// - A fit is `1 + init + n_iter + 1` passes per initialisation. The input is not persisted:
///   every pass recomputes its blocks from their graph, so persist a lazily generated or
///   loaded `x` first when it fits in memory.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Initialisation: k-means‖ by default, as dask-ml (scikit-learn: greedy k-means++); the
///   oversampling factor is per cluster and the number of rounds is fixed (see
///   [`KMeansInit::KMeansParallel`]). The random streams differ from both, so centres are
///   comparable centre for centre only from [`KMeansInit::Given`] centres.
/// - An empty cluster keeps its centre (scikit-learn moves it to the farthest rows).
/// - Sample weights are refused (`KMeansError::WeightsUnsupported`; scikit-learn takes
///   `sample_weight`). No `algorithm="elkan"`, no `labels_` (predict the training rows).
/// - `tol` is relative, as scikit-learn's. The same seed and chunking give the same centres
///   on every scheduler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams(KMeansValidParams, ParallelSettings);

/// The k-means‖ settings as set by name, kept while `init` is another choice.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct ParallelSettings {
    oversampling_factor: f64,
    n_rounds: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams(
            KMeansValidParams {
                n_clusters: 8,
                init: KMeansInit::default(),
                n_init: 1,
                max_iter: 300,
                tol: 1e-4,
                seed: 0,
                split_every: 8,
            },
            ParallelSettings { oversampling_factor: 2.0, n_rounds: 5 },
        )
    }
}

/// The choices of `init` that can be set by name.
#[derive(Clone, Copy, Debug, PartialEq)]
enum InitName {
    KMeansParallel,
    KMeansPlusPlus,
    Random,
}

rask_ml::param_enum!(InitName { KMeansParallel => "k-means||", KMeansPlusPlus => "k-means++", Random => "random" });

impl KMeansParams {
    fn init_by_name(&self) -> ParamValue {
        match self.0.init {
            KMeansInit::KMeansParallel { .. } => InitName::KMeansParallel.to_param(),
            KMeansInit::KMeansPlusPlus => InitName::KMeansPlusPlus.to_param(),
            KMeansInit::Random => InitName::Random.to_param(),
            KMeansInit::Given(_) => ParamValue::from("given"),
        }
    }

    fn set_init_by_name(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        if value.as_str() == Some("given") {
            return Err(not_by_name(
                name,
                r#""k-means||" "k-means++" "random""#,
                "given centres are set with `KMeansParams::init(KMeansInit::Given(centres))`, not by name",
                value,
            ));
        }
        let ParallelSettings { oversampling_factor, n_rounds } = self.1;
        self.0.init = match InitName::from_param(name, value)? {
            InitName::KMeansParallel => KMeansInit::KMeansParallel { oversampling_factor, n_rounds },
            InitName::KMeansPlusPlus => KMeansInit::KMeansPlusPlus,
            InitName::Random => KMeansInit::Random,
        };
        Ok(())
    }

    /// Sets a k-means‖ setting by name, and in `init` when it is k-means‖.
    fn set_parallel(&mut self, name: &str, value: &ParamValue) -> rask_ml::Result<()> {
        match name {
            "oversampling_factor" => self.1.oversampling_factor = f64::from_param(name, value)?,
            _ => self.1.n_rounds = usize::from_param(name, value)?,
        }
        if let KMeansInit::KMeansParallel { .. } = self.0.init {
            let ParallelSettings { oversampling_factor, n_rounds } = self.1;
            self.0.init = KMeansInit::KMeansParallel { oversampling_factor, n_rounds };
        }
        Ok(())
    }
}

set_params_by_hand!(KMeansParams, |p, name, value| {
    "n_clusters" => field (p.0.n_clusters),
    "init" => with (p.init_by_name(), p.set_init_by_name(name, value)),
    "oversampling_factor" => with (p.1.oversampling_factor.to_param(), p.set_parallel(name, value)),
    "n_rounds" => with (p.1.n_rounds.to_param(), p.set_parallel(name, value)),
    "n_init" => field (p.0.n_init),
    "max_iter" => field (p.0.max_iter),
    "tol" => field (p.0.tol),
    "seed" => field (p.0.seed),
    "split_every" => field (p.0.split_every),
});

rask_ml::params! {
    KMeansParams(KMeansValidParams) {
        set {
            /// Sets the number of clusters.
            n_clusters(n: usize);
            /// Sets the number of initialisations.
            n_init(n: usize);
            /// Sets the maximum number of Lloyd iterations.
            max_iter(n: usize);
            /// Sets the relative tolerance (0 runs until the centres stop moving or `max_iter`).
            tol(tol: f64);
            /// Sets the seed.
            seed(seed: u64);
            /// Sets the fan-in of the tree reductions.
            split_every(n: usize);
        }
        get {
            /// Number of clusters.
            n_clusters: usize;
            /// The initialisation.
            init: &KMeansInit;
            /// Number of initialisations; the fit with the lowest inertia is kept.
            n_init: usize;
            /// Maximum Lloyd iterations per initialisation.
            max_iter: usize;
            /// Relative tolerance on the centre shift.
            tol: f64;
            /// The seed of every random choice.
            seed: u64;
            /// Fan-in of the tree reductions.
            split_every: usize;
        }
        check_ref(&self) -> KMeansParamsError {
            let p = &self.0;
            if p.n_clusters == 0 {
                return Err(KMeansParamsError::NClusters);
            }
            if p.n_init == 0 {
                return Err(KMeansParamsError::NInit);
            }
            if p.max_iter == 0 {
                return Err(KMeansParamsError::MaxIter);
            }
            if !(p.tol.is_finite() && p.tol >= 0.0) {
                return Err(KMeansParamsError::Tol(p.tol));
            }
            if p.split_every < 2 {
                return Err(KMeansParamsError::SplitEvery(p.split_every));
            }
            match &p.init {
                KMeansInit::KMeansParallel { oversampling_factor, n_rounds } => {
                    if !(oversampling_factor.is_finite() && *oversampling_factor > 0.0) {
                        return Err(KMeansParamsError::OversamplingFactor(*oversampling_factor));
                    }
                    if *n_rounds == 0 {
                        return Err(KMeansParamsError::NRounds);
                    }
                }
                KMeansInit::Given(c) => {
                    if c.nrows() != p.n_clusters {
                        return Err(KMeansParamsError::GivenRows { expected: p.n_clusters, found: c.nrows() });
                    }
                    if c.iter().any(|v| !v.is_finite()) {
                        return Err(KMeansParamsError::GivenNonFinite);
                    }
                    if p.n_init != 1 {
                        return Err(KMeansParamsError::NInitWithGiven(p.n_init));
                    }
                }
                KMeansInit::KMeansPlusPlus | KMeansInit::Random => {}
            }
            Ok(p)
        }
    }
}

impl KMeansParams {
    /// Defaults with `n_clusters` clusters.
    pub fn new(n_clusters: usize) -> Self {
        Self::default().n_clusters(n_clusters)
    }
    /// Sets the initialisation.
    pub fn init(mut self, init: KMeansInit) -> Self {
        if let KMeansInit::KMeansParallel { oversampling_factor, n_rounds } = init {
            self.1 = ParallelSettings { oversampling_factor, n_rounds };
        }
        self.0.init = init;
        self
    }
}

/// An invalid k-means hyperparameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KMeansParamsError {
    /// `n_clusters` is 0.
    #[error("n_clusters must be at least 1")]
    NClusters,
    /// `n_init` is 0.
    #[error("n_init must be at least 1")]
    NInit,
    /// `max_iter` is 0.
    #[error("max_iter must be at least 1")]
    MaxIter,
    /// `tol` is negative or not finite.
    #[error("tol must be finite and >= 0, got {0}")]
    Tol(f64),
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The k-means‖ oversampling factor is not positive and finite.
    #[error("oversampling_factor must be finite and > 0, got {0}")]
    OversamplingFactor(f64),
    /// The k-means‖ round count is 0.
    #[error("n_rounds must be at least 1")]
    NRounds,
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
    /// Several initialisations with given centres would all be the same.
    #[error("n_init must be 1 with given initial centres, got {0}")]
    NInitWithGiven(usize),
}
