//! Blockwise ensembles (dask-ml's `BlockwiseVotingClassifier` / `BlockwiseVotingRegressor`):
//! one sub-model fitted per block of the training data, all blocks in parallel, then
//! predictions by voting (classifiers) or averaging (regressors), block by block.
//!
//! The sub-estimator is any [`Estimator`]: Rask's own, or a foreign model (linfa, smartcore, a
//! user's type) made usable by [`model!`](macro@crate::model). Each block's fit is the estimator's
//! search-fit op, so the ensemble fits on every scheduler; `fit` returns the fitted ensemble
//! (dask-ml's returns `None`), which serialises and saves like any model.
//!
//! **Classes.** Blocks may hold different class sets. The ensemble's classes are the sorted
//! union of its sub-models' classes; in soft voting a sub-model gives probability 0 to a class
//! it never saw, so every row's probabilities still sum to 1. Hard voting picks the label with
//! most votes, the smallest label on ties (as `scipy.stats.mode`, which dask-ml uses).

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::ops::expect_inputs;
use rask_core::{default_scheduler, Graph, Key, Node, Op, OpError, Scheduler, Task, TaskOp, Tokenizer, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chunked::{BlockLayer, ChunkedArray, ChunkedDataset, ChunkedVector, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::metrics::Scorer;
use crate::model_selection::{Arity, Estimator, Fitted, SearchFit};
use crate::persist::{check_model_len, token_bytes, Persist};
use crate::traits::{BlockModel, Method, Predict, PredictProba};
use crate::wrappers::ParallelPostFit;

/// How a classifier ensemble combines its members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Voting {
    /// Majority of predicted labels (smallest label on ties).
    #[default]
    Hard,
    /// Largest mean probability; needs members with `predict_proba`.
    Soft,
}

/// Fits one sub-model per block of a labelled dataset, in parallel; see the [module](self).
///
/// # Parallelism and cost
///
/// `fit` is one graph computation: one fit task per training block, all independent (each
/// fits the sub-estimator on its block in memory, on the synchronous scheduler), and the
/// members come back to the client. Prediction is one task per (member, block) and one
/// [`Vote`] task per block: `members × blocks` model applications, so prediction costs
/// `members` times a single model's. A fit failing on any block fails the ensemble.
///
/// # Compared with dask-ml
///
/// As dask-ml's (hard voting breaks ties to the smallest label, as its `scipy.stats.mode`),
/// except that `fit` returns the fitted ensemble and blocks may hold different class sets
/// (see the [module](self)).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockwiseVotingClassifier<E> {
    /// The sub-estimator.
    pub estimator: E,
    /// Hard or soft voting.
    pub voting: Voting,
}

/// Fits one sub-model per block of a dataset with real targets; predictions are the members'
/// mean.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockwiseVotingRegressor<E> {
    /// The sub-estimator.
    pub estimator: E,
}

/// A fitted voting classifier: one member per training block.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "M: Serialize + DeserializeOwned")]
pub struct VotingClassifier<M> {
    /// The members, in block order.
    pub estimators: Vec<M>,
    /// Hard or soft voting.
    pub voting: Voting,
    /// The sorted union of the members' classes (when every member declares them).
    pub classes: Option<Vec<i64>>,
}

/// A fitted voting regressor: one member per training block.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "M: Serialize + DeserializeOwned")]
pub struct VotingRegressor<M> {
    /// The members, in block order.
    pub estimators: Vec<M>,
}

