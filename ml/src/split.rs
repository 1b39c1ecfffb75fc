//! Splitters for chunked datasets: `train_test_split`, `KFold`, `StratifiedKFold` and
//! `ShuffleSplit`.
//!
//! Shuffling is blockwise, as in dask-ml's default: each block's rows are permuted with their
//! own random stream, derived from (seed, splitter, split number, block index), and split
//! there. No row crosses blocks, so splitting costs one pass and no data moves between workers.
//! Every split of a multi-split splitter has its own derived seed, so no two splits repeat by
//! accident. Blocks that would end up empty on one side are left out of that side.

use std::collections::HashMap;

use ndarray::ArrayView1;
use rask_core::{default_scheduler, Scheduler};

use crate::stream_seed;

use crate::chunked::rows::{GatherRows, RowSelection, TakeRows};
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
    let streams: Vec<u64> = (0..sizes.len()).map(|i| stream_seed(&[splitter], seed, &[split, i as u64])).collect();
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
                let streams: Vec<u64> =
                    (0..sizes.len()).map(|i| stream_seed(&["rask.ml.kfold"], seed, &[0, i as u64])).collect();
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

/// K folds that keep every class's share of the rows in each test side, assigning rows to
/// folds exactly as scikit-learn 1.6's `StratifiedKFold(shuffle=False)` does.
///
/// Classes are numbered in order of first appearance in `y`. The rows of the classes, sorted by
/// that number, are dealt round robin over the folds to decide how many rows of each class
/// every fold receives; then each class's rows, in row order, fill fold 0 first, then fold 1,
/// and so on. Test fold `i` is the rows assigned to fold `i`, in row order, and its train side
/// is every other row, in row order.
///
/// Finding the folds needs every label: [`split`](Self::split) computes `y` once (labels are
/// small), then builds the folds lazily. Each output block holds the selected rows of one input
/// block (blocks with none selected are left out), so no row moves between blocks. The folds'
/// graphs compute `y` again unless the dataset was persisted.
///
/// Shuffling is not offered: scikit-learn's shuffled variant permutes each class's fold
/// assignments with a global random stream, which has no blockwise equivalent here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StratifiedKFold {
    /// Number of folds (at least 2).
    pub n_splits: usize,
}

impl StratifiedKFold {
    fn check_at_least_two(&self) -> Result<()> {
        if self.n_splits < 2 {
            return Err(MlError::InvalidParameter {
                name: "n_splits",
                message: format!("must be at least 2, got {}", self.n_splits),
            });
        }
        Ok(())
    }

    fn check_n_splits(&self, n_rows: usize) -> Result<()> {
        self.check_at_least_two()?;
        if self.n_splits > n_rows {
            return Err(MlError::InvalidParameter {
                name: "n_splits",
                message: format!("cannot have n_splits={} greater than the number of rows ({n_rows})", self.n_splits),
            });
        }
        Ok(())
    }

    /// The fold whose test side each row belongs to, for labels `y`.
    ///
    /// Errors: fewer than 2 folds, more folds than rows, or more folds than the members of
    /// every class (as scikit-learn; a class smaller than `n_splits` is allowed as long as some
    /// class is large enough, and is then missing from some folds).
    pub fn test_folds(&self, y: ArrayView1<'_, i64>) -> Result<Vec<usize>> {
        let n = y.len();
        self.check_n_splits(n)?;
        let k = self.n_splits;
        // Class codes in order of first appearance, as scikit-learn re-encodes them.
        let mut code_of: HashMap<i64, usize> = HashMap::new();
        let mut counts: Vec<usize> = Vec::new();
        let mut codes = Vec::with_capacity(n);
        for &label in y.iter() {
            let next = counts.len();
            let code = *code_of.entry(label).or_insert(next);
            if code == next {
                counts.push(0);
            }
            counts[code] += 1;
            codes.push(code);
        }
        let largest = counts.iter().copied().max().unwrap_or(0);
        if k > largest {
            return Err(MlError::InvalidParameter {
                name: "n_splits",
                message: format!(
                    "n_splits={k} cannot be greater than the number of members in each class \
                     (the largest class has {largest})"
                ),
            });
        }
        // In the codes sorted, class `c` holds positions `start[c]..start[c] + counts[c]`, and
        // fold `f` receives the positions `p` with `p % k == f`. `dealt(x, f)` counts those
        // below `x`, so class `c` gives fold `f` `dealt(end, f) - dealt(start, f)` rows.
        let dealt = |x: usize, f: usize| x / k + usize::from(f < x % k);
        let mut start = Vec::with_capacity(counts.len());
        let mut acc = 0;
        for &c in &counts {
            start.push(acc);
            acc += c;
        }
        let allocation = |c: usize, f: usize| dealt(start[c] + counts[c], f) - dealt(start[c], f);
        // Per class: the fold being filled and the rows it still takes.
        let mut fold: Vec<usize> = vec![0; counts.len()];
        let mut left: Vec<usize> = (0..counts.len()).map(|c| allocation(c, 0)).collect();
        let mut out = Vec::with_capacity(n);
        for &c in &codes {
            while left[c] == 0 {
                // The allocations of class `c` sum to its count, so a fold with room follows.
                fold[c] += 1;
                left[c] = allocation(c, fold[c]);
            }
            left[c] -= 1;
            out.push(fold[c]);
        }
        Ok(out)
    }

