//! `ChunkedVector`: a lazy 1-D array (targets, labels, weights) split into row blocks.

use std::marker::PhantomData;

use ndarray::{concatenate, Array1, ArrayView1, Axis};
use rask_core::graph::Layers;
use rask_core::{default_scheduler, Key, Scheduler, Tokenizer, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::blocks::BlockLayer;
use super::chunks::Chunks;
use super::limits::Limits;
use crate::error::{MlError, Result};

/// An element type of chunked vectors: `f64`, `f32` (float targets, weights) or `i64` (labels).
pub trait Element:
    Copy + Default + PartialEq + Send + Sync + Serialize + DeserializeOwned + std::fmt::Debug + 'static
{
    /// The type's name in errors and tokens.
    const DTYPE: &'static str;
    /// Bits that identify the value, for content tokens.
    fn token_bits(self) -> u64;
}

impl Element for f64 {
    const DTYPE: &'static str = "f64";
    fn token_bits(self) -> u64 {
        self.to_bits()
    }
}

impl Element for f32 {
    const DTYPE: &'static str = "f32";
    fn token_bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Element for i64 {
    const DTYPE: &'static str = "i64";
    fn token_bits(self) -> u64 {
        self as u64
    }
}

/// A 1-D array of `T` split into blocks of rows; block `i` is `Array1<T>`.
#[derive(Clone, Debug)]
pub struct ChunkedVector<T> {
    blocks: BlockLayer,
    _t: PhantomData<fn() -> T>,
}

impl<T: Element> ChunkedVector<T> {
    /// Wraps a block layer whose blocks are `Array1<T>`.
    pub fn from_block_layer(blocks: BlockLayer) -> Self {
        ChunkedVector { blocks, _t: PhantomData }
    }

    /// Splits an in-memory vector into blocks with the given row counts (use the `x` array's
    /// chunk sizes to build an aligned target).
    pub fn from_array_with_chunks(a: ArrayView1<'_, T>, sizes: &[usize]) -> Result<Self> {
        let total: usize = sizes.iter().sum();
        if total != a.len() {
            return Err(MlError::ShapeMismatch { what: "sum of chunk sizes".into(), expected: a.len(), found: total });
        }
        if let Some(i) = sizes.iter().position(|&s| s == 0) {
            return Err(MlError::EmptyBlock { block: i });
        }
        if sizes.is_empty() {
            return Err(MlError::EmptyBlock { block: 0 });
        }
        let mut t = Tokenizer::new();
        t.str("rask.ml.vector_from_array").str(T::DTYPE).u64(sizes.len() as u64);
        for &s in sizes {
            t.u64(s as u64);
        }
        for &x in a.iter() {
            t.u64(x.token_bits());
        }
        let name = rask_core::KeyName::new(&format!("vector-{}", t.finish().hex()));
        let mut values = Vec::with_capacity(sizes.len());
        let mut start = 0;
        for &n in sizes {
            values.push(Value::new(a.slice(ndarray::s![start..start + n]).to_owned()));
            start += n;
        }
        Ok(Self::from_block_layer(BlockLayer::from_values(name, Chunks::Known(sizes.to_vec()), values)))
    }

    /// Splits an in-memory vector into blocks of `chunk_rows` rows.
    pub fn from_array(a: ArrayView1<'_, T>, chunk_rows: usize) -> Result<Self> {
        if chunk_rows == 0 {
            return Err(MlError::InvalidParameter { name: "chunk_rows", message: "must be at least 1".into() });
        }
        let limits = Limits::current()?;
        limits.check_block_bytes(
            "ChunkedVector::from_array",
            chunk_rows.min(a.len()) as u64,
            1,
            std::mem::size_of::<T>() as u64,
            &format!("n_rows = {}, chunk_rows = {chunk_rows}", a.len()),
        )?;
        match Chunks::try_regular("ChunkedVector::from_array", a.len(), chunk_rows, &limits)? {
            Chunks::Known(sizes) => Self::from_array_with_chunks(a, &sizes),
            Chunks::Unknown { .. } => unreachable!("regular chunks are known"),
        }
    }

    /// The block layer.
    pub fn block_layer(&self) -> &BlockLayer {
        &self.blocks
    }

    /// The layer name.
    pub fn name(&self) -> &str {
        self.blocks.name()
    }

    /// The key of block `i`.
    pub fn block_key(&self, i: usize) -> Key {
        self.blocks.block_key(i)
    }

    /// Every block key, in order.
    pub fn block_keys(&self) -> Vec<Key> {
        self.blocks.block_keys()
    }

    /// The whole graph that computes the blocks.
    pub fn graph(&self) -> rask_core::Graph {
        self.blocks.layers().to_graph()
    }

    /// Row chunking.
    pub fn chunks(&self) -> &Chunks {
        self.blocks.chunks()
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.blocks.n_blocks()
    }

    /// Number of rows, if known.
    pub fn len(&self) -> Option<usize> {
        self.chunks().n_rows()
    }

    /// Whether the vector is known to have no rows (never true for a valid vector).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The graph layers.
    pub fn layers(&self) -> &Layers {
        self.blocks.layers()
    }

    /// A lazy check that every value is finite (labels always are); see
    /// [`ChunkedArray::check_finite`](super::ChunkedArray::check_finite).
    pub fn check_finite(&self) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::check_finite(&self.blocks)?))
    }

    /// Global rows `start..end` (needs known chunk sizes).
    pub fn slice_rows(&self, start: usize, end: usize) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::slice_rows(&self.blocks, start, end)?))
    }

    /// The same rows in blocks of `chunk_rows` rows (needs known chunk sizes).
    pub fn rechunk(&self, chunk_rows: usize) -> Result<Self> {
        Ok(Self::from_block_layer(super::rows::rechunk(&self.blocks, chunk_rows)?))
    }

    /// Computes every block on the default scheduler and concatenates them.
    pub fn compute(&self) -> Result<Array1<T>> {
        self.compute_on(&default_scheduler())
    }

    /// Computes every block on `scheduler` and concatenates them.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<Array1<T>> {
        let values = self.blocks.compute_blocks(scheduler)?;
        let blocks = values
            .iter()
            .zip(self.blocks.block_keys())
            .map(|(v, k)| v.get::<Array1<T>>().map_err(|source| rask_core::Error::ValueType { key: k, source }))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(sizes) = self.chunks().sizes() {
            for (i, (b, &n)) in blocks.iter().zip(sizes).enumerate() {
                if b.len() != n {
                    return Err(MlError::ShapeMismatch {
                        what: format!("rows of block {i}"),
                        expected: n,
                        found: b.len(),
                    });
                }
            }
        }
        let slices: Vec<Option<&[T]>> = blocks.iter().map(|b| b.as_slice()).collect();
        if let Some(stacked) = super::rows::stack_blocks(&slices) {
            return Ok(Array1::from(stacked));
        }
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        concatenate(Axis(0), &views)
            .map_err(|e| MlError::InvalidParameter { name: "blocks", message: format!("cannot concatenate: {e}") })
    }

    /// Computes every block on `scheduler` and keeps them in memory.
    pub fn persist_on(&self, scheduler: &Scheduler) -> Result<Self> {
        Ok(Self::from_block_layer(self.blocks.persist(scheduler)?))
    }
}
