//! The end-to-end demo behind `cargo run --release`: a multi-million-row chunked dataset
//! through scaling, PCA, k-means, logistic regression (with a naive Bayes baseline), batch
//! prediction, a Hyperband sweep over SGD and a `ParallelPostFit` batch prediction job that
//! writes its labels to files, every step a task graph on the threaded scheduler; then PNG plots
//! of the clusters, the explained variance and the sweep's learning curves.
//!
//! [`run`] is a library function so the same pipeline is tested at small size; the CLI prints
//! its [`StepReport`]s as a table.

use std::path::PathBuf;
use std::time::Instant;

use crate::jobs::StepProgress;
use rask_core::Scheduler;
use rask_datasets::generators::{make_classification, ClassificationParams};
use rask_estimators::cluster::{KMeansInit, KMeansParams};
use rask_estimators::decomposition::{PcaParams, PcaSolver};
use rask_estimators::linear_model::sgd::SgdClassifierParams;
use rask_estimators::linear_model::{LogisticRegressionParams, Solver};
use rask_estimators::naive_bayes::GaussianNBParams;
use rask_estimators::preprocessing::StandardScalerParams;
use rask_ml::metrics::Scorer;
use rask_ml::model_selection::{AdaptiveResult, HyperbandSearchCV};
use rask_ml::params::{Distribution, ParameterSampler};
use rask_ml::{
    train_test_split, BlockLayer, ChunkedArray, ChunkedDataset, ChunkedVector, Fit, Predict, Score, TestSize, Transform,
};

/// What the pipeline runs on.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineConfig {
    /// Rows generated (train and test together).
    pub rows: usize,
    /// Features per row.
    pub features: usize,
    /// Rows per block.
    pub chunk_rows: usize,
    /// Principal components kept.
    pub components: usize,
    /// Clusters found by k-means.
    pub clusters: usize,
    /// The share of rows held out for testing.
    pub test_fraction: f64,
    /// Seed of the data and of every randomised step.
    pub seed: u64,
    /// Whether to draw progress bars (on standard error, when it is a terminal).
    pub progress: bool,
    /// The Hyperband sweep's `max_iter`: the most `partial_fit` calls (blocks) one model gets.
    pub sweep_max_iter: u64,
    /// Where the batch prediction job writes its files and the plots are drawn (`None`: the
    /// predictions are only scored and no plot is drawn).
    pub out_dir: Option<PathBuf>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            rows: 2_000_000,
            features: 20,
            chunk_rows: 100_000,
            components: 10,
            clusters: 8,
            test_fraction: 0.2,
            seed: 42,
            progress: true,
            sweep_max_iter: 27,
            out_dir: None,
        }
    }
}

impl PipelineConfig {
    /// Checks the configuration.
    pub fn check(&self) -> Result<(), String> {
        if self.rows < 100 {
            return Err(format!("rows must be at least 100, got {}", self.rows));
        }
        if self.features < 4 {
            return Err(format!("features must be at least 4, got {}", self.features));
        }
        if self.chunk_rows == 0 {
            return Err("chunk_rows must be positive".into());
        }
        if self.components == 0 || self.components > self.features {
            return Err(format!("components must be in 1..={}, got {}", self.features, self.components));
        }
        if self.clusters < 2 {
            return Err(format!("clusters must be at least 2, got {}", self.clusters));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(format!("test_fraction must be in (0, 1), got {}", self.test_fraction));
        }
        if self.sweep_max_iter < 3 {
            return Err(format!("sweep_max_iter must be at least 3, got {}", self.sweep_max_iter));
        }
        Ok(())
    }
}

/// One row of the pipeline's report.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The step.
    pub step: String,
    /// Wall-clock time.
    pub seconds: f64,
    /// Graph computations the step ran.
    pub computations: u64,
    /// Tasks those computations ran.
    pub tasks: u64,
    /// What the step found (scores, sizes).
    pub result: String,
    /// Peak resident memory of the process so far, in MB (Linux only).
    pub peak_rss_mb: Option<f64>,
}

