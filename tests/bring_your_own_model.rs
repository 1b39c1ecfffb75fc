//! Bring your own model: ParallelPostFit, Incremental and the blockwise voting ensembles with
//! Rask, linfa and smartcore models (and a model defined here), on the sync, threaded,
//! serialisation-checked and 2-worker LocalCluster schedulers; streaming predictions to files.

use std::sync::Arc;

use rask::datasets::generators::{make_classification, make_regression, ClassificationParams, RegressionParams};
use rask::datasets::sink::{OutputFormat, Outputs, WriteOptions};
use rask::distributed::LocalCluster;
use rask::estimators::linear_model::sgd::{SgdClassifierParams, SgdRegressorParams};
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::ml::adapters::linfa::{LinfaDecisionTreeParams, LinfaKMeansParams, LinfaLogisticRegressionParams};
use rask::ml::adapters::smartcore::{
    SmartcoreDecisionTreeClassifierParams, SmartcoreLinearRegressionParams, SmartcoreRandomForestClassifierParams,
};
use rask::ml::chunked::BlockLayer;
use rask::ml::ensemble::{BlockwiseVotingClassifier, BlockwiseVotingRegressor, Voting, VotingClassifier};
use rask::ml::model::{Model, ModelParams};
use rask::ml::model_selection::GridSearchCV;
use rask::ml::ndarray::{array, s, Array1, Array2, ArrayView1, ArrayView2};
use rask::ml::params::ParameterGrid;
use rask::ml::wrappers::{EarlyStopping, Incremental, ParallelPostFit};
use rask::ml::{BlockModel, ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, Fit, KFold, Predict, PredictProba};
use rask::{Scheduler, Value};
use serde::{Deserialize, Serialize};

fn data(n: usize, chunk: usize, seed: u64) -> ChunkedDataset<f64, i64> {
    let p = ClassificationParams::new().n_samples(n).n_features(6).seed(seed).chunk_rows(chunk);
    make_classification(&p).unwrap().persist_on(&Scheduler::sync()).unwrap()
}

fn schedulers() -> Vec<(&'static str, Scheduler)> {
    vec![
        ("sync", Scheduler::sync()),
        ("threaded", Scheduler::threaded_with(2).unwrap()),
        ("checked", Scheduler::checked(rask::registry())),
    ]
}

fn cluster(n: usize) -> LocalCluster {
    rask::distributed::local_cluster(n)
        .program(env!("CARGO_BIN_EXE_rask"), Vec::new())
        .quiet(true)
        .start()
        .expect("the local cluster starts")
}

/// Whole-array predictions of the three kinds of model, and their wrapped, blockwise ones.
fn check_parallel_post_fit<M: BlockModel<Label = i64> + std::fmt::Debug>(
    model: M,
    ds: &ChunkedDataset<f64, i64>,
    scheduler: &Scheduler,
    what: &str,
) {
    let x = ds.x().compute().unwrap();
    let expected = Predict::predict(&model, &x).unwrap();
    let wrapped = ParallelPostFit::new(model).unwrap();
    let got = wrapped.predict(ds.x()).unwrap().compute_on(scheduler).unwrap();
    assert_eq!(got, expected, "{what}");
    if wrapped.model().supports(rask::ml::Method::PredictProba) {
        let p = PredictProba::predict_proba(wrapped.model(), &x).unwrap();
        let pc = wrapped.predict_proba(ds.x()).unwrap().compute_on(scheduler).unwrap();
        assert_eq!(p, pc, "{what} predict_proba");
    }
}

