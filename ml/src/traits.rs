//! The estimator vocabulary, in one file.
//!
//! - Hyperparameters are not models. An estimator's *params* type (`KMeansParams`, …) is a
//!   builder; [`ParamGuard::check`] validates it into *valid params*, with one error variant per
//!   bad field. [`Fit`] is implemented on the params and returns a separate *fitted model*
//!   (`KMeans`, …) whose attributes are concrete, never lazy.
//! - [`PartialFit`] takes the model by value and returns the updated model, so streaming fits
//!   and adaptive searches thread models through without cloning them.
//! - [`Predict`], [`PredictProba`], [`Transform`] and [`InverseTransform`] work on in-memory
//!   arrays (eagerly) and on [`ChunkedArray`]s (lazily: they return chunked collections with
//!   known shapes). A fitted model implements them by implementing [`BlockModel`]: one method
//!   per block, run in-process for arrays and as a registered op ([`ApplyModel`]) for chunked
//!   data, so the same code runs on every scheduler. Output widths are declared by the model,
//!   never found by running it on dummy data.
//! - [`Score`] is accuracy for classifiers and R² for regressors, as in scikit-learn.
//! - Every params type and fitted model is [`Persist`]: [`save`] / [`load`] write and read
//!   them in a small envelope with a stable type tag and a checksum, and check the model's
//!   consistency on load (see [`crate::persist`]).
//! - Every model refuses NaN and infinite input rows at predict time, naming block, row and
//!   column ([`check_rows`]); models that take NaN as a missing value
//!   ([`BlockModel::allows_nan`]: scalers, imputers, encoders) still refuse infinities.

use crate::with_block;

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chunked::{ChunkedArray, ChunkedDataset, ChunkedVector, Element};
use crate::error::{MlError, Result};
use crate::float::Float;

/// Unchecked hyperparameters that validate into checked ones.
pub trait ParamGuard {
    /// The validated params.
    type Checked;
    /// What a bad field gives.
    type Error: std::error::Error;

    /// Validates by reference.
    fn check_ref(&self) -> Result<&Self::Checked, Self::Error>;

    /// Validates and unwraps.
    fn check(self) -> Result<Self::Checked, Self::Error>
    where
        Self: Sized;
}

/// Fits a model to data `D`: a [`ChunkedDataset`], a [`ChunkedArray`] (unsupervised
/// estimators) or an in-memory [`Dataset`].
///
/// Estimators implement it for `ChunkedDataset<F, Y>`; the in-memory and array forms come from
/// blanket implementations that wrap the data and fit the same way. Fits run their graphs on
/// the default scheduler ([`rask_core::default_scheduler`], overridable per thread with
/// [`rask_core::with_scheduler`]).
pub trait Fit<D: ?Sized> {
    /// The fitted model.
    type Model;
    /// What a failed fit gives.
    type Error: std::error::Error + From<MlError> + Send + Sync + 'static;

    /// Fits a model.
    fn fit(&self, data: &D) -> Result<Self::Model, Self::Error>;
}

/// Updates a model with one more batch of data: model in, model out. `None` starts a new model.
pub trait PartialFit<D: ?Sized> {
    /// The fitted model.
    type Model;
    /// What a failed update gives.
    type Error: std::error::Error + From<MlError> + Send + Sync + 'static;

    /// Updates `model` (or starts one) with `data`.
    fn partial_fit(&self, model: Option<Self::Model>, data: &D) -> Result<Self::Model, Self::Error>;
}

/// Predicts one value per row: class labels, cluster indices or regression targets.
pub trait Predict<X> {
    /// Labels or values: `Array1` for arrays, a lazy [`ChunkedVector`] for chunked arrays.
    type Output;
    /// Predicts.
    fn predict(&self, x: X) -> Result<Self::Output>;
}

/// Predicts class probabilities: always `n_rows × n_classes`, binary problems included.
pub trait PredictProba<X> {
    /// `Array2<f64>`, or a lazy [`ChunkedArray<f64>`].
    type Output;
    /// Predicts probabilities.
    fn predict_proba(&self, x: X) -> Result<Self::Output>;
}

/// Transforms rows into new features.
pub trait Transform<X> {
    /// `Array2<F>`, or a lazy [`ChunkedArray<F>`].
    type Output;
    /// Transforms.
    fn transform(&self, x: X) -> Result<Self::Output>;
}

