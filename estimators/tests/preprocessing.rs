//! Scalers against scikit-learn, on every scheduler and two chunkings.

mod common;

use common::{arr1, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{array, s, Array2};
use rask_estimators::preprocessing::{
    MinMaxScalerError, MinMaxScalerParams, StandardScalerError, StandardScalerParams,
};
use rask_ml::{ChunkedArray, ChunkedDataset, Dataset, Fit, InverseTransform, ParamGuard, PartialFit, Transform};

fn real(name: &str) -> Array2<f64> {
    match name {
        "iris" => rask_datasets::real::load_iris(50).unwrap().x,
        "wine" => rask_datasets::real::load_wine(50).unwrap().x,
        "breast_cancer" => rask_datasets::real::load_breast_cancer(50).unwrap().x,
        _ => unreachable!(),
    }
}

// Column statistics are merged in a tree whose shape depends on the chunking, so results
// agree with scikit-learn's two-pass NumPy statistics to rounding: 1e-12 relative.
const RTOL: f64 = 1e-12;

#[test]
fn standard_scaler_matches_scikit_learn() {
    let g = golden("preprocessing.json");
    for name in ["iris", "wine", "breast_cancer"] {
        let x = real(name);
        let want = &g[name]["standard"];
        for chunk in [16, 1000] {
            let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
            let fits = on_every_scheduler(|_| {
                let m = StandardScalerParams::new().fit(&cx).unwrap();
                let t = m.transform(&cx).unwrap().compute().unwrap();
                (m, t)
            });
            for (m, t) in &fits {
                assert_close("mean", &m.mean, &arr1(&want["mean"]), RTOL, 1e-14);
                assert_close("var", &m.var, &arr1(&want["var"]), RTOL, 1e-14);
                assert_close("scale", &m.scale, &arr1(&want["scale"]), RTOL, 1e-14);
                assert_close("transform", &t.slice(s![..5, ..]).to_owned(), &arr2(&want["head"]), 1e-10, 1e-12);
                assert_eq!(m.n_samples_seen.to_vec(), vec![x.nrows() as u64; x.ncols()]);
                // The inverse transform recovers the data.
                let back = m.inverse_transform(t).unwrap();
                assert_close("inverse", &back, &x, 1e-12, 1e-12);
            }
            assert!(fits.windows(2).all(|w| w[0].0 == w[1].0 && same_bits(&w[0].1, &w[1].1)), "schedulers differ");
        }
    }
}

#[test]
fn standard_scaler_ignores_nans_when_fitting_and_keeps_them() {
    let g = golden("preprocessing.json");
    let want = &g["iris_nan"];
    let x = arr2(&want["x"]);
    let m = StandardScalerParams::new().fit(&x).unwrap();
    assert_close("mean", &m.mean, &arr1(&want["mean"]), RTOL, 1e-14);
    assert_close("var", &m.var, &arr1(&want["var"]), RTOL, 1e-14);
    assert_eq!(m.n_samples_seen.mapv(|v| v as f64), arr1(&want["n_samples_seen"]));
    let t = m.transform(&x).unwrap();
    assert!(t[[0, 1]].is_nan() && t[[1, 1]].is_finite());
}

#[test]
fn standard_scaler_options_and_constant_columns() {
    let x = array![[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]];
    let m = StandardScalerParams::new().with_mean(false).fit(&x).unwrap();
    let t = m.transform(&x).unwrap();
    // Scaled but not centred; the constant column has scale 1.
    assert_eq!(m.scale[1], 1.0);
    assert_close(
        "no centring",
        &t.column(0).to_owned(),
        &(x.column(0).to_owned() / 8f64.sqrt() * 3f64.sqrt()),
        1e-15,
        0.0,
    );
    let m = StandardScalerParams::new().with_std(false).fit(&x).unwrap();
    assert_eq!(m.transform(&x).unwrap(), array![[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]);
}

#[test]
fn standard_scaler_partial_fit_equals_fit() {
    let x = real("wine");
    let params = StandardScalerParams::new();
    let mut model = None;
    for start in (0..x.nrows()).step_by(40) {
        let end = (start + 40).min(x.nrows());
        let batch = Dataset::<f64>::unlabelled(x.slice(s![start..end, ..]).to_owned());
        model = Some(params.partial_fit(model, &batch).unwrap());
    }
    let model = model.unwrap();
    let full = params.fit(&x).unwrap();
    assert_close("mean", &model.mean, &full.mean, 1e-13, 0.0);
    assert_close("var", &model.var, &full.var, 1e-12, 0.0);
    let err = params.partial_fit(Some(model), &Dataset::<f64>::unlabelled(Array2::zeros((3, 2)))).unwrap_err();
    assert!(matches!(err, StandardScalerError::FeatureMismatch { expected: 13, found: 2 }), "{err}");
}

#[test]
fn min_max_scaler_matches_scikit_learn() {
    let g = golden("preprocessing.json");
    for name in ["iris", "wine", "breast_cancer"] {
        let x = real(name);
        let want = &g[name]["min_max"];
        for chunk in [7, 1000] {
            let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
            let fits = on_every_scheduler(|_| {
                let m = MinMaxScalerParams::new().feature_range(-1.0, 2.0).fit(&cx).unwrap();
                let t = m.transform(&cx).unwrap().compute().unwrap();
                (m, t)
            });
            for (m, t) in &fits {
                assert_eq!(m.data_min, arr1(&want["data_min"]));
                assert_eq!(m.data_max, arr1(&want["data_max"]));
                assert_close("scale", &m.scale, &arr1(&want["scale"]), 1e-15, 0.0);
                assert_close("min", &m.min, &arr1(&want["min"]), 1e-14, 1e-15);
                assert_close("head", &t.slice(s![..5, ..]).to_owned(), &arr2(&want["head"]), 1e-14, 1e-14);
                let back = m.inverse_transform(t).unwrap();
                assert_close("inverse", &back, &x, 1e-13, 1e-13);
            }
            assert!(fits.windows(2).all(|w| w[0].0 == w[1].0 && same_bits(&w[0].1, &w[1].1)));
        }
    }
}

#[test]
fn min_max_scaler_clips_when_asked() {
    let x = array![[0.0], [10.0]];
    let m = MinMaxScalerParams::new().clip(true).fit(&x).unwrap();
    assert_eq!(m.transform(&array![[-5.0], [5.0], [20.0]]).unwrap(), array![[0.0], [0.5], [1.0]]);
    let m = MinMaxScalerParams::new().fit(&x).unwrap();
    assert_eq!(m.transform(&array![[20.0]]).unwrap(), array![[2.0]]);
}

#[test]
fn f32_data_scales_like_f64() {
    let x = real("iris");
    let x32 = x.mapv(|v| v as f32);
    let m64 = StandardScalerParams::new().fit(&x).unwrap();
    let m32 = StandardScalerParams::new().fit(&x32).unwrap();
    assert_close("mean", &m32.mean, &m64.mean, 1e-6, 1e-6);
    let t = m32.transform(&x32).unwrap();
    assert_close("transform", &t.mapv(f64::from), &m64.transform(&x).unwrap(), 1e-5, 1e-5);
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut x = real("iris");
    x[[3, 2]] = f64::INFINITY;
    let err = StandardScalerParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("column 2") && err.to_string().contains("infinite"), "{err}");
    let err = MinMaxScalerParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("infinite"), "{err}");

    let m = StandardScalerParams::new().fit(&real("iris")).unwrap();
    let err = m.transform(&Array2::<f64>::zeros((2, 3))).unwrap_err();
    assert!(err.to_string().contains("expected 4, found 3"), "{err}");
    let cx = ChunkedArray::from_array(Array2::<f64>::zeros((4, 5)).view(), 2).unwrap();
    assert!(m.transform(&cx).is_err(), "a width mismatch fails when the graph is built");
}

