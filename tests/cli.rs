//! The `rask` command line as a user runs it: `fit`, `predict`, `sweep` and their errors, on
//! real files, through the real binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rask::datasets::generators::{make_classification, ClassificationParams};
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::ndarray::{Array1, Array2};
use rask::ml::pipeline::Pipeline;
use rask::ml::{ChunkedDataset, Fit, Predict};
use rask::Scheduler;

fn rask(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the rask binary runs")
}

fn ok(args: &[&str], dir: &Path) -> String {
    let out = rask(args, dir);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "rask {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// Runs a command that must fail; returns its standard error.
fn fails(args: &[&str], dir: &Path) -> String {
    let out = rask(args, dir);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "rask {args:?} should fail");
    assert!(!stderr.contains("panicked"), "rask {args:?} panicked:\n{stderr}");
    stderr
}

/// A classification dataset in memory: `rows × 6` features, 3 classes.
fn data(rows: usize, seed: u64) -> (Array2<f64>, Array1<i64>) {
    let mut p = ClassificationParams::new();
    p.n_samples = rows;
    p.n_features = 6;
    p.n_informative = 4;
    p.n_redundant = 1;
    p.n_classes = 3;
    p.shift = 2.0.into();
    p.scale = 5.0.into();
    p.seed = seed;
    p.chunk_rows = rows;
    let ds = make_classification(&p).unwrap();
    let s = Scheduler::sync();
    (ds.x().compute_on(&s).unwrap(), ds.y().unwrap().compute_on(&s).unwrap())
}

