use rask_ml::MlError;

/// What can go wrong when fitting a [`super::SimpleImputer`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimpleImputerError {
    /// The constant fill value is NaN or infinite.
    #[error("fill_value must be finite, got {0}")]
    FillValue(f64),
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
