//! Numeric block kernels shared by estimators: the k-means assignment step.

use ndarray::Array2;
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use crate::float::Float;

/// Per-centre partial sums of one k-means assignment pass: every row goes to its nearest
/// centre; `sums[c]` is the sum of the rows assigned to centre `c`, `counts[c]` their number,
/// `inertia` the sum of squared distances to the assigned centres.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssignPartials {
    /// `k × d` sums of the rows assigned to each centre.
    pub sums: Array2<f64>,
    /// Rows assigned to each centre.
    pub counts: Vec<u64>,
    /// Sum of squared distances to the assigned centres.
    pub inertia: f64,
}

impl AssignPartials {
    /// Nothing assigned yet.
    pub fn zeros(k: usize, d: usize) -> Self {
        AssignPartials { sums: Array2::zeros((k, d)), counts: vec![0; k], inertia: 0.0 }
    }

    /// Adds `other` (same shape).
    pub fn merge(&mut self, other: &AssignPartials) -> Result<(), OpError> {
        op_ensure!(
            self.sums.shape() == other.sums.shape(),
            "cannot merge partial sums of shapes {:?} and {:?}",
            self.sums.shape(),
            other.sums.shape()
        );
        self.sums += &other.sums;
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.inertia += other.inertia;
        Ok(())
    }
}

/// Assigns the rows of a block to the nearest of `centres` (row-major `k × d`) and returns
/// [`AssignPartials`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AssignNearest {
    /// Number of centres.
    pub k: usize,
    /// Dimension.
    pub d: usize,
    /// The centres, row-major.
    pub centres: Vec<f64>,
}

fn assign<F: Float>(a: &Array2<F>, op: &AssignNearest) -> Result<AssignPartials, OpError> {
    let (k, d) = (op.k, op.d);
    op_ensure!(a.ncols() == d, "block has {} columns, the centres have {d}", a.ncols());
    if op.centres.len() != k * d || k == 0 {
        op_bail!("{} centre values for k = {k}, d = {d}", op.centres.len());
    }
    let mut out = AssignPartials::zeros(k, d);
    let mut row = vec![0.0f64; d];
    for r in a.rows() {
        for (dst, &x) in row.iter_mut().zip(r.iter()) {
            *dst = x.widen();
        }
        let (mut best, mut best_d2) = (0, f64::INFINITY);
        for (c, centre) in op.centres.chunks_exact(d).enumerate() {
            let d2: f64 = row.iter().zip(centre).map(|(x, m)| (x - m) * (x - m)).sum();
            if d2 < best_d2 {
                best = c;
                best_d2 = d2;
            }
        }
        out.counts[best] += 1;
        out.inertia += best_d2;
        for (s, &x) in out.sums.row_mut(best).iter_mut().zip(&row) {
            *s += x;
        }
    }
    Ok(out)
}

impl Op for AssignNearest {
    const NAME: &'static str = "rask.ml.assign_nearest";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let v = &inputs[0];
        let p = with_block!(v, |a| assign(a, self)?);
        Ok(Value::new(p))
    }
}

/// Merges [`AssignPartials`] inputs in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeAssignPartials;

impl Op for MergeAssignPartials {
    const NAME: &'static str = "rask.ml.merge_assign_partials";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<AssignPartials>()?.clone();
        for v in rest {
            acc.merge(v.get::<AssignPartials>()?)?;
        }
        Ok(Value::new(acc))
    }
}