/// Maps transformed rows back to the input space.
pub trait InverseTransform<X> {
    /// `Array2<F>`, or a lazy [`ChunkedArray<F>`].
    type Output;
    /// Inverse-transforms.
    fn inverse_transform(&self, x: X) -> Result<Self::Output>;
}

/// The default score of a fitted model on labelled data: mean accuracy for classifiers, R² for
/// regressors (as scikit-learn's `score`). Higher is better.
pub trait Score<D: ?Sized> {
    /// Scores.
    fn score(&self, data: &D) -> Result<f64>;
}

/// What kind of model a [`BlockModel`] is; decides its default [`Score`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Predicts class labels (`i64`); scored by accuracy.
    Classifier,
    /// Predicts real values (`f64`); scored by R².
    Regressor,
    /// Predicts cluster indices; scored by its own measure if any.
    Clusterer,
    /// Transforms features; no default score.
    Transformer,
}

/// The per-row methods of a model, as the argument of [`ApplyModel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    /// One label or value per row.
    Predict,
    /// Class probabilities.
    PredictProba,
    /// New features.
    Transform,
    /// Back to the input space.
    InverseTransform,
}

/// A fitted model whose methods act row by row, so they apply block by block.
///
/// Implement the block methods the model supports; the others keep their default, which
/// returns [`MlError::Unsupported`]. Register `OpEntry::of::<ApplyModel<Self>>()` in the
/// crate's `OPS` so chunked predictions run on every scheduler.
pub trait BlockModel: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The name of this model's [`ApplyModel`] op, e.g. `"rask.estimators.kmeans.apply"`.
    const APPLY_OP: &'static str;
    /// The model's kind.
    const KIND: ModelKind;
    /// What [`Method::Predict`] returns per row.
    type Label: Element;

    /// The version of the model's serialised layout, part of its [`Persist`] tag
    /// (`"<APPLY_OP without .apply>/<version>"`): bump it when the fields change.
    const PERSIST_VERSION: u32 = 1;

    /// The number of input features the model was fitted on.
    fn n_features_in(&self) -> usize;

    /// Whether the model takes NaN as a missing value, as scikit-learn's scalers, imputers and
    /// encoders do (NaN passes through, is imputed or is an unknown category). Every other model
    /// refuses NaN rows; every model refuses infinities ([`check_rows`]).
    fn allows_nan(&self) -> bool {
        false
    }

    /// Whether the model's own block method `method` fails with [`MlError::NonFinite`] on
    /// every block that holds a NaN or infinite value (as the linear models do from their
    /// decision values and k-means from its distances, at no extra cost). For such methods the
    /// separate scan of the input before the model runs is skipped, which saves a pass over
    /// the data; the place of the bad value is still found (in the error path only) and named.
    /// The default is `false`: the input is scanned first. Only say `true` when the check is
    /// exact: a NaN that could reach a label unnoticed (a comparison, a tree split) must be
    /// scanned for.
    fn detects_non_finite(&self, method: Method) -> bool {
        let _ = method;
        false
    }

    /// Checks the model's internal consistency: lengths that agree with each other and with
    /// [`n_features_in`](Self::n_features_in), class counts, finite parameters.
    /// [`load`](crate::load) and [`from_bytes`](crate::from_bytes) run it (as
    /// [`Persist::validate`]), so a model that would panic or mispredict is refused when it is
    /// read. The default checks nothing.
    fn validate_model(&self) -> Result<()> {
        Ok(())
    }

    /// The output width of [`Method::Transform`] (and the input width of
    /// [`Method::InverseTransform`]).
    fn n_features_out(&self) -> usize {
        self.n_features_in()
    }

    /// The number of classes, for [`Method::PredictProba`].
    fn n_classes(&self) -> Option<usize> {
        None
    }

    /// The class labels, in the order of [`Method::PredictProba`]'s columns (classifiers).
    /// Probability scorers (`neg_log_loss`, `roc_auc`) need them.
    fn classes(&self) -> Option<Vec<i64>> {
        None
    }

    /// Predicts a block.
    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array1<Self::Label>> {
        let _ = x;
        Err(unsupported::<Self>("predict"))
    }

    /// Class probabilities of a block, `rows × n_classes`.
    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array2<f64>> {
        let _ = x;
        Err(unsupported::<Self>("predict_proba"))
    }

    /// Transforms a block to `rows × n_features_out`.
    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        let _ = x;
        Err(unsupported::<Self>("transform"))
    }

    /// Inverse-transforms a block of `n_features_out` columns to `n_features_in`.
    fn inverse_transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        let _ = x;
        Err(unsupported::<Self>("inverse_transform"))
    }

    /// Whether the model offers `method`, so chunked calls fail when the graph is built.
    fn supports(&self, method: Method) -> bool;
}