#[test]
fn parallel_post_fit_equals_the_in_memory_model_for_rask_linfa_and_smartcore_models() {
    let ds = data(3_000, 700, 1);
    let x = ds.x().compute().unwrap();
    let y = ds.y().unwrap().compute().unwrap();
    let rask_model: LogisticRegression = LogisticRegressionParams::new().fit(&ds).unwrap();
    let tree = LinfaDecisionTreeParams { max_depth: Some(6), ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)
        .unwrap();
    let logit = LinfaLogisticRegressionParams::default().fit_rows(x.view(), Some(y.view()), None).unwrap();
    let forest = SmartcoreRandomForestClassifierParams { n_trees: 10, max_depth: Some(6), ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)
        .unwrap();
    let stree = SmartcoreDecisionTreeClassifierParams { max_depth: Some(5), ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)
        .unwrap();
    for (name, s) in schedulers() {
        check_parallel_post_fit(rask_model.clone(), &ds, &s, &format!("rask logistic on {name}"));
        check_parallel_post_fit(tree.clone(), &ds, &s, &format!("linfa tree on {name}"));
        check_parallel_post_fit(logit.clone(), &ds, &s, &format!("linfa logistic on {name}"));
        check_parallel_post_fit(forest.clone(), &ds, &s, &format!("smartcore forest on {name}"));
        check_parallel_post_fit(stree.clone(), &ds, &s, &format!("smartcore tree on {name}"));
    }
    // The model is one graph node that every block's task reads.
    let wrapped = ParallelPostFit::new(forest.clone()).unwrap();
    let pred = wrapped.predict(ds.x()).unwrap();
    let g = pred.graph();
    let readers = pred
        .block_keys()
        .iter()
        .filter(|k| g.get(k).is_some_and(|n| n.dependencies().contains(wrapped.model_key())))
        .count();
    assert_eq!(readers, ds.n_blocks());
    // Accuracy through the wrapper equals accuracy of the in-memory predictions.
    let acc = wrapped.score(&ds).unwrap();
    let p = forest.predict(&x).unwrap();
    let manual = p.iter().zip(&y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64;
    assert!((acc - manual).abs() < 1e-12);
}

#[test]
fn parallel_post_fit_on_a_two_worker_cluster_matches_and_broadcast_sends_the_model_once() {
    let ds = data(4_000, 500, 2);
    let x = ds.x().compute().unwrap();
    let y = ds.y().unwrap().compute().unwrap();
    let tree = LinfaDecisionTreeParams { max_depth: Some(8), ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)
        .unwrap();
    let forest = SmartcoreRandomForestClassifierParams { n_trees: 8, ..Default::default() }
        .fit_rows(x.view(), Some(y.view()), None)
        .unwrap();
    let rask_model = LogisticRegressionParams::new().fit(&ds).unwrap();
    let c = cluster(2);
    let dist = c.client().scheduler();
    check_parallel_post_fit(tree.clone(), &ds, &dist, "linfa tree on a cluster");
    check_parallel_post_fit(forest.clone(), &ds, &dist, "smartcore forest on a cluster");
    check_parallel_post_fit(rask_model, &ds, &dist, "rask logistic on a cluster");
    // Broadcast: the model is on every worker before the graph is built; the graph holds its
    // future, so the submission carries only the key.
    let wrapped = ParallelPostFit::new(tree.clone()).unwrap().broadcast(&c.client()).unwrap();
    assert!(wrapped.model_key().name().starts_with("scatter-"), "{}", wrapped.model_key());
    let got = wrapped.predict(ds.x()).unwrap().compute_on(&dist).unwrap();
    assert_eq!(got, tree.predict(&x).unwrap());
}

#[test]
fn parallel_post_fit_handles_empty_blocks_and_unknown_chunk_sizes() {
    let ds = data(600, 200, 3);
    let x = ds.x().compute().unwrap();
    let y = ds.y().unwrap().compute().unwrap();
    let tree = LinfaDecisionTreeParams::default().fit_rows(x.view(), Some(y.view()), None).unwrap();
    // Blocks of 250, 0 and 350 rows with unknown sizes (as after a filter).
    let blocks = vec![
        Value::new(x.slice(s![..250, ..]).to_owned()),
        Value::new(Array2::<f64>::zeros((0, 6))),
        Value::new(x.slice(s![250.., ..]).to_owned()),
    ];
    let layer = BlockLayer::from_values("ragged-rows".into(), Chunks::Unknown { n_blocks: 3 }, blocks);
    let cx = ChunkedArray::<f64>::from_block_layer(layer, 6);
    for (name, sch) in schedulers() {
        let got = ParallelPostFit::new(tree.clone()).unwrap().predict(&cx).unwrap().compute_on(&sch).unwrap();
        assert_eq!(got, tree.predict(&x).unwrap(), "{name}");
    }
}

/// A model defined by a user: predicts 1 where the first feature is above a fitted threshold,
/// and refuses rows whose first feature is above 1,000 (to test errors from inside a block).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stump {
    threshold: f64,
    n_features: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StumpParams {
    offset: f64,
}

impl Model for Stump {
    type Label = i64;
    fn n_features_in(&self) -> usize {
        self.n_features
    }
    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> rask::ml::Result<Array1<i64>> {
        if let Some(v) = x.column(0).iter().find(|v| **v > 1_000.0) {
            return Err(rask::ml::MlError::InvalidParameter { name: "x", message: format!("Stump cannot take {v}") });
        }
        Ok(x.column(0).mapv(|v| i64::from(v > self.threshold)))
    }
    fn classes(&self) -> Option<Vec<i64>> {
        Some(vec![0, 1])
    }
}

impl ModelParams for StumpParams {
    type Model = Stump;
    type Target = i64;
    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        _y: Option<ArrayView1<'_, i64>>,
        _w: Option<ArrayView1<'_, f64>>,
    ) -> rask::ml::Result<Stump> {
        Ok(Stump { threshold: x.column(0).mean().unwrap_or(0.0) + self.offset, n_features: x.ncols() })
    }
}

