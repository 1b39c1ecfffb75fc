//! PCA, TruncatedSVD and IncrementalPCA against scikit-learn 1.6.1 (golden file written by
//! `tests/golden/make_decomposition.py`), on every scheduler and several chunkings, plus bad
//! input, parameter checks and save/load.

mod common;

use common::{arr1, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{s, Array1, Array2};
use rask_estimators::decomposition::{
    IncrementalPca, IncrementalPcaError, IncrementalPcaParams, IncrementalPcaParamsError, NComponents, Pca, PcaError,
    PcaParams, PcaParamsError, PcaSolver, SvdSolver, TruncatedSvd, TruncatedSvdError, TruncatedSvdParams,
    TruncatedSvdParamsError,
};
use rask_ml::{ChunkedArray, Dataset, Fit, InverseTransform, ParamGuard, PartialFit, Transform};
use serde_json::Value as Json;

const DATASETS: [&str; 4] = ["iris", "wine", "breast_cancer", "low_rank"];

fn data(name: &str) -> Array2<f64> {
    match name {
        "iris" => rask_datasets::real::load_iris(64).unwrap().x,
        "wine" => rask_datasets::real::load_wine(64).unwrap().x,
        "breast_cancer" => rask_datasets::real::load_breast_cancer(64).unwrap().x,
        "low_rank" => arr2(&golden("decomposition.json")["low_rank_x"]),
        other => panic!("no dataset {other}"),
    }
}

fn ds(x: &Array2<f64>, chunk_rows: usize) -> Dataset<f64> {
    Dataset::unlabelled(x.clone()).with_chunk_rows(chunk_rows)
}

/// Two chunkings per dataset: uneven blocks (one shorter than the feature count for the wide
/// datasets), and a few large ones.
fn chunkings(x: &Array2<f64>) -> [usize; 2] {
    [x.ncols().max(7) - 3, x.nrows() / 3 + 1]
}

/// Fits on every scheduler, asserts the models are identical (bit for bit), returns one.
fn fit_everywhere<M: PartialEq + std::fmt::Debug>(f: impl Fn() -> M) -> M {
    let mut models = on_every_scheduler(|_| f());
    let first = models.remove(0);
    for m in &models {
        assert_eq!(&first, m, "schedulers disagree");
    }
    first
}

/// `|a − b| ≤ tol · scale` elementwise, where `scale` is the largest magnitude in `b`: the
/// errors of an eigen/SVD solver are relative to the largest entry, not to each entry.
fn assert_scaled(what: &str, a: &Array2<f64>, b: &Array2<f64>, tol: f64) {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    assert_close(what, a, b, 0.0, tol * scale);
}

fn assert_scaled1(what: &str, a: &Array1<f64>, b: &Array1<f64>, tol: f64) {
    let scale = b.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    assert_close(what, a, b, 0.0, tol * scale);
}

/// Tolerances of one comparison with scikit-learn.
#[derive(Clone, Copy)]
struct Tol {
    /// Components, elementwise (they are unit vectors).
    components: f64,
    /// Spectra (variances, ratios, singular values), relative to the largest value.
    spectrum: f64,
    /// The noise variance, relative to the largest explained variance.
    noise: f64,
    /// Transformed rows and their reconstruction, relative to the largest magnitude.
    rows: f64,
}

fn check_pca(name: &str, m: &Pca, case: &Json, x: &Array2<f64>, tol: Tol) {
    let what = |a: &str| format!("{name} {a} (whiten {})", case["whiten"]);
    assert_eq!(m.n_components(), case["n_components"].as_u64().unwrap() as usize);
    assert_close(&what("components"), &m.components, &arr2(&case["components"]), 0.0, tol.components);
    let ev = arr1(&case["explained_variance"]);
    assert_scaled1(&what("explained_variance"), &m.explained_variance, &ev, tol.spectrum);
    assert_scaled1(
        &what("explained_variance_ratio"),
        &m.explained_variance_ratio,
        &arr1(&case["explained_variance_ratio"]),
        tol.spectrum,
    );
    assert_scaled1(&what("singular_values"), &m.singular_values, &arr1(&case["singular_values"]), tol.spectrum);
    assert_close(&what("mean"), &m.mean, &arr1(&case["mean"]), 1e-12, 1e-12);
    let noise = case["noise_variance"].as_f64().unwrap();
    assert!(
        (m.noise_variance - noise).abs() <= tol.noise * ev[0],
        "{}: {} vs {noise}",
        what("noise"),
        m.noise_variance
    );
    let head = x.slice(s![..20, ..]).to_owned();
    let t = m.transform(&head).unwrap();
    assert_scaled(&what("transform"), &t, &arr2(&case["transform_head"]), tol.rows);
    let back = m.inverse_transform(&t).unwrap();
    assert_scaled(&what("inverse_transform"), &back, &arr2(&case["inverse_transform_head"]), tol.rows);
}

// The exact solvers against scikit-learn's LAPACK SVD (`svd_solver="full"`). Both are exact
// up to rounding; the covariance solver squares the condition number, so its errors scale
// with `ε · λ_max / gap`: on breast cancer (λ₁ ≈ 4.4e5, columns on scales from 1e-3 to 1e3)
// the whitened transform differs by ~1e-12 relative (observed), the rest by less.
// Tolerances (about 100× the worst error observed): components 1e-10 absolute (unit
// vectors), spectra 1e-12 of the largest value, transforms 1e-11 of the largest magnitude.
const EXACT: Tol = Tol { components: 1e-10, spectrum: 1e-12, noise: 1e-12, rows: 1e-11 };

fn exact_solver_matches_scikit_learn(solver: PcaSolver) {
    let g = golden("decomposition.json");
    for name in DATASETS {
        let x = data(name);
        for case in g["cases"][name]["pca"].as_array().unwrap() {
            let k = case["n_components"].as_u64().unwrap() as usize;
            let whiten = case["whiten"].as_bool().unwrap();
            let params = PcaParams::new(k).solver(solver).whiten(whiten);
            let mut per_chunking = Vec::new();
            for chunk in chunkings(&x) {
                let m = fit_everywhere(|| params.fit(&ds(&x, chunk)).unwrap());
                assert_eq!(m.solver, solver);
                assert_eq!((m.n_samples, m.n_features), x.dim());
                check_pca(name, &m, case, &x, EXACT);
                per_chunking.push(m);
            }
            // Chunking changes the order of the sums, so only rounding differs.
            assert_close(
                "components across chunkings",
                &per_chunking[0].components,
                &per_chunking[1].components,
                0.0,
                1e-9,
            );
        }
    }
}

#[test]
fn pca_full_matches_scikit_learn() {
    exact_solver_matches_scikit_learn(PcaSolver::CovarianceEigh);
}

#[test]
fn pca_tsqr_matches_scikit_learn() {
    exact_solver_matches_scikit_learn(PcaSolver::Tsqr);
}

#[test]
fn pca_auto_picks_the_covariance_solver_for_tall_data() {
    let x = data("iris");
    let m = PcaParams::new(2).fit(&ds(&x, 50)).unwrap();
    assert_eq!(m.solver, PcaSolver::CovarianceEigh);
    let wide = x.slice(s![..20, ..]).to_owned().reversed_axes().as_standard_layout().to_owned();
    let m = PcaParams::new(2).fit(&ds(&wide, 3)).unwrap();
    assert_eq!(m.solver, PcaSolver::Tsqr);
}

#[test]
fn pca_randomized_matches_scikit_learn_on_a_clear_spectral_gap() {
    // Breast cancer: 30 features, 5 components, 15 sampled directions, so the random start
    // matters; its spectrum falls by more than 3× between components 5 and 16, and 4 power
    // iterations (scikit-learn's "auto" here) shrink the error by about that ratio to the power
    // 2·(4 + 1) per direction: the answer is exact to rounding (observed < 1e-12), and the
    // tolerances are those of the exact solvers with 10× more room: components 1e-10, spectra
    // 1e-11, transforms 1e-10.
    let g = golden("decomposition.json");
    let x = data("breast_cancer");
    for case in g["cases"]["breast_cancer"]["pca"].as_array().unwrap() {
        let whiten = case["whiten"].as_bool().unwrap();
        let params = PcaParams::new(5).solver(PcaSolver::randomized()).whiten(whiten).seed(42);
        for chunk in chunkings(&x) {
            let m = fit_everywhere(|| params.fit(&ds(&x, chunk)).unwrap());
            // The noise variance comes from the total variance minus the kept variance: a
            // difference of large numbers, hence 1e-11 of the largest variance.
            let tol = Tol { components: 1e-10, spectrum: 1e-11, noise: 1e-11, rows: 1e-10 };
            check_pca("breast_cancer randomized", &m, case, &x, tol);
        }
    }
    // Low-rank data with d ≤ k + oversamples: the sampled subspace is the whole space.
    let x = data("low_rank");
    let case = &g["cases"]["low_rank"]["pca"][0];
    let m = fit_everywhere(|| PcaParams::new(3).solver(PcaSolver::randomized()).fit(&ds(&x, 37)).unwrap());
    check_pca("low_rank randomized", &m, case, &x, EXACT);
}

fn generated_low_rank(n: usize, d: usize, rank: usize) -> Array2<f64> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    let latent = Array2::from_shape_fn((n, rank), |(_, j)| 0.0 + (10.0 / (j + 1) as f64)).mapv(|s| s * normal());
    let mixing = Array2::from_shape_fn((rank, d), |_| normal());
    let noise = Array2::from_shape_fn((n, d), |_| 0.05 * normal());
    latent.dot(&mixing) + noise + 50.0
}

