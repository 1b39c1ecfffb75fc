//! Tall-skinny QR (TSQR) and the SVD built on it, for row-chunked arrays.
//!
//! Benson, Gleich and Demmel's direct TSQR: every block is factored on its own
//! (`A_i = Q_i R_i`), the small `R_i` are stacked and factored once more
//! (`[R_1; …; R_p] = Q₂ R`), and each block's final `Q` is `Q_i · Q₂[rows of block i]`.
//! The SVD factors the small `R = U_r Σ Vᵀ` and returns `U = Q · U_r`, blockwise.
//! Dense kernels are `faer`'s (pure Rust). Only one level of stacking is used: the stacked
//! matrix holds `Σ min(m_i, n)` rows of `n` columns, small for tall-skinny data.

use ndarray::{s, Array1, Array2};
use rask_core::ops::expect_inputs;
use rask_core::{op_bail, op_ensure};
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use crate::float::Float;

/// Several matrices travelling together (a factorisation's parts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parts(pub Vec<Array2<f64>>);

/// Thin QR of a dense matrix: `(Q, R)` with `Q` `m × k` and `R` `k × n`, `k = min(m, n)`
/// (the [`dense`](crate::dense) backend's).
pub fn thin_qr(a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>), OpError> {
    crate::dense::thin_qr(a).map_err(OpError::new)
}

/// A thin SVD of a dense matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseSvd {
    /// Left singular vectors (`m × k`).
    pub u: Array2<f64>,
    /// Singular values, decreasing (`k`).
    pub s: Array1<f64>,
    /// Right singular vectors as rows (`k × n`).
    pub vt: Array2<f64>,
}

/// Thin SVD of a dense matrix, singular values in decreasing order (the
/// [`dense`](crate::dense) backend's).
pub fn thin_svd(a: &Array2<f64>) -> Result<DenseSvd, OpError> {
    let (u, s, vt) = crate::dense::thin_svd(a).map_err(OpError::new)?;
    Ok(DenseSvd { u, s, vt })
}

/// QR of one block: parts `[Q_i, R_i]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockQr;

fn widened(v: &Value) -> Result<Array2<f64>, OpError> {
    with_block!(v, |a| Ok(a.mapv(Float::widen)))
}

impl Op for BlockQr {
    const NAME: &'static str = "rask.ml.block_qr";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let a = widened(&inputs[0])?;
        let (q, r) = thin_qr(&a)?;
        Ok(Value::new(Parts(vec![q, r])))
    }
}

/// Picks part `index` of a [`Parts`] value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PickPart {
    /// Which part.
    pub index: usize,
}

impl Op for PickPart {
    const NAME: &'static str = "rask.ml.pick_part";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let parts = inputs[0].get::<Parts>()?;
        let p = parts.0.get(self.index).ok_or_else(|| {
            OpError::new(format!("part {} asked of a value with {} parts", self.index, parts.0.len()))
        })?;
        Ok(Value::new(p.clone()))
    }
}

/// Stacks the `R_i` inputs and factors them: parts `[Q₂, R]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackQr;

impl Op for StackQr {
    const NAME: &'static str = "rask.ml.stack_qr";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let rs: Vec<&Array2<f64>> = inputs.iter().map(|v| v.get::<Array2<f64>>()).collect::<Result<_, _>>()?;
        let views: Vec<_> = rs.iter().map(|r| r.view()).collect();
        let stacked = ndarray::concatenate(ndarray::Axis(0), &views)
            .map_err(|e| OpError::new(format!("cannot stack R factors: {e}")))?;
        let (q2, r) = thin_qr(&stacked)?;
        Ok(Value::new(Parts(vec![q2, r])))
    }
}

/// `Q_i · Q₂[offset..offset + rows]` (and, with `right`, `· right`): block `i`'s final factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApplyQ {
    /// First row of this block's `R_i` in the stacked matrix.
    pub offset: usize,
    /// Rows of `R_i`.
    pub rows: usize,
}

impl Op for ApplyQ {
    const NAME: &'static str = "rask.ml.apply_q";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        op_ensure!(inputs.len() == 2 || inputs.len() == 3, "{} takes 2 or 3 inputs, got {}", Self::NAME, inputs.len());
        let qi = inputs[0].get::<Array2<f64>>()?;
        let q2 = inputs[1].get::<Array2<f64>>()?;
        if self.offset + self.rows > q2.nrows() || qi.ncols() != self.rows {
            op_bail!(
                "block factor {:?} does not fit rows {}..{} of a {:?} stacked factor",
                qi.shape(),
                self.offset,
                self.offset + self.rows,
                q2.shape()
            );
        }
        let mut q = qi.dot(&q2.slice(s![self.offset..self.offset + self.rows, ..]));
        if let Some(right) = inputs.get(2) {
            q = q.dot(right.get::<Array2<f64>>()?);
        }
        Ok(Value::new(q))
    }
}

/// SVD of a small matrix: parts `[U, s (as a 1 × k row), Vᵀ]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SmallSvd;

impl Op for SmallSvd {
    const NAME: &'static str = "rask.ml.small_svd";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let DenseSvd { u, s, vt } = thin_svd(inputs[0].get::<Array2<f64>>()?)?;
        let k = s.len();
        let s_row = s.into_shape_with_order((1, k)).map_err(|e| OpError::new(e.to_string()))?;
        Ok(Value::new(Parts(vec![u, s_row, vt])))
    }
}

/// Row 0 of part `index` of a [`Parts`] value, as a vector.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PickRow {
    /// Which part.
    pub index: usize,
}

impl Op for PickRow {
    const NAME: &'static str = "rask.ml.pick_row";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let parts = inputs[0].get::<Parts>()?;
        let p = parts.0.get(self.index).ok_or_else(|| OpError::new(format!("no part {}", self.index)))?;
        if p.nrows() == 0 {
            return Err(OpError::new("part has no row"));
        }
        Ok(Value::new(p.row(0).to_owned()))
    }
}