rask::ml::impl_set_params!(StumpParams, |p| { "offset" => p.offset });
rask::ml::model!(StumpParams => Stump, name = "tests.stump", kind = Classifier);

fn registry_with_stump() -> Arc<rask::Registry> {
    Arc::new(
        rask::registry_builder()
            .ops(rask::ml::model_ops!(StumpParams => Stump))
            .codecs(rask::ml::model_codecs!(StumpParams => Stump))
            .build()
            .unwrap(),
    )
}

#[test]
fn an_unregistered_model_fails_on_the_checked_scheduler_naming_its_type_and_the_line_to_add() {
    let ds = data(500, 100, 4);
    let stump = StumpParams::default().fit(&ds).unwrap();
    let pred = ParallelPostFit::new(stump.clone()).unwrap().predict(ds.x()).unwrap();
    let err = pred.compute_on(&Scheduler::checked(rask::registry())).unwrap_err().to_string();
    assert!(err.contains("Stump"), "{err}");
    assert!(err.contains("model_codecs!"), "{err}");
    // Registered, it runs.
    let ok = pred.compute_on(&Scheduler::checked(registry_with_stump())).unwrap();
    assert_eq!(ok, stump.predict(&ds.x().compute().unwrap()).unwrap());
}

#[test]
fn bad_input_gives_clear_errors() {
    let ds = data(500, 100, 5);
    let stump = StumpParams::default().fit(&ds).unwrap();
    let wrapped = ParallelPostFit::new(stump).unwrap();
    // Wrong feature count: refused when the graph is built.
    let narrow = ChunkedArray::from_array(Array2::<f64>::zeros((10, 3)).view(), 5).unwrap();
    let err = wrapped.predict(&narrow).unwrap_err().to_string();
    assert!(err.contains("number of features") && err.contains('6') && err.contains('3'), "{err}");
    // A model that errors on one block: the error names the block's task and the model.
    let mut x = ds.x().compute().unwrap();
    x[[250, 0]] = 5_000.0;
    let cx = ChunkedArray::from_array(x.view(), 100).unwrap();
    let err = wrapped.predict(&cx).unwrap().compute_on(&Scheduler::sync()).unwrap_err().to_string();
    assert!(err.contains("Stump") && err.contains("5000"), "{err}");
    assert!(err.contains(", 2)"), "the error names block 2: {err}");
    // No predict_proba on a model without it.
    let err = wrapped.predict_proba(ds.x()).unwrap_err().to_string();
    assert!(err.contains("predict_proba"), "{err}");
}

