//! The registered block operations of chunked arrays.
//!
//! Ops are dtype-dynamic: one op handles `f64` and `f32` blocks, so op names stay unique and
//! the registry does not grow with every element type. Reductions accumulate in `f64`.

use ndarray::{Array1, Array2, ArrayView1};
use rask_core::op_ensure;
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use crate::float::Float;

/// An elementwise arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinOp {
    /// `x + rhs`
    Add,
    /// `x - rhs`
    Sub,
    /// `x * rhs`
    Mul,
    /// `x / rhs`
    Div,
}

impl BinOp {
    fn apply<F: Float>(self, x: F, y: F) -> F {
        match self {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => x / y,
        }
    }
}

/// The right-hand side of an elementwise operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    /// One number for every element.
    Scalar(f64),
    /// One number per column, broadcast down the rows.
    Row(Vec<f64>),
}

/// `block op rhs`, elementwise; the result has the block's element type.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Elementwise {
    /// The operator.
    pub op: BinOp,
    /// The right-hand side.
    pub rhs: Operand,
}

fn elementwise<F: Float>(a: &Array2<F>, op: BinOp, rhs: &Operand) -> Result<Array2<F>, OpError> {
    match rhs {
        Operand::Scalar(s) => {
            let s = F::narrow(*s);
            Ok(a.mapv(|x| op.apply(x, s)))
        }
        Operand::Row(r) => {
            op_ensure!(r.len() == a.ncols(), "row operand has {} values for {} columns", r.len(), a.ncols());
            let row: Vec<F> = r.iter().map(|&x| F::narrow(x)).collect();
            let mut out = a.to_owned();
            for mut line in out.rows_mut() {
                for (x, &y) in line.iter_mut().zip(&row) {
                    *x = op.apply(*x, y);
                }
            }
            Ok(out)
        }
    }
}

impl Op for Elementwise {
    const NAME: &'static str = "rask.ml.elementwise";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| Ok(Value::new(elementwise(a, self.op, &self.rhs)?)))
    }
}

/// Partial column statistics of some rows, mergeable in any grouping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    /// Values counted per column (NaNs excluded when skipping them).
    pub count: Vec<u64>,
    /// Sum per column.
    pub sum: Vec<f64>,
    /// Mean per column.
    pub mean: Vec<f64>,
    /// Sum of squared deviations from the mean, per column.
    pub m2: Vec<f64>,
    /// Minimum per column (NaNs ignored; see `nan`).
    pub min: Vec<f64>,
    /// Maximum per column (NaNs ignored; see `nan`).
    pub max: Vec<f64>,
    /// Whether a NaN was seen, per column.
    pub nan: Vec<bool>,
}

impl ColumnStats {
    /// Statistics of no rows.
    pub fn empty(n_cols: usize) -> Self {
        ColumnStats {
            count: vec![0; n_cols],
            sum: vec![0.0; n_cols],
            mean: vec![0.0; n_cols],
            m2: vec![0.0; n_cols],
            min: vec![f64::INFINITY; n_cols],
            max: vec![f64::NEG_INFINITY; n_cols],
            nan: vec![false; n_cols],
        }
    }

    /// Statistics of a block.
    ///
    /// The fast path makes one pass over a contiguous block, accumulating per column the sum,
    /// the sum and sum of squares of the values shifted by the block's first row (the shifted-
    /// data algorithm: the shift is a sample of the column, so the subtraction in
    /// `Σ(x−K)² − (Σ(x−K))²/n` does not cancel catastrophically), the minimum and the maximum.
    /// If a column met a NaN, the exact two-pass path recomputes the block, so NaN handling is
    /// the same either way.
    pub fn of_block<F: Float>(a: &Array2<F>, skip_nan: bool) -> Self {
        if let Some(fast) = Self::of_block_fast(a) {
            return fast;
        }
        Self::of_block_exact(a, skip_nan)
    }

