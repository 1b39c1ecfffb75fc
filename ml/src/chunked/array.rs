//! `ChunkedArray`: a lazy 2-D array split into row blocks, each a task-graph node.

use std::marker::PhantomData;

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use rask_core::graph::Layers;
use rask_core::{default_scheduler, Graph, Key, KeyName, Op, Scheduler, TaskOp, Tokenizer, Value};

use super::blocks::{layer_name, BlockLayer};
use super::chunks::Chunks;
use super::lazy::Lazy;
use super::limits::Limits;
use super::linalg::{ApplyQ, BlockQr, PickPart, PickRow, SmallSvd, StackQr};
use super::ops::{
    BinOp, BlockColumnStats, BlockRows, ColumnStats, ColumnSummary, Elementwise, MatMul, MergeColumnStats, Operand,
    SumMatrices, Xtx, Xty,
};
use super::vector::ChunkedVector;
use crate::error::{MlError, Result};
use crate::float::Float;

/// A 2-D array of `F` split into blocks of rows.
///
/// Block `i` is the graph node `(name, i)`. Operations are lazy and add one layer of tasks;
/// nothing runs until [`compute`](Self::compute), [`persist`](Self::persist) or a reduction's
/// `compute`. Every block operation is a registered op, so a chunked array's graph runs on
/// every scheduler, including the serialisation-checked one.
#[derive(Clone, Debug)]
pub struct ChunkedArray<F> {
    blocks: BlockLayer,
    n_cols: usize,
    _f: PhantomData<fn() -> F>,
}

/// The factors of [`ChunkedArray::tsqr`].
#[derive(Clone, Debug)]
pub struct Tsqr {
    /// `Q`, chunked like the input, with orthonormal columns.
    pub q: ChunkedArray<f64>,
    /// `R`, small and upper triangular.
    pub r: Lazy<Array2<f64>>,
}

/// The factors of [`ChunkedArray::svd`].
#[derive(Clone, Debug)]
pub struct ChunkedSvd {
    /// Left singular vectors, chunked like the input.
    pub u: ChunkedArray<f64>,
    /// Singular values, decreasing.
    pub s: Lazy<Array1<f64>>,
    /// Right singular vectors, as rows.
    pub vt: Lazy<Array2<f64>>,
}

/// Options of tree reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReduceOptions {
    /// Inputs per combine task (at least 2).
    pub split_every: usize,
    /// Leave NaNs out (like NumPy's `nanmean`, `nanvar`, …) instead of propagating them.
    pub skip_nan: bool,
}

impl Default for ReduceOptions {
    fn default() -> Self {
        ReduceOptions { split_every: 8, skip_nan: false }
    }
}

/// Lazy column statistics of a chunked array; see [`ChunkedArray::column_stats`].
#[derive(Clone, Debug)]
pub struct LazyColumnStats {
    stats: Lazy<ColumnStats>,
    skip_nan: bool,
}

impl LazyColumnStats {
    /// The raw, mergeable statistics (for estimators that keep them to update later).
    pub fn stats(&self) -> &Lazy<ColumnStats> {
        &self.stats
    }

    /// The key of the merged [`ColumnStats`].
    pub fn key(&self) -> &Key {
        self.stats.key()
    }

    /// The graph that computes it.
    pub fn graph(&self) -> Graph {
        self.stats.graph()
    }

    /// Computes the statistics on the default scheduler.
    pub fn compute(&self) -> Result<ColumnSummary> {
        self.compute_on(&default_scheduler())
    }

    /// Computes the statistics on `scheduler`.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<ColumnSummary> {
        Ok(ColumnSummary::from_stats(&self.stats.compute_on(scheduler)?, self.skip_nan))
    }
}

fn content_token<F: Float>(t: &mut Tokenizer, a: &ArrayView2<'_, F>) {
    t.u64(a.nrows() as u64).u64(a.ncols() as u64);
    // Each element's `f64` bits in logical order, fed a buffer at a time (the same token as one
    // by one, at memory speed).
    let mut buf = [0u64; 512];
    let mut used = 0;
    for x in a.iter() {
        buf[used] = x.widen().to_bits();
        used += 1;
        if used == buf.len() {
            t.u64s(&buf);
            used = 0;
        }
    }
    t.u64s(&buf[..used]);
}

