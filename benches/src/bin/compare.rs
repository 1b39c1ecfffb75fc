//! The side-by-side harness: Rask, dask-ml 2025.1 and scikit-learn 1.6.1 on the same rows, one
//! after another on this machine, in one table.
//!
//! ```sh
//! cargo run -p rask-benches --release --bin compare                 # every workload, full size
//! cargo run -p rask-benches --release --bin compare -- --quick      # small sizes, seconds
//! cargo run -p rask-benches --release --bin compare -- --no-python  # Rask alone
//! cargo run -p rask-benches --release --bin compare -- --render benches/results/compare.json --readme README.md
//! ```
//!
//! For each workload the data is generated once (by the same generators and parameters as the
//! Criterion benches, in a child process) into `.npy` files under `--data-dir` and reused while
//! its size matches; the harness itself holds no data, so its small peak is the floor Linux
//! carries into each child's `ru_maxrss`.
//! Every run, Rask's and each Python tool's, is its own child process that loads those files and
//! fits, so each peak resident set (`VmHWM` for Rask, `ru_maxrss` for Python, or the process tree
//! where the tool starts workers) is that run's own. The Python side runs the scripts in
//! `benches/compare/` in an interpreter given by `--python`, or in a virtual environment created
//! at `target/compare/venv` from `benches/compare/requirements.txt` (pinned versions); without
//! Python the harness runs Rask alone and says so. The results go to a JSON file (machine facts,
//! versions and the command line included), and the README's tables are generated from it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand};
use rask::datasets::generators::{make_blobs, BlobsParams};
use rask::datasets::npy::{header_bytes, read_header, read_npy, read_npy_vector, write_npy};
use rask::datasets::{make_classification, ClassificationParams};
use rask::estimators::cluster::{KMeans, KMeansParams};
use rask::estimators::decomposition::{PcaParams, PcaSolver};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::model_selection::{GridSearchCV, HyperbandSearchCV};
use rask::ml::ndarray::Array2;
use rask::ml::params::{Distribution, ParameterGrid, ParameterSampler};
use rask::ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Fit, KFold, Pipeline, Predict};
use rask::Scheduler;
use rask_benches::peak_rss_bytes;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The markers between which `--readme` writes the generated tables.
const BEGIN: &str = "<!-- compare:begin -->";
const END: &str = "<!-- compare:end -->";
/// The command, as a reader types it.
const COMMAND: &str = "cargo run -p rask-benches --release --bin compare";
/// `--quick`: the scale applied to every workload's row count.
const QUICK_SCALE: f64 = 0.025;
/// Bumped whenever a generator changes, so that old data folders are regenerated.
const DATA_VERSION: u32 = 1;

#[derive(Parser, Debug)]
#[command(
    name = "compare",
    about = "Rask, dask-ml and scikit-learn side by side on the same rows: time, peak memory, quality",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    internal: Option<Internal>,
    /// Comma-separated workloads or groups: kmeans, pca (= pca_tsqr, pca_randomized,
    /// pca_randomized0, pca_covariance_eigh), logistic, grid, hyperband; or `all`.
    #[arg(long, default_value = "all")]
    workloads: String,
    /// Where the generated `.npy` data lives (reused while its size matches).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Scale of every workload's row count (1 = the README's sizes).
    #[arg(long, conflicts_with = "quick")]
    size: Option<f64>,
    /// Small sizes (scale 0.025): the whole run takes seconds.
    #[arg(long)]
    quick: bool,
    /// Run Rask alone.
    #[arg(long, conflicts_with = "python")]
    no_python: bool,
    /// A Python interpreter that already has the pinned packages (e.g. a venv's bin/python).
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where to create (or reuse) the virtual environment when --python is not given.
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Threads for every tool (Rask's pool, dask's threaded scheduler, BLAS where it is the
    /// parallelism).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Fits per PCA run (the median is reported), on every side.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// The JSON results file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Rewrite the tables between `<!-- compare:begin -->` and `<!-- compare:end -->` in this file.
    #[arg(long)]
    readme: Option<PathBuf>,
    /// Run nothing: print the table and markdown of an existing results file (with --readme,
    /// write them there too).
    #[arg(long, conflicts_with_all = ["quick", "size", "no_python", "python"])]
    render: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Internal {
    /// One Rask run in this process (the harness starts one child per workload).
    #[command(hide = true, name = "__rask-run")]
    RaskRun {
        #[arg(long)]
        workload: String,
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        chunk: usize,
        #[arg(long)]
        threads: usize,
        #[arg(long)]
        repeats: usize,
    },
    /// Generates one data set (in a child, so that the harness's own peak memory stays small:
    /// Linux carries a parent's peak resident set into the `ru_maxrss` of the programs it starts).
    #[command(hide = true, name = "__generate")]
    Generate {
        #[arg(long)]
        dataset: String,
        #[arg(long)]
        scale: f64,
        #[arg(long)]
        data_dir: PathBuf,
    },
}

// ---------------------------------------------------------------------------------------------
// Workloads and their data
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    KMeans,
    PcaTsqr,
    PcaRandomized,
    PcaRandomized0,
    PcaCovarianceEigh,
    Logistic,
    Grid,
    Hyperband,
}

impl Workload {
    const ALL: [Workload; 8] = [
        Workload::KMeans,
        Workload::PcaTsqr,
        Workload::PcaRandomized,
        Workload::PcaRandomized0,
        Workload::PcaCovarianceEigh,
        Workload::Logistic,
        Workload::Grid,
        Workload::Hyperband,
    ];

