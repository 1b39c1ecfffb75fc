//! SGDClassifier / SGDRegressor against scikit-learn (shuffle off: updates in row order), on
//! every scheduler and several chunkings.

mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler};
use ndarray::{s, Array1, Array2};
use rask_estimators::linear_model::sgd::{
    LearningRate, SgdClassifier, SgdClassifierLoss, SgdClassifierParams, SgdError, SgdParamsError, SgdPenalty,
    SgdRegressor, SgdRegressorLoss, SgdRegressorParams,
};
use rask_estimators::preprocessing::StandardScalerParams;
use rask_ml::{ChunkedDataset, Dataset, Fit, ParamGuard, PartialFit, Predict, PredictProba, Score, Transform};
use serde_json::Value as Json;

fn scaled(x: &Array2<f64>) -> Array2<f64> {
    StandardScalerParams::new().fit(x).unwrap().transform(x).unwrap()
}

fn cancer() -> (Array2<f64>, Array1<i64>) {
    let d = rask_datasets::real::load_breast_cancer(100).unwrap();
    (scaled(&d.x), d.y)
}

fn iris() -> (Array2<f64>, Array1<i64>) {
    let d = rask_datasets::real::load_iris(100).unwrap();
    (scaled(&d.x), d.y)
}

fn diabetes() -> (Array2<f64>, Array1<f64>) {
    let d = rask_datasets::real::load_diabetes(100).unwrap();
    (scaled(&d.x), d.y)
}

// The inputs are standardised here and in the script by the same formula, equal to about 1e-15.
// SGD then runs thousands of the same steps in the same order; rounding differences grow along
// the way (most in one-vs-rest problems whose margins flip), to about 1e-9 relative here.
const RTOL: f64 = 1e-8;
const ATOL: f64 = 1e-10;

fn check_classifier(case: &str, params: SgdClassifierParams, x: &Array2<f64>, y: &Array1<i64>) {
    let g = golden("sgd.json");
    let want: &Json = &g[case];
    let mut models: Vec<SgdClassifier> = Vec::new();
    for chunk in [37, 1000] {
        let data = Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk).to_chunked().unwrap();
        models.extend(on_every_scheduler(|_| params.fit(&data).unwrap()));
    }
    // In row order the updates do not depend on the chunking or the scheduler: bit-identical.
    assert!(models.windows(2).all(|w| w[0] == w[1]), "{case}: fits differ across chunkings or schedulers");
    let m = &models[0];
    assert_close(&format!("{case} coef"), &m.coef, &arr2(&want["coef"]), RTOL, ATOL);
    assert_close(&format!("{case} intercept"), &m.intercept, &arr1(&want["intercept"]), RTOL, ATOL);
    assert_eq!(m.n_iter as i64, want["n_iter"].as_i64().unwrap(), "{case}: epochs");
    assert_eq!(m.t, want["t"].as_f64().unwrap(), "{case}: t");
    assert_eq!(m.predict(x).unwrap(), arr1_i64(&want["predict"]), "{case}: predictions");
    if let Some(p) = want.get("proba_head") {
        assert_close(
            &format!("{case} proba"),
            &m.predict_proba(&x.slice(s![..10, ..]).to_owned()).unwrap(),
            &arr2(p),
            1e-8,
            1e-10,
        );
    }
}

#[test]
fn hinge_on_breast_cancer_matches_scikit_learn() {
    let (x, y) = cancer();
    check_classifier("cancer_hinge", SgdClassifierParams::new().shuffle(false).max_iter(20).tol(None), &x, &y);
}

#[test]
fn log_loss_with_elastic_net_and_early_stopping_matches_scikit_learn() {
    let (x, y) = cancer();
    let p = SgdClassifierParams::new()
        .loss(SgdClassifierLoss::LogLoss)
        .penalty(SgdPenalty::ElasticNet)
        .alpha(1e-3)
        .l1_ratio(0.3)
        .max_iter(200)
        .shuffle(false);
    check_classifier("cancer_log_elasticnet", p, &x, &y);
}

#[test]
fn squared_hinge_with_l1_matches_scikit_learn() {
    let (x, y) = cancer();
    let p = SgdClassifierParams::new()
        .loss(SgdClassifierLoss::SquaredHinge)
        .penalty(SgdPenalty::L1)
        .alpha(1e-3)
        .learning_rate(LearningRate::InvScaling)
        .eta0(0.01)
        .max_iter(30)
        .tol(None)
        .shuffle(false);
    check_classifier("cancer_squared_hinge_l1", p, &x, &y);
}

#[test]
fn multiclass_one_vs_rest_matches_scikit_learn() {
    let (x, y) = iris();
    check_classifier(
        "iris_modified_huber",
        SgdClassifierParams::new().loss(SgdClassifierLoss::ModifiedHuber).shuffle(false),
        &x,
        &y,
    );
    let p = SgdClassifierParams::new()
        .loss(SgdClassifierLoss::Perceptron)
        .penalty(SgdPenalty::None)
        .learning_rate(LearningRate::Constant)
        .eta0(0.1)
        .max_iter(15)
        .tol(None)
        .shuffle(false);
    check_classifier("iris_perceptron_constant", p, &x, &y);
}

