//! Pipelines and searches with two toy estimators: the merged search graph fits each shared
//! pipeline prefix once per split (counted), results equal fits done by hand, every scheduler
//! agrees, failed candidates are recorded or raised, Hyperband's plan is the paper's, adaptive
//! searches are seeded and resumable after SIGKILL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::{OpEntry, Scheduler};
use rask_ml::model_selection::{
    cross_val_score, AdaptiveSearch, ErrorScore, GridSearchCV, HyperbandSearchCV, RandomizedSearchCV,
};
use rask_ml::params::{Distribution, ParameterGrid, ParameterSampler, SetParams};
use rask_ml::{
    ApplyModel, BlockModel, ChunkedArray, ChunkedDataset, ChunkedVector, Element, Fit, Float, KFold, Method, MlError,
    ModelKind, PartialFit, Pipeline, Score, StratifiedKFold,
};
use serde::{Deserialize, Serialize};

static FITS: Mutex<Option<HashMap<(String, u64), usize>>> = Mutex::new(None);

fn count(what: &str, tag: u64) {
    let mut g = FITS.lock().unwrap();
    *g.get_or_insert_with(HashMap::new).entry((what.to_string(), tag)).or_default() += 1;
}

fn fits(what: &str, tag: u64) -> usize {
    FITS.lock().unwrap().as_ref().and_then(|m| m.get(&(what.to_string(), tag)).copied()).unwrap_or(0)
}

/// Centres columns and multiplies by `scale`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct CenterParams {
    scale: f64,
    tag: u64,
}
rask_ml::impl_set_params!(CenterParams, |p| { "scale" => p.scale, "tag" => p.tag });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Center {
    mean: Vec<f64>,
    scale: f64,
}

impl BlockModel for Center {
    const APPLY_OP: &'static str = "rask.test.center.apply";
    const KIND: ModelKind = ModelKind::Transformer;
    type Label = f64;
    fn n_features_in(&self) -> usize {
        self.mean.len()
    }
    fn supports(&self, m: Method) -> bool {
        m == Method::Transform
    }
    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let mut out = x.to_owned();
        for (j, mut c) in out.columns_mut().into_iter().enumerate() {
            c.mapv_inplace(|v| F::from(((v.to_f64().unwrap_or(0.0)) - self.mean[j]) * self.scale).unwrap_or(v));
        }
        Ok(out)
    }
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for CenterParams {
    type Model = Center;
    type Error = MlError;
    fn fit(&self, ds: &ChunkedDataset<F, Y>) -> Result<Center, MlError> {
        count("center", self.tag);
        let x = ds.x().compute()?;
        let mean = (0..x.ncols())
            .map(|j| x.column(j).iter().map(|v| v.to_f64().unwrap_or(0.0)).sum::<f64>() / x.nrows() as f64)
            .collect();
        Ok(Center { mean, scale: self.scale })
    }
}

rask_ml::estimator!(CenterParams => Center, name = "Center", ops = "rask.test.center", kind = Transformer,
    targets = any, partial_fit = no);

/// Predicts 1 where feature 0 is above the midpoint of the two class means plus `shift`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ThresholdParams {
    shift: f64,
    tag: u64,
}
rask_ml::impl_set_params!(ThresholdParams, |p| { "shift" => p.shift, "tag" => p.tag });

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Threshold {
    sums: [f64; 2],
    counts: [f64; 2],
    shift: f64,
    d: usize,
}

impl Threshold {
    fn cut(&self) -> f64 {
        let m = |c: usize| if self.counts[c] > 0.0 { self.sums[c] / self.counts[c] } else { 0.0 };
        (m(0) + m(1)) / 2.0 + self.shift
    }
}

impl BlockModel for Threshold {
    const APPLY_OP: &'static str = "rask.test.threshold.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;
    fn n_features_in(&self) -> usize {
        self.d
    }
    fn n_classes(&self) -> Option<usize> {
        Some(2)
    }
    fn classes(&self) -> Option<Vec<i64>> {
        Some(vec![0, 1])
    }
    fn supports(&self, m: Method) -> bool {
        matches!(m, Method::Predict | Method::PredictProba)
    }
    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        let cut = self.cut();
        Ok(x.column(0).mapv(|v| i64::from(v.to_f64().unwrap_or(0.0) > cut)))
    }
    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        let cut = self.cut();
        let mut out = Array2::zeros((x.nrows(), 2));
        for (i, v) in x.column(0).iter().enumerate() {
            let p = 1.0 / (1.0 + (-(v.to_f64().unwrap_or(0.0) - cut)).exp());
            out[[i, 0]] = 1.0 - p;
            out[[i, 1]] = p;
        }
        Ok(out)
    }
}

