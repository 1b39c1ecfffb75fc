//! Meta-estimators that scale a model fitted another way: [`ParallelPostFit`] (predict over
//! chunked data of any size, one task per block, the model stored once) and [`Incremental`]
//! (fit a `partial_fit` estimator block by block, in a seeded shuffled order, for some epochs,
//! with optional early stopping on a held-out block).
//!
//! Both work with Rask's estimators and with any foreign model made usable by
//! [`model!`](macro@crate::model) (linfa and smartcore adapters included), on every scheduler.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::graph::Layers;
use rask_core::{default_scheduler, Graph, Key, Node, Scheduler, Task, TaskOp, Tokenizer, Value};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::chunked::{ChunkedArray, ChunkedDataset, ChunkedVector, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::metrics::Scorer;
use crate::model_selection::{Arity, Estimator, Fitted, ModelMethod, Scores, SearchModelOp, SearchPartialFit};
use crate::persist::{token_bytes, Persist};
use crate::traits::{ApplyModel, BlockModel, Method, ModelKind, Predict, PredictProba, Score, Transform};

// --- ParallelPostFit -------------------------------------------------------------------------

/// A model fitted in memory whose `predict`, `predict_proba`, `transform` and `score` run
/// blockwise over chunked data, lazily, one task per block (dask-ml's `ParallelPostFit`).
///
/// The model is stored **once** in each graph, as a value that every block's task reads by
/// key, not copied into every task's arguments (what `model.predict(&x)` does, which is fine
/// for small models and local schedulers). On a distributed scheduler it is therefore sent
/// to the scheduler once and fetched by each worker once; after
/// [`broadcast`](Self::broadcast) it is already on every worker and the graph carries only
/// its key. The model's type needs its codec registered ([`model_codec`](crate::model_codec)).
///
/// Works with any [`BlockModel`]: Rask's models and foreign ones made with
/// [`model!`](macro@crate::model). It serialises as the bare model.
///
/// ```
/// use ndarray::array;
/// use rask_ml::model::{Model, ModelParams};
/// use rask_ml::wrappers::ParallelPostFit;
/// use rask_ml::{ChunkedArray, Result};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Clone, Debug, Serialize, Deserialize)]
/// # struct Sign;
/// # impl Model for Sign {
/// #     type Label = i64;
/// #     fn n_features_in(&self) -> usize { 1 }
/// #     fn predict_rows(&self, x: ndarray::ArrayView2<'_, f64>) -> Result<ndarray::Array1<i64>> {
/// #         Ok(x.column(0).mapv(|v| i64::from(v > 0.0)))
/// #     }
/// # }
/// # rask_ml::model!(Sign, name = "doc.sign", kind = Classifier);
/// let x = ChunkedArray::from_array(array![[-1.0], [2.0], [3.0]].view(), 2).unwrap();
/// let wrapped = ParallelPostFit::new(Sign).unwrap();
/// assert_eq!(wrapped.predict(&x).unwrap().compute().unwrap().to_vec(), vec![0, 1, 1]);
/// ```
///
/// # Parallelism and cost
///
/// `predict`, `predict_proba` and `transform` add one task per block (`ApplyModel` by
/// reference, reading the block and the model's key) to the input's graph, lazily; `score`
/// reduces per-block metric partials of the predictions (scorers that need probabilities, and
/// weighted classification scores, are refused). The cost per block is the model's own; the
/// model crosses the network once per worker, not once per task.
///
/// # Compared with dask-ml
///
/// dask-ml's `ParallelPostFit` also fits the wrapped estimator (on data in memory); here the
/// model is fitted first, by any means, and wrapped. Output widths come from the model's
/// declarations ([`BlockModel::n_features_out`], `n_classes`), never from a trial run on a
/// dummy block, so dask-ml's `predict_meta` / `predict_proba_meta` have no counterpart.
#[derive(Clone, Debug)]
pub struct ParallelPostFit<M> {
    model: Arc<M>,
    /// Where the model is: its key, and the layer that holds it (a value, or a future on a
    /// cluster).
    key: Key,
    layers: Layers,
}

impl<M: BlockModel> ParallelPostFit<M> {
    /// Wraps a fitted model. Its key is a token of its serialised bytes, so wrapping the same
    /// model twice shares the graph node.
    pub fn new(model: M) -> Result<Self> {
        let bytes = token_bytes(&model)?;
        let token = Tokenizer::new().str(M::APPLY_OP).bytes(&bytes).finish();
        let key = Key::new(format!("model-{}", token.hex()));
        let model = Arc::new(model);
        let mut g = Graph::with_capacity(1);
        g.insert(key.clone(), Node::Data(Value::from_arc(model.clone())));
        Ok(ParallelPostFit { model, key, layers: Layers::from_graph(g) })
    }

    /// Stores the model on every worker of `client` now, so graphs built afterwards carry only
    /// its key (and each worker holds it once, whatever the number of blocks and computations).
    ///
    /// `client` is a distributed client (`rask::distributed::Client`), or anything else that
    /// implements [`Broadcast`](rask_core::Broadcast).
    pub fn broadcast(mut self, client: &dyn rask_core::Broadcast) -> Result<Self> {
        let (key, handle) = client.broadcast_value(Value::from_arc(self.model.clone()))?;
        let mut g = Graph::with_capacity(1);
        g.insert(key.clone(), Node::Data(handle));
        self.key = key;
        self.layers = Layers::from_graph(g);
        Ok(self)
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The wrapped model, owned.
    pub fn into_inner(self) -> M {
        Arc::try_unwrap(self.model).unwrap_or_else(|m| (*m).clone())
    }

    /// The key of the model's graph node.
    pub fn model_key(&self) -> &Key {
        &self.key
    }

    fn check<F: Float>(&self, method: Method, x: &ChunkedArray<F>) -> Result<()> {
        if !self.model.supports(method) {
            return Err(MlError::Unsupported {
                what: format!("{} has no {}", crate::model::short_name::<M>(), method_name(method)),
            });
        }
        let expected =
            if method == Method::InverseTransform { self.model.n_features_out() } else { self.model.n_features_in() };
        crate::traits::check_n_features(expected, x.n_cols())
    }

    fn apply<F: Float>(&self, method: Method, x: &ChunkedArray<F>) -> Result<crate::BlockLayer> {
        self.check(method, x)?;
        x.block_layer().map_with_shared(
            &[self.key.clone()],
            &self.layers,
            ApplyModel::<M>::by_reference(method),
            x.chunks().clone(),
        )
    }

    /// One label or value per row, lazily.
    pub fn predict<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedVector<M::Label>> {
        Ok(ChunkedVector::from_block_layer(self.apply(Method::Predict, x)?))
    }

    /// Class probabilities, lazily: `rows × n_classes`.
    pub fn predict_proba<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<f64>> {
        let width = self.model.n_classes().ok_or_else(|| MlError::Unsupported {
            what: format!("{} does not declare its classes, so has no predict_proba", crate::model::short_name::<M>()),
        })?;
        Ok(ChunkedArray::from_block_layer(self.apply(Method::PredictProba, x)?, width))
    }

    /// New features, lazily.
    pub fn transform<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        Ok(ChunkedArray::from_block_layer(self.apply(Method::Transform, x)?, self.model.n_features_out()))
    }

    /// Back to the input space, lazily.
    pub fn inverse_transform<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        Ok(ChunkedArray::from_block_layer(self.apply(Method::InverseTransform, x)?, self.model.n_features_in()))
    }

    /// The model's default score (accuracy for classifiers, R² for regressors) on chunked
    /// labelled data, reduced block by block.
    pub fn score<F: Float>(&self, data: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        let scorer = match M::KIND {
            ModelKind::Classifier => Scorer::Accuracy,
            ModelKind::Regressor => Scorer::R2,
            ModelKind::Clusterer | ModelKind::Transformer => {
                return Err(MlError::Unsupported { what: "this model has no default score".into() })
            }
        };
        self.score_with(scorer, data)
    }

    /// Scores with a label or regression scorer on chunked labelled data.
    pub fn score_with<F: Float>(&self, scorer: Scorer, data: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        scorer.score_predictions(data, &self.predict(data.x())?)
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Predict => "predict",
        Method::PredictProba => "predict_proba",
        Method::Transform => "transform",
        Method::InverseTransform => "inverse_transform",
    }
}

