//! The registered block ops of the GLM solvers: a one-pass data summary (rows, weight sum,
//! classes, finiteness), the loss/gradient/Hessian partial sums, and ADMM's local solves.
//! Inputs are always `[x block, y block]` or `[x block, y block, weight block]`.

use ndarray::{Array1, Array2};
use rask_core::op_ensure;
use rask_core::{Op, OpError, Value};
use rask_ml::with_block;
use serde::{Deserialize, Serialize};

use super::family::{block_partials, targets, weights, widened, Family, Layout, Partials, Want};
use super::linalg::solve_spd;

fn split_inputs(inputs: &[Value], name: &str) -> Result<(Value, Value, Option<Value>), OpError> {
    match inputs {
        [x, y] => Ok((x.clone(), y.clone(), None)),
        [x, y, w] => Ok((x.clone(), y.clone(), Some(w.clone()))),
        _ => Err(OpError::new(format!("{name} takes 2 or 3 inputs (x, y, weights), got {}", inputs.len()))),
    }
}

/// Runs `f` on the feature block as `f64` (widened from `f32` if needed).
fn with_x<T>(v: &Value, f: impl FnOnce(&Array2<f64>) -> Result<T, OpError>) -> Result<T, OpError> {
    with_block!(v, |a| f(&widened(a)))
}

/// What one pass over the data learns before fitting: sizes, the weight sum, the classes and
/// whether the values are usable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Rows.
    pub n_rows: u64,
    /// Sum of the sample weights (rows, without weights).
    pub weight_sum: f64,
    /// Sorted distinct labels (integer targets only).
    pub classes: Vec<i64>,
    /// Whether every feature is finite and within [`rask_ml::MAX_ABS_VALUE`] (a larger one is
    /// refused, naming it, by `locate_non_finite`).
    pub x_finite: bool,
    /// Whether every target is finite.
    pub y_finite: bool,
    /// The smallest target (real targets only; `+∞` otherwise).
    pub y_min: f64,
    /// The weighted target sum (real targets only).
    pub y_sum: f64,
    /// Whether every weight is finite and non-negative.
    pub w_valid: bool,
    /// Rows whose feature and target counts disagree (a malformed dataset).
    pub misaligned: bool,
}

impl DataSummary {
    fn merge(&mut self, o: &DataSummary) {
        self.n_rows += o.n_rows;
        self.weight_sum += o.weight_sum;
        let mut c: Vec<i64> = self.classes.iter().chain(&o.classes).copied().collect();
        c.sort_unstable();
        c.dedup();
        self.classes = c;
        self.x_finite &= o.x_finite;
        self.y_finite &= o.y_finite;
        self.y_min = self.y_min.min(o.y_min);
        self.y_sum += o.y_sum;
        self.w_valid &= o.w_valid;
        self.misaligned |= o.misaligned;
    }
}

/// Summarises one block into a [`DataSummary`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summarize;

impl Op for Summarize {
    const NAME: &'static str = "rask.estimators.glm.summarize";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (x, y, w) = split_inputs(inputs, Self::NAME)?;
        let w = weights(w.as_ref())?;
        with_x(&x, |x| {
            let n = x.nrows();
            let mut s = DataSummary {
                n_rows: n as u64,
                weight_sum: w.as_ref().map_or(n as f64, |w| w.sum()),
                classes: Vec::new(),
                x_finite: x.iter().all(|v| v.is_finite() && v.abs() <= rask_ml::MAX_ABS_VALUE),
                y_finite: true,
                y_min: f64::INFINITY,
                y_sum: 0.0,
                w_valid: w.as_ref().is_none_or(|w| w.iter().all(|v| v.is_finite() && *v >= 0.0)),
                misaligned: w.as_ref().is_some_and(|w| w.len() != n),
            };
            if let Some(labels) = y.downcast_ref::<Array1<i64>>() {
                let mut c = labels.to_vec();
                c.sort_unstable();
                c.dedup();
                s.classes = c;
                s.misaligned |= labels.len() != n;
            } else {
                let real = match targets(&y, Family::Gaussian, &[])? {
                    super::family::Targets::Real(v) => v,
                    super::family::Targets::Class(_) => unreachable!("real targets for the Gaussian family"),
                };
                s.misaligned |= real.len() != n;
                s.y_finite = real.iter().all(|v| v.is_finite());
                s.y_min = real.iter().copied().fold(f64::INFINITY, f64::min);
                s.y_sum = match &w {
                    Some(w) if w.len() == real.len() => real.iter().zip(w).map(|(a, b)| a * b).sum(),
                    _ => real.sum(),
                };
            }
            Ok(Value::new(s))
        })
    }
}

/// Merges [`DataSummary`] inputs in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeSummaries;

impl Op for MergeSummaries {
    const NAME: &'static str = "rask.estimators.glm.merge_summaries";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<DataSummary>()?.clone();
        for v in rest {
            acc.merge(v.get::<DataSummary>()?);
        }
        Ok(Value::new(acc))
    }
}

