//! Linear models: LogisticRegression (binary, multinomial), LinearRegression (OLS, ridge, lasso,
//! elastic-net) and PoissonRegression, against scikit-learn 1.6.1 golden files
//! (`golden/make_linear_model.py`), across solvers, schedulers and chunkings, plus bad input.
//!
//! Tolerances. scikit-learn's reference fits are converged to `tol = 1e-10` (lbfgs: largest
//! gradient entry of the objective divided by `C·n`) or tighter, and ours to `tol = 1e-10` on
//! the same scaled objective. Near the optimum the coefficient error is at most the gradient
//! norm over the smallest Hessian eigenvalue, which the L2 term bounds below by `1/(C·n)`
//! (≈ 2e-3 on breast cancer): a few 1e-8. So smooth problems are compared at `rtol 1e-6`,
//! `atol 1e-6`. SAGA (scikit-learn's L1 and elastic-net reference) stops on a relative change
//! of the weights per epoch, which leaves about 1e-6 of error on this problem: `atol 2e-5`.
//! Coordinate descent (lasso, elastic-net) is converged to a 1e-14 duality gap: `rtol 1e-6`.
mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{s, Array1, Array2, Axis};
use rask_estimators::linear_model::{
    GlmParamsError, LinearRegression, LinearRegressionError, LinearRegressionParams, LinearRegressionParamsError,
    LogisticRegression, LogisticRegressionError, LogisticRegressionParams, LogisticRegressionParamsError, Penalty,
    PoissonRegression, PoissonRegressionError, PoissonRegressionParams, Solver,
};
use rask_ml::{ChunkedArray, Dataset, Fit, ParamGuard, Predict, PredictProba, ReduceOptions};
use serde_json::Value as Json;

fn json() -> &'static Json {
    static G: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    G.get_or_init(|| golden("linear_model.json"))
}

/// Standardises columns with the mean and the population standard deviation (ddof 0), as
/// scikit-learn's `StandardScaler`, computed with a chunked column-statistics reduction.
fn standardise(x: &Array2<f64>) -> Array2<f64> {
    let cx = ChunkedArray::from_array(x.view(), 128).unwrap();
    let st = cx.column_stats(ReduceOptions::default()).unwrap().compute().unwrap();
    let (mean, std) = (st.mean.clone(), st.std(0));
    (x - &mean.insert_axis(Axis(0))) / &std.insert_axis(Axis(0))
}

fn breast_cancer() -> (Array2<f64>, Array1<i64>) {
    let d = rask_datasets::load_breast_cancer(1000).unwrap();
    (standardise(&d.x), d.y)
}

/// Fits on every scheduler for each chunking; asserts the coefficients have the same bits on
/// every scheduler for one chunking, and returns one model per chunking.
fn fit_everywhere<M, E: std::fmt::Debug>(
    chunkings: &[usize],
    fit: impl Fn(usize) -> Result<M, E>,
    bits: impl Fn(&M) -> Vec<f64>,
) -> Vec<M> {
    chunkings
        .iter()
        .map(|&c| {
            let mut models = on_every_scheduler(|name| fit(c).unwrap_or_else(|e| panic!("{name}, chunk {c}: {e:?}")));
            let first = Array1::from(bits(&models[0]));
            for m in &models[1..] {
                assert!(same_bits(&first, &Array1::from(bits(m))), "schedulers disagree for chunk {c}");
            }
            models.swap_remove(0)
        })
        .collect()
}

fn logistic_bits(m: &LogisticRegression) -> Vec<f64> {
    m.coef.iter().chain(m.intercept.iter()).copied().collect()
}

fn regression_bits(coef: &Array1<f64>, intercept: f64) -> Vec<f64> {
    coef.iter().copied().chain([intercept]).collect()
}

