//! Row chunk sizes: known, or explicitly unknown (after a filter).

use serde::{Deserialize, Serialize};

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
    pub fn regular(n_rows: usize, chunk_rows: usize) -> Chunks {
        let chunk_rows = chunk_rows.max(1);
        let mut sizes = Vec::with_capacity(n_rows.div_ceil(chunk_rows.max(1)));
        let mut left = n_rows;
        while left > 0 {
            let s = left.min(chunk_rows);
            sizes.push(s);
            left -= s;
        }
        Chunks::Known(sizes)
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
}
