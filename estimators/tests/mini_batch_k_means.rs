//! MiniBatchKMeans: convergence on blobs, `partial_fit` against `fit`, determinism across
//! schedulers and chunkings, and bad input.

mod common;

use common::{arr1, arr1_i64, arr2, assert_close, golden, on_every_scheduler, same_bits};
use ndarray::{array, Array2};
use rask_datasets::generators::{make_blobs, BlobsParams};
use rask_estimators::cluster::{
    KMeans, KMeansParams, MiniBatchInit, MiniBatchKMeans, MiniBatchKMeansError, MiniBatchKMeansParams,
    MiniBatchKMeansParamsError,
};
use rask_ml::{ChunkedArray, ChunkedDataset, Fit, ParamGuard, PartialFit, Predict, Transform};

fn blobs(n: usize) -> Array2<f64> {
    let p = BlobsParams::new().n_samples(n).n_features(3).centers(4).cluster_std(0.8).seed(5).chunk_rows(n);
    make_blobs(&p).unwrap().data.x().compute().unwrap()
}

fn chunked(x: &Array2<f64>, rows: usize) -> ChunkedArray<f64> {
    ChunkedArray::from_array(x.view(), rows).unwrap()
}

fn ds(x: &ChunkedArray<f64>) -> ChunkedDataset<f64> {
    ChunkedDataset::unlabelled(x.clone())
}

/// On well-separated blobs the mini-batch centres end within 2% of the full k-means inertia.
#[test]
fn converges_on_blobs_and_agrees_on_every_scheduler() {
    let x = blobs(2000);
    let cx = chunked(&x, 500);
    let full: KMeans = KMeansParams::new(4).seed(1).fit(&cx).unwrap();
    let params = MiniBatchKMeansParams::new(4).batch_size(100).max_iter(10).seed(2);
    let models: Vec<MiniBatchKMeans> = on_every_scheduler(|_| params.fit(&cx).unwrap());
    for m in &models {
        assert!(same_bits(&m.cluster_centers, &models[0].cluster_centers), "bitwise across schedulers");
        assert_eq!(m, &models[0]);
    }
    let m = &models[0];
    let inertia = m.inertia_of(&cx).unwrap();
    assert!(inertia <= full.inertia * 1.02, "mini-batch {inertia} vs full {}", full.inertia);
    assert_eq!(m.n_iter, 10);
    assert_eq!(m.n_steps, 10 * 20);
    assert_eq!(m.counts.sum(), 10.0 * 2000.0);
    assert_eq!(m.predict(&cx).unwrap().compute().unwrap().len(), 2000);
    assert_eq!(m.transform(&x).unwrap().dim(), (2000, 4));
    assert!((m.score(&cx).unwrap() + inertia).abs() < 1e-9 * inertia);
}

/// With given centres and blocks that are whole numbers of batches, the batches, and so the
/// results, do not depend on the chunking.
#[test]
fn chunkings_made_of_whole_batches_give_the_same_model() {
    let x = blobs(1200);
    let init = MiniBatchInit::Given(x.slice(ndarray::s![0..4, ..]).to_owned());
    let params = MiniBatchKMeansParams::new(4).init(init).batch_size(100).max_iter(3);
    let a = params.fit(&chunked(&x, 300)).unwrap();
    let b = params.fit(&chunked(&x, 600)).unwrap();
    assert_eq!(a, b);
    // Another batch size changes the batches, not where the centres end up (roughly).
    let c = params.clone().batch_size(150).fit(&chunked(&x, 300)).unwrap();
    assert_close("centres across batch sizes", &c.cluster_centers, &a.cluster_centers, 0.0, 0.3);
}