/// The headline numbers of a run, for tests and the summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineSummary {
    /// Every step, in order.
    pub steps: Vec<StepReport>,
    /// Test accuracy of the logistic regression on scaled features.
    pub logistic_accuracy: f64,
    /// Test accuracy of Gaussian naive Bayes on the same features.
    pub naive_bayes_accuracy: f64,
    /// Share of variance the kept components explain.
    pub explained_variance: f64,
    /// k-means inertia per training row.
    pub inertia_per_row: f64,
    /// Rows predicted by the batch-prediction step.
    pub predicted_rows: usize,
    /// Models the Hyperband sweep trained.
    pub sweep_models: usize,
    /// `partial_fit` calls the sweep made.
    pub sweep_calls: u64,
    /// The sweep's best validation accuracy.
    pub sweep_best_score: f64,
    /// Test accuracy of the in-memory (smartcore) decision tree run over the blocks by `ParallelPostFit`.
    pub parallel_post_fit_accuracy: f64,
    /// The files the batch prediction job wrote (empty without an output folder).
    pub prediction_files: Vec<PathBuf>,
    /// The PNG plots drawn (empty without an output folder).
    pub plots: Vec<PathBuf>,
}

/// Runs the steps, timing each on `scheduler` (with a progress line), and reports them.
struct Runner<'a> {
    cfg: &'a PipelineConfig,
    scheduler: &'a Scheduler,
    steps: Vec<StepReport>,
    on_step: &'a mut dyn FnMut(&StepReport),
}

impl Runner<'_> {
    fn step<T>(
        &mut self,
        name: &str,
        f: impl FnOnce() -> StepResult<T>,
        describe: impl FnOnce(&T) -> String,
    ) -> Result<T, PipelineError> {
        let progress = StepProgress::new(name, self.cfg.progress);
        let s = self.scheduler.with_callback(progress.clone());
        let t = Instant::now();
        let out = rask_core::with_scheduler(&s, f);
        progress.finish(out.is_ok());
        let out = out.map_err(|source| PipelineError::Step { step: name.to_string(), source })?;
        let report = StepReport {
            step: name.to_string(),
            seconds: t.elapsed().as_secs_f64(),
            computations: progress.computations(),
            tasks: progress.tasks(),
            result: describe(&out),
            peak_rss_mb: peak_rss_mb(),
        };
        (self.on_step)(&report);
        self.steps.push(report);
        Ok(out)
    }
}

/// Why a step failed: whatever error its code met (an estimator's, the scheduler's, a file's).
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

type StepResult<T> = Result<T, StepError>;

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The configuration was refused before anything ran.
    #[error("invalid pipeline configuration: {0}")]
    Config(String),
    /// A step failed; `source` says why.
    #[error("step `{step}`")]
    Step {
        /// The step's name, as in its report.
        step: String,
        /// The error the step met.
        #[source]
        source: StepError,
    },
}

