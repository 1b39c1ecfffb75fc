//! Errors of [`LogisticRegression`](super::LogisticRegression).

use rask_ml::MlError;

use crate::linear_model::glm::{GlmError, GlmParamsError};

/// An invalid hyperparameter, one variant per field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LogisticRegressionParamsError {
    /// `C` is not positive and finite.
    #[error("C must be positive and finite, got {0}")]
    C(f64),
    /// A solver setting is invalid.
    #[error(transparent)]
    Solver(#[from] GlmParamsError),
}

/// What a logistic-regression fit can fail with.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LogisticRegressionError {
    /// Invalid hyperparameters.
    #[error(transparent)]
    Params(#[from] LogisticRegressionParamsError),
    /// The data or the graph failed.
    #[error(transparent)]
    Ml(#[from] MlError),
    /// The solver failed.
    #[error(transparent)]
    Glm(#[from] GlmError),
    /// The target holds one class only.
    #[error("the target holds one class only ({class}); a classifier needs at least two")]
    SingleClass {
        /// The only class.
        class: i64,
    },
}