    fn id(self) -> &'static str {
        match self {
            Workload::KMeans => "kmeans",
            Workload::PcaTsqr => "pca_tsqr",
            Workload::PcaRandomized => "pca_randomized",
            Workload::PcaRandomized0 => "pca_randomized0",
            Workload::PcaCovarianceEigh => "pca_covariance_eigh",
            Workload::Logistic => "logistic",
            Workload::Grid => "grid",
            Workload::Hyperband => "hyperband",
        }
    }

    fn from_id(id: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.id() == id)
    }

    fn group(self) -> &'static str {
        match self {
            Workload::PcaTsqr | Workload::PcaRandomized | Workload::PcaRandomized0 | Workload::PcaCovarianceEigh => {
                "pca"
            }
            other => other.id(),
        }
    }

    fn dataset(self) -> Dataset {
        match self {
            Workload::KMeans => Dataset::Blobs,
            Workload::PcaTsqr | Workload::PcaRandomized | Workload::PcaRandomized0 | Workload::PcaCovarianceEigh => {
                Dataset::Pca
            }
            Workload::Logistic => Dataset::Logistic,
            Workload::Grid => Dataset::Grid,
            Workload::Hyperband => Dataset::Hyperband,
        }
    }

    /// What the quality number is, and which way is better.
    fn quality(self) -> &'static str {
        match self {
            Workload::KMeans => "inertia (lower is better)",
            Workload::PcaTsqr | Workload::PcaRandomized | Workload::PcaRandomized0 | Workload::PcaCovarianceEigh => {
                "explained variance ratio of the 10 components, summed"
            }
            Workload::Logistic => "training accuracy",
            Workload::Grid => "best mean cross-validated accuracy",
            Workload::Hyperband => "best held-out accuracy",
        }
    }

    fn title(self, d: &DataSpec) -> String {
        let size = format!("{} × {}", thousands(d.rows), d.cols);
        match self {
            Workload::KMeans => format!("KMeans k = 8, k-means‖, {size}, overlapping blobs, 30 Lloyd iterations"),
            Workload::PcaTsqr => format!("PCA 10 of {size}, tsqr (scikit-learn: full SVD)"),
            Workload::PcaRandomized => format!("PCA 10 of {size}, randomized, 4 power iterations"),
            Workload::PcaRandomized0 => format!("PCA 10 of {size}, randomized, no power iteration (dask-ml's default)"),
            Workload::PcaCovarianceEigh => format!("PCA 10 of {size}, covariance + eigh"),
            Workload::Logistic => format!("LogisticRegression lbfgs, {size}"),
            Workload::Grid => {
                format!("GridSearchCV, StandardScaler + LogisticRegression, 12 candidates × KFold(3), {size}")
            }
            Workload::Hyperband => format!(
                "HyperbandSearchCV, SGDClassifier, {size} in {} blocks, max_iter 27, η = 3",
                d.rows.div_ceil(d.chunk)
            ),
        }
    }
}

/// Parses `--workloads`: ids or group names, comma-separated, or `all`; in the canonical order.
fn parse_workloads(s: &str) -> Result<Vec<Workload>> {
    let mut chosen = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let matched: Vec<Workload> = if name == "all" {
            Workload::ALL.to_vec()
        } else {
            Workload::ALL.into_iter().filter(|w| w.id() == name || w.group() == name).collect()
        };
        if matched.is_empty() {
            let ids: Vec<&str> = Workload::ALL.iter().map(|w| w.id()).collect();
            bail!(
                "--workloads: unknown workload `{name}`; choose from all, kmeans, pca, logistic, grid, hyperband, {}",
                ids.join(", ")
            );
        }
        chosen.extend(matched);
    }
    if chosen.is_empty() {
        bail!("--workloads: no workload named (e.g. --workloads kmeans,pca)");
    }
    Ok(Workload::ALL.into_iter().filter(|w| chosen.contains(w)).collect())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dataset {
    Blobs,
    Pca,
    Logistic,
    Grid,
    Hyperband,
}

impl Dataset {
    const ALL: [Dataset; 5] = [Dataset::Blobs, Dataset::Pca, Dataset::Logistic, Dataset::Grid, Dataset::Hyperband];

    fn from_name(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Dataset::Blobs => "kmeans",
            Dataset::Pca => "pca",
            Dataset::Logistic => "logistic",
            Dataset::Grid => "grid",
            Dataset::Hyperband => "hyperband",
        }
    }

    /// Rows, columns and blocks at scale 1 (the Criterion benches' sizes).
    fn shape(self) -> (usize, usize, usize) {
        match self {
            Dataset::Blobs => (2_000_000, 20, 10),
            Dataset::Pca => (2_000_000, 50, 10),
            Dataset::Logistic => (1_000_000, 20, 10),
            Dataset::Grid => (50_000, 20, 5),
            Dataset::Hyperband => (200_000, 20, 20),
        }
    }

    fn labelled(self) -> bool {
        !matches!(self, Dataset::Blobs | Dataset::Pca)
    }

    fn spec(self, scale: f64, data_dir: &Path) -> DataSpec {
        let (rows, cols, blocks) = self.shape();
        // At least 100 rows per block, so that a tiny scale still makes every fold and block usable.
        let rows = ((rows as f64 * scale).round() as usize).max(blocks * 100);
        let chunk = rows.div_ceil(blocks);
        DataSpec { dataset: self, rows, cols, chunk, dir: data_dir.join(format!("{}-{rows}x{cols}", self.name())) }
    }
}

#[derive(Clone, Debug)]
struct DataSpec {
    dataset: Dataset,
    rows: usize,
    cols: usize,
    chunk: usize,
    dir: PathBuf,
}

impl DataSpec {
    fn x(&self) -> PathBuf {
        self.dir.join("x.npy")
    }

    fn meta(&self) -> Value {
        json!({"dataset": self.dataset.name(), "rows": self.rows, "cols": self.cols, "chunk": self.chunk,
               "labelled": self.dataset.labelled(), "version": DATA_VERSION})
    }

    /// Whether the folder already holds this data: its `meta.json` (written last) matches and
    /// the files have the expected shapes.
    fn present(&self) -> bool {
        let meta = std::fs::read_to_string(self.dir.join("meta.json")).ok();
        let meta_ok = meta.and_then(|m| serde_json::from_str::<Value>(&m).ok()).is_some_and(|m| m == self.meta());
        let x_ok = read_header(&self.x()).is_ok_and(|h| h.shape == [self.rows, self.cols]);
        let y_ok =
            !self.dataset.labelled() || read_header(&self.dir.join("y.npy")).is_ok_and(|h| h.shape == [self.rows]);
        meta_ok && x_ok && y_ok
    }

    /// Generates the data unless it is present, in a child process (see [`Internal::Generate`]).
    /// Returns whether it was generated.
    fn ensure(&self, scale: f64, data_dir: &Path) -> Result<bool> {
        if self.present() {
            return Ok(false);
        }
        let exe = std::env::current_exe().context("finding this program to start a child")?;
        let out = Command::new(exe)
            .args(["__generate", "--dataset", self.dataset.name(), "--scale", &scale.to_string(), "--data-dir"])
            .arg(data_dir)
            .stdin(Stdio::null())
            .output()
            .context("starting the data generator")?;
        if !out.status.success() {
            bail!("the data generator failed: {} ({})", last_line(&out.stderr), out.status);
        }
        if !self.present() {
            bail!("the data generator finished but {} does not hold the expected files", self.dir.display());
        }
        Ok(true)
    }