fn write_csv(path: &Path, x: &Array2<f64>, y: Option<&Array1<i64>>) {
    let mut text = (0..x.ncols()).map(|j| format!("f{j}")).collect::<Vec<_>>().join(",");
    if y.is_some() {
        text.push_str(",label");
    }
    text.push('\n');
    for (i, row) in x.rows().into_iter().enumerate() {
        text.push_str(&row.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(","));
        if let Some(y) = y {
            text.push_str(&format!(",{}", y[i]));
        }
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn write_npy(path: &Path, x: &Array2<f64>) {
    let chunked = rask::ml::ChunkedArray::from_array(x.view(), x.nrows()).unwrap();
    rask::datasets::write_npy(&chunked, path, &Scheduler::sync(), 1).unwrap();
}

fn read_labels(path: &Path) -> Vec<i64> {
    rask::datasets::read_npy_vector::<i64>(path, 1 << 20).unwrap().compute_on(&Scheduler::sync()).unwrap().to_vec()
}

#[test]
fn fit_save_predict_round_trip_equals_the_in_memory_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(3_000, 7);
    write_csv(&d.join("train.csv"), &x, Some(&y));
    let (xt, _) = data(500, 8);
    write_csv(&d.join("test.csv"), &xt, None);

    let out = ok(
        &[
            "fit",
            "--data",
            "train.csv",
            "--label",
            "label",
            "--chunk-rows",
            "1000",
            "--step",
            "standard_scaler",
            "--model",
            "logistic_regression",
            "--param",
            "c=0.5",
            "-o",
            "m.rask",
        ],
        d,
    );
    assert!(out.contains("training accuracy"), "{out}");
    let out = ok(&["predict", "m.rask", "test.csv", "-o", "pred", "--proba", "--no-progress"], d);
    assert!(out.contains("predicted 500 rows"), "{out}");
    let cli = read_labels(&d.join("pred/test.predictions.npy"));

    // The same pipeline, fitted in a program on the same blocks.
    let train = ChunkedDataset::new(
        rask::ml::ChunkedArray::from_array(x.view(), 1_000).unwrap(),
        rask::ml::ChunkedVector::from_array(y.view(), 1_000).unwrap(),
    )
    .unwrap();
    let pipe = Pipeline::new("standard_scaler", StandardScalerParams::new())
        .then("model", LogisticRegressionParams::new().c(0.5));
    let model = rask::with_scheduler(&Scheduler::threaded(), || pipe.fit(&train)).unwrap();
    let expected = model.predict(&xt).unwrap();
    assert_eq!(cli, expected.to_vec());

    // Probabilities: one row per input row, rows summing to 1.
    let proba = rask::datasets::read_npy::<f64>(d.join("pred/test.proba.npy"), 1 << 20)
        .unwrap()
        .compute_on(&Scheduler::sync())
        .unwrap();
    assert_eq!(proba.dim(), (500, 3));
    assert!(proba.rows().into_iter().all(|r| (r.sum() - 1.0).abs() < 1e-9));

    // The model file names what it holds.
    let file = rask::jobs::ModelFile::load(&d.join("m.rask")).unwrap();
    assert_eq!(file.estimator, "logistic_regression");
    assert_eq!(file.features.names.as_deref().unwrap(), ["f0", "f1", "f2", "f3", "f4", "f5"]);
    assert_eq!(file.spec.step_names(), ["standard_scaler", "model"]);
}

/// Runs a command that must succeed with plain progress lines (standard error is a pipe, and
/// `RASK_PROGRESS_SECONDS=0` prints one per update); returns its standard error.
fn progress_lines(args: &[&str], dir: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env("RASK_PROGRESS_SECONDS", "0")
        .output()
        .expect("the rask binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "rask {args:?} failed:\n{stderr}");
    stderr
}

#[test]
fn fit_reports_each_step_and_predict_reports_rows_on_a_local_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(3_000, 11);
    write_csv(&d.join("train.csv"), &x, Some(&y));
    let (xt, _) = data(900, 12);
    write_csv(&d.join("test.csv"), &xt, None);
    let fit =
        ["fit", "--data", "train.csv", "--label", "label", "--chunk-rows", "500", "--model", "logistic_regression"];
    let err = progress_lines(&[&fit[..], &["-o", "m.rask"]].concat(), d);
    // One line per step, however many graphs the step ran (L-BFGS runs one per evaluation).
    let done: Vec<&str> = err.lines().filter(|l| l.contains(": done in ")).collect();
    assert_eq!(done.len(), 2, "{err}");
    assert!(done[0].starts_with("fit logistic_regression: done in "), "{err}");
    assert!(done[1].starts_with("score (training data): done in "), "{err}");
    let graphs: u64 = done[0].split('(').nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(graphs > 2, "an iterative fit runs several graphs: {err}");
    // --no-progress silences it.
    let err = progress_lines(&[&fit[..], &["-o", "m2.rask", "--no-progress"]].concat(), d);
    assert!(!err.contains("done in"), "{err}");

    // On worker processes, the rows written are reported as each block's file is.
    let err = progress_lines(
        &["predict", "m.rask", "test.csv", "-o", "pred", "--chunk-rows", "300", "--local-cluster", "2"],
        d,
    );
    let last = err.lines().rfind(|l| l.contains(" rows (")).unwrap_or_else(|| panic!("no rows line: {err}"));
    assert!(last.contains("900 / 900 rows (100%)"), "{err}");
    assert!(err.lines().filter(|l| l.contains(" rows (")).count() >= 3, "a line per block written: {err}");
    // A file of several blocks is written one output per block.
    let rows: usize = (0..3).map(|i| read_labels(&d.join(format!("pred/test-{i:04}.npy"))).len()).sum();
    assert_eq!(rows, 900);
}

#[test]
fn predict_over_a_folder_writes_one_output_per_input_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(2_000, 3);
    write_npy(&d.join("x.npy"), &x);
    // Targets as a 1-D .npy of int64.
    let mut bytes = rask::datasets::npy::header_bytes("<i8", &format!("({},)", y.len()));
    for v in &y {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(d.join("y.npy"), bytes).unwrap();
    ok(&["fit", "--data", "x.npy", "--y", "y.npy", "--model", "gaussian_nb", "-o", "nb.rask"], d);
    std::fs::create_dir(d.join("shards")).unwrap();
    let sizes = [300, 500, 200];
    let mut start = 0;
    for (i, n) in sizes.iter().enumerate() {
        write_npy(
            &d.join(format!("shards/part{i}.npy")),
            &x.slice(rask::ml::ndarray::s![start..start + n, ..]).to_owned(),
        );
        start += n;
    }
    ok(&["predict", "nb.rask", "shards", "-o", "out", "--no-progress"], d);
    for (i, n) in sizes.iter().enumerate() {
        assert_eq!(read_labels(&d.join(format!("out/part{i}.npy"))).len(), *n);
    }
    assert_eq!(std::fs::read_dir(d.join("out")).unwrap().count(), 3);
    // Parquet output: one file per input.
    ok(&["predict", "nb.rask", "shards", "-o", "outpq", "--output-format", "parquet", "--no-progress"], d);
    for i in 0..3 {
        assert!(d.join(format!("outpq/part{i}.parquet")).is_file());
    }
    // A file of the wrong width is refused with both counts.
    write_npy(&d.join("narrow.npy"), &x.slice(rask::ml::ndarray::s![..10, ..3]).to_owned());
    let e = fails(&["predict", "nb.rask", "narrow.npy", "-o", "bad"], d);
    assert!(e.contains("has 3 feature columns, but the model was fitted on 6"), "{e}");
}

const GRID: &str = r#"
[data]
path = "train.csv"
label = "label"
chunk_rows = 2000

[model]
estimator = "logistic_regression"
params = { max_iter = 300 }

[[model.steps]]
estimator = "standard_scaler"

[search]
method = "grid"
cv = 3
batch_size = 1
space = { c = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0], standard_scaler__with_std = [true, false] }

