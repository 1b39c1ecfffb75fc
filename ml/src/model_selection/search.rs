//! Static searches: `GridSearchCV`, `RandomizedSearchCV`, `cross_validate`, built as one merged
//! task graph.
//!
//! For every split, the train and test rows are materialised once (one in-memory block per
//! part, concatenated from the split's blocks). For every candidate and split, the estimator
//! adds its tasks: a pipeline adds, per step, a fit task on the previous step's output and
//! transform tasks for the train and test rows; the final step adds a fit task and score tasks.
//! Every task's key is a token of its op, arguments and input keys, so two candidates that
//! agree on a pipeline prefix (the same step params on the same split) add the *same* prefix
//! tasks: the graph keeps one node, and the prefix is fitted once per split, as in dask-ml.
//! The whole graph is computed in one call on the default scheduler.

use std::fmt::Debug;

use rask_core::graph::Layers;
use rask_core::{default_scheduler, ComputeOptions, Graph, Key, Value};
use serde::{Deserialize, Serialize};

use super::estimator::{Arity, Estimator, ModelMethod, Scores, SearchFit, SearchModelOp};
use super::results::CvResults;
use crate::chunked::{ChunkedDataset, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::metrics::Scorer;
use crate::params::{Candidate, ParamSpace, ParamValue, SetParams};
use crate::pipeline::{Pipeline, StepNames};
use crate::split::{KFold, ShuffleSplit, TrainTest};
use crate::traits::{Fit, ModelKind};

/// The keys of one part of a split (train or test) in a search graph: rows, targets, weights.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FoldKeys {
    /// Rows.
    pub x: Key,
    /// Targets.
    pub y: Option<Key>,
    /// Weights.
    pub w: Option<Key>,
}

impl FoldKeys {
    /// Which inputs follow the rows.
    pub fn arity(&self) -> Arity {
        Arity { y: self.y.is_some(), w: self.w.is_some() }
    }

    /// `[x, y?, w?]`.
    pub fn keys(&self) -> Vec<Key> {
        let mut k = vec![self.x.clone()];
        k.extend(self.y.clone());
        k.extend(self.w.clone());
        k
    }

    fn with_x(&self, x: Key) -> FoldKeys {
        FoldKeys { x, y: self.y.clone(), w: self.w.clone() }
    }
}

/// Something a search can fit and score inside its task graph: an [`Estimator`] (through
/// [`estimator!`](crate::estimator)) or a [`Pipeline`] of them.
pub trait SearchNode: SetParams + Clone + Debug + Send + Sync + 'static {
    /// What the final step's model is (decides the default scorer).
    fn model_kind(&self) -> ModelKind;

    /// Adds the tasks that fit this as a transformer on `train` and transform `train` and
    /// each of `others`; returns their transformed keys.
    fn add_fit_transform(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        raise: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)>;

    /// Adds the tasks that fit this on `train` and score it on each of `tests`; returns one
    /// key of [`Scores`] per test part.
    fn add_fit_score(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        tests: &[FoldKeys],
        scorers: &[Scorer],
        raise: bool,
    ) -> Result<Vec<Key>>;

    /// The number of fit tasks one candidate adds per split (pipeline steps).
    fn n_steps(&self) -> usize {
        1
    }
}

/// [`SearchNode::add_fit_transform`] for one estimator.
pub fn leaf_fit_transform<E: Estimator>(
    e: &E,
    g: &mut Graph,
    train: &FoldKeys,
    others: &[FoldKeys],
    raise: bool,
) -> Result<(FoldKeys, Vec<FoldKeys>)> {
    let fitted = g.task(SearchFit { params: e.clone(), arity: train.arity(), raise }, &train.keys())?;
    let mut transform = |part: &FoldKeys| -> Result<FoldKeys> {
        let op = SearchModelOp::<E>::new(ModelMethod::Transform, Arity { y: false, w: false }, raise);
        Ok(part.with_x(g.task(op, &[fitted.clone(), part.x.clone()])?))
    };
    let t = transform(train)?;
    let o = others.iter().map(&mut transform).collect::<Result<Vec<_>>>()?;
    Ok((t, o))
}