    /// Writes the data files, then `meta.json` (in the `__generate` child).
    fn generate(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("creating {}", self.dir.display()))?;
        // A stale meta.json must not vouch for half-written files.
        let _ = std::fs::remove_file(self.dir.join("meta.json"));
        let s = Scheduler::threaded();
        match self.dataset {
            Dataset::Blobs => {
                // As benches/benches/kmeans.rs.
                let params = BlobsParams::new()
                    .n_samples(self.rows)
                    .n_features(self.cols)
                    .centers(8)
                    .cluster_std(20.0)
                    .seed(0)
                    .chunk_rows(self.chunk);
                let x = make_blobs(&params)?.data.x().clone();
                write_npy(&x, self.x(), &s, 2)?;
            }
            Dataset::Pca => write_npy(&pca_data(self.rows, self.chunk)?, self.x(), &s, 1)?,
            Dataset::Logistic | Dataset::Grid | Dataset::Hyperband => {
                // As benches/benches/logistic.rs and search.rs: scikit-learn's make_classification
                // defaults otherwise (2 informative, 2 redundant, 1% flipped labels), seed 0.
                let params = ClassificationParams::new()
                    .n_samples(self.rows)
                    .n_features(self.cols)
                    .seed(0)
                    .chunk_rows(self.chunk);
                let ds = make_classification(&params)?.persist_on(&s)?;
                write_npy(ds.x(), self.x(), &s, 4)?;
                let y = ds.y().ok_or_else(|| anyhow!("the generated dataset has no labels"))?.compute_on(&s)?;
                let path = self.dir.join("y.npy");
                let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
                let mut f = std::io::BufWriter::new(file);
                f.write_all(&header_bytes("<i8", &format!("({},)", y.len())))?;
                for v in y.iter() {
                    f.write_all(&v.to_le_bytes())?;
                }
                f.flush().with_context(|| format!("writing {}", path.display()))?;
            }
        }
        std::fs::write(self.dir.join("meta.json"), serde_json::to_string_pretty(&self.meta())?)?;
        Ok(())
    }
}

// The PCA bench's data (benches/benches/pca.rs), generated the same way: rank-10 signal with
// scales 10, 9, …, 1 through a fixed 10 × 50 mixing matrix, uniform noise of amplitude 0.1 and a
// column offset `j`, one splitmix64 stream per block.
const PCA_RANK: usize = 10;

