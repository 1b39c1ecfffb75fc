//! Numeric block kernels shared by estimators: the k-means assignment step.

use ndarray::{Array2, ArrayView2};
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use crate::nearest::{partials, Arithmetic, PreparedCentres};

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
/// [`AssignPartials`], with the inertia: [`nearest::partials`](crate::nearest::partials), the
/// kernel k-means runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AssignNearest {
    /// Number of centres.
    pub k: usize,
    /// Dimension.
    pub d: usize,
    /// The centres, row-major.
    pub centres: Vec<f64>,
    /// The kernel's arithmetic, chosen where the graph is built, so every worker gives the
    /// same bits.
    pub arithmetic: Arithmetic,
}

impl Op for AssignNearest {
    const NAME: &'static str = "rask.ml.assign_nearest";
    // 2: the shared nearest-centre kernel, and its arithmetic an argument.
    const VERSION: u32 = 2;
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let (k, d) = (self.k, self.d);
        if self.centres.len() != k * d || k == 0 || d == 0 {
            op_bail!("{} centre values for k = {k}, d = {d}", self.centres.len());
        }
        let centres = ArrayView2::from_shape((k, d), &self.centres).map_err(|e| OpError::new(e.to_string()))?;
        let prepared = PreparedCentres::with_arithmetic(centres, self.arithmetic);
        let p = with_block!(&inputs[0], |a| partials(a.view(), &prepared, true)?);
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
