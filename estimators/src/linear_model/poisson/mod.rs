//! Poisson regression (log link), scikit-learn's `PoissonRegressor`.

mod algorithm;
mod errors;
mod ops;
mod params;

pub use algorithm::PoissonRegression;
pub use errors::{PoissonRegressionError, PoissonRegressionParamsError};
pub use ops::ApplyPoissonRegression;
pub use params::{PoissonRegressionParams, PoissonRegressionValidParams};
