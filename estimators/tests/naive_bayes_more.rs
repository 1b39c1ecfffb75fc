//! Multinomial and Bernoulli naive Bayes against scikit-learn, on every scheduler and two
//! chunkings.

mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{array, s, Array1, Array2, Axis};
use rask_estimators::naive_bayes::{
    BernoulliNB, BernoulliNBError, BernoulliNBParams, DiscreteNBError, MultinomialNB, MultinomialNBParams,
};
use rask_ml::{ChunkedDataset, Dataset, Fit, ParamGuard, PartialFit, Predict, PredictProba, Score};
use serde_json::Value as Json;

// Feature counts are sums of small integers (exact) or of weights (rounding-level differences
// from scikit-learn's matrix product); log probabilities follow from them with the same
// formulas, and the joint log-likelihoods are dot products in another order than BLAS's.
const RTOL: f64 = 1e-12;

fn data(g: &Json, key: &str) -> (Array2<f64>, Array1<i64>) {
    (arr2(&g[key]), arr1_i64(&g["y"]))
}

/// Every fitted attribute and prediction against the golden entry `want`.
fn check_attrs(
    what: &str,
    classes: &[i64],
    cc: &Array1<f64>,
    fc: &Array2<f64>,
    clp: &Array1<f64>,
    flp: &Array2<f64>,
    want: &Json,
) {
    assert_eq!(classes.to_vec(), arr1_i64(&want["classes"]).to_vec(), "{what}");
    assert_close(&format!("{what} class_count"), cc, &arr1(&want["class_count"]), RTOL, 1e-12);
    assert_close(&format!("{what} feature_count"), fc, &arr2(&want["feature_count"]), RTOL, 1e-12);
    assert_close(&format!("{what} class_log_prior"), clp, &arr1(&want["class_log_prior"]), RTOL, 1e-14);
    assert_close(&format!("{what} feature_log_prob"), flp, &arr2(&want["feature_log_prob"]), RTOL, 1e-14);
}

fn fit_everywhere<P, M>(params: &P, data: &ChunkedDataset<f64, i64>) -> Vec<(M, Array1<i64>, Array2<f64>)>
where
    P: Fit<ChunkedDataset<f64, i64>, Model = M>,
    P::Error: std::fmt::Debug,
    M: rask_ml::BlockModel<Label = i64> + PartialEq + std::fmt::Debug,
{
    let fits = on_every_scheduler(|_| {
        let m = params.fit(data).unwrap();
        let pred = m.predict(data.x()).unwrap().compute().unwrap();
        let proba = m.predict_proba(data.x()).unwrap().compute().unwrap();
        (m, pred, proba)
    });
    assert!(fits.windows(2).all(|w| w[0].0 == w[1].0 && w[0].1 == w[1].1 && same_bits(&w[0].2, &w[1].2)));
    fits
}

#[test]
fn multinomial_nb_matches_scikit_learn() {
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let w = arr1(&g["w"]);
    for (label, params, weighted) in [
        ("multinomial", MultinomialNBParams::new(), false),
        ("multinomial_alpha", MultinomialNBParams::new().alpha(0.5).fit_prior(false), false),
        ("multinomial_prior", MultinomialNBParams::new().class_prior(vec![0.2, 0.3, 0.5]), false),
        ("multinomial_weighted", MultinomialNBParams::new(), true),
    ] {
        let want = &g[label];
        for chunk in [16, 1000] {
            let mut ds = Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk);
            if weighted {
                ds = ds.with_weights(w.clone());
            }
            let data = ds.to_chunked().unwrap();
            for (m, pred, proba) in fit_everywhere(&params, &data) {
                let m: MultinomialNB = m;
                check_attrs(
                    label,
                    &m.classes,
                    &m.class_count,
                    &m.feature_count,
                    &m.class_log_prior,
                    &m.feature_log_prob,
                    want,
                );
                assert_eq!(pred, arr1_i64(&want["predict"]), "{label}: predictions");
                assert_close("proba", &proba.slice(s![..20, ..]).to_owned(), &arr2(&want["proba_head"]), 1e-9, 1e-12);
                assert!(proba.sum_axis(Axis(1)).iter().all(|s| (s - 1.0).abs() < 1e-12));
            }
        }
    }
}