fn splitmix(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

fn pca_data(rows: usize, chunk: usize) -> Result<ChunkedArray<f64>> {
    let cols = Dataset::Pca.shape().1;
    let mut s = 12_345u64;
    let mix = Array2::from_shape_simple_fn((PCA_RANK, cols), || splitmix(&mut s));
    let sizes: Vec<usize> = (0..rows.div_ceil(chunk)).map(|i| chunk.min(rows - i * chunk)).collect();
    let blocks: Vec<Array2<f64>> = sizes
        .par_iter()
        .enumerate()
        .map(|(i, &m)| {
            let mut s = 0xDA7A_u64 ^ ((i as u64) << 32);
            let latent = Array2::from_shape_fn((m, PCA_RANK), |(_, r)| (10 - r) as f64 * splitmix(&mut s));
            let mut x = latent.dot(&mix);
            for ((_, j), v) in x.indexed_iter_mut() {
                *v += 0.1 * splitmix(&mut s) + j as f64;
            }
            x
        })
        .collect();
    Ok(ChunkedArray::from_blocks(blocks)?)
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// One tool's run of one workload.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
struct Run {
    /// How the tool was set up (solver, scheduler, n_jobs).
    setup: String,
    /// Fit time in seconds (see the workload's notes for warm-up and repeats).
    seconds: Option<f64>,
    /// Peak resident set size in bytes, data included.
    peak_rss_bytes: Option<u64>,
    /// The quality measure (see the workload's `quality`).
    quality: Option<f64>,
    /// A short human note (iterations, best parameters).
    note: String,
    /// Everything else the run reported.
    extra: Value,
    /// Why the run failed, if it did.
    error: Option<String>,
}

impl Run {
    fn failed(setup: &str, error: String) -> Run {
        Run { setup: setup.into(), error: Some(error), extra: Value::Null, ..Run::default() }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct WorkloadResult {
    id: String,
    title: String,
    quality: String,
    data: Value,
    rask: Run,
    #[serde(rename = "dask-ml")]
    dask_ml: Option<Run>,
    #[serde(rename = "scikit-learn")]
    sklearn: Option<Run>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct PythonInfo {
    available: bool,
    interpreter: Option<String>,
    reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Report {
    schema: u32,
    /// The command line, as typed (`cargo run … -- args`).
    command: String,
    argv: Vec<String>,
    date: String,
    machine: Value,
    versions: BTreeMap<String, String>,
    python: PythonInfo,
    settings: Value,
    workloads: Vec<WorkloadResult>,
}

// ---------------------------------------------------------------------------------------------
// The Rask side (one child process per workload)
// ---------------------------------------------------------------------------------------------

fn rask_setup(w: Workload, threads: usize) -> String {
    let solver = match w {
        Workload::PcaTsqr => ", tsqr",
        Workload::PcaRandomized => ", randomized",
        Workload::PcaRandomized0 => ", randomized, n_power_iter 0",
        Workload::PcaCovarianceEigh => ", covariance_eigh",
        Workload::Grid | Workload::Hyperband => ", after a warm-up run",
        _ => "",
    };
    format!("threaded, {threads} threads{solver}")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs one workload in this process and returns its result (the child's side).
fn rask_run(w: Workload, dir: &Path, chunk: usize, threads: usize, repeats: usize) -> Result<Run> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().context("building the thread pool")?;
    let s = Scheduler::threaded();
    let x_path = dir.join("x.npy");
    let load_x = || -> Result<ChunkedArray<f64>> { Ok(read_npy::<f64>(&x_path, chunk)?.persist_on(&s)?) };
    let load_xy = || -> Result<ChunkedDataset<f64, i64>> {
        let y: ChunkedVector<i64> = read_npy_vector(dir.join("y.npy"), chunk)?;
        Ok(ChunkedDataset::new(read_npy::<f64>(&x_path, chunk)?, y)?.persist_on(&s)?)
    };
    let mut run = Run { setup: rask_setup(w, threads), ..Run::default() };
    match w {
        Workload::KMeans => {
            let x = load_x()?;
            let params = KMeansParams::new(8).max_iter(30).tol(0.0).seed(0);
            let t = Instant::now();
            let model: KMeans = rask::with_scheduler(&s, || params.fit(&x))?;
            run.seconds = Some(t.elapsed().as_secs_f64());
            run.quality = Some(model.inertia);
            run.note = format!("{} iterations", model.n_iter);
            run.extra = json!({"n_iter": model.n_iter});
        }
        Workload::PcaTsqr | Workload::PcaRandomized | Workload::PcaRandomized0 | Workload::PcaCovarianceEigh => {
            let x = load_x()?;
            let solver = match w {
                Workload::PcaTsqr => PcaSolver::Tsqr,
                Workload::PcaRandomized => PcaSolver::randomized(),
                Workload::PcaRandomized0 => PcaSolver::Randomized { n_oversamples: 10, n_power_iter: Some(0) },
                _ => PcaSolver::CovarianceEigh,
            };
            let params = PcaParams::new(10).solver(solver).seed(0);
            let mut times = Vec::new();
            let mut last = None;
            for _ in 0..repeats.max(1) {
                let t = Instant::now();
                let m = rask::with_scheduler(&s, || params.fit(&x))?;
                times.push(t.elapsed().as_secs_f64());
                last = Some(m);
            }
            let m = last.ok_or_else(|| anyhow!("no PCA fit ran"))?;
            let evr = &m.explained_variance_ratio;
            run.seconds = Some(median(times.clone()));
            run.quality = Some(evr.sum());
            if times.len() > 1 {
                run.note = format!("median of {}", times.len());
            }
            run.extra = json!({"times": times, "evr": evr.iter().take(3).collect::<Vec<_>>()});
        }
        Workload::Logistic => {
            let data = load_xy()?;
            let t = Instant::now();
            let model = rask::with_scheduler(&s, || LogisticRegressionParams::new().fit(&data))?;
            run.seconds = Some(t.elapsed().as_secs_f64());
            let pred = model.predict(data.x())?.compute_on(&s)?;
            let y = data.y().ok_or_else(|| anyhow!("the dataset has no labels"))?.compute_on(&s)?;
            let hits = pred.iter().zip(y.iter()).filter(|(a, b)| a == b).count();
            run.quality = Some(hits as f64 / y.len().max(1) as f64);
            run.note = format!("{} iterations", model.n_iter);
            run.extra = json!({"n_iter": model.n_iter, "converged": model.converged});
        }
        Workload::Grid => {
            let ds = load_xy()?;
            let pipe =
                Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
            let grid = ParameterGrid::new()
                .add("scaler__with_mean", [true, false])
                .add("logistic__c", [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]);
            let search = GridSearchCV::new(pipe, grid).cv(KFold { n_splits: 3, shuffle_within_blocks: None });
            let t = Instant::now();
            rask::with_scheduler(&s, || search.fit(&ds))?;
            let first = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let r = rask::with_scheduler(&s, || search.fit(&ds))?;
            run.seconds = Some(t.elapsed().as_secs_f64());
            run.quality = Some(r.best_score);
            let best = rask::ml::params::format_candidate(&r.best_params);
            run.note = best.clone();
            run.extra = json!({"first_seconds": first, "best_params": best, "fit_tasks": r.stats.fit_tasks,
                               "fits_without_sharing": r.stats.step_fits_without_sharing});
        }
        Workload::Hyperband => {
            let ds = load_xy()?;
            let sgd = SgdClassifierParams::new().classes(vec![0, 1]).seed(0);
            let space = ParameterSampler::new(1, 0)
                .add("alpha", Distribution::log_uniform(1e-6, 1e-1))
                .add("loss", Distribution::choice(["hinge", "log_loss"]))
                .add("penalty", Distribution::choice(["l2", "l1"]));
            let search = HyperbandSearchCV::new(sgd, space, 27).aggressiveness(3).seed(0).test_size(0.05).search()?;
            rask::with_scheduler(&s, || search.fit(&ds))?;
            let t = Instant::now();
            let r = rask::with_scheduler(&s, || search.fit(&ds))?;
            run.seconds = Some(t.elapsed().as_secs_f64());
            run.quality = Some(r.best_score);
            run.note = format!("{} models, {} partial_fit calls", r.models.len(), r.partial_fit_calls);
            run.extra = json!({"n_models": r.models.len(), "partial_fit_calls": r.partial_fit_calls,
                               "time_to_best": r.time_to_best,
                               "best_params": rask::ml::params::format_candidate(&r.best_params)});
        }
    }
    run.peak_rss_bytes = peak_rss_bytes();
    Ok(run)
}

/// The last line of `stdout` that parses as a JSON object.
fn last_json(stdout: &str) -> Option<Value> {
    stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l.trim()).ok().filter(Value::is_object))
}

/// The last non-empty line of a child's stderr, for an error message.
fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string()
}

/// Starts this binary again as a child that runs `w` alone, and reads its result.
fn rask_child(w: Workload, d: &DataSpec, threads: usize, repeats: usize) -> Run {
    let setup = rask_setup(w, threads);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Run::failed(&setup, format!("cannot find this program to start a child: {e}")),
    };
    let out = Command::new(exe)
        .args(["__rask-run", "--workload", w.id(), "--chunk", &d.chunk.to_string()])
        .args(["--threads", &threads.to_string(), "--repeats", &repeats.to_string(), "--dir"])
        .arg(&d.dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) => Run::failed(&setup, format!("cannot start the child process: {e}")),
        Ok(o) if !o.status.success() => Run::failed(&setup, format!("{} ({})", last_line(&o.stderr), o.status)),
        Ok(o) => match last_json(&String::from_utf8_lossy(&o.stdout)).map(serde_json::from_value::<Run>) {
            Some(Ok(run)) => run,
            Some(Err(e)) => Run::failed(&setup, format!("unreadable result: {e}")),
            None => Run::failed(&setup, "the child printed no result".into()),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// The Python side
// ---------------------------------------------------------------------------------------------

/// One Python run: the script and its arguments, the environment, and how to read its JSON.
#[derive(Debug)]
struct PyTool {
    setup: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    parse: fn(&Value) -> Result<Run>,
}

fn num(v: &Value, key: &str) -> Result<f64> {
    v.get(key).and_then(Value::as_f64).ok_or_else(|| anyhow!("the script's JSON has no number `{key}`: {v}"))
}

fn blas_env(n: usize) -> Vec<(String, String)> {
    ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"]
        .iter()
        .map(|k| (k.to_string(), n.to_string()))
        .collect()
}

fn parse_kmeans(v: &Value) -> Result<Run> {
    let n_iter = num(v, "n_iter")?;
    Ok(Run {
        seconds: Some(num(v, "fit")?),
        peak_rss_bytes: Some((num(v, "rss")? * 1e9) as u64),
        quality: Some(num(v, "inertia")?),
        note: format!("{n_iter} iterations"),
        extra: v.clone(),
        ..Run::default()
    })
}

fn parse_pca(v: &Value) -> Result<Run> {
    Ok(Run {
        seconds: Some(num(v, "time")?),
        // ru_maxrss is in KiB; pca.py prints it divided by 1000.
        peak_rss_bytes: Some((num(v, "peak_mb")? * 1024e3) as u64),
        quality: Some(num(v, "evr_sum")?),
        extra: v.clone(),
        ..Run::default()
    })
}

fn parse_logistic(v: &Value) -> Result<Run> {
    Ok(Run {
        seconds: Some(num(v, "seconds")?),
        peak_rss_bytes: Some(num(v, "rss")? as u64),
        quality: Some(num(v, "accuracy")?),
        note: v.get("n_iter").filter(|n| n.is_number()).map(|n| format!("{n} iterations")).unwrap_or_default(),
        extra: v.clone(),
        ..Run::default()
    })
}

fn tree_rss(v: &Value) -> Option<u64> {
    v.get("rss_tree").or_else(|| v.get("rss_self")).and_then(Value::as_f64).map(|b| b as u64)
}

fn parse_grid(v: &Value) -> Result<Run> {
    let times: Vec<f64> = v
        .get("seconds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let (first, warm) = match times.split_first() {
        Some((first, rest)) if !rest.is_empty() => (*first, rest.iter().copied().fold(f64::INFINITY, f64::min)),
        Some((first, _)) => (*first, *first),
        None => bail!("the script's JSON has no `seconds`: {v}"),
    };
    let p = v.get("best_params").cloned().unwrap_or(Value::Null);
    Ok(Run {
        seconds: Some(warm),
        peak_rss_bytes: tree_rss(v),
        quality: Some(num(v, "best_score")?),
        note: format!("C = {}, with_mean = {}; first fit {first:.2} s", p["logistic__C"], p["scaler__with_mean"]),
        extra: v.clone(),
        ..Run::default()
    })
}

fn parse_hyperband(v: &Value) -> Result<Run> {
    Ok(Run {
        seconds: Some(num(v, "seconds")?),
        peak_rss_bytes: tree_rss(v),
        quality: Some(num(v, "best_score")?),
        note: format!("{} models, {} partial_fit calls", v["n_models"], v["partial_fit_calls"]),
        extra: v.clone(),
        ..Run::default()
    })
}

/// The Python runs of a workload: (dask-ml, scikit-learn), either absent where the tool has no
/// such estimator.
fn python_tools(
    w: Workload,
    d: &DataSpec,
    scripts: &Path,
    threads: usize,
    repeats: usize,
) -> (Option<PyTool>, Option<PyTool>) {
    let script = |name: &str| scripts.join(name).display().to_string();
    let x = d.x().display().to_string();
    let dir = d.dir.display().to_string();
    let t = threads.to_string();
    let chunk = d.chunk.to_string();
    let mut env = blas_env(threads);
    match w {
        Workload::KMeans => {
            env.push(("RASK_KMEANS_CHUNK".into(), chunk));
            env.push(("RASK_KMEANS_THREADS".into(), t));
            let tool = |name: &str, setup: &str| PyTool {
                setup: setup.into(),
                args: vec![script("kmeans.py"), x.clone(), name.into()],
                env: env.clone(),
                parse: parse_kmeans,
            };
            (
                Some(tool("dask-ml", &format!("threaded, {threads} threads, k-means‖"))),
                Some(tool("scikit-learn", "n_init 1, k-means++")),
            )
        }
        Workload::PcaTsqr | Workload::PcaRandomized | Workload::PcaRandomized0 | Workload::PcaCovarianceEigh => {
            env.push(("RASK_PCA_THREADS".into(), t));
            let tool = |name: &str, setup: &str| PyTool {
                setup: setup.into(),
                args: vec![
                    script("pca.py"),
                    "--one".into(),
                    name.into(),
                    x.clone(),
                    chunk.clone(),
                    repeats.to_string(),
                ],
                env: env.clone(),
                parse: parse_pca,
            };
            let dask = format!("threaded, {threads} threads");
            match w {
                Workload::PcaTsqr => {
                    (Some(tool("daskml_tsqr", &format!("{dask}, tsqr"))), Some(tool("sklearn_full", "full SVD")))
                }
                Workload::PcaRandomized => (
                    Some(tool("daskml_randomized_iter4", &format!("{dask}, randomized, iterated_power 4"))),
                    Some(tool("sklearn_randomized", "randomized")),
                ),
                Workload::PcaRandomized0 => (Some(tool("daskml_randomized", &format!("{dask}, randomized"))), None),
                _ => (None, Some(tool("sklearn_covariance_eigh", "covariance_eigh"))),
            }
        }
        Workload::Logistic => {
            env.push(("RASK_LOGISTIC_CHUNK".into(), chunk));
            env.push(("RASK_LOGISTIC_THREADS".into(), t));
            let tool = |name: &str, setup: &str| PyTool {
                setup: setup.into(),
                args: vec![script("logistic.py"), "--tool-json".into(), name.into(), dir.clone()],
                env: env.clone(),
                parse: parse_logistic,
            };
            (Some(tool("dask-ml", &format!("threaded, {threads} threads"))), Some(tool("scikit-learn", "lbfgs")))
        }
        Workload::Grid => {
            // As grid_search.py's own driver: one BLAS thread, the parallelism is across fits.
            let mut env = blas_env(1);
            env.push(("RASK_GRID_THREADS".into(), t));
            let tool = |name: &str, setup: &str| PyTool {
                setup: setup.into(),
                args: vec![script("grid_search.py"), "--tool".into(), name.into(), dir.clone()],
                env: env.clone(),
                parse: parse_grid,
            };
            (
                Some(tool("dask-threads", &format!("threads, n_jobs {threads}; warm run of 2"))),
                Some(tool("sklearn-2", &format!("n_jobs {threads} (loky); warm run of 2"))),
            )
        }
        Workload::Hyperband => {
            let mut env = blas_env(1);
            env.push(("RASK_HYPERBAND_CHUNK".into(), chunk));
            env.push(("RASK_HYPERBAND_WORKERS".into(), t));
            let tool = PyTool {
                setup: format!("LocalCluster, {threads} workers × 1 thread (start not timed)"),
                args: vec![script("hyperband.py"), "--run".into(), dir],
                env,
                parse: parse_hyperband,
            };
            (Some(tool), None)
        }
    }
}

fn python_child(python: &Path, tool: &PyTool) -> Run {
    let out = Command::new(python)
        .args(&tool.args)
        .envs(tool.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output();
    let mut run = match out {
        Err(e) => Run::failed(&tool.setup, format!("cannot start {}: {e}", python.display())),
        Ok(o) if !o.status.success() => Run::failed(&tool.setup, format!("{} ({})", last_line(&o.stderr), o.status)),
        Ok(o) => match last_json(&String::from_utf8_lossy(&o.stdout)) {
            None => Run::failed(&tool.setup, format!("no JSON result; stderr: {}", last_line(&o.stderr))),
            Some(v) => (tool.parse)(&v).unwrap_or_else(|e| Run::failed(&tool.setup, format!("{e:#}"))),
        },
    };
    run.setup.clone_from(&tool.setup);
    run
}

/// A ready interpreter, or why there is none.
#[derive(Debug)]
enum Python {
    Ready { interpreter: PathBuf, versions: BTreeMap<String, String> },
    Missing(String),
}

const VERSIONS_PY: &str = "import json, platform, numpy, scipy, sklearn, dask, dask_ml, distributed, psutil, \
threadpoolctl; print(json.dumps({'python': platform.python_version(), 'numpy': numpy.__version__, \
'scipy': scipy.__version__, 'scikit-learn': sklearn.__version__, 'dask': dask.__version__, \
'dask-ml': dask_ml.__version__, 'distributed': distributed.__version__}))";

/// The versions of the packages the scripts need, or why they cannot be imported.
fn python_versions(python: &Path) -> std::result::Result<BTreeMap<String, String>, String> {
    let out = Command::new(python)
        .args(["-c", VERSIONS_PY])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!("{} cannot import the packages: {}", python.display(), last_line(&out.stderr)));
    }
    let v = last_json(&String::from_utf8_lossy(&out.stdout)).ok_or("no version line")?;
    let map = v.as_object().ok_or("no version object")?;
    Ok(map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("?").to_string())).collect())
}

/// The requirements the venv is made from (the marker in the venv holds a copy).
fn requirements(scripts: &Path) -> Result<String> {
    let mut text = String::new();
    for name in ["requirements.txt", "requirements-search.txt"] {
        let p = scripts.join(name);
        text += &std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    }
    Ok(text)
}

/// Creates (or reuses) the venv at `venv` with the pinned requirements.
fn ensure_venv(venv: &Path, scripts: &Path) -> std::result::Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    let marker = venv.join("rask-requirements.txt");
    let wanted = requirements(scripts).map_err(|e| format!("{e:#}"))?;
    if python.exists() && std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        eprintln!("compare: reusing the virtual environment {}", venv.display());
        return Ok(python);
    }
    let status = Command::new("python3").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !status.is_ok_and(|s| s.success()) {
        return Err("no python3 on PATH".into());
    }
    eprintln!(
        "compare: creating the virtual environment {} (pip install -r benches/compare/requirements.txt; a few minutes)",
        venv.display()
    );
    let _ = std::fs::remove_file(&marker);
    let out = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(venv)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("python3 -m venv: {e}"))?;
    if !out.status.success() {
        return Err(format!("python3 -m venv {} failed: {}", venv.display(), last_line(&out.stderr)));
    }
    let out = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-r"])
        .arg(scripts.join("requirements.txt"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("pip install: {e}"))?;
    if !out.status.success() {
        return Err(format!("pip install -r benches/compare/requirements.txt failed: {}", last_line(&out.stderr)));
    }
    std::fs::write(&marker, wanted).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(python)
}

