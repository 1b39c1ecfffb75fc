//! `ChunkedArray`: a lazy 2-D array split into row blocks, each a task-graph node.

use std::marker::PhantomData;
use std::sync::Arc;

use ndarray::{concatenate, Array2, ArrayView2, Axis};
use rask_core::graph::Layers;
use rask_core::ops::{op_args, token_name};
use rask_core::{default_scheduler, Graph, Key, Node, Op, Scheduler, Task, TaskOp, Tokenizer, Value};

use super::chunks::Chunks;
use super::ops::{BinOp, BlockColumnStats, ColumnStats, ColumnSummary, Elementwise, MergeColumnStats, Operand};
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
    layers: Layers,
    name: Arc<str>,
    chunks: Chunks,
    n_cols: usize,
    _f: PhantomData<fn() -> F>,
}

/// The name of a layer that applies `op` to the layers `inputs`, blockwise.
fn layer_name<O: Op>(op: &O, inputs: &[&str]) -> Result<Arc<str>> {
    let args = op_args(op)?;
    let mut t = Tokenizer::new();
    t.str(O::NAME).u64(u64::from(O::VERSION)).bytes(&args);
    for i in inputs {
        t.str(i);
    }
    Ok(token_name(O::NAME, t.finish()))
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
    layers: Layers,
    key: Key,
    skip_nan: bool,
}

impl LazyColumnStats {
    /// The key of the merged [`ColumnStats`].
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The graph that computes it.
    pub fn graph(&self) -> Graph {
        self.layers.to_graph()
    }

    /// Computes the statistics on the default scheduler.
    pub fn compute(&self) -> Result<ColumnSummary> {
        self.compute_on(&default_scheduler())
    }

    /// Computes the statistics on `scheduler`.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<ColumnSummary> {
        let stats: ColumnStats = scheduler.get(&self.graph(), &self.key)?;
        Ok(ColumnSummary::from_stats(&stats, self.skip_nan))
    }
}

