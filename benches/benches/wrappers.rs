//! Bring-your-own-model wrappers, timed: ParallelPostFit predict over a large array (against
//! one parallel read pass of the same blocks with 16 independent sums, the memory-bandwidth
//! bound), a
//! BlockwiseVotingClassifier of SGD members (fit and predict), linfa and smartcore models under
//! ParallelPostFit against a plain single-threaded loop, smartcore's copy cost, and the bytes
//! a graph carries for a 10 MB model over 1,000 blocks (embedded in every task's arguments
//! against stored once and referenced by key).
//!
//! `cargo bench -p rask-benches --bench wrappers`
//!
//! Environment: `RASK_WRAPPERS_ROWS` (ParallelPostFit rows, default 10,000,000),
//! `RASK_WRAPPERS_CHUNK` (rows per block, default 500,000), `RASK_WRAPPERS_ONLY`
//! (comma-separated from `ppf`, `voting`, `foreign`, `bytes`), `RASK_WRAPPERS_NPY_DIR` (if
//! set, writes `ppf_x.npy`, `ppf_y.npy`, `vote_x.npy`, `vote_y.npy` there for
//! `benches/compare/wrappers.py`, which runs dask-ml and scikit-learn on the same rows),
//! `RASK_MALLOC` (`default` for glibc malloc's own settings; otherwise the bench keeps freed
//! memory as the `rask` command does, see `rask::memory`),
//! `RASK_WRAPPERS_REPEAT` (rounds of the ParallelPostFit measurement, default 7: each round
//! times a read pass, the gathered predict and the predict left in blocks back to back, since
//! this VM's memory bandwidth drifts by up to 2x within minutes; medians are reported, with the
//! range of the rounds' ratios to their own read pass).
//! Data: `make_classification`, 20 features, seed 0 (ParallelPostFit) and 1 (voting).
//! Smoke test: `RASK_WRAPPERS_ROWS=200000 RASK_WRAPPERS_CHUNK=20000 cargo bench -p rask-benches --bench wrappers`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rask::datasets::npy::{header_bytes, write_npy};
use rask::datasets::{make_classification, ClassificationParams};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::adapters::linfa::LinfaDecisionTreeParams;
use rask::ml::adapters::smartcore::{to_dense, SmartcoreRandomForestClassifierParams};
use rask::ml::ensemble::BlockwiseVotingClassifier;
use rask::ml::model::{Model, ModelParams};
use rask::ml::ndarray::{Array1, Array2};
use rask::ml::wrappers::ParallelPostFit;
use rask::ml::{ApplyModel, ChunkedArray, ChunkedDataset, ChunkedVector, Fit, Method};
use rask::Scheduler;
use rayon::prelude::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn wanted(part: &str) -> bool {
    std::env::var("RASK_WRAPPERS_ONLY").map_or(true, |v| v.split(',').any(|p| p.trim() == part))
}

/// The best of `n` runs of `f`, in seconds.
fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..n {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(r);
    }
    (best, last.expect("n >= 1"))
}

