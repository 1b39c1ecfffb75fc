//! Hyperparameters of [`SpectralClustering`](super::SpectralClustering).

use serde::{Deserialize, Serialize};

/// The validated hyperparameters, as produced by
/// [`SpectralClusteringParams::check`](SpectralClusteringParams#method.check).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectralClusteringValidParams {
    pub(crate) n_clusters: usize,
    pub(crate) n_components: usize,
    pub(crate) gamma: f64,
    pub(crate) n_init: usize,
    pub(crate) seed: u64,
}

/// The hyperparameters of spectral clustering with the Nyström approximation (dask-ml's
/// design), with these defaults:
///
/// | field | default | meaning |
/// |---|---|---|
/// | `n_clusters` | 8 | clusters to find |
/// | `n_components` | 100 | landmark rows, drawn uniformly, that the affinity matrix is approximated from (dask-ml's name and default) |
/// | `gamma` | 1.0 | the RBF affinity `exp(−gamma ‖x − y‖²)` (the only affinity offered) |
/// | `n_init` | 1 | initialisations of the k-means step (k-means‖) on the embedding |
/// | `seed` | 0 | seed of the landmarks and of the k-means step |
///
/// By name ([`SetParams`](rask_ml::SetParams)): `n_clusters`, `n_components`, `gamma`,
/// `n_init` and `seed` (scikit-learn's `random_state`).
///
/// # Algorithm
///
/// Nyström spectral clustering: `m = n_components` landmark rows drawn uniformly; the RBF
/// affinities of every row to the landmarks; the row degrees estimated from the landmark
/// affinities (`A⁺` applied to their column sums); the top `n_clusters` eigenvectors of the
/// normalised affinity from an `m × m` eigenproblem, orthogonalised ("one-shot" Nyström);
/// every row embedded from its affinities to the landmarks; then
/// [`KMeansParams`](crate::cluster::KMeansParams) (k-means‖, `n_init` starts) on the
/// embedding.
///
/// # Parallelism and cost
///
/// Each step is one graph computation of one task per block and a fan-in-8 tree: a
/// column-statistics pass (finiteness); a graph reading the blocks that hold the landmarks;
/// the affinity column sums (`O(n·m·d)` flops, an `m`-vector per block); the Gram matrix of
/// the normalised affinities (`O(n·m·(d + m))`, an `m × m` matrix per block); the embedding
/// (`O(n·m·(d + k))`), **persisted** (`n × n_clusters` values held on the workers); then the
/// k-means passes over that embedding. The client holds the landmarks and solves two
/// `m × m` symmetric eigenproblems.
///
/// # Compared with scikit-learn and dask-ml
///
/// - scikit-learn forms the exact `n × n` affinity; this is an approximation from `m`
///   landmarks (dask-ml's design), so labels can differ. Only the RBF affinity and k-means
///   label assignment are offered (no `affinity`, `n_neighbors`, `assign_labels`,
///   `eigen_solver`).
/// - Unlike dask-ml, the eigenvectors are orthogonalised, so landmark rows are embedded like
///   any other; the embedding is always persisted (dask-ml's `persist_embedding`).
/// - Sample weights are refused (`SpectralClusteringError::WeightsUnsupported`); training
///   labels are not stored: predict them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectralClusteringParams(SpectralClusteringValidParams);

rask_ml::impl_set_params!(SpectralClusteringParams, |p| {
    "n_clusters" => p.0.n_clusters,
    "n_components" => p.0.n_components,
    "gamma" => p.0.gamma,
    "n_init" => p.0.n_init,
    "seed" => p.0.seed,
});

impl Default for SpectralClusteringParams {
    fn default() -> Self {
        SpectralClusteringParams(SpectralClusteringValidParams {
            n_clusters: 8,
            n_components: 100,
            gamma: 1.0,
            n_init: 1,
            seed: 0,
        })
    }
}

rask_ml::params! {
    SpectralClusteringParams(SpectralClusteringValidParams) {
        set {
            /// Sets the number of clusters.
            n_clusters(n: usize);
            /// Sets the number of landmarks.
            n_components(n: usize);
            /// Sets the RBF kernel's `gamma`.
            gamma(gamma: f64);
            /// Sets the initialisations of the k-means step.
            n_init(n: usize);
            /// Sets the seed.
            seed(seed: u64);
        }
        get {
            /// Number of clusters.
            n_clusters: usize;
            /// Number of landmark rows of the Nyström approximation.
            n_components: usize;
            /// The RBF kernel's `gamma`.
            gamma: f64;
            /// Initialisations of the k-means step.
            n_init: usize;
            /// The seed of the landmarks and of the k-means step.
            seed: u64;
        }
        check_ref(&self) -> SpectralClusteringParamsError {
            let p = &self.0;
            if p.n_clusters == 0 {
                return Err(SpectralClusteringParamsError::NClusters);
            }
            if p.n_components < p.n_clusters {
                return Err(SpectralClusteringParamsError::NComponents {
                    n_components: p.n_components,
                    n_clusters: p.n_clusters,
                });
            }
            if !(p.gamma.is_finite() && p.gamma > 0.0) {
                return Err(SpectralClusteringParamsError::Gamma(p.gamma));
            }
            if p.n_init == 0 {
                return Err(SpectralClusteringParamsError::NInit);
            }
            Ok(p)
        }
    }
}

impl SpectralClusteringParams {
    /// Defaults with `n_clusters` clusters.
    pub fn new(n_clusters: usize) -> Self {
        Self::default().n_clusters(n_clusters)
    }
}

/// An invalid spectral clustering hyperparameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpectralClusteringParamsError {
    /// `n_clusters` is 0.
    #[error("n_clusters must be at least 1")]
    NClusters,
    /// Fewer landmarks than clusters.
    #[error("n_components ({n_components}) must be at least n_clusters ({n_clusters})")]
    NComponents {
        /// Landmarks.
        n_components: usize,
        /// Clusters.
        n_clusters: usize,
    },
    /// `gamma` is not positive and finite.
    #[error("gamma must be finite and > 0, got {0}")]
    Gamma(f64),
    /// `n_init` is 0.
    #[error("n_init must be at least 1")]
    NInit,
}