impl<M: Serialize> Serialize for ParallelPostFit<M> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.model.serialize(s)
    }
}

impl<M: BlockModel> Persist for ParallelPostFit<M> {
    fn tag() -> String {
        format!("rask.ml.ParallelPostFit/1<{}>", <M as Persist>::tag())
    }

    fn validate(&self) -> Result<()> {
        self.model.validate_model()
    }
}

impl<'de, M: BlockModel> Deserialize<'de> for ParallelPostFit<M> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let m = M::deserialize(d)?;
        ParallelPostFit::new(m).map_err(serde::de::Error::custom)
    }
}

impl<'a, M: BlockModel, F: Float> Predict<&'a ChunkedArray<F>> for ParallelPostFit<M> {
    type Output = ChunkedVector<M::Label>;
    fn predict(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        ParallelPostFit::predict(self, x)
    }
}

impl<'a, M: BlockModel, F: Float> Predict<ArrayView2<'a, F>> for ParallelPostFit<M> {
    type Output = Array1<M::Label>;
    fn predict(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        Predict::predict(&*self.model, x)
    }
}

impl<'a, M: BlockModel, F: Float> PredictProba<&'a ChunkedArray<F>> for ParallelPostFit<M> {
    type Output = ChunkedArray<f64>;
    fn predict_proba(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        ParallelPostFit::predict_proba(self, x)
    }
}

