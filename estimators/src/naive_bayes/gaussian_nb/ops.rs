//! The block ops of Gaussian naive Bayes: per-class weighted moments, merged in block order.

use rask_core::op_ensure;
use rask_ml::with_block;
use std::collections::BTreeMap;

use ndarray::{Array1, Array2};
use rask_core::{Op, OpError, Value};
use rask_ml::Float;
use serde::{Deserialize, Serialize};

/// Weighted moments of a set of rows: total weight, per-feature mean and sum of squared
/// deviations (merged with Chan et al.'s parallel formula).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Total weight (rows, when unweighted).
    pub weight: f64,
    /// Per-feature weighted mean.
    pub mean: Vec<f64>,
    /// Per-feature weighted sum of squared deviations from the mean.
    pub m2: Vec<f64>,
}

impl Moments {
    fn new(d: usize) -> Self {
        Moments { weight: 0.0, mean: vec![0.0; d], m2: vec![0.0; d] }
    }

    fn push(&mut self, row: &[f64], w: f64) {
        if w == 0.0 {
            return;
        }
        self.weight += w;
        let r = w / self.weight;
        for ((m, s), &x) in self.mean.iter_mut().zip(self.m2.iter_mut()).zip(row) {
            let delta = x - *m;
            *m += delta * r;
            *s += w * delta * (x - *m);
        }
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &Moments) {
        if o.weight == 0.0 {
            return;
        }
        if self.weight == 0.0 {
            *self = o.clone();
            return;
        }
        let w = self.weight + o.weight;
        for j in 0..self.mean.len() {
            let delta = o.mean[j] - self.mean[j];
            self.m2[j] += o.m2[j] + delta * delta * self.weight * o.weight / w;
            self.mean[j] += delta * o.weight / w;
        }
        self.weight = w;
    }

    /// The weighted population variance per feature.
    pub fn var(&self) -> Vec<f64> {
        self.m2.iter().map(|s| s / self.weight).collect()
    }
}

/// Per-class moments of a batch, plus the unweighted moments of all its rows (scikit-learn
/// sizes the variance smoothing from the plain variance of the batch).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassStats {
    /// Number of features.
    pub n_features: usize,
    /// Moments per class label.
    pub classes: BTreeMap<i64, Moments>,
    /// Unweighted moments of every row.
    pub all: Moments,
}

impl ClassStats {
    pub(crate) fn merge(&mut self, o: &ClassStats) -> Result<(), OpError> {
        op_ensure!(
            o.n_features == self.n_features,
            "cannot merge class statistics of {} and {} features",
            self.n_features,
            o.n_features
        );
        for (c, m) in &o.classes {
            self.classes.entry(*c).or_insert_with(|| Moments::new(self.n_features)).merge(m);
        }
        self.all.merge(&o.all);
        Ok(())
    }
}

fn block_stats<F: Float>(x: &Array2<F>, y: &Array1<i64>, w: Option<&Array1<f64>>) -> Result<ClassStats, OpError> {
    let d = x.ncols();
    op_ensure!(y.len() == x.nrows(), "x block has {} rows, y block {}", x.nrows(), y.len());
    if let Some(w) = w {
        op_ensure!(w.len() == x.nrows(), "x block has {} rows, weight block {}", x.nrows(), w.len());
    }
    let mut out = ClassStats { n_features: d, classes: BTreeMap::new(), all: Moments::new(d) };
    let mut row = vec![0.0; d];
    for (i, r) in x.rows().into_iter().enumerate() {
        for (j, (dst, &v)) in row.iter_mut().zip(r.iter()).enumerate() {
            *dst = v.widen();
            op_ensure!(
                dst.is_finite(),
                "x contains NaN or infinite values (row {i} of the block, column {j} holds {dst}); GaussianNB \
                     needs finite features: impute missing values first (e.g. a SimpleImputer step) or drop those rows"
            );
        }
        let wi = w.map_or(1.0, |w| w[i]);
        op_ensure!(wi.is_finite() && wi >= 0.0, "sample weight {wi} is negative or not finite");
        out.classes.entry(y[i]).or_insert_with(|| Moments::new(d)).push(&row, wi);
        out.all.push(&row, 1.0);
    }
    Ok(out)
}

/// [`ClassStats`] of one (x, y[, weights]) block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockClassStats;

impl Op for BlockClassStats {
    const NAME: &'static str = "rask.estimators.gaussian_nb.class_stats";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        op_ensure!(inputs.len() == 2 || inputs.len() == 3, "{} takes 2 or 3 inputs, got {}", Self::NAME, inputs.len());
        let y = inputs[1].get::<Array1<i64>>()?;
        let w = inputs.get(2).map(|w| w.get::<Array1<f64>>()).transpose()?;
        let v = &inputs[0];
        let s = with_block!(v, |x| block_stats(x, y, w)?);
        Ok(Value::new(s))
    }
}

/// Merges [`ClassStats`] in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeClassStats;

impl Op for MergeClassStats {
    const NAME: &'static str = "rask.estimators.gaussian_nb.merge_class_stats";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<ClassStats>()?.clone();
        for v in rest {
            acc.merge(v.get::<ClassStats>()?)?;
        }
        Ok(Value::new(acc))
    }
}