fn check_regressor(case: &str, params: SgdRegressorParams) {
    let g = golden("sgd.json");
    let want = &g[case];
    let (x, y) = diabetes();
    let mut models: Vec<SgdRegressor> = Vec::new();
    for chunk in [100, 442] {
        let data = Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk).to_chunked().unwrap();
        models.extend(on_every_scheduler(|_| params.fit(&data).unwrap()));
    }
    assert!(models.windows(2).all(|w| w[0] == w[1]), "{case}: fits differ");
    let m = &models[0];
    assert_close(&format!("{case} coef"), &m.coef, &arr1(&want["coef"]), RTOL, ATOL);
    assert_close(&format!("{case} intercept"), &Array1::from(vec![m.intercept]), &arr1(&want["intercept"]), RTOL, ATOL);
    assert_eq!(m.n_iter as i64, want["n_iter"].as_i64().unwrap(), "{case}: epochs");
    assert_eq!(m.t, want["t"].as_f64().unwrap());
    assert_close(
        "predict",
        &m.predict(&x.slice(s![..10, ..]).to_owned()).unwrap(),
        &arr1(&want["predict_head"]),
        RTOL,
        1e-9,
    );
}

#[test]
fn regressor_matches_scikit_learn() {
    check_regressor("diabetes_default", SgdRegressorParams::new().shuffle(false));
    check_regressor(
        "diabetes_huber_adaptive",
        SgdRegressorParams::new()
            .loss(SgdRegressorLoss::Huber { epsilon: 1.0 })
            .learning_rate(LearningRate::Adaptive)
            .eta0(0.01)
            .max_iter(200)
            .shuffle(false),
    );
}

#[test]
fn partial_fit_continues_like_scikit_learn() {
    let g = golden("sgd.json");
    let (x, y) = cancer();
    let params = SgdClassifierParams::new().loss(SgdClassifierLoss::LogLoss).shuffle(false).classes(vec![0, 1]);
    let mut model = None;
    for (a, b) in [(0, 200), (200, 400), (400, 569)] {
        let batch = Dataset::new(x.slice(s![a..b, ..]).to_owned(), y.slice(s![a..b]).to_owned()).with_chunk_rows(64);
        model = Some(params.partial_fit(model, &batch).unwrap());
    }
    let m = model.unwrap();
    let want = &g["cancer_partial"];
    assert_close("coef", &m.coef, &arr2(&want["coef"]), RTOL, ATOL);
    assert_close("intercept", &m.intercept, &arr1(&want["intercept"]), RTOL, ATOL);
    assert_eq!(m.t, want["t"].as_f64().unwrap());

    let (x, y) = diabetes();
    let params = SgdRegressorParams::new().shuffle(false);
    let mut model = None;
    for (a, b) in [(0, 150), (150, 300), (300, 442)] {
        let batch = Dataset::new(x.slice(s![a..b, ..]).to_owned(), y.slice(s![a..b]).to_owned());
        model = Some(params.partial_fit(model, &batch).unwrap());
    }
    let m = model.unwrap();
    let want = &g["diabetes_partial"];
    assert_close("coef", &m.coef, &arr1(&want["coef"]), RTOL, ATOL);
    assert_eq!(m.t, want["t"].as_f64().unwrap());
}

#[test]
fn shuffled_fits_are_seeded_and_scheduler_independent() {
    let (x, y) = cancer();
    let data: ChunkedDataset<f64, i64> = Dataset::new(x, y).with_chunk_rows(100).to_chunked().unwrap();
    let p = SgdClassifierParams::new().loss(SgdClassifierLoss::LogLoss).seed(7);
    let fits = on_every_scheduler(|_| p.fit(&data).unwrap());
    assert!(fits.windows(2).all(|w| w[0] == w[1]));
    let other = p.clone().seed(8).fit(&data).unwrap();
    assert_ne!(fits[0].coef, other.coef, "another seed visits rows in another order");
    // Either way it learns the problem.
    assert!(fits[0].score(&data).unwrap() > 0.95, "accuracy {}", fits[0].score(&data).unwrap());
    let proba = fits[0].predict_proba(data.x()).unwrap().compute().unwrap();
    assert_eq!(proba.ncols(), 2);
}

