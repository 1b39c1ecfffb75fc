//! The block ops of the count-based naive Bayes classifiers: per-class weighted feature sums,
//! merged in block order. BernoulliNB uses them too, on binarised features.

use rask_core::{op_bail, op_ensure};
use rask_ml::with_block;
use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rask_core::{Op, OpError, Value};
use rask_ml::Float;
use serde::{Deserialize, Serialize};

/// The total weight of a class and its weighted feature sums.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassCount {
    /// Total weight (rows, when unweighted).
    pub weight: f64,
    /// Weighted sum of each feature.
    pub counts: Vec<f64>,
}

/// Per-class feature counts of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// Number of features.
    pub n_features: usize,
    /// Counts per class label.
    pub classes: BTreeMap<i64, ClassCount>,
}

impl ClassCounts {
    pub(crate) fn merge(&mut self, o: &ClassCounts) -> Result<(), OpError> {
        op_ensure!(
            o.n_features == self.n_features,
            "cannot merge class counts of {} and {} features",
            self.n_features,
            o.n_features
        );
        for (c, m) in &o.classes {
            let e = self
                .classes
                .entry(*c)
                .or_insert_with(|| ClassCount { weight: 0.0, counts: vec![0.0; self.n_features] });
            e.weight += m.weight;
            for (a, b) in e.counts.iter_mut().zip(&m.counts) {
                *a += b;
            }
        }
        Ok(())
    }
}

/// Per-class feature sums of one (x, y[, weights]) block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockClassCounts {
    /// Features above this become 1, the others 0 (BernoulliNB); `None` keeps them.
    pub binarize: Option<f64>,
    /// Whether negative features are an error (MultinomialNB).
    pub non_negative: bool,
    /// The estimator, for error messages.
    pub who: String,
}

/// Binarises `v` at `threshold` (as scikit-learn's `binarize`: strictly above becomes 1).
pub(crate) fn binarize(v: f64, threshold: Option<f64>) -> f64 {
    match threshold {
        Some(t) => f64::from(u8::from(v > t)),
        None => v,
    }
}

fn block_counts<F: Float>(
    op: &BlockClassCounts,
    x: &Array2<F>,
    y: &Array1<i64>,
    w: Option<&Array1<f64>>,
) -> Result<ClassCounts, OpError> {
    let d = x.ncols();
    op_ensure!(y.len() == x.nrows(), "x block has {} rows, y block {}", x.nrows(), y.len());
    if let Some(w) = w {
        op_ensure!(w.len() == x.nrows(), "x block has {} rows, weight block {}", x.nrows(), w.len());
    }
    let mut out = ClassCounts { n_features: d, classes: BTreeMap::new() };
    for (i, r) in x.rows().into_iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        op_ensure!(wi.is_finite() && wi >= 0.0, "sample weight {wi} is negative or not finite");
        let e = out.classes.entry(y[i]).or_insert_with(|| ClassCount { weight: 0.0, counts: vec![0.0; d] });
        e.weight += wi;
        for (j, (c, &v)) in e.counts.iter_mut().zip(r.iter()).enumerate() {
            let v = v.widen();
            op_ensure!(
                v.is_finite(),
                "x contains NaN or infinite values (row {i} of the block, column {j} holds {v}); {} needs \
                     finite features: impute missing values first (e.g. a SimpleImputer step) or drop those rows",
                op.who
            );
            if op.non_negative && v < 0.0 {
                op_bail!("negative values in x; {} needs counts (x >= 0)", op.who);
            }
            *c += wi * binarize(v, op.binarize);
        }
    }
    Ok(out)
}

impl Op for BlockClassCounts {
    const NAME: &'static str = "rask.estimators.count_nb.class_counts";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        op_ensure!(inputs.len() == 2 || inputs.len() == 3, "{} takes 2 or 3 inputs, got {}", Self::NAME, inputs.len());
        let y = inputs[1].get::<Array1<i64>>()?;
        let w = inputs.get(2).map(|w| w.get::<Array1<f64>>()).transpose()?;
        let v = &inputs[0];
        let s = with_block!(v, |x| block_counts(self, x, y, w)?);
        Ok(Value::new(s))
    }
}

/// Merges [`ClassCounts`] in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeClassCounts;

impl Op for MergeClassCounts {
    const NAME: &'static str = "rask.estimators.count_nb.merge_class_counts";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<ClassCounts>()?.clone();
        for v in rest {
            acc.merge(v.get::<ClassCounts>()?)?;
        }
        Ok(Value::new(acc))
    }
}
