//! The Nyström spectral clustering fit and the fitted [`SpectralClustering`].

use ndarray::{Array1, Array2, ArrayView2};
use rask_core::default_scheduler;
use rask_ml::chunked::ops::SumMatrices;
use rask_ml::{
    BlockModel, ChunkedArray, ChunkedDataset, Element, Fit, Float, Lazy, Method, MlError, ModelKind, ParamGuard,
    ReduceOptions,
};
use serde::{Deserialize, Serialize};

use super::errors::SpectralClusteringError;
use super::ops::{affinities, AffinitySums, EmbedBlock, NystromEmbedding, NystromGram};
use super::params::SpectralClusteringParams;
use crate::cluster::k_means::init::{random_rows, stream};
use crate::cluster::k_means::ops::SumVecs;
use crate::cluster::{KMeans, KMeansParams};

/// A fitted spectral clustering model: the Nyström embedding and the k-means model fitted on
/// the embedded rows.
///
/// Like dask-ml's `SpectralClustering`, the affinity matrix (RBF) is never formed: it is
/// approximated from `n_components` landmark rows (Nyström, as Fowlkes et al. 2004), the
/// normalised affinity's top `n_clusters` eigenvectors come from an `m × m` eigenproblem, and
/// each row's embedding is computed from its affinities to the landmarks alone. That also
/// gives an out-of-sample extension, so the model predicts new rows ([`Predict`](rask_ml::Predict))
/// and transforms rows into the embedding ([`Transform`](rask_ml::Transform), `n_clusters`
/// columns of unit rows); the labels of the training rows are `predict` on them.
///
/// Unlike dask-ml's, the eigenvectors are orthogonalised (the "one-shot" Nyström method), so
/// the landmark rows are not treated differently from the others.
///
/// # Parallelisation
///
/// Two passes over the row blocks (affinity column sums, then the `m × m` Gram matrix of the
/// normalised affinities), each a tree reduction; then the embedding is computed block by
/// block and kept in memory (`rows × n_clusters`) for the k-means passes.
///
/// ```
/// use ndarray::Array2;
/// use rask_estimators::cluster::SpectralClusteringParams;
/// use rask_ml::{Fit, Predict};
///
/// // Two rings of 40 points: an inner one of radius 1 and an outer one of radius 5.
/// let x = Array2::from_shape_fn((80, 2), |(i, j)| {
///     let r = if i < 40 { 1.0 } else { 5.0 };
///     let t = (i % 40) as f64 * std::f64::consts::TAU / 40.0;
///     if j == 0 { r * t.cos() } else { r * t.sin() }
/// });
/// let model = SpectralClusteringParams::new(2).gamma(1.0).n_components(30).fit(&x).unwrap();
/// let labels = model.predict(&x).unwrap();
/// assert!(labels.iter().take(40).all(|&l| l == labels[0]));
/// assert!(labels.iter().skip(40).all(|&l| l != labels[0]));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectralClustering {
    /// The embedding.
    pub embedding: NystromEmbedding,
    /// k-means on the embedded rows.
    pub kmeans: KMeans,
}

impl BlockModel for SpectralClustering {
    const APPLY_OP: &'static str = "rask.estimators.spectral_clustering.apply";
    const KIND: ModelKind = ModelKind::Clusterer;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        use rask_ml::persist::{check_model_finite as finite, check_model_nonempty as nonempty};
        const M: &str = "SpectralClustering";
        nonempty(M, "the number of features (columns of the landmarks)", self.embedding.landmarks.ncols())?;
        finite(M, "the landmarks", self.embedding.landmarks.iter())?;
        finite(M, "the projection", self.embedding.projection.iter())?;
        self.kmeans.validate_model()
    }

    fn n_features_in(&self) -> usize {
        self.embedding.landmarks.ncols()
    }

    fn n_features_out(&self) -> usize {
        self.embedding.projection.ncols()
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        let e = self.embedding.embed(x).map_err(|what| MlError::NonFinite { what })?;
        self.kmeans.predict_block(e.view())
    }

    fn transform_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<F>> {
        let e = self.embedding.embed(x).map_err(|what| MlError::NonFinite { what })?;
        Ok(e.mapv(F::narrow))
    }

    fn supports(&self, method: Method) -> bool {
        matches!(method, Method::Predict | Method::Transform)
    }
}

/// Eigenvalues (ascending) and eigenvectors (columns) of a symmetric matrix.
fn eigh(a: &Array2<f64>) -> Result<(Vec<f64>, Array2<f64>), MlError> {
    let n = a.nrows();
    let m = faer::Mat::from_fn(n, n, |i, j| a[[i, j]]);
    let e = m.self_adjoint_eigen(faer::Side::Lower).map_err(|e| MlError::InvalidParameter {
        name: "affinity",
        message: format!("the eigendecomposition did not converge: {e:?}"),
    })?;
    let s = e.S().column_vector();
    let u = e.U();
    Ok(((0..n).map(|i| s[i]).collect(), Array2::from_shape_fn((n, n), |(i, j)| u[(i, j)])))
}

