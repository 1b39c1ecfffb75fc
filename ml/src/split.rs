//! Splitters for chunked datasets: `train_test_split`, `KFold` and `ShuffleSplit`.
//!
//! Shuffling is blockwise, as in dask-ml's default: each block's rows are permuted with their
//! own random stream, derived from (seed, splitter, split number, block index), and split
//! there. No row crosses blocks, so splitting costs one pass and no data moves between workers.
//! Every split of a multi-split splitter has its own derived seed, so no two splits repeat by
//! accident. Blocks that would end up empty on one side are left out of that side.

use rask_core::Tokenizer;

use crate::chunked::rows::{RowSelection, TakeRows};
use crate::chunked::{BlockLayer, ChunkedDataset, Chunks, Element};
use crate::error::{MlError, Result};
use crate::float::Float;

/// A (train, test) pair of datasets.
pub type TrainTest<F, Y> = (ChunkedDataset<F, Y>, ChunkedDataset<F, Y>);

/// How much of the data goes to the test side.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TestSize {
    /// A fraction in (0, 1) of the rows.
    Fraction(f64),
    /// An exact number of rows.
    Rows(usize),
}

fn stream(splitter: &str, seed: u64, split: u64, block: usize) -> u64 {
    Tokenizer::new().str(splitter).u64(seed).u64(split).u64(block as u64).finish().0 as u64
}

/// Test rows per block: `total_test` rows spread in proportion to block sizes, by largest
/// remainder, so the total is exact.
fn spread(sizes: &[usize], total_test: usize) -> Vec<usize> {
    let n = sizes.iter().sum::<usize>() as u128;
    let t = total_test as u128;
    // u128: `size × total` overflows u64 for tens of billions of rows.
    let mut base: Vec<usize> = sizes.iter().map(|&s| (s as u128 * t / n) as usize).collect();
    let mut left = total_test - base.iter().sum::<usize>();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    // Largest remainder first; ties by block order, so the result is deterministic.
    by_remainder.sort_by_key(|&i| std::cmp::Reverse((sizes[i] as u128 * t) % n));
    for &i in &by_remainder {
        if left == 0 {
            break;
        }
        if base[i] < sizes[i] {
            base[i] += 1;
            left -= 1;
        }
    }
    base
}

fn resolve_test_rows(size: TestSize, n: usize) -> Result<usize> {
    let rows = match size {
        TestSize::Fraction(f) => {
            if !(f > 0.0 && f < 1.0) {
                return Err(MlError::InvalidParameter {
                    name: "test_size",
                    message: format!("a fraction must be in (0, 1), got {f}"),
                });
            }
            // scikit-learn rounds the test side up.
            (f * n as f64).ceil() as usize
        }
        TestSize::Rows(r) => r,
    };
    if rows == 0 || rows >= n {
        return Err(MlError::InvalidParameter {
            name: "test_size",
            message: format!("{rows} test rows out of {n} leaves one side empty"),
        });
    }
    Ok(rows)
}

/// Selects, from each block, positions `range(block)` of its permutation; blocks with nothing
/// selected are left out.
fn select_permuted(
    layer: &BlockLayer,
    sizes: &[usize],
    streams: &[u64],
    range: impl Fn(usize) -> (usize, usize),
) -> Result<BlockLayer> {
    let mut ops = Vec::new();
    let mut inputs = Vec::new();
    let mut out_sizes = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let (start, end) = range(i);
        if end > start {
            ops.push(TakeRows { rows: RowSelection::Permuted { stream: streams[i], n_rows: n, start, end } });
            inputs.push(vec![i]);
            out_sizes.push(end - start);
        }
    }
    layer.regroup(ops, inputs, Chunks::Known(out_sizes))
}

/// Splits a dataset into train and test parts, blockwise (see the module docs).
pub fn train_test_split<F: Float, Y: Element>(
    ds: &ChunkedDataset<F, Y>,
    test_size: TestSize,
    seed: u64,
) -> Result<TrainTest<F, Y>> {
    split_once(ds, test_size, "rask.ml.train_test_split", seed, 0)
}

fn split_once<F: Float, Y: Element>(
    ds: &ChunkedDataset<F, Y>,
    test_size: TestSize,
    splitter: &str,
    seed: u64,
    split: u64,
) -> Result<TrainTest<F, Y>> {
    let sizes = ds
        .x()
        .chunks()
        .sizes()
        .ok_or_else(|| MlError::UnknownChunkSizes { operation: "train_test_split".into() })?
        .to_vec();
    let n: usize = sizes.iter().sum();
    let test = spread(&sizes, resolve_test_rows(test_size, n)?);
    let streams: Vec<u64> = (0..sizes.len()).map(|i| stream(splitter, seed, split, i)).collect();
    let train_ds = ds.map_rows(|l| select_permuted(l, &sizes, &streams, |i| (test[i], sizes[i])))?;
    let test_ds = ds.map_rows(|l| select_permuted(l, &sizes, &streams, |i| (0, test[i])))?;
    Ok((train_ds, test_ds))
}