#[test]
fn pca_randomized_agrees_with_the_exact_answer() {
    // 1500 × 80 of rank 5 plus noise: the signal's singular values are > 30× the noise's, so
    // with 4 power iterations the randomized answer is exact to ~1e-12; checked to 1e-9.
    let x = generated_low_rank(1500, 80, 5);
    let exact = PcaParams::new(5).solver(PcaSolver::Tsqr).fit(&ds(&x, 400)).unwrap();
    for (p, iters) in [(10, None), (5, Some(6))] {
        let solver = PcaSolver::Randomized { n_oversamples: p, n_power_iter: iters };
        let m = fit_everywhere(|| PcaParams::new(5).solver(solver).seed(7).fit(&ds(&x, 400)).unwrap());
        assert_close("components", &m.components, &exact.components, 0.0, 1e-9);
        assert_close("explained variance", &m.explained_variance, &exact.explained_variance, 1e-9, 0.0);
        assert_close("ratio", &m.explained_variance_ratio, &exact.explained_variance_ratio, 1e-9, 0.0);
        assert!((m.noise_variance - exact.noise_variance).abs() <= 1e-6 * exact.noise_variance);
        // Another chunking: the same answer up to rounding; another seed: close, not equal.
        let other = PcaParams::new(5).solver(solver).seed(7).fit(&ds(&x, 333)).unwrap();
        assert_close("components across chunkings", &other.components, &m.components, 0.0, 1e-9);
        let reseeded = PcaParams::new(5).solver(solver).seed(8).fit(&ds(&x, 400)).unwrap();
        assert!(!same_bits(&reseeded.components, &m.components));
        assert_close("components across seeds", &reseeded.components, &m.components, 0.0, 1e-8);
    }
    // With no power iteration (dask-ml's default) the answer is rougher but still close on
    // this clear gap: the one product with XᵀX already separates signal from noise.
    let rough = PcaParams::new(5)
        .solver(PcaSolver::Randomized { n_oversamples: 10, n_power_iter: Some(0) })
        .fit(&ds(&x, 400))
        .unwrap();
    assert_close("zero power iterations", &rough.components, &exact.components, 0.0, 1e-2);
    assert!(!same_bits(&rough.components, &exact.components));
}

