//! Metrics: classification, regression and clustering scores, pairwise distances, and named
//! scorers.
//!
//! Every score has an in-memory form (on array views) and, where the score is a sum over rows,
//! a chunked form that reduces per-block partial results through the task graph
//! ([`regression_partials`], [`confusion_partials`]), so scoring a prediction over data larger
//! than memory streams block by block. Formulas and edge cases follow scikit-learn's.

use crate::with_block;
use rask_core::{op_bail, op_ensure};
use std::collections::BTreeMap;

use ndarray::parallel::prelude::{IntoParallelIterator, ParallelIterator};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use crate::chunked::{ChunkedArray, ChunkedDataset, ChunkedVector, Element, Lazy};
use crate::error::{MlError, Result};
use crate::float::Float;
use crate::traits::{BlockModel, ModelKind, Predict, Score};

fn invalid(name: &'static str, message: impl Into<String>) -> MlError {
    MlError::InvalidParameter { name, message: message.into() }
}

fn check_same_len(a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(MlError::ShapeMismatch {
            what: "length of y_pred (length of y_true)".into(),
            expected: a,
            found: b,
        });
    }
    if a == 0 {
        return Err(invalid("y_true", "cannot score on no rows"));
    }
    Ok(())
}

fn check_weights(w: Option<ArrayView1<'_, f64>>, n: usize) -> Result<()> {
    if let Some(w) = w {
        if w.len() != n {
            return Err(MlError::ShapeMismatch {
                what: "length of sample weights".into(),
                expected: n,
                found: w.len(),
            });
        }
        if w.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(invalid("sample_weight", "weights must be finite and non-negative"));
        }
        if w.sum() <= 0.0 {
            return Err(invalid("sample_weight", "weights sum to zero"));
        }
    }
    Ok(())
}

// --- Classification ------------------------------------------------------------------------

/// The share of rows whose label is predicted exactly.
pub fn accuracy_score<Y: Element>(y_true: ArrayView1<'_, Y>, y_pred: ArrayView1<'_, Y>) -> Result<f64> {
    check_same_len(y_true.len(), y_pred.len())?;
    Ok(y_true.iter().zip(y_pred.iter()).filter(|(a, b)| a == b).count() as f64 / y_true.len() as f64)
}

/// A confusion matrix over the sorted union of the labels seen: `matrix[i][j]` counts rows of
/// true class `labels[i]` predicted as `labels[j]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// The labels, sorted.
    pub labels: Vec<i64>,
    /// Counts, `labels.len() × labels.len()`.
    pub matrix: Array2<u64>,
}

/// Sparse confusion counts: the mergeable partial result of chunked classification metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfusionCounts {
    /// `(true, predicted) → count`.
    pub counts: BTreeMap<(i64, i64), u64>,
}

impl ConfusionCounts {
    fn add(&mut self, t: i64, p: i64) {
        *self.counts.entry((t, p)).or_insert(0) += 1;
    }

    fn merge(&mut self, other: &ConfusionCounts) {
        for (k, v) in &other.counts {
            *self.counts.entry(*k).or_insert(0) += v;
        }
    }

    /// The dense matrix.
    pub fn to_matrix(&self) -> ConfusionMatrix {
        let mut labels: Vec<i64> = self.counts.keys().flat_map(|&(t, p)| [t, p]).collect();
        labels.sort_unstable();
        labels.dedup();
        let index = |l: i64| labels.binary_search(&l).unwrap_or(0);
        let mut matrix = Array2::zeros((labels.len(), labels.len()));
        for (&(t, p), &c) in &self.counts {
            matrix[[index(t), index(p)]] += c;
        }
        ConfusionMatrix { labels, matrix }
    }
}

/// The confusion matrix of integer labels.
pub fn confusion_matrix(y_true: ArrayView1<'_, i64>, y_pred: ArrayView1<'_, i64>) -> Result<ConfusionMatrix> {
    check_same_len(y_true.len(), y_pred.len())?;
    let mut c = ConfusionCounts::default();
    for (&t, &p) in y_true.iter().zip(y_pred.iter()) {
        c.add(t, p);
    }
    Ok(c.to_matrix())
}

/// How per-class precision, recall and F1 are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Average {
    /// The score of the positive class only (binary problems).
    Binary {
        /// The positive label.
        pos_label: i64,
    },
    /// Global counts of true positives, false positives and false negatives.
    Micro,
    /// The unweighted mean of the per-class scores.
    Macro,
    /// The mean of the per-class scores weighted by each class's true count.
    Weighted,
}

/// Precision, recall and F1 under one averaging.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecallF1 {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1.
    pub f1: f64,
}