fn check_logistic(m: &LogisticRegression, x: &Array2<f64>, g: &Json, rtol: f64, atol: f64) {
    assert_close("coef", &m.coef, &arr2(&g["coef"]), rtol, atol);
    assert_close("intercept", &m.intercept, &arr1(&g["intercept"]), rtol, atol);
    assert_eq!(m.classes, arr1_i64(&g["classes"]));
    let proba = m.predict_proba(&x.slice(s![..40, ..]).to_owned()).unwrap();
    assert_close("predict_proba", &proba, &arr2(&g["predict_proba"]), 0.0, 10.0 * atol);
    let pred = m.predict(x).unwrap();
    let want = arr1_i64(&g["predict"]);
    let agree = pred.iter().zip(&want).filter(|(a, b)| a == b).count();
    assert_eq!(agree, want.len(), "predictions differ from scikit-learn's");
}

fn logistic(params: LogisticRegressionParams, x: &Array2<f64>, y: &Array1<i64>, chunk: usize) -> LogisticRegression {
    params.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk)).unwrap()
}

// --- LogisticRegression against scikit-learn -----------------------------------------------

#[test]
fn binary_l2_lbfgs_matches_sklearn_on_breast_cancer() {
    let (x, y) = breast_cancer();
    let g = &json()["breast_cancer_l2_c1"];
    let p = LogisticRegressionParams::new().c(1.0).tol(1e-10).max_iter(10_000);
    let models =
        fit_everywhere(&[569, 100], |c| p.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c)), logistic_bits);
    for m in &models {
        assert!(m.converged);
        check_logistic(m, &x, g, 1e-6, 1e-6);
        assert_eq!(m.predict_proba(&x).unwrap().ncols(), 2);
        // scikit-learn's own lbfgs stops early (scipy's relative-decrease test, gradients
        // near 1e-7), so it is only this close to the optimum both solvers share.
        assert_close("vs sklearn lbfgs", &m.coef, &arr2(&g["lbfgs"]["coef"]), 0.0, 1e-5);
    }
}

#[test]
fn binary_without_intercept_newton_matches_sklearn() {
    let (x, y) = breast_cancer();
    let g = &json()["breast_cancer_l2_c01_no_intercept"];
    let p = LogisticRegressionParams::new().c(0.1).fit_intercept(false).solver(Solver::Newton).tol(1e-10);
    let models =
        fit_everywhere(&[569, 128], |c| p.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c)), logistic_bits);
    for m in &models {
        assert!(m.converged && m.n_iter < 20, "newton took {} iterations", m.n_iter);
        assert_eq!(m.intercept[0], 0.0);
        check_logistic(m, &x, g, 1e-6, 1e-6);
    }
}

#[test]
fn l1_proximal_grad_matches_saga() {
    let (x, y) = breast_cancer();
    let g = &json()["breast_cancer_l1_c01"];
    let base = LogisticRegressionParams::new().penalty(Penalty::L1).c(0.1).max_iter(20_000);
    let fista = fit_everywhere(
        &[569, 200],
        |c| {
            base.clone()
                .solver(Solver::ProximalGrad)
                .tol(1e-9)
                .fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c))
        },
        logistic_bits,
    );
    for m in &fista {
        assert!(m.converged);
        check_logistic(m, &x, g, 0.0, 2e-5);
        // Exact zeros where SAGA has them.
        let want = arr2(&g["coef"]);
        for (a, b) in m.coef.iter().zip(&want) {
            assert_eq!(*a == 0.0, *b == 0.0, "sparsity pattern differs: {a} vs {b}");
        }
    }
}

#[test]
fn elastic_net_proximal_grad_matches_saga() {
    let (x, y) = breast_cancer();
    let g = &json()["breast_cancer_en_c01"];
    let p = LogisticRegressionParams::new()
        .penalty(Penalty::ElasticNet)
        .l1_ratio(0.5)
        .c(0.1)
        .solver(Solver::ProximalGrad)
        .tol(1e-9)
        .max_iter(20_000);
    let models =
        fit_everywhere(&[569, 150], |c| p.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c)), logistic_bits);
    for m in &models {
        assert!(m.converged);
        check_logistic(m, &x, g, 0.0, 2e-5);
    }
}