#[test]
fn pca_variance_fraction_matches_scikit_learn() {
    let g = golden("decomposition.json");
    let x = data("wine");
    let expect = g["wine_fraction_0_9999"].as_u64().unwrap() as usize;
    for solver in [PcaSolver::CovarianceEigh, PcaSolver::Tsqr, PcaSolver::Auto] {
        let m = PcaParams::new(1).n_components(NComponents::VarianceFraction(0.9999)).solver(solver).fit(&ds(&x, 50));
        let m = m.unwrap();
        assert_eq!(m.n_components(), expect);
        assert_eq!(m.explained_variance.len(), expect);
        // The noise variance then averages the directions left out, as for a count.
        let by_count = PcaParams::new(expect).solver(solver).fit(&ds(&x, 50)).unwrap();
        assert_eq!(m, by_count);
    }
    let x = data("breast_cancer");
    let m = PcaParams::new(1).n_components(NComponents::VarianceFraction(0.5)).fit(&ds(&x, 100)).unwrap();
    assert_eq!(m.n_components(), g["cancer_fraction_0_5"].as_u64().unwrap() as usize);
}

#[test]
fn pca_transforms_chunked_arrays_lazily_on_every_scheduler() {
    let x = data("wine");
    let m = PcaParams::new(3).whiten(true).fit(&ds(&x, 50)).unwrap();
    let eager = m.transform(&x).unwrap();
    let back = m.inverse_transform(&eager).unwrap();
    let cx = ChunkedArray::from_array(x.view(), 33).unwrap();
    for (t, b) in on_every_scheduler(|_| {
        let t = m.transform(&cx).unwrap();
        let b = m.inverse_transform(&t).unwrap();
        (t.compute().unwrap(), b.compute().unwrap())
    }) {
        assert!(same_bits(&t, &eager));
        assert!(same_bits(&b, &back));
    }
    // Whitened training projections have unit variance.
    let var = eager.var_axis(ndarray::Axis(0), 1.0);
    assert_close("whitened variance", &var, &Array1::ones(3), 1e-9, 0.0);
}