impl<F: Float> ChunkedArray<F> {
    /// Wraps a block layer whose blocks are `Array2<F>` with `n_cols` columns. Loaders and
    /// generators use this to expose the layers they build.
    pub fn from_block_layer(blocks: BlockLayer, n_cols: usize) -> Self {
        ChunkedArray { blocks, n_cols, _f: PhantomData }
    }

    /// Splits an in-memory array into blocks of `chunk_rows` rows (the last may be shorter).
    ///
    /// The layer is named by a content token (dtype, shape, chunking and the bytes), so the same
    /// data chunked the same way always gets the same keys.
    pub fn from_array(a: ArrayView2<'_, F>, chunk_rows: usize) -> Result<Self> {
        if chunk_rows == 0 {
            return Err(MlError::InvalidParameter { name: "chunk_rows", message: "must be at least 1".into() });
        }
        if a.nrows() == 0 {
            return Err(MlError::EmptyBlock { block: 0 });
        }
        let limits = Limits::current()?;
        let chunks = Chunks::try_regular("ChunkedArray::from_array", a.nrows(), chunk_rows, &limits)?;
        limits.check_block_bytes(
            "ChunkedArray::from_array",
            chunk_rows.min(a.nrows()) as u64,
            a.ncols() as u64,
            std::mem::size_of::<F>() as u64,
            &format!("n_rows = {}, n_cols = {}, chunk_rows = {chunk_rows}", a.nrows(), a.ncols()),
        )?;
        let mut t = Tokenizer::new();
        t.str("rask.ml.from_array").str(F::DTYPE).u64(chunk_rows as u64);
        content_token(&mut t, &a);
        let name = rask_core::KeyName::new(&format!("array-{}", t.finish().hex()));
        let mut values = Vec::with_capacity(chunks.n_blocks());
        let mut start = 0;
        for &rows in chunks.sizes().unwrap_or(&[]) {
            values.push(Value::new(a.slice(ndarray::s![start..start + rows, ..]).to_owned()));
            start += rows;
        }
        Ok(Self::from_block_layer(BlockLayer::from_values(name, chunks, values), a.ncols()))
    }

    /// Splits an in-memory array into blocks of the given row counts (uneven chunks, e.g. to
    /// match another array's or a file's blocks). Every size must be at least 1 and they must
    /// add up to the number of rows.
    pub fn from_array_with_chunks(a: ArrayView2<'_, F>, sizes: &[usize]) -> Result<Self> {
        let total: usize = sizes.iter().sum();
        if total != a.nrows() {
            return Err(MlError::ShapeMismatch {
                what: "sum of chunk sizes".into(),
                expected: a.nrows(),
                found: total,
            });
        }
        if sizes.is_empty() {
            return Err(MlError::EmptyBlock { block: 0 });
        }
        if let Some(i) = sizes.iter().position(|&s| s == 0) {
            return Err(MlError::EmptyBlock { block: i });
        }
        let mut t = Tokenizer::new();
        t.str("rask.ml.from_array_with_chunks").str(F::DTYPE).u64(sizes.len() as u64);
        for &s in sizes {
            t.u64(s as u64);
        }
        content_token(&mut t, &a);
        let name = rask_core::KeyName::new(&format!("array-{}", t.finish().hex()));
        let mut values = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &rows in sizes {
            values.push(Value::new(a.slice(ndarray::s![start..start + rows, ..]).to_owned()));
            start += rows;
        }
        Ok(Self::from_block_layer(BlockLayer::from_values(name, Chunks::Known(sizes.to_vec()), values), a.ncols()))
    }

    /// Makes a chunked array from blocks already in memory. Every block must have rows, and all
    /// must have the same number of columns.
    pub fn from_blocks(blocks: Vec<Array2<F>>) -> Result<Self> {
        let Some(first) = blocks.first() else {
            return Err(MlError::InvalidParameter { name: "blocks", message: "at least one block is needed".into() });
        };
        let n_cols = first.ncols();
        let mut sizes = Vec::with_capacity(blocks.len());
        let mut t = Tokenizer::new();
        t.str("rask.ml.from_blocks").str(F::DTYPE).u64(blocks.len() as u64);
        for (i, b) in blocks.iter().enumerate() {
            if b.nrows() == 0 {
                return Err(MlError::EmptyBlock { block: i });
            }
            if b.ncols() != n_cols {
                return Err(MlError::RaggedColumns { block: i, expected: n_cols, found: b.ncols() });
            }
            sizes.push(b.nrows());
            content_token(&mut t, &b.view());
        }
        let name = rask_core::KeyName::new(&format!("blocks-{}", t.finish().hex()));
        let values = blocks.into_iter().map(Value::new).collect();
        Ok(Self::from_block_layer(BlockLayer::from_values(name, Chunks::Known(sizes), values), n_cols))
    }

