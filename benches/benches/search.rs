//! Model-selection benchmarks, side by side with `benches/compare/grid_search.py` and
//! `benches/compare/hyperband.py` (scikit-learn 1.6.1 and dask-ml 2025.1 on the same rows).
//!
//! `cargo bench -p rask-benches --bench search`
//!
//! 1. `GridSearchCV` of `StandardScaler` + `LogisticRegression`, `scaler__with_mean` × 6 values
//!    of `logistic__c` (12 candidates) × `KFold(3)`, on 50,000 × 20 rows (`make_classification`,
//!    seed 0): time, best score, and the merged graph's fit tasks against a search without
//!    sharing (the de-duplication).
//! 2. `HyperbandSearchCV` over `SGDClassifier` (alpha log-uniform on [1e-6, 1e-1), loss hinge or
//!    log_loss, penalty l2 or l1), 200,000 × 20 rows in 10,000-row blocks, max_iter 27,
//!    aggressiveness 3, 5% of each block held out (dask-ml's default for 20 blocks): time, best
//!    score, models, `partial_fit` calls, and the time until the best score was first reached.
//! 3. ASHA at Hyperband's budget (at most 357 calls, 4 jobs per round, a pool of 4 × 49
//!    candidates): the same figures.
//!
//! Environment: `RASK_SEARCH_NPY_DIR` (writes `grid/{x,y}.npy` and `hyperband/{x,y}.npy` there
//! for the Python scripts), `RASK_SEARCH_ONLY` (`grid`, `hyperband` or `asha`),
//! `RASK_SEARCH_SEEDS` (Hyperband seeds, comma-separated; default `0`).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use rask::datasets::npy::{header_bytes, write_npy};
use rask::datasets::{make_classification, ClassificationParams};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::model_selection::{AdaptiveSearch, GridSearchCV, HyperbandSearchCV};
use rask::ml::params::{Distribution, ParameterGrid, ParameterSampler};
use rask::ml::{ChunkedDataset, KFold, Pipeline};
use rask::Scheduler;
use rask_benches::peak_rss_bytes;

fn data(rows: usize, chunk: usize, s: &Scheduler) -> ChunkedDataset<f64, i64> {
    let params = ClassificationParams::new().n_samples(rows).n_features(20).seed(0).chunk_rows(chunk);
    make_classification(&params).expect("generate").persist_on(s).expect("persist")
}

fn write(ds: &ChunkedDataset<f64, i64>, dir: &Path, s: &Scheduler) {
    std::fs::create_dir_all(dir).expect("create the npy folder");
    write_npy(ds.x(), dir.join("x.npy"), s, 4).expect("write x.npy");
    let y = ds.y().expect("labels").compute_on(s).expect("labels");
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("y.npy")).expect("create y.npy"));
    f.write_all(&header_bytes("<i8", &format!("({},)", y.len()))).expect("write y.npy");
    for v in y.iter() {
        f.write_all(&v.to_le_bytes()).expect("write y.npy");
    }
    println!("search/npy      wrote {}/x.npy and y.npy", dir.display());
}