fn find_python(cli: &Cli, root: &Path, scripts: &Path) -> Python {
    if cli.no_python {
        return Python::Missing("--no-python".into());
    }
    let interpreter = match &cli.python {
        Some(p) => p.clone(),
        None => match ensure_venv(&cli.venv.clone().unwrap_or_else(|| root.join("target/compare/venv")), scripts) {
            Ok(p) => p,
            Err(reason) => return Python::Missing(reason),
        },
    };
    match python_versions(&interpreter) {
        Ok(versions) => Python::Ready { interpreter, versions },
        Err(reason) => Python::Missing(reason),
    }
}

// ---------------------------------------------------------------------------------------------
// Machine facts
// ---------------------------------------------------------------------------------------------

/// `YYYY-MM-DDTHH:MM:SSZ` for the current UTC time.
fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

fn command_output(cmd: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(cmd).args(args).current_dir(dir).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn machine() -> Value {
    json!({
        "nproc": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu": proc_field("/proc/cpuinfo", "model name"),
        "memory": proc_field("/proc/meminfo", "MemTotal"),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "load_average_start": load_average(),
    })
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1e3)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

fn bytes(b: u64) -> String {
    if b >= 1_000_000_000 {
        format!("{:.2} GB", b as f64 / 1e9)
    } else {
        format!("{:.0} MB", b as f64 / 1e6)
    }
}

fn quality(id: &str, q: f64) -> String {
    match id {
        "kmeans" => format!("inertia {q:.6e}"),
        i if i.starts_with("pca") => format!("EVR {q:.6}"),
        "logistic" => format!("accuracy {q:.4}"),
        _ => format!("best {q:.4}"),
    }
}

/// One cell: time, peak memory, quality (bold time for the fastest of the row).
fn cell(id: &str, run: Option<&Run>, bold: bool, markdown: bool) -> String {
    let Some(run) = run else { return "–".into() };
    if let Some(e) = &run.error {
        let e: String = e.chars().take(80).collect();
        return format!("failed: {}", e.replace('|', "/"));
    }
    let mut parts = Vec::new();
    if let Some(s) = run.seconds {
        parts.push(if bold && markdown { format!("**{}**", seconds(s)) } else { seconds(s) });
    }
    if let Some(b) = run.peak_rss_bytes {
        parts.push(bytes(b));
    }
    if let Some(q) = run.quality {
        parts.push(quality(id, q));
    }
    parts.join(", ")
}

/// `theirs ÷ Rask` for time and memory, e.g. `15.6× time, 4.8× memory`.
fn ratio(rask: &Run, other: Option<&Run>) -> String {
    let Some(other) = other.filter(|o| o.error.is_none()) else { return "–".into() };
    if rask.error.is_some() {
        return "–".into();
    }
    let mut parts = Vec::new();
    if let (Some(a), Some(b)) = (rask.seconds, other.seconds) {
        if a > 0.0 {
            parts.push(format!("{:.1}× time", b / a));
        }
    }
    if let (Some(a), Some(b)) = (rask.peak_rss_bytes, other.peak_rss_bytes) {
        if a > 0 {
            parts.push(format!("{:.1}× memory", b as f64 / a as f64));
        }
    }
    if parts.is_empty() {
        "–".into()
    } else {
        parts.join(", ")
    }
}

const HEADER: [&str; 6] = ["workload", "Rask", "dask-ml", "scikit-learn", "dask-ml ÷ Rask", "scikit-learn ÷ Rask"];

fn rows(report: &Report, markdown: bool) -> Vec<[String; 6]> {
    report
        .workloads
        .iter()
        .map(|w| {
            let fastest = [Some(&w.rask), w.dask_ml.as_ref(), w.sklearn.as_ref()]
                .into_iter()
                .flatten()
                .filter(|r| r.error.is_none())
                .filter_map(|r| r.seconds)
                .fold(f64::INFINITY, f64::min);
            let is_best = |r: Option<&Run>| r.and_then(|r| r.seconds).is_some_and(|s| s <= fastest);
            [
                w.title.clone(),
                cell(&w.id, Some(&w.rask), is_best(Some(&w.rask)), markdown),
                cell(&w.id, w.dask_ml.as_ref(), is_best(w.dask_ml.as_ref()), markdown),
                cell(&w.id, w.sklearn.as_ref(), is_best(w.sklearn.as_ref()), markdown),
                ratio(&w.rask, w.dask_ml.as_ref()),
                ratio(&w.rask, w.sklearn.as_ref()),
            ]
        })
        .collect()
}

/// The table for the terminal: markdown with padded columns.
fn text_table(report: &Report) -> String {
    let rows = rows(report, false);
    let mut widths = HEADER.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> =
            cells.iter().zip(widths).map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count()))).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(&HEADER.map(String::from));
    out += &line(&widths.map(|w| "-".repeat(w)));
    for r in &rows {
        out += &line(r);
    }
    out
}