/// [`SearchNode::add_fit_score`] for one estimator.
pub fn leaf_fit_score<E: Estimator>(
    e: &E,
    g: &mut Graph,
    train: &FoldKeys,
    tests: &[FoldKeys],
    scorers: &[Scorer],
    raise: bool,
) -> Result<Vec<Key>> {
    let fitted = g.task(SearchFit { params: e.clone(), arity: train.arity(), raise }, &train.keys())?;
    tests
        .iter()
        .map(|t| {
            let op = SearchModelOp::<E>::new(ModelMethod::Score(scorers.to_vec()), t.arity(), raise);
            let mut inputs = vec![fitted.clone()];
            inputs.extend(t.keys());
            Ok(g.task(op, &inputs)?)
        })
        .collect()
}

/// Implements [`SearchNode`] for an [`Estimator`]; [`estimator!`](crate::estimator) calls it.
#[macro_export]
macro_rules! search_node_for_estimator {
    ($params:ty) => {
        impl $crate::model_selection::SearchNode for $params {
            fn model_kind(&self) -> $crate::ModelKind {
                <$params as $crate::model_selection::Estimator>::KIND
            }

            fn add_fit_transform(
                &self,
                g: &mut $crate::__rask_core::Graph,
                train: &$crate::model_selection::FoldKeys,
                others: &[$crate::model_selection::FoldKeys],
                raise: bool,
            ) -> $crate::Result<($crate::model_selection::FoldKeys, ::std::vec::Vec<$crate::model_selection::FoldKeys>)>
            {
                $crate::model_selection::leaf_fit_transform(self, g, train, others, raise)
            }

            fn add_fit_score(
                &self,
                g: &mut $crate::__rask_core::Graph,
                train: &$crate::model_selection::FoldKeys,
                tests: &[$crate::model_selection::FoldKeys],
                scorers: &[$crate::metrics::Scorer],
                raise: bool,
            ) -> $crate::Result<::std::vec::Vec<$crate::__rask_core::Key>> {
                $crate::model_selection::leaf_fit_score(self, g, train, tests, scorers, raise)
            }
        }
    };
}

/// The steps before a pipeline's last: `()` or a pipeline of [`SearchNode`]s.
pub trait SearchHead: SetParams + StepNames + Clone + Debug + Send + Sync + 'static {
    /// Adds the fit and transform tasks of every step.
    fn add_head(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        raise: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)>;

    /// The number of steps.
    fn n_head_steps(&self) -> usize;
}

impl SearchHead for () {
    fn add_head(
        &self,
        _: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        _: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)> {
        Ok((train.clone(), others.to_vec()))
    }

    fn n_head_steps(&self) -> usize {
        0
    }
}

impl<T: SearchNode> SearchHead for crate::pipeline::Steps<T> {
    fn add_head(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        raise: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)> {
        let (mut t, mut o) = (train.clone(), others.to_vec());
        for (_, step) in self.steps() {
            (t, o) = step.add_fit_transform(g, &t, &o, raise)?;
        }
        Ok((t, o))
    }

    fn n_head_steps(&self) -> usize {
        self.steps().iter().map(|(_, s)| s.n_steps()).sum()
    }
}

impl<H: SearchHead, L: SearchNode> SearchHead for Pipeline<H, L> {
    fn add_head(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        raise: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)> {
        self.add_fit_transform(g, train, others, raise)
    }

    fn n_head_steps(&self) -> usize {
        self.n_steps()
    }
}

impl<H: SearchHead, L: SearchNode> SearchNode for Pipeline<H, L> {
    fn model_kind(&self) -> ModelKind {
        self.last().model_kind()
    }

