//! Estimators on a `LocalCluster` of `rask` worker processes (127.0.0.1): the same models as
//! on the threaded scheduler, and a worker killed with SIGKILL in the middle of a
//! multi-iteration fit changes nothing about the model. Searches too: a grid search over a
//! pipeline and a seeded Hyperband sweep (its models live on the workers between rounds; only
//! scores come back) give the threaded scheduler's results.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rask::datasets::generators::{make_blobs, make_classification, BlobsParams, ClassificationParams};
use rask::datasets::load_wine;
use rask::distributed::LocalCluster;
use rask::estimators::cluster::{KMeans, KMeansParams};
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::model_selection::{AdaptiveResult, GridSearchCV, HyperbandSearchCV};
use rask::ml::params::{Distribution, ParameterGrid, ParameterSampler};
use rask::ml::Fit;
use rask::ml::{Pipeline, StratifiedKFold};
use rask::scheduler::Callback;
use rask::Scheduler;

fn cluster(n: usize) -> LocalCluster {
    rask::distributed::local_cluster(n)
        .program(env!("CARGO_BIN_EXE_rask"), Vec::new())
        .quiet(true)
        .start()
        .expect("the local cluster starts")
}

#[test]
fn kmeans_and_logistic_regression_on_a_cluster_match_the_threaded_scheduler() {
    let c = cluster(2);
    let dist = c.client().scheduler();
    let threaded = Scheduler::threaded_with(2).unwrap();
    let blobs = BlobsParams::new().n_samples(20_000).n_features(5).centers(4).seed(3).chunk_rows(2_000);
    let kmeans = KMeansParams::new(4).max_iter(30).seed(1);
    let models: Vec<KMeans> = [&threaded, &dist]
        .iter()
        .map(|s| {
            let x = make_blobs(&blobs).unwrap().data.x().clone().persist_on(s).unwrap();
            rask::with_scheduler(s, || kmeans.fit(&x)).unwrap()
        })
        .collect();
    assert_eq!(models[0].cluster_centers, models[1].cluster_centers);
    assert_eq!(models[0].n_iter, models[1].n_iter);
    assert_eq!(models[0].inertia, models[1].inertia);

    let params = ClassificationParams::new().n_samples(20_000).n_features(8).seed(5).chunk_rows(2_000);
    let fits: Vec<LogisticRegression> = [&threaded, &dist]
        .iter()
        .map(|s| {
            let data = make_classification(&params).unwrap().persist_on(s).unwrap();
            rask::with_scheduler(s, || LogisticRegressionParams::new().fit(&data)).unwrap()
        })
        .collect();
    assert_eq!(fits[0].coef, fits[1].coef);
    assert_eq!(fits[0].intercept, fits[1].intercept);
}

/// Counts the computations a scheduler runs.
#[derive(Default)]
struct Computations(AtomicUsize);

