//! Pipelines: named steps, transformers then a final estimator, fitted and used as one.
//!
//! ```
//! use rask_ml::pipeline::Pipeline;
//! # #[derive(Clone, Debug)] struct Scaler; #[derive(Clone, Debug)] struct Logistic;
//! // let pipe = Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
//! // let model = pipe.fit(&train)?;          // a FittedPipeline: one value, one model file
//! // let labels = model.predict(test.x())?;  // lazy, one fused task per block
//! let pipe = Pipeline::new("scaler", Scaler).then("logistic", Logistic);
//! assert_eq!(pipe.step_names(), ["scaler", "logistic"]);
//! ```
//!
//! A pipeline is a typed chain: `Pipeline<Head, Last>` is the pipeline of all steps but the
//! last (`Head`, `()` for none) followed by `Last`. So every step keeps its own type: the
//! fitted pipeline ([`FittedPipeline`]) holds each step's concrete fitted model, serialises
//! with serde into one model file, and predicts with the final model's own output types.
//!
//! - [`Fit`]: each step is fitted on the previous steps' output, a [`ChunkedDataset`] in and out,
//!   so targets and weights stay aligned without re-wrapping. Transformed data is lazy: the
//!   next step's passes compute it block by block (fused with the step's own block work).
//! - [`PartialFit`] where every step has it; [`Predict`], [`PredictProba`], [`Transform`] and
//!   [`Score`] where the final model has them, on in-memory arrays and on chunked data.
//! - [`SetParams`]: `"step__param"` reaches `param` of the step named `step`, with a clear
//!   error naming the bad path and listing the valid ones.
//! - Chunked prediction runs each step's registered `ApplyModel` op, one after the other per
//!   block; the scheduler fuses the chain into one task per block, and no pipeline-specific op
//!   needs registering.

use std::error::Error as StdError;

use ndarray::{Array1, Array2, ArrayView2, CowArray, Ix2};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::chunked::{ChunkedArray, ChunkedDataset, Element};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::params::{unknown_param, ParamValue, SetParams};
use crate::persist::Persist;
use crate::traits::{BlockModel, Fit, PartialFit, Predict, PredictProba, Score, Transform};

/// A pipeline: the steps `Head` (a pipeline, or `()` for none) then the final step `Last`.
/// Build it with [`Pipeline::new`] and [`then`](Pipeline::then).
///
/// # Parallelism and cost
///
/// Fitting runs the steps in order, each with its own graph computations; step `j` reads the
/// output of steps `1..j` lazily, so every pass it makes recomputes those transforms from the
/// input blocks, fused into its own block tasks (nothing between steps is persisted unless a
/// step persists its input, as the linear models do). Prediction is one fused task per block
/// for the whole chain.
///
/// # Compared with scikit-learn and dask-ml
///
/// Steps are typed and named; there is no `memory` cache and no `"passthrough"` step. In a
/// search, a prefix shared by candidates is fitted once per split (see
/// [`SearchCV`](crate::model_selection::SearchCV)), as dask-ml's searches do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pipeline<Head, Last> {
    head: Head,
    name: String,
    last: Last,
}

impl<L> Pipeline<(), L> {
    /// A pipeline of one step.
    pub fn new(name: impl Into<String>, step: L) -> Self {
        Pipeline { head: (), name: name.into(), last: step }
    }
}

impl<H: StepNames, L> Pipeline<H, L> {
    /// This pipeline followed by one more step, which becomes the final one.
    pub fn then<N>(self, name: impl Into<String>, step: N) -> Pipeline<Pipeline<H, L>, N> {
        Pipeline { head: self, name: name.into(), last: step }
    }

    /// The steps before the last.
    pub fn head(&self) -> &H {
        &self.head
    }

    /// The final step.
    pub fn last(&self) -> &L {
        &self.last
    }

    /// The final step's name.
    pub fn last_name(&self) -> &str {
        &self.name
    }

