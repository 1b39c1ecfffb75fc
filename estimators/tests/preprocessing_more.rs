//! Imputer, encoders, robust and quantile scaling and polynomial features against
//! scikit-learn, on every scheduler and two chunkings.

mod common;

use common::{arr1, arr1_i64, arr2, golden, on_every_scheduler, same_bits};
use ndarray::{array, s, Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rask_estimators::preprocessing::quantile_sketch::column_sketches;
use rask_estimators::preprocessing::{
    ImputeStrategy, LabelEncoder, LabelEncoderError, LabelEncoderParams, OneHotDrop, OneHotEncoder, OneHotEncoderError,
    OneHotEncoderParams, OneHotUnknown, OrdinalEncoder, OrdinalEncoderError, OrdinalEncoderParams, OrdinalUnknown,
    OutputDistribution, PolynomialFeatures, PolynomialFeaturesError, PolynomialFeaturesParams, QuantileTransformer,
    QuantileTransformerError, QuantileTransformerParams, RobustScaler, RobustScalerError, RobustScalerParams,
    SimpleImputer, SimpleImputerError, SimpleImputerParams,
};
use rask_ml::{BlockModel, ChunkedArray, ChunkedVector, Fit, InverseTransform, ParamGuard, Transform};

/// `|a − b| ≤ atol + rtol·|b|` elementwise, NaN equal to NaN.
fn close<D: ndarray::Dimension>(
    what: &str,
    a: &ndarray::Array<f64, D>,
    b: &ndarray::Array<f64, D>,
    rtol: f64,
    atol: f64,
) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let ok = (x.is_nan() && y.is_nan()) || (x - y).abs() <= atol + rtol * y.abs() || x == y;
        assert!(ok, "{what}[{i}]: {x} vs reference {y} (rtol {rtol}, atol {atol})");
    }
}

// serde_json (without its `float_roundtrip` feature) may read a decimal number one unit in the
// last place off, so "exact" comparisons with the golden files, and results computed from data
// read from them, allow a few units in the last place.
const ULPS: f64 = 1e-14;

/// Fits and transforms on every scheduler; asserts the schedulers agree bitwise.
fn fit_transform_everywhere<M, P>(params: &P, x: &Array2<f64>, chunk: usize) -> (M, Array2<f64>)
where
    M: BlockModel + std::fmt::Debug,
    P: Fit<ChunkedArray<f64>, Model = M>,
    P::Error: std::fmt::Debug,
{
    let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
    let fits = on_every_scheduler(|_| {
        let m = params.fit(&cx).unwrap();
        let t = m.transform(&cx).unwrap().compute().unwrap();
        (m, t)
    });
    // Models are compared through their bytes, so NaN statistics compare equal.
    let bytes = |m: &M| rask_ml::traits::to_bytes(m).unwrap();
    assert!(
        fits.windows(2).all(|w| bytes(&w[0].0) == bytes(&w[1].0) && same_bits(&w[0].1, &w[1].1)),
        "schedulers differ"
    );
    fits.into_iter().next().unwrap()
}