fn main() {
    let s = Scheduler::threaded();
    let only = std::env::var("RASK_SEARCH_ONLY").unwrap_or_default();
    let npy = std::env::var("RASK_SEARCH_NPY_DIR").ok();

    if only.is_empty() || only == "grid" {
        let ds = data(50_000, 10_000, &s);
        if let Some(d) = &npy {
            write(&ds, &Path::new(d).join("grid"), &s);
        }
        let pipe =
            Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
        let grid = ParameterGrid::new()
            .add("scaler__with_mean", [true, false])
            .add("logistic__c", [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]);
        let search = GridSearchCV::new(pipe, grid).cv(KFold { n_splits: 3, shuffle_within_blocks: None });
        // One warm-up (page faults, thread pool), then the timed run.
        rask::with_scheduler(&s, || search.fit(&ds)).expect("grid search");
        let t = Instant::now();
        let r = rask::with_scheduler(&s, || search.fit(&ds)).expect("grid search");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "grid/rask       {secs:.3} s  best {:.4} ({})  fit tasks {} of {} without sharing, {} graph nodes, peak RSS {:.0} MB",
            r.best_score,
            rask::ml::params::format_candidate(&r.best_params),
            r.stats.fit_tasks,
            r.stats.step_fits_without_sharing,
            r.stats.tasks_in_graph,
            peak_rss_bytes().unwrap_or(0) as f64 / 1e6
        );
    }

    if only.is_empty() || only == "hyperband" || only == "asha" {
        let ds = data(200_000, 10_000, &s);
        if let Some(d) = &npy {
            write(&ds, &Path::new(d).join("hyperband"), &s);
        }
        let sgd = SgdClassifierParams::new().classes(vec![0, 1]).seed(0);
        let space = ParameterSampler::new(1, 0)
            .add("alpha", Distribution::log_uniform(1e-6, 1e-1))
            .add("loss", Distribution::choice(["hinge", "log_loss"]))
            .add("penalty", Distribution::choice(["l2", "l1"]));
        let hb = HyperbandSearchCV::new(sgd.clone(), space.clone(), 27).aggressiveness(3);
        let planned: u64 = hb.plan().expect("plan").iter().map(|b| b.partial_fit_calls).sum();
        if only.is_empty() || only == "hyperband" {
            // Seeds (`RASK_SEARCH_SEEDS`, default "0"): the best score depends on the sampled
            // candidates and the held-out rows, so several seeds show its spread.
            let seeds = std::env::var("RASK_SEARCH_SEEDS").unwrap_or_else(|_| "0".into());
            for seed in seeds.split(',').filter_map(|v| v.trim().parse::<u64>().ok()) {
                let search = hb.clone().seed(seed).test_size(0.05).search().expect("plan");
                rask::with_scheduler(&s, || search.fit(&ds)).expect("warm-up");
                let t = Instant::now();
                let r = rask::with_scheduler(&s, || search.fit(&ds)).expect("hyperband");
                println!(
                    "hyperband/rask  seed {seed}: {:.3} s  best {:.4} ({})  {} models, {} partial_fit calls (planned {planned}), {} rounds, best first reached at {:.3} s, peak RSS {:.0} MB",
                    t.elapsed().as_secs_f64(),
                    r.best_score,
                    rask::ml::params::format_candidate(&r.best_params),
                    r.models.len(),
                    r.partial_fit_calls,
                    r.rounds,
                    r.time_to_best,
                    peak_rss_bytes().unwrap_or(0) as f64 / 1e6
                );
            }
        }
        if only.is_empty() || only == "asha" {
            let n_models = hb.plan().expect("plan").iter().map(|b| b.n_models).sum::<usize>();
            // ASHA starts new models while no promotion is due, so it gets a larger pool than
            // Hyperband's 49 models and spends its budget on them.
            let mut sampler = space.clone();
            sampler.set_n_iter(4 * n_models);
            let asha = AdaptiveSearch::asha(sgd, sampler, 1, 3, 27, 4, planned).expect("asha").seed(0).test_size(0.05);
            rask::with_scheduler(&s, || asha.fit(&ds)).expect("warm-up");
            let t = Instant::now();
            let r = rask::with_scheduler(&s, || asha.fit(&ds)).expect("asha");
            println!(
                "asha/rask       {:.3} s  best {:.4} ({})  {} models started, {} partial_fit calls (budget {planned}), {} rounds, best first reached at {:.3} s",
                t.elapsed().as_secs_f64(),
                r.best_score,
                rask::ml::params::format_candidate(&r.best_params),
                r.models.iter().filter(|m| !m.history.is_empty()).count(),
                r.partial_fit_calls,
                r.rounds,
                r.time_to_best
            );
        }
    }
}