/// Runs the pipeline on `scheduler`, calling `on_step` after each step.
pub fn run(
    cfg: &PipelineConfig,
    scheduler: &Scheduler,
    on_step: &mut dyn FnMut(&StepReport),
) -> Result<PipelineSummary, PipelineError> {
    cfg.check().map_err(|e| PipelineError::Config(e.to_string()))?;
    let mut r = Runner { cfg, scheduler, steps: Vec::new(), on_step };

    // 1. Generate and split. The dataset is generated block by block from per-block seeds; the
    //    split is blockwise-shuffled; both sides are persisted (held in memory once).
    let (train, test) = r.step(
        "generate + split",
        || {
            let mut p = ClassificationParams::new();
            p.n_samples = cfg.rows;
            p.n_features = cfg.features;
            p.n_informative = cfg.features / 2;
            p.n_redundant = cfg.features / 4;
            p.n_classes = 3;
            p.class_sep = 1.5;
            p.shift = (3.0).into();
            p.scale = (10.0).into();
            p.seed = cfg.seed;
            p.chunk_rows = cfg.chunk_rows;
            let data = make_classification(&p)?;
            let (train, test) = train_test_split(&data, TestSize::Fraction(cfg.test_fraction), cfg.seed)?;
            // Both sides in one computation, so each generated block is made once.
            let layers = [
                train.x().block_layer(),
                train.y_required("the pipeline")?.block_layer(),
                test.x().block_layer(),
                test.y_required("the pipeline")?.block_layer(),
            ];
            let mut done = BlockLayer::persist_together(&layers, &rask_core::default_scheduler())?.into_iter();
            let mut next = || done.next().ok_or_else(|| StepError::from("a persisted layer is missing"));
            let train = ChunkedDataset::new(
                ChunkedArray::from_block_layer(next()?, cfg.features),
                ChunkedVector::from_block_layer(next()?),
            )?;
            let test = ChunkedDataset::new(
                ChunkedArray::from_block_layer(next()?, cfg.features),
                ChunkedVector::from_block_layer(next()?),
            )?;
            Ok((train, test))
        },
        |(train, test): &(ChunkedDataset<f64, i64>, ChunkedDataset<f64, i64>)| {
            format!(
                "{} train + {} test rows × {}, {} + {} blocks",
                train.x().n_rows().unwrap_or(0),
                test.x().n_rows().unwrap_or(0),
                cfg.features,
                train.n_blocks(),
                test.n_blocks()
            )
        },
    )?;

    // 2. Scale: one pass of mergeable column statistics; the scaled training set replaces the
    //    raw one in memory.
    let raw_train = train;
    let (scaler, train) = r.step(
        "StandardScaler",
        move || {
            let scaler = StandardScalerParams::new().fit(&raw_train)?;
            let x = scaler.transform(raw_train.x())?.persist()?;
            let y = raw_train.y_required("the pipeline")?.clone();
            // The raw training blocks are dropped here, when `raw_train` goes.
            Ok((scaler, ChunkedDataset::new(x, y)?))
        },
        |(s, _)| {
            format!(
                "mean |μ| {:.2}, mean σ {:.2}",
                s.mean.mapv(f64::abs).mean().unwrap_or(0.0),
                s.scale.mean().unwrap_or(0.0)
            )
        },
    )?;

    // 3. PCA by randomized SVD (power iterations), each pass a tree reduction over blocks.
    let pca = r.step(
        &format!("PCA ({} of {}, randomized)", cfg.components, cfg.features),
        || Ok(PcaParams::new(cfg.components).solver(PcaSolver::randomized()).seed(cfg.seed).fit(&train)?),
        |p| format!("explained variance {:.1}%", 100.0 * p.explained_variance_ratio.sum()),
    )?;

    // 4. k-means|| on the projected rows (persisted: every Lloyd iteration reads them).
    let n_train = train.x().n_rows().unwrap_or(0);
    let kmeans = r.step(
        &format!("KMeans (k={}, k-means||)", cfg.clusters),
        || {
            let z = pca.transform(train.x())?.persist()?;
            Ok(KMeansParams::new(cfg.clusters)
                .init(KMeansInit::k_means_parallel())
                .max_iter(100)
                .seed(cfg.seed)
                .fit(&z)?)
        },
        |k| format!("{} iterations, inertia/row {:.3}", k.n_iter, k.inertia / n_train.max(1) as f64),
    )?;

    // 5. Multinomial logistic regression by L-BFGS on the scaled features.
    let logistic = r.step(
        "LogisticRegression (lbfgs)",
        || Ok(LogisticRegressionParams::new().solver(Solver::Lbfgs).max_iter(200).tol(1e-6).fit(&train)?),
        |m| format!("{} iterations, converged: {}", m.n_iter, m.converged),
    )?;

    // 6. A naive Bayes baseline: one reduction of per-class moments.
    let nb = r.step(
        "GaussianNB (baseline)",
        || Ok(GaussianNBParams::new().fit(&train)?),
        |m| format!("{} classes", m.classes.len()),
    )?;

    // 7. Batch prediction on the held-out rows: scale, then predict, block by block, streamed
    //    into accuracy counts (nothing but counts is gathered).
    // Lazy: the scaling runs inside the steps that use it.
    let scaled_test = (|| -> StepResult<_> {
        Ok(ChunkedDataset::new(scaler.transform(test.x())?, test.y_required("the pipeline")?.clone())?)
    })()
    .map_err(|source| PipelineError::Step { step: "batch predict + score (test)".into(), source })?;
    let (logistic_accuracy, naive_bayes_accuracy, predicted_rows) = r.step(
        "batch predict + score (test)",
        || {
            let acc = logistic.score(&scaled_test)?;
            let y = scaled_test.y_required("the pipeline")?;
            let nb_acc = Scorer::Accuracy.score_labels(y, &nb.predict(scaled_test.x())?)?;
            Ok((acc, nb_acc, test.x().n_rows().unwrap_or(0)))
        },
        |(a, b, n)| format!("{n} rows: logistic accuracy {a:.4}, naive Bayes {b:.4}"),
    )?;

    // 8. A Hyperband sweep over SGD's loss, penalty and regularisation on a sample of the
    //    training rows: one `partial_fit` call trains a model on one block; brackets of models
    //    race, the better third kept at each rung. Every round is one graph of all live models'
    //    calls.
    let space = ParameterSampler::new(1, cfg.seed)
        .add("alpha", Distribution::log_uniform(1e-6, 1e-1))
        .add("loss", Distribution::choice(["hinge", "log_loss", "modified_huber"]))
        .add("penalty", Distribution::choice(["l2", "l1"]));
    let sweep: AdaptiveResult<_> = r.step(
        &format!("Hyperband sweep (SGD, max_iter {})", cfg.sweep_max_iter),
        || {
            // The first 200,000 training rows in 20 blocks: a partial_fit call is 10,000 rows.
            let n = SWEEP_ROWS.min(train.x().n_rows().unwrap_or(0));
            let chunk = (n / 20).max(1);
            let sample = ChunkedDataset::new(
                train.x().slice_rows(0, n)?.rechunk(chunk)?,
                train.y_required("the pipeline")?.slice_rows(0, n)?.rechunk(chunk)?,
            )?
            .persist()?;
            let hyperband =
                HyperbandSearchCV::new(SgdClassifierParams::new().classes(vec![0, 1, 2]), space, cfg.sweep_max_iter);
            Ok(hyperband.search()?.seed(cfg.seed).fit(&sample)?)
        },
        |s| {
            format!(
                "{} models, {} partial_fit calls, best accuracy {:.4} ({})",
                s.models.len(),
                s.partial_fit_calls,
                s.best_score,
                describe_params(&s.best_params)
            )
        },
    )?;

    // 9. Bring your own model: a smartcore decision tree trained in memory on a sample, run over the
    //    held-out blocks by `ParallelPostFit` (the model stored once in the graph); the labels
    //    are written to one `.npy` file per block.
    let ppf_name = "ParallelPostFit batch predict";
    let (parallel_post_fit_accuracy, prediction_files) = r.step(
        ppf_name,
        || parallel_post_fit(cfg, &train, &scaled_test),
        |(acc, files)| match files.len() {
            0 => format!("smartcore decision tree trained on {SAMPLE_ROWS} rows: accuracy {acc:.4}"),
            n => format!("smartcore tree trained on {SAMPLE_ROWS} rows: accuracy {acc:.4}, labels in {n} .npy files"),
        },
    )?;

    // 10. Plots.
    let mut plots = Vec::new();
    if let Some(dir) = &cfg.out_dir {
        plots = r.step(
            "plots",
            || draw_plots(cfg, dir, &train, &pca, &kmeans, &sweep),
            |p| format!("{} PNG files", p.len()),
        )?;
    }

    Ok(PipelineSummary {
        steps: r.steps,
        logistic_accuracy,
        naive_bayes_accuracy,
        explained_variance: pca.explained_variance_ratio.sum(),
        inertia_per_row: kmeans.inertia / n_train.max(1) as f64,
        predicted_rows,
        sweep_models: sweep.models.len(),
        sweep_calls: sweep.partial_fit_calls,
        sweep_best_score: sweep.best_score,
        parallel_post_fit_accuracy,
        prediction_files,
        plots,
    })
}

