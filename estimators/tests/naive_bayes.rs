//! Gaussian naive Bayes against scikit-learn, on every scheduler and two chunkings.

mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{array, s, Array1, Array2, Axis};
use rask_estimators::naive_bayes::{GaussianNB, GaussianNBError, GaussianNBParams};
use rask_ml::{ChunkedDataset, Dataset, Fit, ParamGuard, PartialFit, Predict, PredictProba, Score};

fn real(name: &str) -> (Array2<f64>, Array1<i64>) {
    let d = match name {
        "iris" => rask_datasets::real::load_iris(50).unwrap(),
        "wine" => rask_datasets::real::load_wine(50).unwrap(),
        "breast_cancer" => rask_datasets::real::load_breast_cancer(50).unwrap(),
        _ => unreachable!(),
    };
    (d.x, d.y)
}

#[test]
fn gaussian_nb_matches_scikit_learn() {
    let g = golden("naive_bayes.json");
    for name in ["iris", "wine", "breast_cancer"] {
        let (x, y) = real(name);
        let want = &g[name];
        for chunk in [33, 1000] {
            let data = Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk).to_chunked().unwrap();
            let fits = on_every_scheduler(|_| {
                let m = GaussianNBParams::new().fit(&data).unwrap();
                let pred = m.predict(data.x()).unwrap().compute().unwrap();
                let proba = m.predict_proba(data.x()).unwrap().compute().unwrap();
                (m, pred, proba)
            });
            for (m, pred, proba) in &fits {
                assert_eq!(m.classes, arr1_i64(&want["classes"]).to_vec());
                assert_eq!(m.class_count, arr1(&want["class_count"]));
                assert_close("class_prior", &m.class_prior, &arr1(&want["class_prior"]), 1e-15, 0.0);
                // Means and variances come from merged moments: rounding-level agreement.
                assert_close("theta", &m.theta, &arr2(&want["theta"]), 1e-12, 1e-14);
                assert_close("var", &m.var, &arr2(&want["var"]), 1e-10, 1e-14);
                assert_close("epsilon", &array![m.epsilon], &array![want["epsilon"].as_f64().unwrap()], 1e-10, 0.0);
                assert_eq!(*pred, arr1_i64(&want["predict"]), "{name}: predictions");
                assert_close("proba", &proba.slice(s![..10, ..]).to_owned(), &arr2(&want["proba_head"]), 1e-8, 1e-12);
                // Probabilities are n × n_classes and sum to one.
                assert_eq!(proba.ncols(), m.classes.len());
                assert!(proba.sum_axis(Axis(1)).iter().all(|s| (s - 1.0).abs() < 1e-12));
            }
            assert!(fits.windows(2).all(|w| w[0].0 == w[1].0 && same_bits(&w[0].2, &w[1].2)), "schedulers differ");
        }
    }
}

#[test]
fn priors_and_smoothing_are_honoured() {
    let g = golden("naive_bayes.json");
    let want = &g["iris_priors"];
    let (x, y) = real("iris");
    let m = GaussianNBParams::new()
        .priors(arr1(&want["priors"]).to_vec())
        .var_smoothing(want["var_smoothing"].as_f64().unwrap())
        .fit(&Dataset::new(x.clone(), y))
        .unwrap();
    assert_eq!(m.class_prior, arr1(&want["priors"]));
    assert_close("var", &m.var, &arr2(&want["var"]), 1e-10, 1e-14);
    assert_eq!(m.predict(&x).unwrap(), arr1_i64(&want["predict"]));
}

