//! The registered ops of [`LogisticRegression`](super::LogisticRegression): its chunked
//! predictions. The fit's block ops are the shared GLM ones (`glm::ops`).

use rask_ml::ApplyModel;

use super::algorithm::LogisticRegression;

/// Applies a fitted logistic regression to one block (predict, predict_proba).
pub type ApplyLogisticRegression = ApplyModel<LogisticRegression>;
