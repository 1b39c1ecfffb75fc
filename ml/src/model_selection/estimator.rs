//! How a search fits and scores estimators inside tasks.
//!
//! A search is one task graph. Its fits are tasks: each takes a fold's rows (one in-memory
//! block per fold part, materialised once and shared by every candidate) and runs the
//! estimator's ordinary [`Fit`](crate::Fit) on them, inside the task, on the synchronous
//! scheduler; parallelism comes from running many fits at once, as in dask-ml's searches.
//! So that these tasks run on every scheduler, distributed included, each estimator type has
//! three registered ops ([`SearchFit`], [`SearchPartialFit`], [`SearchModelOp`]) named by its
//! [`Estimator`] constants, and a codec for its [`Fitted`] model. The
//! [`estimator!`](crate::estimator) macro writes all of it from one line.
//!
//! A failed fit does not fail the graph unless the search says `error_score = raise`: the fit
//! task returns its error as a value, every task downstream passes it on, and the score task
//! reports it, so the candidate is recorded with NaN scores and the error text.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Scheduler, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chunked::{ChunkedArray, ChunkedDataset, ChunkedVector, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::metrics::{confusion_matrix, regression_summary, silhouette_score, Scorer};
use crate::params::SetParams;
use crate::traits::{BlockModel, Dataset, Fit, ModelKind, PartialFit};

/// In-memory rows of either float type, shared (a fit task wraps them as its block without
/// copying).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Rows {
    /// `f64` rows.
    F64(Arc<Array2<f64>>),
    /// `f32` rows.
    F32(Arc<Array2<f32>>),
}

/// A borrowed [`Rows`].
#[derive(Clone, Copy, Debug)]
pub enum RowsRef<'a> {
    /// `f64` rows.
    F64(ArrayView2<'a, f64>),
    /// `f32` rows.
    F32(ArrayView2<'a, f32>),
}

impl Rows {
    /// The rows as a block value, sharing the allocation.
    pub fn to_value(&self) -> Value {
        match self {
            Rows::F64(a) => Value::from_arc(a.clone()),
            Rows::F32(a) => Value::from_arc(a.clone()),
        }
    }

    /// A borrowed view.
    pub fn view(&self) -> RowsRef<'_> {
        match self {
            Rows::F64(a) => RowsRef::F64(a.view()),
            Rows::F32(a) => RowsRef::F32(a.view()),
        }
    }
}

impl RowsRef<'_> {
    /// The number of rows.
    pub fn nrows(&self) -> usize {
        match self {
            RowsRef::F64(a) => a.nrows(),
            RowsRef::F32(a) => a.nrows(),
        }
    }
}

/// Rows after a pipeline step: the transformed rows, or the error of an earlier step, with the
/// fit time of every step so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Staged {
    /// The rows, or why there are none.
    pub rows: std::result::Result<Rows, String>,
    /// Seconds spent fitting the steps that made them.
    pub fit_seconds: f64,
}

/// A model fitted inside a search task, or the error of its fit, and the seconds spent
/// fitting it and every earlier pipeline step.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "M: Serialize + DeserializeOwned")]
pub struct Fitted<M> {
    /// The model, or the fit's error.
    pub model: std::result::Result<M, String>,
    /// Seconds spent fitting.
    pub fit_seconds: f64,
    /// Partial-fit calls made on this model (adaptive searches).
    pub calls: u64,
}

/// What a score task returns: one score per scorer, or the error that prevented scoring.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The scores, in the order of the search's scorers, or the error.
    pub values: std::result::Result<Vec<f64>, String>,
    /// Seconds spent fitting the model (all pipeline steps).
    pub fit_seconds: f64,
    /// Seconds spent scoring.
    pub score_seconds: f64,
    /// Scorers that failed while others worked (their score is NaN): `"name: error"`.
    pub failures: Vec<String>,
}

/// The data a fit task sees: rows, targets and weights, all in memory.
#[derive(Debug)]
#[non_exhaustive]
pub struct TaskData<'a> {
    /// Features.
    pub x: RowsRef<'a>,
    /// The rows as a block value that a fit can use without copying, when the task has one.
    pub x_block: Option<Value>,
    /// Targets: an `Array1<i64>` or `Array1<f64>` value, if the data has them.
    pub y: Option<&'a Value>,
    /// Sample weights.
    pub w: Option<&'a Array1<f64>>,
    /// The weights as a block value.
    pub w_block: Option<&'a Value>,
}