    /// One pass over a contiguous block; `None` if the block is not contiguous, is empty, or
    /// holds a NaN.
    fn of_block_fast<F: Float>(a: &Array2<F>) -> Option<Self> {
        let data = a.as_slice()?;
        let (n, d) = (a.nrows(), a.ncols());
        if n == 0 || d == 0 {
            return None;
        }
        let shift: Vec<f64> = data[..d].iter().map(|x| x.widen()).collect();
        let mut sum = vec![0.0f64; d];
        let mut s = vec![0.0f64; d];
        let mut ss = vec![0.0f64; d];
        let mut min = vec![f64::INFINITY; d];
        let mut max = vec![f64::NEG_INFINITY; d];
        for row in data.chunks_exact(d) {
            for (((((&x, k), sum), s), ss), (mn, mx)) in row
                .iter()
                .zip(&shift)
                .zip(sum.iter_mut())
                .zip(s.iter_mut())
                .zip(ss.iter_mut())
                .zip(min.iter_mut().zip(max.iter_mut()))
            {
                let x = x.widen();
                let y = x - k;
                *sum += x;
                *s += y;
                *ss += y * y;
                *mn = mn.min(x);
                *mx = mx.max(x);
            }
        }
        // Infinities and NaNs make the shifted sums meaningless; the exact path handles them.
        if sum.iter().chain(&ss).any(|v| !v.is_finite()) {
            return None;
        }
        let nf = n as f64;
        let mean: Vec<f64> = shift.iter().zip(&s).map(|(k, s)| k + s / nf).collect();
        let m2: Vec<f64> = s.iter().zip(&ss).map(|(s, ss)| (ss - s * s / nf).max(0.0)).collect();
        Some(ColumnStats { count: vec![n as u64; d], sum, mean, m2, min, max, nan: vec![false; d] })
    }

    /// Two passes (sums, then squared deviations), skipping or propagating NaNs.
    fn of_block_exact<F: Float>(a: &Array2<F>, skip_nan: bool) -> Self {
        let n_cols = a.ncols();
        let mut s = ColumnStats::empty(n_cols);
        let counts_all = !skip_nan;
        for row in a.rows() {
            for (j, &x) in row.iter().enumerate() {
                let x = x.widen();
                if x.is_nan() {
                    s.nan[j] = true;
                    if skip_nan {
                        continue;
                    }
                }
                s.count[j] += 1;
                s.sum[j] += x;
                s.min[j] = s.min[j].min(x);
                s.max[j] = s.max[j].max(x);
            }
        }
        for j in 0..n_cols {
            if s.count[j] > 0 {
                s.mean[j] = s.sum[j] / s.count[j] as f64;
            }
        }
        for row in a.rows() {
            add_squared_deviations(&row, &s.mean, &mut s.m2, counts_all);
        }
        s
    }

    /// Merges `other` into `self` (Chan, Golub and LeVeque's pairwise update per column).
    pub fn merge(&mut self, other: &ColumnStats) {
        for j in 0..self.count.len() {
            let (na, nb) = (self.count[j], other.count[j]);
            if nb > 0 {
                if na == 0 {
                    self.mean[j] = other.mean[j];
                    self.m2[j] = other.m2[j];
                } else {
                    let n = (na + nb) as f64;
                    let d = other.mean[j] - self.mean[j];
                    self.mean[j] += d * nb as f64 / n;
                    self.m2[j] += other.m2[j] + d * d * na as f64 * nb as f64 / n;
                }
                self.count[j] = na + nb;
                self.sum[j] += other.sum[j];
                self.min[j] = self.min[j].min(other.min[j]);
                self.max[j] = self.max[j].max(other.max[j]);
            }
            self.nan[j] |= other.nan[j];
        }
    }
}

fn add_squared_deviations<F: Float>(row: &ArrayView1<'_, F>, mean: &[f64], m2: &mut [f64], counts_all: bool) {
    for ((&x, &m), acc) in row.iter().zip(mean).zip(m2.iter_mut()) {
        let x = x.widen();
        if counts_all || !x.is_nan() {
            let d = x - m;
            *acc += d * d;
        }
    }
}

/// Column statistics of one block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockColumnStats {
    /// Leave NaNs out (the `nan*` reductions) instead of propagating them.
    pub skip_nan: bool,
}