fn ratio(num: f64, den: f64) -> f64 {
    // scikit-learn's `zero_division="warn"` yields 0 for an undefined ratio.
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

impl ConfusionMatrix {
    /// Accuracy: the diagonal over the total.
    pub fn accuracy(&self) -> f64 {
        let total: u64 = self.matrix.sum();
        ratio(self.matrix.diag().sum() as f64, total as f64)
    }

    /// Precision, recall and F1 averaged as `average` asks.
    pub fn precision_recall_f1(&self, average: Average) -> Result<PrecisionRecallF1> {
        let k = self.labels.len();
        let tp: Vec<f64> = (0..k).map(|i| self.matrix[[i, i]] as f64).collect();
        let pred: Vec<f64> = (0..k).map(|j| self.matrix.column(j).sum() as f64).collect();
        let truth: Vec<f64> = (0..k).map(|i| self.matrix.row(i).sum() as f64).collect();
        let f1 = |p: f64, r: f64| ratio(2.0 * p * r, p + r);
        match average {
            Average::Binary { pos_label } => {
                if k > 2 {
                    return Err(invalid(
                        "average",
                        format!("binary averaging needs at most 2 labels, found {k}; use micro, macro or weighted"),
                    ));
                }
                let Ok(i) = self.labels.binary_search(&pos_label) else {
                    if k < 2 {
                        // As scikit-learn: with one label seen and it is not the positive one,
                        // nothing is a true positive.
                        return Ok(PrecisionRecallF1 { precision: 0.0, recall: 0.0, f1: 0.0 });
                    }
                    return Err(invalid("pos_label", format!("{pos_label} is not among the labels {:?}", self.labels)));
                };
                let (p, r) = (ratio(tp[i], pred[i]), ratio(tp[i], truth[i]));
                Ok(PrecisionRecallF1 { precision: p, recall: r, f1: f1(p, r) })
            }
            Average::Micro => {
                let (t, pr, tr) = (tp.iter().sum::<f64>(), pred.iter().sum::<f64>(), truth.iter().sum::<f64>());
                let (p, r) = (ratio(t, pr), ratio(t, tr));
                Ok(PrecisionRecallF1 { precision: p, recall: r, f1: f1(p, r) })
            }
            Average::Macro | Average::Weighted => {
                let weights: Vec<f64> = if average == Average::Macro { vec![1.0; k] } else { truth.clone() };
                let wsum: f64 = weights.iter().sum();
                let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
                for i in 0..k {
                    let (pi, ri) = (ratio(tp[i], pred[i]), ratio(tp[i], truth[i]));
                    p += weights[i] * pi;
                    r += weights[i] * ri;
                    f += weights[i] * f1(pi, ri);
                }
                Ok(PrecisionRecallF1 { precision: ratio(p, wsum), recall: ratio(r, wsum), f1: ratio(f, wsum) })
            }
        }
    }
}

/// Precision, recall and F1 of integer labels.
pub fn precision_recall_f1(
    y_true: ArrayView1<'_, i64>,
    y_pred: ArrayView1<'_, i64>,
    average: Average,
) -> Result<PrecisionRecallF1> {
    confusion_matrix(y_true, y_pred)?.precision_recall_f1(average)
}

/// The mean negative log-likelihood of the true labels under `proba` (`n × n_classes`, columns
/// in the order of `classes`); probabilities are clipped to `[ε, 1 − ε]` with ε the `f64`
/// machine epsilon, as scikit-learn 1.6 does (rows are not renormalised).
pub fn log_loss(y_true: ArrayView1<'_, i64>, proba: ArrayView2<'_, f64>, classes: &[i64]) -> Result<f64> {
    check_same_len(y_true.len(), proba.nrows())?;
    if proba.ncols() != classes.len() {
        return Err(MlError::ShapeMismatch {
            what: "columns of proba (number of classes)".into(),
            expected: classes.len(),
            found: proba.ncols(),
        });
    }
    if proba.iter().any(|p| !p.is_finite()) {
        return Err(MlError::NonFinite { what: "proba".into() });
    }
    let eps = f64::EPSILON;
    let mut total = 0.0;
    for (t, row) in y_true.iter().zip(proba.rows()) {
        let Some(j) = classes.iter().position(|c| c == t) else {
            return Err(invalid("y_true", format!("label {t} is not among the classes {classes:?}")));
        };
        total -= row[j].clamp(eps, 1.0 - eps).ln();
    }
    Ok(total / y_true.len() as f64)
}

/// The area under the ROC curve of a binary problem: `y_true` holds two distinct labels, the
/// larger one positive; `scores` rank rows by how positive they are. Ties count one half
/// (the Mann–Whitney statistic), which equals scikit-learn's trapezoidal area.
pub fn roc_auc_score(y_true: ArrayView1<'_, i64>, scores: ArrayView1<'_, f64>) -> Result<f64> {
    check_same_len(y_true.len(), scores.len())?;
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(MlError::NonFinite { what: "scores".into() });
    }
    let mut labels: Vec<i64> = y_true.to_vec();
    labels.sort_unstable();
    labels.dedup();
    if labels.len() != 2 {
        return Err(invalid(
            "y_true",
            format!("ROC AUC needs exactly two classes, found {} ({labels:?})", labels.len()),
        ));
    }
    let pos = labels[1];
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Average ranks over ties, then the Mann–Whitney U of the positives.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &r in &idx[i..=j] {
            if y_true[r] == pos {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let n_pos = y_true.iter().filter(|&&t| t == pos).count() as f64;
    let n_neg = y_true.len() as f64 - n_pos;
    Ok((rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

// --- Regression ------------------------------------------------------------------------------

/// Mergeable sums for regression metrics over (possibly weighted) rows. `mean`/`m2` are the
/// weighted mean and sum of squared deviations of `y_true` (merged with Chan's formula, so R²
/// stays accurate when the targets have a large offset).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionPartials {
    /// Sum of weights (rows when unweighted).
    pub weight: f64,
    /// Weighted mean of `y_true`.
    pub mean: f64,
    /// Weighted sum of squared deviations of `y_true` from `mean`.
    pub m2: f64,
    /// Weighted sum of squared residuals.
    pub sq: f64,
    /// Weighted sum of absolute residuals.
    pub abs: f64,
    /// Weighted sum of absolute percentage errors.
    pub ape: f64,
    /// Weighted sum of squared log errors; NaN once a negative value was seen.
    pub sle: f64,
}

impl RegressionPartials {
    fn push(&mut self, t: f64, p: f64, w: f64) {
        if w == 0.0 {
            return;
        }
        let new_weight = self.weight + w;
        let delta = t - self.mean;
        self.mean += delta * w / new_weight;
        self.m2 += w * delta * (t - self.mean);
        self.weight = new_weight;
        let r = t - p;
        self.sq += w * r * r;
        self.abs += w * r.abs();
        // scikit-learn divides by max(|y|, ε) with ε the machine epsilon.
        self.ape += w * r.abs() / t.abs().max(f64::EPSILON);
        // scikit-learn 1.6 accepts any value above -1 (log1p is defined there).
        self.sle += if t <= -1.0 || p <= -1.0 { f64::NAN } else { w * (t.ln_1p() - p.ln_1p()).powi(2) };
    }

    /// Adds another set of partial sums (Chan et al.'s parallel update for the variance).
    pub fn merge(&mut self, o: &RegressionPartials) {
        if o.weight == 0.0 {
            return;
        }
        if self.weight == 0.0 {
            *self = *o;
            return;
        }
        let w = self.weight + o.weight;
        let delta = o.mean - self.mean;
        self.m2 += o.m2 + delta * delta * self.weight * o.weight / w;
        self.mean += delta * o.weight / w;
        self.weight = w;
        self.sq += o.sq;
        self.abs += o.abs;
        self.ape += o.ape;
        self.sle += o.sle;
    }

    /// Checks the merged sums describe something to score: some rows, some weight.
    pub fn check(&self) -> Result<()> {
        if self.weight <= 0.0 {
            return Err(invalid("y_true", "cannot score on no rows (or rows that all weigh zero)"));
        }
        Ok(())
    }

    /// Mean squared error.
    pub fn mse(&self) -> f64 {
        self.sq / self.weight
    }
    /// Mean absolute error.
    pub fn mae(&self) -> f64 {
        self.abs / self.weight
    }
    /// Mean absolute percentage error (a fraction, not a percentage, as in scikit-learn).
    pub fn mape(&self) -> f64 {
        self.ape / self.weight
    }
    /// Mean squared logarithmic error, or an error if a value was negative.
    pub fn msle(&self) -> Result<f64> {
        if self.sle.is_nan() {
            return Err(invalid("y", "mean squared log error needs targets and predictions above -1"));
        }
        Ok(self.sle / self.weight)
    }
    /// R², the coefficient of determination: 1 for a perfect fit; for constant targets, 1 if
    /// the fit is perfect and 0 otherwise (scikit-learn's convention).
    pub fn r2(&self) -> f64 {
        if self.m2 == 0.0 {
            if self.sq == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - self.sq / self.m2
        }
    }
}

/// The regression partial sums of in-memory targets and predictions.
pub fn regression_summary(
    y_true: ArrayView1<'_, f64>,
    y_pred: ArrayView1<'_, f64>,
    weights: Option<ArrayView1<'_, f64>>,
) -> Result<RegressionPartials> {
    check_same_len(y_true.len(), y_pred.len())?;
    check_weights(weights, y_true.len())?;
    if y_true.iter().chain(y_pred.iter()).any(|v| !v.is_finite()) {
        return Err(MlError::NonFinite { what: "y_true or y_pred".into() });
    }
    let mut s = RegressionPartials::default();
    for (i, (&t, &p)) in y_true.iter().zip(y_pred.iter()).enumerate() {
        s.push(t, p, weights.map_or(1.0, |w| w[i]));
    }
    Ok(s)
}

/// Mean squared error.
pub fn mean_squared_error(y_true: ArrayView1<'_, f64>, y_pred: ArrayView1<'_, f64>) -> Result<f64> {
    Ok(regression_summary(y_true, y_pred, None)?.mse())
}

/// Mean absolute error.
pub fn mean_absolute_error(y_true: ArrayView1<'_, f64>, y_pred: ArrayView1<'_, f64>) -> Result<f64> {
    Ok(regression_summary(y_true, y_pred, None)?.mae())
}

/// Mean absolute percentage error, as a fraction.
pub fn mean_absolute_percentage_error(y_true: ArrayView1<'_, f64>, y_pred: ArrayView1<'_, f64>) -> Result<f64> {
    Ok(regression_summary(y_true, y_pred, None)?.mape())
}

/// Mean squared logarithmic error.
pub fn mean_squared_log_error(y_true: ArrayView1<'_, f64>, y_pred: ArrayView1<'_, f64>) -> Result<f64> {
    regression_summary(y_true, y_pred, None)?.msle()
}

/// R², the coefficient of determination.
pub fn r2_score(y_true: ArrayView1<'_, f64>, y_pred: ArrayView1<'_, f64>) -> Result<f64> {
    Ok(regression_summary(y_true, y_pred, None)?.r2())
}

// --- Chunked reductions ------------------------------------------------------------------------

/// Per-block [`RegressionPartials`] of a (y_true, y_pred) block pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockRegressionPartials;

fn as_f64_vec(v: &Value, what: &str) -> std::result::Result<Vec<f64>, OpError> {
    if let Some(a) = v.downcast_ref::<Array1<f64>>() {
        Ok(a.to_vec())
    } else if let Some(a) = v.downcast_ref::<Array1<f32>>() {
        Ok(a.iter().map(|&x| f64::from(x)).collect())
    } else if let Some(a) = v.downcast_ref::<Array1<i64>>() {
        Ok(a.iter().map(|&x| x as f64).collect())
    } else {
        Err(OpError::new(format!("{what}: expected a vector block, found `{}`", v.type_name())))
    }
}

impl Op for BlockRegressionPartials {
    const NAME: &'static str = "rask.ml.metrics.regression_partials";
    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        op_ensure!(inputs.len() == 2 || inputs.len() == 3, "{} takes 2 or 3 inputs, got {}", Self::NAME, inputs.len());
        let t = as_f64_vec(&inputs[0], "y_true")?;
        let p = as_f64_vec(&inputs[1], "y_pred")?;
        let w = inputs.get(2).map(|w| as_f64_vec(w, "weights")).transpose()?;
        // Only per-row rules here: a block may be empty, or weigh nothing, while the data as a
        // whole does not; `RegressionPartials::check` judges the merged sums.
        if t.len() != p.len() || w.as_ref().is_some_and(|w| w.len() != t.len()) {
            op_bail!("y_true, y_pred and weight blocks differ in length ({}, {})", t.len(), p.len());
        }
        let mut s = RegressionPartials::default();
        for i in 0..t.len() {
            let wi = w.as_ref().map_or(1.0, |w| w[i]);
            if !t[i].is_finite() || !p[i].is_finite() {
                return Err(OpError::new("y_true or y_pred contains NaN or infinite values"));
            }
            op_ensure!(wi.is_finite() && wi >= 0.0, "sample weight {wi} is negative or not finite");
            s.push(t[i], p[i], wi);
        }
        Ok(Value::new(s))
    }
}

/// Merges [`RegressionPartials`] in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeRegressionPartials;

impl Op for MergeRegressionPartials {
    const NAME: &'static str = "rask.ml.metrics.merge_regression_partials";
    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let mut acc = RegressionPartials::default();
        for v in inputs {
            acc.merge(v.get::<RegressionPartials>()?);
        }
        Ok(Value::new(acc))
    }
}

/// Per-block [`ConfusionCounts`] of a (y_true, y_pred) pair of `i64` blocks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockConfusion;

impl Op for BlockConfusion {
    const NAME: &'static str = "rask.ml.metrics.confusion_counts";
    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let t = inputs[0].get::<Array1<i64>>()?;
        let p = inputs[1].get::<Array1<i64>>()?;
        op_ensure!(t.len() == p.len(), "y_true block has {} rows, y_pred block {}", t.len(), p.len());
        let mut c = ConfusionCounts::default();
        for (&a, &b) in t.iter().zip(p.iter()) {
            c.add(a, b);
        }
        Ok(Value::new(c))
    }
}

/// Merges [`ConfusionCounts`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeConfusion;

impl Op for MergeConfusion {
    const NAME: &'static str = "rask.ml.metrics.merge_confusion_counts";
    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        let mut acc = ConfusionCounts::default();
        for v in inputs {
            acc.merge(v.get::<ConfusionCounts>()?);
        }
        Ok(Value::new(acc))
    }
}

