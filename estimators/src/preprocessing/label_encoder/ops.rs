//! The block ops of the label encoder: sorted distinct labels per block, merged in order, and
//! the per-block coding.

use ndarray::Array1;
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

/// Sorted distinct values of `v` (an `Array1<i64>`, so no new codec is needed).
fn distinct(mut v: Vec<i64>) -> Array1<i64> {
    v.sort_unstable();
    v.dedup();
    Array1::from(v)
}

/// The sorted distinct labels of one block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockLabels;

impl Op for BlockLabels {
    const NAME: &'static str = "rask.estimators.label_encoder.block_labels";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        Ok(Value::new(distinct(inputs[0].get::<Array1<i64>>()?.to_vec())))
    }
}

/// Merges sorted distinct label sets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeLabels;

impl Op for MergeLabels {
    const NAME: &'static str = "rask.estimators.label_encoder.merge_labels";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut all = Vec::new();
        for v in inputs {
            all.extend(v.get::<Array1<i64>>()?.iter().copied());
        }
        Ok(Value::new(distinct(all)))
    }
}

/// Codes a block of labels (or, with `inverse`, decodes a block of codes).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EncodeLabels {
    /// The sorted classes.
    pub classes: Vec<i64>,
    /// Decode instead of encode.
    pub inverse: bool,
}

impl EncodeLabels {
    /// Codes `y`; the error lists the offending labels (or codes), sorted and distinct.
    pub fn apply(&self, y: &Array1<i64>) -> Result<Array1<i64>, Vec<i64>> {
        let mut bad = Vec::new();
        let out = y.mapv(|v| {
            let r = if self.inverse {
                usize::try_from(v).ok().and_then(|i| self.classes.get(i).copied())
            } else {
                self.classes.binary_search(&v).ok().map(|i| i as i64)
            };
            r.unwrap_or_else(|| {
                bad.push(v);
                0
            })
        });
        if bad.is_empty() {
            Ok(out)
        } else {
            Err(distinct(bad).to_vec())
        }
    }
}

impl Op for EncodeLabels {
    const NAME: &'static str = "rask.estimators.label_encoder.encode";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let y = inputs[0].get::<Array1<i64>>()?;
        match self.apply(y) {
            Ok(out) => Ok(Value::new(out)),
            Err(bad) if self.inverse => {
                Err(OpError::new(format!("y contains codes outside 0..{}: {bad:?}", self.classes.len())))
            }
            Err(bad) => Err(OpError::new(format!("y contains previously unseen labels: {bad:?}"))),
        }
    }
}
