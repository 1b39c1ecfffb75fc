//! The mini-batch k-means fit and `partial_fit`, and the fitted [`MiniBatchKMeans`].

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::{default_scheduler, Graph, Key, Scheduler, Tokenizer, Value};
use rask_ml::nearest::Arithmetic;
use rask_ml::traits::check_n_features;
use rask_ml::{
    BlockModel, ChunkedArray, ChunkedDataset, Element, Fit, Float, Lazy, Method, ModelKind, ParamGuard, PartialFit,
    ReduceOptions,
};
use serde::{Deserialize, Serialize};

use super::errors::MiniBatchKMeansError;
use super::ops::{InitKind, MiniBatchInitOp, MiniBatchState, MiniBatchStep};
use super::params::{MiniBatchInit, MiniBatchKMeansParams, MiniBatchKMeansValidParams};
use crate::cluster::k_means::{distances, init::stream, lloyd_pass, predict_labels, PassOptions};

/// A fitted mini-batch k-means model.
///
/// # Parallelisation
///
/// Mini-batch updates are sequential by nature: a pass over the data is a chain of tasks, one
/// per block, each taking the running state (centres and counts) and returning the updated one.
/// Only the state travels between tasks, so the blocks can live anywhere; the pass is not
/// parallel. Predictions and scores are parallel, one task per block.
///
/// ```
/// use ndarray::array;
/// use rask_estimators::cluster::{MiniBatchInit, MiniBatchKMeansParams};
/// use rask_ml::{Fit, Predict};
///
/// let x = array![[0.0, 0.0], [0.2, 0.0], [10.0, 10.0], [10.2, 10.0]];
/// let init = MiniBatchInit::Given(array![[0.0, 1.0], [9.0, 9.0]]);
/// let model = MiniBatchKMeansParams::new(2).init(init).batch_size(2).max_iter(5).fit(&x).unwrap();
/// assert_eq!(model.predict(&x).unwrap().to_vec(), vec![0, 0, 1, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MiniBatchKMeans {
    /// The centres, `k × d`.
    pub cluster_centers: Array2<f64>,
    /// Rows absorbed by each centre (scikit-learn's `_counts`); they set each centre's
    /// learning rate in later updates.
    pub counts: Array1<f64>,
    /// Mini-batch updates so far (scikit-learn's `n_steps_`).
    pub n_steps: u64,
    /// Passes over the data so far: `fit` passes, plus one per `partial_fit`.
    pub n_iter: usize,
    /// The kernel arithmetic it was fitted with, which `partial_fit`, predictions and scores
    /// keep, on every worker (files written before this field use this process's choice).
    #[serde(default = "Arithmetic::local")]
    pub arithmetic: Arithmetic,
}

impl MiniBatchKMeans {
    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.cluster_centers.nrows()
    }

    /// The inertia of `x` for these centres (one parallel pass).
    pub fn inertia_of<F: Float>(&self, x: &ChunkedArray<F>) -> Result<f64, MiniBatchKMeansError> {
        check_n_features(self.n_features_in(), x.n_cols())?;
        Ok(lloyd_pass(x, &self.cluster_centers, PassOptions::score(self.arithmetic), &default_scheduler())?.inertia)
    }

    /// Minus the inertia of `x`, as scikit-learn's `score`.
    pub fn score<F: Float>(&self, x: &ChunkedArray<F>) -> Result<f64, MiniBatchKMeansError> {
        Ok(-self.inertia_of(x)?)
    }

    fn state(&self) -> MiniBatchState {
        MiniBatchState { centres: self.cluster_centers.clone(), counts: self.counts.to_vec(), n_steps: self.n_steps }
    }
}

impl BlockModel for MiniBatchKMeans {
    const APPLY_OP: &'static str = "rask.estimators.mini_batch_kmeans.apply";
    const KIND: ModelKind = ModelKind::Clusterer;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{
            check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty,
        };
        const M: &str = "MiniBatchKMeans";
        nonempty(M, "the number of clusters", self.cluster_centers.nrows())?;
        nonempty(M, "the number of features", self.cluster_centers.ncols())?;
        len(M, "counts", self.cluster_centers.nrows(), self.counts.len())?;
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

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::Transform)
    }
}

fn checked_x<F: Float, Y: Element>(
    data: &ChunkedDataset<F, Y>,
    sched: &Scheduler,
) -> Result<ChunkedArray<F>, MiniBatchKMeansError> {
    if data.weights().is_some() {
        return Err(MiniBatchKMeansError::WeightsUnsupported);
    }
    let x = data.x();
    let x = if x.chunks().is_known() { x.clone() } else { x.compute_chunk_sizes_on(sched)? };
    if x.n_rows().unwrap_or(0) == 0 {
        return Err(MiniBatchKMeansError::Empty);
    }
    Ok(x)
}

