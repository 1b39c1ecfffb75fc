//! A mergeable per-column summary of the values of a chunked array: exact value counts while
//! they fit, a deterministic quantile sketch with a certified rank error once they do not.
//!
//! Each block is summarised column by column (NaNs counted and left out, infinite values
//! rejected), and the summaries are tree-reduced in block order. A summary keeps, for each value
//! `v` it retains, bounds on `L(v)` (how many values are smaller) and `U(v)` (how many are
//! smaller or equal). Built from a block they are exact; merging two summaries adds the
//! bounds of both sides (the combine step of Greenwald and Khanna's mergeable summaries), so
//! merging exact summaries stays exact.
//!
//! # Exact mode and its memory cost
//! With `capacity = None` nothing is ever dropped: a column's summary is its sorted distinct
//! values with their counts, so medians, percentiles, modes and category lists are exact. Its
//! size is the number of distinct non-NaN values of the column (five 8-byte numbers each), which
//! for continuous data is about 40 bytes per row per column on the task that holds it.
//!
//! # Approximate mode and its error bound
//! With `capacity = Some(c)` (c ≥ 2), each block's summary and each combine task's merged
//! summary is pruned (once) to at most `c` values, kept so that the `c` evenly spaced ranks
//! `1, 1 + (n − 1)/(c − 1), …, n` are still answered as well as before. A prune of a summary of
//! `m` values adds at most half a target spacing, `(m − 1)/(2(c − 1))`, to its query error, and
//! merging adds the errors of the merged summaries (Greenwald and Khanna's combine lemma); the
//! summaries of one tree level hold at most `n` values together. So a fit over `n` values whose
//! reduction tree has `h` merge levels (`⌈log_s(blocks)⌉` for fan-in `s`) answers any rank query
//! within
//!
//! `rank error ≤ (h + 2) · n / (2 (c − 1)) + 1`
//!
//! ranks (relative error about `(h + 2) / (2c)`; the argument gives `h + 1` levels of prunes,
//! the extra level covers the rounding of target ranks). A summary also certifies its answers
//! from its own stored bounds: [`ColumnSketch::rank_query`] reports a rigorous bound for each
//! answer and [`ColumnSketch::max_rank_error`] the largest; computed from the stored bounds
//! alone, these may be up to twice the a-priori bound. The tests check all three on generated
//! data (see `quantile_sketch_keeps_its_rank_error_bound`).

pub(crate) mod ops;

pub use ops::{ColumnSketch, Entry, Sketches};

use rask_ml::{ChunkedArray, Float, MlError};

/// The sorted distinct values of each column of `x` (exact; NaN and infinite values are
/// rejected): the categories of the encoders.
pub(crate) fn fit_categories<F: Float>(
    x: &ChunkedArray<F>,
    who: &str,
    split_every: usize,
) -> Result<Vec<Vec<f64>>, MlError> {
    let s = ops::sketch_columns(x, None, false, who, split_every)?;
    Ok(s.columns.iter().map(ColumnSketch::distinct).collect())
}

/// The position of `v` among the sorted categories `cats`.
pub(crate) fn find_category(cats: &[f64], v: f64) -> Option<usize> {
    let v = v + 0.0;
    cats.binary_search_by(|c| c.total_cmp(&v)).ok()
}

/// The error for a category not seen when fitting.
pub(crate) fn unknown_category(j: usize, v: f64) -> MlError {
    MlError::InvalidParameter {
        name: "x",
        message: format!("found unknown category {v} in column {j} during transform"),
    }
}

/// Summarises every column of `x` with one tree reduction of fan-in `split_every`: exact with
/// `capacity = None`, else a sketch of at most `capacity` values per column. NaNs are counted
/// and left out; infinite values are an error.
pub fn column_sketches<F: Float>(
    x: &ChunkedArray<F>,
    capacity: Option<usize>,
    split_every: usize,
) -> Result<Sketches, MlError> {
    if capacity.is_some_and(|c| c < 2) {
        return Err(MlError::InvalidParameter { name: "capacity", message: "must be at least 2".into() });
    }
    ops::sketch_columns(x, capacity, true, "the quantile sketch", split_every)
}