/// How [`TrainTestSplit`] shuffles before splitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shuffle {
    /// Permute rows within each block (one pass; no data moves between blocks).
    Blockwise,
    /// Shuffle rows across all blocks first (see [`ChunkedDataset::shuffle`]), then split
    /// blockwise: test rows are drawn from every block, and each side's blocks mix rows from
    /// all input blocks. Costs an all-to-all exchange of the data.
    Full,
}

/// A train/test split with every option spelled out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainTestSplit {
    /// Size of the test side.
    pub test_size: TestSize,
    /// Seed of every random stream involved.
    pub seed: u64,
    /// How rows are shuffled.
    pub shuffle: Shuffle,
}

impl TrainTestSplit {
    /// Splits `ds`.
    pub fn split<F: Float, Y: Element>(&self, ds: &ChunkedDataset<F, Y>) -> Result<TrainTest<F, Y>> {
        match self.shuffle {
            Shuffle::Blockwise => split_once(ds, self.test_size, "rask.ml.train_test_split", self.seed, 0),
            Shuffle::Full => {
                let shuffled = ds.shuffle(self.seed, ds.n_blocks())?;
                split_once(&shuffled, self.test_size, "rask.ml.train_test_split_full", self.seed, 0)
            }
        }
    }
}

/// Random train/test splits, each drawn blockwise with its own derived seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShuffleSplit {
    /// Number of splits.
    pub n_splits: usize,
    /// Size of each test side.
    pub test_size: TestSize,
    /// Seed; split `s` uses a stream derived from (seed, s).
    pub seed: u64,
}

impl ShuffleSplit {
    /// All splits.
    pub fn split<F: Float, Y: Element>(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        if self.n_splits == 0 {
            return Err(MlError::InvalidParameter { name: "n_splits", message: "must be at least 1".into() });
        }
        (0..self.n_splits as u64)
            .map(|s| split_once(ds, self.test_size, "rask.ml.shuffle_split", self.seed, s))
            .collect()
    }
}

/// K contiguous folds over the rows in order; each fold is the test side once.
///
/// Fold sizes follow scikit-learn: the first `n % k` folds have one row more. With
/// `shuffle_within_blocks = Some(seed)`, each block's rows are first permuted with their own
/// stream (rows never cross blocks; this is not scikit-learn's global shuffle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KFold {
    /// Number of folds (at least 2).
    pub n_splits: usize,
    /// Permute rows within each block, with this seed, before folding.
    pub shuffle_within_blocks: Option<u64>,
}

impl KFold {
    /// The `n_splits` (train, test) pairs, fold 0 first.
    pub fn split<F: Float, Y: Element>(&self, ds: &ChunkedDataset<F, Y>) -> Result<Vec<TrainTest<F, Y>>> {
        let sizes =
            ds.x().chunks().sizes().ok_or_else(|| MlError::UnknownChunkSizes { operation: "KFold".into() })?.to_vec();
        let n: usize = sizes.iter().sum();
        if self.n_splits < 2 || self.n_splits > n {
            return Err(MlError::InvalidParameter {
                name: "n_splits",
                message: format!("must be between 2 and the number of rows ({n}), got {}", self.n_splits),
            });
        }
        let base = match self.shuffle_within_blocks {
            Some(seed) => {
                let streams: Vec<u64> = (0..sizes.len()).map(|i| stream("rask.ml.kfold", seed, 0, i)).collect();
                ds.map_rows(|l| select_permuted(l, &sizes, &streams, |i| (0, sizes[i])))?
            }
            None => ds.clone(),
        };
        let k = self.n_splits;
        let mut out = Vec::with_capacity(k);
        let mut start = 0;
        for fold in 0..k {
            let len = n / k + usize::from(fold < n % k);
            let end = start + len;
            let test = base.slice_rows(start, end)?;
            let mut train_parts = Vec::new();
            if start > 0 {
                train_parts.push(base.slice_rows(0, start)?);
            }
            if end < n {
                train_parts.push(base.slice_rows(end, n)?);
            }
            let refs: Vec<&ChunkedDataset<F, Y>> = train_parts.iter().collect();
            out.push((ChunkedDataset::concat(&refs)?, test));
            start = end;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_exact_and_proportional() {
        assert_eq!(spread(&[10, 10, 10], 6), vec![2, 2, 2]);
        let s = spread(&[7, 30, 1, 62], 25);
        assert_eq!(s.iter().sum::<usize>(), 25);
        assert!(s.iter().zip([7, 30, 1, 62]).all(|(&t, n)| t <= n));
        assert_eq!(spread(&[5], 3), vec![3]);
    }
}