/// Fan-in of the metric reductions.
const SPLIT_EVERY: usize = 16;

/// Lazy regression partial sums of chunked targets and predictions (aligned block for block),
/// optionally weighted.
pub fn regression_partials<T: Element, P: Element>(
    y_true: &ChunkedVector<T>,
    y_pred: &ChunkedVector<P>,
    weights: Option<&ChunkedVector<f64>>,
) -> Result<Lazy<RegressionPartials>> {
    if y_true.chunks() != y_pred.chunks() {
        return Err(MlError::MisalignedChunks { left: y_true.chunks().clone(), right: y_pred.chunks().clone() });
    }
    let mut others = vec![y_pred.block_layer()];
    if let Some(w) = weights {
        if w.chunks() != y_true.chunks() {
            return Err(MlError::MisalignedChunks { left: y_true.chunks().clone(), right: w.chunks().clone() });
        }
        others.push(w.block_layer());
    }
    let (layers, key) =
        y_true.block_layer().reduce(&others, BlockRegressionPartials, MergeRegressionPartials, SPLIT_EVERY)?;
    Ok(Lazy::new(layers, key))
}

/// Lazy confusion counts of chunked integer labels.
pub fn confusion_partials(y_true: &ChunkedVector<i64>, y_pred: &ChunkedVector<i64>) -> Result<Lazy<ConfusionCounts>> {
    if y_true.chunks() != y_pred.chunks() {
        return Err(MlError::MisalignedChunks { left: y_true.chunks().clone(), right: y_pred.chunks().clone() });
    }
    let (layers, key) =
        y_true.block_layer().reduce(&[y_pred.block_layer()], BlockConfusion, MergeConfusion, SPLIT_EVERY)?;
    Ok(Lazy::new(layers, key))
}