#[test]
fn partial_fit_matches_scikit_learn_batches() {
    let g = golden("naive_bayes.json");
    let want = &g["iris_partial"];
    let (x, y) = real("iris");
    let perm: Vec<usize> = arr1_i64(&want["perm"]).iter().map(|&i| i as usize).collect();
    let xp = x.select(Axis(0), &perm);
    let yp = y.select(Axis(0), &perm);
    let params = GaussianNBParams::new().classes(vec![0, 1, 2]);
    let mut model: Option<GaussianNB> = None;
    for i in 0..3 {
        let batch = Dataset::new(
            xp.slice(s![i * 50..(i + 1) * 50, ..]).to_owned(),
            yp.slice(s![i * 50..(i + 1) * 50]).to_owned(),
        );
        model = Some(params.partial_fit(model, &batch).unwrap());
    }
    let m = model.unwrap();
    assert_close("theta", &m.theta, &arr2(&want["theta"]), 1e-12, 1e-14);
    // scikit-learn updates `epsilon_` before it subtracts the previous batch's smoothing from
    // `var_`, so its merged variances carry the difference of the batches' epsilons (a few
    // 1e-9 here). Rask keeps the exact merged variance plus the latest epsilon, hence 1e-8.
    assert_close("var", &m.var, &arr2(&want["var"]), 0.0, 1e-8);
    assert_close("epsilon", &array![m.epsilon], &array![want["epsilon"].as_f64().unwrap()], 1e-10, 0.0);
    assert_eq!(m.class_count, arr1(&want["class_count"]));
    // Exactly: the variance of all rows seen, plus the latest epsilon.
    let full = GaussianNBParams::new().fit(&Dataset::new(xp, yp)).unwrap();
    assert_close("exact var", &(&m.var - m.epsilon), &(&full.var - full.epsilon), 1e-12, 1e-15);
}

