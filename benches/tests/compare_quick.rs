//! The side-by-side harness, end to end at `--quick` sizes without Python: every workload runs
//! in its own child, the JSON has a finite time, peak memory and quality for each, the data is
//! reused on a second run, and bad flags are refused with a message that names them.

use std::path::PathBuf;
use std::process::Command;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-compare-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

#[test]
fn quick_run_without_python_writes_every_workload() {
    let dir = scratch();
    let data = dir.join("data");
    let json = dir.join("compare.json");
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--quick", "--no-python", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(&json)
        .output()
        .expect("run compare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "compare failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("Python not available: running Rask alone (--no-python)"), "{stdout}");
    assert!(stdout.contains("| workload"), "no table printed:\n{stdout}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file")).expect("valid JSON");
    assert_eq!(report["python"]["available"], false);
    assert!(report["machine"]["nproc"].as_u64().is_some_and(|n| n >= 1));
    assert!(report["command"].as_str().is_some_and(|c| c.contains("--quick")));
    let workloads = report["workloads"].as_array().expect("workloads");
    let ids: Vec<&str> = workloads.iter().filter_map(|w| w["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "kmeans",
            "pca_tsqr",
            "pca_randomized",
            "pca_randomized0",
            "pca_covariance_eigh",
            "logistic",
            "grid",
            "hyperband"
        ]
    );
    for w in workloads {
        let rask = &w["rask"];
        let id = &w["id"];
        assert!(rask["error"].is_null(), "{id}: {}", rask["error"]);
        let secs = rask["seconds"].as_f64().expect("seconds");
        assert!(secs.is_finite() && secs > 0.0, "{id}: {secs}");
        let q = rask["quality"].as_f64().expect("quality");
        assert!(q.is_finite(), "{id}: quality {q}");
        assert!(rask["peak_rss_bytes"].as_u64().is_some_and(|b| b > 1_000_000), "{id}: {}", rask["peak_rss_bytes"]);
        assert!(w["dask-ml"].is_null() && w["scikit-learn"].is_null(), "{id}: Python ran");
        // The quality measures mean what they say: accuracies and scores in (0.5, 1], explained
        // variance ratios summed in (0, 1], inertia positive.
        match id.as_str().unwrap_or("") {
            "kmeans" => assert!(q > 0.0),
            i if i.starts_with("pca") => assert!(q > 0.5 && q <= 1.0 + 1e-9, "{id}: {q}"),
            _ => assert!(q > 0.5 && q <= 1.0, "{id}: {q}"),
        }
    }

    // A second run reuses the data and renders the same results file to markdown.
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--quick", "--no-python", "--workloads", "kmeans", "--data-dir"])
        .arg(&data)
        .arg("--out")
        .arg(dir.join("again.json"))
        .output()
        .expect("run compare again");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("compare: reusing"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_compare")).arg("--render").arg(&json).output().expect("render");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        md.contains("| KMeans k = 8") && md.contains("Command: `cargo run -p rask-benches --release --bin compare")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_are_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--workloads", "svm", "--no-python"])
        .output()
        .expect("run compare");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown workload `svm`"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_compare")).args(["--size", "0", "--no-python"]).output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--size"));
}