/// Fits `estimator` on every block of `data` (one search-fit task per block, failing on the
/// first error, which names the block's task) and returns the members in block order.
fn fit_members<E: Estimator, F: Float + Element, Y: Element>(
    estimator: &E,
    data: &ChunkedDataset<F, Y>,
    scheduler: &Scheduler,
) -> Result<Vec<E::Model>> {
    let arity = Arity { y: data.y().is_some(), w: data.weights().is_some() };
    let mut layers = data.x().layers().clone();
    if let Some(y) = data.y() {
        layers = layers.union(y.layers());
    }
    if let Some(w) = data.weights() {
        layers = layers.union(w.layers());
    }
    let mut t = Tokenizer::new();
    t.str("rask.ml.blockwise_voting.fit").bytes(&token_bytes(estimator)?).str(data.x().name());
    let name = format!("voting-fit-{}", t.finish().hex());
    let op = TaskOp::op(SearchFit { params: estimator.clone(), arity, raise: true });
    let mut g = Graph::with_capacity(data.n_blocks());
    let mut keys = Vec::with_capacity(data.n_blocks());
    for i in 0..data.n_blocks() {
        let mut inputs = vec![data.x().block_key(i)];
        if let Some(y) = data.y() {
            inputs.push(y.block_key(i));
        }
        if let Some(w) = data.weights() {
            inputs.push(w.block_key(i));
        }
        let k = Key::block(name.clone(), i as u64);
        g.insert(k.clone(), Node::Task(Task { op: op.clone(), inputs }));
        keys.push(k);
    }
    let values = scheduler.compute(&layers.with(g).to_graph(), &keys)?;
    values
        .iter()
        .zip(&keys)
        .enumerate()
        .map(|(i, (v, k))| {
            let f =
                v.get::<Fitted<E::Model>>().map_err(|source| rask_core::Error::ValueType { key: k.clone(), source })?;
            f.model.clone().map_err(|message| MlError::Fit { model: format!("{} on block {i}", E::NAME), message })
        })
        .collect()
}

impl<E: Estimator> BlockwiseVotingClassifier<E>
where
    E::Model: BlockModel<Label = i64>,
{
    /// Hard voting over members of `estimator`.
    pub fn new(estimator: E) -> Self {
        BlockwiseVotingClassifier { estimator, voting: Voting::Hard }
    }

    /// Sets the voting rule.
    pub fn voting(mut self, voting: Voting) -> Self {
        self.voting = voting;
        self
    }

    /// Fits one member per block on the default scheduler.
    pub fn fit<F: Float + Element>(&self, data: &ChunkedDataset<F, i64>) -> Result<VotingClassifier<E::Model>> {
        self.fit_on(data, &default_scheduler())
    }

    /// Fits one member per block on `scheduler`.
    pub fn fit_on<F: Float + Element>(
        &self,
        data: &ChunkedDataset<F, i64>,
        scheduler: &Scheduler,
    ) -> Result<VotingClassifier<E::Model>> {
        data.y_required("BlockwiseVotingClassifier")?;
        let members = fit_members(&self.estimator, data, scheduler)?;
        VotingClassifier::new(members, self.voting)
    }
}

impl<E: Estimator> BlockwiseVotingRegressor<E>
where
    E::Model: BlockModel<Label = f64>,
{
    /// Averages members of `estimator`.
    pub fn new(estimator: E) -> Self {
        BlockwiseVotingRegressor { estimator }
    }

    /// Fits one member per block on the default scheduler.
    pub fn fit<F: Float + Element>(&self, data: &ChunkedDataset<F, f64>) -> Result<VotingRegressor<E::Model>> {
        self.fit_on(data, &default_scheduler())
    }

    /// Fits one member per block on `scheduler`.
    pub fn fit_on<F: Float + Element>(
        &self,
        data: &ChunkedDataset<F, f64>,
        scheduler: &Scheduler,
    ) -> Result<VotingRegressor<E::Model>> {
        data.y_required("BlockwiseVotingRegressor")?;
        VotingRegressor::new(fit_members(&self.estimator, data, scheduler)?)
    }
}

fn no_members() -> MlError {
    MlError::InvalidParameter { name: "estimators", message: "an ensemble needs at least one member".into() }
}

fn check_same_width<M: BlockModel>(members: &[M]) -> Result<usize> {
    let first = members.first().ok_or_else(no_members)?;
    let n = first.n_features_in();
    for (i, m) in members.iter().enumerate() {
        crate::traits::check_n_features(n, m.n_features_in()).map_err(|_| MlError::ShapeMismatch {
            what: format!("features of member {i}"),
            expected: n,
            found: m.n_features_in(),
        })?;
    }
    Ok(n)
}