fn version(report: &Report, key: &str) -> String {
    report.versions.get(key).cloned().unwrap_or_else(|| "?".into())
}

/// The README's section: a paragraph on the conditions, the table, the notes and the command.
fn markdown(report: &Report) -> String {
    let m = &report.machine;
    let threads = report.settings["threads"].as_u64().unwrap_or(0);
    let cpu = m["cpu"].as_str().map(|c| format!(", {c}")).unwrap_or_default();
    let tools = if report.python.available {
        format!(
            "dask-ml {} (dask {}) and scikit-learn {} on Python {}",
            version(report, "dask-ml"),
            version(report, "dask"),
            version(report, "scikit-learn"),
            version(report, "python")
        )
    } else {
        format!("Rask alone (Python not available: {})", report.python.reason.as_deref().unwrap_or("?"))
    };
    let mut out = format!(
        "Rask {} against {tools}, side by side on the same rows (generated once, read from `.npy` files by every \
         tool), one after another on {} cores{cpu}, {threads} threads each, {} (load average at the start: {}).\n\
         Each cell: fit time, the peak resident memory of the tool's own process (data included; for the grid \
         search and Hyperband, dask-ml and scikit-learn's worker processes are added), and the quality. \
         The ratios are the other tool's figure divided by Rask's (above 1: Rask is faster or smaller). \
         dask-ml runs on its threaded scheduler, except Hyperband, on a LocalCluster of {threads} worker processes \
         × 1 thread (its adaptive searches need one; the cluster's start is not timed); scikit-learn's grid search \
         uses n_jobs = {threads} (loky processes), and both grid searches and Hyperband use one BLAS thread per \
         process. A Python process that has imported these packages holds about 0.2 GB before any data.\n\n",
        version(report, "rask"),
        m["nproc"],
        report.date.get(..10).unwrap_or(&report.date),
        m["load_average_start"].as_str().unwrap_or("?"),
    );
    out += &format!("| {} |\n|{}\n", HEADER.join(" | "), "---|".repeat(HEADER.len()));
    for r in rows(report, true) {
        out += &format!("| {} |\n", r.join(" | "));
    }
    out += "\nQuality: KMeans inertia (lower is better); PCA, the explained variance ratio of the 10 components, \
            summed (EVR); LogisticRegression, training accuracy; grid search, the best mean cross-validated \
            accuracy; Hyperband, the best held-out accuracy (on different held-out rows and candidates for each \
            tool, so it agrees only statistically). The grid search and Hyperband times are warm runs (after one \
            run that starts workers and pools); the other fits are timed once";
    let repeats = report.settings["repeats"].as_u64().unwrap_or(1);
    if repeats > 1 {
        out += &format!(", PCA the median of {repeats}");
    }
    out += ".\n\n";
    let results = report.settings["out"].as_str().unwrap_or("benches/results/compare.json");
    out += &format!("Command: `{}` (results in `{results}`).\n", report.command);
    out
}