[output]
dir = "OUT"
"#;

/// The candidates' scores of a cv_results.csv, without the timing columns.
fn scores_of(csv: &Path) -> Vec<String> {
    std::fs::read_to_string(csv).unwrap().lines().map(|l| l.split(',').skip(2).collect::<Vec<_>>().join(",")).collect()
}

fn leaderboard(stdout: &str) -> String {
    // Without the lines that name the output folder or the time taken.
    stdout
        .lines()
        .filter(|l| !l.starts_with("sweep:") && !l.starts_with("wrote") && !l.starts_with("best "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_sweep_killed_mid_way_resumes_to_the_same_leaderboard() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(12_000, 11);
    write_csv(&d.join("train.csv"), &x, Some(&y));
    std::fs::write(d.join("whole.toml"), GRID.replace("OUT", "whole")).unwrap();
    std::fs::write(d.join("killed.toml"), GRID.replace("OUT", "killed")).unwrap();
    let whole = ok(&["sweep", "whole.toml", "--no-progress"], d);

    // Killed (SIGKILL) as soon as its first checkpoint is on disk, then run again.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(["sweep", "killed.toml", "--no-progress"])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let cp = d.join("killed/checkpoint.bin");
    let start = Instant::now();
    while !cp.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before its first checkpoint");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the sweep finished before it was killed; give it more work");
    assert!(!d.join("killed/best_model.rask").exists());

    let out = rask(&["sweep", "killed.toml"], d);
    let resumed = String::from_utf8_lossy(&out.stdout).to_string();
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{resumed}\n{progress}");
    assert!(progress.contains("resuming from") && progress.contains("of 32 batches done"), "{progress}");
    assert!(resumed.contains("resumed from the checkpoint"), "{resumed}");
    assert_eq!(leaderboard(&whole), leaderboard(&resumed));
    assert_eq!(scores_of(&d.join("whole/cv_results.csv")), scores_of(&d.join("killed/cv_results.csv")));
    assert_eq!(scores_of(&d.join("whole/cv_results.csv")).len(), 33);

    // The best model predicts, and a different sweep refuses the old checkpoint.
    ok(&["predict", "killed/best_model.rask", "train.csv", "-o", "p", "--no-progress"], d);
    std::fs::write(d.join("changed.toml"), GRID.replace("OUT", "killed").replace("cv = 3", "cv = 4")).unwrap();
    let e = fails(&["sweep", "changed.toml"], d);
    assert!(e.contains("written by a different sweep"), "{e}");
}

#[test]
fn a_hyperband_sweep_finds_the_classes_and_saves_a_model_that_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(4_000, 5);
    write_csv(&d.join("train.csv"), &x, Some(&y));
    let toml = r#"
        [data]
        path = "train.csv"
        label = "label"
        chunk_rows = 500
        [model]
        estimator = "sgd_classifier"
        [search]
        method = "hyperband"
        max_iter = 9
        space = { alpha = { log_uniform = [1e-5, 1e-1] }, loss = ["hinge", "log_loss"] }
        [output]
        dir = "hb"
    "#;
    std::fs::write(d.join("hb.toml"), toml).unwrap();
    let first = ok(&["sweep", "hb.toml", "--no-progress"], d);
    assert!(first.contains("best accuracy"), "{first}");
    // Run again: the finished search's checkpoint gives the same leaderboard at once.
    let again = ok(&["sweep", "hb.toml", "--no-progress"], d);
    assert_eq!(leaderboard(&first), leaderboard(&again));
    ok(&["predict", "hb/best_model.rask", "train.csv", "-o", "p", "--no-progress"], d);
    assert_eq!(read_labels(&d.join("p/train.npy")).len(), 4_000);
    let csv = std::fs::read_to_string(d.join("hb/cv_results.csv")).unwrap();
    assert!(csv.starts_with("model,bracket,calls,score"), "{csv}");
}