/// `alpha=1.2e-4, loss=hinge, …` for a sampled candidate.
fn describe_params(p: &rask_ml::params::Candidate) -> String {
    use rask_ml::params::ParamValue;
    p.iter()
        .map(|(k, v)| match v {
            ParamValue::Float(f) => format!("{k}={f:.3e}"),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows of the training set the Hyperband sweep runs on.
const SWEEP_ROWS: usize = 200_000;

/// Rows of the training set the in-memory models see (a decision tree, the cluster plot).
const SAMPLE_ROWS: usize = 20_000;

/// Trains a smartcore decision tree in memory on the first rows of `train`, then predicts `test`
/// block by block with `ParallelPostFit`: accuracy, and the label files when there is an output
/// folder.
#[cfg(feature = "smartcore")]
fn parallel_post_fit(
    cfg: &PipelineConfig,
    train: &ChunkedDataset<f64, i64>,
    test: &ChunkedDataset<f64, i64>,
) -> StepResult<(f64, Vec<PathBuf>)> {
    use rask_datasets::sink::{OutputFormat, Outputs, WriteOptions};
    use rask_ml::adapters::smartcore::SmartcoreDecisionTreeClassifierParams;
    use rask_ml::model::ModelParams;
    use rask_ml::wrappers::ParallelPostFit;

    let n = SAMPLE_ROWS.min(train.x().n_rows().unwrap_or(0));
    let x = train.x().slice_rows(0, n)?.compute()?;
    let y = train.y_required("the pipeline")?.slice_rows(0, n)?.compute()?;
    // smartcore's tree, seeded: linfa's tree sums class counts in `HashMap` order, so its refits
    // can differ (see `rask_ml::adapters::linfa`), and the demo gives the same answer every run.
    let tree = SmartcoreDecisionTreeClassifierParams { max_depth: Some(10), seed: cfg.seed, ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)?;
    let ppf = ParallelPostFit::new(tree)?;
    let accuracy = ppf.score(test)?;
    let mut files = Vec::new();
    if let Some(dir) = &cfg.out_dir {
        let labels = ppf.predict(test.x())?;
        let dir = dir.join("predictions");
        // A previous run's files (possibly more blocks) must not be mistaken for this run's.
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let written = Outputs::new().labels("label", &labels).write(
            &dir,
            &WriteOptions::new(OutputFormat::Npy),
            &rask_core::default_scheduler(),
        )?;
        files = written.files;
    }
    Ok((accuracy, files))
}

#[cfg(not(feature = "smartcore"))]
fn parallel_post_fit(
    _cfg: &PipelineConfig,
    _train: &ChunkedDataset<f64, i64>,
    _test: &ChunkedDataset<f64, i64>,
) -> StepResult<(f64, Vec<PathBuf>)> {
    Err("the ParallelPostFit step trains a smartcore model: build with the `smartcore` feature (on by default)".into())
}

/// The clusters on the first two principal components, the explained variance and the sweep's
/// learning curves, as PNG files in `dir`.
fn draw_plots<S>(
    cfg: &PipelineConfig,
    dir: &std::path::Path,
    train: &ChunkedDataset<f64, i64>,
    pca: &rask_estimators::decomposition::Pca,
    kmeans: &rask_estimators::cluster::KMeans,
    sweep: &AdaptiveResult<S>,
) -> StepResult<Vec<PathBuf>> {
    use crate::plots;
    std::fs::create_dir_all(dir)?;
    let n = 20_000.min(train.x().n_rows().unwrap_or(0));
    let z = pca.transform(&train.x().slice_rows(0, n)?)?.persist()?;
    let labels = kmeans.predict(&z)?.compute()?;
    let z = z.compute()?;
    let points: Vec<[f64; 2]> = z.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let centres: Vec<[f64; 2]> = kmeans.cluster_centers.rows().into_iter().map(|c| [c[0], c[1]]).collect();

    let clusters = dir.join("clusters_pca.png");
    plots::clusters(
        &clusters,
        &format!("k-means (k = {}): {n} training rows on the first two principal components", cfg.clusters),
        ("PC1", "PC2"),
        &points,
        &labels,
        &centres,
    )?;
    let variance = dir.join("explained_variance.png");
    plots::explained_variance(
        &variance,
        &format!("PCA: {} of {} components", cfg.components, cfg.features),
        pca.explained_variance_ratio.as_slice().unwrap_or(&pca.explained_variance_ratio.to_vec()),
    )?;
    let curves = dir.join("sweep_learning_curves.png");
    plots::learning_curves(
        &curves,
        &format!("Hyperband over SGD: {} models, {} partial_fit calls", sweep.models.len(), sweep.partial_fit_calls),
        "validation accuracy",
        &plots::learning_curves_of(&sweep.models, sweep.best_index),
        |b| format!("bracket {b}"),
    )?;
    Ok(vec![clusters, variance, curves])
}

/// Peak resident set size of this process, in MB (Linux; `None` elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_runs_small_and_learns() {
        let out = tempfile::tempdir().unwrap();
        let cfg = PipelineConfig {
            rows: 20_000,
            chunk_rows: 3_000,
            progress: false,
            out_dir: Some(out.path().to_path_buf()),
            ..PipelineConfig::default()
        };
        let mut seen = Vec::new();
        let s = run(&cfg, &Scheduler::threaded(), &mut |r| seen.push(r.step.clone())).unwrap();
        assert_eq!(seen.len(), 10);
        assert_eq!(s.steps.len(), 10);
        assert!(s.steps.iter().all(|r| r.computations > 0 && r.tasks > 0), "{:?}", s.steps);
        assert_eq!(s.predicted_rows, 4_000);
        // Three classes: chance is 1/3. The problem is separable enough for both models to
        // learn it, and the discriminative model to beat the naive one.
        assert!(s.logistic_accuracy > 0.6, "logistic accuracy {}", s.logistic_accuracy);
        assert!(s.naive_bayes_accuracy > 0.45, "naive Bayes accuracy {}", s.naive_bayes_accuracy);
        assert!(s.explained_variance > 0.5 && s.explained_variance <= 1.0);
        assert!(s.inertia_per_row.is_finite() && s.inertia_per_row > 0.0);
        // Hyperband with max_iter 27 and η = 3: 49 models, 357 calls, whatever the data.
        assert_eq!((s.sweep_models, s.sweep_calls), (49, 357));
        assert!(s.sweep_best_score > 0.6, "sweep best {}", s.sweep_best_score);
        assert!(s.parallel_post_fit_accuracy > 0.6, "tree accuracy {}", s.parallel_post_fit_accuracy);
        // One label file per test block, holding every test row's label, each a class.
        let mut labels = Vec::new();
        for f in &s.prediction_files {
            labels.extend(rask_datasets::npy::read_npy_vector::<i64>(f, 1_000).unwrap().compute().unwrap());
        }
        assert_eq!(labels.len(), 4_000);
        assert!(labels.iter().all(|l| (0..3).contains(l)));
        let names: Vec<_> = s.plots.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["clusters_pca.png", "explained_variance.png", "sweep_learning_curves.png"]);
        for p in &s.plots {
            assert!(std::fs::metadata(p).unwrap().len() > 10_000, "{} is too small to hold a plot", p.display());
        }
    }

    #[test]
    fn the_pipeline_is_deterministic_across_schedulers() {
        let cfg = PipelineConfig { rows: 6_000, chunk_rows: 1_000, progress: false, ..PipelineConfig::default() };
        let a = run(&cfg, &Scheduler::threaded(), &mut |_| {}).unwrap();
        let b = run(&cfg, &Scheduler::sync(), &mut |_| {}).unwrap();
        assert_eq!(a.logistic_accuracy, b.logistic_accuracy);
        assert_eq!(a.naive_bayes_accuracy, b.naive_bayes_accuracy);
        assert_eq!(a.explained_variance, b.explained_variance);
        assert_eq!(a.inertia_per_row, b.inertia_per_row);
        assert_eq!(a.sweep_best_score, b.sweep_best_score);
        assert_eq!(a.parallel_post_fit_accuracy, b.parallel_post_fit_accuracy);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let err = run(&PipelineConfig { components: 30, ..PipelineConfig::default() }, &Scheduler::sync(), &mut |_| {})
            .unwrap_err();
        assert_eq!(err.to_string(), "invalid pipeline configuration: components must be in 1..=20, got 30");
        assert!(PipelineConfig { test_fraction: 1.0, ..PipelineConfig::default() }.check().is_err());
        assert!(PipelineConfig { rows: 10, ..PipelineConfig::default() }.check().is_err());
    }
}