    fn add_fit_transform(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        others: &[FoldKeys],
        raise: bool,
    ) -> Result<(FoldKeys, Vec<FoldKeys>)> {
        self.check_names()?;
        let (t, o) = self.head().add_head(g, train, others, raise)?;
        self.last().add_fit_transform(g, &t, &o, raise)
    }

    fn add_fit_score(
        &self,
        g: &mut Graph,
        train: &FoldKeys,
        tests: &[FoldKeys],
        scorers: &[Scorer],
        raise: bool,
    ) -> Result<Vec<Key>> {
        self.check_names()?;
        let (t, o) = self.head().add_head(g, train, tests, raise)?;
        self.last().add_fit_score(g, &t, &o, scorers, raise)
    }

    fn n_steps(&self) -> usize {
        self.head().n_head_steps() + self.last().n_steps()
    }
}

/// A cross-validation splitter: `n_splits` (train, test) pairs of a dataset.
pub trait Splitter<F: Float, Y: Element> {
    /// The splits.
    fn split_dataset(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>>;
}

impl<F: Float, Y: Element> Splitter<F, Y> for KFold {
    fn split_dataset(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        self.split(ds)
    }
}

impl<F: Float, Y: Element> Splitter<F, Y> for ShuffleSplit {
    fn split_dataset(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        self.split(ds)
    }
}

impl<F: Float> Splitter<F, i64> for crate::split::StratifiedKFold {
    fn split_dataset(&self, ds: &ChunkedDataset<F, i64>) -> Result<Vec<TrainTest<F, i64>>> {
        self.split(ds)
    }
}

/// A splitter chosen at run time (KFold or stratified folds, from a configuration file).
impl<F: Float, Y: Element, S: Splitter<F, Y> + ?Sized> Splitter<F, Y> for Box<S> {
    fn split_dataset(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        (**self).split_dataset(ds)
    }
}

/// Splits given explicitly, e.g. folds fixed by a test.
impl<F: Float, Y: Element> Splitter<F, Y> for Vec<TrainTest<F, Y>> {
    fn split_dataset(&self, _: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        Ok(self.clone())
    }
}

/// What happens when a candidate's fit or scoring fails.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorScore {
    /// Record NaN scores and the error text, and go on (scikit-learn's `error_score=np.nan`).
    #[default]
    Nan,
    /// Stop the search with the error (`error_score="raise"`).
    Raise,
}

/// Which metric picks the best candidate, and whether to refit it on all the data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Refit {
    /// The first metric, refitted.
    #[default]
    First,
    /// This metric, refitted.
    Metric(String),
    /// The first metric picks the best; no refit.
    No,
}

/// A materialised split part: its keys and the layers that compute them.
pub(crate) fn materialise<F: Float, Y: Element>(ds: &ChunkedDataset<F, Y>, what: &str) -> Result<(FoldKeys, Layers)> {
    let n = ds.x().n_rows().ok_or_else(|| MlError::UnknownChunkSizes { operation: format!("a search's {what}") })?;
    if n == 0 {
        return Err(MlError::InvalidParameter { name: "cv", message: format!("a split has an empty {what} side") });
    }
    let one = ds.map_rows(|l| crate::chunked::rows::rechunk(l, n))?;
    let mut layers = one.x().layers().clone();
    if let Some(y) = one.y() {
        layers = layers.union(y.layers());
    }
    if let Some(w) = one.weights() {
        layers = layers.union(w.layers());
    }
    let keys = FoldKeys {
        x: one.x().block_key(0),
        y: one.y().map(|y| y.block_key(0)),
        w: one.weights().map(|w| w.block_key(0)),
    };
    Ok((keys, layers))
}