    /// Step names, first to last.
    pub fn step_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    /// Checks the step names: not empty, unique, and free of `__` (the path separator).
    pub fn check_names(&self) -> Result<()> {
        check_step_names(&self.step_names())
    }
}

fn check_step_names(names: &[String]) -> Result<()> {
    for (i, n) in names.iter().enumerate() {
        let bad = |message: String| MlError::InvalidParameter { name: "steps", message };
        if n.is_empty() {
            return Err(bad(format!("step {i} has an empty name")));
        }
        if n.contains("__") {
            return Err(bad(format!("step name `{n}` contains `__`, which separates step and parameter names")));
        }
        if names[..i].contains(n) {
            return Err(bad(format!("step name `{n}` is used twice")));
        }
    }
    Ok(())
}

/// The step names of a chain (`()` has none).
pub trait StepNames {
    /// Appends the names, first to last.
    fn collect_names(&self, out: &mut Vec<String>);
}

impl StepNames for () {
    fn collect_names(&self, _: &mut Vec<String>) {}
}

impl<H: StepNames, L> StepNames for Pipeline<H, L> {
    fn collect_names(&self, out: &mut Vec<String>) {
        self.head.collect_names(out);
        out.push(self.name.clone());
    }
}

impl<H: StepNames, M> StepNames for FittedPipeline<H, M> {
    fn collect_names(&self, out: &mut Vec<String>) {
        self.head.collect_names(out);
        out.push(self.name.clone());
    }
}

// --- Parameters by name ------------------------------------------------------------------------

impl SetParams for () {
    fn get_params(&self) -> Vec<(String, ParamValue)> {
        Vec::new()
    }

    fn set_param(&mut self, name: &str, _: &ParamValue) -> Result<()> {
        Err(unknown_param(name, &[]))
    }
}

impl<H: SetParams + StepNames, L: SetParams> SetParams for Pipeline<H, L> {
    fn get_params(&self) -> Vec<(String, ParamValue)> {
        let mut out = self.head.get_params();
        out.extend(self.last.get_params().into_iter().map(|(n, v)| (format!("{}__{n}", self.name), v)));
        out
    }

    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()> {
        let result = match name.split_once("__") {
            Some((step, rest)) if step == self.name => self.last.set_param(rest, value),
            Some(_) => self.head.set_param(name, value),
            None => Err(unknown_param(name, &[])),
        };
        match result {
            // Name the whole path and list every valid one, whichever step found the error.
            Err(MlError::UnknownParameter { .. }) => {
                let valid: Vec<String> = self.get_params().into_iter().map(|(n, _)| n).collect();
                let refs: Vec<&str> = valid.iter().map(String::as_str).collect();
                let mut err = unknown_param(name, &refs);
                if !name.contains("__") {
                    if let MlError::UnknownParameter { valid, .. } = &mut err {
                        *valid = format!("{valid} (a pipeline's parameters are `step__param`)");
                    }
                }
                Err(err)
            }
            Err(MlError::ParameterType { expected, found, .. }) => {
                Err(MlError::ParameterType { name: name.to_string(), expected, found })
            }
            other => other,
        }
    }
}

// --- Errors ----------------------------------------------------------------------------------

/// What a failed pipeline fit gives: the step that failed and its error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A step failed.
    #[error("pipeline step `{step}`: {source}")]
    Step {
        /// The step's name.
        step: String,
        /// Its error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
    /// Chunked data or the pipeline itself is wrong.
    #[error(transparent)]
    Ml(#[from] MlError),
}

fn step_err<E: StdError + Send + Sync + 'static>(step: &str) -> impl FnOnce(E) -> PipelineError + '_ {
    move |e| PipelineError::Step { step: step.to_string(), source: Box::new(e) }
}

// --- Fitting -----------------------------------------------------------------------------------

/// A fitted pipeline: each step's fitted model, in order. Serialisable, so
/// [`save`](crate::save) writes the whole pipeline to one model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline<Head, M> {
    head: Head,
    name: String,
    last: M,
}

impl<H: StepNames, M> FittedPipeline<H, M> {
    /// The fitted steps before the last.
    pub fn head(&self) -> &H {
        &self.head
    }