fn unsupported<M>(method: &'static str) -> MlError {
    MlError::Unsupported { what: format!("{} has no {method}", short_type_name::<M>()) }
}

fn short_type_name<M>() -> &'static str {
    crate::model::short_name::<M>()
}

/// Checks the feature count of input to a model.
pub fn check_n_features(expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(MlError::ShapeMismatch { what: "number of features".into(), expected, found })
    }
}

/// The op that applies one method of a fitted model to a block.
///
/// The model either travels in the op's arguments (`model: Some`, what `model.predict(&x)`
/// builds: fine locally, where arguments are shared, and for small models), or is the task's
/// first input (`model: None`, inputs `[model, block]`): stored once in the graph or scattered
/// to the workers, and referenced by key by every block's task, as
/// [`ParallelPostFit`](crate::wrappers::ParallelPostFit) does. For the second form the model
/// type needs a codec ([`model_codec`]).
///
/// A block with no rows gives an empty result without calling the model.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "M: BlockModel")]
pub struct ApplyModel<M> {
    /// The fitted model, or `None` when it is the first input.
    pub model: Option<M>,
    /// The method to apply.
    pub method: Method,
}

impl<M: BlockModel> ApplyModel<M> {
    /// Applies `method` of `model`, given in the arguments.
    pub fn embedded(model: M, method: Method) -> Self {
        ApplyModel { model: Some(model), method }
    }

    /// Applies `method` of the model that is the task's first input.
    pub fn by_reference(method: Method) -> Self {
        ApplyModel { model: None, method }
    }
}

/// Refuses a block of input rows holding an infinite value, or a NaN unless `allow_nan`,
/// naming its row and column (counted from the start of `x`): the check every model makes at
/// predict, predict_proba, transform and score time ([`BlockModel::allows_nan`]). Chunked
/// inputs are checked block by block in the task that applies the model (no extra graph layer
/// or pass); the failing task's key names the block.
pub fn check_rows<F: Float>(x: ArrayView2<'_, F>, allow_nan: bool) -> Result<()> {
    match first_bad_row(x, allow_nan) {
        None => Ok(()),
        Some((row, col, v)) => Err(MlError::NonFinite { what: format!("x (row {row}, column {col} holds {v})") }),
    }
}

/// Runs `run` (a block method of `model`) on `x` with the predict-time check of the input:
/// a scan first, or, when the model detects bad values itself
/// ([`BlockModel::detects_non_finite`]), after the fact, in the error path only. Either way a
/// bad value is named as `x (row R{where_}, column C holds V)`.
fn guarded<M: BlockModel, F: Float, T>(
    model: &M,
    method: Method,
    x: ArrayView2<'_, F>,
    where_: &str,
    run: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let allow_nan = model.allows_nan();
    let named = |(row, col, v): (usize, usize, f64)| MlError::NonFinite {
        what: format!("x (row {row}{where_}, column {col} holds {v})"),
    };
    if !model.detects_non_finite(method) {
        if let Some(bad) = first_bad_row(x, allow_nan) {
            return Err(named(bad));
        }
        return run();
    }
    match run() {
        Err(MlError::NonFinite { what }) => {
            let found =
                crate::chunked::rows::first_bad_value(x.iter().map(|v| v.widen()), x.ncols(), allow_nan, f64::INFINITY);
            Err(found.map(named).unwrap_or(MlError::NonFinite { what }))
        }
        other => other,
    }
}

fn first_bad_row<F: Float>(x: ArrayView2<'_, F>, allow_nan: bool) -> Option<(usize, usize, f64)> {
    if all_allowed(x, allow_nan) {
        return None;
    }
    crate::chunked::rows::first_bad_value(x.iter().map(|v| v.widen()), x.ncols(), allow_nan, f64::INFINITY)
}