#[test]
fn truncated_svd_and_incremental_pca_transform_chunked_arrays_on_every_scheduler() {
    let x = data("wine");
    let tsvd = TruncatedSvdParams::new(3).fit(&ds(&x, 50)).unwrap();
    let ipca = IncrementalPcaParams::new(3).whiten(true).fit(&ds(&x, 50)).unwrap();
    let cx = ChunkedArray::from_array(x.view(), 33).unwrap();
    let (t1, t2) = (tsvd.transform(&x).unwrap(), ipca.transform(&x).unwrap());
    for (a, b, c, d) in on_every_scheduler(|_| {
        let a = tsvd.transform(&cx).unwrap();
        let b = ipca.transform(&cx).unwrap();
        let (c, d) = (tsvd.inverse_transform(&a).unwrap(), ipca.inverse_transform(&b).unwrap());
        (a.compute().unwrap(), b.compute().unwrap(), c.compute().unwrap(), d.compute().unwrap())
    }) {
        assert!(same_bits(&a, &t1));
        assert!(same_bits(&b, &t2));
        assert!(same_bits(&c, &tsvd.inverse_transform(&t1).unwrap()));
        assert!(same_bits(&d, &ipca.inverse_transform(&t2).unwrap()));
    }
}

#[test]
fn unknown_chunk_sizes_are_handled() {
    // Bernoulli sampling with fraction 1 keeps every row but forgets the chunk sizes.
    let x = data("wine");
    let cx = ChunkedArray::from_array(x.view(), 40).unwrap().sample_rows(1.0, 0).unwrap();
    assert!(cx.n_rows().is_none());
    let known = ds(&x, 40);
    let pca = PcaParams::new(3).fit(&cx).unwrap();
    assert_eq!(pca.solver, PcaSolver::Tsqr, "without a row count, Auto takes the TSQR solver");
    let reference = PcaParams::new(3).solver(PcaSolver::Tsqr).fit(&known).unwrap();
    assert_close("pca", &pca.components, &reference.components, 0.0, 1e-12);
    let r = PcaParams::new(3).solver(PcaSolver::randomized()).fit(&cx).unwrap();
    assert_eq!(r.n_samples, x.nrows());
    let t = TruncatedSvdParams::new(3).solver(SvdSolver::Tsqr).fit(&cx).unwrap();
    let t_ref = TruncatedSvdParams::new(3).solver(SvdSolver::Tsqr).fit(&known).unwrap();
    assert_close("tsvd", &t.components, &t_ref.components, 0.0, 1e-12);
    let i = IncrementalPcaParams::new(3).fit(&cx).unwrap();
    let i_ref = IncrementalPcaParams::new(3).fit(&known).unwrap();
    assert_close("ipca", &i.components, &i_ref.components, 0.0, 1e-12);
    assert_eq!(i.n_samples_seen, x.nrows());
}

#[test]
fn pca_fits_f32_data() {
    let x = data("iris");
    let x32 = x.mapv(|v| v as f32);
    let m64 = PcaParams::new(2).fit(&ds(&x, 40)).unwrap();
    let m32 = PcaParams::new(2).fit(&Dataset::<f32>::unlabelled(x32.clone()).with_chunk_rows(40)).unwrap();
    // Iris has one decimal digit, exactly representable up to f32 rounding of ~1e-7.
    assert_close("f32 components", &m32.components, &m64.components, 0.0, 1e-5);
    let t: Array2<f32> = m32.transform(&x32).unwrap();
    assert_eq!(t.dim(), (150, 2));
    let ds32 = Dataset::<f32>::unlabelled(x32.clone()).with_chunk_rows(40);
    let t32 = TruncatedSvdParams::new(2).solver(SvdSolver::Tsqr).fit(&ds32).unwrap();
    let t64 = TruncatedSvdParams::new(2).solver(SvdSolver::Tsqr).fit(&ds(&x, 40)).unwrap();
    assert_close("f32 truncated svd", &t32.components, &t64.components, 0.0, 1e-5);
    let i32 = IncrementalPcaParams::new(2).fit(&ds32).unwrap();
    let i64 = IncrementalPcaParams::new(2).fit(&ds(&x, 40)).unwrap();
    assert_close("f32 incremental pca", &i32.components, &i64.components, 0.0, 1e-5);
    let back: Array2<f32> = i32.inverse_transform(&i32.transform(&x32).unwrap()).unwrap();
    assert_eq!(back.dim(), (150, 4));
}