#[test]
fn bad_input_is_a_clear_error() {
    let (mut x, y) = cancer();
    let one_class = Dataset::new(x.slice(s![..5, ..]).to_owned(), Array1::from_elem(5, 1i64));
    assert!(matches!(SgdClassifierParams::new().fit(&one_class), Err(SgdError::TooFewClasses(1))));
    let err = SgdClassifierParams::new().classes(vec![0, 2]).fit(&Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(matches!(err, SgdError::UnknownLabel { label: 1, .. }), "{err}");
    let err = SgdClassifierParams::new().partial_fit(None, &Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(matches!(err, SgdError::PartialFitNeedsClasses));
    let m = SgdClassifierParams::new().max_iter(5).tol(None).fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert!(!m.converged, "max_iter reached is reported, not an error");
    assert!(m.predict(&Array2::<f64>::zeros((1, 3))).unwrap_err().to_string().contains("expected 30, found 3"));
    let err = m.predict_proba(&x).unwrap_err().to_string();
    assert!(err.contains("LogLoss or ModifiedHuber"), "{err}");
    let wrong = SgdClassifierParams::new().classes(vec![0, 1]);
    let err = wrong
        .partial_fit(Some(m), &Dataset::new(Array2::<f64>::zeros((3, 4)), Array1::from(vec![0i64, 1, 0])))
        .unwrap_err();
    assert!(matches!(err, SgdError::ModelMismatch(_)), "{err}");
    x[[10, 3]] = f64::NAN;
    let err = SgdClassifierParams::new().fit(&Dataset::new(x, y)).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
    // A huge learning rate overflows: a clear error, not NaN coefficients.
    let (x, y) = diabetes();
    let err = SgdRegressorParams::new()
        .penalty(SgdPenalty::None)
        .learning_rate(LearningRate::Constant)
        .eta0(1e6)
        .tol(None)
        .fit(&Dataset::new(x * 1e300, y))
        .unwrap_err();
    assert!(matches!(err, SgdError::Overflow(_)), "{err}");
}

#[test]
fn invalid_params_are_rejected_one_field_at_a_time() {
    let c = SgdClassifierParams::new;
    assert!(matches!(c().alpha(-1.0).check(), Err(SgdParamsError::Alpha(_))));
    assert!(matches!(c().alpha(0.0).check(), Err(SgdParamsError::Alpha(_))), "optimal needs alpha > 0");
    assert!(c().alpha(0.0).learning_rate(LearningRate::Constant).eta0(0.1).check().is_ok());
    assert!(matches!(c().l1_ratio(1.5).check(), Err(SgdParamsError::L1Ratio(_))));
    assert!(matches!(c().learning_rate(LearningRate::Constant).check(), Err(SgdParamsError::Eta0 { .. })));
    assert!(matches!(c().power_t(f64::NAN).check(), Err(SgdParamsError::PowerT(_))));
    assert!(matches!(c().max_iter(0).check(), Err(SgdParamsError::MaxIter)));
    assert!(matches!(c().tol(Some(-1.0)).check(), Err(SgdParamsError::Tol(_))));
    assert!(matches!(c().n_iter_no_change(0).check(), Err(SgdParamsError::NIterNoChange)));
    assert!(matches!(c().classes(vec![3, 3]).check(), Err(SgdParamsError::Classes(_))));
    let r = SgdRegressorParams::new().loss(SgdRegressorLoss::Huber { epsilon: -0.1 });
    assert!(matches!(r.check(), Err(SgdParamsError::Epsilon(_))));
    assert_eq!(
        c().learning_rate(LearningRate::InvScaling).eta0(0.0).check().unwrap_err().to_string(),
        "eta0 must be positive and finite for the invscaling learning rate, got 0"
    );
}

#[test]
fn models_are_send_sync_and_round_trip() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SgdClassifier>();
    send_sync::<SgdRegressor>();
    send_sync::<SgdClassifierParams>();
    let (x, y) = iris();
    let m = SgdClassifierParams::new().fit(&Dataset::new(x, y)).unwrap();
    let back: SgdClassifier = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn nan_targets_and_nan_rows_at_predict_time_are_errors() {
    let (x, mut y) = diabetes();
    let m = SgdRegressorParams::new().max_iter(3).fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert!(m.predict(&Array2::from_elem((1, 10), f64::NAN)).unwrap_err().to_string().contains("NaN or infinite"));
    y[4] = f64::NAN;
    let err = SgdRegressorParams::new().fit(&Dataset::new(x, y)).unwrap_err();
    assert!(err.to_string().contains("finite targets"), "{err}");
}

#[test]
fn no_rows_and_nan_weights_are_clear_errors() {
    use rask_ml::chunked::rows::{take_rows, RowSelection};
    let (x, y) = diabetes();
    let data: ChunkedDataset<f64, f64> = Dataset::new(x.clone(), y.clone()).with_chunk_rows(150).to_chunked().unwrap();
    // A filter that keeps no rows: chunks [0, 0, 0].
    let n = data.n_blocks();
    let empty = data.map_rows(|l| take_rows(l, vec![RowSelection::Range { start: 0, end: 0 }; n], vec![0; n])).unwrap();
    let err = SgdRegressorParams::new().fit(&empty).unwrap_err();
    assert!(err.to_string().contains("SGD cannot be fitted on 0 rows"), "{err}");
    let err = SgdRegressorParams::new().partial_fit(None, &empty).unwrap_err();
    assert!(err.to_string().contains("0 rows"), "{err}");
    // A NaN sample weight is named as such, not reported as an overflow.
    let mut w = Array1::ones(x.nrows());
    w[7] = f64::NAN;
    let weighted: ChunkedDataset<f64, f64> =
        Dataset::new(x, y).with_weights(w).with_chunk_rows(150).to_chunked().unwrap();
    let err = SgdRegressorParams::new().fit(&weighted).unwrap_err().to_string();
    assert!(err.contains("sample weight") && err.contains("NaN") && !err.contains("overflow"), "{err}");
}