#[test]
fn bad_flags_files_columns_and_toml_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(300, 1);
    write_csv(&d.join("t.csv"), &x, Some(&y));
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["fit", "--data", "t.csv", "--label", "label", "--model", "logistic_regresion"],
            "did you mean `logistic_regression`",
        ),
        (vec!["fit", "--data", "t.csv", "--label", "lable", "--model", "gaussian_nb"], "no column named 'lable'"),
        (
            vec!["fit", "--data", "missing.csv", "--label", "label", "--model", "gaussian_nb"],
            "missing.csv does not exist",
        ),
        (vec!["fit", "--data", "t.csv", "--model", "gaussian_nb"], "--label"),
        (
            vec!["fit", "--data", "t.csv", "--label", "label", "--model", "logistic_regression", "--param", "cc=1"],
            "unknown parameter `cc`",
        ),
        (
            vec!["fit", "--data", "t.csv", "--label", "label", "--model", "logistic_regression", "--param", "c"],
            "name=value",
        ),
        (
            vec!["fit", "--data", "t.csv", "--label", "label", "--step", "kmeans", "--model", "gaussian_nb"],
            "not a transformer",
        ),
        (
            vec![
                "fit",
                "--data",
                "t.csv",
                "--label",
                "label",
                "--model",
                "gaussian_nb",
                "--param",
                "pca__n_components=2",
            ],
            "no step named `pca`",
        ),
        (vec!["fit", "--model", "gaussian_nb"], "--data"),
        (vec!["predict", "nothing.rask", "t.csv", "-o", "o"], "cannot read the model file"),
        (vec!["predict", "t.csv", "t.csv", "-o", "o"], "is not a Rask model file"),
        (vec!["sweep", "missing.toml"], "cannot read"),
        (
            vec!["fit", "--data", "t.csv", "--label", "label", "--model", "gaussian_nb", "--threads", "0"],
            "--threads must be at least 1",
        ),
    ];
    for (args, expected) in cases {
        let e = fails(&args, d);
        assert!(e.contains(expected), "rask {args:?}: expected `{expected}` in:\n{e}");
    }
    // A flag clap does not know: usage error, exit status 2.
    let out = rask(&["fit", "--dta", "t.csv"], d);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dta"));
    // Malformed TOML names the file and line; unknown fields and methods are named.
    let toml_cases = [
        ("[data\npath = 1", "bad.toml"),
        ("[data]\npath = \"t.csv\"\nlabel = \"label\"\nsmoothing = 1\n[model]\nestimator = \"gaussian_nb\"\n[search]\nmethod = \"grid\"\nspace = { var_smoothing = [1e-9] }\n[output]\ndir = \"o\"", "unknown field `smoothing`"),
        ("[data]\npath = \"t.csv\"\nlabel = \"label\"\n[model]\nestimator = \"gaussian_nb\"\n[search]\nmethod = \"gird\"\nspace = { var_smoothing = [1e-9] }\n[output]\ndir = \"o\"", "unknown variant `gird`"),
        ("[data]\npath = \"t.csv\"\nlabel = \"label\"\n[model]\nestimator = \"logistic_regression\"\n[search]\nmethod = \"hyperband\"\nmax_iter = 3\nspace = { c = [1.0] }\n[output]\ndir = \"o\"", "has no partial_fit"),
        ("[data]\npath = \"t.csv\"\nlabel = \"label\"\n[model]\nestimator = \"gaussian_nb\"\n[search]\nmethod = \"grid\"\nspace = { var_smoothing = { normal = [0, 1] } }\n[output]\ndir = \"o\"", "unknown distribution `normal`"),
        ("[data]\npath = \"t.csv\"\nlabel = \"label\"\n[model]\nestimator = \"gaussian_nb\"\n[search]\nmethod = \"grid\"\nspace = { smoothing = [1.0] }\n[output]\ndir = \"o\"", "unknown parameter `model__smoothing`"),
    ];
    for (text, expected) in toml_cases {
        std::fs::write(d.join("bad.toml"), text).unwrap();
        let e = fails(&["sweep", "bad.toml"], d);
        assert!(e.contains(expected), "expected `{expected}` in:\n{e}");
    }
}