#[test]
fn truncated_svd_matches_scikit_learn() {
    // Against ARPACK with tol=0 (exact to rounding). TSQR is exact too; the randomized solver
    // runs 10 power iterations with a seed, and on these spectra (d ≤ 30, 10 oversamples)
    // converges to rounding (observed errors < 1e-12). Tolerances: components 1e-10, spectra
    // 1e-11 of the largest value, transforms 1e-10 of the largest magnitude.
    let g = golden("decomposition.json");
    for name in DATASETS {
        let x = data(name);
        let case = &g["cases"][name]["tsvd"];
        let k = case["n_components"].as_u64().unwrap() as usize;
        for solver in [SvdSolver::Tsqr, SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 10 }] {
            for chunk in chunkings(&x) {
                let m: TruncatedSvd =
                    fit_everywhere(|| TruncatedSvdParams::new(k).solver(solver).seed(3).fit(&ds(&x, chunk)).unwrap());
                let what = |a: &str| format!("{name} {solver:?} {a}");
                assert_close(&what("components"), &m.components, &arr2(&case["components"]), 0.0, 1e-10);
                assert_scaled1(&what("singular_values"), &m.singular_values, &arr1(&case["singular_values"]), 1e-11);
                assert_scaled1(
                    &what("explained_variance"),
                    &m.explained_variance,
                    &arr1(&case["explained_variance"]),
                    1e-11,
                );
                assert_scaled1(
                    &what("explained_variance_ratio"),
                    &m.explained_variance_ratio,
                    &arr1(&case["explained_variance_ratio"]),
                    1e-11,
                );
                let head = x.slice(s![..20, ..]).to_owned();
                let t = m.transform(&head).unwrap();
                assert_scaled(&what("transform"), &t, &arr2(&case["transform_head"]), 1e-10);
                let back = m.inverse_transform(&t).unwrap();
                assert_scaled(&what("inverse_transform"), &back, &arr2(&case["inverse_transform_head"]), 1e-10);
            }
        }
    }
}

fn check_ipca(name: &str, m: &IncrementalPca, case: &Json, x: &Array2<f64>) {
    // scikit-learn takes the SVD of each stacked batch directly; here a batch enters through
    // the R of its TSQR, which has the same singular values and right singular vectors, so
    // only rounding differs (observed < 1e-12): components 1e-10, spectra 1e-11 of the largest
    // value, variances 1e-10 relative, transforms 1e-10 of the largest magnitude.
    let what = |a: &str| format!("{name} ipca {a} (whiten {})", case["whiten"]);
    assert_eq!(m.n_samples_seen, case["n_samples_seen"].as_u64().unwrap() as usize);
    assert_close(&what("components"), &m.components, &arr2(&case["components"]), 0.0, 1e-10);
    let ev = arr1(&case["explained_variance"]);
    assert_scaled1(&what("explained_variance"), &m.explained_variance, &ev, 1e-11);
    assert_scaled1(
        &what("explained_variance_ratio"),
        &m.explained_variance_ratio,
        &arr1(&case["explained_variance_ratio"]),
        1e-11,
    );
    assert_scaled1(&what("singular_values"), &m.singular_values, &arr1(&case["singular_values"]), 1e-11);
    assert_close(&what("mean"), &m.mean, &arr1(&case["mean"]), 1e-12, 1e-12);
    assert_close(&what("var"), &m.var, &arr1(&case["var"]), 1e-10, 0.0);
    let noise = case["noise_variance"].as_f64().unwrap();
    assert!((m.noise_variance - noise).abs() <= 1e-11 * ev[0], "{}: {} vs {noise}", what("noise"), m.noise_variance);
    let head = x.slice(s![..20, ..]).to_owned();
    let t = m.transform(&head).unwrap();
    assert_scaled(&what("transform"), &t, &arr2(&case["transform_head"]), 1e-10);
    let back = m.inverse_transform(&t).unwrap();
    assert_scaled(&what("inverse_transform"), &back, &arr2(&case["inverse_transform_head"]), 1e-10);
}

#[test]
fn incremental_pca_matches_scikit_learn() {
    let g = golden("decomposition.json");
    for name in DATASETS {
        let x = data(name);
        for case in g["cases"][name]["ipca"].as_array().unwrap() {
            let k = case["n_components"].as_u64().unwrap() as usize;
            let b = case["batch_size"].as_u64().unwrap() as usize;
            let whiten = case["whiten"].as_bool().unwrap();
            let params = IncrementalPcaParams::new(k).whiten(whiten);
            // One batch per block, blocks of exactly scikit-learn's batch size (its last batch
            // is the remainder, as with our last block: no batch here is shorter than k).
            let by_block = fit_everywhere(|| params.fit(&ds(&x, b)).unwrap());
            check_ipca(name, &by_block, case, &x);
            // The same batches cut from other blocks by `batch_size`: the batches' rows now
            // come from several blocks, and the answer differs only by rounding.
            let by_size = fit_everywhere(|| params.clone().batch_size(Some(b)).fit(&ds(&x, 17)).unwrap());
            check_ipca(name, &by_size, case, &x);
        }
    }
}