impl<'a, M: BlockModel, F: Float> PredictProba<ArrayView2<'a, F>> for ParallelPostFit<M> {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        PredictProba::predict_proba(&*self.model, x)
    }
}

impl<'a, M: BlockModel, F: Float> Transform<&'a ChunkedArray<F>> for ParallelPostFit<M> {
    type Output = ChunkedArray<F>;
    fn transform(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        ParallelPostFit::transform(self, x)
    }
}

impl<M: BlockModel, F: Float> Score<ChunkedDataset<F, M::Label>> for ParallelPostFit<M> {
    fn score(&self, data: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        ParallelPostFit::score(self, data)
    }
}

// --- Incremental -----------------------------------------------------------------------------

/// Early stopping of [`Incremental`]: the last block is held out and scored after every
/// epoch; training stops when the score has not improved by more than `tol` for
/// `n_iter_no_change` epochs in a row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The scorer (`None`: accuracy for classifiers, R² for regressors).
    pub scoring: Option<Scorer>,
    /// The improvement that counts.
    pub tol: f64,
    /// Epochs without improvement before stopping.
    pub n_iter_no_change: usize,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping { scoring: None, tol: 1e-4, n_iter_no_change: 2 }
    }
}

/// Fits an estimator that has `partial_fit` block by block (dask-ml's `Incremental`): each
/// epoch feeds every block once, in an order shuffled by `seed` and the epoch number (or in
/// block order without shuffling), to `partial_fit`, one task per block on the scheduler, the
/// model threaded from task to task.
///
/// Works with SGD, MiniBatchKMeans, IncrementalPCA, the naive Bayes models, and foreign models
/// whose [`ModelParams`](crate::model::ModelParams) have `partial_fit`. The same seed and
/// chunking give the same model on every scheduler.
///
/// # Parallelism and cost
///
/// Each epoch is one graph computation: a chain of `partial_fit` tasks, one per training
/// block, each taking the previous model and one block (fitted in the task on the
/// synchronous scheduler), so an epoch is sequential and only the model travels between
/// blocks; with early stopping a last task scores the held-out block. The model comes back to
/// the client after every epoch and enters the next epoch's graph as data. The input is not
/// persisted: every epoch recomputes its blocks. Cost per epoch: one pass, at the estimator's
/// `partial_fit` cost per block.
///
/// # Compared with dask-ml
///
/// dask-ml's `Incremental` makes one pass per `fit` call (`shuffle_blocks`, `random_state`);
/// `epochs` and `early_stopping` are additions here. Its `scoring` and
/// `assume_equal_chunks` have no counterpart (scoring: wrap the fitted model in
/// [`ParallelPostFit`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Incremental<E> {
    /// The estimator.
    pub estimator: E,
    /// Passes over the blocks.
    pub epochs: usize,
    /// Shuffle the block order of each epoch.
    pub shuffle: bool,
    /// Seed of the block order.
    pub seed: u64,
    /// Hold out the last block and stop early on its score.
    pub early_stopping: Option<EarlyStopping>,
}