    /// The final fitted model.
    pub fn last(&self) -> &M {
        &self.last
    }

    /// Step names, first to last.
    pub fn step_names(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }
}

/// Steps that fit on a dataset and transform it for the next step: all but the last of a
/// pipeline. Implemented for `()` (no steps) and for pipelines whose every step's model
/// transforms.
pub trait TransformerChain<F: Float, Y: Element>: StepNames {
    /// The fitted steps.
    type Fitted: FittedChain;

    /// Fits every step and returns them with the data transformed by all of them (lazily).
    fn fit_transform_chain(
        &self,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<(Self::Fitted, ChunkedDataset<F, Y>), PipelineError>;
}

impl<F: Float, Y: Element> TransformerChain<F, Y> for () {
    type Fitted = ();

    fn fit_transform_chain(
        &self,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<((), ChunkedDataset<F, Y>), PipelineError> {
        Ok(((), ds.clone()))
    }
}

impl<F, Y, H, L> TransformerChain<F, Y> for Pipeline<H, L>
where
    F: Float,
    Y: Element,
    H: TransformerChain<F, Y>,
    L: Fit<ChunkedDataset<F, Y>>,
    L::Model: BlockModel,
{
    type Fitted = FittedPipeline<H::Fitted, L::Model>;

    fn fit_transform_chain(
        &self,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<(Self::Fitted, ChunkedDataset<F, Y>), PipelineError> {
        let (head, ds) = self.head.fit_transform_chain(ds)?;
        let last = self.last.fit(&ds).map_err(step_err(&self.name))?;
        let out = transform_dataset(&last, &ds).map_err(step_err(&self.name))?;
        Ok((FittedPipeline { head, name: self.name.clone(), last }, out))
    }
}

fn transform_dataset<M: BlockModel, F: Float, Y: Element>(
    model: &M,
    ds: &ChunkedDataset<F, Y>,
) -> Result<ChunkedDataset<F, Y>> {
    ds.with_x(model.transform(ds.x())?)
}

impl<F, Y, H, L> Fit<ChunkedDataset<F, Y>> for Pipeline<H, L>
where
    F: Float,
    Y: Element,
    H: TransformerChain<F, Y>,
    L: Fit<ChunkedDataset<F, Y>>,
{
    type Model = FittedPipeline<H::Fitted, L::Model>;
    type Error = PipelineError;

    fn fit(&self, ds: &ChunkedDataset<F, Y>) -> std::result::Result<Self::Model, PipelineError> {
        self.check_names()?;
        let (head, ds) = self.head.fit_transform_chain(ds)?;
        let last = self.last.fit(&ds).map_err(step_err(&self.name))?;
        Ok(FittedPipeline { head, name: self.name.clone(), last })
    }
}

/// A [`TransformerChain`] whose every step has [`PartialFit`].
pub trait PartialTransformerChain<F: Float, Y: Element>: TransformerChain<F, Y> {
    /// Updates every step (or starts them) with one more batch, returning the batch
    /// transformed by the updated steps.
    fn partial_fit_transform_chain(
        &self,
        fitted: Option<Self::Fitted>,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<(Self::Fitted, ChunkedDataset<F, Y>), PipelineError>;
}

impl<F: Float, Y: Element> PartialTransformerChain<F, Y> for () {
    fn partial_fit_transform_chain(
        &self,
        _: Option<()>,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<((), ChunkedDataset<F, Y>), PipelineError> {
        Ok(((), ds.clone()))
    }
}

impl<F, Y, H, L> PartialTransformerChain<F, Y> for Pipeline<H, L>
where
    F: Float,
    Y: Element,
    H: PartialTransformerChain<F, Y>,
    L: Fit<ChunkedDataset<F, Y>> + PartialFit<ChunkedDataset<F, Y>, Model = <L as Fit<ChunkedDataset<F, Y>>>::Model>,
    <L as Fit<ChunkedDataset<F, Y>>>::Model: BlockModel,
{
    fn partial_fit_transform_chain(
        &self,
        fitted: Option<Self::Fitted>,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<(Self::Fitted, ChunkedDataset<F, Y>), PipelineError> {
        let (head_model, last_model) = match fitted {
            Some(f) => (Some(f.head), Some(f.last)),
            None => (None, None),
        };
        let (head, ds) = self.head.partial_fit_transform_chain(head_model, ds)?;
        let last = self.last.partial_fit(last_model, &ds).map_err(step_err(&self.name))?;
        let out = transform_dataset(&last, &ds).map_err(step_err(&self.name))?;
        Ok((FittedPipeline { head, name: self.name.clone(), last }, out))
    }
}

impl<F, Y, H, L> PartialFit<ChunkedDataset<F, Y>> for Pipeline<H, L>
where
    F: Float,
    Y: Element,
    H: PartialTransformerChain<F, Y>,
    L: PartialFit<ChunkedDataset<F, Y>>,
{
    type Model = FittedPipeline<H::Fitted, L::Model>;
    type Error = PipelineError;

    fn partial_fit(
        &self,
        model: Option<Self::Model>,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<Self::Model, PipelineError> {
        self.check_names()?;
        let (head_model, last_model) = match model {
            Some(f) => (Some(f.head), Some(f.last)),
            None => (None, None),
        };
        let (head, ds) = self.head.partial_fit_transform_chain(head_model, ds)?;
        let last = self.last.partial_fit(last_model, &ds).map_err(step_err(&self.name))?;
        Ok(FittedPipeline { head, name: self.name.clone(), last })
    }
}

// --- Using a fitted pipeline ---------------------------------------------------------------------

/// Fitted steps that transform rows: `()` (identity) or a fitted pipeline whose final model
/// transforms.
pub trait FittedChain: StepNames + Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The number of input features (`None` for no steps).
    fn chain_n_features_in(&self) -> Option<usize>;
    /// Transforms in-memory rows through every step.
    fn transform_rows<'a, F: Float>(&self, x: CowArray<'a, F, Ix2>) -> Result<CowArray<'a, F, Ix2>>;
    /// Transforms chunked rows through every step (lazily, one task per block and step).
    fn transform_chunked<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>>;
}

impl FittedChain for () {
    fn chain_n_features_in(&self) -> Option<usize> {
        None
    }

    fn transform_rows<'a, F: Float>(&self, x: CowArray<'a, F, Ix2>) -> Result<CowArray<'a, F, Ix2>> {
        Ok(x)
    }

    fn transform_chunked<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        Ok(x.clone())
    }
}

impl<H: FittedChain, M: BlockModel> FittedChain for FittedPipeline<H, M> {
    fn chain_n_features_in(&self) -> Option<usize> {
        self.head.chain_n_features_in().or(Some(self.last.n_features_in()))
    }

