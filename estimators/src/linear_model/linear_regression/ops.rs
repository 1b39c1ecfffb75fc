//! The registered ops of [`LinearRegression`](super::LinearRegression): its chunked
//! predictions. The fit's block ops are the shared GLM ones (`glm::ops`).

use rask_ml::ApplyModel;

use super::algorithm::LinearRegression;

/// Applies a fitted linear regression to one block.
pub type ApplyLinearRegression = ApplyModel<LinearRegression>;