/// Resolves scorer names; none means the model's default (accuracy or R²).
fn resolve_scorers(names: &[String], kind: ModelKind) -> Result<(Vec<Scorer>, Vec<String>)> {
    if names.is_empty() {
        let s = match kind {
            ModelKind::Classifier => Scorer::Accuracy,
            ModelKind::Regressor => Scorer::R2,
            ModelKind::Clusterer | ModelKind::Transformer => {
                return Err(MlError::InvalidParameter {
                    name: "scoring",
                    message: "this estimator has no default score; name a scorer (e.g. \"silhouette\" for clustering)"
                        .into(),
                })
            }
        };
        return Ok((vec![s], vec!["score".into()]));
    }
    let scorers = names.iter().map(|n| Scorer::from_name(n)).collect::<Result<Vec<_>>>()?;
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(MlError::InvalidParameter { name: "scoring", message: format!("`{n}` is named twice") });
        }
    }
    let labels = if names.len() == 1 { vec!["score".to_string()] } else { names.to_vec() };
    Ok((scorers, labels))
}

/// The outcome of evaluating candidates over splits.
struct Evaluated {
    results: CvResults,
    tasks_in_graph: usize,
    fit_tasks: usize,
    tasks_run: usize,
}

fn fit_task_count(g: &Graph) -> usize {
    g.iter()
        .filter(|(_, n)| match n {
            rask_core::Node::Task(t) => t.op.name().ends_with(".search_fit"),
            _ => false,
        })
        .count()
}

fn evaluate<E: SearchNode, F: Float, Y: Element>(
    estimator: &E,
    candidates: &[Candidate],
    splits: &[TrainTest<F, Y>],
    scorers: &[Scorer],
    metrics: Vec<String>,
    return_train_score: bool,
    raise: bool,
) -> Result<Evaluated> {
    if splits.is_empty() {
        return Err(MlError::InvalidParameter { name: "cv", message: "the splitter gave no splits".into() });
    }
    let mut layers = Layers::new();
    let mut parts = Vec::with_capacity(splits.len());
    for (train, test) in splits {
        let (tr, l1) = materialise(train, "train")?;
        let (te, l2) = materialise(test, "test")?;
        layers = layers.union(&l1).union(&l2);
        parts.push((tr, te));
    }
    let mut g = layers.to_graph();
    let ests = candidates.iter().map(|c| estimator.with_params(c)).collect::<Result<Vec<E>>>()?;
    let mut keys = Vec::with_capacity(candidates.len() * splits.len());
    for e in &ests {
        for (tr, te) in &parts {
            let mut tests = vec![te.clone()];
            if return_train_score {
                tests.push(tr.clone());
            }
            keys.push(e.add_fit_score(&mut g, tr, &tests, scorers, raise)?);
        }
    }
    let flat: Vec<Key> = keys.iter().flatten().cloned().collect();
    let tasks_in_graph = g.len();
    let fit_tasks = fit_task_count(&g);
    let computed = default_scheduler().compute_with(&g, &flat, &ComputeOptions::default())?;
    let mut values = computed.values.into_iter();
    let n_splits = splits.len();
    let n_m = scorers.len();
    let nan_scores = || vec![vec![vec![f64::NAN; n_splits]; candidates.len()]; n_m];
    let mut results = CvResults {
        params: candidates.to_vec(),
        metrics,
        n_splits,
        test_scores: nan_scores(),
        train_scores: return_train_score.then(nan_scores),
        fit_time: vec![vec![0.0; n_splits]; candidates.len()],
        score_time: vec![vec![0.0; n_splits]; candidates.len()],
        errors: vec![None; candidates.len()],
    };
    let take = |v: Option<Value>| -> Result<Scores> {
        let v = v.ok_or_else(|| MlError::Graph(rask_core::Error::Scheduler("a search output is missing".into())))?;
        Ok(v.get::<Scores>().map_err(|e| MlError::Graph(rask_core::Error::Scheduler(e.to_string())))?.clone())
    };
    for c in 0..candidates.len() {
        for s in 0..n_splits {
            let test = take(values.next())?;
            results.fit_time[c][s] = test.fit_seconds;
            results.score_time[c][s] = test.score_seconds;
            let mut record = |scores: &Scores, into: &mut Vec<Vec<Vec<f64>>>| {
                let err = match &scores.values {
                    Ok(v) => {
                        (0..n_m).for_each(|m| into[m][c][s] = v[m]);
                        scores.failures.first().cloned()
                    }
                    Err(e) => Some(e.clone()),
                };
                if let (Some(e), None) = (err, &results.errors[c]) {
                    results.errors[c] = Some(format!("split {s}: {e}"));
                }
            };
            record(&test, &mut results.test_scores);
            if return_train_score {
                let train = take(values.next())?;
                let mut ts = results.train_scores.take().unwrap_or_default();
                record(&train, &mut ts);
                results.train_scores = Some(ts);
            }
        }
    }
    Ok(Evaluated { results, tasks_in_graph, fit_tasks, tasks_run: computed.stats.tasks_run })
}