#[test]
fn sample_weights_act_as_repeated_rows() {
    let x = array![[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [8.0, 9.0], [9.0, 7.0]];
    let y = array![0i64, 0, 0, 1, 1];
    let w = array![1.0, 2.0, 1.0, 1.0, 3.0];
    let weighted = GaussianNBParams::new().fit(&Dataset::new(x.clone(), y.clone()).with_weights(w)).unwrap();
    let idx = [0usize, 1, 1, 2, 3, 4, 4, 4];
    let repeated =
        GaussianNBParams::new().fit(&Dataset::new(x.select(Axis(0), &idx), y.select(Axis(0), &idx))).unwrap();
    assert_close("theta", &weighted.theta, &repeated.theta, 1e-14, 1e-14);
    // The smoothing uses the plain variance of the rows given, so compare without it.
    assert_close("var", &(&weighted.var - weighted.epsilon), &(&repeated.var - repeated.epsilon), 1e-12, 1e-14);
    assert_eq!(weighted.class_count, repeated.class_count);
}

#[test]
fn score_is_accuracy() {
    let (x, y) = real("wine");
    let data: ChunkedDataset<f64, i64> = Dataset::new(x.clone(), y.clone()).with_chunk_rows(40).to_chunked().unwrap();
    let m = GaussianNBParams::new().fit(&data).unwrap();
    let pred = m.predict(&x).unwrap();
    let acc = rask_ml::metrics::accuracy_score(y.view(), pred.view()).unwrap();
    assert_eq!(m.score(&data).unwrap(), acc);
    assert!(acc > 0.95, "GaussianNB on wine scores {acc}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let (mut x, y) = real("iris");
    // One class.
    let err = GaussianNBParams::new()
        .fit(&Dataset::new(x.slice(s![..10, ..]).to_owned(), y.slice(s![..10]).to_owned()))
        .unwrap_err();
    assert_eq!(err.to_string(), "the target has 1 class(es); a classifier needs at least two (or pass `classes`)");
    // Labels outside the declared classes.
    let err = GaussianNBParams::new().classes(vec![0, 1]).fit(&Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(matches!(err, GaussianNBError::UnknownLabel { label: 2, .. }), "{err}");
    // partial_fit without classes.
    let err = GaussianNBParams::new().partial_fit(None, &Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(matches!(err, GaussianNBError::PartialFitNeedsClasses));
    // Mismatched lengths.
    let err = GaussianNBParams::new().fit(&Dataset::new(x.clone(), y.slice(s![..100]).to_owned())).unwrap_err();
    assert!(err.to_string().contains("length of y"), "{err}");
    // Wrong width at predict time.
    let m = GaussianNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert!(m.predict(&Array2::<f64>::zeros((2, 3))).unwrap_err().to_string().contains("expected 4, found 3"));
    // NaN.
    x[[5, 1]] = f64::NAN;
    let err = GaussianNBParams::new().fit(&Dataset::new(x, y)).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}

#[test]
fn invalid_params_are_rejected_one_field_at_a_time() {
    assert!(matches!(GaussianNBParams::new().var_smoothing(-1.0).check(), Err(GaussianNBError::VarSmoothing(_))));
    assert!(matches!(GaussianNBParams::new().priors(vec![0.5, 0.6]).check(), Err(GaussianNBError::Priors(_))));
    assert!(matches!(GaussianNBParams::new().classes(vec![1, 1]).check(), Err(GaussianNBError::Classes(_))));
    assert!(matches!(
        GaussianNBParams::new().classes(vec![0, 1]).priors(vec![0.2, 0.3, 0.5]).check(),
        Err(GaussianNBError::PriorsLength { priors: 3, classes: 2 })
    ));
    assert!(matches!(GaussianNBParams::new().split_every(1).check(), Err(GaussianNBError::SplitEvery(1))));
    let (x, y) = real("iris");
    let err = GaussianNBParams::new().priors(vec![0.5, 0.5]).fit(&Dataset::new(x, y)).unwrap_err();
    assert_eq!(err.to_string(), "2 priors given for 3 classes");
}

#[test]
fn model_is_send_sync_and_round_trips() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<GaussianNB>();
    send_sync::<GaussianNBParams>();
    let (x, y) = real("iris");
    let m = GaussianNBParams::new().fit(&Dataset::new(x, y)).unwrap();
    let back: GaussianNB = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

#[test]
fn nan_at_predict_time_is_an_error() {
    let (x, y) = real("iris");
    let m = GaussianNBParams::new().fit(&Dataset::new(x, y)).unwrap();
    let err = m.predict(&array![[1.0, f64::NAN, 1.0, 1.0]]).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
    assert!(m.predict_proba(&array![[1.0, f64::INFINITY, 1.0, 1.0]]).is_err());
}

#[test]
fn degenerate_variances_give_defined_probabilities() {
    // All rows identical (default smoothing: var_smoothing × max variance is 0).
    let x = Array2::from_elem((6, 3), 2.5);
    let y = array![0i64, 1, 0, 1, 1, 1];
    let m = GaussianNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert!(m.epsilon > 0.0 && m.var.iter().all(|v| *v > 0.0), "a variance floor: {}", m.epsilon);
    let probe = array![[2.5, 2.5, 2.5], [3.0, -1.0, 7.0]];
    let p = m.predict_proba(&probe).unwrap();
    assert!(p.iter().all(|v| v.is_finite()), "{p}");
    // Identical rows carry no evidence: the probabilities are the priors (to rounding of
    // log-likelihoods of about 1e9 for the far row).
    for (row, tol) in p.rows().into_iter().zip([1e-12, 1e-5]) {
        assert!((row[0] - 2.0 / 6.0).abs() < tol && (row[1] - 4.0 / 6.0).abs() < tol, "{row}");
    }
    // A constant column with var_smoothing = 0.
    let (x, y) = real("iris");
    let mut xc = x.clone();
    xc.column_mut(1).fill(3.0);
    let m = GaussianNBParams::new().var_smoothing(0.0).fit(&Dataset::new(xc.clone(), y)).unwrap();
    let p = m.predict_proba(&xc).unwrap();
    assert!(p.iter().all(|v| v.is_finite()), "NaN probabilities");
    let mut off = xc.slice(s![..5, ..]).to_owned();
    off.column_mut(1).fill(4.0);
    let p = m.predict_proba(&off).unwrap();
    assert!(p.iter().all(|v| v.is_finite()), "{p}");
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-12, "{row}");
    }
}
