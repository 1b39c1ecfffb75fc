//! The jobs behind `rask fit`, `rask predict` and `rask sweep`, as library functions.
//!
//! - [`fit`]: reads a dataset ([`DataSpec`]), builds the model of a [`ModelSpec`] (an
//!   estimator from the [catalog](crate::catalog), optionally after transformer steps), fits
//!   it on the current scheduler and saves a [`ModelFile`].
//! - [`predict`]: loads a [`ModelFile`] and streams predictions over a file or a folder of any
//!   size, one output file per input file (per block when a file spans several).
//! - [`sweep`]: a grid, randomized, Hyperband, successive-halving or ASHA search described by a
//!   [`SweepSpec`], with a leaderboard, the best model, `cv_results` as CSV and JSON, and a
//!   checkpoint it resumes from when run again.
//!
//! Every job runs on the default scheduler (set it with [`rask_core::with_scheduler`]), so the
//! same job runs on threads or on a cluster.

mod data;
mod model_file;
mod progress;
pub mod spec;
mod sweep;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rask_datasets::sink::{OutputFormat, Outputs, WriteOptions};
use rask_ml::params::SetParams;
use rask_ml::{BlockModel, ChunkedArray, ChunkedVector, Method, ModelKind, Predict, PredictProba, Score, Transform};

pub use data::{format_of, list_folder, load_for_predict, load_training, Features, PredictInput};
pub use model_file::{ModelFile, MODEL_FILE_MAGIC};
pub use progress::{run_step, RowsProgress, StepProgress};
pub use spec::{
    Column, DataFormat, DataSpec, FitSpec, ModelSpec, OutputSpec, SearchMethod, SearchSpec, StepSpec, SweepSpec,
};
pub use sweep::{sweep, SweepReport};

use crate::catalog::{
    lookup, visit_estimator, AnyTransformer, DynFitted, DynPipeline, FinalEstimator, FittedSteps, Steps, Target,
    Visitor,
};

/// The pipeline a [`ModelSpec`] describes, with `E` as its final step (given with its
/// defaults); parameters are checked by name.
pub fn build_pipeline<E: SetParams>(spec: &ModelSpec, estimator: E) -> Result<DynPipeline<E>> {
    let mut steps = Steps::new();
    let names = spec.step_names();
    for (s, name) in spec.steps.iter().zip(&names) {
        let mut t = AnyTransformer::by_name(&s.estimator).with_context(|| format!("step `{name}`"))?;
        for (p, v) in &s.params {
            t.set_param(p, v).with_context(|| format!("step `{name}` ({})", t.name()))?;
        }
        steps = steps.then(name.clone(), t);
    }
    let mut last = estimator;
    for (p, v) in &spec.params {
        last.set_param(p, v).with_context(|| format!("parameters of {}", spec.estimator))?;
    }
    let pipe = DynPipeline::from_parts(steps, spec.name.clone(), last);
    pipe.check_names().context("pipeline step names")?;
    Ok(pipe)
}

/// What [`fit`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// The estimator's catalog name.
    pub estimator: String,
    /// What it is.
    pub kind: ModelKind,
    /// Rows fitted on.
    pub rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Seconds of fitting (reading the data included: it is lazy).
    pub seconds: f64,
    /// The training score (accuracy, R²) for supervised models.
    pub score: Option<(String, f64)>,
    /// Where the model file went.
    pub output: PathBuf,
}

struct FitVisitor<'a> {
    spec: &'a FitSpec,
    output: &'a Path,
    progress: bool,
}

impl Visitor for FitVisitor<'_> {
    type Output = Result<FitReport>;

    fn visit<Y: Target, E: FinalEstimator<Y>>(self, name: &'static str, estimator: E) -> Result<FitReport> {
        let kind = <E as rask_ml::model_selection::Estimator>::KIND;
        let supervised = matches!(kind, ModelKind::Classifier | ModelKind::Regressor);
        let pipe = build_pipeline(&self.spec.model, estimator)?;
        let (ds, features) = data::load_training::<Y>(&self.spec.data, supervised, name)?;
        let start = Instant::now();
        let fitted = run_step(&format!("fit {name}"), self.progress, || {
            rask_ml::Fit::fit(&pipe, &ds).with_context(|| format!("fitting {name}"))
        })?;
        let seconds = start.elapsed().as_secs_f64();
        let rows = ds.x().n_rows().unwrap_or(0);
        let score = if supervised {
            let metric = if kind == ModelKind::Classifier { "accuracy" } else { "r2" };
            let score = run_step("score (training data)", self.progress, || {
                fitted.score(&ds).context("scoring on the training data")
            })?;
            Some((metric.to_string(), score))
        } else {
            None
        };
        let file = ModelFile::new::<Y, E::Fitted>(name, kind, &self.spec.model, features, &fitted)?;
        file.save(self.output)?;
        Ok(FitReport {
            estimator: name.to_string(),
            kind,
            rows,
            features: file.features.n,
            seconds,
            score,
            output: self.output.to_path_buf(),
        })
    }
}