impl<F: Float> ChunkedArray<F> {
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
        let chunks = Chunks::regular(a.nrows(), chunk_rows);
        let mut t = Tokenizer::new();
        t.str("rask.ml.from_array").str(F::DTYPE).u64(a.nrows() as u64).u64(a.ncols() as u64).u64(chunk_rows as u64);
        for x in a.iter() {
            t.u64(x.widen().to_bits());
        }
        let name: Arc<str> = format!("array-{}", t.finish().hex()).into();
        let mut g = Graph::with_capacity(chunks.n_blocks());
        let mut start = 0;
        for (i, &rows) in chunks.sizes().unwrap_or(&[]).iter().enumerate() {
            let block = a.slice(ndarray::s![start..start + rows, ..]).to_owned();
            g.insert(Key::block(name.clone(), i as u64), Node::Data(Value::new(block)));
            start += rows;
        }
        Ok(ChunkedArray { layers: Layers::from_graph(g), name, chunks, n_cols: a.ncols(), _f: PhantomData })
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
            t.u64(b.nrows() as u64).u64(b.ncols() as u64);
            for x in b.iter() {
                t.u64(x.widen().to_bits());
            }
        }
        let name: Arc<str> = format!("blocks-{}", t.finish().hex()).into();
        let mut g = Graph::with_capacity(blocks.len());
        for (i, b) in blocks.into_iter().enumerate() {
            g.insert(Key::block(name.clone(), i as u64), Node::Data(Value::new(b)));
        }
        Ok(ChunkedArray { layers: Layers::from_graph(g), name, chunks: Chunks::Known(sizes), n_cols, _f: PhantomData })
    }

    /// The layer name; block `i` is `Key::block(name, i)`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key of block `i`.
    pub fn block_key(&self, i: usize) -> Key {
        Key::block(self.name.clone(), i as u64)
    }

    /// The keys of every block, in order.
    pub fn block_keys(&self) -> Vec<Key> {
        (0..self.chunks.n_blocks()).map(|i| self.block_key(i)).collect()
    }

    /// Row chunking.
    pub fn chunks(&self) -> &Chunks {
        &self.chunks
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.chunks.n_blocks()
    }

    /// Number of rows, if the chunk sizes are known.
    pub fn n_rows(&self) -> Option<usize> {
        self.chunks.n_rows()
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// The layers of the graph that computes this array.
    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// The graph that computes this array.
    pub fn graph(&self) -> Graph {
        self.layers.to_graph()
    }

    /// A new layer with `op` applied to every block; same chunking, `n_cols` columns.
    fn blockwise<O: Op + Clone, G: Float>(&self, op: O, n_cols: usize) -> Result<ChunkedArray<G>> {
        let name = layer_name(&op, &[&self.name])?;
        let mut g = Graph::with_capacity(self.n_blocks());
        let op = TaskOp::op(op);
        for i in 0..self.n_blocks() {
            g.insert(
                Key::block(name.clone(), i as u64),
                Node::Task(Task { op: op.clone(), inputs: vec![self.block_key(i)] }),
            );
        }
        Ok(ChunkedArray { layers: self.layers.with(g), name, chunks: self.chunks.clone(), n_cols, _f: PhantomData })
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
        self.blockwise(Elementwise { op, rhs }, self.n_cols)
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
        if opts.split_every < 2 {
            return Err(MlError::InvalidParameter {
                name: "split_every",
                message: format!("must be at least 2, got {}", opts.split_every),
            });
        }
        let per_block = BlockColumnStats { skip_nan: opts.skip_nan };
        let name = layer_name(&per_block, &[&self.name])?;
        let mut g = Graph::with_capacity(self.n_blocks() * 2);
        let op = TaskOp::op(per_block);
        let parts: Vec<Key> = (0..self.n_blocks())
            .map(|i| {
                let k = Key::block(name.clone(), i as u64);
                g.insert(k.clone(), Node::Task(Task { op: op.clone(), inputs: vec![self.block_key(i)] }));
                k
            })
            .collect();
        let merge_name = layer_name(&MergeColumnStats, &[&name])?;
        let mut counter = 0u64;
        let root = g.tree_reduce(&parts, opts.split_every, |g, _, group| {
            let k = Key::block(merge_name.clone(), counter);
            counter += 1;
            g.insert(k.clone(), Node::Task(Task { op: TaskOp::op(MergeColumnStats), inputs: group.to_vec() }));
            Ok(k)
        })?;
        Ok(LazyColumnStats { layers: self.layers.with(g), key: root, skip_nan: opts.skip_nan })
    }

    /// Computes every block on the default scheduler and stacks them.
    pub fn compute(&self) -> Result<Array2<F>> {
        self.compute_on(&default_scheduler())
    }

    /// Computes every block on `scheduler` and stacks them.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<Array2<F>> {
        let keys = self.block_keys();
        let values = scheduler.compute(&self.graph(), &keys)?;
        let blocks = values
            .iter()
            .zip(&keys)
            .map(|(v, k)| v.get::<Array2<F>>().map_err(|source| rask_core::Error::ValueType { key: k.clone(), source }))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, b) in blocks.iter().enumerate() {
            if b.ncols() != self.n_cols {
                return Err(MlError::RaggedColumns { block: i, expected: self.n_cols, found: b.ncols() });
            }
        }
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        if views.is_empty() {
            return Ok(Array2::zeros((0, self.n_cols)));
        }
        concatenate(Axis(0), &views)
            .map_err(|e| MlError::InvalidParameter { name: "blocks", message: format!("cannot stack blocks: {e}") })
    }

    /// Computes every block on `scheduler` and keeps them in memory: the result's graph holds
    /// only data, so later operations start from the computed blocks.
    pub fn persist_on(&self, scheduler: &Scheduler) -> Result<Self> {
        let keys = self.block_keys();
        let g = scheduler.persist(&self.graph(), &keys)?;
        Ok(ChunkedArray {
            layers: Layers::from_graph(g),
            name: self.name.clone(),
            chunks: self.chunks.clone(),
            n_cols: self.n_cols,
            _f: PhantomData,
        })
    }

    /// [`persist_on`](Self::persist_on) the default scheduler.
    pub fn persist(&self) -> Result<Self> {
        self.persist_on(&default_scheduler())
    }
}