#[test]
fn incremental_pca_partial_fit_threads_the_model_through() {
    let x = data("wine");
    let params = IncrementalPcaParams::new(3);
    let mut model = None;
    for start in (0..x.nrows()).step_by(40) {
        let end = (start + 40).min(x.nrows());
        let batch = Dataset::<f64>::unlabelled(x.slice(s![start..end, ..]).to_owned()).with_chunk_rows(15);
        model = Some(params.partial_fit(model, &batch).unwrap());
    }
    let model = model.unwrap();
    let fitted = params.fit(&ds(&x, 40)).unwrap();
    assert_eq!(model.n_samples_seen, x.nrows());
    assert_close("components", &model.components, &fitted.components, 0.0, 1e-9);
    assert_close("mean", &model.mean, &fitted.mean, 1e-12, 0.0);
    // One batch of everything is plain PCA.
    let one = params.clone().batch_size(Some(x.nrows())).fit(&ds(&x, 40)).unwrap();
    let pca = PcaParams::new(3).solver(PcaSolver::Tsqr).fit(&ds(&x, 40)).unwrap();
    assert_close("one batch = PCA", &one.components, &pca.components, 0.0, 1e-9);
    assert_close("one batch = PCA, variance", &one.explained_variance, &pca.explained_variance, 1e-9, 0.0);
}

// --- Bad input ------------------------------------------------------------------------------

fn with_nan() -> Array2<f64> {
    let mut x = data("iris");
    x[[77, 2]] = f64::NAN;
    x
}

#[test]
fn nan_is_a_clear_error() {
    let x = with_nan();
    for solver in [PcaSolver::CovarianceEigh, PcaSolver::Tsqr, PcaSolver::randomized()] {
        let err = PcaParams::new(2).solver(solver).fit(&ds(&x, 50)).unwrap_err();
        assert!(matches!(err, PcaError::Ml(_)), "{solver:?}: {err}");
        assert!(err.to_string().contains("NaN"), "{solver:?}: {err}");
    }
    for solver in [SvdSolver::Tsqr, SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 2 }] {
        let err = TruncatedSvdParams::new(2).solver(solver).fit(&ds(&x, 50)).unwrap_err();
        assert!(err.to_string().contains("NaN"), "{solver:?}: {err}");
    }
    let err = IncrementalPcaParams::new(2).fit(&ds(&x, 50)).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let mut inf = data("iris");
    inf[[3, 0]] = f64::INFINITY;
    let err = PcaParams::new(2).fit(&ds(&inf, 50)).unwrap_err();
    assert!(err.to_string().contains("inf"), "{err}");
}

#[test]
fn too_many_components_is_an_error() {
    let x = data("iris");
    for solver in [PcaSolver::CovarianceEigh, PcaSolver::Tsqr, PcaSolver::randomized()] {
        let err = PcaParams::new(5).solver(solver).fit(&ds(&x, 50)).unwrap_err();
        assert!(matches!(err, PcaError::TooManyComponents { n_components: 5, max: 4 }), "{solver:?}: {err}");
    }
    let short = x.slice(s![..3, ..]).to_owned();
    let err = PcaParams::new(4).fit(&ds(&short, 2)).unwrap_err();
    assert!(matches!(err, PcaError::TooManyComponents { n_components: 4, max: 3 }), "{err}");
    let err = TruncatedSvdParams::new(5).fit(&ds(&x, 50)).unwrap_err();
    assert!(matches!(err, TruncatedSvdError::TooManyComponents { n_components: 5, max: 4 }), "{err}");
    let err = IncrementalPcaParams::new(5).fit(&ds(&x, 50)).unwrap_err();
    assert!(matches!(err, IncrementalPcaError::TooManyComponents { n_components: 5, n_features: 4 }), "{err}");
    let two = x.slice(s![..2, ..]).to_owned();
    let err = IncrementalPcaParams::new(3).partial_fit(None, &ds(&two, 1)).unwrap_err();
    assert!(matches!(err, IncrementalPcaError::FirstBatchTooSmall { n_components: 3, n_samples: 2 }), "{err}");
}

#[test]
fn empty_and_degenerate_data_are_errors() {
    let empty = Array2::<f64>::zeros((0, 4));
    assert!(PcaParams::new(1).fit(&empty).is_err());
    assert!(TruncatedSvdParams::new(1).fit(&empty).is_err());
    assert!(IncrementalPcaParams::new(1).fit(&empty).is_err());
    let no_features = Array2::<f64>::zeros((5, 0));
    let err = PcaParams::new(1).fit(&no_features).unwrap_err();
    assert!(matches!(err, PcaError::NoFeatures), "{err}");
    let one_row = Array2::from_elem((1, 3), 1.0);
    let err = PcaParams::new(1).fit(&one_row).unwrap_err();
    assert!(matches!(err, PcaError::TooFewSamples { n_samples: 1 }), "{err}");
    let err = IncrementalPcaParams::new(1).fit(&one_row).unwrap_err();
    assert!(matches!(err, IncrementalPcaError::TooFewSamples { n_samples: 1 }), "{err}");
}