/// The loss sum of one block at `coef`, with its gradient and Hessian if asked for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockPartials {
    /// The family.
    pub family: Family,
    /// The coefficient layout.
    pub layout: Layout,
    /// The classes (classification families), sorted.
    pub classes: Vec<i64>,
    /// The flat coefficients.
    pub coef: Vec<f64>,
    /// What to compute.
    pub want: Want,
}

impl Op for BlockPartials {
    const NAME: &'static str = "rask.estimators.glm.block_partials";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (x, y, w) = split_inputs(inputs, Self::NAME)?;
        let y = targets(&y, self.family, &self.classes)?;
        let w = weights(w.as_ref())?;
        with_x(&x, |x| {
            let p = block_partials(
                self.family,
                self.layout,
                x.view(),
                &y,
                w.as_ref().map(|w| w.view()),
                &self.coef,
                self.want,
            )?;
            Ok(Value::new(p))
        })
    }
}

/// Sums [`Partials`] inputs in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergePartials;

impl Op for MergePartials {
    const NAME: &'static str = "rask.estimators.glm.merge_partials";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<Partials>()?.clone();
        for v in rest {
            acc.merge(v.get::<Partials>()?)?;
        }
        Ok(Value::new(acc))
    }
}

/// ADMM's local step on one block: minimises `scale · Σ sᵢ ℓᵢ(β) + ρ/2 ‖β − target‖²` by
/// Newton's method from `start` (the block's previous solution). The result is an
/// `Array1<f64>` of the flat coefficients.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdmmLocal {
    /// The family.
    pub family: Family,
    /// The coefficient layout.
    pub layout: Layout,
    /// The classes (classification families), sorted.
    pub classes: Vec<i64>,
    /// Multiplies the block's loss sum (blocks / total weight).
    pub scale: f64,
    /// The augmented-Lagrangian parameter.
    pub rho: f64,
    /// `z − u_i`: the consensus minus the block's scaled dual.
    pub target: Vec<f64>,
    /// Where Newton's method starts.
    pub start: Vec<f64>,
    /// Stop when the largest gradient entry is at most this.
    pub tol: f64,
}

/// Newton iterations allowed for one local solve.
const LOCAL_MAX_ITER: usize = 100;

impl Op for AdmmLocal {
    const NAME: &'static str = "rask.estimators.glm.admm_local";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (x, y, w) = split_inputs(inputs, Self::NAME)?;
        let y = targets(&y, self.family, &self.classes)?;
        let w = weights(w.as_ref())?;
        let len = self.layout.len();
        op_ensure!(self.target.len() == len && self.start.len() == len, "ADMM local step: {len} coefficients expected");
        with_x(&x, |x| {
            let eval = |beta: &[f64], want: Want| -> Result<Partials, OpError> {
                let mut p =
                    block_partials(self.family, self.layout, x.view(), &y, w.as_ref().map(|w| w.view()), beta, want)?;
                let prox: f64 = beta.iter().zip(&self.target).map(|(b, t)| (b - t) * (b - t)).sum();
                p.loss = self.scale * p.loss + 0.5 * self.rho * prox;
                for (i, g) in p.grad.iter_mut().enumerate() {
                    *g = self.scale * *g + self.rho * (beta[i] - self.target[i]);
                }
                for (i, h) in p.hess.iter_mut().enumerate() {
                    *h *= self.scale;
                    if i / len == i % len {
                        *h += self.rho;
                    }
                }
                Ok(p)
            };
            let mut beta = self.start.clone();
            for _ in 0..LOCAL_MAX_ITER {
                let cur = eval(&beta, Want::Hessian)?;
                if cur.grad.iter().all(|g| g.abs() <= self.tol) {
                    break;
                }
                let neg: Vec<f64> = cur.grad.iter().map(|g| -g).collect();
                let step = solve_spd(&cur.hess, &neg, len);
                let size = beta.iter().fold(1.0f64, |m, b| m.max(b.abs()));
                if step.iter().all(|s| s.abs() <= 1e-13 * size) {
                    // Newton's step is at rounding level: the local optimum is reached.
                    break;
                }
                let slope: f64 = step.iter().zip(&cur.grad).map(|(a, b)| a * b).sum();
                let mut t = 1.0;
                let mut moved = false;
                for _ in 0..60 {
                    let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
                    let f = eval(&cand, Want::Loss)?.loss;
                    // Armijo, with rounding slack: near the optimum a full Newton step changes
                    // the objective by less than its last digits.
                    if f.is_finite() && f <= cur.loss + 1e-4 * t * slope + 1e-14 * cur.loss.abs() {
                        beta = cand;
                        moved = true;
                        break;
                    }
                    t *= 0.5;
                }
                if !moved {
                    break;
                }
            }
            Ok(Value::new(Array1::from(beta)))
        })
    }
}
