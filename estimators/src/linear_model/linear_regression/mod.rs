//! Linear regression: ordinary least squares by the normal equations, or ridge, lasso and
//! elastic-net through the shared GLM solvers.

mod algorithm;
mod errors;
mod ops;
mod params;

pub use algorithm::LinearRegression;
pub use errors::{LinearRegressionError, LinearRegressionParamsError};
pub use ops::ApplyLinearRegression;
pub use params::{LinearRegressionParams, LinearRegressionValidParams};