#[test]
fn feature_mismatch_at_transform_is_an_error() {
    let x = data("iris");
    let pca = PcaParams::new(2).fit(&ds(&x, 50)).unwrap();
    let tsvd = TruncatedSvdParams::new(2).fit(&ds(&x, 50)).unwrap();
    let ipca = IncrementalPcaParams::new(2).fit(&ds(&x, 50)).unwrap();
    let wrong = Array2::<f64>::zeros((3, 5));
    assert!(pca.transform(&wrong).is_err());
    assert!(tsvd.transform(&wrong).is_err());
    assert!(ipca.transform(&wrong).is_err());
    assert!(pca.inverse_transform(&wrong).is_err());
    assert!(tsvd.inverse_transform(&wrong).is_err());
    assert!(ipca.inverse_transform(&wrong).is_err());
    let cx = ChunkedArray::from_array(wrong.view(), 2).unwrap();
    assert!(pca.transform(&cx).is_err());
    // partial_fit with another width.
    let err = IncrementalPcaParams::new(2).partial_fit(Some(ipca), &ds(&wrong, 2)).unwrap_err();
    assert!(matches!(err, IncrementalPcaError::FeatureMismatch { expected: 4, found: 5 }), "{err}");
}

#[test]
fn invalid_pca_params_are_rejected_one_field_at_a_time() {
    assert_eq!(PcaParams::new(0).check().unwrap_err(), PcaParamsError::ZeroComponents);
    for f in [0.0, 1.0, -0.5, f64::NAN] {
        let e = PcaParams::new(1).n_components(NComponents::VarianceFraction(f)).check().unwrap_err();
        assert!(matches!(e, PcaParamsError::BadVarianceFraction(_)), "{f}: {e}");
    }
    let e = PcaParams::new(1)
        .n_components(NComponents::VarianceFraction(0.5))
        .solver(PcaSolver::randomized())
        .check()
        .unwrap_err();
    assert_eq!(e, PcaParamsError::FractionNeedsExactSolver);
    let e =
        PcaParams::new(1).solver(PcaSolver::Randomized { n_oversamples: 0, n_power_iter: None }).check().unwrap_err();
    assert_eq!(e, PcaParamsError::ZeroOversamples);
    assert_eq!(e.to_string(), "n_oversamples must be at least 1");
    // The fit checks too.
    let err = PcaParams::new(0).fit(&data("iris")).unwrap_err();
    assert!(matches!(err, PcaError::Params(PcaParamsError::ZeroComponents)));
}

#[test]
fn invalid_truncated_svd_params_are_rejected_one_field_at_a_time() {
    assert_eq!(TruncatedSvdParams::new(0).check().unwrap_err(), TruncatedSvdParamsError::ZeroComponents);
    let e = TruncatedSvdParams::new(1)
        .solver(SvdSolver::Randomized { n_oversamples: 0, n_power_iter: 5 })
        .check()
        .unwrap_err();
    assert_eq!(e, TruncatedSvdParamsError::ZeroOversamples);
    assert!(TruncatedSvdParams::new(0).fit(&data("iris")).is_err());
}

#[test]
fn invalid_incremental_pca_params_are_rejected_one_field_at_a_time() {
    assert_eq!(IncrementalPcaParams::new(0).check().unwrap_err(), IncrementalPcaParamsError::ZeroComponents);
    assert_eq!(
        IncrementalPcaParams::new(1).batch_size(Some(0)).check().unwrap_err(),
        IncrementalPcaParamsError::ZeroBatchSize
    );
    assert!(IncrementalPcaParams::new(1).batch_size(Some(0)).fit(&data("iris")).is_err());
}

#[test]
fn params_and_models_are_send_sync() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<PcaParams>();
    is_send_sync::<Pca>();
    is_send_sync::<PcaError>();
    is_send_sync::<TruncatedSvdParams>();
    is_send_sync::<TruncatedSvd>();
    is_send_sync::<IncrementalPcaParams>();
    is_send_sync::<IncrementalPca>();
}

