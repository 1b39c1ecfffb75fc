//! SpectralClustering (Nyström): the same partitions as scikit-learn's exact spectral
//! clustering on blobs and circles, determinism, and bad input.

mod common;

use common::{arr1_i64, arr2, golden, on_every_scheduler, same_bits};
use ndarray::{Array1, Array2};
use rask_estimators::cluster::{
    SpectralClustering, SpectralClusteringError, SpectralClusteringParams, SpectralClusteringParamsError,
};
use rask_ml::{ChunkedArray, Fit, ParamGuard, Predict, Transform};

fn chunked(x: &Array2<f64>, rows: usize) -> ChunkedArray<f64> {
    ChunkedArray::from_array(x.view(), rows).unwrap()
}

/// Whether two labellings are the same partition (equal up to renaming the clusters).
fn same_partition(a: &Array1<i64>, b: &Array1<i64>) -> bool {
    let mut ab = std::collections::HashMap::new();
    let mut ba = std::collections::HashMap::new();
    a.iter().zip(b).all(|(x, y)| *ab.entry(*x).or_insert(*y) == *y && *ba.entry(*y).or_insert(*x) == *x)
}

/// The Nyström approximation (100 landmarks of 300 rows) finds exactly scikit-learn's exact
/// partition on these well-separated sets; every scheduler gives the same bits for a chunking.
fn check_golden(case: &str) {
    let g = &golden("cluster.json")[case];
    let x = arr2(&g["x"]);
    let labels = arr1_i64(&g["labels"]);
    let k = g["k"].as_u64().unwrap() as usize;
    let params = SpectralClusteringParams::new(k).gamma(g["gamma"].as_f64().unwrap()).n_components(100).seed(4);
    for rows in [300, 70] {
        let cx = chunked(&x, rows);
        let results = on_every_scheduler(|_| {
            let m: SpectralClustering = params.fit(&cx).unwrap();
            let p = m.predict(&cx).unwrap().compute().unwrap();
            (m, p)
        });
        for (m, p) in &results {
            assert!(same_partition(p, &labels), "{case}, chunks of {rows}: not scikit-learn's partition");
            assert!(same_bits(&m.kmeans.cluster_centers, &results[0].0.kmeans.cluster_centers));
            assert_eq!(p, &results[0].1);
        }
        let e = results[0].0.transform(&x).unwrap();
        assert_eq!(e.dim(), (300, k));
        assert!(e.rows().into_iter().all(|r| (r.dot(&r) - 1.0).abs() < 1e-9), "unit rows");
    }
}

#[test]
fn blobs_match_scikit_learns_exact_partition() {
    check_golden("spectral_blobs");
}

#[test]
fn circles_match_scikit_learns_exact_partition() {
    check_golden("spectral_circles");
}

#[test]
fn bad_input_is_refused() {
    let x = arr2(&golden("cluster.json")["spectral_blobs"]["x"]);
    let err = SpectralClusteringParams::new(3).n_components(400).fit(&x).unwrap_err();
    assert_eq!(err, SpectralClusteringError::TooFewSamples { n_samples: 300, n_components: 400 });
    let mut bad = x.clone();
    bad[[7, 1]] = f64::NAN;
    assert_eq!(
        SpectralClusteringParams::new(3).fit(&chunked(&bad, 100)).unwrap_err(),
        SpectralClusteringError::NonFinite
    );
    let m = SpectralClusteringParams::new(3).gamma(0.5).fit(&x).unwrap();
    assert!(m.predict(&bad).unwrap_err().to_string().contains("NaN or infinite"));
    assert!(m.predict(&Array2::<f64>::zeros((3, 5))).is_err());
    let empty = chunked(&x, 50).sample_rows(1e-12, 2).unwrap();
    assert_eq!(SpectralClusteringParams::new(3).fit(&empty).unwrap_err(), SpectralClusteringError::Empty);
}

#[test]
fn invalid_params_are_refused_one_by_one() {
    let e = |p: SpectralClusteringParams| p.check().unwrap_err();
    assert_eq!(e(SpectralClusteringParams::new(0)), SpectralClusteringParamsError::NClusters);
    assert_eq!(
        e(SpectralClusteringParams::new(5).n_components(4)),
        SpectralClusteringParamsError::NComponents { n_components: 4, n_clusters: 5 }
    );
    assert_eq!(e(SpectralClusteringParams::new(2).gamma(0.0)), SpectralClusteringParamsError::Gamma(0.0));
    assert_eq!(e(SpectralClusteringParams::new(2).n_init(0)), SpectralClusteringParamsError::NInit);
}

#[test]
fn send_sync_and_save_load() {
    fn check<T: Send + Sync>() {}
    check::<SpectralClusteringParams>();
    check::<SpectralClustering>();
    check::<SpectralClusteringError>();
    let x = arr2(&golden("cluster.json")["spectral_blobs"]["x"]);
    let m = SpectralClusteringParams::new(3).gamma(0.5).n_components(50).fit(&x).unwrap();
    let back: SpectralClustering = rask_ml::traits::from_bytes(&rask_ml::traits::to_bytes(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}
