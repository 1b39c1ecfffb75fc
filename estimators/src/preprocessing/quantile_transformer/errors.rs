use rask_ml::MlError;

/// What can go wrong when fitting a [`super::QuantileTransformer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuantileTransformerError {
    /// `n_quantiles` is zero.
    #[error("n_quantiles must be at least 1, got {0}")]
    NQuantiles(usize),
    /// The sketch capacity is below 2.
    #[error("sketch_capacity must be at least 2, got {0}")]
    SketchCapacity(usize),
    /// `split_every` is below 2.
    #[error("split_every must be at least 2, got {0}")]
    SplitEvery(usize),
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