#[test]
fn multinomial_lbfgs_matches_sklearn_on_iris() {
    let iris = rask_datasets::load_iris(1000).unwrap();
    for (key, c) in [("iris_c1", 1.0), ("iris_c10", 10.0)] {
        let g = &json()[key];
        let p = LogisticRegressionParams::new().c(c).tol(1e-10).max_iter(10_000);
        let models = fit_everywhere(
            &[150, 40],
            |ch| p.fit(&Dataset::new(iris.x.clone(), iris.y.clone()).with_chunk_rows(ch)),
            logistic_bits,
        );
        for m in &models {
            assert_eq!(m.coef.dim(), (3, 4));
            assert!(m.converged);
            check_logistic(m, &iris.x, g, 1e-5, 1e-5);
            let proba = m.predict_proba(&iris.x).unwrap();
            for r in proba.rows() {
                assert!((r.sum() - 1.0).abs() < 1e-12);
            }
        }
        // Newton reaches the same optimum (its Hessian is singular along the softmax's
        // redundant direction; the minimum-norm step handles it).
        let newton = logistic(p.clone().solver(Solver::Newton), &iris.x, &iris.y, 50);
        assert!(newton.converged);
        check_logistic(&newton, &iris.x, g, 1e-5, 1e-5);
    }
}

// --- Every solver, one optimum ---------------------------------------------------------------

fn small_problem(chunk: usize) -> rask_ml::ChunkedDataset<f64, i64> {
    let p = rask_datasets::ClassificationParams::new()
        .n_samples(400)
        .n_features(5)
        .n_informative(3)
        .n_redundant(0)
        .seed(7)
        .chunk_rows(chunk);
    rask_datasets::make_classification(&p).unwrap()
}

#[test]
fn every_solver_reaches_the_same_optimum() {
    let chunked = small_problem(100);
    let reference = LogisticRegressionParams::new().solver(Solver::Newton).tol(1e-12).fit(&chunked).unwrap();
    let want = Array1::from(logistic_bits(&reference));
    for (solver, tol, close) in [
        (Solver::Lbfgs, 1e-10, 1e-7),
        (Solver::GradientDescent, 1e-9, 1e-6),
        (Solver::ProximalGrad, 1e-10, 1e-7),
        (Solver::Admm, 1e-10, 1e-6),
    ] {
        let m = LogisticRegressionParams::new().solver(solver).tol(tol).max_iter(50_000).fit(&chunked).unwrap();
        assert!(m.converged, "{solver:?} did not converge in {} iterations", m.n_iter);
        assert_close(&format!("{solver:?}"), &Array1::from(logistic_bits(&m)), &want, 0.0, close);
    }
    // With an L1 term, the two proximal solvers agree.
    let l1 = LogisticRegressionParams::new().penalty(Penalty::L1).c(0.05).max_iter(50_000);
    let a = l1.clone().solver(Solver::ProximalGrad).tol(1e-11).fit(&chunked).unwrap();
    let b = l1.solver(Solver::Admm).tol(1e-9).fit(&chunked).unwrap();
    assert!(a.converged && b.converged, "L1: fista {} / admm {} iterations", a.n_iter, b.n_iter);
    assert!(a.coef.iter().any(|&c| c == 0.0), "C = 0.05 should zero some coefficients: {:?}", a.coef);
    assert_close("admm vs fista (L1)", &Array1::from(logistic_bits(&b)), &Array1::from(logistic_bits(&a)), 0.0, 1e-6);
}