    fn transform_rows<'a, F: Float>(&self, x: CowArray<'a, F, Ix2>) -> Result<CowArray<'a, F, Ix2>> {
        let x = self.head.transform_rows(x)?;
        Ok(CowArray::from(Transform::transform(&self.last, x.view())?))
    }

    fn transform_chunked<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        let x = self.head.transform_chunked(x)?;
        Transform::transform(&self.last, &x)
    }
}

impl<H: FittedChain, M: BlockModel> FittedPipeline<H, M> {
    /// The number of input features of the whole pipeline.
    pub fn n_features_in(&self) -> usize {
        self.head.chain_n_features_in().unwrap_or_else(|| self.last.n_features_in())
    }

    /// Rows transformed by every step but the last, ready for the final model.
    pub fn transform_head<'a, F: Float>(&self, x: ArrayView2<'a, F>) -> Result<CowArray<'a, F, Ix2>> {
        self.head.transform_rows(CowArray::from(x))
    }

    /// Chunked rows transformed by every step but the last.
    pub fn transform_head_chunked<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        self.head.transform_chunked(x)
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Predict<ArrayView2<'a, F>> for FittedPipeline<H, M> {
    type Output = Array1<M::Label>;
    fn predict(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        Predict::predict(&self.last, self.transform_head(x)?.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Predict<&'a Array2<F>> for FittedPipeline<H, M> {
    type Output = Array1<M::Label>;
    fn predict(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.predict(x.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Predict<&'a ChunkedArray<F>> for FittedPipeline<H, M> {
    type Output = crate::ChunkedVector<M::Label>;
    fn predict(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        Predict::predict(&self.last, &self.transform_head_chunked(x)?)
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> PredictProba<ArrayView2<'a, F>> for FittedPipeline<H, M> {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        PredictProba::predict_proba(&self.last, self.transform_head(x)?.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> PredictProba<&'a Array2<F>> for FittedPipeline<H, M> {
    type Output = Array2<f64>;
    fn predict_proba(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        self.predict_proba(x.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> PredictProba<&'a ChunkedArray<F>> for FittedPipeline<H, M> {
    type Output = ChunkedArray<f64>;
    fn predict_proba(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        PredictProba::predict_proba(&self.last, &self.transform_head_chunked(x)?)
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Transform<ArrayView2<'a, F>> for FittedPipeline<H, M> {
    type Output = Array2<F>;
    fn transform(&self, x: ArrayView2<'a, F>) -> Result<Self::Output> {
        Transform::transform(&self.last, self.transform_head(x)?.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Transform<&'a Array2<F>> for FittedPipeline<H, M> {
    type Output = Array2<F>;
    fn transform(&self, x: &'a Array2<F>) -> Result<Self::Output> {
        Transform::transform(self, x.view())
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float> Transform<&'a ChunkedArray<F>> for FittedPipeline<H, M> {
    type Output = ChunkedArray<F>;
    fn transform(&self, x: &'a ChunkedArray<F>) -> Result<Self::Output> {
        Transform::transform(&self.last, &self.transform_head_chunked(x)?)
    }
}

impl<'a, H: FittedChain, M: BlockModel, F: Float, Y: Element> Transform<&'a ChunkedDataset<F, Y>>
    for FittedPipeline<H, M>
{
    type Output = ChunkedDataset<F, Y>;
    fn transform(&self, ds: &'a ChunkedDataset<F, Y>) -> Result<Self::Output> {
        ds.with_x(Transform::transform(self, ds.x())?)
    }
}

impl<H: FittedChain, M: BlockModel, F: Float> Score<ChunkedDataset<F, M::Label>> for FittedPipeline<H, M> {
    fn score(&self, ds: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        Score::score(&self.last, &ds.with_x(self.transform_head_chunked(ds.x())?)?)
    }
}

// --- Steps chosen at run time ------------------------------------------------------------------

/// A head of any number of steps of one type `T`, chosen at run time (a command line's or a
/// configuration file's list of steps), where `Pipeline::new(..).then(..)` fixes the number
/// of steps in the type. `T` is typically an enum over several transformers.
///
/// `Pipeline::from_parts(steps, "model", estimator)` puts it before a final estimator; its
/// parameters are `step__param` as in any pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Steps<T> {
    steps: Vec<(String, T)>,
}

impl<T> Default for Steps<T> {
    fn default() -> Self {
        Steps { steps: Vec::new() }
    }
}

impl<T> Steps<T> {
    /// No steps.
    pub fn new() -> Self {
        Self::default()
    }

    /// These steps followed by `step`, named `name`.
    pub fn then(mut self, name: impl Into<String>, step: T) -> Self {
        self.steps.push((name.into(), step));
        self
    }

    /// The steps, first to last.
    pub fn steps(&self) -> &[(String, T)] {
        &self.steps
    }

    /// The number of steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no steps.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl<T> StepNames for Steps<T> {
    fn collect_names(&self, out: &mut Vec<String>) {
        out.extend(self.steps.iter().map(|(n, _)| n.clone()));
    }
}

impl<T: SetParams> SetParams for Steps<T> {
    fn get_params(&self) -> Vec<(String, ParamValue)> {
        let mut out = Vec::new();
        for (name, step) in &self.steps {
            out.extend(step.get_params().into_iter().map(|(n, v)| (format!("{name}__{n}"), v)));
        }
        out
    }

    fn set_param(&mut self, name: &str, value: &ParamValue) -> Result<()> {
        if let Some((step, rest)) = name.split_once("__") {
            if let Some((_, s)) = self.steps.iter_mut().find(|(n, _)| n == step) {
                return s.set_param(rest, value);
            }
        }
        let valid: Vec<String> = self.get_params().into_iter().map(|(n, _)| n).collect();
        let refs: Vec<&str> = valid.iter().map(String::as_str).collect();
        Err(unknown_param(name, &refs))
    }
}

impl<F, Y, T> TransformerChain<F, Y> for Steps<T>
where
    F: Float,
    Y: Element,
    T: Fit<ChunkedDataset<F, Y>>,
    T::Model: BlockModel,
{
    type Fitted = FittedSteps<T::Model>;

    fn fit_transform_chain(
        &self,
        ds: &ChunkedDataset<F, Y>,
    ) -> std::result::Result<(Self::Fitted, ChunkedDataset<F, Y>), PipelineError> {
        check_step_names(&self.steps.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())?;
        let mut ds = ds.clone();
        let mut fitted = Vec::with_capacity(self.steps.len());
        for (name, step) in &self.steps {
            let model = step.fit(&ds).map_err(step_err(name))?;
            ds = transform_dataset(&model, &ds).map_err(step_err(name))?;
            fitted.push((name.clone(), model));
        }
        Ok((FittedSteps { steps: fitted }, ds))
    }
}

/// Fitted [`Steps`]: each step's model, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FittedSteps<M> {
    steps: Vec<(String, M)>,
}

impl<M> FittedSteps<M> {
    /// No steps (the head of a lone model saved as a pipeline).
    pub fn empty() -> Self {
        FittedSteps { steps: Vec::new() }
    }

    /// The fitted steps, first to last.
    pub fn steps(&self) -> &[(String, M)] {
        &self.steps
    }
}

impl<M> StepNames for FittedSteps<M> {
    fn collect_names(&self, out: &mut Vec<String>) {
        out.extend(self.steps.iter().map(|(n, _)| n.clone()));
    }
}

impl<M: BlockModel> FittedChain for FittedSteps<M> {
    fn chain_n_features_in(&self) -> Option<usize> {
        self.steps.first().map(|(_, m)| m.n_features_in())
    }

    fn transform_rows<'a, F: Float>(&self, mut x: CowArray<'a, F, Ix2>) -> Result<CowArray<'a, F, Ix2>> {
        for (_, m) in &self.steps {
            x = CowArray::from(Transform::transform(m, x.view())?);
        }
        Ok(x)
    }

    fn transform_chunked<F: Float>(&self, x: &ChunkedArray<F>) -> Result<ChunkedArray<F>> {
        let mut x = x.clone();
        for (_, m) in &self.steps {
            x = Transform::transform(m, &x)?;
        }
        Ok(x)
    }
}

impl<H, L> Pipeline<H, L> {
    /// A pipeline from its head (a [`Steps`], a pipeline or `()`), the final step's name and
    /// the final step.
    pub fn from_parts(head: H, name: impl Into<String>, last: L) -> Self {
        Pipeline { head, name: name.into(), last }
    }

    /// The final step, to change it.
    pub fn last_mut(&mut self) -> &mut L {
        &mut self.last
    }
}

impl<H, M> FittedPipeline<H, M> {
    /// A fitted pipeline from its fitted head, the final step's name and its model (a model
    /// fitted on its own, e.g. by an adaptive search, with `FittedSteps::empty()`).
    pub fn from_parts(head: H, name: impl Into<String>, last: M) -> Self {
        FittedPipeline { head, name: name.into(), last }
    }

    /// The final step's name.
    pub fn last_name(&self) -> &str {
        &self.name
    }
}

// --- Model files -------------------------------------------------------------------------------

impl<H: Persist, L: Persist> Persist for Pipeline<H, L> {
    fn tag() -> String {
        format!("rask.ml.Pipeline/1<{},{}>", H::tag(), L::tag())
    }
}

impl<T: Persist> Persist for Steps<T> {
    fn tag() -> String {
        format!("rask.ml.Steps/1<{}>", T::tag())
    }
}

impl<H: Persist, M: Persist> Persist for FittedPipeline<H, M> {
    fn tag() -> String {
        format!("rask.ml.FittedPipeline/1<{},{}>", H::tag(), M::tag())
    }

    /// Every step's model is consistent.
    fn validate(&self) -> Result<()> {
        self.head.validate()?;
        self.last
            .validate()
            .map_err(|e| MlError::InvalidModel { model: format!("step `{}`", self.name), message: e.to_string() })
    }
}

impl<M: Persist> Persist for FittedSteps<M> {
    fn tag() -> String {
        format!("rask.ml.FittedSteps/1<{}>", M::tag())
    }

    /// Every step's model is consistent.
    fn validate(&self) -> Result<()> {
        for (name, m) in &self.steps {
            m.validate()
                .map_err(|e| MlError::InvalidModel { model: format!("step `{name}`"), message: e.to_string() })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Default, PartialEq)]
    struct P {
        alpha: f64,
        on: bool,
    }
    crate::impl_set_params!(P, |p| { "alpha" => p.alpha, "on" => p.on });

    #[test]
    fn parameters_route_by_step_name() {
        let mut pipe = Pipeline::new("a", P::default()).then("b", P::default());
        pipe.set_param("b__alpha", &ParamValue::Float(2.0)).unwrap();
        pipe.set_param("a__on", &ParamValue::Bool(true)).unwrap();
        assert_eq!(pipe.last().alpha, 2.0);
        assert!(pipe.head().last().on);
        let names: Vec<String> = pipe.get_params().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a__alpha", "a__on", "b__alpha", "b__on"]);
    }

    #[test]
    fn bad_paths_name_the_path_and_list_valid_ones() {
        let mut pipe = Pipeline::new("a", P::default()).then("b", P::default());
        for bad in ["c__alpha", "b__alpah", "alpha"] {
            let e = pipe.set_param(bad, &ParamValue::Float(1.0)).unwrap_err().to_string();
            assert!(e.contains(&format!("unknown parameter `{bad}`")), "{e}");
            assert!(e.contains("a__alpha, a__on, b__alpha, b__on"), "{e}");
        }
        let e = pipe.set_param("b__on", &ParamValue::Float(1.0)).unwrap_err().to_string();
        assert_eq!(e, "parameter `b__on` expects a boolean, got a float (1.0)");
    }

    #[test]
    fn steps_chosen_at_run_time_route_parameters_like_a_typed_pipeline() {
        let steps = Steps::new().then("a", P::default()).then("b", P::default());
        let mut pipe = Pipeline::from_parts(steps, "c", P::default());
        pipe.set_param("b__alpha", &ParamValue::Float(2.0)).unwrap();
        pipe.set_param("c__on", &ParamValue::Bool(true)).unwrap();
        assert_eq!(pipe.head().steps()[1].1.alpha, 2.0);
        assert!(pipe.last().on);
        assert_eq!(pipe.step_names(), ["a", "b", "c"]);
        let e = pipe.set_param("d__alpha", &ParamValue::Float(1.0)).unwrap_err().to_string();
        assert!(e.contains("a__alpha, a__on, b__alpha, b__on, c__alpha, c__on"), "{e}");
        let twice = Pipeline::from_parts(Steps::new().then("a", P::default()), "a", P::default());
        assert!(twice.check_names().unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn step_names_are_checked() {
        assert!(Pipeline::new("a", ()).then("a", ()).check_names().unwrap_err().to_string().contains("twice"));
        assert!(Pipeline::new("a__b", ()).check_names().unwrap_err().to_string().contains("`__`"));
        assert!(Pipeline::new("", ()).check_names().is_err());
    }
}
