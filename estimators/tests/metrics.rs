//! Metrics against scikit-learn, in memory and as chunked reductions on every scheduler.

mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler};
use ndarray::{array, Array1};
use rask_ml::metrics::{self, Average, Distance, Scorer};
use rask_ml::ChunkedVector;

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap()
}

#[test]
fn classification_metrics_match_scikit_learn() {
    let g = golden("metrics.json");
    let (yt, yp) = (arr1_i64(&g["yt"]), arr1_i64(&g["yp"]));
    assert_eq!(metrics::accuracy_score(yt.view(), yp.view()).unwrap(), f(&g["accuracy"]));
    let c = metrics::confusion_matrix(yt.view(), yp.view()).unwrap();
    assert_eq!(c.labels, vec![0, 1, 2]);
    assert_eq!(c.matrix.mapv(|v| v as f64), arr2(&g["confusion"]));
    for (avg, key) in
        [(Average::Macro, "prf_macro"), (Average::Micro, "prf_micro"), (Average::Weighted, "prf_weighted")]
    {
        let p = c.precision_recall_f1(avg).unwrap();
        assert_close(key, &array![p.precision, p.recall, p.f1], &arr1(&g[key]), 1e-14, 0.0);
    }
    let (yb, sb) = (arr1_i64(&g["yb"]), arr1(&g["sb"]));
    let pred = sb.mapv(|s| i64::from(s > 0.8));
    let p = metrics::precision_recall_f1(yb.view(), pred.view(), Average::Binary { pos_label: 1 }).unwrap();
    assert_close("binary", &array![p.precision, p.recall, p.f1], &arr1(&g["prf_binary"]), 1e-14, 0.0);
    let ll = metrics::log_loss(yt.view(), arr2(&g["proba"]).view(), &[0, 1, 2]).unwrap();
    assert_close("log_loss", &array![ll], &array![f(&g["log_loss"])], 1e-13, 0.0);
    let auc = metrics::roc_auc_score(yb.view(), sb.view()).unwrap();
    assert_close("roc_auc", &array![auc], &array![f(&g["roc_auc"])], 1e-14, 0.0);
}

#[test]
fn regression_metrics_match_scikit_learn() {
    let g = golden("metrics.json");
    let (t, p, w) = (arr1(&g["rt"]), arr1(&g["rp"]), arr1(&g["w"]));
    let close = |what: &str, a: f64, key: &str| assert_close(what, &array![a], &array![f(&g[key])], 1e-12, 0.0);
    close("mse", metrics::mean_squared_error(t.view(), p.view()).unwrap(), "mse");
    close("mae", metrics::mean_absolute_error(t.view(), p.view()).unwrap(), "mae");
    close("mape", metrics::mean_absolute_percentage_error(t.view(), p.view()).unwrap(), "mape");
    close("msle", metrics::mean_squared_log_error(t.view(), p.view()).unwrap(), "msle");
    close("r2", metrics::r2_score(t.view(), p.view()).unwrap(), "r2");
    let s = metrics::regression_summary(t.view(), p.view(), Some(w.view())).unwrap();
    close("r2 weighted", s.r2(), "r2_weighted");
    close("mse weighted", s.mse(), "mse_weighted");
}

#[test]
fn chunked_metrics_equal_in_memory_ones_on_every_scheduler() {
    let g = golden("metrics.json");
    let (yt, yp) = (arr1_i64(&g["yt"]), arr1_i64(&g["yp"]));
    let (t, p, w) = (arr1(&g["rt"]), arr1(&g["rp"]), arr1(&g["w"]));
    for chunk in [17, 200] {
        let cyt = ChunkedVector::from_array(yt.view(), chunk).unwrap();
        let cyp = ChunkedVector::from_array(yp.view(), chunk).unwrap();
        let (ct, cp, cw) = (
            ChunkedVector::from_array(t.view(), chunk).unwrap(),
            ChunkedVector::from_array(p.view(), chunk).unwrap(),
            ChunkedVector::from_array(w.view(), chunk).unwrap(),
        );
        for (acc, f1, r2, wr2) in on_every_scheduler(|_| {
            (
                Scorer::Accuracy.score_labels(&cyt, &cyp).unwrap(),
                Scorer::F1Macro.score_labels(&cyt, &cyp).unwrap(),
                Scorer::R2.score_values(&ct, &cp).unwrap(),
                metrics::regression_partials(&ct, &cp, Some(&cw)).unwrap().compute().unwrap().r2(),
            )
        }) {
            assert_eq!(acc, f(&g["accuracy"]));
            assert_close("f1", &array![f1], &array![arr1(&g["prf_macro"])[2]], 1e-14, 0.0);
            assert_close("r2", &array![r2], &array![f(&g["r2"])], 1e-12, 0.0);
            assert_close("weighted r2", &array![wr2], &array![f(&g["r2_weighted"])], 1e-12, 0.0);
        }
    }
}

#[test]
fn pairwise_distances_and_argmin_min_match_scikit_learn() {
    let g = golden("metrics.json");
    let (a, b) = (arr2(&g["pairwise_a"]), arr2(&g["pairwise_b"]));
    for (d, key) in
        [(Distance::Euclidean, "euclidean"), (Distance::Manhattan, "manhattan"), (Distance::Cosine, "cosine")]
    {
        let got = metrics::pairwise_distances(a.view(), b.view(), d).unwrap();
        assert_close(key, &got, &arr2(&g[&format!("pairwise_{key}")]), 1e-12, 1e-14);
    }
    let (idx, dist) = metrics::argmin_min(a.view(), b.view(), Distance::Euclidean).unwrap();
    assert_eq!(idx, arr1_i64(&g["argmin"]));
    assert_close("argmin dist", &dist, &arr1(&g["argmin_dist"]), 1e-12, 0.0);
    let ca = rask_ml::ChunkedArray::from_array(a.view(), 4).unwrap();
    for out in
        on_every_scheduler(|_| metrics::argmin_min_chunked(&ca, &b, Distance::Euclidean).unwrap().compute().unwrap())
    {
        assert_eq!(out.column(0).mapv(|v| v as i64), idx);
        assert_eq!(out.column(1).to_owned(), dist);
    }
}

