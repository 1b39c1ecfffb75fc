//! Searches on a `LocalCluster` of `rask` worker processes (127.0.0.1): a grid search over a
//! pipeline and a seeded Hyperband sweep give the same results as on the threaded scheduler
//! (the adaptive models live on the workers between rounds; only scores come back).

use rask::datasets::generators::{make_classification, ClassificationParams};
use rask::datasets::load_wine;
use rask::estimators::linear_model::sgd::SgdClassifierParams;
use rask::estimators::linear_model::LogisticRegressionParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::model_selection::{AdaptiveResult, GridSearchCV, HyperbandSearchCV};
use rask::ml::params::{Distribution, ParameterGrid, ParameterSampler};
use rask::ml::{Pipeline, StratifiedKFold};
use rask::Scheduler;

fn cluster(n: usize) -> rask::distributed::LocalCluster {
    rask::distributed::local_cluster(n)
        .program(env!("CARGO_BIN_EXE_rask"), Vec::new())
        .quiet(true)
        .start()
        .expect("the local cluster starts")
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