impl Op for BlockColumnStats {
    const NAME: &'static str = "rask.ml.block_column_stats";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| Ok(Value::new(ColumnStats::of_block(a, self.skip_nan))))
    }
}

/// Merges [`ColumnStats`] inputs in their listed order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeColumnStats;

impl Op for MergeColumnStats {
    const NAME: &'static str = "rask.ml.merge_column_stats";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<ColumnStats>()?.clone();
        for v in rest {
            let s = v.get::<ColumnStats>()?;
            op_ensure!(
                s.count.len() == acc.count.len(),
                "cannot merge statistics of {} and {} columns",
                acc.count.len(),
                s.count.len()
            );
            acc.merge(s);
        }
        Ok(Value::new(acc))
    }
}

/// Final column statistics, as arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSummary {
    /// Values counted per column.
    pub count: Array1<u64>,
    /// Sum per column.
    pub sum: Array1<f64>,
    /// Mean per column.
    pub mean: Array1<f64>,
    /// Minimum per column.
    pub min: Array1<f64>,
    /// Maximum per column.
    pub max: Array1<f64>,
    m2: Array1<f64>,
}

impl ColumnSummary {
    /// Finalises merged statistics. Without `skip_nan`, a column that held a NaN has NaN for
    /// every statistic but the count, as in NumPy; with it, a column with no value left has NaN.
    pub fn from_stats(s: &ColumnStats, skip_nan: bool) -> Self {
        let n = s.count.len();
        let mut out = ColumnSummary {
            count: Array1::from(s.count.clone()),
            sum: Array1::from(s.sum.clone()),
            mean: Array1::from(s.mean.clone()),
            min: Array1::from(s.min.clone()),
            max: Array1::from(s.max.clone()),
            m2: Array1::from(s.m2.clone()),
        };
        for j in 0..n {
            // With infinite values the running mean can be NaN (inf - inf) where the mean is
            // really ±inf, as NumPy reports: recompute it from the sum.
            if !out.mean[j].is_finite() && s.count[j] > 0 {
                out.mean[j] = s.sum[j] / s.count[j] as f64;
            }
            let poisoned = !skip_nan && s.nan[j];
            if poisoned || s.count[j] == 0 {
                out.mean[j] = f64::NAN;
                out.min[j] = f64::NAN;
                out.max[j] = f64::NAN;
                out.m2[j] = f64::NAN;
                if poisoned {
                    out.sum[j] = f64::NAN;
                }
            }
        }
        out
    }

    /// Variance per column with `ddof` delta degrees of freedom. Where `count <= ddof` the
    /// divisor is zero, as in NumPy: `inf` if the squared deviations are positive, else NaN.
    pub fn var(&self, ddof: u64) -> Array1<f64> {
        Array1::from_iter(self.m2.iter().zip(&self.count).map(|(&m2, &n)| m2 / (n.saturating_sub(ddof)) as f64))
    }

    /// Standard deviation per column with `ddof` delta degrees of freedom.
    pub fn std(&self, ddof: u64) -> Array1<f64> {
        self.var(ddof).mapv(f64::sqrt)
    }
}

/// The row count of a block (2-D or 1-D, any element type), as `u64`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockRows;

impl Op for BlockRows {
    const NAME: &'static str = "rask.ml.block_rows";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], any | a | Ok(Value::new(a.len_of(ndarray::Axis(0)) as u64)))
    }
}

fn widen_block<F: Float>(a: &Array2<F>) -> Array2<f64> {
    a.mapv(Float::widen)
}

/// `XᵀX` of one block, in `f64`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Xtx;

impl Op for Xtx {
    const NAME: &'static str = "rask.ml.xtx";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        if let Some(a) = inputs[0].downcast_ref::<Array2<f64>>() {
            return Ok(Value::new(a.t().dot(a)));
        }
        with_block!(&inputs[0], |a| {
            let a = widen_block(a);
            Ok(Value::new(a.t().dot(&a)))
        })
    }
}