impl<M: BlockModel<Label = i64>> VotingClassifier<M> {
    /// An ensemble of fitted members. Soft voting needs every member to offer `predict_proba`
    /// and declare its classes.
    pub fn new(estimators: Vec<M>, voting: Voting) -> Result<Self> {
        check_same_width(&estimators)?;
        let declared: Option<Vec<Vec<i64>>> = estimators.iter().map(BlockModel::classes).collect();
        let classes = declared.map(|d| {
            let mut all: Vec<i64> = d.into_iter().flatten().collect();
            all.sort_unstable();
            all.dedup();
            all
        });
        let soft_ok = classes.is_some() && estimators.iter().all(|m| m.supports(Method::PredictProba));
        if voting == Voting::Soft && !soft_ok {
            return Err(MlError::Unsupported {
                what: format!(
                    "soft voting over {} members: they must offer predict_proba and declare their classes",
                    crate::model::short_name::<M>()
                ),
            });
        }
        Ok(VotingClassifier { estimators, voting, classes })
    }

    /// The number of features the members were fitted on.
    pub fn n_features_in(&self) -> usize {
        self.estimators.first().map_or(0, BlockModel::n_features_in)
    }

    /// The ensemble's classes and, per member, where its probability columns go among them.
    fn soft_columns(&self) -> Result<(Vec<i64>, Vec<Vec<usize>>)> {
        let classes = self.classes.clone().ok_or_else(|| MlError::Unsupported {
            what: "probabilities from members that do not declare their classes".into(),
        })?;
        let columns = self
            .estimators
            .iter()
            .map(|m| {
                let own = m.classes().unwrap_or_default();
                // `classes` is the union of every member's classes, so each is found.
                own.iter().map(|c| classes.binary_search(c).unwrap_or(0)).collect()
            })
            .collect();
        Ok((classes, columns))
    }

    fn soft_rule(&self, output: SoftOutput) -> Result<VoteRule> {
        let (classes, columns) = self.soft_columns()?;
        Ok(VoteRule::Soft { classes, columns, output })
    }

    /// Predicted labels for rows in memory.
    pub fn predict_array<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array1<i64>> {
        match self.voting {
            Voting::Hard => {
                let parts = self.estimators.iter().map(|m| m.predict(x)).collect::<Result<Vec<_>>>()?;
                in_memory(hard_vote(&parts.iter().collect::<Vec<_>>()))
            }
            Voting::Soft => {
                let p = self.predict_proba_array(x)?;
                Ok(argmax_classes(&p, self.classes.as_deref().unwrap_or_default()))
            }
        }
    }

    /// Mean member probabilities for rows in memory, columns in the order of `classes`.
    pub fn predict_proba_array<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array2<f64>> {
        let (classes, columns) = self.soft_columns()?;
        let parts = self.estimators.iter().map(|m| m.predict_proba(x)).collect::<Result<Vec<_>>>()?;
        in_memory(soft_mean(&parts.iter().collect::<Vec<_>>(), classes.len(), &columns))
    }

    fn chunked(&self, method: Method, rule: VoteRule, x_blocks: &BlockLayer, n_cols: usize) -> Result<BlockLayer> {
        let members: Vec<BlockLayer> = self
            .estimators
            .iter()
            .map(|m| {
                let w = ParallelPostFit::new(m.clone())?;
                let x = ChunkedArray::<f64>::from_block_layer(x_blocks.clone(), n_cols);
                Ok(match method {
                    Method::Predict => w.predict(&x)?.block_layer().clone(),
                    _ => w.predict_proba(&x)?.block_layer().clone(),
                })
            })
            .collect::<Result<_>>()?;
        let (first, rest) = members.split_first().ok_or_else(no_members)?;
        let rest: Vec<&BlockLayer> = rest.iter().collect();
        first.zip_map(&rest, Vote { rule }, x_blocks.chunks().clone())
    }