/// `fit` is `partial_fit` repeated; `partial_fit` over the blocks one at a time equals one
/// pass over all of them.
#[test]
fn partial_fit_over_blocks_equals_fit() {
    let x = blobs(1000);
    let cx = chunked(&x, 250);
    for init in [MiniBatchInit::KMeansPlusPlus, MiniBatchInit::Random] {
        let params = MiniBatchKMeansParams::new(4).init(init).batch_size(64).seed(9);
        let results = on_every_scheduler(|_| {
            let one = params.clone().max_iter(1).fit(&cx).unwrap();
            let three = params.clone().max_iter(3).fit(&cx).unwrap();
            let p1 = params.partial_fit(None, &ds(&cx)).unwrap();
            let p3 =
                params.partial_fit(Some(params.partial_fit(Some(p1.clone()), &ds(&cx)).unwrap()), &ds(&cx)).unwrap();
            // Block by block, each block its own dataset.
            let mut m: Option<MiniBatchKMeans> = None;
            for b in 0..4 {
                let part = cx.slice_rows(b * 250, (b + 1) * 250).unwrap();
                m = Some(params.partial_fit(m, &ds(&part)).unwrap());
            }
            (one, three, p1, p3, m.unwrap())
        });
        for (one, three, p1, p3, blockwise) in &results {
            assert_eq!(one, p1);
            assert_eq!(three, p3);
            assert_eq!(blockwise.cluster_centers, one.cluster_centers);
            assert_eq!(blockwise.counts, one.counts);
            assert_eq!(blockwise.n_steps, one.n_steps);
            assert_eq!(blockwise.n_iter, 4, "one pass per partial_fit call");
            assert_eq!((one, three), (&results[0].0, &results[0].1), "same on every scheduler");
        }
    }
}