impl MiniBatchKMeansValidParams {
    /// One pass over the blocks of `x`, starting from `start` (or from the initialisation on
    /// the first block); returns the state at the end.
    fn pass<F: Float>(
        &self,
        x: &ChunkedArray<F>,
        start: Option<MiniBatchState>,
        pass: usize,
        arithmetic: Arithmetic,
        sched: &Scheduler,
    ) -> Result<MiniBatchState, MiniBatchKMeansError> {
        let mut g = Graph::new();
        let mut key = match (start, &self.init) {
            (Some(state), _) => {
                let mut t = Tokenizer::new();
                t.str("rask.estimators.mini_batch_kmeans.state").str(x.name()).u64(pass as u64).u64(state.n_steps);
                for v in state.centres.iter().chain(&state.counts) {
                    t.u64(v.to_bits());
                }
                g.add_data(Key::new(format!("mbk-state-{}", t.finish().hex())), Value::new(state))
            }
            (None, MiniBatchInit::Given(c)) => {
                let state = MiniBatchState { centres: c.clone(), counts: vec![0.0; c.nrows()], n_steps: 0 };
                return self.pass(x, Some(state), pass, arithmetic, sched);
            }
            (None, init) => {
                // The centres are drawn from the first block, or from as many first blocks as it
                // takes to hold `k` rows when it alone has fewer.
                let sizes = x.chunks().sizes().unwrap_or(&[]);
                let mut rows = 0;
                let mut blocks = Vec::new();
                for (b, &n) in sizes.iter().enumerate() {
                    if rows >= self.n_clusters {
                        break;
                    }
                    rows += n;
                    blocks.push(x.block_key(b));
                }
                if rows < self.n_clusters {
                    return Err(MiniBatchKMeansError::TooFewSamples { n_samples: rows, n_clusters: self.n_clusters });
                }
                let kind = if *init == MiniBatchInit::Random { InitKind::Random } else { InitKind::KMeansPlusPlus };
                let op = MiniBatchInitOp { k: self.n_clusters, kind, stream: stream("minibatch.init", self.seed, &[]) };
                g.task(op, &blocks).map_err(rask_ml::MlError::from)?
            }
        };
        for b in 0..x.n_blocks() {
            key = g
                .task(MiniBatchStep { batch_size: self.batch_size, arithmetic }, &[key, x.block_key(b)])
                .map_err(rask_ml::MlError::from)?;
        }
        Ok(Lazy::<MiniBatchState>::new(x.layers().with(g), key).compute_on(sched)?)
    }

    fn check_model(&self, model: &MiniBatchKMeans, n_features: usize) -> Result<(), MiniBatchKMeansError> {
        if model.n_clusters() != self.n_clusters {
            return Err(MiniBatchKMeansError::Clusters { expected: self.n_clusters, found: model.n_clusters() });
        }
        if model.n_features_in() != n_features {
            return Err(MiniBatchKMeansError::Features { expected: model.n_features_in(), found: n_features });
        }
        Ok(())
    }
}

fn model_of(state: MiniBatchState, n_iter: usize, arithmetic: Arithmetic) -> MiniBatchKMeans {
    MiniBatchKMeans {
        cluster_centers: state.centres,
        counts: Array1::from(state.counts),
        n_steps: state.n_steps,
        n_iter,
        arithmetic,
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for MiniBatchKMeansParams {
    type Model = MiniBatchKMeans;
    type Error = MiniBatchKMeansError;

    /// Up to `max_iter` passes over the blocks, in order, from centres drawn from the first
    /// block; the first pass is exactly `partial_fit(None, data)`, each later one exactly
    /// `partial_fit(Some(model), data)`.
    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<MiniBatchKMeans, MiniBatchKMeansError> {
        let p = self.check_ref()?;
        let sched = default_scheduler();
        let x = checked_x(data, &sched)?;
        if let MiniBatchInit::Given(c) = &p.init {
            if c.ncols() != x.n_cols() {
                return Err(MiniBatchKMeansError::Features { expected: c.ncols(), found: x.n_cols() });
            }
        }
        let tol_abs = if p.tol > 0.0 {
            let stats = x.column_stats(ReduceOptions::default())?.compute_on(&sched)?;
            p.tol * stats.var(0).mean().unwrap_or(0.0)
        } else {
            0.0
        };
        // Decided on the client and carried by every step op (see `Arithmetic`).
        let arithmetic = Arithmetic::local();
        let mut state = p.pass(&x, None, 0, arithmetic, &sched)?;
        let mut n_iter = 1;
        while n_iter < p.max_iter {
            let before = state.centres.clone();
            state = p.pass(&x, Some(state), n_iter, arithmetic, &sched)?;
            n_iter += 1;
            let shift: f64 = before.iter().zip(state.centres.iter()).map(|(a, b)| (a - b) * (a - b)).sum();
            if shift <= tol_abs {
                break;
            }
        }
        Ok(model_of(state, n_iter, arithmetic))
    }
}

impl<F: Float, Y: Element> PartialFit<ChunkedDataset<F, Y>> for MiniBatchKMeansParams {
    type Model = MiniBatchKMeans;
    type Error = MiniBatchKMeansError;

    /// One pass of mini-batch updates over the blocks of `data`, in order, starting from
    /// `model` (or from centres drawn from the first block of `data`).
    fn partial_fit(
        &self,
        model: Option<MiniBatchKMeans>,
        data: &ChunkedDataset<F, Y>,
    ) -> Result<MiniBatchKMeans, MiniBatchKMeansError> {
        let p = self.check_ref()?;
        let sched = default_scheduler();
        let x = checked_x(data, &sched)?;
        match model {
            Some(m) => {
                p.check_model(&m, x.n_cols())?;
                // The model keeps the arithmetic it was fitted with.
                let state = p.pass(&x, Some(m.state()), m.n_iter, m.arithmetic, &sched)?;
                Ok(model_of(state, m.n_iter + 1, m.arithmetic))
            }
            None => {
                if let MiniBatchInit::Given(c) = &p.init {
                    if c.ncols() != x.n_cols() {
                        return Err(MiniBatchKMeansError::Features { expected: c.ncols(), found: x.n_cols() });
                    }
                }
                let arithmetic = Arithmetic::local();
                Ok(model_of(p.pass(&x, None, 0, arithmetic, &sched)?, 1, arithmetic))
            }
        }
    }
}

rask_ml::estimator!(MiniBatchKMeansParams => MiniBatchKMeans, name = "MiniBatchKMeans", ops = "rask.estimators.mini_batch_kmeans", kind = Clusterer, targets = any, partial_fit = yes);
