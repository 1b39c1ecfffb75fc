use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, ModelKind, ParamGuard, PartialFit};
use serde::{Deserialize, Serialize};

use super::errors::MultinomialNBError;
use super::params::{MultinomialNBParams, MultinomialNBValidParams};
use crate::naive_bayes::count_nb::ops::{BlockClassCounts, ClassCounts};
use crate::naive_bayes::count_nb::{add_counts, argmax_classes, batch_counts, linear_jll, proba, tables};

/// A fitted multinomial naive Bayes classifier. Features must be non-negative (counts or
/// frequencies); the fit is one tree reduction of per-class weighted feature sums, and
/// `partial_fit` adds a batch's sums to the model's, so both give the same model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultinomialNB {
    /// The class labels, sorted.
    pub classes: Vec<i64>,
    /// Weight (rows, when unweighted) seen per class.
    pub class_count: Array1<f64>,
    /// Weighted feature sums per class, `n_classes × n_features`.
    pub feature_count: Array2<f64>,
    /// Log prior of each class.
    pub class_log_prior: Array1<f64>,
    /// Smoothed log probability of each feature given each class, `n_classes × n_features`.
    pub feature_log_prob: Array2<f64>,
    params: MultinomialNBValidParams,
    counts: ClassCounts,
}

impl MultinomialNB {
    fn from_counts(params: MultinomialNBValidParams, counts: ClassCounts) -> Result<Self, MultinomialNBError> {
        let t = tables(&params.common, &counts)?;
        let smoothed = &t.feature_count + params.common.alpha;
        let mut feature_log_prob = Array2::zeros(smoothed.raw_dim());
        for (i, row) in smoothed.rows().into_iter().enumerate() {
            let total = row.sum().ln();
            for (j, v) in row.iter().enumerate() {
                feature_log_prob[[i, j]] = v.ln() - total;
            }
        }
        Ok(MultinomialNB {
            classes: t.classes,
            class_count: t.class_count,
            feature_count: t.feature_count,
            class_log_prior: t.class_log_prior,
            feature_log_prob,
            params,
            counts,
        })
    }

    /// The params the model was fitted with.
    pub fn params(&self) -> &MultinomialNBValidParams {
        &self.params
    }

    /// The joint log-likelihood `log P(c) + Σ x_j log P(j | c)` of each row and class.
    pub fn joint_log_likelihood<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        linear_jll(x, &self.feature_log_prob, &self.class_log_prior, None)
    }
}

fn op() -> BlockClassCounts {
    BlockClassCounts { binarize: None, non_negative: true, who: "MultinomialNB".into() }
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for MultinomialNBParams {
    type Model = MultinomialNB;
    type Error = MultinomialNBError;

    fn fit(&self, data: &ChunkedDataset<F, i64>) -> Result<MultinomialNB, MultinomialNBError> {
        let params = self.check_ref()?.clone();
        let counts = batch_counts(&params.common, data, op())?;
        MultinomialNB::from_counts(params, counts)
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, i64>> for MultinomialNBParams {
    type Model = MultinomialNB;
    type Error = MultinomialNBError;

    fn partial_fit(
        &self,
        model: Option<MultinomialNB>,
        data: &ChunkedDataset<F, i64>,
    ) -> Result<MultinomialNB, MultinomialNBError> {
        let params = self.check_ref()?.clone();
        if params.common.classes.is_none() {
            return Err(MultinomialNBError::PartialFitNeedsClasses);
        }
        let batch = batch_counts(&params.common, data, op())?;
        let counts = add_counts(model.map(|m| m.counts), batch)?;
        MultinomialNB::from_counts(params, counts)
    }
}

impl BlockModel for MultinomialNB {
    const APPLY_OP: &'static str = "rask.estimators.multinomial_nb.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        crate::naive_bayes::validate_count_nb(
            "MultinomialNB",
            self.classes.len(),
            &self.class_count,
            &self.class_log_prior,
            &self.feature_log_prob,
            &[("feature_count", &self.feature_count)],
        )
    }

    fn n_features_in(&self) -> usize {
        self.feature_log_prob.ncols()
    }

    fn n_classes(&self) -> Option<usize> {
        Some(self.classes.len())
    }

    fn classes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }

    fn supports(&self, method: rask_ml::Method) -> bool {
        matches!(method, rask_ml::Method::Predict | rask_ml::Method::PredictProba)
    }

    fn predict_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array1<i64>> {
        Ok(argmax_classes(&self.joint_log_likelihood(x)?, &self.classes))
    }

    fn predict_proba_block<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        Ok(proba(self.joint_log_likelihood(x)?))
    }
}

rask_ml::estimator!(MultinomialNBParams => MultinomialNB, name = "MultinomialNB", ops = "rask.estimators.multinomial_nb", kind = Classifier, targets = labels, partial_fit = yes);