#[test]
fn results_agree_across_chunkings_and_float_types() {
    // The generator's rows depend on its chunking, so one in-memory copy is re-chunked.
    let data = small_problem(400);
    let (x, y) = (data.x().compute().unwrap(), data.y().unwrap().compute().unwrap());
    let models = fit_everywhere(
        &[400, 64],
        |c| LogisticRegressionParams::new().tol(1e-10).fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c)),
        logistic_bits,
    );
    assert_close(
        "chunkings",
        &Array1::from(logistic_bits(&models[1])),
        &Array1::from(logistic_bits(&models[0])),
        1e-9,
        1e-9,
    );
    // f32 features: the sums are accumulated in f64, so only the input rounding differs.
    let (x, y) = breast_cancer();
    let m64 = logistic(LogisticRegressionParams::new().tol(1e-10), &x, &y, 200);
    let m32 = LogisticRegressionParams::new()
        .tol(1e-10)
        .fit(&Dataset::new(x.mapv(|v| v as f32), y.clone()).with_chunk_rows(200))
        .unwrap();
    assert_close("f32 vs f64", &m32.coef, &m64.coef, 1e-4, 1e-4);
}

#[test]
fn chunked_predictions_match_in_memory_ones_on_every_scheduler() {
    let iris = rask_datasets::load_iris(1000).unwrap();
    let m = logistic(LogisticRegressionParams::new(), &iris.x, &iris.y, 150);
    let cx = ChunkedArray::from_array(iris.x.view(), 40).unwrap();
    let (want_p, want_y) = (m.predict_proba(&iris.x).unwrap(), m.predict(&iris.x).unwrap());
    on_every_scheduler(|_| {
        assert!(same_bits(&m.predict_proba(&cx).unwrap().compute().unwrap(), &want_p));
        assert_eq!(m.predict(&cx).unwrap().compute().unwrap(), want_y);
    });
    let d = rask_datasets::load_diabetes(1000).unwrap();
    let lr = LinearRegressionParams::new().fit(&Dataset::new(d.x.clone(), d.y.clone())).unwrap();
    let cx = ChunkedArray::from_array(d.x.view(), 100).unwrap();
    let want = lr.predict(&d.x).unwrap();
    on_every_scheduler(|_| assert!(same_bits(&lr.predict(&cx).unwrap().compute().unwrap(), &want)));
}

#[test]
fn decision_function_and_probabilities_agree() {
    let (x, y) = breast_cancer();
    let m = logistic(LogisticRegressionParams::new(), &x, &y, 569);
    let d = m.decision_function(x.view()).unwrap();
    let p = m.predict_proba(&x).unwrap();
    for (e, pr) in d.column(0).iter().zip(p.column(1)) {
        assert!((1.0 / (1.0 + (-e).exp()) - pr).abs() < 1e-12);
    }
}

#[test]
fn running_out_of_iterations_is_reported_not_an_error() {
    let (x, y) = breast_cancer();
    let m = logistic(LogisticRegressionParams::new().max_iter(3).tol(1e-12), &x, &y, 569);
    assert!(!m.converged);
    assert_eq!(m.n_iter, 3);
}

// --- LinearRegression and PoissonRegression against scikit-learn ----------------------------

fn diabetes(scaled: bool) -> (Array2<f64>, Array1<f64>) {
    let d = rask_datasets::load_diabetes(1000).unwrap();
    (if scaled { standardise(&d.x) } else { d.x }, d.y)
}

fn check_regression(
    what: &str,
    coef: &Array1<f64>,
    intercept: f64,
    pred: &Array1<f64>,
    g: &Json,
    rtol: f64,
    atol: f64,
) {
    assert_close(&format!("{what} coef"), coef, &arr1(&g["coef"]), rtol, atol);
    assert_close(
        &format!("{what} intercept"),
        &Array1::from(vec![intercept]),
        &Array1::from(vec![g["intercept"].as_f64().unwrap()]),
        rtol,
        atol,
    );
    assert_close(&format!("{what} predict"), pred, &arr1(&g["predict"]), rtol, atol);
}

fn linear(
    params: &LinearRegressionParams,
    x: &Array2<f64>,
    y: &Array1<f64>,
    chunk: usize,
) -> Result<LinearRegression, LinearRegressionError> {
    params.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk))
}

