use ndarray::{Array1, Array2, ArrayView2};
use rask_ml::{BlockModel, ChunkedDataset, Fit, Float, ModelKind, ParamGuard, PartialFit};
use serde::{Deserialize, Serialize};

use super::errors::BernoulliNBError;
use super::params::{BernoulliNBParams, BernoulliNBValidParams};
use crate::naive_bayes::count_nb::ops::{BlockClassCounts, ClassCounts};
use crate::naive_bayes::count_nb::{add_counts, argmax_classes, batch_counts, linear_jll, proba, tables};

/// A fitted Bernoulli naive Bayes classifier: each feature is an independent binary event (after
/// binarisation at `binarize`, when set); the fit is one tree reduction of per-class weighted feature sums, and
/// `partial_fit` adds a batch's sums to the model's, so both give the same model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BernoulliNB {
    /// The class labels, sorted.
    pub classes: Vec<i64>,
    /// Weight (rows, when unweighted) seen per class.
    pub class_count: Array1<f64>,
    /// Weighted feature sums per class, `n_classes × n_features`.
    pub feature_count: Array2<f64>,
    /// Log prior of each class.
    pub class_log_prior: Array1<f64>,
    /// Smoothed log probability that each feature is 1 given each class,
    /// `n_classes × n_features`.
    pub feature_log_prob: Array2<f64>,
    /// `log(1 − P(j | c))`, kept for prediction.
    neg_log_prob: Array2<f64>,
    params: BernoulliNBValidParams,
    counts: ClassCounts,
}

impl BernoulliNB {
    fn from_counts(params: BernoulliNBValidParams, counts: ClassCounts) -> Result<Self, BernoulliNBError> {
        let t = tables(&params.common, &counts)?;
        let alpha = params.common.alpha;
        let smoothed = &t.feature_count + alpha;
        let mut feature_log_prob = Array2::zeros(smoothed.raw_dim());
        for (i, row) in smoothed.rows().into_iter().enumerate() {
            let total = (t.class_count[i] + 2.0 * alpha).ln();
            for (j, v) in row.iter().enumerate() {
                feature_log_prob[[i, j]] = v.ln() - total;
            }
        }
        // As scikit-learn: log(1 − exp(log p)).
        let neg_log_prob = feature_log_prob.mapv(|v: f64| (1.0 - v.exp()).ln());
        Ok(BernoulliNB {
            classes: t.classes,
            class_count: t.class_count,
            feature_count: t.feature_count,
            class_log_prior: t.class_log_prior,
            feature_log_prob,
            neg_log_prob,
            params,
            counts,
        })
    }

    /// The params the model was fitted with.
    pub fn params(&self) -> &BernoulliNBValidParams {
        &self.params
    }

    /// The joint log-likelihood of each row and class:
    /// `log P(c) + Σ_j [x_j log P(j | c) + (1 − x_j) log(1 − P(j | c))]`, on binarised `x`.
    pub fn joint_log_likelihood<F: Float>(&self, x: ArrayView2<'_, F>) -> rask_ml::Result<Array2<f64>> {
        let w = &self.feature_log_prob - &self.neg_log_prob;
        let b = &self.class_log_prior + &self.neg_log_prob.sum_axis(ndarray::Axis(1));
        linear_jll(x, &w, &b, self.params.binarize)
    }
}

fn op(params: &BernoulliNBValidParams) -> BlockClassCounts {
    BlockClassCounts { binarize: params.binarize, non_negative: false, who: "BernoulliNB".into() }
}

impl<F: Float> Fit<ChunkedDataset<F, i64>> for BernoulliNBParams {
    type Model = BernoulliNB;
    type Error = BernoulliNBError;

    fn fit(&self, data: &ChunkedDataset<F, i64>) -> Result<BernoulliNB, BernoulliNBError> {
        let params = self.check_ref()?.clone();
        let counts = batch_counts(&params.common, data, op(&params))?;
        BernoulliNB::from_counts(params, counts)
    }
}

impl<F: Float> PartialFit<ChunkedDataset<F, i64>> for BernoulliNBParams {
    type Model = BernoulliNB;
    type Error = BernoulliNBError;

    fn partial_fit(
        &self,
        model: Option<BernoulliNB>,
        data: &ChunkedDataset<F, i64>,
    ) -> Result<BernoulliNB, BernoulliNBError> {
        let params = self.check_ref()?.clone();
        if params.common.classes.is_none() {
            return Err(BernoulliNBError::PartialFitNeedsClasses);
        }
        let batch = batch_counts(&params.common, data, op(&params))?;
        let counts = add_counts(model.map(|m| m.counts), batch)?;
        BernoulliNB::from_counts(params, counts)
    }
}

impl BlockModel for BernoulliNB {
    const APPLY_OP: &'static str = "rask.estimators.bernoulli_nb.apply";
    const KIND: ModelKind = ModelKind::Classifier;
    type Label = i64;

    fn validate_model(&self) -> rask_ml::Result<()> {
        const M: &str = "BernoulliNB";
        crate::naive_bayes::validate_count_nb(
            M,
            self.classes.len(),
            &self.class_count,
            &self.class_log_prior,
            &self.feature_log_prob,
            &[("feature_count", &self.feature_count), ("the negated log probabilities", &self.neg_log_prob)],
        )?;
        rask_ml::persist::check_model_finite(M, "the negated log probabilities", self.neg_log_prob.iter())
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

rask_ml::estimator!(BernoulliNBParams => BernoulliNB, name = "BernoulliNB", ops = "rask.estimators.bernoulli_nb", kind = Classifier, targets = labels, partial_fit = yes);