    /// The `n_splits` (train, test) pairs, fold 0 first, computing the labels on the default
    /// scheduler.
    pub fn split<F: Float>(&self, ds: &ChunkedDataset<F, i64>) -> Result<Vec<TrainTest<F, i64>>> {
        self.split_on(ds, &default_scheduler())
    }

    /// The `n_splits` (train, test) pairs, fold 0 first, computing the labels on `scheduler`.
    ///
    /// Errors, before anything is computed: fewer than 2 folds, unknown chunk sizes, no
    /// target, more folds than rows; once the labels are known, more folds than the members of
    /// every class.
    pub fn split_on<F: Float>(
        &self,
        ds: &ChunkedDataset<F, i64>,
        scheduler: &Scheduler,
    ) -> Result<Vec<TrainTest<F, i64>>> {
        self.check_at_least_two()?;
        let sizes = ds
            .x()
            .chunks()
            .sizes()
            .ok_or_else(|| MlError::UnknownChunkSizes { operation: "StratifiedKFold".into() })?
            .to_vec();
        let y = ds.y_required("StratifiedKFold")?;
        let n: usize = sizes.iter().sum();
        self.check_n_splits(n)?;
        let labels = y.compute_on(scheduler)?;
        if labels.len() != n {
            return Err(MlError::ShapeMismatch {
                what: "number of labels (rows of x)".into(),
                expected: n,
                found: labels.len(),
            });
        }
        let folds = self.test_folds(labels.view())?;
        (0..self.n_splits)
            .map(|fold| {
                let test_runs = runs_per_block(&folds, &sizes, |f| f == fold);
                let train_runs = runs_per_block(&folds, &sizes, |f| f != fold);
                let train = ds.map_rows(|l| gather_runs(l, &train_runs))?;
                let test = ds.map_rows(|l| gather_runs(l, &test_runs))?;
                Ok((train, test))
            })
            .collect()
    }
}

/// For each block (of `sizes`), the maximal runs `(start, end)` of its rows, block-relative,
/// whose fold satisfies `keep`.
fn runs_per_block(folds: &[usize], sizes: &[usize], keep: impl Fn(usize) -> bool) -> Vec<Vec<(usize, usize)>> {
    let mut out = Vec::with_capacity(sizes.len());
    let mut offset = 0;
    for &n in sizes {
        let block = &folds[offset..offset + n];
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (r, &f) in block.iter().enumerate() {
            if keep(f) {
                match runs.last_mut() {
                    Some(last) if last.1 == r => last.1 = r + 1,
                    _ => runs.push((r, r + 1)),
                }
            }
        }
        out.push(runs);
        offset += n;
    }
    out
}

/// One output block per input block with selected rows: the runs of that block, stacked in
/// order (a `GatherRows` reading the block once per run). Blocks with no run are left out.
fn gather_runs(layer: &BlockLayer, runs: &[Vec<(usize, usize)>]) -> Result<BlockLayer> {
    let mut ops = Vec::new();
    let mut inputs = Vec::new();
    let mut out_sizes = Vec::new();
    for (b, block_runs) in runs.iter().enumerate() {
        if block_runs.is_empty() {
            continue;
        }
        out_sizes.push(block_runs.iter().map(|&(s, e)| e - s).sum());
        inputs.push(vec![b; block_runs.len()]);
        ops.push(GatherRows { pieces: block_runs.clone() });
    }
    if ops.is_empty() {
        return Err(MlError::InvalidParameter { name: "n_splits", message: "a fold side would have no rows".into() });
    }
    layer.regroup(ops, inputs, Chunks::Known(out_sizes))
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

    #[test]
    fn runs_are_maximal_and_block_relative() {
        let folds = [0, 0, 1, 0, 1, 1, 0, 0];
        assert_eq!(runs_per_block(&folds, &[3, 5], |f| f == 0), vec![vec![(0, 2)], vec![(0, 1), (3, 5)]]);
        assert_eq!(runs_per_block(&folds, &[3, 5], |f| f == 1), vec![vec![(2, 3)], vec![(1, 3)]]);
        assert_eq!(runs_per_block(&folds, &[8], |f| f == 2), vec![Vec::<(usize, usize)>::new()]);
    }
}