#[test]
fn ols_direct_matches_sklearn_on_raw_diabetes() {
    let (x, y) = diabetes(false);
    let g = &json()["diabetes_ols"];
    let p = LinearRegressionParams::new();
    let models = fit_everywhere(&[442, 100], |c| linear(&p, &x, &y, c), |m| regression_bits(&m.coef, m.intercept));
    for m in &models {
        // Normal equations on raw features (condition number of XᵀX ~1e9): 1e-7 relative.
        check_regression(
            "ols",
            &m.coef,
            m.intercept,
            &m.predict(&x.slice(s![..40, ..]).to_owned()).unwrap(),
            g,
            1e-7,
            1e-9,
        );
        assert_eq!((m.n_iter, m.converged), (1, true));
    }
}

#[test]
fn ridge_lasso_elastic_net_match_sklearn_on_every_solver() {
    let (x, y) = diabetes(true);
    let n = x.nrows() as f64;
    let head = x.slice(s![..40, ..]).to_owned();
    // Ridge(alpha = 10) is penalty L2 with alpha = 10 / n here.
    let ridge = LinearRegressionParams::new().penalty(Penalty::L2).alpha(10.0 / n).max_iter(100_000);
    // The gradient's scale follows y's (about 150), so tolerances 1e-9 are relative 1e-11.
    // Gradient descent needs thousands of steps here (condition number ~200); it is held to a
    // looser tolerance, and the slower solvers run on one chunking only.
    for (solver, tol, chunkings, rtol) in [
        (Solver::Direct, 1e-4, &[442, 100][..], 1e-6),
        (Solver::Lbfgs, 1e-9, &[442, 100][..], 1e-6),
        (Solver::Newton, 1e-9, &[100][..], 1e-6),
        (Solver::ProximalGrad, 1e-9, &[100][..], 1e-6),
        (Solver::Admm, 1e-9, &[100][..], 1e-6),
        (Solver::GradientDescent, 1e-6, &[100][..], 1e-4),
    ] {
        let t = std::time::Instant::now();
        let models = fit_everywhere(
            chunkings,
            |c| linear(&ridge.clone().solver(solver).tol(tol), &x, &y, c),
            |m| regression_bits(&m.coef, m.intercept),
        );
        for m in &models {
            assert!(m.converged, "{solver:?}: {} iterations", m.n_iter);
            check_regression(
                &format!("ridge {solver:?}"),
                &m.coef,
                m.intercept,
                &m.predict(&head).unwrap(),
                &json()["diabetes_ridge_a10"],
                rtol,
                rtol,
            );
        }
        eprintln!("ridge {solver:?}: {} iterations, {:?}", models[0].n_iter, t.elapsed());
    }
    let lasso = LinearRegressionParams::new().penalty(Penalty::L1).alpha(1.0).max_iter(100_000);
    let enet = LinearRegressionParams::new().penalty(Penalty::ElasticNet).alpha(0.5).l1_ratio(0.7).max_iter(100_000);
    for (name, p, key) in [("lasso", lasso, "diabetes_lasso_a1"), ("enet", enet, "diabetes_enet_a05")] {
        for solver in [Solver::ProximalGrad, Solver::Admm] {
            let t = std::time::Instant::now();
            let models = fit_everywhere(
                &[442, 100],
                |c| linear(&p.clone().solver(solver).tol(1e-9), &x, &y, c),
                |m| regression_bits(&m.coef, m.intercept),
            );
            eprintln!("{name} {solver:?}: {} iterations, {:?}", models[0].n_iter, t.elapsed());
            for m in &models {
                assert!(m.converged, "{name} {solver:?}");
                check_regression(
                    &format!("{name} {solver:?}"),
                    &m.coef,
                    m.intercept,
                    &m.predict(&head).unwrap(),
                    &json()[key],
                    1e-6,
                    1e-6,
                );
            }
        }
    }
}

