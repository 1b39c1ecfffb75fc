//! Logistic regression: binary and multinomial, any penalty, five solvers.

mod algorithm;
mod errors;
mod ops;
mod params;

pub use algorithm::LogisticRegression;
pub use errors::{LogisticRegressionError, LogisticRegressionParamsError};
pub use ops::ApplyLogisticRegression;
pub use params::{LogisticRegressionParams, LogisticRegressionValidParams};
