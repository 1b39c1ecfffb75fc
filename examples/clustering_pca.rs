//! Clustering and PCA on a real dataset, with plots: the wine recognition data (178 wines,
//! 13 chemical measurements, 3 cultivars; embedded in `rask::datasets`) is standardized,
//! projected by PCA, clustered by k-means on the projection, and the clusters are compared with
//! the true cultivars (contingency table, adjusted Rand index). Two PNG plots are drawn with
//! `rask::plots`. Twin of `notebooks/05-clustering-and-pca.ipynb`.
//!
//! `cargo run --release --example clustering_pca` (plots in `target/rask-examples/clustering_pca/`)

use std::path::PathBuf;

use rask::datasets::load_wine;
use rask::estimators::cluster::KMeansParams;
use rask::estimators::decomposition::PcaParams;
use rask::estimators::preprocessing::StandardScalerParams;
use rask::ml::metrics::confusion_matrix;
use rask::ml::ndarray::Array2;
use rask::ml::{ChunkedDataset, Fit, Predict, Transform};

fn main() -> anyhow::Result<()> {
    // 1. The data: 178 rows in blocks of 50, so every step below is a task graph over 4 blocks.
    let wine = load_wine(50)?;
    println!("wine: {:?}, classes {:?}", wine.x.dim(), wine.target_names);
    assert_eq!(wine.x.dim(), (178, 13));

    // 2. Standardize: the measurements have very different scales (proline ~ 750, hue ~ 1).
    let scaler = StandardScalerParams::new().fit(&wine.data)?;
    let scaled = ChunkedDataset::new(scaler.transform(wine.data.x())?.persist()?, wine.data.y().unwrap().clone())?;

    // 3. PCA with every component, to see how the variance is spread.
    let full = PcaParams::new(13).fit(&scaled)?;
    let ratios = full.explained_variance_ratio.to_vec();
    println!("explained variance ratio: {}", ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(" "));
    println!("the first two components explain {:.1}%", 100.0 * (ratios[0] + ratios[1]));
    assert!((ratios.iter().sum::<f64>() - 1.0).abs() < 1e-9, "all 13 components explain everything");
    assert!(ratios.windows(2).all(|w| w[0] >= w[1]), "components come in order of variance");
    assert!(ratios[0] + ratios[1] > 0.5); // scikit-learn: 0.362 + 0.192 = 55.4%

    // 4. Project on two components (lazy), then k-means with k = 3 on the projection.
    let pca = PcaParams::new(2).fit(&scaled)?;
    let projected = pca.transform(scaled.x())?.persist()?;
    let km = KMeansParams::new(3).seed(0).fit(&projected)?;
    let labels = km.predict(&projected)?.compute()?;
    println!("k-means: {} iterations, inertia {:.2}", km.n_iter, km.inertia);

    // 5. Compare the clusters with the cultivars (cluster numbers are arbitrary; the ARI is not).
    let table = confusion_matrix(wine.y.view(), labels.view())?;
    println!("cultivar × cluster:\n{}", table.matrix);
    let ari = adjusted_rand_index(&table.matrix);
    println!("adjusted Rand index {ari:.3}");
    assert!(ari > 0.8, "the three cultivars are found again (ARI {ari:.3})");

    // 6. Plots: the clusters on PC1 / PC2 with their centres, and the explained variance.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/rask-examples/clustering_pca");
    let z = projected.compute()?;
    let points: Vec<[f64; 2]> = z.rows().into_iter().map(|r| [r[0], r[1]]).collect();
    let clusters: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let centres: Vec<[f64; 2]> = km.cluster_centers.rows().into_iter().map(|c| [c[0], c[1]]).collect();
    let title = format!("wine: k-means (k = 3) on two principal components, ARI {ari:.2}");
    rask::plots::clusters(&dir.join("clusters.png"), &title, ("PC1", "PC2"), &points, &clusters, &centres)?;
    rask::plots::explained_variance(&dir.join("explained_variance.png"), "wine: PCA, 13 components", &ratios)?;
    for name in ["clusters.png", "explained_variance.png"] {
        let bytes = std::fs::read(dir.join(name))?;
        assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{name} is a real PNG");
        println!("plot: {}", dir.join(name).display());
    }
    Ok(())
}

/// The adjusted Rand index of a contingency table (Hubert and Arabie): 1 for the same
/// partition up to renaming, about 0 for a random one.
fn adjusted_rand_index(table: &Array2<u64>) -> f64 {
    let pairs = |n: u64| (n * n.saturating_sub(1)) as f64 / 2.0;
    let same_both: f64 = table.iter().map(|&n| pairs(n)).sum();
    let same_true: f64 = table.rows().into_iter().map(|r| pairs(r.sum())).sum();
    let same_pred: f64 = table.columns().into_iter().map(|c| pairs(c.sum())).sum();
    let expected = same_true * same_pred / pairs(table.sum());
    let max = (same_true + same_pred) / 2.0;
    (same_both - expected) / (max - expected)
}
