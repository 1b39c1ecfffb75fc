//! The k-means fit (Lloyd's algorithm over row blocks) and the fitted [`KMeans`] model.

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::{default_scheduler, Scheduler};
use rask_ml::chunked::kernels::{AssignPartials, MergeAssignPartials};
use rask_ml::nearest::{assign_labels, Arithmetic, PreparedCentres};
use rask_ml::traits::check_n_features;
use rask_ml::{
    BlockModel, ChunkedArray, ChunkedDataset, Element, Fit, Float, Lazy, Method, MlError, ModelKind, ParamGuard,
    ReduceOptions,
};
use serde::{Deserialize, Serialize};

use super::errors::KMeansError;
use super::init::{k_means_parallel, k_means_plus_plus, random_rows, stream};
use super::ops::LloydPartials;
use super::params::{KMeansInit, KMeansParams, KMeansParamsError, KMeansValidParams};

/// A fitted k-means model.
///
/// Fitted with [`KMeansParams`] through [`Fit`]; predicts the nearest centre of each row
/// ([`Predict`](rask_ml::Predict), `i64` labels) and transforms rows into their distances to
/// every centre ([`Transform`](rask_ml::Transform), `k` columns, like scikit-learn's
/// `transform`), on arrays and lazily on chunked arrays. Per-row training labels are not kept
/// (they would be as long as the data); predict them instead. `f32` data is fitted with `f64`
/// arithmetic (rows are widened as they are read), so the centres are `f64` either way.
///
/// # Parallelisation
///
/// Every Lloyd iteration is one task per row block (assign each row to its nearest centre,
/// sum the rows per centre) and a tree reduction of those partial sums; the driver divides the
/// sums by the counts and builds the next iteration's graph. Initialisation is a few more
/// such passes (see [`KMeansInit`]).
///
/// ```
/// use ndarray::array;
/// use rask_estimators::cluster::{KMeansInit, KMeansParams};
/// use rask_ml::{Fit, Predict};
///
/// let x = array![[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]];
/// let init = KMeansInit::Given(array![[0.0, 1.0], [9.0, 9.0]]);
/// let model = KMeansParams::new(2).init(init).fit(&x).unwrap();
/// assert_eq!(model.cluster_centers, array![[0.05, 0.0], [10.05, 10.0]]);
/// assert_eq!(model.predict(&x).unwrap().to_vec(), vec![0, 0, 1, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    /// The centres, `k × d`.
    pub cluster_centers: Array2<f64>,
    /// Sum of squared distances of the training rows to their nearest centre.
    pub inertia: f64,
    /// Lloyd iterations run (of the kept initialisation).
    pub n_iter: usize,
    /// The kernel arithmetic it was fitted with, which its predictions and scores use too, on
    /// every worker (files written before this field use this process's choice).
    #[serde(default = "Arithmetic::local")]
    pub arithmetic: Arithmetic,
}

impl KMeans {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.cluster_centers.nrows()
    }

    /// The inertia of `x` for these centres: the sum of squared distances of its rows to their
    /// nearest centre. One pass over the data.
    pub fn inertia_of<F: Float>(&self, x: &ChunkedArray<F>) -> Result<f64, KMeansError> {
        check_n_features(self.n_features_in(), x.n_cols())?;
        Ok(lloyd_pass(x, &self.cluster_centers, PassOptions::score(self.arithmetic), &default_scheduler())?.inertia)
    }

    /// Minus the inertia of `x`, as scikit-learn's `KMeans.score` (higher is better).
    pub fn score<F: Float>(&self, x: &ChunkedArray<F>) -> Result<f64, KMeansError> {
        Ok(-self.inertia_of(x)?)
    }
}

/// Labels of the rows of `x`: the index of the nearest of `centres`.
pub(crate) fn predict_labels<F: Float>(
    x: ArrayView2<'_, F>,
    centres: &Array2<f64>,
    arithmetic: Arithmetic,
) -> rask_ml::Result<Array1<i64>> {
    check_n_features(centres.ncols(), x.ncols())?;
    let prepared = PreparedCentres::with_arithmetic(centres.view(), arithmetic);
    let mut out = Array1::zeros(x.nrows());
    assign_labels(x, &prepared, |i, c, _| out[i] = c as i64)
        .map_err(|e| MlError::NonFinite { what: format!("the input to predict ({})", e.message()) })?;
    Ok(out)
}

