//! Row chunk sizes: known, or explicitly unknown (after a filter).
//!
//! The sizes are kept per block, not per row and not as a formula: blocks may be uneven (a
//! file's row groups, a filter's survivors, a row slice), every block-wise operation needs the
//! size of each block, and a block is a task in the graph, so a collection already holds one
//! graph node per block. The block count is what has to stay bounded, and
//! [`Chunks::try_regular`] refuses more blocks than [`Limits::max_blocks`] before allocating.

use serde::{Deserialize, Serialize};

use super::limits::{n_blocks, Limits};
use crate::error::Result;

/// The row counts of a collection's blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Chunks {
    /// Every block's row count is known.
    Known(Vec<usize>),
    /// Only the number of blocks is known.
    Unknown {
        /// Number of blocks.
        n_blocks: usize,
    },
}

impl Chunks {
    /// Sizes that split `n_rows` into blocks of `chunk_rows` (the last one shorter); a
    /// `chunk_rows` of 0 is taken as 1.
    ///
    /// Unchecked: it allocates one entry per block, however many. Sizes that come from a caller
    /// go through [`Chunks::try_regular`].
    pub fn regular(n_rows: usize, chunk_rows: usize) -> Chunks {
        let chunk_rows = chunk_rows.max(1);
        let mut sizes = Vec::with_capacity(n_blocks(n_rows as u64, chunk_rows as u64) as usize);
        let mut left = n_rows;
        while left > 0 {
            let s = left.min(chunk_rows);
            sizes.push(s);
            left -= s;
        }
        Chunks::Known(sizes)
    }

    /// [`Chunks::regular`], refused when `chunk_rows` is 0 or the blocks would be more than
    /// `limits.max_blocks`, before anything is allocated. `what` names the caller for the
    /// error message.
    pub fn try_regular(what: &str, n_rows: usize, chunk_rows: usize, limits: &Limits) -> Result<Chunks> {
        limits.check_regular(
            what,
            n_rows as u64,
            chunk_rows as u64,
            &format!("n_rows = {n_rows}, chunk_rows = {chunk_rows}"),
        )?;
        Ok(Chunks::regular(n_rows, chunk_rows))
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        match self {
            Chunks::Known(s) => s.len(),
            Chunks::Unknown { n_blocks } => *n_blocks,
        }
    }

    /// The sizes, if known.
    pub fn sizes(&self) -> Option<&[usize]> {
        match self {
            Chunks::Known(s) => Some(s),
            Chunks::Unknown { .. } => None,
        }
    }

    /// Total rows, if known.
    pub fn n_rows(&self) -> Option<usize> {
        self.sizes().map(|s| s.iter().sum())
    }

    /// Whether the sizes are known.
    pub fn is_known(&self) -> bool {
        matches!(self, Chunks::Known(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_chunks_cover_every_row_once() {
        assert_eq!(Chunks::regular(10, 4), Chunks::Known(vec![4, 4, 2]));
        assert_eq!(Chunks::regular(8, 4), Chunks::Known(vec![4, 4]));
        assert_eq!(Chunks::regular(0, 4), Chunks::Known(vec![]));
        assert_eq!(Chunks::regular(3, 10).n_rows(), Some(3));
        assert_eq!(Chunks::Unknown { n_blocks: 3 }.n_rows(), None);
    }

    #[test]
    fn try_regular_refuses_too_many_blocks_before_allocating() {
        let limits = Limits { max_blocks: 1_000_000, max_block_bytes: 1 << 30 };
        // Unchecked, these would ask for 10^10 and 2^64 - 1 entries (an abort, not an error).
        let text = Chunks::try_regular("t", 1_000_000_000_000, 100, &limits).unwrap_err().to_string();
        assert!(text.contains("10000000000 blocks of 100 rows (n_rows = 1000000000000, chunk_rows = 100)"), "{text}");
        assert!(Chunks::try_regular("t", usize::MAX, 1, &limits).is_err());
        assert!(Chunks::try_regular("t", 10, 0, &limits).unwrap_err().to_string().contains("chunk_rows"));
        assert_eq!(Chunks::try_regular("t", 10, 4, &limits).unwrap(), Chunks::Known(vec![4, 4, 2]));
        assert_eq!(Chunks::try_regular("t", 1_000_000, 1, &limits).unwrap().n_blocks(), 1_000_000);
    }
}