#[test]
fn bernoulli_nb_matches_scikit_learn() {
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let (xb, _) = data(&g, "xb");
    for (label, params, x) in [
        ("bernoulli", BernoulliNBParams::new(), &x),
        ("bernoulli_binarize", BernoulliNBParams::new().binarize(Some(2.0)).alpha(0.3), &x),
        ("bernoulli_none", BernoulliNBParams::new().binarize(None), &xb),
    ] {
        let want = &g[label];
        for chunk in [16, 1000] {
            let data = Dataset::new(x.clone(), y.clone()).with_chunk_rows(chunk).to_chunked().unwrap();
            for (m, pred, proba) in fit_everywhere(&params, &data) {
                let m: BernoulliNB = m;
                check_attrs(
                    label,
                    &m.classes,
                    &m.class_count,
                    &m.feature_count,
                    &m.class_log_prior,
                    &m.feature_log_prob,
                    want,
                );
                assert_eq!(pred, arr1_i64(&want["predict"]), "{label}: predictions");
                assert_close("proba", &proba.slice(s![..20, ..]).to_owned(), &arr2(&want["proba_head"]), 1e-9, 1e-12);
            }
        }
    }
}

#[test]
fn partial_fit_matches_scikit_learn_batches() {
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let perm: Vec<usize> = arr1_i64(&g["perm"]).iter().map(|&i| i as usize).collect();
    let batches: Vec<Dataset<f64, i64>> = (0..3)
        .map(|i| {
            let idx = &perm[i * 50..(i + 1) * 50];
            Dataset::new(x.select(Axis(0), idx), y.select(Axis(0), idx)).with_chunk_rows(20)
        })
        .collect();
    let mp = MultinomialNBParams::new().classes(vec![5, 1, 3]);
    let mut m: Option<MultinomialNB> = None;
    for b in &batches {
        m = Some(mp.partial_fit(m, b).unwrap());
    }
    let m = m.unwrap();
    let want = &g["multinomial_partial"];
    check_attrs(
        "multinomial partial",
        &m.classes,
        &m.class_count,
        &m.feature_count,
        &m.class_log_prior,
        &m.feature_log_prob,
        want,
    );
    assert_eq!(m.predict(&x).unwrap(), arr1_i64(&want["predict"]));
    // The same model as one fit.
    let full = MultinomialNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert_eq!(m.feature_count, full.feature_count);

    let bp = BernoulliNBParams::new().classes(vec![1, 3, 5]);
    let mut b: Option<BernoulliNB> = None;
    for batch in &batches {
        b = Some(bp.partial_fit(b, batch).unwrap());
    }
    let b = b.unwrap();
    let want = &g["bernoulli_partial"];
    check_attrs(
        "bernoulli partial",
        &b.classes,
        &b.class_count,
        &b.feature_count,
        &b.class_log_prior,
        &b.feature_log_prob,
        want,
    );
    assert_eq!(b.predict(&x).unwrap(), arr1_i64(&want["predict"]));

    // A batch of another width.
    let err = mp.partial_fit(Some(m), &Dataset::new(Array2::<f64>::zeros((2, 3)), array![1i64, 3])).unwrap_err();
    assert!(matches!(err, DiscreteNBError::FeatureMismatch { expected: 8, found: 3 }), "{err}");
    let err = MultinomialNBParams::new().partial_fit(None, &batches[0]).unwrap_err();
    assert!(matches!(err, DiscreteNBError::PartialFitNeedsClasses));
}

#[test]
fn score_is_accuracy_and_f32_matches() {
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let data: ChunkedDataset<f64, i64> = Dataset::new(x.clone(), y.clone()).with_chunk_rows(40).to_chunked().unwrap();
    let m = MultinomialNBParams::new().fit(&data).unwrap();
    let acc = rask_ml::metrics::accuracy_score(y.view(), m.predict(&x).unwrap().view()).unwrap();
    assert_eq!(m.score(&data).unwrap(), acc);
    let m32 = MultinomialNBParams::new().fit(&Dataset::new(x.mapv(|v| v as f32), y.clone())).unwrap();
    assert_close("f32", &m32.feature_log_prob, &m.feature_log_prob, 1e-12, 0.0);
    assert_eq!(m32.predict(&x.mapv(|v| v as f32)).unwrap(), m.predict(&x).unwrap());
}