#[test]
fn poisson_matches_sklearn() {
    let counts = &json()["counts"];
    let (x, y) = (arr2(&counts["x"]), arr1(&counts["y"]));
    let head = x.slice(s![..40, ..]).to_owned();
    for (key, alpha) in [("poisson_a1.0", 1.0), ("poisson_a0.01", 0.01)] {
        for solver in [Solver::Lbfgs, Solver::Newton, Solver::ProximalGrad, Solver::Admm] {
            let p = PoissonRegressionParams::new().alpha(alpha).solver(solver).tol(1e-10).max_iter(10_000);
            let models = fit_everywhere(
                &[300, 64],
                |c| p.fit(&Dataset::new(x.clone(), y.clone()).with_chunk_rows(c)),
                |m: &PoissonRegression| regression_bits(&m.coef, m.intercept),
            );
            for m in &models {
                assert!(m.converged, "{key} {solver:?}");
                check_regression(
                    &format!("{key} {solver:?}"),
                    &m.coef,
                    m.intercept,
                    &m.predict(&head).unwrap(),
                    &json()[key],
                    1e-6,
                    1e-6,
                );
            }
        }
    }
}

// --- Bad input --------------------------------------------------------------------------------

fn tiny() -> (Array2<f64>, Array1<i64>) {
    (ndarray::array![[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.5]], ndarray::array![0, 0, 1, 1])
}

#[test]
fn single_class_is_an_error() {
    let (x, _) = tiny();
    let err = LogisticRegressionParams::new().fit(&Dataset::new(x, ndarray::array![3i64, 3, 3, 3])).unwrap_err();
    assert_eq!(err, LogisticRegressionError::SingleClass { class: 3 });
    assert!(err.to_string().contains("one class"));
}

#[test]
fn nan_in_x_or_y_is_an_error() {
    let (mut x, y) = tiny();
    x[[2, 1]] = f64::NAN;
    let err = LogisticRegressionParams::new().fit(&Dataset::new(x.clone(), y).with_chunk_rows(2)).unwrap_err();
    // Where, and what to do about it.
    assert!(err.to_string().contains("x (block 1, row 0 (row 2 overall), column 1 holds NaN)"), "{err}");
    assert!(err.to_string().contains("SimpleImputer"), "{err}");
    let err = LinearRegressionParams::new().fit(&Dataset::new(x, ndarray::array![1.0, 2.0, 3.0, 4.0])).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let (x, _) = tiny();
    let err =
        LinearRegressionParams::new().fit(&Dataset::new(x, ndarray::array![1.0, f64::INFINITY, 3.0, 4.0])).unwrap_err();
    assert!(err.to_string().contains("y contains NaN or infinite"), "{err}");
}

#[test]
fn mismatched_x_and_y_lengths_are_an_error() {
    let (x, _) = tiny();
    let err = LogisticRegressionParams::new().fit(&Dataset::new(x, ndarray::array![0i64, 1, 0])).unwrap_err();
    assert!(matches!(err, LogisticRegressionError::Ml(rask_ml::MlError::ShapeMismatch { .. })), "{err}");
}

#[test]
fn negative_weights_and_unlabelled_data_are_errors() {
    let (x, y) = tiny();
    let err = LogisticRegressionParams::new()
        .fit(&Dataset::new(x.clone(), y).with_weights(ndarray::array![1.0, -1.0, 1.0, 1.0]))
        .unwrap_err();
    assert!(err.to_string().contains("non-negative"), "{err}");
    let err = LinearRegressionParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("needs a target"), "{err}");
}

#[test]
fn predicting_with_the_wrong_width_is_an_error() {
    let (x, y) = tiny();
    let m = logistic(LogisticRegressionParams::new(), &x, &y, 4);
    let wide = Array2::<f64>::zeros((3, 5));
    assert!(m.predict(&wide).unwrap_err().to_string().contains("number of features"));
    assert!(m.predict_proba(&wide).is_err());
    assert!(m.decision_function(wide.view()).is_err());
    let cw = ChunkedArray::from_array(wide.view(), 2).unwrap();
    assert!(m.predict(&cw).is_err());
}