#[test]
fn models_and_params_save_and_load() {
    let dir = std::env::temp_dir().join(format!("rask-decomposition-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let x = data("wine");
    let params = PcaParams::new(3).solver(PcaSolver::randomized()).whiten(true).seed(5);
    let pca = params.fit(&ds(&x, 50)).unwrap();
    rask_ml::save(&pca, dir.join("pca")).unwrap();
    rask_ml::save(&params, dir.join("params")).unwrap();
    let loaded: Pca = rask_ml::load(dir.join("pca")).unwrap();
    assert_eq!(loaded, pca);
    assert!(same_bits(&loaded.transform(&x).unwrap(), &pca.transform(&x).unwrap()));
    assert_eq!(rask_ml::load::<PcaParams>(dir.join("params")).unwrap(), params);
    // Loading as the wrong type is an error.
    assert!(rask_ml::load::<TruncatedSvd>(dir.join("pca")).is_err());
    let tsvd = TruncatedSvdParams::new(2).fit(&ds(&x, 50)).unwrap();
    rask_ml::save(&tsvd, dir.join("tsvd")).unwrap();
    assert_eq!(rask_ml::load::<TruncatedSvd>(dir.join("tsvd")).unwrap(), tsvd);
    let ipca = IncrementalPcaParams::new(2).fit(&ds(&x, 50)).unwrap();
    rask_ml::save(&ipca, dir.join("ipca")).unwrap();
    let ipca_loaded: IncrementalPca = rask_ml::load(dir.join("ipca")).unwrap();
    assert_eq!(ipca_loaded, ipca);
    // A loaded model keeps learning.
    let more = IncrementalPcaParams::new(2).partial_fit(Some(ipca_loaded), &ds(&x, 50)).unwrap();
    assert_eq!(more.n_samples_seen, 2 * x.nrows());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn runs_of_empty_blocks_do_not_break_the_merge() {
    // Bernoulli sampling at a low fraction leaves many of these 5-row blocks empty, whole merge
    // groups included; they must merge as nothing rather than fail.
    let x = data("iris");
    let cx = ChunkedArray::from_array(x.view(), 5).unwrap();
    let sampled = cx.sample_rows(0.1, 3).unwrap();
    let rows = sampled.compute().unwrap();
    assert!(rows.nrows() >= 3 && rows.nrows() < 40, "{} rows sampled", rows.nrows());
    for solver in [PcaSolver::CovarianceEigh, PcaSolver::Tsqr] {
        let m = PcaParams::new(2).solver(solver).fit(&sampled).unwrap();
        let direct = PcaParams::new(2).solver(solver).fit(&rows).unwrap();
        assert_eq!(m.n_samples, rows.nrows());
        assert_close("mean", &m.mean, &direct.mean, 1e-12, 1e-12);
    }
}

#[test]
fn identical_rows_explain_no_variance_on_every_solver() {
    let row = [1.1, 2.3, -0.7, 5.9, 1e3];
    let x = Array2::from_shape_fn((12, 5), |(_, j)| row[j]);
    #[allow(deprecated)]
    let solvers = [
        PcaSolver::Full,
        PcaSolver::CovarianceEigh,
        PcaSolver::Tsqr,
        PcaSolver::Randomized { n_oversamples: 10, n_power_iter: Some(4) },
    ];
    for solver in solvers {
        for chunk in [5, 100] {
            let m = PcaParams::new(3).solver(solver).fit(&ds(&x, chunk)).unwrap();
            let what = format!("{solver:?}, chunk {chunk}");
            assert!(m.explained_variance_ratio.iter().all(|&r| r == 0.0), "{what}: {}", m.explained_variance_ratio);
            assert!(m.explained_variance.iter().all(|&v| v == 0.0), "{what}: {}", m.explained_variance);
            assert!(m.singular_values.iter().all(|&v| v == 0.0), "{what}: {}", m.singular_values);
            assert_eq!(m.noise_variance, 0.0, "{what}");
            let t = m.transform(&x).unwrap();
            assert!(t.iter().all(|v| v.is_finite()), "{what}: {t}");
        }
    }
    for chunk in [5, 100] {
        let m = IncrementalPcaParams::new(3).fit(&ds(&x, chunk)).unwrap();
        assert!(m.explained_variance_ratio.iter().all(|&r| r == 0.0), "chunk {chunk}: {}", m.explained_variance_ratio);
        assert!(m.explained_variance.iter().all(|&v| v == 0.0), "chunk {chunk}: {}", m.explained_variance);
    }
    for solver in [SvdSolver::Tsqr, SvdSolver::Randomized { n_oversamples: 10, n_power_iter: 4 }] {
        for chunk in [5, 100] {
            let m = TruncatedSvdParams::new(3).solver(solver).fit(&ds(&x, chunk)).unwrap();
            let what = format!("{solver:?}, chunk {chunk}");
            assert!(m.explained_variance_ratio.iter().all(|&r| r == 0.0), "{what}: {}", m.explained_variance_ratio);
            assert!(m.explained_variance.iter().all(|&v| v == 0.0), "{what}: {}", m.explained_variance);
        }
    }
}

#[test]
fn truncated_svd_on_no_rows_says_so() {
    let x = Array2::from_shape_fn((30, 4), |(i, j)| (i * 4 + j) as f64);
    // A filter that keeps no rows: chunks [0, 0, 0].
    let empty = ChunkedArray::from_array(x.view(), 10).unwrap().sample_rows(1e-9, 0).unwrap();
    let err = TruncatedSvdParams::new(1).fit(&empty).unwrap_err().to_string();
    assert!(err.contains("TruncatedSvd cannot be fitted on 0 rows") && !err.contains("NaN"), "{err}");
}