/// What a search's graph held and ran: the proof of its de-duplication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchStats {
    /// Candidates × splits.
    pub fits_requested: usize,
    /// Fit tasks a search without sharing would run: candidates × splits × pipeline steps.
    pub step_fits_without_sharing: usize,
    /// Fit tasks in the merged graph (each identical fit once).
    pub fit_tasks: usize,
    /// Nodes in the merged graph.
    pub tasks_in_graph: usize,
    /// Plan nodes that ran.
    pub tasks_run: usize,
}

/// What a search found.
#[derive(Clone, Debug)]
pub struct SearchResult<M> {
    /// Per-candidate results.
    pub cv_results: CvResults,
    /// The metric that chose the best candidate.
    pub refit_metric: String,
    /// The best candidate's index.
    pub best_index: usize,
    /// The best candidate's params.
    pub best_params: Candidate,
    /// Its mean test score.
    pub best_score: f64,
    /// The estimator with the best params, refitted on all the data (unless refit was off).
    pub best_estimator: Option<M>,
    /// Graph statistics.
    pub stats: SearchStats,
}

/// A cross-validated search over a space of candidates: [`GridSearchCV`] with a
/// [`ParameterGrid`](crate::params::ParameterGrid), [`RandomizedSearchCV`] with a
/// [`ParameterSampler`](crate::params::ParameterSampler).
///
/// Defaults: `KFold(5)` (scikit-learn uses stratified folds for classifiers: pass
/// [`StratifiedKFold`](crate::split::StratifiedKFold) for that), the estimator's default
/// scorer, refit on the first metric, NaN scores for failed candidates, no train scores.
///
/// # Parallelism and cost
///
/// `fit` is one graph computation for every candidate and split: each split part is
/// materialised once as one in-memory block (so a training split must fit in one task's
/// memory), each fit and score is a task that runs the estimator on the synchronous
/// scheduler inside the task, so the parallelism is across candidates and splits, not
/// within a fit; identical work (a split, a shared pipeline prefix) is one node. Then the
/// best candidate is refitted on all the data by its ordinary (chunked, parallel) `fit`.
///
/// # Compared with scikit-learn and dask-ml
///
/// The graph merging and prefix sharing are dask-ml's design. Differences: classifiers get
/// plain `KFold(5)`, not stratified folds; failed candidates score NaN unless
/// [`ErrorScore::Raise`]; `n_jobs`, `pre_dispatch`, dask-ml's `cache_cv` and `scheduler`
/// have no counterpart (the default scheduler runs the graph).
#[derive(Clone, Debug)]
pub struct SearchCV<E, S = KFold> {
    estimator: E,
    space: ParamSpace,
    cv: S,
    scoring: Vec<String>,
    refit: Refit,
    error_score: ErrorScore,
    return_train_score: bool,
}

/// An exhaustive search over a [`ParameterGrid`](crate::params::ParameterGrid).
pub type GridSearchCV<E, S = KFold> = SearchCV<E, S>;
/// A search over candidates drawn by a [`ParameterSampler`](crate::params::ParameterSampler).
pub type RandomizedSearchCV<E, S = KFold> = SearchCV<E, S>;