fn strategies() -> [(&'static str, ImputeStrategy); 4] {
    [
        ("mean", ImputeStrategy::Mean),
        ("median", ImputeStrategy::Median),
        ("most_frequent", ImputeStrategy::MostFrequent),
        ("constant", ImputeStrategy::Constant(-1.5)),
    ]
}

#[test]
fn simple_imputer_matches_scikit_learn() {
    let g = golden("preprocessing_more.json");
    let g = &g["imputer"];
    for name in ["int", "wine"] {
        let x = arr2(&g[format!("x_{name}")]);
        for (label, strategy) in strategies() {
            let want = &g[format!("{name}_{label}")];
            for chunk in [7, 1000] {
                for keep in [false, true] {
                    let params = SimpleImputerParams::new().strategy(strategy).keep_empty_features(keep);
                    let (m, t): (SimpleImputer, _) = fit_transform_everywhere(&params, &x, chunk);
                    let (stats, head) = if keep {
                        (arr1(&want["keep_empty_statistics"]), arr2(&want["keep_empty_transform"]))
                    } else {
                        (arr1(&want["statistics"]), arr2(&want["transform"]))
                    };
                    // The mean is merged from block moments (rounding-level differences from
                    // NumPy's sum / count); medians, modes and constants are exact values of the
                    // data, the median of an even count the mean of two of them.
                    let rtol = if label == "mean" { 1e-13 } else { ULPS };
                    close(&format!("{name} {label} statistics"), &m.statistics, &stats, rtol, 0.0);
                    close(
                        &format!("{name} {label} transform"),
                        &t.slice(s![..head.nrows(), ..]).to_owned(),
                        &head,
                        rtol,
                        0.0,
                    );
                    assert_eq!(t.ncols(), m.n_features_out());
                    assert!(t.iter().all(|v| v.is_finite()));
                }
            }
        }
    }
}

#[test]
fn simple_imputer_handles_f32_and_rejects_infinity() {
    let x = array![[1.0f32, f32::NAN], [3.0, 2.0], [f32::NAN, 2.0]];
    let m = SimpleImputerParams::new().strategy(ImputeStrategy::MostFrequent).fit(&x).unwrap();
    assert_eq!(m.transform(&x).unwrap(), array![[1.0f32, 2.0], [3.0, 2.0], [1.0, 2.0]]);
    let bad = array![[1.0, f64::INFINITY], [2.0, 3.0]];
    for (_, s) in strategies() {
        let err = SimpleImputerParams::new().strategy(s).fit(&bad).unwrap_err();
        assert!(err.to_string().contains("infinite"), "{err}");
    }
    let m = SimpleImputerParams::new().fit(&array![[1.0, 2.0]]).unwrap();
    assert!(m.transform(&bad).unwrap_err().to_string().contains("infinite"));
    let err = m.transform(&Array2::<f64>::zeros((2, 3))).unwrap_err();
    assert!(err.to_string().contains("expected 2, found 3"), "{err}");
}

#[test]
fn encoders_match_scikit_learn() {
    let g = golden("preprocessing_more.json");
    let g = &g["encoders"];
    let x = arr2(&g["x"]);
    let x_test = arr2(&g["x_test"]);
    for chunk in [9, 1000] {
        let (m, t): (OrdinalEncoder, _) = fit_transform_everywhere(&OrdinalEncoderParams::new(), &x, chunk);
        let cats: Vec<Vec<f64>> =
            g["ordinal"]["categories"].as_array().unwrap().iter().map(|c| arr1(c).to_vec()).collect();
        assert_eq!(m.categories, cats);
        assert_eq!(t, arr2(&g["ordinal"]["transform"]));
        assert_eq!(m.inverse_transform(&t).unwrap(), x);
        let err = m.transform(&x_test).unwrap_err();
        assert!(err.to_string().contains("unknown category 5 in column 0"), "{err}");

        let params = OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(-1.0));
        let (m, _): (OrdinalEncoder, _) = fit_transform_everywhere(&params, &x, chunk);
        let t = m.transform(&x_test).unwrap();
        assert_eq!(t, arr2(&g["ordinal_unknown"]["transform_test"]));
        let back = m.inverse_transform(&t).unwrap();
        assert!(back[[1, 0]].is_nan() && back[[0, 0]] == 3.0);

        for (label, drop, unknown) in [
            ("None", OneHotDrop::None, OneHotUnknown::Ignore),
            ("first", OneHotDrop::First, OneHotUnknown::Error),
            ("if_binary", OneHotDrop::IfBinary, OneHotUnknown::Error),
        ] {
            let want = &g[format!("onehot_{label}")];
            let params = OneHotEncoderParams::new().drop(drop).handle_unknown(unknown);
            let (m, t): (OneHotEncoder, _) = fit_transform_everywhere(&params, &x, chunk);
            assert_eq!(t, arr2(&want["transform"]), "{label}");
            let names: Vec<String> =
                want["feature_names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
            assert_eq!(m.feature_names(), names);
            let drop_idx: Vec<i64> = m.drop_idx.iter().map(|d| d.map_or(-1, |d| d as i64)).collect();
            assert_eq!(drop_idx, arr1_i64(&want["drop_idx"]).to_vec());
            assert_eq!(m.n_features_out(), names.len());
            assert_eq!(m.inverse_transform(&t).unwrap(), x, "{label}: inverse");
            if unknown == OneHotUnknown::Ignore {
                assert_eq!(m.transform(&x_test).unwrap(), arr2(&g["onehot_ignore_test"]));
            } else {
                assert!(m.transform(&x_test).unwrap_err().to_string().contains("unknown category"));
            }
        }
    }
}

#[test]
fn label_encoder_matches_scikit_learn_in_memory_and_chunked() {
    let g = golden("preprocessing_more.json");
    let want = &g["encoders"]["label"];
    let y = arr1_i64(&want["y"]);
    let m = LabelEncoderParams::new().fit(&y).unwrap();
    assert_eq!(m.classes, arr1_i64(&want["classes"]).to_vec());
    assert_eq!(m.transform(&y).unwrap(), arr1_i64(&want["transform"]));
    assert_eq!(m.inverse_transform(&m.transform(&y).unwrap()).unwrap(), y);
    for chunk in [3, 100] {
        let cy = ChunkedVector::from_array(y.view(), chunk).unwrap();
        let fits = on_every_scheduler(|_| {
            let mc = LabelEncoderParams::new().fit(&cy).unwrap();
            let codes = mc.transform_chunked(&cy).unwrap();
            let back = mc.inverse_transform_chunked(&codes).unwrap().compute().unwrap();
            (mc, codes.compute().unwrap(), back)
        });
        for (mc, codes, back) in &fits {
            assert_eq!(*mc, m);
            assert_eq!(*codes, arr1_i64(&want["transform"]));
            assert_eq!(*back, y);
        }
        // Unseen labels fail when the lazy transform is computed, naming those of the block
        // whose task fails first: in 3-row chunks the first block holds 8 and 9 and the second
        // only 8, and on the threaded scheduler either task may fail first.
        let other = ChunkedVector::from_array(array![7i64, 8, 9, 8].view(), chunk).unwrap();
        let err = m.transform_chunked(&other).unwrap().compute().unwrap_err().to_string();
        assert!(
            err.contains("previously unseen labels: [8, 9]")
                || (chunk == 3 && err.contains("previously unseen labels: [8]")),
            "{err}"
        );
    }
    let err = m.transform(&array![1, 10, 1]).unwrap_err();
    assert!(matches!(&err, LabelEncoderError::UnseenLabels(v) if *v == vec![1]), "{err}");
    let err = m.inverse_transform(&array![0, 5, -1]).unwrap_err();
    assert!(matches!(&err, LabelEncoderError::InvalidCodes { codes, n_classes: 5 } if *codes == vec![-1, 5]), "{err}");
    assert!(matches!(LabelEncoderParams::new().fit(&Array1::<i64>::zeros(0)), Err(LabelEncoderError::Empty)));
}

fn diabetes() -> Array2<f64> {
    rask_datasets::real::load_diabetes(100).unwrap().x
}

fn wine() -> Array2<f64> {
    rask_datasets::real::load_wine(100).unwrap().x
}

#[test]
fn robust_scaler_matches_scikit_learn() {
    let g = golden("preprocessing_more.json");
    for (name, x) in [("diabetes", diabetes()), ("wine", wine())] {
        for (label, params) in [
            ("default", RobustScalerParams::new()),
            ("q10_90", RobustScalerParams::new().quantile_range(10.0, 90.0)),
            ("no_centering", RobustScalerParams::new().with_centering(false)),
        ] {
            let want = &g["robust"][format!("{name}_{label}")];
            for chunk in [30, 1000] {
                let (m, t): (RobustScaler, _) = fit_transform_everywhere(&params, &x, chunk);
                // Exact order statistics; the interpolation follows NumPy's formula, so only
                // the last bit may differ.
                match &m.center {
                    Some(c) => close("center", c, &arr1(&want["center"]), ULPS, 0.0),
                    None => assert!(want["center"].is_null()),
                }
                close("scale", m.scale.as_ref().unwrap(), &arr1(&want["scale"]), 1e-14, 0.0);
                close("head", &t.slice(s![..5, ..]).to_owned(), &arr2(&want["head"]), 1e-13, 1e-15);
                assert!(m.rank_error.iter().all(|&e| e == 0));
                close("inverse", &m.inverse_transform(&t).unwrap(), &x, 1e-13, 1e-12);
            }
        }
    }
}

#[test]
fn quantile_transformer_matches_scikit_learn() {
    let g = golden("preprocessing_more.json");
    for (name, x) in [("diabetes", diabetes()), ("wine", wine())] {
        for (nq, dist, label) in [
            (100, OutputDistribution::Uniform, "uniform"),
            (1000, OutputDistribution::Uniform, "uniform"),
            (100, OutputDistribution::Normal, "normal"),
        ] {
            let want = &g["quantile"][format!("{name}_{nq}_{label}")];
            let params = QuantileTransformerParams::new().n_quantiles(nq).output_distribution(dist);
            for chunk in [50, 1000] {
                let (m, _): (QuantileTransformer, _) = fit_transform_everywhere(&params, &x, chunk);
                assert_eq!(m.n_quantiles as i64, want["n_quantiles"].as_i64().unwrap());
                close("references", &m.references, &arr1(&want["references"]), ULPS, 0.0);
                // Exact order statistics, interpolated with NumPy's formula.
                close("quantiles", &m.quantiles, &arr2(&want["quantiles"]), 1e-14, 1e-14);
                // The test rows (the first five, the column minima − 1, maxima + 1 and midpoints)
                // are rebuilt from the data rather than read back from JSON: the map jumps at
                // tied quantiles, so a value one unit in the last place off would land elsewhere.
                let (lo, hi) = (
                    x.fold_axis(Axis(0), f64::INFINITY, |a, &b| a.min(b)),
                    x.fold_axis(Axis(0), f64::NEG_INFINITY, |a, &b| a.max(b)),
                );
                let extra = ndarray::stack![Axis(0), lo.mapv(|v| v - 1.0), hi.mapv(|v| v + 1.0), (&lo + &hi) / 2.0];
                let x_test = ndarray::concatenate![Axis(0), x.slice(s![..5, ..]), extra];
                close("x_test", &x_test, &arr2(&want["x_test"]), ULPS, 0.0);
                let t = m.transform(&x_test).unwrap();
                // The normal quantile function agrees with SciPy's to about 1e-15 relative;
                // the piecewise-linear map is NumPy's `interp`.
                close("transform", &t, &arr2(&want["transform"]), 1e-12, 1e-12);
                close("inverse", &m.inverse_transform(&t).unwrap(), &arr2(&want["inverse"]), 1e-10, 1e-10);
            }
        }
    }
}

#[test]
fn robust_and_quantile_scaling_ignore_nans_as_scikit_learn() {
    let g = golden("preprocessing_more.json");
    let x = arr2(&g["imputer"]["x_wine"]);
    let want = &g["robust"]["wine_nan"];
    for chunk in [25, 1000] {
        let (m, t): (RobustScaler, _) = fit_transform_everywhere(&RobustScalerParams::new(), &x, chunk);
        close("center", m.center.as_ref().unwrap(), &arr1(&want["center"]), ULPS, 0.0);
        close("scale", m.scale.as_ref().unwrap(), &arr1(&want["scale"]), ULPS, 0.0);
        close("head", &t.slice(s![..10, ..]).to_owned(), &arr2(&want["head"]), 1e-13, 1e-15);
        let params = QuantileTransformerParams::new().n_quantiles(50);
        let (m, t): (QuantileTransformer, _) = fit_transform_everywhere(&params, &x, chunk);
        let want = &g["quantile"]["wine_nan"];
        // n_quantiles is capped by the rows, NaN or not; each column's quantiles skip its NaNs.
        assert_eq!(m.n_quantiles as i64, want["n_quantiles"].as_i64().unwrap());
        close("quantiles", &m.quantiles, &arr2(&want["quantiles"]), 1e-14, 1e-14);
        // NaNs stay NaN (`close` treats two NaNs as equal).
        close("head", &t.slice(s![..10, ..]).to_owned(), &arr2(&want["head"]), 1e-12, 1e-12);
        assert!(t.iter().any(|v| v.is_nan()));
    }
}

/// The number of values of `sorted` below `v` and at most `v`.
fn true_ranks(sorted: &[f64], v: f64) -> (u64, u64) {
    (sorted.partition_point(|&a| a < v) as u64, sorted.partition_point(|&a| a <= v) as u64)
}

#[test]
fn quantile_sketch_keeps_its_rank_error_bound() {
    // 20,000 rows: a continuous column, a heavily tied one and a skewed one; 25 blocks of 800
    // rows reduced with fan-in 4 (3 merge levels) into sketches of 64 values.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let n = 20_000;
    let x = Array2::from_shape_fn((n, 3), |(_, j)| match j {
        0 => rng.gen::<f64>() * 100.0 - 50.0,
        1 => f64::from(rng.gen_range(0..40)),
        _ => (rng.gen::<f64>() * 8.0).exp(),
    });
    let (capacity, chunk) = (64usize, 800usize);
    let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
    // 25 blocks: fan-in 4 gives 3 merge levels, fan-in 8 gives 2 (with wider merges).
    for (split_every, levels) in [(4usize, 3.0), (8, 2.0)] {
        let sketches = on_every_scheduler(|_| column_sketches(&cx, Some(capacity), split_every).unwrap());
        assert!(sketches.windows(2).all(|w| w[0] == w[1]), "schedulers differ");
        // The bound stated in the module docs; the bounds a summary certifies from its own
        // entries may be up to twice as wide.
        let bound = ((levels + 2.0) * n as f64 / (capacity - 1) as f64 / 2.0 + 1.0) as u64;
        for (j, sk) in sketches[0].columns.iter().enumerate() {
            assert!(sk.entries.len() <= capacity);
            assert_eq!(sk.n, n as u64);
            let certified = sk.max_rank_error();
            assert!(certified <= 2 * bound, "column {j}: certified {certified} > twice the stated bound {bound}");
            let mut sorted = x.column(j).to_vec();
            sorted.sort_by(f64::total_cmp);
            let mut worst = 0;
            for r in (1..=n as u64).step_by(7) {
                let (v, reported) = sk.rank_query(r).unwrap();
                assert!(reported <= certified);
                let (lo, hi) = true_ranks(&sorted, v);
                let err = if r <= lo { lo + 1 - r } else { r.saturating_sub(hi) };
                assert!(err <= reported, "column {j}, rank {r}: true error {err} > reported {reported}");
                worst = worst.max(err);
            }
            eprintln!(
                "fan-in {split_every}, column {j}: worst rank error {worst}, certified {certified}, bound {bound}"
            );
            assert!(worst <= bound, "column {j}: worst rank error {worst} > stated bound {bound}");
        }
    }
    let split_every = 4;
    // The exact summary is exact.
    let exact = column_sketches(&cx, None, split_every).unwrap();
    let mut sorted = x.column(0).to_vec();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(exact.columns[0].max_rank_error(), 0);
    assert_eq!(exact.columns[0].value_at(123), sorted[123]);
    // Robust scaling with a sketch reports the bound it worked with, and its median is within it.
    let m = RobustScalerParams::new().sketch_capacity(Some(capacity)).split_every(split_every).fit(&cx).unwrap();
    for j in 0..3 {
        let mut col = x.column(j).to_vec();
        col.sort_by(f64::total_cmp);
        let (lo, hi) = true_ranks(&col, m.center.as_ref().unwrap()[j]);
        let mid = n as u64 / 2;
        let err = if mid < lo { lo - mid } else { mid.saturating_sub(hi) };
        assert!(err <= m.rank_error[j] + 1, "column {j}: median rank error {err} > {}", m.rank_error[j]);
        // The tied column has 40 distinct values, fewer than the capacity: it stays exact.
        assert_eq!(m.rank_error[j] == 0, j == 1);
    }
    // The imputer's sketched median too (with a few NaNs, which are left out).
    let mut xn = x.clone();
    for i in (0..n).step_by(10) {
        xn[[i, 0]] = f64::NAN;
    }
    let cxn = ChunkedArray::from_array(xn.view(), chunk).unwrap();
    let imp = SimpleImputerParams::new()
        .strategy(ImputeStrategy::Median)
        .sketch_capacity(Some(capacity))
        .split_every(split_every)
        .fit(&cxn)
        .unwrap();
    let mut col: Vec<f64> = xn.column(0).iter().copied().filter(|v| !v.is_nan()).collect();
    col.sort_by(f64::total_cmp);
    let (lo, hi) = true_ranks(&col, imp.statistics[0]);
    let mid = col.len() as u64 / 2;
    assert!(imp.rank_error[0] > 0 && lo <= mid + imp.rank_error[0] + 1 && mid <= hi + imp.rank_error[0] + 1);
    let qt = QuantileTransformerParams::new().n_quantiles(50).sketch_capacity(Some(capacity)).fit(&cx).unwrap();
    let t = qt.transform(&x).unwrap();
    // Uniform output: each transformed value is its column's rank share, within the bound.
    for j in 0..3 {
        let mut col = x.column(j).to_vec();
        col.sort_by(f64::total_cmp);
        for i in (0..n).step_by(97) {
            let (lo, hi) = true_ranks(&col, x[[i, j]]);
            let p = t[[i, j]] * n as f64;
            let slack = qt.rank_error[j] as f64 + n as f64 / 49.0 + 1.0;
            assert!(p >= lo as f64 - slack && p <= hi as f64 + slack, "column {j}, row {i}");
        }
    }
}

#[test]
fn polynomial_features_match_scikit_learn() {
    let g = golden("preprocessing_more.json");
    let g = &g["poly"];
    let x = arr2(&g["x"]);
    for (label, params) in [
        ("d2", PolynomialFeaturesParams::new()),
        ("d3", PolynomialFeaturesParams::new().degree(3)),
        ("d3_interaction", PolynomialFeaturesParams::new().degree(3).interaction_only(true)),
        ("d2_no_bias", PolynomialFeaturesParams::new().include_bias(false)),
        ("d0", PolynomialFeaturesParams::new().degree(0)),
        ("d1_no_bias", PolynomialFeaturesParams::new().degree(1).include_bias(false)),
    ] {
        let want = &g[label];
        for chunk in [4, 1000] {
            let (m, t): (PolynomialFeatures, _) = fit_transform_everywhere(&params, &x, chunk);
            let powers = arr2(&want["powers"]);
            assert_eq!(m.powers.mapv(f64::from), powers, "{label}");
            assert_eq!(m.n_features_out() as i64, want["n_out"].as_i64().unwrap());
            assert_eq!(params.check_ref().unwrap().n_features_out(3), m.n_features_out());
            // Products are taken in scikit-learn's order; the data went through JSON.
            close(label, &t, &arr2(&want["transform"]), ULPS, 1e-15);
        }
    }
    for (d, inter, n) in [(4, false, 5), (4, true, 6), (5, true, 3), (3, false, 1)] {
        let p = PolynomialFeaturesParams::new().degree(d).interaction_only(inter).check().unwrap();
        assert_eq!(p.n_features_out(n), p.combinations(n).len());
    }
    let m = PolynomialFeaturesParams::new().fit(&x).unwrap();
    let err = m.transform(&array![[1.0, f64::NAN, 2.0]]).unwrap_err();
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
    assert!(m.transform(&Array2::<f64>::zeros((1, 2))).unwrap_err().to_string().contains("expected 3, found 2"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let x = array![[1.0, 2.0], [f64::NAN, 3.0]];
    let err = OrdinalEncoderParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("column 0 of x contains NaN; OrdinalEncoder"), "{err}");
    let err = OneHotEncoderParams::new().fit(&x).unwrap_err();
    assert!(err.to_string().contains("NaN; OneHotEncoder"), "{err}");
    let inf = array![[1.0, f64::NEG_INFINITY], [2.0, 3.0]];
    assert!(RobustScalerParams::new().fit(&inf).unwrap_err().to_string().contains("infinite"));
    assert!(QuantileTransformerParams::new().fit(&inf).unwrap_err().to_string().contains("infinite"));
    assert!(OneHotEncoderParams::new().fit(&inf).unwrap_err().to_string().contains("infinite"));
    // NaNs are ignored by the robust scalers and kept.
    let m = RobustScalerParams::new().fit(&array![[1.0], [f64::NAN], [3.0]]).unwrap();
    assert_eq!(m.center.as_ref().unwrap()[0], 2.0);
    assert!(m.transform(&array![[f64::NAN]]).unwrap()[[0, 0]].is_nan());
    // Feature mismatches.
    let enc = OneHotEncoderParams::new().fit(&array![[1.0, 2.0]]).unwrap();
    assert!(enc.transform(&array![[1.0]]).unwrap_err().to_string().contains("expected 2, found 1"));
    let cx = ChunkedArray::from_array(Array2::<f64>::zeros((4, 3)).view(), 2).unwrap();
    assert!(enc.transform(&cx).is_err(), "a width mismatch fails when the graph is built");
    let qt = QuantileTransformerParams::new().fit(&wine()).unwrap();
    assert!(qt.transform(&cx).is_err());
    // An unknown value that collides with a category code.
    let err = OrdinalEncoderParams::new()
        .handle_unknown(OrdinalUnknown::UseEncodedValue(1.0))
        .fit(&array![[1.0], [2.0], [3.0]])
        .unwrap_err();
    assert!(matches!(err, OrdinalEncoderError::UnknownValueCollides { max_code: 2, .. }), "{err}");
    // Invalid one-hot codes and ordinal codes.
    let ord = OrdinalEncoderParams::new().fit(&array![[1.0], [2.0]]).unwrap();
    assert!(ord.inverse_transform(&array![[2.0]]).unwrap_err().to_string().contains("not a code"));
}

#[test]
fn invalid_params_are_rejected_one_field_at_a_time() {
    assert!(matches!(
        SimpleImputerParams::new().strategy(ImputeStrategy::Constant(f64::NAN)).check(),
        Err(SimpleImputerError::FillValue(_))
    ));
    assert!(matches!(SimpleImputerParams::new().split_every(1).check(), Err(SimpleImputerError::SplitEvery(1))));
    assert!(matches!(
        SimpleImputerParams::new().sketch_capacity(Some(1)).check(),
        Err(SimpleImputerError::SketchCapacity(1))
    ));
    assert!(matches!(
        OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(0.5)).check(),
        Err(OrdinalEncoderError::UnknownValue(_))
    ));
    assert!(OrdinalEncoderParams::new().handle_unknown(OrdinalUnknown::UseEncodedValue(f64::NAN)).check().is_ok());
    assert!(matches!(OrdinalEncoderParams::new().split_every(0).check(), Err(OrdinalEncoderError::SplitEvery(0))));
    assert!(matches!(OneHotEncoderParams::new().split_every(1).check(), Err(OneHotEncoderError::SplitEvery(1))));
    assert!(matches!(LabelEncoderParams::new().split_every(1).check(), Err(LabelEncoderError::SplitEvery(1))));
    assert!(matches!(
        RobustScalerParams::new().quantile_range(80.0, 20.0).check(),
        Err(RobustScalerError::QuantileRange(..))
    ));
    assert!(matches!(
        RobustScalerParams::new().quantile_range(-1.0, 20.0).check(),
        Err(RobustScalerError::QuantileRange(..))
    ));
    assert!(matches!(
        RobustScalerParams::new().sketch_capacity(Some(1)).check(),
        Err(RobustScalerError::SketchCapacity(1))
    ));
    assert!(matches!(RobustScalerParams::new().split_every(1).check(), Err(RobustScalerError::SplitEvery(1))));
    assert!(matches!(
        QuantileTransformerParams::new().n_quantiles(0).check(),
        Err(QuantileTransformerError::NQuantiles(0))
    ));
    assert!(matches!(
        QuantileTransformerParams::new().sketch_capacity(Some(0)).check(),
        Err(QuantileTransformerError::SketchCapacity(0))
    ));
    assert!(matches!(
        QuantileTransformerParams::new().split_every(1).check(),
        Err(QuantileTransformerError::SplitEvery(1))
    ));
    assert!(matches!(
        PolynomialFeaturesParams::new().degree(0).include_bias(false).check(),
        Err(PolynomialFeaturesError::EmptyOutput)
    ));
    let err = RobustScalerParams::new().quantile_range(30.0, 101.0).fit(&array![[1.0]]).unwrap_err();
    assert_eq!(err.to_string(), "quantile_range must satisfy 0 <= low <= high <= 100, got (30, 101)");
}

fn round_trip<T: rask_ml::Persist + PartialEq + std::fmt::Debug>(m: &T) {
    let back: T = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(m).unwrap()).unwrap();
    assert_eq!(&back, m);
}

