use rask_ml::MlError;

/// What can go wrong when fitting [`super::PolynomialFeatures`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolynomialFeaturesError {
    /// Degree 0 without the bias column would output nothing.
    #[error("degree 0 with include_bias false would output no columns")]
    EmptyOutput,
    /// The data or the task graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
}