/// Euclidean distances of the rows of `x` to every centre (`rows × k`), computed directly.
pub(crate) fn distances<F: Float>(x: ArrayView2<'_, F>, centres: &Array2<f64>) -> rask_ml::Result<Array2<F>> {
    check_n_features(centres.ncols(), x.ncols())?;
    let mut out = Array2::zeros((x.nrows(), centres.nrows()));
    for (i, row) in x.rows().into_iter().enumerate() {
        for (c, centre) in centres.rows().into_iter().enumerate() {
            let d2: f64 = row.iter().zip(centre.iter()).map(|(&a, &b)| (a.widen() - b) * (a.widen() - b)).sum();
            if !d2.is_finite() {
                return Err(MlError::NonFinite { what: format!("row {i} of the input to transform") });
            }
            out[[i, c]] = F::narrow(d2.sqrt());
        }
    }
    Ok(out)
}

impl BlockModel for KMeans {
    const APPLY_OP: &'static str = "rask.estimators.kmeans.apply";
    const KIND: ModelKind = ModelKind::Clusterer;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty};
        const M: &str = "KMeans";
        nonempty(M, "the number of clusters", self.cluster_centers.nrows())?;
        nonempty(M, "the number of features", self.cluster_centers.ncols())?;
        finite(M, "cluster_centers", self.cluster_centers.iter())
    }

    fn n_features_in(&self) -> usize {
        self.cluster_centers.ncols()
    }

    fn n_features_out(&self) -> usize {
        self.cluster_centers.nrows()
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        predict_labels(x, &self.cluster_centers, self.arithmetic)
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        distances(x, &self.cluster_centers)
    }

    /// The assignment kernel and the distances refuse rows with non-finite distances, which a
    /// NaN or infinite value always gives.
    fn detects_non_finite(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::Transform)
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::Transform)
    }
}

/// Whether an assignment pass also sums the squared distances (the inertia).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inertia {
    /// Sums and counts only (the inertia is left at 0): the Lloyd updates.
    Skip,
    /// Sums, counts and the exact inertia.
    Compute,
}

/// The settings of one [`lloyd_pass`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PassOptions {
    /// Fan-in of the tree reduction of the per-block partials.
    pub(crate) split_every: usize,
    /// Whether the pass computes the inertia.
    pub(crate) inertia: Inertia,
    /// The kernel arithmetic the pass's ops carry.
    pub(crate) arithmetic: Arithmetic,
}

impl PassOptions {
    /// Scoring a fitted model (`inertia_of`, `score`): the inertia, reduced with the default
    /// fan-in of 8 (the model does not keep the `split_every` it was fitted with).
    pub(crate) fn score(arithmetic: Arithmetic) -> PassOptions {
        PassOptions { split_every: 8, inertia: Inertia::Compute, arithmetic }
    }

    /// A Lloyd update: sums and counts, no inertia.
    pub(crate) fn update(split_every: usize, arithmetic: Arithmetic) -> PassOptions {
        PassOptions { split_every, inertia: Inertia::Skip, arithmetic }
    }

    /// The last pass of a fit: sums, counts and the inertia.
    pub(crate) fn with_inertia(split_every: usize, arithmetic: Arithmetic) -> PassOptions {
        PassOptions { split_every, inertia: Inertia::Compute, arithmetic }
    }
}

/// One assignment pass over every block, tree-reduced as `options` say.
pub(crate) fn lloyd_pass<F: Float>(
    x: &ChunkedArray<F>,
    centres: &Array2<f64>,
    options: PassOptions,
    sched: &Scheduler,
) -> Result<AssignPartials, MlError> {
    let op = LloydPartials {
        centres: centres.clone(),
        inertia: options.inertia == Inertia::Compute,
        arithmetic: options.arithmetic,
    };
    let (layers, key) = x.block_layer().reduce(&[], op, MergeAssignPartials, options.split_every)?;
    Lazy::<AssignPartials>::new(layers, key).compute_on(sched)
}

/// One Lloyd update pass on the default scheduler, exactly as each iteration of the fit runs
/// it: every row to its nearest centre, per-centre sums and counts tree-reduced, no inertia
/// (it is left at 0). For benchmarks and hand-written loops.
pub fn lloyd_step<F: Float>(
    x: &ChunkedArray<F>,
    centres: &Array2<f64>,
    split_every: usize,
) -> Result<AssignPartials, KMeansError> {
    check_n_features(centres.ncols(), x.n_cols())?;
    if split_every < 2 {
        return Err(KMeansParamsError::SplitEvery(split_every).into());
    }
    Ok(lloyd_pass(x, centres, PassOptions::update(split_every, Arithmetic::local()), &default_scheduler())?)
}

/// The result of Lloyd iterations from one start.
struct Run {
    centres: Array2<f64>,
    inertia: f64,
    n_iter: usize,
}