#[test]
fn l1_with_a_smooth_solver_is_rejected() {
    for solver in [Solver::Lbfgs, Solver::Newton, Solver::GradientDescent] {
        let err = LogisticRegressionParams::new().penalty(Penalty::L1).solver(solver).check().unwrap_err();
        assert_eq!(
            err,
            LogisticRegressionParamsError::Solver(GlmParamsError::NonSmoothPenalty { solver, penalty: Penalty::L1 })
        );
        assert!(err.to_string().contains("ProximalGrad or Admm"), "{err}");
    }
    let err = LinearRegressionParams::new().penalty(Penalty::ElasticNet).check().unwrap_err();
    assert!(matches!(err, LinearRegressionParamsError::Solver(GlmParamsError::NonSmoothPenalty { .. })));
    let err = LogisticRegressionParams::new().solver(Solver::Direct).check().unwrap_err();
    assert!(err.to_string().contains("not available for LogisticRegression"), "{err}");
}

#[test]
fn invalid_c_is_rejected() {
    for c in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = LogisticRegressionParams::new().c(c).check().unwrap_err();
        assert!(matches!(err, LogisticRegressionParamsError::C(_)));
        assert!(err.to_string().starts_with("C must be positive and finite"));
    }
}

#[test]
fn invalid_tol_is_rejected() {
    let err = LogisticRegressionParams::new().tol(0.0).check().unwrap_err();
    assert_eq!(err, LogisticRegressionParamsError::Solver(GlmParamsError::Tol(0.0)));
    assert_eq!(err.to_string(), "tol must be positive and finite, got 0");
}

#[test]
fn invalid_max_iter_is_rejected() {
    let err = LogisticRegressionParams::new().max_iter(0).check().unwrap_err();
    assert_eq!(err, LogisticRegressionParamsError::Solver(GlmParamsError::MaxIter(0)));
}

#[test]
fn invalid_l1_ratio_is_rejected() {
    let err = LogisticRegressionParams::new().l1_ratio(1.5).check().unwrap_err();
    assert_eq!(err, LogisticRegressionParamsError::Solver(GlmParamsError::L1Ratio(1.5)));
    assert_eq!(err.to_string(), "l1_ratio must be in [0, 1], got 1.5");
}

#[test]
fn invalid_rho_is_rejected() {
    let err = LogisticRegressionParams::new().rho(-1.0).check().unwrap_err();
    assert_eq!(err, LogisticRegressionParamsError::Solver(GlmParamsError::Rho(-1.0)));
}

#[test]
fn invalid_alpha_is_rejected() {
    let err = LinearRegressionParams::new().alpha(-0.5).check().unwrap_err();
    assert_eq!(err, LinearRegressionParamsError::Alpha(-0.5));
    assert!(PoissonRegressionParams::new().alpha(f64::NAN).check().is_err());
}

#[test]
fn poisson_rejects_negative_and_all_zero_targets() {
    let (x, _) = tiny();
    let err =
        PoissonRegressionParams::new().fit(&Dataset::new(x.clone(), ndarray::array![1.0, -2.0, 0.0, 3.0])).unwrap_err();
    assert_eq!(err, PoissonRegressionError::NegativeTarget { min: -2.0 });
    let err = PoissonRegressionParams::new().fit(&Dataset::new(x, ndarray::array![0.0, 0.0, 0.0, 0.0])).unwrap_err();
    assert_eq!(err, PoissonRegressionError::ZeroTargets);
}

#[test]
fn params_and_models_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<LogisticRegressionParams>();
    check::<LogisticRegression>();
    check::<LogisticRegressionError>();
    check::<LinearRegressionParams>();
    check::<LinearRegression>();
    check::<PoissonRegressionParams>();
    check::<PoissonRegression>();
}