    /// The block layer.
    pub fn block_layer(&self) -> &BlockLayer {
        &self.blocks
    }

    /// The layer name; block `i` is `Key::block(name, i)`.
    pub fn name(&self) -> &str {
        self.blocks.name()
    }

    /// The key of block `i`.
    pub fn block_key(&self, i: usize) -> Key {
        self.blocks.block_key(i)
    }

    /// The keys of every block, in order.
    pub fn block_keys(&self) -> Vec<Key> {
        self.blocks.block_keys()
    }

    /// Row chunking.
    pub fn chunks(&self) -> &Chunks {
        self.blocks.chunks()
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.blocks.n_blocks()
    }

    /// Number of rows, if the chunk sizes are known.
    pub fn n_rows(&self) -> Option<usize> {
        self.chunks().n_rows()
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// The layers of the graph that computes this array.
    pub fn layers(&self) -> &Layers {
        self.blocks.layers()
    }

    /// The graph that computes this array.
    pub fn graph(&self) -> Graph {
        self.layers().to_graph()
    }

    /// Applies a registered op to every block. The op must map an `Array2<F>` block to an
    /// `Array2<G>` block with the same rows and `n_cols_out` columns: the output shape is
    /// declared, never guessed by running the op on dummy data. [`compute`](Self::compute)
    /// checks the declared width.
    pub fn map_blocks<O: Op, G: Float>(&self, op: O, n_cols_out: usize) -> Result<ChunkedArray<G>> {
        Ok(ChunkedArray::from_block_layer(self.blocks.map(op, self.chunks().clone())?, n_cols_out))
    }

    /// `self op rhs`, elementwise, with a scalar or a row broadcast down the rows.
    pub fn binary(&self, op: BinOp, rhs: Operand) -> Result<Self> {
        if let Operand::Row(r) = &rhs {
            if r.len() != self.n_cols {
                return Err(MlError::ShapeMismatch {
                    what: "row operand length".into(),
                    expected: self.n_cols,
                    found: r.len(),
                });
            }
        }
        self.map_blocks(Elementwise { op, rhs }, self.n_cols)
    }

    /// `self + s`.
    pub fn add_scalar(&self, s: f64) -> Result<Self> {
        self.binary(BinOp::Add, Operand::Scalar(s))
    }

    /// `self * s`.
    pub fn mul_scalar(&self, s: f64) -> Result<Self> {
        self.binary(BinOp::Mul, Operand::Scalar(s))
    }

    /// `self - row`, broadcast down the rows.
    pub fn sub_row(&self, row: &[f64]) -> Result<Self> {
        self.binary(BinOp::Sub, Operand::Row(row.to_vec()))
    }

    /// `self / row`, broadcast down the rows.
    pub fn div_row(&self, row: &[f64]) -> Result<Self> {
        self.binary(BinOp::Div, Operand::Row(row.to_vec()))
    }

    /// Count, sum, mean, variance, min and max of every column, in one pass, as a tree
    /// reduction with a fixed combine order (the same bits on every scheduler).
    pub fn column_stats(&self, opts: ReduceOptions) -> Result<LazyColumnStats> {
        let (layers, key) = self.blocks.reduce(
            &[],
            BlockColumnStats { skip_nan: opts.skip_nan },
            MergeColumnStats,
            opts.split_every,
        )?;
        Ok(LazyColumnStats { stats: Lazy::new(layers, key), skip_nan: opts.skip_nan })
    }

    /// `XᵀX` (`n_cols × n_cols`, in `f64`) as a tree reduction of per-block products.
    pub fn xtx(&self, split_every: usize) -> Result<Lazy<Array2<f64>>> {
        let (layers, key) = self.blocks.reduce(&[], Xtx, SumMatrices, split_every)?;
        Ok(Lazy::new(layers, key))
    }

    /// `Xᵀy` (`n_cols × 1`, in `f64`) for a target aligned with this array, block for block.
    pub fn xty<T: super::vector::Element>(
        &self,
        y: &ChunkedVector<T>,
        split_every: usize,
    ) -> Result<Lazy<Array2<f64>>> {
        self.check_aligned(y.chunks())?;
        let (layers, key) = self.blocks.reduce(&[y.block_layer()], Xty, SumMatrices, split_every)?;
        Ok(Lazy::new(layers, key))
    }

    /// `X · W` for a small dense `W` (`n_cols × k`), blockwise; the result has `k` columns.
    pub fn dot(&self, w: &Array2<f64>) -> Result<Self> {
        if w.nrows() != self.n_cols {
            return Err(MlError::ShapeMismatch { what: "rows of W".into(), expected: self.n_cols, found: w.nrows() });
        }
        self.map_blocks(MatMul::new(w), w.ncols())
    }

    /// One k-means assignment pass: each row to its nearest centre (`centres` is `k × d`,
    /// finite), tree-reduced to per-centre sums, counts and the inertia. The kernel is the one
    /// k-means runs ([`crate::nearest`]): centres are ranked by `‖c‖² − 2 x·c`, ties going to
    /// the lower index, and the inertia adds exact squared distances. A row with a NaN or
    /// infinite value fails the pass.
    pub fn assign_nearest(
        &self,
        centres: &Array2<f64>,
        split_every: usize,
    ) -> Result<Lazy<super::kernels::AssignPartials>> {
        if centres.ncols() != self.n_cols || centres.nrows() == 0 {
            return Err(MlError::ShapeMismatch {
                what: "columns of the centres".into(),
                expected: self.n_cols,
                found: centres.ncols(),
            });
        }
        if let Some(bad) = centres.iter().find(|v| !v.is_finite()) {
            return Err(MlError::InvalidParameter {
                name: "centres",
                message: format!("the centres must be finite, one is {bad}"),
            });
        }
        let op = super::kernels::AssignNearest {
            k: centres.nrows(),
            d: centres.ncols(),
            centres: centres.iter().copied().collect(),
            arithmetic: crate::nearest::Arithmetic::local(),
        };
        let (layers, key) = self.blocks.reduce(&[], op, super::kernels::MergeAssignPartials, split_every)?;
        Ok(Lazy::new(layers, key))
    }

    /// Tall-skinny QR: `X = Q R` with `Q` chunked like `X` (orthonormal columns) and `R` small
    /// and upper triangular. Needs known chunk sizes.
    pub fn tsqr(&self) -> Result<Tsqr> {
        let (q, r) = self.tsqr_layers(None)?;
        Ok(Tsqr { q, r })
    }

    /// Thin SVD through TSQR: `X = U diag(s) Vᵀ`, `U` chunked like `X`, singular values in
    /// decreasing order. Needs known chunk sizes.
    pub fn svd(&self) -> Result<ChunkedSvd> {
        let (_, r) = self.tsqr_layers(None)?;
        let svd_name = layer_name(&SmallSvd, &[r.key().name()])?;
        let mut g = Graph::new();
        let svd_key = Key::new(svd_name.clone());
        g.add_task(svd_key.clone(), TaskOp::op(SmallSvd), vec![r.key().clone()]);
        let pick = |g: &mut Graph, name: &str, op: TaskOp| {
            let k = Key::new(format!("{name}-{svd_name}"));
            g.add_task(k.clone(), op, vec![svd_key.clone()]);
            k
        };
        let u_r = pick(&mut g, "u", TaskOp::op(PickPart { index: 0 }));
        let s_key = pick(&mut g, "s", TaskOp::op(PickRow { index: 1 }));
        let vt = pick(&mut g, "vt", TaskOp::op(PickPart { index: 2 }));
        let small = r.layers().with(g);
        let (u, _) = self.tsqr_layers(Some((small.clone(), u_r)))?;
        Ok(ChunkedSvd { u, s: Lazy::new(small.clone(), s_key), vt: Lazy::new(small, vt) })
    }

    /// Builds the TSQR graph. With `right = Some((layers, key))`, each final block is also
    /// multiplied by the matrix at `key` (the SVD's `U_r`).
    fn tsqr_layers(&self, right: Option<(Layers, Key)>) -> Result<(ChunkedArray<f64>, Lazy<Array2<f64>>)> {
        let sizes =
            self.chunks().sizes().ok_or_else(|| MlError::UnknownChunkSizes { operation: "tsqr".into() })?.to_vec();
        if self.n_cols == 0 {
            return Err(MlError::InvalidParameter { name: "n_cols", message: "TSQR needs at least one column".into() });
        }
        let n = self.n_cols;
        let chunks = self.chunks().clone();
        let parts = self.blocks.map(BlockQr, chunks.clone())?;
        let qi = parts.map(PickPart { index: 0 }, chunks.clone())?;
        let ri = parts.map(PickPart { index: 1 }, chunks.clone())?;
        let mut g = Graph::new();
        let stack_name = layer_name(&StackQr, &[ri.name()])?;
        let stack = Key::new(stack_name.clone());
        g.add_task(stack.clone(), TaskOp::op(StackQr), ri.block_keys());
        let q2 = Key::new(format!("q2-{stack_name}"));
        g.add_task(q2.clone(), TaskOp::op(PickPart { index: 0 }), vec![stack.clone()]);
        let r = Key::new(format!("r-{stack_name}"));
        g.add_task(r.clone(), TaskOp::op(PickPart { index: 1 }), vec![stack]);
        let stacked_rows: usize = sizes.iter().map(|&m| m.min(n)).sum();
        let k = stacked_rows.min(n);
        let mut layers = qi.layers().union(ri.layers());
        let right_key = right.as_ref().map(|(_, key)| key.clone());
        let q_name: KeyName = match &right_key {
            Some(rk) => KeyName::new(&format!("u-{}", layer_name(&SmallSvd, &[qi.name(), rk.name()])?)),
            None => KeyName::new(&format!("q-{stack_name}")),
        };
        let mut offset = 0;
        for (i, &m) in sizes.iter().enumerate() {
            let rows = m.min(n);
            let mut inputs = vec![qi.block_key(i), q2.clone()];
            inputs.extend(right_key.clone());
            g.add_task(Key::block(&q_name, i as u64), TaskOp::op(ApplyQ { offset, rows }), inputs);
            offset += rows;
        }
        if let Some((right_layers, _)) = right {
            layers = layers.union(&right_layers);
        }
        let layers = layers.with(g);
        let q = ChunkedArray::from_block_layer(BlockLayer::new(layers.clone(), q_name, chunks)?, k);
        Ok((q, Lazy::new(layers, r)))
    }

    /// A lazy check: computing the result fails, naming block, row and column, if a value is
    /// NaN or infinite; otherwise the blocks pass through unchanged.
    pub fn check_finite(&self) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::check_finite(&self.blocks)?, self.n_cols))
    }

    /// [`check_finite`](Self::check_finite), letting NaN through when `allow_nan`: the check
    /// of a model's input at predict time ([`BlockModel::allows_nan`](crate::BlockModel::allows_nan)).
    pub fn check_values(&self, allow_nan: bool) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::check_values(&self.blocks, allow_nan)?, self.n_cols))
    }

    /// Where the first NaN or infinite value is: `"block 2, row 1 (row 9 overall), column 0
    /// holds NaN"`, or `None` if every value is finite. Computes the blocks one at a time on
    /// the default scheduler: for error messages, after a cheaper pass found a bad value.
    pub fn locate_non_finite(&self) -> Result<Option<String>> {
        Ok(self.locate_bad_value(f64::INFINITY, false)?.map(|(place, _)| place))
    }

    /// Where the first value that is infinite, NaN (unless `allow_nan`) or larger in magnitude
    /// than `limit` is, and the value, as [`locate_non_finite`](Self::locate_non_finite) (an
    /// extra pass, for error messages).
    pub fn locate_bad_value(&self, limit: f64, allow_nan: bool) -> Result<Option<(String, f64)>> {
        let sched = default_scheduler();
        let g = self.blocks.layers().to_graph();
        let mut start = Some(0usize);
        for b in 0..self.n_blocks() {
            let v = sched.compute(&g, &[self.blocks.block_key(b)])?;
            let block = v[0].get::<Array2<F>>().map_err(|e| MlError::InvalidParameter {
                name: "x",
                message: format!("block {b} is not a {} array: {e}", F::DTYPE),
            })?;
            if let Some((row, col, x)) =
                super::rows::first_bad_value(block.iter().map(|v| v.widen()), block.ncols(), allow_nan, limit)
            {
                let overall = start.map(|s| format!(" (row {} overall)", s + row)).unwrap_or_default();
                return Ok(Some((format!("block {b}, row {row}{overall}, column {col} holds {x:e}"), x)));
            }
            start = start.zip(self.chunks().sizes().map(|s| s[b])).map(|(s, n)| s + n);
        }
        Ok(None)
    }

    /// The error for features found to hold a NaN or infinite value: names where (one more
    /// pass, in the error path only) and suggests imputing.
    ///
    /// A finite value larger in magnitude than [`MAX_ABS_VALUE`](super::rows::MAX_ABS_VALUE)
    /// found first gives [`MlError::TooLarge`] instead.
    pub fn non_finite_error(&self, what: &str) -> MlError {
        self.bad_value_error(what, false)
    }

    fn bad_value_error(&self, what: &str, allow_nan: bool) -> MlError {
        match self.locate_bad_value(super::rows::MAX_ABS_VALUE, allow_nan) {
            Ok(Some((p, x))) if x.is_finite() => {
                MlError::TooLarge { what: format!("{what} ({p})"), limit: super::rows::MAX_ABS_VALUE }
            }
            Ok(Some((p, _))) => MlError::NonFinite { what: format!("{what} ({p})") },
            _ => MlError::NonFinite { what: what.to_string() },
        }
    }

    /// Refuses features whose column statistics show a value larger in magnitude than
    /// [`MAX_ABS_VALUE`](super::rows::MAX_ABS_VALUE): [`MlError::TooLarge`] naming the block,
    /// row and column of the first one (one more pass, in the error path only). The shared
    /// check of fits that compute column statistics; `min` and `max` are per column, NaN
    /// ignored.
    pub fn check_value_limit(&self, min: &[f64], max: &[f64]) -> Result<()> {
        let limit = super::rows::MAX_ABS_VALUE;
        let over = |v: &f64| v.is_finite() && v.abs() > limit;
        if min.iter().chain(max).any(over) {
            // NaN may be a missing value here (scalers): look for the large value only.
            return Err(self.bad_value_error("x", true));
        }
        Ok(())
    }

    /// Keeps each row with probability `fraction` (Bernoulli sampling), each block drawing from
    /// its own stream derived from `seed`. The result's chunk sizes are unknown (and a block may
    /// be empty); [`compute_chunk_sizes`](Self::compute_chunk_sizes) makes them known.
    pub fn sample_rows(&self, fraction: f64, seed: u64) -> Result<Self> {
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(MlError::InvalidParameter {
                name: "fraction",
                message: format!("must be in (0, 1], got {fraction}"),
            });
        }
        let ops = (0..self.n_blocks())
            .map(|i| super::rows::SampleRows {
                fraction,
                stream: crate::stream_seed(&["rask.ml.sample_rows"], seed, &[i as u64]),
            })
            .collect();
        let unknown = Chunks::Unknown { n_blocks: self.n_blocks() };
        Ok(Self::from_block_layer(self.blocks.zip_map_each(&[], ops, unknown)?, self.n_cols))
    }

    /// Global rows `start..end` (needs known chunk sizes).
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::slice_rows(&self.blocks, start, end)?, self.n_cols))
    }

    /// The same rows in blocks of `chunk_rows` rows (needs known chunk sizes).
    pub fn rechunk(&self, chunk_rows: usize) -> Result<Self> {
        if let Some(n_rows) = self.blocks.chunks().n_rows() {
            Limits::current()?.check_block_bytes(
                "rechunk",
                chunk_rows.min(n_rows) as u64,
                self.n_cols as u64,
                std::mem::size_of::<F>() as u64,
                &format!("n_rows = {n_rows}, n_cols = {}, chunk_rows = {chunk_rows}", self.n_cols),
            )?;
        }
        Ok(Self::from_block_layer(super::rows::rechunk(&self.blocks, chunk_rows)?, self.n_cols))
    }

    /// The rows of several arrays one after the other (same column count).
    pub fn concat(parts: &[&Self]) -> Result<Self> {
        let first = parts
            .first()
            .ok_or_else(|| MlError::InvalidParameter { name: "parts", message: "nothing to concatenate".into() })?;
        for p in parts {
            if p.n_cols != first.n_cols {
                return Err(MlError::ShapeMismatch {
                    what: "columns of concatenated arrays".into(),
                    expected: first.n_cols,
                    found: p.n_cols,
                });
            }
        }
        let layers: Vec<&BlockLayer> = parts.iter().map(|p| &p.blocks).collect();
        Ok(Self::from_block_layer(BlockLayer::concat(&layers)?, first.n_cols))
    }

    /// Checks that `other` has the same chunking (same sizes when both are known, else the same
    /// number of blocks).
    pub fn check_aligned(&self, other: &Chunks) -> Result<()> {
        let ok = match (self.chunks().sizes(), other.sizes()) {
            (Some(a), Some(b)) => a == b,
            _ => self.n_blocks() == other.n_blocks(),
        };
        if ok {
            Ok(())
        } else {
            Err(MlError::MisalignedChunks { left: self.chunks().clone(), right: other.clone() })
        }
    }

    /// Computes the row count of every block, for arrays whose chunk sizes are unknown.
    pub fn compute_chunk_sizes(&self) -> Result<Self> {
        self.compute_chunk_sizes_on(&default_scheduler())
    }

    /// [`compute_chunk_sizes`](Self::compute_chunk_sizes) on `scheduler`.
    pub fn compute_chunk_sizes_on(&self, scheduler: &Scheduler) -> Result<Self> {
        let rows = self.blocks.map(BlockRows, self.chunks().clone())?;
        let sizes = rows
            .compute_blocks(scheduler)?
            .iter()
            .zip(rows.block_keys())
            .map(|(v, k)| {
                v.get::<u64>().map(|&n| n as usize).map_err(|source| rask_core::Error::ValueType { key: k, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_block_layer(self.blocks.with_chunks(Chunks::Known(sizes))?, self.n_cols))
    }

    /// Computes every block on the default scheduler and stacks them.
    pub fn compute(&self) -> Result<Array2<F>> {
        self.compute_on(&default_scheduler())
    }

    /// Computes every block on `scheduler` and stacks them. A block whose width differs from
    /// the declared one, or whose rows differ from known chunk sizes, is an error.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<Array2<F>> {
        let keys = self.block_keys();
        let values = self.blocks.compute_blocks(scheduler)?;
        let blocks = values
            .iter()
            .zip(&keys)
            .map(|(v, k)| v.get::<Array2<F>>().map_err(|source| rask_core::Error::ValueType { key: k.clone(), source }))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, b) in blocks.iter().enumerate() {
            if b.ncols() != self.n_cols {
                return Err(MlError::RaggedColumns { block: i, expected: self.n_cols, found: b.ncols() });
            }
            if let Some(sizes) = self.chunks().sizes() {
                if b.nrows() != sizes[i] {
                    return Err(MlError::ShapeMismatch {
                        what: format!("rows of block {i}"),
                        expected: sizes[i],
                        found: b.nrows(),
                    });
                }
            }
        }
        let slices: Vec<Option<&[F]>> = blocks.iter().map(|b| b.as_slice()).collect();
        if let Some(stacked) = super::rows::stack_blocks(&slices) {
            let rows = blocks.iter().map(|b| b.nrows()).sum::<usize>();
            return Array2::from_shape_vec((rows, self.n_cols), stacked).map_err(|e| MlError::InvalidParameter {
                name: "blocks",
                message: format!("cannot stack blocks: {e}"),
            });
        }
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        concatenate(Axis(0), &views)
            .map_err(|e| MlError::InvalidParameter { name: "blocks", message: format!("cannot stack blocks: {e}") })
    }

    /// Computes every block on `scheduler` and keeps them in memory: the result's graph holds
    /// only data, so later operations start from the computed blocks.
    pub fn persist_on(&self, scheduler: &Scheduler) -> Result<Self> {
        Ok(Self::from_block_layer(self.blocks.persist(scheduler)?, self.n_cols))
    }

    /// [`persist_on`](Self::persist_on) the default scheduler.
    pub fn persist(&self) -> Result<Self> {
        self.persist_on(&default_scheduler())
    }
}
