//! Errors of [`LinearRegression`](super::LinearRegression).

use rask_ml::MlError;

use crate::linear_model::glm::{GlmError, GlmParamsError};

/// An invalid hyperparameter, one variant per field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinearRegressionParamsError {
    /// `alpha` is negative or not finite.
    #[error("alpha must be non-negative and finite, got {0}")]
    Alpha(f64),
    /// A solver setting is invalid.
    #[error(transparent)]
    Solver(#[from] GlmParamsError),
}

/// What a linear-regression fit can fail with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LinearRegressionError {
    /// Invalid hyperparameters.
    #[error(transparent)]
    Params(#[from] LinearRegressionParamsError),
    /// The data or the graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// The solver failed.
    #[error(transparent)]
    Glm(#[from] GlmError),
}