/// The target block as an `f64` column.
fn target_column(v: &Value) -> Result<Array1<f64>, OpError> {
    if let Some(y) = v.downcast_ref::<Array1<f64>>() {
        Ok(y.clone())
    } else if let Some(y) = v.downcast_ref::<Array1<f32>>() {
        Ok(y.mapv(f64::from))
    } else if let Some(y) = v.downcast_ref::<Array1<i64>>() {
        Ok(y.mapv(|x| x as f64))
    } else {
        Err(OpError::new(format!("expected a 1-D target block, found `{}`", v.type_name())))
    }
}

/// `Xᵀy` of one block pair, as an `n_cols × 1` `f64` matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Xty;

impl Op for Xty {
    const NAME: &'static str = "rask.ml.xty";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 2, Self::NAME)?;
        let y = target_column(&inputs[1])?;
        with_block!(&inputs[0], |a| {
            op_ensure!(a.nrows() == y.len(), "x block has {} rows but y block has {}", a.nrows(), y.len());
            let xty = widen_block(a).t().dot(&y);
            Ok(Value::new(xty.insert_axis(ndarray::Axis(1))))
        })
    }
}

/// Sums `Array2<f64>` inputs of one shape, in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SumMatrices;

impl Op for SumMatrices {
    const NAME: &'static str = "rask.ml.sum_matrices";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to sum"))?;
        let mut acc = first.get::<Array2<f64>>()?.clone();
        for v in rest {
            let m = v.get::<Array2<f64>>()?;
            op_ensure!(m.shape() == acc.shape(), "cannot add a {:?} matrix to a {:?} one", m.shape(), acc.shape());
            acc += m;
        }
        Ok(Value::new(acc))
    }
}

/// `block · W` for a small dense `W`, stored row-major in the op's arguments.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MatMul {
    rows: usize,
    cols: usize,
    w: Vec<f64>,
}

impl MatMul {
    /// The op multiplying blocks by `w`.
    pub fn new(w: &Array2<f64>) -> Self {
        MatMul { rows: w.nrows(), cols: w.ncols(), w: w.iter().copied().collect() }
    }

    fn matrix<F: Float>(&self) -> Result<Array2<F>, OpError> {
        Array2::from_shape_vec((self.rows, self.cols), self.w.iter().map(|&x| F::narrow(x)).collect())
            .map_err(|e| OpError::new(format!("bad W: {e}")))
    }
}

impl Op for MatMul {
    const NAME: &'static str = "rask.ml.matmul";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_block!(&inputs[0], |a| {
            op_ensure!(a.ncols() == self.rows, "block has {} columns but W has {} rows", a.ncols(), self.rows);
            Ok(Value::new(a.dot(&self.matrix()?)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_path_agrees_with_the_two_pass_path() {
        // A large offset and a small spread: the case where naive sum-of-squares fails.
        let a = Array2::from_shape_fn((997, 4), |(i, j)| {
            1e8 * (j as f64 + 1.0) + ((i * 7919 + j * 104_729) % 1000) as f64 * 1e-3
        });
        let fast = ColumnStats::of_block_fast(&a).expect("contiguous, no NaN");
        let exact = ColumnStats::of_block_exact(&a, false);
        assert_eq!(fast.count, exact.count);
        assert_eq!(fast.min, exact.min);
        assert_eq!(fast.max, exact.max);
        for j in 0..4 {
            assert!((fast.mean[j] - exact.mean[j]).abs() <= 1e-15 * exact.mean[j].abs());
            assert!((fast.m2[j] - exact.m2[j]).abs() <= 1e-6 * exact.m2[j], "{} vs {}", fast.m2[j], exact.m2[j]);
        }
        // A NaN sends the block down the exact path.
        let mut b = a.clone();
        b[[5, 2]] = f64::NAN;
        assert!(ColumnStats::of_block_fast(&b).is_none());
        assert!(ColumnStats::of_block(&b, false).nan[2]);
        // A non-contiguous block too.
        assert!(ColumnStats::of_block_fast(&a.clone().reversed_axes()).is_none());
    }
}