#[test]
fn scorers_have_scikit_learn_names() {
    for (name, s) in Scorer::ALL {
        assert_eq!(Scorer::from_name(name).unwrap(), *s);
        assert_eq!(s.name(), *name);
    }
    let err = Scorer::from_name("acuracy").unwrap_err().to_string();
    assert!(err.contains("unknown scorer `acuracy`") && err.contains("accuracy"), "{err}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let a = array![1i64, 0, 1];
    assert!(metrics::accuracy_score(a.view(), array![1i64, 0].view())
        .unwrap_err()
        .to_string()
        .contains("expected 3, found 2"));
    assert!(metrics::accuracy_score(Array1::<i64>::zeros(0).view(), Array1::<i64>::zeros(0).view()).is_err());
    let err = metrics::roc_auc_score(array![1i64, 1, 1].view(), array![0.1, 0.2, 0.3].view()).unwrap_err();
    assert!(err.to_string().contains("exactly two classes"), "{err}");
    assert!(metrics::roc_auc_score(array![0i64, 1].view(), array![f64::NAN, 0.2].view()).is_err());
    let err = metrics::mean_squared_log_error(array![1.0, -1.0].view(), array![1.0, 1.0].view()).unwrap_err();
    assert!(err.to_string().contains("above -1"), "{err}");
    assert!(metrics::r2_score(array![1.0, f64::INFINITY].view(), array![1.0, 1.0].view()).is_err());
    let err = metrics::log_loss(array![3i64].view(), array![[0.5, 0.5]].view(), &[0, 1]).unwrap_err();
    assert!(err.to_string().contains("label 3"), "{err}");
    let c = metrics::confusion_matrix(array![0i64, 1, 2].view(), array![0i64, 1, 1].view()).unwrap();
    assert!(c.precision_recall_f1(Average::Binary { pos_label: 1 }).is_err(), "binary averaging with 3 labels");
    assert!(Scorer::R2.from_confusion(&c).is_err());
    // Constant targets: 1 for a perfect fit, 0 otherwise (scikit-learn's convention).
    assert_eq!(metrics::r2_score(array![2.0, 2.0].view(), array![2.0, 2.0].view()).unwrap(), 1.0);
    assert_eq!(metrics::r2_score(array![2.0, 2.0].view(), array![2.0, 3.0].view()).unwrap(), 0.0);
}

#[test]
fn chunked_scores_do_not_depend_on_empty_or_weightless_blocks() {
    // The weights zero a whole block: per-block checks must not refuse it.
    let t = array![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let p = array![1.5, 2.0, 2.5, 4.0, 5.5, 6.0];
    let w = array![0.0, 0.0, 1.0, 2.0, 1.0, 1.0];
    let ct = ChunkedVector::from_array(t.view(), 2).unwrap();
    let cp = ChunkedVector::from_array(p.view(), 2).unwrap();
    let cw = ChunkedVector::from_array(w.view(), 2).unwrap();
    let chunked = metrics::regression_partials(&ct, &cp, Some(&cw)).unwrap().compute().unwrap();
    let direct = metrics::regression_summary(t.view(), p.view(), Some(w.view())).unwrap();
    assert_close("r2", &array![chunked.r2()], &array![direct.r2()], 1e-14, 0.0);
    // All weights zero: refused once, on the merged sums.
    let zero = ChunkedVector::from_array(Array1::<f64>::zeros(6).view(), 2).unwrap();
    let all_zero = metrics::regression_partials(&ct, &cp, Some(&zero)).unwrap().compute().unwrap();
    assert!(Scorer::R2.from_regression(&all_zero).is_err());
}

#[test]
fn binary_scores_take_label_one_as_positive_and_log_loss_does_not_renormalise() {
    let t = array![1i64, 2, 2, 1, 2];
    let p = array![1i64, 2, 1, 1, 2];
    let c = metrics::confusion_matrix(t.view(), p.view()).unwrap();
    // Label 1 positive, as scikit-learn's default pos_label: tp 2, fp 1, fn 0.
    let f1 = Scorer::F1.from_confusion(&c).unwrap();
    assert_close("f1", &array![f1], &array![0.8], 1e-15, 0.0);
    let zeros = metrics::confusion_matrix(array![0i64, 0].view(), array![0i64, 0].view()).unwrap();
    assert_eq!(Scorer::F1.from_confusion(&zeros).unwrap(), 0.0, "no positive label seen: 0, as scikit-learn");
    // Rows that do not sum to one are clipped, not renormalised (scikit-learn 1.6).
    let ll = metrics::log_loss(array![0i64].view(), array![[0.25, 0.25]].view(), &[0, 1]).unwrap();
    assert_close("log_loss", &array![ll], &array![-(0.25f64.ln())], 1e-15, 0.0);
    // MSLE accepts values above -1.
    assert!(metrics::mean_squared_log_error(array![-0.5, 1.0].view(), array![0.0, 1.0].view()).is_ok());
}
