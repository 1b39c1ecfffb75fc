//! Errors of [`PoissonRegression`](super::PoissonRegression).

use rask_ml::MlError;

use crate::linear_model::glm::{GlmError, GlmParamsError};

/// An invalid hyperparameter, one variant per field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PoissonRegressionParamsError {
    /// `alpha` is negative or not finite.
    #[error("alpha must be non-negative and finite, got {0}")]
    Alpha(f64),
    /// A solver setting is invalid.
    #[error(transparent)]
    Solver(#[from] GlmParamsError),
}

/// What a Poisson-regression fit can fail with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PoissonRegressionError {
    /// Invalid hyperparameters.
    #[error(transparent)]
    Params(#[from] PoissonRegressionParamsError),
    /// The data or the graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// The solver failed.
    #[error(transparent)]
    Glm(#[from] GlmError),
    /// A target is negative.
    #[error("Poisson regression needs non-negative targets; the smallest is {min}")]
    NegativeTarget {
        /// The smallest target.
        min: f64,
    },
    /// Every target is zero.
    #[error("Poisson regression needs a positive (weighted) target sum")]
    ZeroTargets,
}