/// Times `n` runs of `f` (at least one): the median and the fastest run, in seconds, and the
/// last result.
fn median_of<T>(n: usize, mut f: impl FnMut() -> T) -> ((f64, f64), T) {
    let mut times = Vec::with_capacity(n.max(1));
    let mut last = None;
    for _ in 0..n.max(1) {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    let fastest = times.iter().copied().fold(f64::INFINITY, f64::min);
    ((median(&times), fastest), last.expect("at least one run"))
}

fn data(rows: usize, chunk: usize, seed: u64, s: &Scheduler) -> ChunkedDataset<f64, i64> {
    let params = ClassificationParams::new().n_samples(rows).n_features(20).seed(seed).chunk_rows(chunk);
    make_classification(&params).expect("generate").persist_on(s).expect("persist")
}

fn write_xy(ds: &ChunkedDataset<f64, i64>, dir: &Path, prefix: &str, s: &Scheduler) {
    std::fs::create_dir_all(dir).expect("create the npy folder");
    write_npy(ds.x(), dir.join(format!("{prefix}_x.npy")), s, 4).expect("write x");
    let y = ds.y().expect("labels").compute_on(s).expect("labels");
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{prefix}_y.npy"))).expect("create y"));
    f.write_all(&header_bytes("<i8", &format!("({},)", y.len()))).expect("write y");
    for v in y.iter() {
        f.write_all(&v.to_le_bytes()).expect("write y");
    }
}

/// The sum of `v` in 16 independent lanes: a read pass bound by memory bandwidth, not by the
/// latency of one chain of additions (`iter().sum()`, one add every 2 cycles, which on this VM
/// ran at 27–32 GB/s on two threads against 35–69 GB/s for this, 2026-12-06).
fn lane_sum(v: &[f64]) -> f64 {
    let mut acc = [0.0f64; 16];
    let chunks = v.chunks_exact(16);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f64>() + tail
}

/// The median of `v` (not empty).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn accuracy(a: &Array1<i64>, b: &Array1<i64>) -> f64 {
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

fn main() {
    // As the `rask` command does (`RASK_MALLOC=default` for glibc's own settings).
    let policy = rask::memory::retain_freed_memory().expect("RASK_MALLOC");
    let s = Scheduler::threaded();
    let npy_dir = std::env::var("RASK_WRAPPERS_NPY_DIR").ok().map(PathBuf::from);
    let threads = rayon::current_num_threads();
    println!("wrappers: threaded scheduler, {threads} threads; allocator: {policy}");

    if wanted("ppf") {
        let rows = env_usize("RASK_WRAPPERS_ROWS", 10_000_000);
        let chunk = env_usize("RASK_WRAPPERS_CHUNK", 500_000);
        let ds = data(rows, chunk, 0, &s);
        if let Some(dir) = &npy_dir {
            write_xy(&ds, dir, "ppf", &s);
        }
        // Fitted in memory on the first block (as the comparison fits scikit-learn on the
        // first 1,000,000 rows or fewer).
        let fit_rows = rows.min(1_000_000);
        let head = ds.x().slice_rows(0, fit_rows).expect("slice").compute_on(&s).expect("head");
        let head_y = ds.y().expect("y").slice_rows(0, fit_rows).expect("slice").compute_on(&s).expect("head y");
        let model = LogisticRegressionParams::new().fit(&rask::ml::Dataset::new(head.clone(), head_y)).expect("fit");
        let blocks: Vec<Array2<f64>> = s
            .compute(&ds.x().graph(), &ds.x().block_keys())
            .expect("blocks")
            .iter()
            .map(|v| v.get::<Array2<f64>>().expect("block").clone())
            .collect();
        let read_pass = || blocks.par_iter().map(|b| lane_sum(b.as_slice().expect("standard layout"))).sum::<f64>();
        let wrapped = ParallelPostFit::new(model.clone()).expect("wrap");
        let repeat = env_usize("RASK_WRAPPERS_REPEAT", 7).max(1);
        let gathered = || wrapped.predict(ds.x()).expect("predict").compute_on(&s).expect("compute");
        // The first run in this process touches the result's pages for the first time.
        let (first, mut pred) = best_of(1, gathered);
        // The same predictions left in their blocks, as a batch job writing one file per block
        // has them: the difference is the gather into one fresh 80 MB array.
        let lazy = wrapped.predict(ds.x()).expect("predict");
        // This VM's memory bandwidth drifts by up to 2x within minutes, so each round times the
        // read pass and both predicts back to back, and the ratios are taken within a round.
        let (mut reads, mut gathers, mut in_blocks) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..repeat {
            reads.push(best_of(1, read_pass).0);
            let (t, p) = best_of(1, gathered);
            gathers.push(t);
            pred = p;
            in_blocks.push(best_of(1, || s.compute(&lazy.graph(), &lazy.block_keys()).expect("blocks").len()).0);
        }
        let (read_chain, _) = best_of(5, || blocks.par_iter().map(|b| b.iter().sum::<f64>()).sum::<f64>());
        let (embedded, pred2) = best_of(5, || {
            rask::ml::Predict::predict(&model, ds.x()).expect("predict").compute_on(&s).expect("compute")
        });
        assert_eq!(pred, pred2);
        let (one_thread, _) = best_of(3, || {
            blocks.iter().map(|b| rask::ml::Predict::predict(&model, b).expect("predict").len()).sum::<usize>()
        });
        let y = ds.y().expect("y").compute_on(&s).expect("y");
        let gb = (rows * 20 * 8) as f64 / 1e9;
        let read = median(&reads);
        println!("\nParallelPostFit(LogisticRegression).predict, {rows} x 20 f64 ({gb:.2} GB) in blocks of {chunk}");
        println!("{repeat} rounds, each timing the read pass and the two predicts back to back; medians, and the range of the rounds' ratios");
        println!("{:<48} {:>7} {:>8} {:>12}", "", "time (s)", "GB/s", "vs read pass");
        let ratios = |ts: &[f64]| {
            let r: Vec<f64> = ts.iter().zip(&reads).map(|(t, r)| t / r).collect();
            format!(
                "  rounds {:.2}-{:.2}x",
                r.iter().copied().fold(f64::INFINITY, f64::min),
                r.iter().copied().fold(0.0, f64::max)
            )
        };
        for (name, t, note) in [
            (
                "read pass (16 sums, the memory-bandwidth bound)",
                read,
                format!("  fastest {:.3} s", reads.iter().copied().fold(f64::INFINITY, f64::min)),
            ),
            ("ParallelPostFit predict (model by key)", median(&gathers), ratios(&gathers)),
            ("  the same, left in blocks (no gather)", median(&in_blocks), ratios(&in_blocks)),
            ("read pass with one chain of additions", read_chain, "  best of 5".into()),
            ("model.predict (model in every task)", embedded, "  best of 5".into()),
            ("one thread, plain loop over the blocks", one_thread, "  best of 3".into()),
        ] {
            println!("{name:<48} {t:>7.3} {:>8.2} {:>11.2}x{note}", gb / t, t / read);
        }
        println!("(the predict's first run in this process: {first:.3} s)");
        println!("accuracy {:.4}", accuracy(&pred, &y));
    }

    if wanted("voting") {
        let rows = 1_000_000;
        let ds = data(rows, rows / 10, 1, &s);
        if let Some(dir) = &npy_dir {
            write_xy(&ds, dir, "vote", &s);
        }
        // scikit-learn's SGDClassifier defaults: hinge loss, alpha 1e-4, max_iter 1000, tol 1e-3.
        let sgd = SgdClassifierParams::new().seed(0);
        let voting = BlockwiseVotingClassifier::new(sgd);
        let ((fit, fit_fastest), model) = median_of(5, || voting.fit_on(&ds, &s).expect("fit"));
        let ((predict, predict_fastest), pred) =
            median_of(5, || model.predict(ds.x()).expect("predict").compute_on(&s).expect("compute"));
        let y = ds.y().expect("y").compute_on(&s).expect("y");
        println!("\nBlockwiseVotingClassifier(SGDClassifier), {rows} x 20 in 10 blocks, hard voting (medians of 5)");
        println!(
            "fit {fit:.3} s (fastest {fit_fastest:.3})   predict {predict:.3} s (fastest {predict_fastest:.3})   \
             accuracy {:.4}",
            accuracy(&pred, &y)
        );
    }

    if wanted("foreign") {
        let rows = 1_000_000;
        let ds = data(rows, 100_000, 2, &s);
        let x = ds.x().compute_on(&s).expect("x");
        let y = ds.y().expect("y").compute_on(&s).expect("y");
        let train = x.slice(rask::ml::ndarray::s![..100_000, ..]);
        let train_y = y.slice(rask::ml::ndarray::s![..100_000]);
        let blocks: Vec<Array2<f64>> =
            (0..10).map(|b| x.slice(rask::ml::ndarray::s![b * 100_000..(b + 1) * 100_000, ..]).to_owned()).collect();
        println!("\nForeign models under ParallelPostFit, predicting {rows} x 20 in 10 blocks");
        println!("{:<40} {:>10} {:>14} {:>14} {:>8}", "model", "fit (s)", "plain loop r/s", "wrapped r/s", "speedup");
        let tree_params = LinfaDecisionTreeParams { max_depth: Some(12), ..Default::default() };
        let (tfit, tree) = best_of(1, || tree_params.fit_rows(train, Some(train_y), None).expect("fit tree"));
        let forest_params =
            SmartcoreRandomForestClassifierParams { n_trees: 20, max_depth: Some(10), ..Default::default() };
        let (ffit, forest) = best_of(1, || forest_params.fit_rows(train, Some(train_y), None).expect("fit forest"));
        let (tloop, _) =
            best_of(3, || blocks.iter().map(|b| tree.predict_rows(b.view()).expect("p").len()).sum::<usize>());
        let tw = ParallelPostFit::new(tree.clone()).expect("wrap");
        let (twrap, tp) = best_of(3, || tw.predict(ds.x()).expect("p").compute_on(&s).expect("c"));
        let (floop, _) =
            best_of(3, || blocks.iter().map(|b| forest.predict_rows(b.view()).expect("p").len()).sum::<usize>());
        let fw = ParallelPostFit::new(forest.clone()).expect("wrap");
        let (fwrap, fp) = best_of(3, || fw.predict(ds.x()).expect("p").compute_on(&s).expect("c"));
        let r = rows as f64;
        println!(
            "{:<40} {tfit:>10.2} {:>14.3e} {:>14.3e} {:>7.2}x   accuracy {:.4}",
            "linfa DecisionTree (max_depth 12)",
            r / tloop,
            r / twrap,
            tloop / twrap,
            accuracy(&tp, &y)
        );
        println!(
            "{:<40} {ffit:>10.2} {:>14.3e} {:>14.3e} {:>7.2}x   accuracy {:.4}",
            "smartcore RandomForest (20 trees, depth 10)",
            r / floop,
            r / fwrap,
            floop / fwrap,
            accuracy(&fp, &y)
        );
        let (copy, _) = best_of(5, || to_dense(x.view()).expect("copy"));
        println!("smartcore adapter copy of {rows} x 20 into DenseMatrix: {:.1} ms", copy * 1e3);
    }

    if wanted("bytes") {
        // A 10 MB model: a StandardScaler fitted on 140,000 columns (mean, var, scale, counts).
        let cols = 140_000;
        let wide = ChunkedArray::from_array(Array2::<f64>::from_shape_fn((4, cols), |(i, j)| (i * j) as f64).view(), 4)
            .expect("wide");
        let scaler = StandardScalerParams::new().fit(&wide).expect("fit scaler");
        let model_bytes = rask::ml::traits::to_bytes(&scaler).expect("bytes").len();
        let embedded =
            rask::ops::op_args(&ApplyModel::embedded(scaler.clone(), Method::Transform)).expect("args").len();
        let by_ref = rask::ops::op_args(&ApplyModel::<rask::estimators::preprocessing::StandardScaler>::by_reference(
            Method::Transform,
        ))
        .expect("args")
        .len();
        let blocks = 1_000;
        let mb = |b: usize| b as f64 / 1e6;
        println!("\nGraph bytes for a {:.1} MB model over {blocks} blocks", mb(model_bytes));
        println!("model in every task's arguments (model.transform): {:>10.1} MB", mb(embedded * blocks));
        println!(
            "model stored once, tasks reference it (ParallelPostFit): {:>10.3} MB ({} bytes of arguments per task)",
            mb(model_bytes + by_ref * blocks),
            by_ref
        );
        // The same with a graph that is really built: count what its nodes carry.
        let x = ChunkedArray::from_blocks(vec![Array2::<f64>::zeros((1, cols)); blocks]).expect("blocks");
        let wrapped = ParallelPostFit::new(scaler).expect("wrap");
        let t = wrapped.transform(&x).expect("transform");
        let g = t.graph();
        let mut data_nodes = 0;
        for k in t.block_keys() {
            if let Some(rask::Node::Task(task)) = g.get(&k) {
                data_nodes += usize::from(task.inputs.contains(wrapped.model_key()));
            }
        }
        println!("{data_nodes} of {blocks} block tasks read the one model node {}", wrapped.model_key());
        let _ = ChunkedVector::<i64>::from_array(Array1::zeros(1).view(), 1);
    }
}