impl Callback for Computations {
    fn on_compute_start(&self, _: usize) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn killing_a_worker_mid_fit_gives_the_same_model() {
    let params = ClassificationParams::new().n_samples(60_000).n_features(10).seed(11).chunk_rows(3_000);
    let fit_params = LogisticRegressionParams::new().max_iter(200).tol(1e-10);
    let threaded = Scheduler::threaded_with(2).unwrap();
    let reference = {
        let data = make_classification(&params).unwrap().persist_on(&threaded).unwrap();
        rask::with_scheduler(&threaded, || fit_params.fit(&data)).unwrap()
    };
    assert!(reference.n_iter >= 8, "the fit must take several iterations ({})", reference.n_iter);

    let mut c = cluster(3);
    let counter = Arc::new(Computations::default());
    let dist = c.client().scheduler().with_callback(counter.clone());
    // The data lives on the workers: the killed worker takes its share of the blocks with it,
    // and they are recomputed from their graph.
    let data = make_classification(&params).unwrap().persist_on(&dist).unwrap();
    let before = counter.0.load(Ordering::SeqCst);
    let fit = {
        let dist = dist.clone();
        let fit_params = fit_params.clone();
        std::thread::spawn(move || rask::with_scheduler(&dist, || fit_params.fit(&data)))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.0.load(Ordering::SeqCst) < before + 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let at_kill = counter.0.load(Ordering::SeqCst);
    assert!(!fit.is_finished(), "the kill must come in the middle of the fit");
    c.kill_worker(0).unwrap();
    let model = fit.join().unwrap().expect("the fit survives the loss of a worker");
    assert!(counter.0.load(Ordering::SeqCst) > at_kill + 2, "the fit went on after the kill");
    assert_eq!(model.n_iter, reference.n_iter);
    assert_eq!(model.coef, reference.coef);
    assert_eq!(model.intercept, reference.intercept);
    c.wait_for_status(|s| s.workers.len() == 2, Duration::from_secs(15)).unwrap();
}

#[test]
fn grid_search_and_hyperband_on_a_cluster_match_the_threaded_scheduler() {
    let c = cluster(2);
    let dist = c.client().scheduler();
    let threaded = Scheduler::threaded_with(2).unwrap();

    let wine = load_wine(40).unwrap().data;
    let pipe = Pipeline::new("scaler", StandardScalerParams::new()).then("logistic", LogisticRegressionParams::new());
    let grid = ParameterGrid::new().add("scaler__with_mean", [true, false]).add("logistic__c", [0.1, 1.0, 10.0]);
    let search =
        GridSearchCV::new(pipe, grid).cv(StratifiedKFold { n_splits: 3 }).scorings(&["accuracy", "neg_log_loss"]);
    let runs: Vec<_> =
        [&threaded, &dist].iter().map(|s| rask::with_scheduler(s, || search.fit(&wine)).unwrap()).collect();
    assert_eq!(runs[0].cv_results.test_scores, runs[1].cv_results.test_scores);
    assert_eq!(runs[0].best_params, runs[1].best_params);
    assert_eq!(runs[0].best_estimator, runs[1].best_estimator);

    let params = ClassificationParams::new().n_samples(30_000).n_features(10).seed(4).chunk_rows(3_000);
    let space = ParameterSampler::new(1, 0)
        .add("alpha", Distribution::log_uniform(1e-5, 1e-1))
        .add("loss", Distribution::choice(["hinge", "log_loss"]));
    let hb = HyperbandSearchCV::new(SgdClassifierParams::new().classes(vec![0, 1]), space, 9);
    let sweeps: Vec<AdaptiveResult<_>> = [&threaded, &dist]
        .iter()
        .map(|s| {
            let data = make_classification(&params).unwrap().persist_on(s).unwrap();
            hb.search().unwrap().seed(3).fit_on(&data, s).unwrap()
        })
        .collect();
    let hist = |r: &AdaptiveResult<_>| {
        r.models.iter().map(|m| m.history.iter().map(|h| (h.calls, h.score)).collect::<Vec<_>>()).collect::<Vec<_>>()
    };
    assert_eq!(hist(&sweeps[0]), hist(&sweeps[1]));
    assert_eq!(sweeps[0].best_params, sweeps[1].best_params);
    assert_eq!(sweeps[0].best_estimator, sweeps[1].best_estimator);
    assert_eq!(sweeps[1].partial_fit_calls, hb.plan().unwrap().iter().map(|b| b.partial_fit_calls).sum::<u64>());
}

/// Candidate fits on threads the user spawns (issue #14): `with_scheduler` does not reach them,
/// but their data lives on the cluster, so their graphs go there. Before, they ran on the local
/// threaded scheduler and failed with "expected an array block, found …Future".
#[test]
fn fits_on_threads_the_user_spawns_run_on_the_cluster_their_data_lives_on() {
    let c = cluster(2);
    let dist = c.client().scheduler();
    let threaded = Scheduler::threaded_with(2).unwrap();
    let params = ClassificationParams::new().n_samples(6_000).n_features(6).seed(8).chunk_rows(1_000);
    let local = make_classification(&params).unwrap();
    let on_cluster = local.persist_on(&dist).unwrap();
    let fits: Vec<LogisticRegression> = rask::with_scheduler(&dist, || {
        let handles: Vec<_> = [0.1, 1.0, 10.0]
            .into_iter()
            .map(|c| {
                let data = on_cluster.clone();
                std::thread::spawn(move || LogisticRegressionParams::new().c(c).fit(&data))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap().expect("the fit reaches the cluster")).collect()
    });
    for (fit, c) in fits.iter().zip([0.1, 1.0, 10.0]) {
        let reference = rask::with_scheduler(&threaded, || LogisticRegressionParams::new().c(c).fit(&local)).unwrap();
        assert_eq!(fit.coef, reference.coef);
        assert_eq!(fit.intercept, reference.intercept);
    }
}
