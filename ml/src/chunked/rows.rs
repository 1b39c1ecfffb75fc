//! Row selection across blocks: slicing, re-blocking and per-block shuffled splits.
//!
//! The ops here work on any block kind a collection can hold (`Array2` or `Array1` of `f64`,
//! `f32` or `i64`), so the same row operation applied with the same arguments to `x`, `y` and
//! sample weights keeps a dataset aligned.

use ndarray::{concatenate, Array1, Array2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::ops::expect_inputs;
use rask_core::{Op, OpError, Value};
use serde::{Deserialize, Serialize};

use super::blocks::BlockLayer;
use super::chunks::Chunks;
use crate::error::{MlError, Result};

/// Runs `$body` with `$a` bound to the block, whatever its array type.
macro_rules! with_any_block {
    ($v:expr, |$a:ident| $body:expr) => {{
        let v: &Value = $v;
        if let Some($a) = v.downcast_ref::<Array2<f64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<Array2<f32>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<Array2<i64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<Array1<f64>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<Array1<f32>>() {
            $body
        } else if let Some($a) = v.downcast_ref::<Array1<i64>>() {
            $body
        } else {
            return Err(OpError::new(format!("expected an array block, found `{}`", v.type_name())));
        }
    }};
}

/// Which rows of a block to keep, in which order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowSelection {
    /// Rows `start..end`, in order.
    Range {
        /// First row.
        start: usize,
        /// One past the last row.
        end: usize,
    },
    /// Positions `start..end` of a random permutation of the block's `n_rows` rows, drawn from
    /// the stream `stream`.
    Permuted {
        /// The stream seed (derived from the user's seed, the split and the block).
        stream: u64,
        /// Rows in the block.
        n_rows: usize,
        /// First position.
        start: usize,
        /// One past the last position.
        end: usize,
    },
}

impl RowSelection {
    fn indices(&self, n_rows: usize) -> Result<Vec<usize>, OpError> {
        match *self {
            RowSelection::Range { start, end } => {
                if start > end || end > n_rows {
                    return Err(OpError::new(format!("rows {start}..{end} of a {n_rows}-row block")));
                }
                Ok((start..end).collect())
            }
            RowSelection::Permuted { stream, n_rows: expected, start, end } => {
                if expected != n_rows {
                    return Err(OpError::new(format!("block has {n_rows} rows, the split expected {expected}")));
                }
                if start > end || end > n_rows {
                    return Err(OpError::new(format!("positions {start}..{end} of a {n_rows}-row block")));
                }
                let mut perm: Vec<usize> = (0..n_rows).collect();
                perm.shuffle(&mut ChaCha8Rng::seed_from_u64(stream));
                Ok(perm[start..end].to_vec())
            }
        }
    }
}

/// Keeps the selected rows of a block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TakeRows {
    /// The rows.
    pub rows: RowSelection,
}

impl Op for TakeRows {
    const NAME: &'static str = "rask.ml.take_rows";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        with_any_block!(&inputs[0], |a| {
            let idx = self.rows.indices(a.len_of(Axis(0)))?;
            Ok(Value::new(a.select(Axis(0), &idx)))
        })
    }
}

/// Takes row ranges of several blocks and stacks them: `pieces[k]` applies to input `k`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatherRows {
    /// `(start, end)` of each input block.
    pub pieces: Vec<(usize, usize)>,
}

impl Op for GatherRows {
    const NAME: &'static str = "rask.ml.gather_rows";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        if inputs.len() != self.pieces.len() || inputs.is_empty() {
            return Err(OpError::new(format!("{} inputs for {} pieces", inputs.len(), self.pieces.len())));
        }
        macro_rules! gather_as {
            ($t:ty) => {
                if inputs[0].downcast_ref::<$t>().is_some() {
                    let mut parts = Vec::with_capacity(inputs.len());
                    for (v, &(start, end)) in inputs.iter().zip(&self.pieces) {
                        let a = v.get::<$t>()?;
                        let n = a.len_of(Axis(0));
                        if start > end || end > n {
                            return Err(OpError::new(format!("rows {start}..{end} of a {n}-row block")));
                        }
                        parts.push(a.slice_axis(Axis(0), ndarray::Slice::from(start..end)));
                    }
                    let out = concatenate(Axis(0), &parts).map_err(|e| OpError::new(e.to_string()))?;
                    return Ok(Value::new(out));
                }
            };
        }
        gather_as!(Array2<f64>);
        gather_as!(Array2<f32>);
        gather_as!(Array2<i64>);
        gather_as!(Array1<f64>);
        gather_as!(Array1<f32>);
        gather_as!(Array1<i64>);
        Err(OpError::new(format!("expected array blocks, found `{}`", inputs[0].type_name())))
    }
}