/// Whether every value is finite (NaN allowed when `allow_nan`): the fast path of the predict
/// time check, one branch-free pass (eight independent lanes, which the compiler vectorises)
/// rather than an early-exit loop; [`first_bad_value`](crate::chunked::rows::first_bad_value)
/// then locates a bad value only in the error path.
fn all_allowed<F: Float>(x: ArrayView2<'_, F>, allow_nan: bool) -> bool {
    const LANES: usize = 8;
    let zero = F::zero();
    let lanes_ok = |values: &[F]| -> bool {
        if allow_nan {
            // NaN is let through: count the values whose magnitude is infinite (NaN compares
            // false).
            let inf = F::infinity();
            let n_inf: usize = values.iter().map(|v| usize::from(v.abs() == inf)).sum();
            n_inf == 0
        } else {
            // `v * 0` is 0 for every finite `v` and NaN for NaN and ±inf, and NaN survives sums.
            let mut acc = [zero; LANES];
            let chunks = values.chunks_exact(LANES);
            let tail = chunks.remainder();
            for c in chunks {
                for i in 0..LANES {
                    acc[i] += c[i] * zero;
                }
            }
            let mut sum = tail.iter().fold(zero, |a, &v| a + v * zero);
            for a in acc {
                sum += a;
            }
            sum == zero
        }
    };
    match x.as_slice_memory_order() {
        Some(values) => lanes_ok(values),
        None => {
            x.rows().into_iter().all(|row| row.iter().all(|v| if allow_nan { !v.is_infinite() } else { v.is_finite() }))
        }
    }
}

fn apply_to<M: BlockModel, F: Float>(model: &M, method: Method, x: &Array2<F>) -> Result<Value> {
    check_n_features(
        if method == Method::InverseTransform { model.n_features_out() } else { model.n_features_in() },
        x.ncols(),
    )?;
    // Every chunked path (`Predict`, `Transform`, `ParallelPostFit`, searches) applies models
    // here, one block per task: the failing task's key names the block.
    guarded(model, method, x.view(), " of the block", || apply_unchecked(model, method, x))
}

fn apply_unchecked<M: BlockModel, F: Float>(model: &M, method: Method, x: &Array2<F>) -> Result<Value> {
    Ok(match method {
        Method::Predict => Value::new(model.predict_block(x.view())?),
        Method::PredictProba => Value::new(model.predict_proba_block(x.view())?),
        Method::Transform => Value::new(model.transform_block(x.view())?),
        Method::InverseTransform => Value::new(model.inverse_transform_block(x.view())?),
    })
}

impl<M: BlockModel> Op for ApplyModel<M> {
    const NAME: &'static str = M::APPLY_OP;
    // 2: the model may be the first input (`model: None`).
    const VERSION: u32 = 2;

    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let (model, v) = match &self.model {
            Some(m) => {
                expect_inputs(inputs, 1, Self::NAME)?;
                (m, &inputs[0])
            }
            None => {
                expect_inputs(inputs, 2, Self::NAME)?;
                let m = inputs[0].downcast_ref::<M>().ok_or_else(|| {
                    OpError::new(format!(
                        "expected a `{}` model as the first input, found `{}`",
                        short_type_name::<M>(),
                        inputs[0].type_name()
                    ))
                })?;
                (m, &inputs[1])
            }
        };
        let out = with_block!(v, |a| apply_to(model, self.method, a));
        out.map_err(|e| OpError::new(format!("{}: {e}", short_type_name::<M>())))
    }
}

/// The codec of a model type, so it can be a value in a graph (stored once and referenced by
/// key, or scattered to workers); its tag is the model's [`BlockModel::APPLY_OP`].
pub const fn model_codec<M: BlockModel>() -> rask_core::Codec {
    rask_core::Codec::serde::<M>(M::APPLY_OP)
}

fn check_chunked<M: BlockModel, F: Float>(model: &M, method: Method, x: &ChunkedArray<F>) -> Result<()> {
    if !model.supports(method) {
        return Err(unsupported::<M>(match method {
            Method::Predict => "predict",
            Method::PredictProba => "predict_proba",
            Method::Transform => "transform",
            Method::InverseTransform => "inverse_transform",
        }));
    }
    let expected = if method == Method::InverseTransform { model.n_features_out() } else { model.n_features_in() };
    check_n_features(expected, x.n_cols())
}