#[test]
fn models_are_send_sync_and_round_trip() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SimpleImputer>();
    send_sync::<OrdinalEncoder>();
    send_sync::<OneHotEncoder>();
    send_sync::<LabelEncoder>();
    send_sync::<RobustScaler>();
    send_sync::<QuantileTransformer>();
    send_sync::<PolynomialFeatures>();
    send_sync::<SimpleImputerParams>();
    send_sync::<QuantileTransformerParams>();
    let x = wine();
    round_trip(&SimpleImputerParams::new().strategy(ImputeStrategy::Median).fit(&x).unwrap());
    round_trip(&OrdinalEncoderParams::new().fit(&x.slice(s![.., ..2]).to_owned()).unwrap());
    round_trip(&OneHotEncoderParams::new().fit(&x.slice(s![.., ..2]).to_owned()).unwrap());
    round_trip(&LabelEncoderParams::new().fit(&array![3i64, 1]).unwrap());
    round_trip(&RobustScalerParams::new().fit(&x).unwrap());
    round_trip(&PolynomialFeaturesParams::new().fit(&x).unwrap());
    let qt = QuantileTransformerParams::new().fit(&x).unwrap();
    let dir = std::env::temp_dir().join(format!("rask-prep-more-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("qt.rask");
    rask_ml::save(&qt, &path).unwrap();
    let back: QuantileTransformer = rask_ml::load(&path).unwrap();
    assert_eq!(back, qt);
    std::fs::remove_dir_all(&dir).unwrap();
    // f32 data fits and transforms like f64.
    let x32 = x.mapv(|v| v as f32);
    let q32 = QuantileTransformerParams::new().fit(&x32).unwrap();
    let t32 = q32.transform(&x32).unwrap().mapv(f64::from);
    close("f32", &t32, &qt.transform(&x).unwrap(), 1e-5, 1e-5);
}

#[test]
fn fitting_on_no_rows_is_a_clear_error() {
    let x = Array2::from_shape_fn((30, 3), |(i, j)| ((i + j) % 4) as f64);
    // A filter that keeps no rows gives chunks [0, 0, 0].
    let empty = ChunkedArray::from_array(x.view(), 10).unwrap().sample_rows(1e-9, 0).unwrap();
    let check = |who: &str, err: String| {
        assert!(err.contains(&format!("{who} cannot be fitted on 0 rows")), "{who}: {err}");
    };
    check("RobustScaler", RobustScalerParams::new().fit(&empty).unwrap_err().to_string());
    check("QuantileTransformer", QuantileTransformerParams::new().fit(&empty).unwrap_err().to_string());
    check("OneHotEncoder", OneHotEncoderParams::new().fit(&empty).unwrap_err().to_string());
    check("OrdinalEncoder", OrdinalEncoderParams::new().fit(&empty).unwrap_err().to_string());
    for (label, strategy) in strategies() {
        for keep in [false, true] {
            let params = SimpleImputerParams::new().strategy(strategy).keep_empty_features(keep);
            let err = params.fit(&empty).unwrap_err().to_string();
            assert!(err.contains("SimpleImputer cannot be fitted on 0 rows"), "{label}: {err}");
        }
    }
}

#[test]
fn transformers_that_cannot_use_sample_weights_refuse_them() {
    let x = Array2::from_shape_fn((30, 3), |(i, j)| ((i + j) % 4) as f64);
    let w = Array1::from_shape_fn(30, |i| (i % 4) as f64);
    let ds: rask_ml::ChunkedDataset<f64> =
        rask_ml::Dataset::unlabelled(x.clone()).with_weights(w).with_chunk_rows(10).to_chunked().unwrap();
    let check = |who: &str, err: String| {
        assert!(err.contains(&format!("{who} with sample weights")), "{who}: {err}");
    };
    check("RobustScaler", RobustScalerParams::new().fit(&ds).unwrap_err().to_string());
    check("QuantileTransformer", QuantileTransformerParams::new().fit(&ds).unwrap_err().to_string());
    check("OneHotEncoder", OneHotEncoderParams::new().fit(&ds).unwrap_err().to_string());
    check("OrdinalEncoder", OrdinalEncoderParams::new().fit(&ds).unwrap_err().to_string());
    for (_, strategy) in strategies() {
        check("SimpleImputer", SimpleImputerParams::new().strategy(strategy).fit(&ds).unwrap_err().to_string());
    }
    // PolynomialFeatures reads no data when fitting: weights cannot change it.
    let weighted = PolynomialFeaturesParams::new().fit(&ds).unwrap();
    let plain = PolynomialFeaturesParams::new().fit(&x).unwrap();
    assert_eq!(weighted, plain);
}