/// What an [`Incremental`] fit did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalHistory {
    /// The block order of each epoch.
    pub orders: Vec<Vec<usize>>,
    /// The held-out score after each epoch (early stopping only).
    pub scores: Vec<f64>,
    /// `partial_fit` calls made.
    pub calls: u64,
    /// Whether early stopping ended the fit before the last epoch.
    pub stopped_early: bool,
}

impl<E: Estimator> Incremental<E> {
    /// One epoch over the blocks in a shuffled order, seed 0, no early stopping.
    pub fn new(estimator: E) -> Self {
        Incremental { estimator, epochs: 1, shuffle: true, seed: 0, early_stopping: None }
    }

    /// Sets the number of passes over the blocks.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Shuffles (or not) the block order of each epoch.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets the seed of the block order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Holds out the last block and stops early on its score.
    pub fn early_stopping(mut self, e: EarlyStopping) -> Self {
        self.early_stopping = Some(e);
        self
    }

    /// The block order of `epoch` over `n` blocks.
    pub fn order(&self, epoch: usize, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        if self.shuffle {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            order.shuffle(&mut rng);
        }
        order
    }

    /// Fits on the default scheduler.
    pub fn fit<F: Float + Element, Y: Element>(&self, data: &ChunkedDataset<F, Y>) -> Result<E::Model> {
        Ok(self.fit_with_history(data, &default_scheduler())?.0)
    }