#[test]
fn a_foreign_model_works_in_grid_search() {
    let ds = data(1_200, 300, 6);
    let grid = ParameterGrid::new().add("max_depth", [1_i64, 3, 6]).add("split_quality", ["gini", "entropy"]);
    let result = GridSearchCV::new(LinfaDecisionTreeParams::default(), grid)
        .cv(KFold { n_splits: 3, shuffle_within_blocks: None })
        .fit(&ds)
        .unwrap();
    assert_eq!(result.cv_results.len(), 6);
    assert!(result.best_score > 0.5);
    // A seeded search gives the same result on the checked scheduler (every fit task crosses
    // the wire format) as on the threaded one. (smartcore's seeded tree: linfa's tree sums in
    // HashMap order, so its refits may differ; see `adapters::linfa`.)
    let small = || ParameterGrid::new().add("max_depth", [1_i64, 3, 6]).add("criterion", ["gini", "entropy"]);
    let run = |s: &Scheduler| {
        rask::with_scheduler(s, || {
            GridSearchCV::new(SmartcoreDecisionTreeClassifierParams::default(), small())
                .cv(KFold { n_splits: 3, shuffle_within_blocks: None })
                .fit(&ds)
        })
        .unwrap()
    };
    let (a, b) = (run(&Scheduler::checked(rask::registry())), run(&Scheduler::threaded_with(2).unwrap()));
    assert_eq!(a.best_params, b.best_params);
    assert_eq!(a.best_score, b.best_score);
    assert_eq!(a.cv_results.mean_test(&a.refit_metric), b.cv_results.mean_test(&b.refit_metric));
}