#[test]
fn invalid_params_are_rejected_one_field_at_a_time() {
    assert!(matches!(StandardScalerParams::new().split_every(1).check(), Err(StandardScalerError::SplitEvery(1))));
    assert!(matches!(
        MinMaxScalerParams::new().feature_range(1.0, 1.0).check(),
        Err(MinMaxScalerError::FeatureRange(..))
    ));
    assert!(matches!(
        MinMaxScalerParams::new().feature_range(f64::NAN, 1.0).check(),
        Err(MinMaxScalerError::FeatureRange(..))
    ));
    assert!(matches!(MinMaxScalerParams::new().split_every(0).check(), Err(MinMaxScalerError::SplitEvery(0))));
    let err = MinMaxScalerParams::new().feature_range(2.0, 1.0).fit(&array![[1.0]]).unwrap_err();
    assert_eq!(err.to_string(), "feature_range must be finite with min < max, got (2, 1)");
}

#[test]
fn models_are_send_sync_and_round_trip_through_files() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<rask_estimators::preprocessing::StandardScaler>();
    send_sync::<rask_estimators::preprocessing::MinMaxScaler>();
    send_sync::<StandardScalerParams>();
    let m = StandardScalerParams::new().fit(&real("wine")).unwrap();
    let dir = std::env::temp_dir().join(format!("rask-scaler-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("scaler.rask");
    rask_ml::save(&m, &path).unwrap();
    let back: rask_estimators::preprocessing::StandardScaler = rask_ml::load(&path).unwrap();
    assert_eq!(back, m);
    let err = rask_ml::load::<rask_estimators::preprocessing::MinMaxScaler>(&path).unwrap_err();
    assert!(err.to_string().contains("not a `"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_near_constant_column_scales_by_one_as_in_scikit_learn() {
    // A range within rounding of zero (below 10 ε) counts as zero.
    let x = array![[1.0], [1.0 + 4.0 * f64::EPSILON]];
    let m = MinMaxScalerParams::new().fit(&x).unwrap();
    assert_eq!(m.scale[0], 1.0);
}

/// Data that a filter left without rows (`sample_rows` keeping none gives chunks `[0, 0, 0]`).
fn no_rows() -> ChunkedArray<f64> {
    let x = Array2::from_shape_fn((30, 3), |(i, j)| (i * 3 + j) as f64);
    let empty = ChunkedArray::from_array(x.view(), 10).unwrap().sample_rows(1e-9, 0).unwrap();
    let empty = empty.compute_chunk_sizes().unwrap();
    assert_eq!(empty.n_rows(), Some(0), "the filter keeps no rows");
    empty
}

#[test]
fn scalers_refuse_data_without_rows() {
    let x = no_rows();
    let err = StandardScalerParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("StandardScaler cannot be fitted on 0 rows"), "{err}");
    let err = StandardScalerParams::new().partial_fit(None, &ChunkedDataset::<f64>::unlabelled(x.clone())).unwrap_err();
    assert!(err.to_string().contains("0 rows"), "{err}");
    let err = MinMaxScalerParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("MinMaxScaler cannot be fitted on 0 rows"), "{err}");
    let err = MinMaxScalerParams::new().partial_fit(None, &ChunkedDataset::<f64>::unlabelled(x.clone())).unwrap_err();
    assert!(err.to_string().contains("0 rows"), "{err}");
    // Rows that are all NaN are rows: they still fit (NaN statistics), as in scikit-learn.
    let nan = ChunkedArray::from_array(Array2::from_elem((4, 2), f64::NAN).view(), 2).unwrap();
    let m = StandardScalerParams::new().fit(&nan).unwrap();
    assert!(m.var.iter().all(|v| v.is_nan()));
}

#[test]
fn standard_scaler_honours_sample_weights_as_frequencies() {
    let x = real("wine");
    let n = x.nrows();
    // Weights 0..3: the same fit as each row repeated 0, 1, 2 or 3 times.
    let w = ndarray::Array1::from_shape_fn(n, |i| (i % 4) as f64);
    let rows: Vec<usize> = (0..n).flat_map(|i| std::iter::repeat_n(i, i % 4)).collect();
    let repeated = StandardScalerParams::new().fit(&x.select(ndarray::Axis(0), &rows)).unwrap();
    let unweighted = StandardScalerParams::new().fit(&x).unwrap();
    for chunk in [13, 1000] {
        let ds: ChunkedDataset<f64> =
            Dataset::unlabelled(x.clone()).with_weights(w.clone()).with_chunk_rows(chunk).to_chunked().unwrap();
        let fits = on_every_scheduler(|_| StandardScalerParams::new().fit(&ds).unwrap());
        let m = &fits[0];
        assert_close("weighted mean", &m.mean, &repeated.mean, RTOL, 0.0);
        assert_close("weighted var", &m.var, &repeated.var, 1e-11, 0.0);
        assert_close("weighted scale", &m.scale, &repeated.scale, 1e-11, 0.0);
        assert!((&m.mean - &unweighted.mean).iter().any(|d| d.abs() > 1e-6), "the weights change the fit");
        // A hand computation for column 0: Σ w x / Σ w and Σ w (x − mean)² / Σ w.
        let col = x.column(0);
        let sw: f64 = w.sum();
        let mean = col.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() / sw;
        let var = col.iter().zip(&w).map(|(a, b)| b * (a - mean).powi(2)).sum::<f64>() / sw;
        assert!((m.mean[0] - mean).abs() <= 1e-12 * mean.abs(), "{} vs {mean}", m.mean[0]);
        assert!((m.var[0] - var).abs() <= 1e-11 * var, "{} vs {var}", m.var[0]);
        let t = m.transform(ds.x()).unwrap().compute().unwrap();
        assert_close("transform", &t, &repeated.transform(&x).unwrap(), 1e-11, 1e-12);
    }
    // NaNs are skipped, with their weights.
    let mut xn = x.clone();
    xn[[5, 1]] = f64::NAN;
    let ds: ChunkedDataset<f64> =
        Dataset::unlabelled(xn.clone()).with_weights(w.clone()).with_chunk_rows(50).to_chunked().unwrap();
    let m = StandardScalerParams::new().fit(&ds).unwrap();
    let rows_nan: Vec<usize> = rows.iter().copied().filter(|&i| i != 5).collect();
    let want = StandardScalerParams::new().fit(&xn.select(ndarray::Axis(0), &rows_nan)).unwrap();
    assert!((m.mean[1] - want.mean[1]).abs() <= 1e-12 * want.mean[1].abs());
    // Bad weights, and weights in partial_fit, are clear errors.
    let mut bad = w.clone();
    bad[3] = -1.0;
    let ds: ChunkedDataset<f64> =
        Dataset::unlabelled(x.clone()).with_weights(bad).with_chunk_rows(50).to_chunked().unwrap();
    let err = StandardScalerParams::new().fit(&ds).unwrap_err().to_string();
    assert!(err.contains("non-negative"), "{err}");
    let ds: ChunkedDataset<f64> =
        Dataset::unlabelled(x.clone()).with_weights(w.clone()).with_chunk_rows(50).to_chunked().unwrap();
    let err = StandardScalerParams::new().partial_fit(None, &ds).unwrap_err().to_string();
    assert!(err.contains("partial_fit with sample weights"), "{err}");
    let weighted = StandardScalerParams::new().fit(&ds).unwrap();
    let plain: ChunkedDataset<f64> = Dataset::unlabelled(x.clone()).with_chunk_rows(50).to_chunked().unwrap();
    let err = StandardScalerParams::new().partial_fit(Some(weighted), &plain).unwrap_err().to_string();
    assert!(err.contains("partial_fit with sample weights"), "{err}");
    let zero: ChunkedDataset<f64> =
        Dataset::unlabelled(x).with_weights(ndarray::Array1::zeros(n)).with_chunk_rows(50).to_chunked().unwrap();
    let err = StandardScalerParams::new().fit(&zero).unwrap_err().to_string();
    assert!(err.contains("sum to 0"), "{err}");
}

#[test]
fn min_max_scaler_refuses_sample_weights() {
    let x = real("iris");
    let w = ndarray::Array1::from_shape_fn(x.nrows(), |i| (i % 4) as f64);
    let ds: ChunkedDataset<f64> = Dataset::unlabelled(x).with_weights(w).with_chunk_rows(50).to_chunked().unwrap();
    let err = MinMaxScalerParams::new().fit(&ds).unwrap_err().to_string();
    assert!(err.contains("MinMaxScaler with sample weights"), "{err}");
    let err = MinMaxScalerParams::new().partial_fit(None, &ds).unwrap_err().to_string();
    assert!(err.contains("MinMaxScaler with sample weights"), "{err}");
}