    /// Predicted labels over chunked rows, lazily: each block is predicted by every member and
    /// the votes combined in one task per block.
    pub fn predict<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedVector<i64>> {
        crate::traits::check_n_features(self.n_features_in(), x.n_cols())?;
        let (method, rule) = match self.voting {
            Voting::Hard => (Method::Predict, VoteRule::Hard),
            Voting::Soft => (Method::PredictProba, self.soft_rule(SoftOutput::Labels)?),
        };
        Ok(ChunkedVector::from_block_layer(self.chunked(method, rule, x.block_layer(), x.n_cols())?))
    }

    /// Mean member probabilities over chunked rows, lazily (soft voting members).
    pub fn predict_proba<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<f64>> {
        crate::traits::check_n_features(self.n_features_in(), x.n_cols())?;
        let rule = self.soft_rule(SoftOutput::Proba)?;
        let width = self.classes.as_ref().map_or(0, Vec::len);
        Ok(ChunkedArray::from_block_layer(
            self.chunked(Method::PredictProba, rule, x.block_layer(), x.n_cols())?,
            width,
        ))
    }

    /// Mean accuracy on chunked labelled data.
    pub fn score<F: Float>(&self, data: &ChunkedDataset<F, i64>) -> Result<f64> {
        Scorer::Accuracy.score_predictions(data, &self.predict(data.x())?)
    }
}

impl<M: BlockModel<Label = f64>> VotingRegressor<M> {
    /// An ensemble of fitted members.
    pub fn new(estimators: Vec<M>) -> Result<Self> {
        check_same_width(&estimators)?;
        Ok(VotingRegressor { estimators })
    }

    /// The number of features the members were fitted on.
    pub fn n_features_in(&self) -> usize {
        self.estimators.first().map_or(0, BlockModel::n_features_in)
    }

    /// The members' mean prediction for rows in memory.
    pub fn predict_array<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array1<f64>> {
        let parts = self.estimators.iter().map(|m| m.predict(x)).collect::<Result<Vec<_>>>()?;
        in_memory(mean_vote(&parts.iter().collect::<Vec<_>>()))
    }

    /// The members' mean prediction over chunked rows, lazily.
    pub fn predict<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedVector<f64>> {
        crate::traits::check_n_features(self.n_features_in(), x.n_cols())?;
        let members: Vec<BlockLayer> = self
            .estimators
            .iter()
            .map(|m| Ok(ParallelPostFit::new(m.clone())?.predict(x)?.block_layer().clone()))
            .collect::<Result<_>>()?;
        let (first, rest) = members.split_first().ok_or_else(no_members)?;
        let rest: Vec<&BlockLayer> = rest.iter().collect();
        Ok(ChunkedVector::from_block_layer(first.zip_map(&rest, Vote { rule: VoteRule::Mean }, x.chunks().clone())?))
    }

    /// R² on chunked data.
    pub fn score<F: Float>(&self, data: &ChunkedDataset<F, f64>) -> Result<f64> {
        Scorer::R2.score_predictions(data, &self.predict(data.x())?)
    }
}

impl<'a, M: BlockModel<Label = i64>, F: Float> Predict<&'a ChunkedArray<F>> for VotingClassifier<M> {
    type Output = ChunkedVector<i64>;
    fn predict(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        VotingClassifier::predict(self, x)
    }
}

impl<'a, M: BlockModel<Label = i64>, F: Float> Predict<ArrayView2<'a, F>> for VotingClassifier<M> {
    type Output = Array1<i64>;
    fn predict(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        self.predict_array(x)
    }
}

impl<'a, M: BlockModel<Label = i64>, F: Float> PredictProba<&'a ChunkedArray<F>> for VotingClassifier<M> {
    type Output = ChunkedArray<f64>;
    fn predict_proba(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        VotingClassifier::predict_proba(self, x)
    }
}