impl<E: SearchNode> SearchCV<E, KFold> {
    /// A search of `estimator` over `space` (a grid, a sampler or a list of candidates).
    pub fn new(estimator: E, space: impl Into<ParamSpace>) -> Self {
        SearchCV {
            estimator,
            space: space.into(),
            cv: KFold { n_splits: 5, shuffle_within_blocks: None },
            scoring: Vec::new(),
            refit: Refit::First,
            error_score: ErrorScore::Nan,
            return_train_score: false,
        }
    }
}

impl<E: SearchNode, S> SearchCV<E, S> {
    /// The splitter.
    pub fn cv<T>(self, cv: T) -> SearchCV<E, T> {
        SearchCV {
            estimator: self.estimator,
            space: self.space,
            cv,
            scoring: self.scoring,
            refit: self.refit,
            error_score: self.error_score,
            return_train_score: self.return_train_score,
        }
    }

    /// One scorer, by scikit-learn name (`"accuracy"`, `"f1_macro"`, `"neg_log_loss"`, `"r2"`,
    /// `"neg_mean_squared_error"`, `"roc_auc"`, `"silhouette"`, …).
    pub fn scoring(mut self, name: &str) -> Self {
        self.scoring = vec![name.to_string()];
        self
    }

    /// Several scorers; results are kept per scorer, and [`refit`](Self::refit) picks the one
    /// that chooses the best candidate.
    pub fn scorings(mut self, names: &[&str]) -> Self {
        self.scoring = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Which metric chooses the best candidate (refitted on all data).
    pub fn refit(mut self, metric: &str) -> Self {
        self.refit = Refit::Metric(metric.to_string());
        self
    }

    /// Chooses the best candidate by the first metric without refitting it.
    pub fn no_refit(mut self) -> Self {
        self.refit = Refit::No;
        self
    }

    /// What happens when a candidate fails.
    pub fn error_score(mut self, e: ErrorScore) -> Self {
        self.error_score = e;
        self
    }

    /// Also scores every candidate on its training rows.
    pub fn return_train_score(mut self, on: bool) -> Self {
        self.return_train_score = on;
        self
    }

    /// Cross-validates `candidates` on `ds` in one task graph without choosing a best one or
    /// refitting: for a caller that evaluates a space in batches and checkpoints between them
    /// (`rask sweep`), then merges the batches with [`CvResults::append`].
    pub fn evaluate_candidates<F, Y>(&self, ds: &ChunkedDataset<F, Y>, candidates: &[Candidate]) -> Result<CvResults>
    where
        F: Float,
        Y: Element,
        S: Splitter<F, Y>,
    {
        for c in candidates {
            self.estimator.with_params(c)?;
        }
        let (scorers, metrics) = resolve_scorers(&self.scoring, self.estimator.model_kind())?;
        let splits = self.cv.split_dataset(ds)?;
        let ev = evaluate(
            &self.estimator,
            candidates,
            &splits,
            &scorers,
            metrics,
            self.return_train_score,
            self.error_score == ErrorScore::Raise,
        )?;
        Ok(ev.results)
    }

    /// The candidates of this search's space, in search order.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        self.space.candidates()
    }