fn update<F: Float>(
    p: &ThresholdParams,
    m: Option<Threshold>,
    ds: &ChunkedDataset<F, i64>,
) -> Result<Threshold, MlError> {
    if !p.shift.is_finite() {
        return Err(MlError::InvalidParameter { name: "shift", message: format!("must be finite, got {}", p.shift) });
    }
    let x = ds.x().compute()?;
    let y = ds.y_required("Threshold")?.compute()?;
    let mut t = m.unwrap_or(Threshold { sums: [0.0; 2], counts: [0.0; 2], shift: p.shift, d: x.ncols() });
    for (v, &c) in x.column(0).iter().zip(y.iter()) {
        let c = usize::from(c > 0);
        t.sums[c] += v.to_f64().unwrap_or(0.0);
        t.counts[c] += 1.0;
    }
    Ok(t)
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for ThresholdParams {
    type Model = Threshold;
    type Error = MlError;
    fn fit(&self, ds: &ChunkedDataset<F, i64>) -> Result<Threshold, MlError> {
        count("threshold", self.tag);
        update(self, None, ds)
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, i64>> for ThresholdParams {
    type Model = Threshold;
    type Error = MlError;
    fn partial_fit(&self, m: Option<Threshold>, ds: &ChunkedDataset<F, i64>) -> Result<Threshold, MlError> {
        count("threshold_partial", self.tag);
        update(self, m, ds)
    }
}

rask_ml::estimator!(ThresholdParams => Threshold, name = "Threshold", ops = "rask.test.threshold", kind = Classifier,
    targets = labels, partial_fit = yes);

fn registry() -> Arc<rask_core::Registry> {
    Arc::new(
        rask_ml::registry_builder()
            .ops(rask_ml::search_entries!(CenterParams, ThresholdParams))
            .ops(&[OpEntry::of::<ApplyModel<Center>>(), OpEntry::of::<ApplyModel<Threshold>>()])
            .codecs(rask_ml::search_codec_entries!(CenterParams, ThresholdParams))
            .build()
            .unwrap(),
    )
}

/// Two noisy classes along feature 0, `n` rows in blocks of `chunk`.
fn data(n: usize, chunk: usize, seed: u64) -> ChunkedDataset<f64, i64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let y: Array1<i64> = (0..n).map(|i| (i % 2) as i64).collect();
    let x = Array2::from_shape_fn((n, 3), |(i, j)| {
        if j == 0 {
            y[i] as f64 * 2.0 + rng.gen_range(-1.5..1.5)
        } else {
            rng.gen_range(-1.0..1.0)
        }
    });
    let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
    let sizes = cx.chunks().sizes().unwrap().to_vec();
    ChunkedDataset::new(cx, ChunkedVector::from_array_with_chunks(y.view(), &sizes).unwrap()).unwrap()
}

fn pipe(tag: u64) -> Pipeline<Pipeline<(), CenterParams>, ThresholdParams> {
    Pipeline::new("center", CenterParams { scale: 1.0, tag }).then("clf", ThresholdParams { shift: 0.0, tag })
}

fn grid() -> ParameterGrid {
    ParameterGrid::new().add("center__scale", [1.0, 2.0]).add("clf__shift", [-0.5, 0.0, 0.5])
}

#[test]
fn a_shared_pipeline_prefix_is_fitted_once_per_split() {
    let ds = data(600, 100, 1);
    let tag = 1;
    let r = GridSearchCV::new(pipe(tag), grid())
        .cv(KFold { n_splits: 3, shuffle_within_blocks: None })
        .no_refit()
        .fit(&ds)
        .unwrap();
    // 6 candidates × 3 splits; the centring step has 2 distinct params → 2 × 3 fits, not 18.
    assert_eq!(fits("center", tag), 6);
    assert_eq!(fits("threshold", tag), 18);
    assert_eq!(r.stats.fits_requested, 18);
    assert_eq!(r.stats.step_fits_without_sharing, 36);
    assert_eq!(r.stats.fit_tasks, 24);
    assert_eq!(r.cv_results.len(), 6);
}

#[test]
fn cv_results_equal_fits_by_hand() {
    let ds = data(600, 100, 2);
    let cv = KFold { n_splits: 3, shuffle_within_blocks: None };
    let r = GridSearchCV::new(pipe(2), grid()).cv(cv).return_train_score(true).fit(&ds).unwrap();
    let folds = cv.split(&ds).unwrap();
    for (c, cand) in r.cv_results.params.iter().enumerate() {
        let p = pipe(2).with_params(cand).unwrap();
        for (s, (train, test)) in folds.iter().enumerate() {
            let m = p.fit(train).unwrap();
            assert_eq!(r.cv_results.test_scores[0][c][s], m.score(test).unwrap(), "candidate {c} split {s}");
            assert_eq!(r.cv_results.train_scores.as_ref().unwrap()[0][c][s], m.score(train).unwrap());
        }
    }
    let means = r.cv_results.mean_test("score").unwrap();
    let best = means.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(r.best_score, best);
    assert_eq!(r.cv_results.rank_test("score").unwrap()[r.best_index], 1);
    let refit = r.best_estimator.unwrap();
    assert_eq!(refit, pipe(2).with_params(&r.best_params).unwrap().fit(&ds).unwrap());
    let table = r.cv_results.table();
    assert!(table.contains("center__scale="), "{table}");
    let csv = r.cv_results.to_csv();
    assert!(
        csv.starts_with("mean_fit_time,mean_score_time,param_center__scale,param_clf__shift,params,split0_test_score"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 7);
    let json: serde_json::Value = serde_json::from_str(&r.cv_results.to_json()).unwrap();
    assert_eq!(json["params"][0][0][0], "center__scale");
}

#[test]
fn every_scheduler_gives_the_same_results() {
    let ds = data(400, 100, 3);
    let search = GridSearchCV::new(pipe(3), grid())
        .cv(KFold { n_splits: 4, shuffle_within_blocks: None })
        .scorings(&["accuracy", "neg_log_loss"])
        .refit("neg_log_loss");
    let run = |s: Scheduler| rask_core::with_scheduler(&s, || search.fit(&ds).unwrap());
    let a = run(Scheduler::sync());
    let b = run(Scheduler::threaded());
    let c = run(Scheduler::checked(registry()));
    assert_eq!(a.cv_results.test_scores, b.cv_results.test_scores);
    assert_eq!(a.cv_results.test_scores, c.cv_results.test_scores);
    assert_eq!(a.best_params, c.best_params);
    assert_eq!(a.refit_metric, "neg_log_loss");
    assert_eq!(a.cv_results.metrics, ["accuracy", "neg_log_loss"]);
}

#[test]
fn a_failing_candidate_is_recorded_or_raised() {
    let ds = data(300, 100, 4);
    let g = ParameterGrid::new().add("clf__shift", [0.0, f64::NAN]);
    let r =
        GridSearchCV::new(pipe(4), g.clone()).cv(KFold { n_splits: 3, shuffle_within_blocks: None }).fit(&ds).unwrap();
    assert!(r.cv_results.test_scores[0][1].iter().all(|s| s.is_nan()));
    let e = r.cv_results.errors[1].as_ref().unwrap();
    assert!(e.contains("shift") && e.contains("must be finite"), "{e}");
    assert_eq!(r.best_index, 0);
    let e = GridSearchCV::new(pipe(4), g)
        .cv(KFold { n_splits: 3, shuffle_within_blocks: None })
        .error_score(ErrorScore::Raise)
        .fit(&ds)
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be finite"), "{e}");
}

#[test]
fn bad_searches_are_clear_errors() {
    let ds = data(30, 10, 5);
    let e = GridSearchCV::new(pipe(5), ParameterGrid::new()).fit(&ds).unwrap_err().to_string();
    assert!(e.contains("grid is empty"), "{e}");
    let e = GridSearchCV::new(pipe(5), ParameterGrid::new().add("clf__shfit", [1.0])).fit(&ds).unwrap_err().to_string();
    assert!(e.contains("unknown parameter `clf__shfit`") && e.contains("clf__shift"), "{e}");
    let e =
        GridSearchCV::new(pipe(5), ParameterGrid::new().add("clf__shift", ["big"])).fit(&ds).unwrap_err().to_string();
    assert!(e.contains("`clf__shift` expects a float, got the string \"big\""), "{e}");
    let e = GridSearchCV::new(pipe(5), ParameterGrid::new().add("clf__shift", [0.0]))
        .cv(KFold { n_splits: 31, shuffle_within_blocks: None })
        .fit(&ds)
        .unwrap_err()
        .to_string();
    assert!(e.contains("n_splits") && e.contains("30"), "{e}");
    let e = RandomizedSearchCV::new(
        pipe(5),
        ParameterSampler::new(5, 0).add("clf__shift", Distribution::choice([0.0, 1.0])),
    )
    .fit(&ds)
    .unwrap_err()
    .to_string();
    assert!(e.contains("only 2 distinct"), "{e}");
    let e = GridSearchCV::new(CenterParams { scale: 1.0, tag: 5 }, ParameterGrid::new().add("scale", [1.0]))
        .fit(&ds)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no default score"), "{e}");
    let e = AdaptiveSearch::incremental(
        CenterParams { scale: 1.0, tag: 5 },
        ParameterGrid::new().add("scale", [1.0]),
        3,
        0,
        0.0,
    )
    .unwrap()
    .scoring("accuracy")
    .fit(&ds)
    .unwrap_err()
    .to_string();
    assert!(e.contains("Center has no partial_fit"), "{e}");
}

#[test]
fn stratified_folds_and_cross_val_score() {
    let ds = data(300, 50, 6);
    let s = cross_val_score(&pipe(6), &ds, &StratifiedKFold { n_splits: 3 }, Some("accuracy")).unwrap();
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|&a| a > 0.6), "{s:?}");
}

#[test]
fn hyperband_plans_equal_the_paper() {
    let th = ThresholdParams { shift: 0.0, tag: 0 };
    let sampler = ParameterSampler::new(1, 0).add("shift", Distribution::uniform(-1.0, 1.0));
    let plan = |r, eta| -> Vec<(usize, u64)> {
        HyperbandSearchCV::new(th.clone(), sampler.clone(), r)
            .aggressiveness(eta)
            .plan()
            .unwrap()
            .iter()
            .map(|b| (b.n_models, b.r))
            .collect()
    };
    assert_eq!(plan(81, 3), [(81, 1), (34, 3), (15, 9), (8, 27), (5, 81)]);
    assert_eq!(plan(27, 3), [(27, 1), (12, 3), (6, 9), (4, 27)]);
    assert_eq!(plan(100, 4), [(64, 1), (22, 6), (8, 25), (4, 100)]);
    let p = HyperbandSearchCV::new(th, sampler, 27).plan().unwrap();
    assert_eq!(p.iter().map(|b| b.partial_fit_calls).collect::<Vec<_>>(), [81, 78, 90, 108]);
    assert_eq!(p.iter().map(|b| b.partial_fit_calls).sum::<u64>(), 357, "dask-ml's metadata for max_iter 27");
}

fn space() -> ParameterSampler {
    ParameterSampler::new(1, 7).add("shift", Distribution::uniform(-1.0, 1.0))
}

#[test]
fn successive_halving_keeps_the_right_models_per_rung() {
    let ds = data(2000, 100, 7);
    let s = AdaptiveSearch::successive_halving(
        ThresholdParams { shift: 0.0, tag: 7 },
        ParameterSampler::new(27, 7).add("shift", Distribution::uniform(-1.0, 1.0)),
        1,
        3,
        27,
    )
    .unwrap()
    .seed(3);
    let r = s.fit(&ds).unwrap();
    let calls: Vec<u64> = r.models.iter().map(|m| m.calls()).collect();
    for (target, n) in [(1, 18), (3, 6), (9, 2), (27, 1)] {
        assert_eq!(calls.iter().filter(|&&c| c == target).count(), n, "models ending at {target} calls: {calls:?}");
    }
    assert_eq!(r.partial_fit_calls, 81);
    // Survivors of each rung are the best of the rung below.
    let best = r.models.iter().find(|m| m.calls() == 27).unwrap();
    assert_eq!(best.id, r.best_index);
}

#[test]
fn hyperband_is_seeded_and_the_same_on_every_scheduler() {
    let ds = data(3000, 150, 8);
    let hb = HyperbandSearchCV::new(ThresholdParams { shift: 0.0, tag: 8 }, space(), 9);
    let run = |s: Scheduler| hb.search().unwrap().seed(11).fit_on(&ds, &s).unwrap();
    let a = run(Scheduler::sync());
    let b = run(Scheduler::threaded());
    let c = run(Scheduler::checked(registry()));
    let key = histories;
    assert_eq!(key(&a), key(&b));
    assert_eq!(key(&a), key(&c));
    assert_eq!(a.best_estimator, c.best_estimator);
    let planned: u64 = hb.plan().unwrap().iter().map(|p| p.partial_fit_calls).sum();
    assert_eq!(a.partial_fit_calls, planned);
    // The search's own settings reach the run: another seed holds out other rows.
    let same = hb.clone().seed(11).fit(&ds).unwrap();
    assert_eq!(key(&same), key(&a));
    let other = hb.clone().seed(12).test_size(0.3).fit(&ds).unwrap();
    assert_ne!(key(&other), key(&a));
}

#[test]
fn asha_promotes_without_a_barrier_and_respects_its_budget() {
    let ds = data(3000, 150, 9);
    let r = AdaptiveSearch::asha(
        ThresholdParams { shift: 0.0, tag: 9 },
        ParameterSampler::new(40, 5).add("shift", Distribution::uniform(-1.0, 1.0)),
        1,
        3,
        9,
        4,
        120,
    )
    .unwrap()
    .seed(2)
    .fit(&ds)
    .unwrap();
    assert!(r.partial_fit_calls <= 120);
    assert!(r.models.iter().any(|m| m.calls() == 9), "some model reached the top rung");
    // Promotions happen while other models are still at rung 0 (no barrier).
    let first_top = r
        .models
        .iter()
        .filter(|m| m.calls() >= 3)
        .map(|m| m.history.iter().find(|h| h.calls == 3).unwrap().round)
        .min()
        .unwrap();
    let last_start = r.models.iter().filter_map(|m| m.history.first()).map(|h| h.round).max().unwrap();
    assert!(first_top < last_start, "promotion in round {first_top}, a new model started in round {last_start}");
}

const CHILD: &str = "RASK_TEST_ADAPTIVE_CHILD";

/// An incremental search over 12 candidates drawn with `sampler_seed`, 30 calls each.
fn incremental(sampler_seed: u64) -> AdaptiveSearch<ThresholdParams> {
    AdaptiveSearch::incremental(
        ThresholdParams { shift: 0.0, tag: 10 },
        ParameterSampler::new(12, sampler_seed).add("shift", Distribution::uniform(-1.0, 1.0)),
        30,
        0,
        0.0,
    )
    .unwrap()
    .seed(5)
}

fn resumable(path: &std::path::Path) -> AdaptiveSearch<ThresholdParams> {
    incremental(3).checkpoint(path)
}

/// Every model's (calls, score) history, in id order.
fn histories(r: &rask_ml::model_selection::AdaptiveResult<Threshold>) -> Vec<(usize, Vec<(u64, f64)>)> {
    r.models.iter().map(|m| (m.id, m.history.iter().map(|h| (h.calls, h.score)).collect())).collect()
}

#[derive(Debug)]
struct Slow;
impl rask_ml::model_selection::SearchProgress for Slow {
    fn on_round(&self, _: &rask_ml::model_selection::RoundReport<'_>) {
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
}

#[test]
fn a_search_killed_mid_way_resumes_to_the_same_result() {
    let ds = data(2000, 100, 10);
    if let Ok(path) = std::env::var(CHILD) {
        // The child: run slowly until killed.
        let _ = resumable(std::path::Path::new(&path)).progress(Slow).fit(&ds);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search.ckpt");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_search_killed_mid_way_resumes_to_the_same_result", "--nocapture"])
        .env(CHILD, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for a few rounds' checkpoints, then SIGKILL.
    let t0 = std::time::Instant::now();
    while !path.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(path.exists(), "the child wrote no checkpoint");
    let resumed = resumable(&path).fit(&ds).unwrap();
    assert!(resumed.resumed);
    let fresh = incremental(3).fit(&ds).unwrap();
    assert_eq!(resumed.best_params, fresh.best_params);
    assert_eq!(resumed.best_score, fresh.best_score);
    assert_eq!(resumed.best_estimator, fresh.best_estimator);
    assert_eq!(histories(&resumed), histories(&fresh));
    assert!(resumed.rounds == fresh.rounds && fresh.rounds == 30);
    // The checkpoint names the search it belongs to.
    let other = incremental(4).checkpoint(&path);
    let e = other.fit(&ds).unwrap_err().to_string();
    assert!(e.contains("different search"), "{e}");
}