#[test]
fn help_has_examples_and_a_closed_pipe_is_not_a_panic() {
    let d = std::env::temp_dir();
    for sub in ["fit", "predict", "sweep"] {
        let out = ok(&[sub, "--help"], &d);
        assert!(out.contains("Example"), "rask {sub} --help:\n{out}");
    }
    // `rask info | head -1`: standard output closes after one line.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rask"))
        .arg("info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn cluster_slurm_prints_the_batch_script_and_checks_its_flags() {
    let d = std::env::temp_dir();
    let script = ok(
        &[
            "cluster",
            "slurm",
            "--scheduler",
            "login01:8786",
            "--jobs",
            "3",
            "--cores",
            "4",
            "--memory",
            "8G",
            "--walltime",
            "01:00:00",
            "--partition",
            "compute",
            "--across-nodes",
            "--print-script",
        ],
        &d,
    );
    assert!(script.starts_with("#!"), "{script}");
    for line in
        ["#SBATCH --cpus-per-task=4", "#SBATCH --mem=8192M", "#SBATCH --time=01:00:00", "#SBATCH --partition=compute"]
    {
        assert!(script.contains(line), "{line} missing from:\n{script}");
    }
    assert!(script.contains("worker --scheduler login01:8786 --nthreads 4"), "{script}");
    let e = fails(&["cluster", "slurm", "--scheduler", "x:1", "--walltime", "two hours", "--print-script"], &d);
    assert!(e.contains("walltime"), "{e}");
    let out = rask(&["cluster", "slurm", "--jobs", "2"], &d);
    assert_eq!(out.status.code(), Some(2), "--scheduler is required");
}

#[test]
fn categorical_csv_columns_fit_and_predict_with_the_training_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let colors = ["red", "green", "blue"];
    let mut train = String::from("size,color,label\n");
    for i in 0..300 {
        let c = if i % 17 == 0 { "" } else { colors[i % 3] };
        train.push_str(&format!("{},{c},{}\n", (i % 10) as f64 * 0.5, usize::from(i % 3 == 0)));
    }
    std::fs::write(d.join("train.csv"), train).unwrap();
    std::fs::write(d.join("new.csv"), "size,color\n1.0,blue\n2.0,\n3.0,red\n").unwrap();
    std::fs::write(d.join("unseen.csv"), "size,color\n1.0,blue\n2.0,purple\n").unwrap();
    ok(
        &[
            "fit",
            "--data",
            "train.csv",
            "--label",
            "label",
            "--categorical",
            "color",
            "--step",
            "simple_imputer",
            "--param",
            "simple_imputer__strategy=most_frequent",
            "--model",
            "logistic_regression",
            "-o",
            "m.rask",
        ],
        d,
    );
    let file = rask::jobs::ModelFile::load(&d.join("m.rask")).unwrap();
    assert_eq!(
        file.features.categories,
        [("color".to_string(), vec!["blue".to_string(), "green".into(), "red".into()])]
    );
    ok(&["predict", "m.rask", "new.csv", "-o", "p", "--no-progress"], d);
    assert_eq!(read_labels(&d.join("p/new.npy")).len(), 3);
    let e = fails(&["predict", "m.rask", "unseen.csv", "-o", "q", "--no-progress"], d);
    assert!(e.contains("\"purple\" is not one of its 3 categories"), "{e}");
    // Without --categorical the string column is an error that names line and column.
    let e = fails(&["fit", "--data", "train.csv", "--label", "label", "--model", "gaussian_nb"], d);
    assert!(e.contains("column 'color'") && e.contains("as a number"), "{e}");
}