/// Lloyd iterations from `centres` until the squared centre shift is at most `tol_abs` or
/// `max_iter` passes; a cluster that loses all its rows keeps its previous centre. The
/// iterations skip the inertia; one last pass computes it exactly for the final centres (as
/// scikit-learn's last assignment step).
fn lloyd<F: Float>(
    x: &ChunkedArray<F>,
    mut centres: Array2<f64>,
    max_iter: usize,
    tol_abs: f64,
    split_every: usize,
    arithmetic: Arithmetic,
    sched: &Scheduler,
) -> Result<Run, MlError> {
    let mut n_iter = 0;
    for _ in 0..max_iter {
        let p = lloyd_pass(x, &centres, PassOptions::update(split_every, arithmetic), sched)?;
        let mut new = centres.clone();
        for (c, &n) in p.counts.iter().enumerate() {
            if n > 0 {
                let inv = n as f64;
                new.row_mut(c).assign(&p.sums.row(c).mapv(|s| s / inv));
            }
        }
        let shift: f64 = new.iter().zip(centres.iter()).map(|(a, b)| (a - b) * (a - b)).sum();
        centres = new;
        n_iter += 1;
        if shift <= tol_abs {
            break;
        }
    }
    let inertia = lloyd_pass(x, &centres, PassOptions::with_inertia(split_every, arithmetic), sched)?.inertia;
    Ok(Run { centres, inertia, n_iter })
}

impl KMeansValidParams {
    /// Fits k-means to the rows of `x` on the default scheduler.
    pub fn fit_array<F: Float>(&self, x: &ChunkedArray<F>) -> Result<KMeans, KMeansError> {
        let sched = default_scheduler();
        let x = if x.chunks().is_known() { x.clone() } else { x.compute_chunk_sizes_on(&sched)? };
        let n = x.n_rows().unwrap_or(0);
        if n == 0 {
            return Err(KMeansError::Empty);
        }
        let stats =
            x.column_stats(ReduceOptions { split_every: self.split_every, skip_nan: false })?.compute_on(&sched)?;
        let var = stats.var(0);
        let finite = |a: &Array1<f64>| a.iter().all(|v| v.is_finite());
        if !(finite(&stats.sum) && finite(&stats.min) && finite(&stats.max) && finite(&var)) {
            let place = x.locate_non_finite().ok().flatten().map_or(String::new(), |p| format!(" ({p})"));
            return Err(KMeansError::NonFinite(place));
        }
        x.check_value_limit(stats.min.as_slice().unwrap_or_default(), stats.max.as_slice().unwrap_or_default())?;
        if self.n_clusters > n {
            return Err(KMeansError::TooFewSamples { n_samples: n, n_clusters: self.n_clusters });
        }
        if let KMeansInit::Given(c) = &self.init {
            if c.ncols() != x.n_cols() {
                return Err(KMeansError::GivenWidth { expected: x.n_cols(), found: c.ncols() });
            }
        }
        let tol_abs = if var.is_empty() { 0.0 } else { self.tol * var.mean().unwrap_or(0.0) };
        // Decided here, on the client, and carried by every op: workers of other CPU types
        // compute with it too, so the model has the same bits on every scheduler.
        let arithmetic = Arithmetic::local();
        let mut best: Option<Run> = None;
        for i in 0..self.n_init {
            let seed = stream("init", self.seed, &[i as u64]);
            let k = self.n_clusters;
            let start = match &self.init {
                KMeansInit::KMeansParallel { oversampling_factor, n_rounds } => {
                    k_means_parallel(&x, k, *oversampling_factor, *n_rounds, seed, self.split_every, &sched)?
                }
                KMeansInit::KMeansPlusPlus => k_means_plus_plus(&x, k, seed, self.split_every, &sched)?,
                KMeansInit::Random => random_rows(&x, k, seed, &sched)?,
                KMeansInit::Given(c) => c.clone(),
            };
            let run = lloyd(&x, start, self.max_iter, tol_abs, self.split_every, arithmetic, &sched)?;
            if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                best = Some(run);
            }
        }
        // `n_init >= 1` is checked, so there is a best run.
        let best = best.expect("at least one initialisation");
        Ok(KMeans { cluster_centers: best.centres, inertia: best.inertia, n_iter: best.n_iter, arithmetic })
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for KMeansParams {
    type Model = KMeans;
    type Error = KMeansError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<KMeans, KMeansError> {
        let params = self.check_ref()?;
        if data.weights().is_some() {
            return Err(KMeansError::WeightsUnsupported);
        }
        params.fit_array(data.x())
    }
}

rask_ml::estimator!(KMeansParams => KMeans, name = "KMeans", ops = "rask.estimators.kmeans", kind = Clusterer, targets = any, partial_fit = no);