/// The bytes of a slice of plain numbers, for hashing.
fn bytes_of<T: Element>(v: &[T]) -> &[u8] {
    // SAFETY: `Element` is implemented only for f64, f32 and i64: plain old data without
    // padding, every byte initialised, so viewing them as bytes (alignment 1) is sound; the
    // length is the slice's size in bytes and the lifetime is the slice's.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// One-block layer of `block` (sharing it), named by a content token of `bytes` (one bulk
/// hash), so identical data gets identical keys, as [`ChunkedArray::from_array`] does.
fn one_block(what: &str, dtype: &str, shape: (usize, usize), bytes: &[u8], block: Value) -> crate::BlockLayer {
    let token =
        rask_core::Tokenizer::new().str(what).str(dtype).u64(shape.0 as u64).u64(shape.1 as u64).bytes(bytes).finish();
    let name = rask_core::KeyName::new(&format!("{what}-{}", token.hex()));
    crate::BlockLayer::from_values(name, crate::Chunks::Known(vec![shape.0]), vec![block])
}

/// Rows per block when a task turns its in-memory rows into a chunked dataset for a fit.
pub const TASK_CHUNK_ROWS: usize = Dataset::<f64>::DEFAULT_CHUNK_ROWS;

impl<'a> TaskData<'a> {
    /// Data from borrowed rows, targets (an `Array1<i64>` or `Array1<f64>` value) and
    /// weights; fits copy the rows into their blocks.
    pub fn new(x: RowsRef<'a>, y: Option<&'a Value>, w: Option<&'a Array1<f64>>) -> Self {
        TaskData { x, x_block: None, y, w, w_block: None }
    }

    fn chunked<F: Float + Element, Y: Element>(
        &self,
        x: ArrayView2<'_, F>,
        y: Option<&Array1<Y>>,
    ) -> Result<ChunkedDataset<F, Y>> {
        // One block that fits: share the task's values instead of copying and hashing them
        // element by element.
        let n = x.nrows();
        if let (true, Some(block), Some(xs)) = (n > 0 && n <= TASK_CHUNK_ROWS, &self.x_block, x.as_slice()) {
            let cx = ChunkedArray::from_block_layer(
                one_block("task-rows", <F as Element>::DTYPE, x.dim(), bytes_of(xs), block.clone()),
                x.ncols(),
            );
            let yv = match (y, self.y) {
                (Some(y), Some(v)) => match y.as_slice() {
                    Some(ys) => Some(ChunkedVector::from_block_layer(one_block(
                        "task-y",
                        Y::DTYPE,
                        (n, 1),
                        bytes_of(ys),
                        v.clone(),
                    ))),
                    None => Some(ChunkedVector::from_array_with_chunks(y.view(), &[n])?),
                },
                _ => None,
            };
            let mut ds = match yv {
                Some(y) => ChunkedDataset::new(cx, y)?,
                None => ChunkedDataset::unlabelled(cx),
            };
            if let (Some(w), Some(wv)) = (self.w, self.w_block) {
                let wl = match w.as_slice() {
                    Some(ws) => {
                        ChunkedVector::from_block_layer(one_block("task-w", "f64", (n, 1), bytes_of(ws), wv.clone()))
                    }
                    None => ChunkedVector::from_array_with_chunks(w.view(), &[n])?,
                };
                ds = ds.with_weights(wl)?;
            }
            return Ok(ds);
        }
        let cx = ChunkedArray::from_array(x, TASK_CHUNK_ROWS)?;
        let sizes = cx.chunks().sizes().map(<[usize]>::to_vec).unwrap_or_default();
        let mut ds = match y {
            Some(y) => ChunkedDataset::new(cx, ChunkedVector::from_array_with_chunks(y.view(), &sizes)?)?,
            None => ChunkedDataset::unlabelled(cx),
        };
        if let Some(w) = self.w {
            ds = ds.with_weights(ChunkedVector::from_array_with_chunks(w.view(), &sizes)?)?;
        }
        Ok(ds)
    }

    /// The data as a chunked dataset with `Y` targets (or none), or an error saying which
    /// targets the estimator needs.
    pub fn dataset<F: Float + Element, Y: Element>(
        &self,
        x: ArrayView2<'_, F>,
        who: &str,
    ) -> Result<ChunkedDataset<F, Y>, String> {
        let y = match self.y {
            None => None,
            Some(v) => Some(v.get::<Array1<Y>>().map_err(|_| {
                format!("{who} needs {} targets, but the data has `{}` targets", Y::DTYPE, v.type_name())
            })?),
        };
        self.chunked(x, y).map_err(|e| e.to_string())
    }
}

/// Runs `f` with the synchronous scheduler as this thread's default, so a fit inside a task
/// does not start parallel work of its own (the search runs many fits at once instead).
pub fn in_task<R>(f: impl FnOnce() -> R) -> R {
    rask_core::with_scheduler(&Scheduler::sync(), f)
}

/// An estimator that searches and pipelines can fit inside tasks: params settable by name,
/// serialisable (they travel in the task's arguments), and three registered ops named by its
/// constants. Implement it with [`estimator!`](crate::estimator).
pub trait Estimator: SetParams + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The fitted model.
    type Model: Clone + Debug + Serialize + DeserializeOwned + Send + Sync + 'static;
    /// A short name for messages (`"LogisticRegression"`).
    const NAME: &'static str;
    /// The name of its [`SearchFit`] op.
    const FIT_OP: &'static str;
    /// The name of its [`SearchPartialFit`] op.
    const PARTIAL_FIT_OP: &'static str;
    /// The name of its [`SearchModelOp`] op.
    const MODEL_OP: &'static str;
    /// What its fitted model is: decides the default scorer.
    const KIND: ModelKind;

    /// Fits on in-memory data (inside a task).
    fn fit_task(&self, data: &TaskData<'_>) -> std::result::Result<Self::Model, String>;

    /// Whether [`partial_fit_task`](Self::partial_fit_task) is offered.
    fn has_partial_fit() -> bool {
        false
    }

    /// Updates `model` (or starts one) with in-memory data (inside a task).
    fn partial_fit_task(
        &self,
        model: Option<Self::Model>,
        data: &TaskData<'_>,
    ) -> std::result::Result<Self::Model, String> {
        let _ = (model, data);
        Err(format!("{} has no partial_fit", Self::NAME))
    }

    /// Transforms rows with a fitted model.
    fn transform_task(model: &Self::Model, x: RowsRef<'_>) -> std::result::Result<Rows, String>;

    /// Scores a fitted model on in-memory data: one score per scorer (NaN for a scorer that
    /// failed while others worked) and the failures' messages.
    fn score_task(
        model: &Self::Model,
        x: RowsRef<'_>,
        y: Option<&Value>,
        w: Option<&Array1<f64>>,
        scorers: &[Scorer],
    ) -> std::result::Result<(Vec<f64>, Vec<String>), String>;
}

fn err_string<E: std::error::Error>(e: E) -> String {
    // Keep the whole source chain, as task errors do.
    OpError::from(e).message().to_string()
}

macro_rules! fit_helpers {
    ($fit:ident, $partial:ident, $y:ty, $doc:literal) => {
        #[doc = concat!("Fits `P` on task data whose targets are ", $doc, " (what [`estimator!`](crate::estimator) calls).")]
        pub fn $fit<P, M>(p: &P, d: &TaskData<'_>, who: &str) -> std::result::Result<M, String>
        where
            P: Fit<ChunkedDataset<f64, $y>, Model = M> + Fit<ChunkedDataset<f32, $y>, Model = M>,
        {
            in_task(|| match d.x {
                RowsRef::F64(x) => Fit::fit(p, &d.dataset::<f64, $y>(x, who)?).map_err(err_string),
                RowsRef::F32(x) => Fit::fit(p, &d.dataset::<f32, $y>(x, who)?).map_err(err_string),
            })
        }

        #[doc = concat!("Partially fits `P` on task data whose targets are ", $doc, ".")]
        pub fn $partial<P, M>(p: &P, m: Option<M>, d: &TaskData<'_>, who: &str) -> std::result::Result<M, String>
        where
            P: PartialFit<ChunkedDataset<f64, $y>, Model = M> + PartialFit<ChunkedDataset<f32, $y>, Model = M>,
        {
            in_task(|| match d.x {
                RowsRef::F64(x) => PartialFit::partial_fit(p, m, &d.dataset::<f64, $y>(x, who)?).map_err(err_string),
                RowsRef::F32(x) => PartialFit::partial_fit(p, m, &d.dataset::<f32, $y>(x, who)?).map_err(err_string),
            })
        }
    };
}

fit_helpers!(fit_labels, partial_fit_labels, i64, "integer class labels");
fit_helpers!(fit_values, partial_fit_values, f64, "real values");

/// Fits `P`, which takes any targets (or none), on task data.
pub fn fit_any<P, M>(p: &P, d: &TaskData<'_>, who: &str) -> std::result::Result<M, String>
where
    P: Fit<ChunkedDataset<f64, f64>, Model = M>
        + Fit<ChunkedDataset<f32, f64>, Model = M>
        + Fit<ChunkedDataset<f64, i64>, Model = M>
        + Fit<ChunkedDataset<f32, i64>, Model = M>,
{
    let labels = d.y.is_some_and(|y| y.downcast_ref::<Array1<i64>>().is_some());
    if labels {
        fit_labels(p, d, who)
    } else {
        fit_values(p, d, who)
    }
}

/// Partially fits `P`, which takes any targets (or none), on task data.
pub fn partial_fit_any<P, M>(p: &P, m: Option<M>, d: &TaskData<'_>, who: &str) -> std::result::Result<M, String>
where
    P: PartialFit<ChunkedDataset<f64, f64>, Model = M>
        + PartialFit<ChunkedDataset<f32, f64>, Model = M>
        + PartialFit<ChunkedDataset<f64, i64>, Model = M>
        + PartialFit<ChunkedDataset<f32, i64>, Model = M>,
{
    let labels = d.y.is_some_and(|y| y.downcast_ref::<Array1<i64>>().is_some());
    if labels {
        partial_fit_labels(p, m, d, who)
    } else {
        partial_fit_values(p, m, d, who)
    }
}

/// Transforms rows with a [`BlockModel`] (what [`estimator!`](crate::estimator) calls).
pub fn transform_block_model<M: BlockModel>(m: &M, x: RowsRef<'_>) -> std::result::Result<Rows, String> {
    let r = match x {
        RowsRef::F64(x) => crate::Transform::transform(m, x).map(|a| Rows::F64(Arc::new(a))),
        RowsRef::F32(x) => crate::Transform::transform(m, x).map(|a| Rows::F32(Arc::new(a))),
    };
    r.map_err(|e| e.to_string())
}

/// Scores a [`BlockModel`] on in-memory data, one score per scorer (what
/// [`estimator!`](crate::estimator) calls). Predictions are made once and shared by the scorers.
/// A scorer that fails while others work scores NaN and its message is returned beside the
/// scores, as scikit-learn scores each metric on its own; if every scorer fails, that is the
/// error.
pub fn score_block_model<M: BlockModel>(
    m: &M,
    x: RowsRef<'_>,
    y: Option<&Value>,
    w: Option<&Array1<f64>>,
    scorers: &[Scorer],
) -> std::result::Result<(Vec<f64>, Vec<String>), String> {
    fn go<M: BlockModel, F: Float>(
        m: &M,
        x: ArrayView2<'_, F>,
        y: Option<&Value>,
        w: Option<&Array1<f64>>,
        scorers: &[Scorer],
    ) -> std::result::Result<(Vec<f64>, Vec<String>), String> {
        let mut labels: Option<Value> = None;
        let mut proba: Option<Array2<f64>> = None;
        let mut out = Vec::with_capacity(scorers.len());
        let mut failures = Vec::new();
        for &s in scorers {
            let mut one = || -> Result<f64> {
                if labels.is_none() && !s.needs_proba() {
                    labels = Some(Value::new(crate::Predict::predict(m, x)?));
                }
                let score = if s.is_clustering() {
                    // Scored on the rows the model saw, with its own labels.
                    let pred = labels.as_ref().and_then(|v| v.downcast_ref::<Array1<i64>>()).ok_or_else(|| {
                        MlError::Unsupported { what: format!("`{}` needs integer cluster labels", s.name()) }
                    })?;
                    if w.is_some() {
                        return Err(MlError::Unsupported { what: format!("`{}` with sample weights", s.name()) });
                    }
                    silhouette_score(x, pred.view())?
                } else {
                    let y = y.ok_or_else(|| MlError::InvalidParameter {
                        name: "scoring",
                        message: format!("`{}` needs targets, and the data has none", s.name()),
                    })?;
                    if s.needs_proba() {
                        let yt = y.get::<Array1<i64>>().map_err(|_| MlError::InvalidParameter {
                            name: "scoring",
                            message: format!("`{}` needs integer class labels", s.name()),
                        })?;
                        let classes = m.classes().ok_or_else(|| MlError::Unsupported {
                            what: format!("`{}`: the model does not declare its classes", s.name()),
                        })?;
                        if proba.is_none() {
                            proba = Some(crate::PredictProba::predict_proba(m, x)?);
                        }
                        // Set just above.
                        let p = proba.as_ref().expect("probabilities computed");
                        s.from_proba(yt.view(), p.view(), &classes)?
                    } else if s.is_classification() {
                        if w.is_some() {
                            return Err(MlError::Unsupported {
                                what: format!("`{}` with sample weights (weighted classification scores)", s.name()),
                            });
                        }
                        let yt = y.get::<Array1<i64>>().map_err(|_| MlError::InvalidParameter {
                            name: "scoring",
                            message: format!("`{}` needs integer class labels", s.name()),
                        })?;
                        let pred = labels.as_ref().and_then(|v| v.downcast_ref::<Array1<i64>>()).ok_or_else(|| {
                            MlError::InvalidParameter {
                                name: "scoring",
                                message: format!("`{}` needs a model that predicts class labels", s.name()),
                            }
                        })?;
                        s.from_confusion(&confusion_matrix(yt.view(), pred.view())?)?
                    } else {
                        let yt = y.get::<Array1<f64>>().map_err(|_| MlError::InvalidParameter {
                            name: "scoring",
                            message: format!("`{}` needs real-valued targets", s.name()),
                        })?;
                        let pred = labels.as_ref().and_then(|v| v.downcast_ref::<Array1<f64>>()).ok_or_else(|| {
                            MlError::InvalidParameter {
                                name: "scoring",
                                message: format!("`{}` needs a model that predicts real values", s.name()),
                            }
                        })?;
                        s.from_regression(&regression_summary(yt.view(), pred.view(), w.map(|w| w.view()))?)?
                    }
                };
                Ok(score)
            };
            match one() {
                Ok(v) => out.push(v),
                Err(e) => {
                    out.push(f64::NAN);
                    failures.push(format!("{}: {e}", s.name()));
                }
            }
        }
        if !failures.is_empty() && failures.len() == scorers.len() {
            return Err(failures.join("; "));
        }
        Ok((out, failures))
    }
    match x {
        RowsRef::F64(x) => go(m, x, y, w, scorers),
        RowsRef::F32(x) => go(m, x, y, w, scorers),
    }
}

/// Implements [`Estimator`](crate::model_selection::Estimator) and
/// [`SearchNode`](crate::model_selection::SearchNode) for a params type whose fitted model is
/// a [`BlockModel`](crate::BlockModel), so searches and pipelines can fit it inside tasks on
/// every scheduler.
///
/// `targets` is `labels` (integer classes), `values` (real targets) or `any` (transformers and
/// clusterers, which ignore them); `partial_fit` is `yes` when the params implement
/// [`PartialFit`](crate::PartialFit) with the same targets. `ops` is the prefix of the three op
/// names. Register what it makes with [`search_entries!`](crate::search_entries) and
/// [`search_codec_entries!`](crate::search_codec_entries) in the crate's `OPS` / `CODECS` lists.
///
/// ```text
/// rask_ml::estimator!(LogisticRegressionParams => LogisticRegression,
///     name = "LogisticRegression", ops = "rask.estimators.logistic_regression",
///     kind = Classifier, targets = labels, partial_fit = no);
/// ```
#[macro_export]
macro_rules! estimator {
    ($params:ty => $model:ty, name = $name:literal, ops = $ops:literal, kind = $kind:ident,
     targets = $targets:ident, partial_fit = $pf:ident) => {
        impl $crate::model_selection::Estimator for $params {
            type Model = $model;
            const NAME: &'static str = $name;
            const FIT_OP: &'static str = concat!($ops, ".search_fit");
            const PARTIAL_FIT_OP: &'static str = concat!($ops, ".search_partial_fit");
            const MODEL_OP: &'static str = concat!($ops, ".search_model");
            const KIND: $crate::ModelKind = $crate::ModelKind::$kind;

            fn fit_task(
                &self,
                d: &$crate::model_selection::TaskData<'_>,
            ) -> ::std::result::Result<$model, ::std::string::String> {
                $crate::__estimator_fit!($targets, self, d, $name)
            }

            $crate::__estimator_partial!($pf, $targets, $model, $name);

            fn transform_task(
                m: &$model,
                x: $crate::model_selection::RowsRef<'_>,
            ) -> ::std::result::Result<$crate::model_selection::Rows, ::std::string::String> {
                $crate::model_selection::transform_block_model(m, x)
            }

            fn score_task(
                m: &$model,
                x: $crate::model_selection::RowsRef<'_>,
                y: ::std::option::Option<&$crate::__rask_core::Value>,
                w: ::std::option::Option<&$crate::ndarray::Array1<f64>>,
                scorers: &[$crate::metrics::Scorer],
            ) -> ::std::result::Result<
                (::std::vec::Vec<f64>, ::std::vec::Vec<::std::string::String>),
                ::std::string::String,
            > {
                $crate::model_selection::score_block_model(m, x, y, w, scorers)
            }
        }

        $crate::search_node_for_estimator!($params);

        impl $crate::persist::Persist for $params {
            fn tag() -> ::std::string::String {
                ::std::string::String::from(concat!($ops, ".params/1"))
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __estimator_fit {
    (labels, $p:expr, $d:expr, $name:literal) => {
        $crate::model_selection::fit_labels($p, $d, $name)
    };
    (values, $p:expr, $d:expr, $name:literal) => {
        $crate::model_selection::fit_values($p, $d, $name)
    };
    (any, $p:expr, $d:expr, $name:literal) => {
        $crate::model_selection::fit_any($p, $d, $name)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __estimator_partial {
    (no, $targets:ident, $model:ty, $name:literal) => {};
    (yes, $targets:ident, $model:ty, $name:literal) => {
        fn has_partial_fit() -> bool {
            true
        }

        fn partial_fit_task(
            &self,
            m: ::std::option::Option<$model>,
            d: &$crate::model_selection::TaskData<'_>,
        ) -> ::std::result::Result<$model, ::std::string::String> {
            $crate::__estimator_partial_call!($targets, self, m, d, $name)
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __estimator_partial_call {
    (labels, $p:expr, $m:expr, $d:expr, $name:literal) => {
        $crate::model_selection::partial_fit_labels($p, $m, $d, $name)
    };
    (values, $p:expr, $m:expr, $d:expr, $name:literal) => {
        $crate::model_selection::partial_fit_values($p, $m, $d, $name)
    };
    (any, $p:expr, $m:expr, $d:expr, $name:literal) => {
        $crate::model_selection::partial_fit_any($p, $m, $d, $name)
    };
}

// --- The ops ---------------------------------------------------------------------------------

/// Where a search op's inputs are: `[model?, x, y?, w?]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arity {
    /// Whether targets follow the rows.
    pub y: bool,
    /// Whether weights follow the targets (or the rows).
    pub w: bool,
}

impl Arity {
    fn count(self) -> usize {
        1 + usize::from(self.y) + usize::from(self.w)
    }
}

/// The rows input as a view and as a shareable block value.
type RowsInput<'a> = std::result::Result<(RowsRef<'a>, Value), String>;

/// Reads the rows input: a materialised block (`Array2<f64 | f32>`) or a [`Staged`] one.
/// `Ok(Err(message))` is an earlier failure to pass on.
fn rows_input(v: &Value) -> std::result::Result<(RowsInput<'_>, f64), OpError> {
    if let Some(a) = v.downcast_ref::<Array2<f64>>() {
        Ok((Ok((RowsRef::F64(a.view()), v.clone())), 0.0))
    } else if let Some(a) = v.downcast_ref::<Array2<f32>>() {
        Ok((Ok((RowsRef::F32(a.view()), v.clone())), 0.0))
    } else if let Some(s) = v.downcast_ref::<Staged>() {
        Ok((s.rows.as_ref().map(|r| (r.view(), r.to_value())).map_err(Clone::clone), s.fit_seconds))
    } else {
        Err(OpError::new(format!("expected rows (an f64 or f32 block), found `{}`", v.type_name())))
    }
}

fn task_inputs<'a>(
    inputs: &'a [Value],
    arity: Arity,
    op: &str,
) -> std::result::Result<(std::result::Result<TaskData<'a>, String>, f64), OpError> {
    expect_inputs(inputs, arity.count(), op)?;
    let (x, seconds) = rows_input(&inputs[0])?;
    let y = arity.y.then(|| &inputs[1]);
    let w_block = arity.w.then(|| &inputs[arity.count() - 1]);
    let w = match w_block {
        Some(v) => Some(v.get::<Array1<f64>>().map_err(|e| OpError::new(format!("weights: {e}")))?),
        None => None,
    };
    Ok((x.map(|(x, block)| TaskData { x, x_block: Some(block), y, w, w_block }), seconds))
}

fn fail_or_raise<T>(raise: bool, message: String) -> std::result::Result<std::result::Result<T, String>, OpError> {
    if raise {
        Err(OpError::new(message))
    } else {
        Ok(Err(message))
    }
}

/// Fits estimator `E` inside a task: inputs `[x, y?, w?]`, output [`Fitted<E::Model>`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "E: Estimator")]
pub struct SearchFit<E> {
    /// The candidate's params.
    pub params: E,
    /// Which inputs follow the rows.
    pub arity: Arity,
    /// Fail the task (and the search) on a fit error instead of passing the error on.
    pub raise: bool,
}

impl<E: Estimator> Op for SearchFit<E> {
    const NAME: &'static str = E::FIT_OP;

    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let (data, before) = task_inputs(inputs, self.arity, Self::NAME)?;
        let start = Instant::now();
        let model = match data {
            Ok(d) => match self.params.fit_task(&d) {
                Ok(m) => Ok(m),
                Err(e) => fail_or_raise(self.raise, format!("{}: {e}", E::NAME))?,
            },
            Err(e) => Err(e),
        };
        Ok(Value::new(Fitted { model, fit_seconds: before + start.elapsed().as_secs_f64(), calls: 0 }))
    }
}

/// Updates a model with one more block inside a task: inputs `[model?, x, y?, w?]` (the model
/// a [`Fitted<E::Model>`]; absent for the first call), output [`Fitted<E::Model>`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "E: Estimator")]
pub struct SearchPartialFit<E> {
    /// The candidate's params.
    pub params: E,
    /// Whether a model comes first.
    pub has_model: bool,
    /// Which inputs follow the rows.
    pub arity: Arity,
    /// Fail the task on a fit error instead of passing the error on.
    pub raise: bool,
}

impl<E: Estimator> Op for SearchPartialFit<E> {
    const NAME: &'static str = E::PARTIAL_FIT_OP;

    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let (prev, rest) = if self.has_model {
            let (first, rest) =
                inputs.split_first().ok_or_else(|| OpError::new(format!("{} takes a model first", Self::NAME)))?;
            (Some(first.get::<Fitted<E::Model>>().map_err(|e| OpError::new(e.to_string()))?), rest)
        } else {
            (None, inputs)
        };
        let (data, _) = task_inputs(rest, self.arity, Self::NAME)?;
        let (seconds, calls) = prev.map_or((0.0, 0), |p| (p.fit_seconds, p.calls));
        let start = Instant::now();
        let model = match (prev.map(|p| p.model.clone()).transpose(), data) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(m), Ok(d)) => match self.params.partial_fit_task(m, &d) {
                Ok(m) => Ok(m),
                Err(e) => fail_or_raise(self.raise, format!("{}: {e}", E::NAME))?,
            },
        };
        Ok(Value::new(Fitted { model, fit_seconds: seconds + start.elapsed().as_secs_f64(), calls: calls + 1 }))
    }
}

/// What [`SearchModelOp`] does with a fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelMethod {
    /// Transform rows (a pipeline step): inputs `[model, x]`, output [`Staged`].
    Transform,
    /// Score: inputs `[model, x, y?, w?]`, output [`Scores`].
    Score(Vec<Scorer>),
}

/// Applies a fitted model of estimator `E` inside a task (the model is an input, so a model
/// that lives on a worker is used where it is).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchModelOp<E> {
    /// What to do.
    pub method: ModelMethod,
    /// Which inputs follow the rows.
    pub arity: Arity,
    /// Fail the task on an error instead of passing it on.
    pub raise: bool,
    #[serde(skip)]
    marker: std::marker::PhantomData<fn() -> E>,
}

impl<E> SearchModelOp<E> {
    /// An op applying `method`.
    pub fn new(method: ModelMethod, arity: Arity, raise: bool) -> Self {
        SearchModelOp { method, arity, raise, marker: std::marker::PhantomData }
    }
}

impl<E: Estimator> Op for SearchModelOp<E> {
    const NAME: &'static str = E::MODEL_OP;

    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let (first, rest) =
            inputs.split_first().ok_or_else(|| OpError::new(format!("{} takes a model first", Self::NAME)))?;
        let fitted = first.get::<Fitted<E::Model>>().map_err(|e| OpError::new(e.to_string()))?;
        let (data, _) = task_inputs(rest, self.arity, Self::NAME)?;
        let start = Instant::now();
        let ready = match (&fitted.model, data) {
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
            (Ok(m), Ok(d)) => Ok((m, d)),
        };
        Ok(match &self.method {
            ModelMethod::Transform => {
                let rows = match ready {
                    Err(e) => Err(e),
                    Ok((m, d)) => match E::transform_task(m, d.x) {
                        Ok(r) => Ok(r),
                        Err(e) => fail_or_raise(self.raise, format!("{} transform: {e}", E::NAME))?,
                    },
                };
                Value::new(Staged { rows, fit_seconds: fitted.fit_seconds })
            }
            ModelMethod::Score(scorers) => {
                let mut failures = Vec::new();
                let values = match ready {
                    Err(e) => Err(e),
                    Ok((m, d)) => match E::score_task(m, d.x, d.y, d.w, scorers) {
                        Ok((v, f)) if f.is_empty() || !self.raise => {
                            failures = f;
                            Ok(v)
                        }
                        Ok((_, f)) => fail_or_raise(self.raise, format!("scoring {}: {}", E::NAME, f.join("; ")))?,
                        Err(e) => fail_or_raise(self.raise, format!("scoring {}: {e}", E::NAME))?,
                    },
                };
                Value::new(Scores {
                    values,
                    fit_seconds: fitted.fit_seconds,
                    score_seconds: start.elapsed().as_secs_f64(),
                    failures,
                })
            }
        })
    }
}

/// The three search ops of estimator `E`, for a crate's `OPS` list.
pub const fn search_ops<E: Estimator>() -> [rask_core::OpEntry; 3] {
    [
        rask_core::OpEntry::of::<SearchFit<E>>(),
        rask_core::OpEntry::of::<SearchPartialFit<E>>(),
        rask_core::OpEntry::of::<SearchModelOp<E>>(),
    ]
}

/// The codec of estimator `E`'s [`Fitted`] model, tagged with its fit op's name.
pub const fn search_codecs<E: Estimator>() -> rask_core::Codec {
    rask_core::Codec::serde::<Fitted<E::Model>>(E::FIT_OP)
}

/// The search ops of several estimators, as a `&[OpEntry]` for a crate's lists:
/// `pub const SEARCH_OPS: &[OpEntry] = rask_ml::search_entries!(KMeansParams, PcaParams);`.
#[macro_export]
macro_rules! search_entries {
    ($($e:ty),* $(,)?) => {
        &[$(
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchFit<$e>>(),
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchPartialFit<$e>>(),
            $crate::__rask_core::OpEntry::of::<$crate::model_selection::SearchModelOp<$e>>(),
        )*]
    };
}

/// The [`Fitted`] codecs of several estimators, as a `&[Codec]` for a crate's lists.
#[macro_export]
macro_rules! search_codec_entries {
    ($($e:ty),* $(,)?) => {
        &[$($crate::model_selection::search_codecs::<$e>(),)*]
    };
}
