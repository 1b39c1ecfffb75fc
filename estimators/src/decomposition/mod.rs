//! Matrix decompositions, named like scikit-learn's `sklearn.decomposition`: [`Pca`],
//! [`TruncatedSvd`] and [`IncrementalPca`].
//!
//! Every fit reduces the row blocks to small matrices in tree-reduced passes and finishes
//! with a dense factorisation on the driver (faer), so memory is bounded by the block size,
//! not the data size. Signs follow scikit-learn 1.6's `svd_flip(u_based_decision=False)`, so
//! fitted components compare equal to scikit-learn's without flipping.
//!
//! | estimator, solver | passes over the data | per block | on the driver |
//! |---|---|---|---|
//! | `Pca`, `CovarianceEigh` | 1 | count, mean, centred Gram matrix | `d × d` symmetric eigendecomposition |
//! | `Pca`, `Tsqr` | 1 | count, mean, `R` of the centred rows | SVD of the `d × d` `R` |
//! | `Pca`, `Randomized` | `n_power_iter + 3` | column stats; `(X − μ)ᵀ(X − μ)Z`; `R` of `(X − μ)Z` | QR of `d × l`, SVD of `l × l` |
//! | `TruncatedSvd`, `Tsqr` | 3 | column stats; `R` of the rows; stats of `X Vᵀ` | SVD of `R` |
//! | `TruncatedSvd`, `Randomized` | `n_power_iter + 4` | as `Pca`, uncentred | as `Pca` |
//! | `IncrementalPca` | 1 per batch | count, mean, `R` of the centred rows | SVD of `(k + d + 1) × d` |
//!
//! # Parallelisation
//!
//! The per-block work runs as registered ops on the default scheduler, one task per block,
//! and is merged by tree reductions in a fixed order, so the result is the same bits on every
//! scheduler for the same chunking (and, for the randomized solvers, the same seed: the random
//! start is drawn on the driver). Inside a task the dense kernels are sequential; the
//! scheduler provides the parallelism. Blocks are centred a cache-sized slab at a time and
//! never copied whole (`f32` blocks are widened to `f64` once).

pub mod incremental_pca;
pub mod ops;
mod passes;
pub mod pca;
pub mod truncated_svd;

pub use incremental_pca::{IncrementalPca, IncrementalPcaError, IncrementalPcaParams, IncrementalPcaParamsError};
pub use pca::{NComponents, Pca, PcaError, PcaParams, PcaParamsError, PcaSolver, PcaValidParams};
pub use truncated_svd::{SvdSolver, TruncatedSvd, TruncatedSvdError, TruncatedSvdParams, TruncatedSvdParamsError};

use rask_core::{Codec, OpEntry};
use rask_ml::ApplyModel;

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<ops::BlockMoments>(),
    OpEntry::of::<ops::MergeMoments>(),
    OpEntry::of::<ops::ProjectedR>(),
    OpEntry::of::<ops::MergeR>(),
    OpEntry::of::<ops::NormalProduct>(),
    OpEntry::of::<ApplyModel<Pca>>(),
    OpEntry::of::<ApplyModel<TruncatedSvd>>(),
    OpEntry::of::<ApplyModel<IncrementalPca>>(),
];

/// The search ops of this module's estimators (fit, partial fit and apply inside a search task).
pub const SEARCH_OPS: &[OpEntry] = rask_ml::search_entries!(PcaParams, TruncatedSvdParams, IncrementalPcaParams);

/// The codecs of this module's estimators' models fitted inside search tasks.
pub const SEARCH_CODECS: &[Codec] = rask_ml::search_codec_entries!(PcaParams, TruncatedSvdParams, IncrementalPcaParams);

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[Codec::serde::<ops::Moments>("rask.estimators.decomposition.moments")];

/// The consistency check of a fitted PCA (`validate_model` of `Pca` and `IncrementalPca`):
/// `k` components of `d` features, a mean of `d`, `k` variances, ratios and singular values,
/// finite parameters.
pub(crate) fn validate_pca(
    model: &str,
    n_features: usize,
    components: &ndarray::Array2<f64>,
    mean: &ndarray::Array1<f64>,
    explained_variance: &ndarray::Array1<f64>,
    explained_variance_ratio: &ndarray::Array1<f64>,
    singular_values: &ndarray::Array1<f64>,
) -> rask_ml::Result<()> {
    use rask_ml::persist::{check_model_finite as finite, check_model_len as len, check_model_nonempty as nonempty};
    let (k, d) = (components.nrows(), n_features);
    nonempty(model, "n_features", d)?;
    len(model, "the columns of components", d, components.ncols())?;
    len(model, "mean", d, mean.len())?;
    len(model, "explained_variance", k, explained_variance.len())?;
    len(model, "explained_variance_ratio", k, explained_variance_ratio.len())?;
    len(model, "singular_values", k, singular_values.len())?;
    finite(model, "components", components.iter())?;
    finite(model, "mean", mean.iter())?;
    finite(model, "explained_variance", explained_variance.iter())
}