fn op_of<M: BlockModel>(model: &M, method: Method) -> ApplyModel<M> {
    ApplyModel::embedded(model.clone(), method)
}

// --- Predict -------------------------------------------------------------------------------

impl<'a, M: BlockModel, F: Float> Predict<ArrayView2<'a, F>> for M {
    type Output = Array1<M::Label>;
    fn predict(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        check_n_features(self.n_features_in(), x.ncols())?;
        guarded(self, Method::Predict, x, "", || self.predict_block(x))
    }
}

impl<'a, M: BlockModel, F: Float> Predict<&'a Array2<F>> for M {
    type Output = Array1<M::Label>;
    fn predict(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.predict(x.view())
    }
}

impl<'a, M: BlockModel, F: Float> Predict<&'a ChunkedArray<F>> for M {
    type Output = ChunkedVector<M::Label>;
    fn predict(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        check_chunked(self, Method::Predict, x)?;
        let layer = x.block_layer().map(op_of(self, Method::Predict), x.chunks().clone())?;
        Ok(ChunkedVector::from_block_layer(layer))
    }
}

// --- PredictProba ----------------------------------------------------------------------------

impl<'a, M: BlockModel, F: Float> PredictProba<ArrayView2<'a, F>> for M {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        check_n_features(self.n_features_in(), x.ncols())?;
        guarded(self, Method::PredictProba, x, "", || self.predict_proba_block(x))
    }
}

impl<'a, M: BlockModel, F: Float> PredictProba<&'a Array2<F>> for M {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.predict_proba(x.view())
    }
}

impl<'a, M: BlockModel, F: Float> PredictProba<&'a ChunkedArray<F>> for M {
    type Output = ChunkedArray<f64>;
    fn predict_proba(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        check_chunked(self, Method::PredictProba, x)?;
        let width = self.n_classes().ok_or_else(|| unsupported::<M>("predict_proba"))?;
        x.map_blocks(op_of(self, Method::PredictProba), width)
    }
}

// --- Transform / InverseTransform --------------------------------------------------------------

impl<'a, M: BlockModel, F: Float> Transform<ArrayView2<'a, F>> for M {
    type Output = Array2<F>;
    fn transform(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        check_n_features(self.n_features_in(), x.ncols())?;
        guarded(self, Method::Transform, x, "", || self.transform_block(x))
    }
}

impl<'a, M: BlockModel, F: Float> Transform<&'a Array2<F>> for M {
    type Output = Array2<F>;
    fn transform(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.transform(x.view())
    }
}

impl<'a, M: BlockModel, F: Float> Transform<&'a ChunkedArray<F>> for M {
    type Output = ChunkedArray<F>;
    fn transform(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        check_chunked(self, Method::Transform, x)?;
        x.map_blocks(op_of(self, Method::Transform), self.n_features_out())
    }
}

impl<'a, M: BlockModel, F: Float, Y: Element> Transform<&'a ChunkedDataset<F, Y>> for M {
    type Output = ChunkedDataset<F, Y>;
    /// Transforms the features; targets and weights stay as they are, aligned.
    fn transform(&self, ds: &'a ChunkedDataset<F, Y>) -> Result<Self::Output> {
        ds.with_x(self.transform(ds.x())?)
    }
}

impl<'a, M: BlockModel, F: Float> InverseTransform<ArrayView2<'a, F>> for M {
    type Output = Array2<F>;
    fn inverse_transform(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        check_n_features(self.n_features_out(), x.ncols())?;
        guarded(self, Method::InverseTransform, x, "", || self.inverse_transform_block(x))
    }
}

impl<'a, M: BlockModel, F: Float> InverseTransform<&'a Array2<F>> for M {
    type Output = Array2<F>;
    fn inverse_transform(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.inverse_transform(x.view())
    }
}

impl<'a, M: BlockModel, F: Float> InverseTransform<&'a ChunkedArray<F>> for M {
    type Output = ChunkedArray<F>;
    fn inverse_transform(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        check_chunked(self, Method::InverseTransform, x)?;
        x.map_blocks(op_of(self, Method::InverseTransform), self.n_features_in())
    }
}

// --- In-memory datasets ------------------------------------------------------------------------