#[test]
fn blockwise_voting_equals_fitting_each_block_by_hand_and_voting() {
    let ds = data(2_000, 400, 7);
    let x = ds.x().compute().unwrap();
    let est = SmartcoreDecisionTreeClassifierParams { max_depth: Some(4), ..Default::default() };
    for voting in [Voting::Hard, Voting::Soft] {
        let mut models = Vec::new();
        for (name, s) in schedulers() {
            let m = BlockwiseVotingClassifier::new(est.clone()).voting(voting).fit_on(&ds, &s).unwrap();
            let pred = m.predict(ds.x()).unwrap().compute_on(&s).unwrap();
            assert_eq!(pred, m.predict_array(x.view()).unwrap(), "{name}");
            models.push(m);
        }
        // By hand: one tree per block, then the vote.
        let mut by_hand = Vec::new();
        for b in 0..ds.n_blocks() {
            let xb = x.slice(s![b * 400..(b + 1) * 400, ..]).to_owned();
            let yb = ds.y().unwrap().compute().unwrap().slice(s![b * 400..(b + 1) * 400]).to_owned();
            by_hand.push(est.fit_rows(xb.view(), Some(yb.view()), None).unwrap());
        }
        let manual: Array1<i64> = match voting {
            Voting::Hard => {
                let preds: Vec<Array1<i64>> = by_hand.iter().map(|m| m.predict(&x).unwrap()).collect();
                (0..x.nrows())
                    .map(|r| {
                        let ones = preds.iter().filter(|p| p[r] == 1).count();
                        i64::from(ones * 2 > preds.len())
                    })
                    .collect()
            }
            Voting::Soft => {
                let mut mean = Array2::<f64>::zeros((x.nrows(), 2));
                for m in &by_hand {
                    mean += &m.predict_proba(&x).unwrap();
                }
                mean.rows().into_iter().map(|r| i64::from(r[1] > r[0])).collect()
            }
        };
        for m in &models {
            assert_eq!(m.predict_array(x.view()).unwrap(), manual, "{voting:?}");
        }
        if voting == Voting::Soft {
            let p = models[0].predict_proba(ds.x()).unwrap().compute().unwrap();
            for r in p.rows() {
                assert!((r.sum() - 1.0).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn blockwise_voting_unions_class_sets_that_differ_between_blocks() {
    // Block 0 holds classes {0, 1}, block 1 classes {1, 2}.
    let x = array![[0.0], [0.1], [1.0], [1.1], [1.0], [1.1], [2.0], [2.1]];
    let y = array![0_i64, 0, 1, 1, 1, 1, 2, 2];
    let cx = ChunkedArray::from_array(x.view(), 4).unwrap();
    let cy = ChunkedVector::from_array(y.view(), 4).unwrap();
    let ds = ChunkedDataset::new(cx, cy).unwrap();
    let m: VotingClassifier<_> = BlockwiseVotingClassifier::new(SmartcoreDecisionTreeClassifierParams::default())
        .voting(Voting::Soft)
        .fit(&ds)
        .unwrap();
    assert_eq!(m.classes, Some(vec![0, 1, 2]));
    let p = m.predict_proba_array(x.view()).unwrap();
    assert_eq!(p.ncols(), 3);
    // Row 0 (x = 0): member 0 says class 0 for sure, member 1 (never saw 0) says 1.
    assert_eq!(p.row(0).to_vec(), vec![0.5, 0.5, 0.0]);
    for r in p.rows() {
        assert!((r.sum() - 1.0).abs() < 1e-12);
    }
    // Save and load.
    let dir = tempfile::tempdir().unwrap();
    rask::ml::save(&m, dir.path().join("voting.model")).unwrap();
    let back: VotingClassifier<rask::ml::adapters::smartcore::SmartcoreDecisionTreeClassifier> =
        rask::ml::load(dir.path().join("voting.model")).unwrap();
    assert_eq!(back.predict_array(x.view()).unwrap(), m.predict_array(x.view()).unwrap());
}

#[test]
fn blockwise_voting_regressor_and_rask_sgd_members() {
    let params = RegressionParams {
        n_informative: 4,
        noise: 1.0,
        ..RegressionParams::new().n_samples(1_500).n_features(4).seed(8).chunk_rows(500)
    };
    let reg = make_regression(&params).unwrap().data;
    let x = reg.x().compute().unwrap();
    let m = BlockwiseVotingRegressor::new(SmartcoreLinearRegressionParams::default()).fit(&reg).unwrap();
    assert_eq!(m.estimators.len(), 3);
    let mean: Array1<f64> =
        m.estimators.iter().map(|e| e.predict(&x).unwrap()).fold(Array1::zeros(x.nrows()), |a, p| a + p) / 3.0;
    let got = m.predict(reg.x()).unwrap().compute().unwrap();
    for (a, b) in got.iter().zip(&mean) {
        assert!((a - b).abs() < 1e-9);
    }
    assert!(m.score(&reg).unwrap() > 0.9);
    // Rask's SGD as members, on the checked scheduler.
    let ds = data(2_000, 500, 9);
    let sgd = SgdClassifierParams::new().seed(1);
    let v = BlockwiseVotingClassifier::new(sgd).fit_on(&ds, &Scheduler::checked(rask::registry())).unwrap();
    assert_eq!(v.estimators.len(), 4);
    assert!(v.score(&ds).unwrap() > 0.6);
    let _ = SgdRegressorParams::new();
}

#[test]
fn incremental_feeds_blocks_in_a_seeded_order_on_every_scheduler() {
    let ds = data(3_000, 500, 10);
    let sgd = SgdClassifierParams::new().classes(vec![0, 1]).seed(3);
    let inc = Incremental::new(sgd.clone()).epochs(3).seed(7);
    let mut coefs = Vec::new();
    for (name, s) in schedulers() {
        let (m, h) = inc.fit_with_history(&ds, &s).unwrap();
        assert_eq!(h.calls, 18, "{name}");
        assert_eq!(h.orders.len(), 3);
        coefs.push(m.coef.clone());
    }
    assert!(coefs.windows(2).all(|w| w[0] == w[1]));
    // By hand: partial_fit on the blocks in the recorded orders.
    let (_, h) = inc.fit_with_history(&ds, &Scheduler::sync()).unwrap();
    let mut model = None;
    for order in &h.orders {
        for &b in order {
            let xb =
                ChunkedArray::from_array(ds.x().compute().unwrap().slice(s![b * 500..(b + 1) * 500, ..]), 500).unwrap();
            let yb =
                ChunkedVector::from_array(ds.y().unwrap().compute().unwrap().slice(s![b * 500..(b + 1) * 500]), 500)
                    .unwrap();
            let block = ChunkedDataset::new(xb, yb).unwrap();
            model = Some(rask::ml::PartialFit::partial_fit(&sgd, model, &block).unwrap());
        }
    }
    assert_eq!(model.unwrap().coef, coefs[0]);
    // A foreign model without partial_fit is refused.
    let err = Incremental::new(StumpParams::default()).fit(&ds).unwrap_err().to_string();
    assert!(err.contains("partial_fit"), "{err}");
    // Early stopping on the held-out last block.
    let (_, h) = Incremental::new(sgd)
        .epochs(50)
        .early_stopping(EarlyStopping { n_iter_no_change: 2, ..Default::default() })
        .fit_with_history(&ds, &Scheduler::sync())
        .unwrap();
    assert!(h.stopped_early, "{h:?}");
    assert_eq!(h.scores.len(), h.orders.len());
    assert!(h.orders.iter().all(|o| o.len() == 5 && !o.contains(&5)));
}

#[test]
fn linfa_kmeans_adapter_fits_and_predicts_blockwise() {
    let ds = data(1_000, 250, 11);
    let x = ds.x().compute().unwrap();
    let km = LinfaKMeansParams { n_clusters: 3, n_runs: 2, ..Default::default() }.fit(&ds).unwrap();
    let a = ParallelPostFit::new(km.clone()).unwrap().predict(ds.x()).unwrap().compute().unwrap();
    assert_eq!(a, km.predict(&x).unwrap());
    assert!(a.iter().all(|&c| (0..3).contains(&c)));
}

#[test]
fn predictions_stream_to_npy_and_parquet_files() {
    let ds = data(1_000, 300, 12);
    let x = ds.x().compute().unwrap();
    let y = ds.y().unwrap().compute().unwrap();
    let logit = LinfaLogisticRegressionParams::default().fit_rows(x.view(), Some(y.view()), None).unwrap();
    let w = ParallelPostFit::new(logit.clone()).unwrap();
    let labels = w.predict(ds.x()).unwrap();
    let proba = w.predict_proba(ds.x()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Outputs::new().labels("label", &labels).matrix("proba", &proba);
    let npy = out.write(dir.path().join("npy"), &WriteOptions::new(OutputFormat::Npy), &Scheduler::threaded()).unwrap();
    assert_eq!(npy.rows, 1_000);
    assert_eq!(npy.files.len(), 8);
    let back = rask::datasets::read_npy_vector::<i64>(dir.path().join("npy/part-00001.label.npy"), 1_000).unwrap();
    assert_eq!(back.compute().unwrap(), logit.predict(x.slice(s![300..600, ..])).unwrap());
    let pq = out
        .write(
            dir.path().join("pq"),
            &WriteOptions::new(OutputFormat::Parquet).names(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            &Scheduler::threaded(),
        )
        .unwrap();
    assert_eq!(pq.files.len(), 4);
    let opts = rask::datasets::parquet::ParquetOptions::default();
    let feats = rask::datasets::parquet::read_parquet_features(dir.path().join("pq/b.parquet"), &opts)
        .unwrap()
        .compute()
        .unwrap();
    assert_eq!(feats.ncols(), 3);
    assert_eq!(feats.column(0).mapv(|v| v as i64), logit.predict(x.slice(s![300..600, ..])).unwrap());
    // Bad names are refused before anything runs.
    let err = out
        .write(
            dir.path().join("bad"),
            &WriteOptions::new(OutputFormat::Npy).names(vec!["x".into()]),
            &Scheduler::sync(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("1 file names for 4 blocks"), "{err}");
}

/// A user model with `partial_fit`: the mean of feature 0 per class, updated batch by batch;
/// a row goes to the class whose mean (plus `shift`) is nearer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Centroids {
    sums: [f64; 2],
    counts: [f64; 2],
    shift: f64,
    n_features: usize,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CentroidsParams {
    shift: f64,
}

impl Model for Centroids {
    type Label = i64;
    fn n_features_in(&self) -> usize {
        self.n_features
    }
    fn predict_rows(&self, x: ArrayView2<'_, f64>) -> rask::ml::Result<Array1<i64>> {
        let m = [self.sums[0] / self.counts[0].max(1.0), self.sums[1] / self.counts[1].max(1.0)];
        Ok(x.column(0).mapv(|v| i64::from((v + self.shift - m[1]).abs() < (v + self.shift - m[0]).abs())))
    }
    fn classes(&self) -> Option<Vec<i64>> {
        Some(vec![0, 1])
    }
}

impl ModelParams for CentroidsParams {
    type Model = Centroids;
    type Target = i64;
    const HAS_PARTIAL_FIT: bool = true;
    fn fit_rows(
        &self,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        w: Option<ArrayView1<'_, f64>>,
    ) -> rask::ml::Result<Centroids> {
        self.partial_fit_rows(None, x, y, w)
    }
    fn partial_fit_rows(
        &self,
        model: Option<Centroids>,
        x: ArrayView2<'_, f64>,
        y: Option<ArrayView1<'_, i64>>,
        _w: Option<ArrayView1<'_, f64>>,
    ) -> rask::ml::Result<Centroids> {
        let y = rask::ml::model::need_targets(y, "Centroids")?;
        let mut m =
            model.unwrap_or(Centroids { sums: [0.0; 2], counts: [0.0; 2], shift: self.shift, n_features: x.ncols() });
        for (v, &c) in x.column(0).iter().zip(y) {
            let c = usize::from(c == 1);
            m.sums[c] += v;
            m.counts[c] += 1.0;
        }
        Ok(m)
    }
}

rask::ml::impl_set_params!(CentroidsParams, |p| { "shift" => p.shift });
rask::ml::model!(CentroidsParams => Centroids, name = "tests.centroids", kind = Classifier);

#[test]
fn a_foreign_model_with_partial_fit_works_in_hyperband_and_incremental_on_every_scheduler() {
    use rask::ml::model_selection::HyperbandSearchCV;
    use rask::ml::params::{Distribution, ParameterSampler};
    let registry = Arc::new(
        rask::registry_builder()
            .ops(rask::ml::model_ops!(CentroidsParams => Centroids))
            .codecs(rask::ml::model_codecs!(CentroidsParams => Centroids))
            .build()
            .unwrap(),
    );
    let ds = data(6_000, 500, 13);
    let space = ParameterSampler::new(1, 0).add("shift", Distribution::uniform(-1.0, 1.0));
    let hb = HyperbandSearchCV::new(CentroidsParams::default(), space, 9);
    let runs: Vec<_> = [Scheduler::threaded_with(2).unwrap(), Scheduler::checked(registry.clone())]
        .iter()
        .map(|s| hb.search().unwrap().seed(3).fit_on(&ds, s).unwrap())
        .collect();
    assert_eq!(runs[0].best_params, runs[1].best_params);
    assert_eq!(runs[0].best_estimator, runs[1].best_estimator);
    assert_eq!(runs[0].partial_fit_calls, hb.plan().unwrap().iter().map(|b| b.partial_fit_calls).sum::<u64>());
    assert!(runs[0].best_score > 0.5, "{}", runs[0].best_score);
    // Incremental over all 12 blocks: every row counted once per epoch.
    let (m, h) = Incremental::new(CentroidsParams::default())
        .epochs(2)
        .fit_with_history(&ds, &Scheduler::checked(registry))
        .unwrap();
    assert_eq!(h.calls, 24);
    assert_eq!(m.counts[0] + m.counts[1], 12_000.0);
}