/// The update rule is scikit-learn's: a centre moves to the mean of every row it absorbed.
#[test]
fn one_batch_moves_each_centre_to_the_mean_of_its_rows() {
    let x = array![[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [10.0, 12.0], [0.0, 4.0]];
    let init = MiniBatchInit::Given(array![[1.0, 1.0], [9.0, 9.0]]);
    let params = MiniBatchKMeansParams::new(2).init(init).batch_size(4);
    let m = params.partial_fit(None, &ds(&chunked(&x, 5))).unwrap();
    // Batch 1 (rows 0–3): centre 0 absorbs rows 0, 1 → (1, 0); centre 1 rows 2, 3 → (10, 11).
    // Batch 2 (row 4): centre 0 absorbs it → mean of three rows (2/3, 4/3).
    assert_eq!(m.cluster_centers, array![[2.0 / 3.0, 4.0 / 3.0], [10.0, 11.0]]);
    assert_eq!(m.counts.to_vec(), vec![3.0, 2.0]);
    assert_eq!(m.n_steps, 2);
}

/// scikit-learn's `partial_fit` over consecutive batches (random reassignment off) gives the
/// same centres and counts: the sums are of the same rows in a different order, so rtol 1e-12.
fn check_golden(case: &str, x: Array2<f64>) {
    let g = &golden("cluster.json")[case];
    let rows: Vec<usize> = arr1_i64(&g["init_rows"]).iter().map(|&r| r as usize).collect();
    let batch = g["batch"].as_u64().unwrap() as usize;
    let params = MiniBatchKMeansParams::new(rows.len())
        .init(MiniBatchInit::Given(x.select(ndarray::Axis(0), &rows)))
        .batch_size(batch);
    for chunk in [batch, x.nrows()] {
        let data = ds(&chunked(&x, chunk));
        for m in on_every_scheduler(|_| params.partial_fit(None, &data).unwrap()) {
            assert_close(&format!("{case} centres"), &m.cluster_centers, &arr2(&g["cluster_centers"]), 1e-12, 1e-12);
            assert_eq!(m.counts, arr1(&g["counts"]), "{case} counts");
            assert_eq!(m.n_steps, g["n_steps"].as_u64().unwrap(), "{case} n_steps");
        }
    }
}

#[test]
fn golden_iris_partial_fit_matches_scikit_learn() {
    check_golden("mini_batch_iris", rask_datasets::real::load_iris(150).unwrap().x);
}

#[test]
fn golden_wine_partial_fit_matches_scikit_learn() {
    check_golden("mini_batch_wine", rask_datasets::real::load_wine(178).unwrap().x);
}

#[test]
fn tol_stops_fit_early() {
    let x = blobs(1000);
    let m = MiniBatchKMeansParams::new(4).batch_size(100).max_iter(50).tol(1e-2).fit(&chunked(&x, 250)).unwrap();
    assert!(m.n_iter < 50, "n_iter {}", m.n_iter);
}

#[test]
fn nan_values_are_refused() {
    let mut x = blobs(200);
    x[[150, 2]] = f64::NAN;
    let err = MiniBatchKMeansParams::new(3).fit(&chunked(&x, 100)).unwrap_err().to_string();
    assert!(err.contains("NaN or infinite"), "{err}");
    x[[150, 2]] = 0.0;
    x[[10, 0]] = f64::INFINITY;
    let err = MiniBatchKMeansParams::new(3).fit(&chunked(&x, 100)).unwrap_err().to_string();
    assert!(err.contains("NaN or infinite"), "{err}");
}

#[test]
fn a_first_block_shorter_than_k_initialises_from_the_first_blocks() {
    // Blocks of 5 rows and k = 6: the centres come from the first two blocks.
    let x = blobs(20);
    for init in [MiniBatchInit::KMeansPlusPlus, MiniBatchInit::Random] {
        let m = MiniBatchKMeansParams::new(6).init(init.clone()).fit(&chunked(&x, 5)).unwrap();
        assert_eq!(m.cluster_centers.dim(), (6, x.ncols()));
        assert!(m.cluster_centers.iter().all(|v| v.is_finite()));
        let once = MiniBatchKMeansParams::new(6).init(init).partial_fit(None, &ds(&chunked(&x, 5))).unwrap();
        assert_eq!(once.n_clusters(), 6);
    }
    // Rows of one-row blocks: still fine.
    let m = MiniBatchKMeansParams::new(3).fit(&chunked(&x, 1)).unwrap();
    assert_eq!(m.n_clusters(), 3);
    // Only data with fewer rows than clusters is refused.
    let err = MiniBatchKMeansParams::new(21).fit(&chunked(&x, 5)).unwrap_err();
    assert_eq!(err, MiniBatchKMeansError::TooFewSamples { n_samples: 20, n_clusters: 21 });
}

#[test]
fn empty_data_is_refused() {
    let x = blobs(20);
    let empty = chunked(&x, 5).sample_rows(1e-12, 3).unwrap();
    assert_eq!(MiniBatchKMeansParams::new(2).fit(&empty).unwrap_err(), MiniBatchKMeansError::Empty);
}

#[test]
fn mismatched_models_and_features_are_refused() {
    let x = blobs(100);
    let params = MiniBatchKMeansParams::new(3);
    let m = params.fit(&x).unwrap();
    let narrow = Array2::<f64>::zeros((10, 2));
    let err = params.partial_fit(Some(m.clone()), &ds(&chunked(&narrow, 5))).unwrap_err();
    assert_eq!(err, MiniBatchKMeansError::Features { expected: 3, found: 2 });
    let err = MiniBatchKMeansParams::new(4).partial_fit(Some(m.clone()), &ds(&chunked(&x, 50))).unwrap_err();
    assert_eq!(err, MiniBatchKMeansError::Clusters { expected: 4, found: 3 });
    assert!(m.predict(&narrow).is_err());
    let given = MiniBatchKMeansParams::new(1).init(MiniBatchInit::Given(array![[0.0, 0.0]]));
    assert_eq!(given.fit(&x).unwrap_err(), MiniBatchKMeansError::Features { expected: 2, found: 3 });
}

#[test]
fn invalid_params_are_refused_one_by_one() {
    let e = |p: MiniBatchKMeansParams| p.check().unwrap_err();
    assert_eq!(e(MiniBatchKMeansParams::new(0)), MiniBatchKMeansParamsError::NClusters);
    assert_eq!(e(MiniBatchKMeansParams::new(2).batch_size(0)), MiniBatchKMeansParamsError::BatchSize);
    assert_eq!(e(MiniBatchKMeansParams::new(2).max_iter(0)), MiniBatchKMeansParamsError::MaxIter);
    assert_eq!(e(MiniBatchKMeansParams::new(2).tol(-0.5)), MiniBatchKMeansParamsError::Tol(-0.5));
    let given = MiniBatchKMeansParams::new(2).init(MiniBatchInit::Given(array![[0.0, 0.0]]));
    assert_eq!(e(given), MiniBatchKMeansParamsError::GivenRows { expected: 2, found: 1 });
    let given = MiniBatchKMeansParams::new(1).init(MiniBatchInit::Given(array![[f64::NAN, 0.0]]));
    assert_eq!(e(given), MiniBatchKMeansParamsError::GivenNonFinite);
    assert_eq!(MiniBatchKMeansParamsError::BatchSize.to_string(), "batch_size must be at least 1");
}

#[test]
fn send_sync_and_save_load() {
    fn check<T: Send + Sync>() {}
    check::<MiniBatchKMeansParams>();
    check::<MiniBatchKMeans>();
    check::<MiniBatchKMeansError>();
    let x = blobs(100);
    let m = MiniBatchKMeansParams::new(3).max_iter(2).fit(&x).unwrap();
    let back: MiniBatchKMeans = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}