impl<'a, M: BlockModel<Label = i64>, F: Float> PredictProba<ArrayView2<'a, F>> for VotingClassifier<M> {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        self.predict_proba_array(x)
    }
}

impl<'a, M: BlockModel<Label = f64>, F: Float> Predict<&'a ChunkedArray<F>> for VotingRegressor<M> {
    type Output = ChunkedVector<f64>;
    fn predict(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        VotingRegressor::predict(self, x)
    }
}

impl<'a, M: BlockModel<Label = f64>, F: Float> Predict<ArrayView2<'a, F>> for VotingRegressor<M> {
    type Output = Array1<f64>;
    fn predict(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        self.predict_array(x)
    }
}

// --- The vote op -----------------------------------------------------------------------------

/// What soft voting returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SoftOutput {
    /// The class with the largest mean probability.
    Labels,
    /// The mean probabilities.
    Proba,
}

/// How [`Vote`] combines its inputs (one per member, in member order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum VoteRule {
    /// Inputs are `Array1<i64>` labels; the most frequent label wins (smallest on ties).
    Hard,
    /// Inputs are `Array2<f64>` probabilities; member `m`'s column `j` is class
    /// `classes[columns[m][j]]`.
    Soft {
        /// The ensemble's classes.
        classes: Vec<i64>,
        /// Each member's columns, as indices into `classes`.
        columns: Vec<Vec<usize>>,
        /// Labels or probabilities.
        output: SoftOutput,
    },
    /// Inputs are `Array1<f64>`; their mean.
    Mean,
}

/// Combines the members' predictions of one block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vote {
    /// The rule.
    pub rule: VoteRule,
}

fn rows_error(m: usize, found: usize, expected: usize) -> String {
    format!("member {m} predicted {found} rows, member 0 predicted {expected}")
}

/// The most frequent label of each row (smallest on ties).
fn hard_vote(parts: &[&Array1<i64>]) -> std::result::Result<Array1<i64>, String> {
    let n = parts.first().map_or(0, |p| p.len());
    for (m, p) in parts.iter().enumerate() {
        if p.len() != n {
            return Err(rows_error(m, p.len(), n));
        }
    }
    let mut out = Array1::<i64>::zeros(n);
    let mut counts: Vec<(i64, usize)> = Vec::with_capacity(parts.len());
    for (r, o) in out.iter_mut().enumerate() {
        counts.clear();
        for p in parts {
            let l = p[r];
            match counts.iter_mut().find(|(c, _)| *c == l) {
                Some(e) => e.1 += 1,
                None => counts.push((l, 1)),
            }
        }
        // Most votes, then the smallest label.
        *o = counts.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0))).map_or(0, |e| e.0);
    }
    Ok(out)
}

/// The mean of the members' probabilities, each member's columns placed at its classes.
fn soft_mean(
    parts: &[&Array2<f64>],
    n_classes: usize,
    columns: &[Vec<usize>],
) -> std::result::Result<Array2<f64>, String> {
    if columns.len() != parts.len() {
        return Err(format!("{} members voted, the rule has {}", parts.len(), columns.len()));
    }
    let n = parts.first().map_or(0, |p| p.nrows());
    let mut mean = Array2::<f64>::zeros((n, n_classes));
    for (m, (p, cols)) in parts.iter().zip(columns).enumerate() {
        if p.nrows() != n {
            return Err(rows_error(m, p.nrows(), n));
        }
        if p.ncols() != cols.len() || cols.iter().any(|&c| c >= n_classes) {
            return Err(format!("member {m} gave {} probability columns for {} classes", p.ncols(), cols.len()));
        }
        for (row, mut acc) in p.rows().into_iter().zip(mean.rows_mut()) {
            for (j, &c) in cols.iter().enumerate() {
                acc[c] += row[j];
            }
        }
    }
    if !parts.is_empty() {
        mean /= parts.len() as f64;
    }
    Ok(mean)
}