// --- Pairwise distances ------------------------------------------------------------------------

/// A distance between rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Distance {
    /// Euclidean.
    Euclidean,
    /// Squared Euclidean.
    SqEuclidean,
    /// Manhattan (L1).
    Manhattan,
    /// Cosine distance, `1 − cos`; a zero row has distance 1 to everything (scikit-learn
    /// treats its norm as 1).
    Cosine,
}

fn distance(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>, d: Distance) -> f64 {
    match d {
        Distance::Euclidean => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt(),
        Distance::SqEuclidean => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
        Distance::Manhattan => a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).sum(),
        Distance::Cosine => {
            let dot: f64 = a.dot(&b);
            let na = a.dot(&a).sqrt();
            let nb = b.dot(&b).sqrt();
            let na = if na == 0.0 { 1.0 } else { na };
            let nb = if nb == 0.0 { 1.0 } else { nb };
            1.0 - dot / (na * nb)
        }
    }
}

/// The `a.nrows() × b.nrows()` matrix of distances between the rows of `a` and of `b`.
pub fn pairwise_distances<F: Float>(a: ArrayView2<'_, F>, b: ArrayView2<'_, f64>, d: Distance) -> Result<Array2<f64>> {
    if a.ncols() != b.ncols() {
        return Err(MlError::ShapeMismatch { what: "columns of b".into(), expected: a.ncols(), found: b.ncols() });
    }
    let mut out = Array2::zeros((a.nrows(), b.nrows()));
    let mut row = Array1::zeros(a.ncols());
    for (i, r) in a.rows().into_iter().enumerate() {
        row.iter_mut().zip(r.iter()).for_each(|(dst, &x)| *dst = x.widen());
        for (j, c) in b.rows().into_iter().enumerate() {
            out[[i, j]] = distance(row.view(), c, d);
        }
    }
    Ok(out)
}