#[test]
fn models_and_params_survive_save_and_load() {
    let dir = std::env::temp_dir().join(format!("rask-linear-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let iris = rask_datasets::load_iris(1000).unwrap();
    let m = logistic(LogisticRegressionParams::new(), &iris.x, &iris.y, 150);
    let path = dir.join("logistic.rask");
    rask_ml::save(&m, &path).unwrap();
    let back: LogisticRegression = rask_ml::load(&path).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.predict(&iris.x).unwrap(), m.predict(&iris.x).unwrap());
    let p = LogisticRegressionParams::new().c(3.0).penalty(Penalty::ElasticNet).solver(Solver::Admm);
    rask_ml::save(&p, dir.join("params.rask")).unwrap();
    assert_eq!(rask_ml::load::<LogisticRegressionParams>(dir.join("params.rask")).unwrap(), p);
    // Loading as the wrong type is a clear error.
    assert!(rask_ml::load::<LinearRegression>(&path).unwrap_err().to_string().contains("holds a"));
    std::fs::remove_dir_all(&dir).unwrap();
}

// --- Sample weights and degenerate designs ---------------------------------------------------

#[test]
fn integer_weights_equal_repeated_rows() {
    let iris = rask_datasets::load_iris(1000).unwrap();
    let w = Array1::from_shape_fn(150, |i| (i % 3 + 1) as f64);
    let mut rows = Vec::new();
    for i in 0..150 {
        for _ in 0..(i % 3 + 1) {
            rows.push(i);
        }
    }
    let xr = iris.x.select(Axis(0), &rows);
    let yr = iris.y.select(Axis(0), &rows);
    let p = LogisticRegressionParams::new().c(2.0).tol(1e-11).max_iter(1000);
    let weighted = fit_everywhere(
        &[150, 32],
        |c| p.fit(&Dataset::new(iris.x.clone(), iris.y.clone()).with_weights(w.clone()).with_chunk_rows(c)),
        logistic_bits,
    );
    let repeated = logistic(p.clone(), &xr, &yr, 64);
    for m in &weighted {
        assert_close(
            "weights vs repeats",
            &Array1::from(logistic_bits(m)),
            &Array1::from(logistic_bits(&repeated)),
            1e-7,
            1e-7,
        );
    }
    // The same for least squares, through the normal equations.
    let d = rask_datasets::load_diabetes(1000).unwrap();
    let w = Array1::from_shape_fn(442, |i| (i % 2 + 1) as f64);
    let rows: Vec<usize> = (0..442).flat_map(|i| std::iter::repeat_n(i, i % 2 + 1)).collect();
    let a = LinearRegressionParams::new().fit(&Dataset::new(d.x.clone(), d.y.clone()).with_weights(w)).unwrap();
    let b = LinearRegressionParams::new()
        .fit(&Dataset::new(d.x.select(Axis(0), &rows), d.y.select(Axis(0), &rows)))
        .unwrap();
    assert_close("ols weights vs repeats", &a.coef, &b.coef, 1e-7, 1e-9);
}

#[test]
fn collinear_features_give_the_minimum_norm_least_squares_fit() {
    // Column 1 repeats column 0: the normal equations are singular; the minimum-norm answer
    // splits the coefficient evenly, and the predictions are those of the one-column fit.
    let x1 = ndarray::array![[0.0], [1.0], [2.0], [3.0], [4.0]];
    let y = ndarray::array![1.0, 2.9, 5.2, 7.1, 8.8];
    let x2 = ndarray::concatenate![Axis(1), x1, x1];
    let one = LinearRegressionParams::new().fit(&Dataset::new(x1.clone(), y.clone())).unwrap();
    let two = on_every_scheduler(|_| {
        LinearRegressionParams::new().fit(&Dataset::new(x2.clone(), y.clone()).with_chunk_rows(2)).unwrap()
    });
    for m in &two {
        assert!((m.coef[0] - m.coef[1]).abs() < 1e-8, "{:?}", m.coef);
        assert_close("predictions", &m.predict(&x2).unwrap(), &one.predict(&x1).unwrap(), 1e-9, 1e-9);
    }
}