/// The class of each row's largest probability (the first, so the smallest class, on ties).
fn argmax_classes(p: &Array2<f64>, classes: &[i64]) -> Array1<i64> {
    p.rows()
        .into_iter()
        .map(|r| {
            let mut best = 0;
            for (j, &v) in r.iter().enumerate() {
                if v > r[best] {
                    best = j;
                }
            }
            classes.get(best).copied().unwrap_or(0)
        })
        .collect()
}

fn mean_vote(parts: &[&Array1<f64>]) -> std::result::Result<Array1<f64>, String> {
    let n = parts.first().map_or(0, |p| p.len());
    let mut acc = Array1::<f64>::zeros(n);
    for (m, p) in parts.iter().enumerate() {
        if p.len() != n {
            return Err(rows_error(m, p.len(), n));
        }
        acc += *p;
    }
    if !parts.is_empty() {
        acc /= parts.len() as f64;
    }
    Ok(acc)
}

fn vote(rule: &VoteRule, inputs: &[Value]) -> std::result::Result<Value, OpError> {
    if inputs.is_empty() {
        return Err(OpError::new("a vote needs at least one member"));
    }
    let out = match rule {
        VoteRule::Hard => {
            let parts: Vec<&Array1<i64>> =
                inputs.iter().map(|v| v.get::<Array1<i64>>()).collect::<std::result::Result<_, _>>()?;
            hard_vote(&parts).map(Value::new)
        }
        VoteRule::Soft { classes, columns, output } => {
            let parts: Vec<&Array2<f64>> =
                inputs.iter().map(|v| v.get::<Array2<f64>>()).collect::<std::result::Result<_, _>>()?;
            soft_mean(&parts, classes.len(), columns).map(|p| match output {
                SoftOutput::Proba => Value::new(p),
                SoftOutput::Labels => Value::new(argmax_classes(&p, classes)),
            })
        }
        VoteRule::Mean => {
            let parts: Vec<&Array1<f64>> =
                inputs.iter().map(|v| v.get::<Array1<f64>>()).collect::<std::result::Result<_, _>>()?;
            mean_vote(&parts).map(Value::new)
        }
    };
    out.map_err(OpError::new)
}

fn in_memory<T>(r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(|message| MlError::InvalidParameter { name: "estimators", message })
}

impl Op for Vote {
    const NAME: &'static str = "rask.ml.ensemble.vote";

    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        if let VoteRule::Soft { columns, .. } = &self.rule {
            expect_inputs(inputs, columns.len(), Self::NAME)?;
        }
        vote(&self.rule, inputs)
    }
}

// --- Model files -------------------------------------------------------------------------------

impl<E: Persist> Persist for BlockwiseVotingClassifier<E> {
    fn tag() -> String {
        format!("rask.ml.BlockwiseVotingClassifier/1<{}>", E::tag())
    }
}

impl<E: Persist> Persist for BlockwiseVotingRegressor<E> {
    fn tag() -> String {
        format!("rask.ml.BlockwiseVotingRegressor/1<{}>", E::tag())
    }
}

/// The members are consistent and agree on their input width.
fn validate_members<M: BlockModel>(who: &str, members: &[M]) -> Result<()> {
    let Some(first) = members.first() else {
        return Err(crate::persist::invalid_model(who, "has no members"));
    };
    for (i, m) in members.iter().enumerate() {
        m.validate_model()?;
        check_model_len(who, &format!("the input of member {i}"), first.n_features_in(), m.n_features_in())?;
    }
    Ok(())
}

impl<M: BlockModel> Persist for VotingClassifier<M> {
    fn tag() -> String {
        format!("rask.ml.VotingClassifier/1<{}>", <M as Persist>::tag())
    }

    fn validate(&self) -> Result<()> {
        validate_members("VotingClassifier", &self.estimators)
    }
}

impl<M: BlockModel> Persist for VotingRegressor<M> {
    fn tag() -> String {
        format!("rask.ml.VotingRegressor/1<{}>", <M as Persist>::tag())
    }

    fn validate(&self) -> Result<()> {
        validate_members("VotingRegressor", &self.estimators)
    }
}