    /// Runs the search on `ds`: one task graph for every candidate and split, computed on the
    /// default scheduler; then the best candidate is refitted on all of `ds`.
    pub fn fit<F, Y>(&self, ds: &ChunkedDataset<F, Y>) -> Result<SearchResult<<E as Fit<ChunkedDataset<F, Y>>>::Model>>
    where
        F: Float,
        Y: Element,
        S: Splitter<F, Y>,
        E: Fit<ChunkedDataset<F, Y>>,
    {
        let candidates = self.space.candidates()?;
        // Every candidate is checked against the estimator's parameter names before any work.
        for c in &candidates {
            self.estimator.with_params(c)?;
        }
        let (scorers, metrics) = resolve_scorers(&self.scoring, self.estimator.model_kind())?;
        let refit_metric = match &self.refit {
            Refit::First | Refit::No => metrics[0].clone(),
            Refit::Metric(m) => {
                if metrics.len() == 1 && (m == &metrics[0] || self.scoring.first() == Some(m)) {
                    metrics[0].clone()
                } else if metrics.contains(m) {
                    m.clone()
                } else {
                    return Err(MlError::InvalidParameter {
                        name: "refit",
                        message: format!("`{m}` is not one of the scorers ({})", self.scoring.join(", ")),
                    });
                }
            }
        };
        let splits = self.cv.split_dataset(ds)?;
        let ev = evaluate(
            &self.estimator,
            &candidates,
            &splits,
            &scorers,
            metrics,
            self.return_train_score,
            self.error_score == ErrorScore::Raise,
        )?;
        let ranks = ev.results.rank_test(&refit_metric).unwrap_or_default();
        let means = ev.results.mean_test(&refit_metric).unwrap_or_default();
        // The first candidate of rank 1, as scikit-learn's `argmin` of the ranks.
        let best_index = (0..ranks.len()).find(|&i| ranks[i] == 1).unwrap_or(0);
        if means[best_index].is_nan() {
            let first_error = ev.results.errors.iter().flatten().next().cloned().unwrap_or_default();
            return Err(MlError::InvalidParameter {
                name: "candidates",
                message: format!("every candidate failed; the first error: {first_error}"),
            });
        }
        let best_params = candidates[best_index].clone();
        let best_estimator = if self.refit == Refit::No {
            None
        } else {
            let e = self.estimator.with_params(&best_params)?;
            Some(e.fit(ds).map_err(|err| MlError::InvalidParameter {
                name: "refit",
                message: format!("refitting the best candidate on all data failed: {err}"),
            })?)
        };
        let stats = SearchStats {
            fits_requested: candidates.len() * splits.len(),
            step_fits_without_sharing: candidates.len() * splits.len() * self.estimator.n_steps(),
            fit_tasks: ev.fit_tasks,
            tasks_in_graph: ev.tasks_in_graph,
            tasks_run: ev.tasks_run,
        };
        Ok(SearchResult {
            best_score: means[best_index],
            cv_results: ev.results,
            refit_metric,
            best_index,
            best_params,
            best_estimator,
            stats,
        })
    }
}

/// Cross-validates one estimator: per-split test (and optionally train) scores for each
/// scorer, fit and score times, in one task graph.
pub fn cross_validate<E, F, Y, S>(
    estimator: &E,
    ds: &ChunkedDataset<F, Y>,
    cv: &S,
    scoring: &[&str],
    return_train_score: bool,
) -> Result<CvResults>
where
    E: SearchNode,
    F: Float,
    Y: Element,
    S: Splitter<F, Y>,
{
    let names: Vec<String> = scoring.iter().map(|s| s.to_string()).collect();
    let (scorers, metrics) = resolve_scorers(&names, estimator.model_kind())?;
    let splits = cv.split_dataset(ds)?;
    Ok(evaluate(estimator, &[Vec::new()], &splits, &scorers, metrics, return_train_score, false)?.results)
}

/// Test scores per split for one scorer (or the default); a failed split is an error.
pub fn cross_val_score<E, F, Y, S>(
    estimator: &E,
    ds: &ChunkedDataset<F, Y>,
    cv: &S,
    scoring: Option<&str>,
) -> Result<Vec<f64>>
where
    E: SearchNode,
    F: Float,
    Y: Element,
    S: Splitter<F, Y>,
{
    let scoring: Vec<&str> = scoring.into_iter().collect();
    let r = cross_validate(estimator, ds, cv, &scoring, false)?;
    if let Some(e) = &r.errors[0] {
        return Err(MlError::InvalidParameter { name: "estimator", message: format!("cross-validation failed: {e}") });
    }
    Ok(r.test_scores[0][0].clone())
}

/// A candidate value for messages.
pub fn param_value(c: &Candidate, name: &str) -> Option<ParamValue> {
    c.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
}
