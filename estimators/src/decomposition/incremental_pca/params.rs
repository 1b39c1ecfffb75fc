//! The hyperparameters of [`IncrementalPca`](super::IncrementalPca).

use serde::{Deserialize, Serialize};

/// Validated incremental PCA hyperparameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalPcaValidParams {
    n_components: usize,
    whiten: bool,
    batch_size: Option<usize>,
}

/// Unchecked incremental PCA hyperparameters (a builder);
/// [`ParamGuard::check`](rask_ml::ParamGuard::check) validates them.
///
/// By name ([`SetParams`](rask_ml::SetParams)), as scikit-learn's: `n_components`, `whiten`
/// and `batch_size` (an integer, or none for one batch per block).
///
/// # Algorithm
///
/// scikit-learn's update (Ross et al.'s incremental SVD with a mean correction), batch after
/// batch: the SVD of the previous components scaled by their singular values, stacked on the
/// batch's centred rows (through their TSQR `R`) and one mean-correction row; the running
/// mean and variance are merged with Chan et al.'s update. `fit` runs it over the batches in
/// row order; `partial_fit` takes all its rows as one batch.
///
/// # Parallelism and cost
///
/// Each batch is one graph computation: one task per block of the batch (count, mean and
/// the `R` of its centred rows, `O(rows·d²)` flops, a `d × d` `R` sent), merged by a fan-in-8
/// tree, then an SVD of at most `(n_components + d + 1) × d` on the client. Batches run one
/// after the other, so parallelism is only within a batch: with the default (one batch per
/// block) a fit is a chain of single-task computations, one per block. In all, one pass
/// over the data; a block that straddles two `batch_size` batches is read by both.
///
/// # Compared with scikit-learn and dask-ml
///
/// - Default batches are the blocks (scikit-learn: `5 · n_features` rows); with
///   `batch_size(Some(b))` the batches are scikit-learn's (`gen_batches` with
///   `min_batch_size = n_components`), so the results match it to rounding.
/// - `n_components` is required (scikit-learn's `None` keeps all). Targets and sample weights
///   are ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncrementalPcaParams(IncrementalPcaValidParams);

rask_ml::impl_set_params!(IncrementalPcaParams, |p| {
    "n_components" => p.0.n_components,
    "whiten" => p.0.whiten,
    "batch_size" => p.0.batch_size,
});

/// An invalid incremental PCA parameter.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IncrementalPcaParamsError {
    /// `n_components == 0`.
    #[error("n_components must be at least 1")]
    ZeroComponents,
    /// `batch_size == Some(0)`.
    #[error("batch_size must be at least 1")]
    ZeroBatchSize,
}

rask_ml::params! {
    IncrementalPcaParams(IncrementalPcaValidParams) {
        set {
            /// The number of components.
            n_components(n: usize);
            /// Whether `transform` scales the projections to unit variance.
            whiten(whiten: bool);
            /// Rows per batch in `fit`: `None` (the default) makes every block a batch; `Some(b)`
            /// cuts the rows into batches of `b` exactly as scikit-learn's `gen_batches(n, b,
            /// min_batch_size=n_components)` does (a short last batch is merged into the one before
            /// it), whatever the blocks. `partial_fit` always takes its data as one batch.
            batch_size(batch_size: Option<usize>);
        }
        get {
            /// The number of components.
            n_components: usize;
            /// Whether `transform` whitens.
            whiten: bool;
            /// Rows per batch in `fit`.
            batch_size: Option<usize>;
        }
        check_ref(&self) -> IncrementalPcaParamsError {
            let p = &self.0;
            if p.n_components == 0 {
                return Err(IncrementalPcaParamsError::ZeroComponents);
            }
            if p.batch_size == Some(0) {
                return Err(IncrementalPcaParamsError::ZeroBatchSize);
            }
            Ok(p)
        }
    }
}

impl IncrementalPcaParams {
    /// `n_components` components, no whitening, one batch per block.
    pub fn new(n_components: usize) -> Self {
        IncrementalPcaParams(IncrementalPcaValidParams { n_components, whiten: false, batch_size: None })
    }
}