#[test]
fn bad_input_is_a_clear_error() {
    let g = golden("naive_bayes_more.json");
    let (mut x, y) = data(&g, "x");
    // One class.
    let one = Dataset::new(x.slice(s![..3, ..]).to_owned(), array![1i64, 1, 1]);
    let err = MultinomialNBParams::new().fit(&one).unwrap_err();
    assert_eq!(err.to_string(), "the target has 1 class(es); a classifier needs at least two (or pass `classes`)");
    // Labels outside the declared classes.
    let err = BernoulliNBParams::new().classes(vec![1, 3]).fit(&Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(matches!(err, DiscreteNBError::UnknownLabel { label: 5, .. }), "{err}");
    // Wrong width at predict time.
    let m = MultinomialNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    assert!(m.predict(&Array2::<f64>::zeros((2, 3))).unwrap_err().to_string().contains("expected 8, found 3"));
    assert!(m.predict(&array![[f64::NAN, 0., 0., 0., 0., 0., 0., 0.]]).unwrap_err().to_string().contains("NaN"));
    // Negative counts (MultinomialNB only) and NaN.
    x[[4, 2]] = -1.0;
    let err = MultinomialNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap_err();
    assert!(err.to_string().contains("negative values in x; MultinomialNB"), "{err}");
    assert!(BernoulliNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).is_ok());
    x[[4, 2]] = f64::NAN;
    let err = BernoulliNBParams::new().fit(&Dataset::new(x, y)).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}

#[test]
fn invalid_params_are_rejected_one_field_at_a_time() {
    assert!(matches!(MultinomialNBParams::new().alpha(0.0).check(), Err(DiscreteNBError::Alpha(_))));
    assert!(matches!(MultinomialNBParams::new().alpha(f64::NAN).check(), Err(DiscreteNBError::Alpha(_))));
    assert!(matches!(
        MultinomialNBParams::new().class_prior(vec![-0.1, 1.1]).check(),
        Err(DiscreteNBError::ClassPrior(_))
    ));
    assert!(matches!(MultinomialNBParams::new().classes(vec![2, 2]).check(), Err(DiscreteNBError::Classes(_))));
    assert!(matches!(
        MultinomialNBParams::new().classes(vec![0, 1]).class_prior(vec![0.2, 0.3, 0.5]).check(),
        Err(DiscreteNBError::ClassPriorLength { priors: 3, classes: 2 })
    ));
    assert!(matches!(MultinomialNBParams::new().split_every(1).check(), Err(DiscreteNBError::SplitEvery(1))));
    assert!(matches!(
        BernoulliNBParams::new().binarize(Some(f64::INFINITY)).check(),
        Err(BernoulliNBError::Binarize(_))
    ));
    assert!(matches!(BernoulliNBParams::new().alpha(-1.0).check(), Err(BernoulliNBError::Alpha(_))));
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let err = BernoulliNBParams::new().class_prior(vec![0.5, 0.5]).fit(&Dataset::new(x, y)).unwrap_err();
    assert_eq!(err.to_string(), "2 class priors given for 3 classes");
}

#[test]
fn models_are_send_sync_and_round_trip() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MultinomialNB>();
    send_sync::<BernoulliNB>();
    send_sync::<MultinomialNBParams>();
    send_sync::<BernoulliNBParams>();
    let g = golden("naive_bayes_more.json");
    let (x, y) = data(&g, "x");
    let m = MultinomialNBParams::new().fit(&Dataset::new(x.clone(), y.clone())).unwrap();
    let back: MultinomialNB = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    let b = BernoulliNBParams::new().fit(&Dataset::new(x, y)).unwrap();
    let dir = std::env::temp_dir().join(format!("rask-nb-more-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bnb.rask");
    rask_ml::save(&b, &path).unwrap();
    assert_eq!(rask_ml::load::<BernoulliNB>(&path).unwrap(), b);
    std::fs::remove_dir_all(&dir).unwrap();
}