/// Fits the model of `spec` on its data (on the default scheduler) and saves it to `output`.
pub fn fit(spec: &FitSpec, output: &Path) -> Result<FitReport> {
    fit_with_progress(spec, output, false)
}

/// [`fit`], with a progress spinner (or plain periodic lines when standard error is not a
/// terminal) for each step of the job: the fit, then the training score.
pub fn fit_with_progress(spec: &FitSpec, output: &Path, progress: bool) -> Result<FitReport> {
    lookup(&spec.model.estimator)?;
    visit_estimator(&spec.model.estimator, FitVisitor { spec, output, progress })?
}

/// What [`predict`] should write.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictSpec {
    /// The model file.
    pub model: PathBuf,
    /// A file or a folder of files.
    pub input: PathBuf,
    /// The input format (default: from the extensions).
    pub format: Option<DataFormat>,
    /// The output folder.
    pub output: PathBuf,
    /// The output format.
    pub output_format: OutputFormat,
    /// Also write class probabilities (classifiers with `predict_proba`).
    pub proba: bool,
    /// Rows per block (`.npy`, CSV).
    pub chunk_rows: usize,
    /// Draw progress (a bar on a terminal, periodic lines otherwise).
    pub progress: bool,
}

/// What [`predict`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictReport {
    /// Rows predicted.
    pub rows: u64,
    /// Input files read.
    pub inputs: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Wall-clock seconds, reading and writing included.
    pub seconds: f64,
}

struct PredictVisitor<'a> {
    spec: &'a PredictSpec,
    file: ModelFile,
}

fn add_predictions<Y: Target>(out: Outputs, v: &ChunkedVector<Y>) -> Result<Outputs> {
    // `Y` is i64 (labels) or f64 (values): the two `Target` types.
    if let Some(v) = (v as &dyn std::any::Any).downcast_ref::<ChunkedVector<i64>>() {
        return Ok(out.labels("predictions", v));
    }
    if let Some(v) = (v as &dyn std::any::Any).downcast_ref::<ChunkedVector<f64>>() {
        return Ok(out.values("predictions", v));
    }
    bail!("predictions of element type {} cannot be written", std::any::type_name::<Y>())
}

impl Visitor for PredictVisitor<'_> {
    type Output = Result<PredictReport>;

    fn visit<Y: Target, E: FinalEstimator<Y>>(self, name: &'static str, _: E) -> Result<PredictReport> {
        let start = Instant::now();
        let fitted: DynFitted<E::Fitted> = self.file.model::<E::Fitted>()?;
        let s = self.spec;
        let input = data::load_for_predict(&s.input, s.format, s.chunk_rows, &self.file.features)?;
        let x: &ChunkedArray<f64> = &input.x;
        let last = fitted.last();
        let mut out = Outputs::new();
        out = match self.file.kind()? {
            ModelKind::Transformer => out.matrix("transform", &Transform::transform(&fitted, x)?),
            _ => add_predictions(out, &Predict::predict(&fitted, x)?)?,
        };
        if s.proba {
            if !last.supports(Method::PredictProba) {
                bail!("{name} has no predict_proba; drop --proba");
            }
            out = out.matrix("proba", &PredictProba::predict_proba(&fitted, x)?);
        }
        let opts = WriteOptions::new(s.output_format).names(input.stems.clone());
        let mut compute = rask_core::ComputeOptions::new();
        if s.progress {
            let rows: Vec<usize> = x.chunks().sizes().map(|v| v.to_vec()).unwrap_or_default();
            compute = compute.callback(std::sync::Arc::new(RowsProgress::new("predict", rows)));
        }
        let summary = out
            .write_with(&s.output, &opts, &rask_core::default_scheduler(), &compute)
            .with_context(|| format!("writing predictions to {}", s.output.display()))?;
        Ok(PredictReport {
            rows: summary.rows,
            inputs: input.files.len(),
            files: summary.files,
            seconds: start.elapsed().as_secs_f64(),
        })
    }
}

/// Loads a model file and streams its predictions over `spec.input` (on the default
/// scheduler) to `spec.output`.
pub fn predict(spec: &PredictSpec) -> Result<PredictReport> {
    let file = ModelFile::load(&spec.model)?;
    let estimator = file.estimator.clone();
    visit_estimator(&estimator, PredictVisitor { spec, file })?
}

/// Wraps a model fitted on its own (by an adaptive search) as a pipeline without steps, the
/// form a model file holds.
pub fn lone<M>(name: &str, model: M) -> DynFitted<M> {
    DynFitted::from_parts(FittedSteps::empty(), name, model)
}
