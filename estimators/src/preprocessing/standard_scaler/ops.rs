//! The block ops of a weighted `StandardScaler` fit: per-column weighted moments, NaNs skipped,
//! merged with Chan et al.'s parallel formula (weights as frequencies).

use ndarray::{Array1, Array2};
use rask_core::{op_ensure, Op, OpError, Value};
use rask_ml::{with_block, Float};
use serde::{Deserialize, Serialize};

/// Rows of the moments matrix (`ROWS × n_cols`, an `Array2<f64>`, so no new codec is needed).
pub(crate) const WSUM: usize = 0;
pub(crate) const MEAN: usize = 1;
pub(crate) const M2: usize = 2;
pub(crate) const COUNT: usize = 3;
pub(crate) const MIN: usize = 4;
pub(crate) const MAX: usize = 5;
pub(crate) const NAN: usize = 6;
const ROWS: usize = 7;

fn empty(d: usize) -> Array2<f64> {
    let mut m = Array2::zeros((ROWS, d));
    m.row_mut(MIN).fill(f64::INFINITY);
    m.row_mut(MAX).fill(f64::NEG_INFINITY);
    m
}

fn block_moments<F: Float>(x: &Array2<F>, w: &Array1<f64>) -> Result<Array2<f64>, OpError> {
    op_ensure!(w.len() == x.nrows(), "x block has {} rows, weight block {}", x.nrows(), w.len());
    let mut m = empty(x.ncols());
    for (i, row) in x.rows().into_iter().enumerate() {
        let wi = w[i];
        op_ensure!(
            wi.is_finite() && wi >= 0.0,
            "sample weight of row {i} of the block is {wi}; StandardScaler needs finite, non-negative weights"
        );
        for (j, &v) in row.iter().enumerate() {
            let v = v.widen();
            if v.is_nan() {
                m[[NAN, j]] = 1.0;
                continue;
            }
            m[[COUNT, j]] += 1.0;
            m[[MIN, j]] = m[[MIN, j]].min(v);
            m[[MAX, j]] = m[[MAX, j]].max(v);
            if wi == 0.0 {
                continue;
            }
            m[[WSUM, j]] += wi;
            let delta = v - m[[MEAN, j]];
            m[[MEAN, j]] += delta * wi / m[[WSUM, j]];
            m[[M2, j]] += wi * delta * (v - m[[MEAN, j]]);
        }
    }
    Ok(m)
}

/// Weighted moments of one (x, weights) block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockWeightedMoments;

impl Op for BlockWeightedMoments {
    const NAME: &'static str = "rask.estimators.standard_scaler.weighted_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        rask_core::ops::expect_inputs(inputs, 2, Self::NAME)?;
        let w = inputs[1].get::<Array1<f64>>()?;
        Ok(Value::new(with_block!(&inputs[0], |x| block_moments(x, w)?)))
    }
}

/// Merges weighted moments in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeWeightedMoments;

impl Op for MergeWeightedMoments {
    const NAME: &'static str = "rask.estimators.standard_scaler.merge_weighted_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let (first, rest) = inputs.split_first().ok_or_else(|| OpError::new("nothing to merge"))?;
        let mut acc = first.get::<Array2<f64>>()?.clone();
        for v in rest {
            let o = v.get::<Array2<f64>>()?;
            op_ensure!(o.dim() == acc.dim(), "cannot merge moments of shapes {:?} and {:?}", acc.dim(), o.dim());
            for j in 0..acc.ncols() {
                let (wa, wb) = (acc[[WSUM, j]], o[[WSUM, j]]);
                if wb > 0.0 {
                    if wa == 0.0 {
                        acc[[MEAN, j]] = o[[MEAN, j]];
                        acc[[M2, j]] = o[[M2, j]];
                    } else {
                        let w = wa + wb;
                        let delta = o[[MEAN, j]] - acc[[MEAN, j]];
                        acc[[M2, j]] += o[[M2, j]] + delta * delta * wa * wb / w;
                        acc[[MEAN, j]] += delta * wb / w;
                    }
                    acc[[WSUM, j]] = wa + wb;
                }
                acc[[COUNT, j]] += o[[COUNT, j]];
                acc[[MIN, j]] = acc[[MIN, j]].min(o[[MIN, j]]);
                acc[[MAX, j]] = acc[[MAX, j]].max(o[[MAX, j]]);
                acc[[NAN, j]] = acc[[NAN, j]].max(o[[NAN, j]]);
            }
        }
        Ok(Value::new(acc))
    }
}
