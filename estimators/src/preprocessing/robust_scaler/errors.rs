use rask_ml::MlError;

/// What can go wrong when fitting a [`super::RobustScaler`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RobustScalerError {
    /// The quantile range is not `0 ≤ low ≤ high ≤ 100`.
    #[error("quantile_range must satisfy 0 <= low <= high <= 100, got ({0}, {1})")]
    QuantileRange(f64, f64),
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