/// `text` with everything between the markers replaced by `block`.
fn replace_between_markers(text: &str, block: &str) -> Result<String> {
    let b = text
        .find(BEGIN)
        .ok_or_else(|| anyhow!("no `{BEGIN}` marker: add `{BEGIN}` and `{END}` where the tables go"))?;
    let start = b + BEGIN.len();
    let e = text[start..].find(END).ok_or_else(|| anyhow!("no `{END}` marker after `{BEGIN}`"))? + start;
    Ok(format!("{}\n{}\n{}", &text[..start], block.trim_end(), &text[e..]))
}

fn write_readme(path: &Path, report: &Report) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let new = replace_between_markers(&text, &markdown(report)).with_context(|| format!("{}", path.display()))?;
    std::fs::write(path, new).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("compare: rewrote the tables in {}", path.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

fn print_run(id: &str, tool: &str, run: &Run) {
    match &run.error {
        Some(e) => eprintln!("compare: {id:<20} {tool:<12} failed: {e}"),
        None => eprintln!(
            "compare: {id:<20} {tool:<12} {}",
            cell(id, Some(run), false, false) + if run.note.is_empty() { "" } else { "; " } + &run.note
        ),
    }
}

fn harness(cli: &Cli) -> Result<bool> {
    // The benches crate sits one level under the workspace root.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(manifest).to_path_buf();
    let scripts = manifest.join("compare");
    let workloads = parse_workloads(&cli.workloads)?;
    if cli.threads == 0 {
        bail!("--threads must be at least 1");
    }
    if cli.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let scale = if cli.quick { QUICK_SCALE } else { cli.size.unwrap_or(1.0) };
    if !(scale.is_finite() && scale > 0.0) {
        bail!("--size must be a positive number (1 = the README's sizes), not {scale}");
    }
    let data_dir = cli.data_dir.clone().unwrap_or_else(|| root.join("target/compare/data"));
    let out_path = cli.out.clone().unwrap_or_else(|| root.join("benches/results/compare.json"));
    if let Some(readme) = &cli.readme {
        // Fail before the long run, not after it.
        let text = std::fs::read_to_string(readme).with_context(|| format!("reading --readme {}", readme.display()))?;
        replace_between_markers(&text, "").with_context(|| format!("--readme {}", readme.display()))?;
    }

    let python = find_python(cli, &root, &scripts);
    let mut versions = BTreeMap::new();
    versions.insert("rask".to_string(), env!("CARGO_PKG_VERSION").to_string());
    if let Some(v) = command_output("rustc", &["--version"], &root) {
        versions.insert("rustc".into(), v);
    }
    if let Some(v) = command_output("git", &["describe", "--always", "--dirty"], &root) {
        versions.insert("git".into(), v);
    }
    let python_info = match &python {
        Python::Ready { interpreter, versions: v } => {
            versions.extend(v.clone());
            println!(
                "Python: {} (dask-ml {}, scikit-learn {}, dask {})",
                interpreter.display(),
                v.get("dask-ml").map_or("?", String::as_str),
                v.get("scikit-learn").map_or("?", String::as_str),
                v.get("dask").map_or("?", String::as_str)
            );
            PythonInfo { available: true, interpreter: Some(interpreter.display().to_string()), reason: None }
        }
        Python::Missing(reason) => {
            println!("Python not available: running Rask alone ({reason})");
            PythonInfo { available: false, interpreter: None, reason: Some(reason.clone()) }
        }
    };

    let argv: Vec<String> = std::env::args().collect();
    let args = argv.iter().skip(1).map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ");
    let command = if args.is_empty() { COMMAND.to_string() } else { format!("{COMMAND} -- {args}") };
    let mut report = Report {
        schema: 1,
        command,
        argv,
        date: utc_now(),
        machine: machine(),
        versions,
        python: python_info,
        settings: json!({"threads": cli.threads, "scale": scale, "quick": cli.quick, "repeats": cli.repeats,
                         "data_dir": data_dir.display().to_string(),
                         "out": out_path.strip_prefix(&root).unwrap_or(&out_path).display().to_string()}),
        workloads: Vec::new(),
    };

    let mut all_ok = true;
    for w in workloads {
        let d = w.dataset().spec(scale, &data_dir);
        let t = Instant::now();
        if d.ensure(scale, &data_dir)
            .with_context(|| format!("generating the {} data in {}", d.dataset.name(), d.dir.display()))?
        {
            eprintln!(
                "compare: generated {} ({} × {}) in {:.1} s",
                d.dir.display(),
                d.rows,
                d.cols,
                t.elapsed().as_secs_f64()
            );
        } else {
            eprintln!("compare: reusing {} ({} × {})", d.dir.display(), d.rows, d.cols);
        }
        let rask = rask_child(w, &d, cli.threads, cli.repeats);
        print_run(w.id(), "rask", &rask);
        all_ok &= rask.error.is_none() && rask.seconds.is_some_and(f64::is_finite);
        let (mut dask_ml, mut sklearn) = (None, None);
        if let Python::Ready { interpreter, .. } = &python {
            let (dask_tool, sk_tool) = python_tools(w, &d, &scripts, cli.threads, cli.repeats);
            if let Some(tool) = dask_tool {
                let run = python_child(interpreter, &tool);
                print_run(w.id(), "dask-ml", &run);
                dask_ml = Some(run);
            }
            if let Some(tool) = sk_tool {
                let run = python_child(interpreter, &tool);
                print_run(w.id(), "scikit-learn", &run);
                sklearn = Some(run);
            }
        }
        report.workloads.push(WorkloadResult {
            id: w.id().into(),
            title: w.title(&d),
            quality: w.quality().into(),
            data: json!({"rows": d.rows, "cols": d.cols, "chunk_rows": d.chunk, "dir": d.dir.display().to_string()}),
            rask,
            dask_ml,
            sklearn,
        });
    }
    if let Some(m) = report.machine.as_object_mut() {
        m.insert("load_average_end".into(), json!(load_average()));
    }

    if let Some(parent) = out_path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&out_path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", out_path.display()))?;
    println!();
    print!("{}", text_table(&report));
    println!("\nResults: {}", out_path.display());
    if let Some(readme) = &cli.readme {
        write_readme(readme, &report)?;
    }
    Ok(all_ok)
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=,:+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn render(path: &Path, readme: Option<&Path>) -> Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let report: Report = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    print!("{}", text_table(&report));
    println!();
    print!("{}", markdown(&report));
    if let Some(readme) = readme {
        write_readme(readme, &report)?;
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.internal {
        Some(Internal::RaskRun { workload, dir, chunk, threads, repeats }) => Workload::from_id(workload)
            .ok_or_else(|| anyhow!("unknown workload `{workload}`"))
            .and_then(|w| rask_run(w, dir, *chunk, *threads, *repeats))
            .and_then(|run| {
                println!("{}", serde_json::to_string(&run)?);
                Ok(())
            })
            .map(|()| true),
        Some(Internal::Generate { dataset, scale, data_dir }) => Dataset::from_name(dataset)
            .ok_or_else(|| anyhow!("unknown data set `{dataset}`"))
            .and_then(|d| d.spec(*scale, data_dir).generate())
            .map(|()| true),
        None => match &cli.render {
            Some(path) => render(path, cli.readme.as_deref()).map(|()| true),
            None => harness(&cli),
        },
    };
    match result {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("compare: some Rask runs failed (see above and the JSON)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("compare: error: {e:#}");
            std::process::exit(2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_parse_groups_and_reject_unknown_names() {
        let pca = parse_workloads("pca").unwrap();
        assert_eq!(pca.len(), 4);
        assert_eq!(parse_workloads("hyperband,kmeans").unwrap(), vec![Workload::KMeans, Workload::Hyperband]);
        assert_eq!(parse_workloads("all").unwrap().len(), Workload::ALL.len());
        let e = parse_workloads("kmeans,svm").unwrap_err().to_string();
        assert!(e.contains("unknown workload `svm`"), "{e}");
    }

    #[test]
    fn markers_are_replaced_and_missing_markers_named() {
        let text = format!("intro\n{BEGIN}\nold table\n{END}\nrest\n");
        let new = replace_between_markers(&text, "| new |\n").unwrap();
        assert_eq!(new, format!("intro\n{BEGIN}\n| new |\n{END}\nrest\n"));
        assert!(replace_between_markers("no markers", "x").unwrap_err().to_string().contains(BEGIN));
    }

    #[test]
    fn date_and_numbers_format() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'));
        assert_eq!(thousands(2_000_000), "2,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(seconds(0.2345), "234 ms");
        assert_eq!(bytes(370_000_000), "370 MB");
    }

    #[test]
    fn ratios_and_cells() {
        let rask =
            Run { seconds: Some(1.0), peak_rss_bytes: Some(100_000_000), quality: Some(0.875), ..Run::default() };
        let dask =
            Run { seconds: Some(15.5), peak_rss_bytes: Some(480_000_000), quality: Some(0.875), ..Run::default() };
        assert_eq!(ratio(&rask, Some(&dask)), "15.5× time, 4.8× memory");
        assert_eq!(ratio(&rask, None), "–");
        assert_eq!(cell("logistic", Some(&rask), true, true), "**1.00 s**, 100 MB, accuracy 0.8750");
    }
}
