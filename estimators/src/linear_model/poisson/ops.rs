//! The registered ops of [`PoissonRegression`](super::PoissonRegression): its chunked
//! predictions. The fit's block ops are the shared GLM ones (`glm::ops`).

use rask_ml::ApplyModel;

use super::algorithm::PoissonRegression;

/// Applies a fitted Poisson regression to one block.
pub type ApplyPoissonRegression = ApplyModel<PoissonRegression>;