/// Eigenvalues below this fraction of the largest are treated as zero.
const RCOND: f64 = 1e-10;

fn fit_spectral<F: Float>(
    p: &super::params::SpectralClusteringValidParams,
    x: &ChunkedArray<F>,
) -> Result<SpectralClustering, SpectralClusteringError> {
    let sched = default_scheduler();
    let x = if x.chunks().is_known() { x.clone() } else { x.compute_chunk_sizes_on(&sched)? };
    let n = x.n_rows().unwrap_or(0);
    if n == 0 {
        return Err(SpectralClusteringError::Empty);
    }
    let stats = x.column_stats(ReduceOptions::default())?.compute_on(&sched)?;
    if stats.sum.iter().chain(&stats.min).chain(&stats.max).any(|v| !v.is_finite()) {
        return Err(SpectralClusteringError::NonFinite);
    }
    if p.n_components > n {
        return Err(SpectralClusteringError::TooFewSamples { n_samples: n, n_components: p.n_components });
    }
    let (k, gamma) = (p.n_clusters, p.gamma);
    let landmarks = random_rows(&x, p.n_components, stream("spectral.landmarks", p.seed, &[]), &sched)?;
    let split = ReduceOptions::default().split_every;
    let (layers, key) =
        x.block_layer().reduce(&[], AffinitySums { landmarks: landmarks.clone(), gamma }, SumVecs, split)?;
    let sums = Array1::from(Lazy::<Vec<f64>>::new(layers, key).compute_on(&sched)?);
    let a = affinities(landmarks.view(), &landmarks, gamma).map_err(|what| MlError::NonFinite { what })?;
    let (lam, q) = eigh(&a)?;
    let top = lam.iter().cloned().fold(0.0, f64::max);
    let keep: Vec<usize> = (0..lam.len()).filter(|&i| lam[i] > top * RCOND).collect();
    if keep.len() < k {
        return Err(SpectralClusteringError::Rank { rank: keep.len(), n_clusters: k });
    }
    let m = lam.len();
    let mut a_pinv = Array2::<f64>::zeros((m, m));
    let mut a_inv_sqrt = Array2::<f64>::zeros((m, m));
    for &i in &keep {
        let col = q.column(i);
        let outer = col.view().insert_axis(ndarray::Axis(1)).dot(&col.view().insert_axis(ndarray::Axis(0)));
        a_pinv.scaled_add(1.0 / lam[i], &outer);
        a_inv_sqrt.scaled_add(1.0 / lam[i].sqrt(), &outer);
    }
    let degree_weights = a_pinv.dot(&sums);
    let gram = NystromGram {
        landmarks: landmarks.clone(),
        gamma,
        degree_weights: degree_weights.clone(),
        a_inv_sqrt: a_inv_sqrt.clone(),
    };
    let (layers, key) = x.block_layer().reduce(&[], gram, SumMatrices, split)?;
    let g = Lazy::<Array2<f64>>::new(layers, key).compute_on(&sched)?;
    let (sig2, v) = eigh(&g)?;
    // The top `k` eigenpairs, largest first.
    let mut projection = Array2::<f64>::zeros((m, k));
    for j in 0..k {
        let i = m - 1 - j;
        let sigma = sig2[i].max(f64::MIN_POSITIVE).sqrt();
        projection.column_mut(j).assign(&(a_inv_sqrt.dot(&v.column(i)) / sigma));
    }
    let embedding = NystromEmbedding { landmarks, gamma, degree_weights, projection };
    let embedded = x.map_blocks::<_, f64>(EmbedBlock { embedding: embedding.clone() }, k)?.persist_on(&sched)?;
    let kmeans = KMeansParams::new(k).n_init(p.n_init).seed(stream("spectral.kmeans", p.seed, &[])).fit(&embedded)?;
    Ok(SpectralClustering { embedding, kmeans })
}

impl<F: Float, Y: Element> Fit<ChunkedDataset<F, Y>> for SpectralClusteringParams {
    type Model = SpectralClustering;
    type Error = SpectralClusteringError;

    fn fit(&self, data: &ChunkedDataset<F, Y>) -> Result<SpectralClustering, SpectralClusteringError> {
        let p = self.check_ref()?;
        if data.weights().is_some() {
            return Err(SpectralClusteringError::WeightsUnsupported);
        }
        fit_spectral(p, data.x())
    }
}

rask_ml::estimator!(SpectralClusteringParams => SpectralClustering, name = "SpectralClustering", ops = "rask.estimators.spectral_clustering", kind = Clusterer, targets = any, partial_fit = no);