/// For each row of `a`, the index of the nearest row of `b` and the distance to it (ties go to
/// the lowest index).
pub fn argmin_min<F: Float>(
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, f64>,
    d: Distance,
) -> Result<(Array1<i64>, Array1<f64>)> {
    if b.nrows() == 0 {
        return Err(invalid("b", "needs at least one row"));
    }
    let dist = pairwise_distances(a, b, d)?;
    let mut idx = Array1::zeros(a.nrows());
    let mut min = Array1::zeros(a.nrows());
    for (i, r) in dist.axis_iter(Axis(0)).enumerate() {
        let (j, v) = r.iter().enumerate().fold((0, f64::INFINITY), |acc, (j, &v)| if v < acc.1 { (j, v) } else { acc });
        idx[i] = j as i64;
        min[i] = v;
    }
    Ok((idx, min))
}

/// The op behind [`argmin_min_chunked`]: nearest of `b` for each row of a block, as two
/// columns (index, distance).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArgminMinBlock {
    /// The candidate rows.
    pub b: Array2<f64>,
    /// The distance.
    pub distance: Distance,
}

impl Op for ArgminMinBlock {
    const NAME: &'static str = "rask.ml.metrics.argmin_min";
    fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let v = &inputs[0];
        let r = with_block!(v, |a| argmin_min(a.view(), self.b.view(), self.distance));
        let (idx, min) = r.map_err(|e| OpError::new(e.to_string()))?;
        let mut out = Array2::zeros((idx.len(), 2));
        for i in 0..idx.len() {
            out[[i, 0]] = idx[i] as f64;
            out[[i, 1]] = min[i];
        }
        Ok(Value::new(out))
    }
}

/// Lazy [`argmin_min`] over a chunked array: a two-column chunked array of (index, distance).
pub fn argmin_min_chunked<F: Float>(a: &ChunkedArray<F>, b: &Array2<f64>, d: Distance) -> Result<ChunkedArray<f64>> {
    if a.n_cols() != b.ncols() {
        return Err(MlError::ShapeMismatch { what: "columns of b".into(), expected: a.n_cols(), found: b.ncols() });
    }
    if b.nrows() == 0 {
        return Err(invalid("b", "needs at least one row"));
    }
    a.map_blocks(ArgminMinBlock { b: b.clone(), distance: d }, 2)
}

// --- Clustering --------------------------------------------------------------------------------

/// Rows per tile of [`silhouette_score`]: each task measures a tile of rows against every row.
const SILHOUETTE_TILE: usize = 64;