/// An in-memory (X, y, weights) dataset. Fitting one wraps it into a [`ChunkedDataset`] of
/// blocks of [`Dataset::chunk_rows`] rows (fixed, not derived from the thread count, so the
/// result does not depend on the machine) and fits that.
#[derive(Clone, Debug)]
pub struct Dataset<F, Y = f64> {
    /// Features.
    pub x: Array2<F>,
    /// Targets, if any.
    pub y: Option<Array1<Y>>,
    /// Sample weights, if any.
    pub weights: Option<Array1<f64>>,
    /// Rows per block when the dataset is fitted through the task graph.
    pub chunk_rows: usize,
}

impl<F: Float, Y: Element> Dataset<F, Y> {
    /// Rows per block by default.
    pub const DEFAULT_CHUNK_ROWS: usize = 65_536;

    /// Features and targets.
    pub fn new(x: Array2<F>, y: Array1<Y>) -> Self {
        Dataset { x, y: Some(y), weights: None, chunk_rows: Self::DEFAULT_CHUNK_ROWS }
    }

    /// Features only.
    pub fn unlabelled(x: Array2<F>) -> Self {
        Dataset { x, y: None, weights: None, chunk_rows: Self::DEFAULT_CHUNK_ROWS }
    }

    /// Adds sample weights.
    pub fn with_weights(mut self, w: Array1<f64>) -> Self {
        self.weights = Some(w);
        self
    }

    /// Sets the rows per block.
    pub fn with_chunk_rows(mut self, chunk_rows: usize) -> Self {
        self.chunk_rows = chunk_rows;
        self
    }

    /// The dataset as a chunked one; lengths are checked.
    pub fn to_chunked(&self) -> Result<ChunkedDataset<F, Y>> {
        let x = ChunkedArray::from_array(self.x.view(), self.chunk_rows)?;
        let sizes = x.chunks().sizes().map(<[usize]>::to_vec).unwrap_or_default();
        let mut ds = match &self.y {
            None => ChunkedDataset::unlabelled(x),
            Some(y) => {
                check_len("y", self.x.nrows(), y.len())?;
                ChunkedDataset::new(x, ChunkedVector::from_array_with_chunks(y.view(), &sizes)?)?
            }
        };
        if let Some(w) = &self.weights {
            check_len("weights", self.x.nrows(), w.len())?;
            ds = ds.with_weights(ChunkedVector::from_array_with_chunks(w.view(), &sizes)?)?;
        }
        Ok(ds)
    }
}

fn check_len(what: &str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(MlError::ShapeMismatch { what: format!("length of {what} (rows of x)"), expected, found })
    }
}

impl<P, F, Y> Fit<Dataset<F, Y>> for P
where
    P: Fit<ChunkedDataset<F, Y>>,
    F: Float,
    Y: Element,
{
    type Model = P::Model;
    type Error = P::Error;
    fn fit(&self, data: &Dataset<F, Y>) -> Result<Self::Model, Self::Error> {
        self.fit(&data.to_chunked()?)
    }
}

impl<P, F> Fit<ChunkedArray<F>> for P
where
    P: Fit<ChunkedDataset<F, f64>>,
    F: Float,
{
    type Model = P::Model;
    type Error = P::Error;
    fn fit(&self, data: &ChunkedArray<F>) -> Result<Self::Model, Self::Error> {
        self.fit(&ChunkedDataset::unlabelled(data.clone()))
    }
}

impl<P, F> Fit<Array2<F>> for P
where
    P: Fit<ChunkedDataset<F, f64>>,
    F: Float,
{
    type Model = P::Model;
    type Error = P::Error;
    fn fit(&self, data: &Array2<F>) -> Result<Self::Model, Self::Error> {
        self.fit(&Dataset::<F, f64>::unlabelled(data.clone()).to_chunked()?)
    }
}

impl<P, F, Y> PartialFit<Dataset<F, Y>> for P
where
    P: PartialFit<ChunkedDataset<F, Y>>,
    F: Float,
    Y: Element,
{
    type Model = P::Model;
    type Error = P::Error;
    fn partial_fit(&self, model: Option<Self::Model>, data: &Dataset<F, Y>) -> Result<Self::Model, Self::Error> {
        self.partial_fit(model, &data.to_chunked()?)
    }
}

// --- Saving and loading ------------------------------------------------------------------------

// Model files live in `crate::persist`; these paths stay for compatibility.
pub use crate::persist::{from_bytes, load, save, to_bytes, Persist};