    /// Fits on `scheduler` and reports the block orders, held-out scores and call count.
    pub fn fit_with_history<F: Float + Element, Y: Element>(
        &self,
        data: &ChunkedDataset<F, Y>,
        scheduler: &Scheduler,
    ) -> Result<(E::Model, IncrementalHistory)> {
        if !E::has_partial_fit() {
            return Err(MlError::Unsupported {
                what: format!("{} has no partial_fit, so no Incremental fit", E::NAME),
            });
        }
        if self.epochs == 0 {
            return Err(MlError::InvalidParameter { name: "epochs", message: "must be at least 1".into() });
        }
        let n = data.n_blocks();
        let held_out = self.early_stopping.is_some();
        let n_train = if held_out { n.saturating_sub(1) } else { n };
        if n_train == 0 {
            return Err(MlError::InvalidParameter {
                name: "data",
                message: format!(
                    "Incremental needs at least {} blocks{}, the data has {n}",
                    usize::from(held_out) + 1,
                    if held_out { " (one is held out for early stopping)" } else { "" }
                ),
            });
        }
        let scorer = match &self.early_stopping {
            None => None,
            Some(e) => Some(match e.scoring {
                Some(s) => s,
                None => match E::KIND {
                    ModelKind::Classifier => Scorer::Accuracy,
                    ModelKind::Regressor => Scorer::R2,
                    _ => {
                        return Err(MlError::InvalidParameter {
                            name: "early_stopping",
                            message: format!("{} has no default score; give a scorer", E::NAME),
                        })
                    }
                },
            }),
        };
        let arity = Arity { y: data.y().is_some(), w: data.weights().is_some() };
        let mut base = data.x().layers().clone();
        if let Some(y) = data.y() {
            base = base.union(y.layers());
        }
        if let Some(w) = data.weights() {
            base = base.union(w.layers());
        }
        let block_inputs = |i: usize| {
            let mut v = vec![data.x().block_key(i)];
            if let Some(y) = data.y() {
                v.push(y.block_key(i));
            }
            if let Some(w) = data.weights() {
                v.push(w.block_key(i));
            }
            v
        };
        let name = {
            let mut t = Tokenizer::new();
            t.str("rask.ml.incremental").bytes(&token_bytes(&self.estimator)?).str(data.x().name());
            t.finish().hex()
        };
        let mut model: Option<Fitted<E::Model>> = None;
        let mut history = IncrementalHistory { orders: Vec::new(), scores: Vec::new(), calls: 0, stopped_early: false };
        let mut best = f64::NEG_INFINITY;
        let mut stale = 0;
        for epoch in 0..self.epochs {
            let order = self.order(epoch, n_train);
            let mut g = Graph::new();
            let mut prev: Option<Key> = None;
            if let Some(m) = &model {
                let k = Key::new(format!("incremental-{name}-start-{epoch}"));
                g.insert(k.clone(), Node::Data(Value::new(m.clone())));
                prev = Some(k);
            }
            for (step, &b) in order.iter().enumerate() {
                let op =
                    SearchPartialFit { params: self.estimator.clone(), has_model: prev.is_some(), arity, raise: true };
                let mut inputs: Vec<Key> = prev.iter().cloned().collect();
                inputs.extend(block_inputs(b));
                let k = Key::block(format!("incremental-{name}-e{epoch}"), step as u64);
                g.insert(k.clone(), Node::Task(Task { op: TaskOp::op(op), inputs }));
                prev = Some(k);
            }
            // There is at least one training block, so `prev` is set.
            let last = prev.expect("at least one block");
            let mut keys = vec![last.clone()];
            if let Some(s) = scorer {
                let op = SearchModelOp::<E>::new(ModelMethod::Score(vec![s]), arity, true);
                let mut inputs = vec![last];
                inputs.extend(block_inputs(n - 1));
                let k = Key::new(format!("incremental-{name}-score-{epoch}"));
                g.insert(k.clone(), Node::Task(Task { op: TaskOp::op(op), inputs }));
                keys.push(k);
            }
            let graph = base.with(g).to_graph();
            let values = scheduler.compute(&graph, &keys)?;
            let fitted = values[0]
                .get::<Fitted<E::Model>>()
                .map_err(|source| rask_core::Error::ValueType { key: keys[0].clone(), source })?;
            history.calls = fitted.calls;
            history.orders.push(order);
            model = Some(fitted.clone());
            if let (Some(e), Some(v)) = (&self.early_stopping, values.get(1)) {
                let scores =
                    v.get::<Scores>().map_err(|source| rask_core::Error::ValueType { key: keys[1].clone(), source })?;
                let score = match &scores.values {
                    Ok(v) => v[0],
                    Err(message) => return Err(MlError::Fit { model: E::NAME.into(), message: message.clone() }),
                };
                history.scores.push(score);
                if score > best + e.tol {
                    best = score;
                    stale = 0;
                } else {
                    stale += 1;
                    if stale >= e.n_iter_no_change && epoch + 1 < self.epochs {
                        history.stopped_early = true;
                        break;
                    }
                }
            }
        }
        // At least one epoch ran and each stores its model.
        let fitted = model.expect("at least one epoch");
        let m = fitted.model.map_err(|message| MlError::Fit { model: E::NAME.into(), message })?;
        Ok((m, history))
    }
}