/// Where global rows `start..end` live: `(block, start in block, end in block)` per block.
fn locate(sizes: &[usize], start: usize, end: usize) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for (i, &n) in sizes.iter().enumerate() {
        let (b0, b1) = (offset, offset + n);
        let (s, e) = (start.max(b0), end.min(b1));
        if s < e {
            out.push((i, s - b0, e - b0));
        }
        offset = b1;
    }
    out
}

fn known_sizes<'a>(layer: &'a BlockLayer, operation: &str) -> Result<&'a [usize]> {
    layer.chunks().sizes().ok_or_else(|| MlError::UnknownChunkSizes { operation: operation.into() })
}

/// Global rows `start..end` of a layer, keeping the block boundaries inside the range.
pub fn slice_rows(layer: &BlockLayer, start: usize, end: usize) -> Result<BlockLayer> {
    let sizes = known_sizes(layer, "slice_rows")?;
    let total: usize = sizes.iter().sum();
    if start >= end || end > total {
        return Err(MlError::InvalidParameter {
            name: "rows",
            message: format!("{start}..{end} is not a non-empty range within the {total} rows"),
        });
    }
    let pieces = locate(sizes, start, end);
    let ops = pieces.iter().map(|&(_, s, e)| GatherRows { pieces: vec![(s, e)] }).collect();
    let inputs = pieces.iter().map(|&(b, _, _)| vec![b]).collect();
    let chunks = Chunks::Known(pieces.iter().map(|&(_, s, e)| e - s).collect());
    layer.regroup(ops, inputs, chunks)
}

/// The same rows in blocks of `chunk_rows` (the last one shorter).
pub fn rechunk(layer: &BlockLayer, chunk_rows: usize) -> Result<BlockLayer> {
    if chunk_rows == 0 {
        return Err(MlError::InvalidParameter { name: "chunk_rows", message: "must be at least 1".into() });
    }
    let sizes = known_sizes(layer, "rechunk")?.to_vec();
    let total: usize = sizes.iter().sum();
    let new_sizes = match Chunks::regular(total, chunk_rows) {
        Chunks::Known(s) => s,
        Chunks::Unknown { .. } => unreachable!("regular chunks are known"),
    };
    let mut ops = Vec::with_capacity(new_sizes.len());
    let mut inputs = Vec::with_capacity(new_sizes.len());
    let mut start = 0;
    for &n in &new_sizes {
        let pieces = locate(&sizes, start, start + n);
        inputs.push(pieces.iter().map(|&(b, _, _)| b).collect());
        ops.push(GatherRows { pieces: pieces.iter().map(|&(_, s, e)| (s, e)).collect() });
        start += n;
    }
    layer.regroup(ops, inputs, Chunks::Known(new_sizes))
}

/// Applies one row selection per block (same arguments give the same rows for `x`, `y`, `w`).
pub fn take_rows(layer: &BlockLayer, selections: Vec<RowSelection>, sizes: Vec<usize>) -> Result<BlockLayer> {
    let ops = selections.into_iter().map(|rows| TakeRows { rows }).collect();
    layer.zip_map_each(&[], ops, Chunks::Known(sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_splits_a_range_over_blocks() {
        assert_eq!(locate(&[3, 4, 5], 2, 9), vec![(0, 2, 3), (1, 0, 4), (2, 0, 2)]);
        assert_eq!(locate(&[3, 4, 5], 3, 7), vec![(1, 0, 4)]);
        assert!(locate(&[3], 3, 3).is_empty());
    }

    #[test]
    fn permuted_selections_partition_the_block() {
        let n = 17;
        let a = RowSelection::Permuted { stream: 9, n_rows: n, start: 0, end: 5 }.indices(n).unwrap();
        let b = RowSelection::Permuted { stream: 9, n_rows: n, start: 5, end: n }.indices(n).unwrap();
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
        assert!(RowSelection::Permuted { stream: 9, n_rows: 16, start: 0, end: 5 }.indices(n).is_err());
        assert!(RowSelection::Range { start: 3, end: 20 }.indices(n).is_err());
    }
}