/// The mean silhouette coefficient of a clustering, with Euclidean distances, as scikit-learn's
/// `silhouette_score`.
///
/// For row `i`, `a(i)` is its mean distance to the other rows of its own cluster and `b(i)` the
/// smallest, over the other clusters, of its mean distance to that cluster's rows;
/// `s(i) = (b − a) / max(a, b)`, and `s(i) = 0` for a row alone in its cluster (or when
/// `a = b = 0`). The score is the mean of `s` over all rows.
///
/// The cost is quadratic in the rows: tiles of rows are measured against every row in
/// parallel (rayon), summing distances per cluster, so the `n × n` distance matrix is never
/// formed. Distances are computed from differences in `f64` (not from norms and dot
/// products), and the mean is taken in row order, so the result does not depend on the
/// thread count.
///
/// Errors: `labels` not as long as `x` has rows, NaN or infinite features, or a number of
/// distinct labels outside `2..=n_rows − 1`.
pub fn silhouette_score<F: Float>(x: ArrayView2<'_, F>, labels: ArrayView1<'_, i64>) -> Result<f64> {
    let n = x.nrows();
    if labels.len() != n {
        return Err(MlError::ShapeMismatch {
            what: "number of labels (rows of x)".into(),
            expected: n,
            found: labels.len(),
        });
    }
    if x.iter().any(|v| !v.widen().is_finite()) {
        return Err(MlError::NonFinite { what: "x".into() });
    }
    let mut distinct: Vec<i64> = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let k = distinct.len();
    if k < 2 || k + 1 > n {
        return Err(invalid(
            "labels",
            format!("Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)"),
        ));
    }
    // Every label is in `distinct`, so the search always succeeds.
    let code: Vec<usize> = labels.iter().map(|l| distinct.binary_search(l).unwrap_or(0)).collect();
    let mut sizes = vec![0usize; k];
    for &c in &code {
        sizes[c] += 1;
    }
    // Row-major f64 copy: each tile streams over every row once.
    let xs: Array2<f64> = x.mapv(|v| v.widen());
    let xs = xs.as_standard_layout();
    let d = xs.ncols();
    let flat = xs.as_slice().ok_or_else(|| invalid("x", "could not lay out the features"))?;
    let row = |i: usize| &flat[i * d..(i + 1) * d];
    let n_tiles = n.div_ceil(SILHOUETTE_TILE);
    let per_tile: Vec<Vec<f64>> = (0..n_tiles)
        .into_par_iter()
        .map(|t| {
            let lo = t * SILHOUETTE_TILE;
            let hi = (lo + SILHOUETTE_TILE).min(n);
            // sums[(i - lo) * k + c]: distance of row i to the rows of cluster c.
            let mut sums = vec![0.0f64; (hi - lo) * k];
            for (j, &cj) in code.iter().enumerate() {
                let rj = row(j);
                for i in lo..hi {
                    let ri = row(i);
                    let sq: f64 = ri.iter().zip(rj).map(|(a, b)| (a - b) * (a - b)).sum();
                    sums[(i - lo) * k + cj] += sq.sqrt();
                }
            }
            (lo..hi)
                .map(|i| {
                    let own = code[i];
                    if sizes[own] == 1 {
                        return 0.0;
                    }
                    let s = &sums[(i - lo) * k..(i - lo + 1) * k];
                    let a = s[own] / (sizes[own] - 1) as f64;
                    let b = (0..k).filter(|&c| c != own).map(|c| s[c] / sizes[c] as f64).fold(f64::INFINITY, f64::min);
                    let m = a.max(b);
                    // scikit-learn turns 0 / 0 (all distances zero) into 0.
                    if m > 0.0 {
                        (b - a) / m
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let total: f64 = per_tile.iter().flatten().sum();
    Ok(total / n as f64)
}

// --- Scorers -----------------------------------------------------------------------------------

/// A named score for model selection; higher is always better (losses are negated, as in
/// scikit-learn's scorer names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scorer {
    /// `accuracy`.
    Accuracy,
    /// `f1` (binary, label 1 positive, as scikit-learn).
    F1,
    /// `f1_macro`.
    F1Macro,
    /// `f1_weighted`.
    F1Weighted,
    /// `precision` (binary, label 1 positive).
    Precision,
    /// `recall` (binary, label 1 positive).
    Recall,
    /// `r2`.
    R2,
    /// `neg_mean_squared_error`.
    NegMeanSquaredError,
    /// `neg_root_mean_squared_error`.
    NegRootMeanSquaredError,
    /// `neg_mean_absolute_error`.
    NegMeanAbsoluteError,
    /// `neg_mean_absolute_percentage_error`.
    NegMeanAbsolutePercentageError,
    /// `neg_mean_squared_log_error`.
    NegMeanSquaredLogError,
    /// `neg_log_loss`: the negated [`log_loss`] of predicted class probabilities.
    NegLogLoss,
    /// `roc_auc`: [`roc_auc_score`] of the second class's predicted probability (binary
    /// problems only).
    RocAuc,
    /// `silhouette`: the mean [`silhouette_score`] of a clustering; it needs the features and
    /// the cluster labels, not a target.
    Silhouette,
}

impl Scorer {
    /// Every scorer with its scikit-learn name.
    pub const ALL: &'static [(&'static str, Scorer)] = &[
        ("accuracy", Scorer::Accuracy),
        ("f1", Scorer::F1),
        ("f1_macro", Scorer::F1Macro),
        ("f1_weighted", Scorer::F1Weighted),
        ("precision", Scorer::Precision),
        ("recall", Scorer::Recall),
        ("r2", Scorer::R2),
        ("neg_mean_squared_error", Scorer::NegMeanSquaredError),
        ("neg_root_mean_squared_error", Scorer::NegRootMeanSquaredError),
        ("neg_mean_absolute_error", Scorer::NegMeanAbsoluteError),
        ("neg_mean_absolute_percentage_error", Scorer::NegMeanAbsolutePercentageError),
        ("neg_mean_squared_log_error", Scorer::NegMeanSquaredLogError),
        ("neg_log_loss", Scorer::NegLogLoss),
        ("roc_auc", Scorer::RocAuc),
        ("silhouette", Scorer::Silhouette),
    ];

    /// The scorer of a scikit-learn name, or an error listing the known names.
    pub fn from_name(name: &str) -> Result<Scorer> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| {
            let known: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            invalid("scoring", format!("unknown scorer `{name}`; known: {}", known.join(", ")))
        })
    }

    /// The scikit-learn name.
    pub fn name(self) -> &'static str {
        // Every variant is in ALL (see the `scorer_names_round_trip` test).
        Self::ALL.iter().find(|(_, s)| *s == self).map_or("unknown", |(n, _)| n)
    }

    /// Whether the scorer compares predicted class labels with the true ones (it scores a
    /// confusion matrix, [`from_confusion`](Self::from_confusion)). Probability scorers
    /// ([`needs_proba`](Self::needs_proba)) and clustering scorers
    /// ([`is_clustering`](Self::is_clustering)) are not; the remaining scorers compare real
    /// values ([`from_regression`](Self::from_regression)).
    pub fn is_classification(self) -> bool {
        matches!(
            self,
            Scorer::Accuracy | Scorer::F1 | Scorer::F1Macro | Scorer::F1Weighted | Scorer::Precision | Scorer::Recall
        )
    }

    /// Whether the scorer needs predicted class probabilities (`neg_log_loss`, `roc_auc`);
    /// score those with [`from_proba`](Self::from_proba).
    pub fn needs_proba(self) -> bool {
        matches!(self, Scorer::NegLogLoss | Scorer::RocAuc)
    }

    /// Whether the scorer judges a clustering from the features and cluster labels
    /// (`silhouette`); score it with [`silhouette_score`].
    pub fn is_clustering(self) -> bool {
        matches!(self, Scorer::Silhouette)
    }

    /// The error for a scorer used through the wrong entry point, saying which one to use.
    fn wrong_kind(self) -> MlError {
        let what = if self.is_clustering() {
            "a clustering score: it needs the features and the cluster labels (use `metrics::silhouette_score`)"
        } else if self.needs_proba() {
            "scored from predicted class probabilities (use `Scorer::from_proba`)"
        } else if self.is_classification() {
            "a classification scorer of predicted labels (use `Scorer::from_confusion`)"
        } else {
            "a regression scorer (use `Scorer::from_regression`)"
        };
        invalid("scoring", format!("`{}` is {what}", self.name()))
    }

    /// Scores a confusion matrix (classification scorers only).
    pub fn from_confusion(self, c: &ConfusionMatrix) -> Result<f64> {
        if !self.is_classification() {
            return Err(self.wrong_kind());
        }
        if c.matrix.sum() == 0 {
            return Err(invalid("y_true", "cannot score on no rows"));
        }
        // scikit-learn's binary scorers take label 1 as the positive class.
        let binary = || -> Result<Average> { Ok(Average::Binary { pos_label: 1 }) };
        Ok(match self {
            Scorer::Accuracy => c.accuracy(),
            Scorer::F1 => c.precision_recall_f1(binary()?)?.f1,
            Scorer::F1Macro => c.precision_recall_f1(Average::Macro)?.f1,
            Scorer::F1Weighted => c.precision_recall_f1(Average::Weighted)?.f1,
            Scorer::Precision => c.precision_recall_f1(binary()?)?.precision,
            Scorer::Recall => c.precision_recall_f1(binary()?)?.recall,
            other => return Err(other.wrong_kind()),
        })
    }

    /// Scores regression partial sums (regression scorers only).
    pub fn from_regression(self, r: &RegressionPartials) -> Result<f64> {
        if self.is_classification() || self.needs_proba() || self.is_clustering() {
            return Err(self.wrong_kind());
        }
        r.check()?;
        Ok(match self {
            Scorer::R2 => r.r2(),
            Scorer::NegMeanSquaredError => -r.mse(),
            Scorer::NegRootMeanSquaredError => -r.mse().sqrt(),
            Scorer::NegMeanAbsoluteError => -r.mae(),
            Scorer::NegMeanAbsolutePercentageError => -r.mape(),
            Scorer::NegMeanSquaredLogError => -r.msle()?,
            other => return Err(other.wrong_kind()),
        })
    }

    /// Scores predicted class probabilities (`neg_log_loss` and `roc_auc` only): `proba` is
    /// `n × classes.len()`, its columns in the order of `classes` (a fitted classifier's
    /// classes, sorted as scikit-learn's `classes_`).
    ///
    /// `neg_log_loss` is `−log_loss(y_true, proba, labels=classes)`. `roc_auc` is binary only,
    /// as scikit-learn's `roc_auc` scorer: the positive class is `classes[1]` and its
    /// probability column the score; `y_true` must hold both classes. Multiclass ROC AUC is
    /// scikit-learn's `roc_auc_ovr`, which is not offered.
    pub fn from_proba(self, y_true: ArrayView1<'_, i64>, proba: ArrayView2<'_, f64>, classes: &[i64]) -> Result<f64> {
        match self {
            Scorer::NegLogLoss => Ok(-log_loss(y_true, proba, classes)?),
            Scorer::RocAuc => {
                if classes.len() != 2 {
                    return Err(invalid(
                        "scoring",
                        format!(
                            "`roc_auc` is binary, and there are {} classes; multiclass ROC AUC is scikit-learn's \
                             `roc_auc_ovr`, which is not offered",
                            classes.len()
                        ),
                    ));
                }
                check_same_len(y_true.len(), proba.nrows())?;
                if proba.ncols() != 2 {
                    return Err(MlError::ShapeMismatch {
                        what: "columns of proba (number of classes)".into(),
                        expected: 2,
                        found: proba.ncols(),
                    });
                }
                // The positive class is `classes[1]` whatever the labels' order: relabel to 0 / 1.
                let positive = y_true
                    .iter()
                    .map(|&t| {
                        if t == classes[1] {
                            Ok(1)
                        } else if t == classes[0] {
                            Ok(0)
                        } else {
                            Err(invalid("y_true", format!("label {t} is not among the classes {classes:?}")))
                        }
                    })
                    .collect::<Result<Array1<i64>>>()?;
                roc_auc_score(positive.view(), proba.column(1))
            }
            other => Err(other.wrong_kind()),
        }
    }

    /// Scores a fitted classifier's predictions on chunked labelled data.
    pub fn score_labels(self, y_true: &ChunkedVector<i64>, y_pred: &ChunkedVector<i64>) -> Result<f64> {
        self.from_confusion(&confusion_partials(y_true, y_pred)?.compute()?.to_matrix())
    }

    /// Scores a fitted regressor's predictions on chunked data.
    pub fn score_values(self, y_true: &ChunkedVector<f64>, y_pred: &ChunkedVector<f64>) -> Result<f64> {
        self.from_regression(&regression_partials(y_true, y_pred, None)?.compute()?)
    }

    /// Scores a fitted model on a chunked labelled dataset, predicting lazily and reducing
    /// block by block.
    ///
    /// Label and regression scorers only: probability scorers need the model's classes (use
    /// [`from_proba`](Self::from_proba)), and `silhouette` the features and cluster labels
    /// (use [`silhouette_score`]).
    pub fn score<M: BlockModel, F: Float>(self, model: &M, data: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        if self.needs_proba() || self.is_clustering() {
            return Err(self.wrong_kind());
        }
        self.score_predictions(data, &model.predict(data.x())?)
    }

    /// Scores lazy predictions `pred` (aligned with `data`'s blocks) against `data`'s targets,
    /// reducing block by block. Label and regression scorers only.
    pub fn score_predictions<L: Element, F: Float>(
        self,
        data: &ChunkedDataset<F, L>,
        pred: &ChunkedVector<L>,
    ) -> Result<f64> {
        if self.needs_proba() || self.is_clustering() {
            return Err(self.wrong_kind());
        }
        let y = data.y_required("scoring")?;
        let any = |v: &ChunkedVector<L>| v.block_layer().clone();
        if self.is_classification() && data.weights().is_some() {
            return Err(MlError::Unsupported {
                what: format!(
                    "`{}` with sample weights (weighted classification scores are not implemented)",
                    self.name()
                ),
            });
        }
        if self.is_classification() {
            if L::DTYPE != "i64" {
                return Err(invalid("scoring", format!("`{}` needs integer class labels", self.name())));
            }
            self.score_labels(&ChunkedVector::from_block_layer(any(y)), &ChunkedVector::from_block_layer(any(pred)))
        } else {
            let mut others = vec![pred.block_layer()];
            if let Some(w) = data.weights() {
                others.push(w.block_layer());
            }
            let (layers, key) =
                y.block_layer().reduce(&others, BlockRegressionPartials, MergeRegressionPartials, SPLIT_EVERY)?;
            self.from_regression(&Lazy::<RegressionPartials>::new(layers, key).compute()?)
        }
    }
}

impl<M: BlockModel, F: Float> Score<ChunkedDataset<F, M::Label>> for M {
    fn score(&self, data: &ChunkedDataset<F, M::Label>) -> Result<f64> {
        match M::KIND {
            ModelKind::Classifier => Scorer::Accuracy.score(self, data),
            ModelKind::Regressor => Scorer::R2.score(self, data),
            ModelKind::Clusterer | ModelKind::Transformer => {
                Err(MlError::Unsupported { what: "this model has no default score".into() })
            }
        }
    }
}