#[test]
fn linfa_and_smartcore_models_fit_predict_and_sweep_by_name() {
    use rask::ml::adapters::smartcore::SmartcoreDecisionTreeClassifierParams;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (x, y) = data(2_000, 21);
    write_csv(&d.join("train.csv"), &x, Some(&y));
    let (xt, _) = data(400, 22);
    write_csv(&d.join("test.csv"), &xt, None);
    let fit = [
        "fit",
        "--data",
        "train.csv",
        "--label",
        "label",
        "--model",
        "smartcore_decision_tree_classifier",
        "--param",
        "max_depth=6",
        "--param",
        "seed=3",
        "-o",
        "tree.rask",
        "--no-progress",
    ];
    let out = ok(&fit, d);
    assert!(out.contains("training accuracy"), "{out}");
    ok(&["predict", "tree.rask", "test.csv", "-o", "pred", "--no-progress"], d);
    // The same tree, fitted in memory in a program: the same labels.
    let tree = SmartcoreDecisionTreeClassifierParams { max_depth: Some(6), seed: 3, ..Default::default() };
    let train = ChunkedDataset::new(
        rask::ml::ChunkedArray::from_array(x.view(), 1_000).unwrap(),
        rask::ml::ChunkedVector::from_array(y.view(), 1_000).unwrap(),
    )
    .unwrap();
    let model = rask::with_scheduler(&Scheduler::threaded(), || tree.fit(&train)).unwrap();
    assert_eq!(read_labels(&d.join("pred/test.npy")), model.predict(&xt).unwrap().to_vec());

    // A grid sweep over a linfa tree's depth, behind a scaler; its best model predicts.
    let toml = r#"
        [data]
        path = "train.csv"
        label = "label"
        chunk_rows = 500
        [model]
        estimator = "linfa_decision_tree"
        [[model.steps]]
        estimator = "standard_scaler"
        [search]
        method = "grid"
        cv = 3
        space = { max_depth = [1, 3, 6] }
        [output]
        dir = "sweep"
    "#;
    std::fs::write(d.join("sweep.toml"), toml).unwrap();
    let out = ok(&["sweep", "sweep.toml", "--no-progress"], d);
    assert!(out.contains("3 candidates"), "{out}");
    let csv = std::fs::read_to_string(d.join("sweep/cv_results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    ok(&["predict", "sweep/best_model.rask", "test.csv", "-o", "pred2", "--no-progress"], d);
    assert_eq!(read_labels(&d.join("pred2/test.npy")).len(), 400);
    // Unknown parameters of a foreign model are refused by name.
    let e = fails(&["fit", "--data", "train.csv", "--label", "label", "--model", "linfa_kmeans", "--param", "k=3"], d);
    assert!(e.contains("unknown parameter `k`; valid parameters: n_clusters, n_runs"), "{e}");
}

#[test]
fn job_commands_take_the_workers_security_options_for_scheduler_and_refuse_them_without() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The demo reaches --scheduler through the same code as `rask worker`: its TLS files are
    // read (here, missing) before any connection is tried.
    std::fs::write(d.join("tok"), "0123456789abcdef0123456789abcdef").unwrap();
    let err = fails(
        &[
            "demo",
            "--scheduler",
            "127.0.0.1:1",
            "--token-file",
            "tok",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-ca",
            "ca.pem",
        ],
        d,
    );
    assert!(err.contains("cannot read c.pem"), "{err}");
    // Without --scheduler there is nothing to connect to: the options are refused, not ignored.
    let err = fails(&["demo", "--rows", "1000", "--token-file", "t"], d);
    assert!(err.contains("apply only with --scheduler"), "{err}");
}

#[test]
fn the_allocator_policy_is_chosen_by_rask_malloc_and_a_typo_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_rask"))
            .arg("estimators")
            .current_dir(dir.path())
            .env("RASK_MALLOC", value)
            .output()
            .expect("the rask binary runs")
    };
    for value in ["retain", "default"] {
        let out = run(value);
        assert!(out.status.success(), "RASK_MALLOC={value}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("kmeans"), "RASK_MALLOC={value} lists the estimators");
    }
    let out = run("jemalloc");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RASK_MALLOC=\"jemalloc\" is not a policy"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
