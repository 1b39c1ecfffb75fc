//! What every generator shares: the row layout, the random streams, the per-block generating
//! op, the `(x, y)` block value with its codecs, the ops that split it, and the graph builder.
//!
//! A generated dataset is three graph layers. The bottom one has one task per block, a
//! [`GenerateBlock`] op that makes the block's features and targets together as an [`XyBlock`];
//! [`BlockX`] and [`BlockY`] then select each part, so the features form a
//! [`ChunkedArray`] of `Array2<f64>` blocks and the targets a [`ChunkedVector`] of `Array1`
//! blocks, aligned block for block.

use rask_core::{op_bail, op_ensure};
use std::fmt::Debug;
use std::sync::Arc;

use ndarray::{Array1, Array2};
use rand::distributions::{Distribution, WeightedIndex};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rask_core::graph::Layers;
use rask_core::ops::{expect_inputs, token_name};
use rask_core::{CodecError, Graph, Key, Node, Op, OpError, Task, TaskOp, Tokenizer, Value, ValueCodec};
use rask_ml::codec::{Array1F64Codec, Array1I64Codec, Array2F64Codec};
use rask_ml::{BlockLayer, ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, Element, Limits, MlError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{DatasetError, Result};

/// How a generated dataset's rows are split into blocks, and the seed they are drawn from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The dataset seed.
    pub seed: u64,
    /// Rows in the whole dataset.
    pub n_samples: u64,
    /// Rows per block; the last block holds the rest.
    pub chunk_rows: u64,
}

impl Layout {
    /// Number of blocks.
    pub fn n_blocks(&self) -> u64 {
        self.n_samples.div_ceil(self.chunk_rows.max(1))
    }

    /// Rows of block `block`, or `None` if there is no such block.
    pub fn block_rows(&self, block: u64) -> Option<usize> {
        if self.chunk_rows == 0 || block >= self.n_blocks() {
            return None;
        }
        let rows = self.chunk_rows.min(self.n_samples - block * self.chunk_rows);
        usize::try_from(rows).ok()
    }

    /// Refuses a layout with more blocks than `limits.max_blocks`, or whose blocks of
    /// `n_features` `f64` columns hold more than `limits.max_block_bytes`; `what` names the
    /// generator for the message. Nothing is allocated, and the arithmetic cannot overflow.
    pub fn check_limits(&self, what: &str, n_features: usize, limits: &Limits) -> Result<(), MlError> {
        let params =
            format!("n_samples = {}, chunk_rows = {}, n_features = {n_features}", self.n_samples, self.chunk_rows);
        limits.check_regular(what, self.n_samples, self.chunk_rows, &params)?;
        limits.check_block_bytes(what, self.chunk_rows.min(self.n_samples), n_features as u64, F64_BYTES, &params)
    }

    /// The row chunking: blocks of `chunk_rows`, the last one shorter when they do not divide.
    /// Unchecked: [`Layout::check_limits`] first (the generators' `check` does).
    pub fn chunks(&self) -> Chunks {
        Chunks::regular(self.n_samples as usize, self.chunk_rows as usize)
    }
}

/// Bytes of one `f64`, the element type of generated features.
const F64_BYTES: u64 = std::mem::size_of::<f64>() as u64;

/// Refuses `n_samples` rows of `n_features` columns in blocks of `chunk_rows` when they exceed
/// [`Limits::current`] (see [`Layout::check_limits`]): every generator's `check` calls it before
/// anything is drawn or allocated.
pub(crate) fn check_size(what: &str, n_samples: usize, chunk_rows: usize, n_features: usize) -> Result<()> {
    let layout = Layout { seed: 0, n_samples: n_samples as u64, chunk_rows: chunk_rows as u64 };
    layout.check_limits(what, n_features, &Limits::current()?)?;
    Ok(())
}

/// The seed of the stream a generator draws its shared quantities from (centres, centroids,
/// covariance transforms, coefficients, feature permutation): [`rask_ml::stream_seed`] of the
/// generator's op name and `"global"`, with the dataset seed. It is drawn from once, when the graph is built, and
/// the draws travel to every block in the op arguments, so all blocks agree.
pub fn global_stream_seed(op_name: &str, seed: u64) -> u64 {
    rask_ml::stream_seed(&[op_name, "global"], seed, &[])
}

/// The seed of block `block`'s own stream: [`rask_ml::stream_seed`] of (op name; seed; block), never
/// `seed + block`, whose neighbouring seeds would share streams shifted by one block.
pub fn block_stream_seed(op_name: &str, seed: u64, block: u64) -> u64 {
    rask_ml::stream_seed(&[op_name], seed, &[block])
}

/// The drawn parameters of one generated dataset, which every block task carries.
///
/// Implemented by the `*Spec` types; [`GenerateBlock<S>`] is the op that runs it.
pub trait BlockSpec: Serialize + DeserializeOwned + Debug + Send + Sync + 'static {
    /// The target element type: `i64` labels or `f64` values.
    type Y: Element;
    /// The name of the block op (`rask.datasets.make_…_block`); it also names the streams.
    const OP_NAME: &'static str;
    /// The version of the block op; bump it whenever the generated numbers change.
    const OP_VERSION: u32 = 1;

    /// The row layout and seed.
    fn layout(&self) -> &Layout;

    /// Columns of the feature blocks.
    fn n_features(&self) -> usize;

    /// Generates `rows` rows of features and targets from `rng`, the block's own stream.
    fn generate(&self, rows: usize, rng: &mut ChaCha8Rng) -> Result<(Array2<f64>, Array1<Self::Y>), OpError>;
}

/// One generated block: the features and the targets of the same rows. The parts are shared,
/// so [`BlockX`] and [`BlockY`] hand them on without copying.
#[derive(Clone, Debug, PartialEq)]
pub struct XyBlock<Y> {
    /// The features (`rows × n_features`).
    pub x: Arc<Array2<f64>>,
    /// The targets (`rows`).
    pub y: Arc<Array1<Y>>,
}

/// Generates block `block` of the dataset that `spec` describes, from that block's own stream;
/// returns an [`XyBlock`]. Blocks never read each other, so any block can be computed alone
/// and in any order with the same result.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "", deserialize = ""))]
pub struct GenerateBlock<S: BlockSpec> {
    /// The dataset's drawn parameters (shared by every block task).
    pub spec: Arc<S>,
    /// The block index.
    pub block: u64,
}

impl<S: BlockSpec> GenerateBlock<S> {
    /// Generates the block here, without a graph.
    pub fn generate(&self) -> Result<XyBlock<S::Y>, OpError> {
        let layout = self.spec.layout();
        let Some(rows) = layout.block_rows(self.block) else {
            op_bail!(
                "{}: block {} does not exist; the dataset has {} block(s)",
                S::OP_NAME,
                self.block,
                layout.n_blocks()
            );
        };
        // Checked again here, against the limits of the process that runs the task: one block
        // is one allocation, and a failed allocation aborts instead of returning an error.
        Limits::current()
            .and_then(|limits| {
                limits.check_block_bytes(
                    S::OP_NAME,
                    rows as u64,
                    self.spec.n_features() as u64,
                    F64_BYTES,
                    &format!("block {} of {}", self.block, layout.n_blocks()),
                )
            })
            .map_err(|e| OpError::new(e.to_string()))?;
        let mut rng = ChaCha8Rng::seed_from_u64(block_stream_seed(S::OP_NAME, layout.seed, self.block));
        let (x, y) = self.spec.generate(rows, &mut rng)?;
        op_ensure!(
            x.nrows() == rows && y.len() == rows && x.ncols() == self.spec.n_features(),
            "{}: generated a {}x{} block with {} targets, expected {rows}x{}",
            S::OP_NAME,
            x.nrows(),
            x.ncols(),
            y.len(),
            self.spec.n_features()
        );
        Ok(XyBlock { x: Arc::new(x), y: Arc::new(y) })
    }
}

impl<S: BlockSpec> Op for GenerateBlock<S> {
    const NAME: &'static str = S::OP_NAME;
    const VERSION: u32 = S::OP_VERSION;

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 0, S::OP_NAME)?;
        Ok(Value::new(self.generate()?))
    }
}

/// Selects the features of a generated [`XyBlock`] (labels `i64` or targets `f64`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BlockX;

impl Op for BlockX {
    const NAME: &'static str = "rask.datasets.block_x";

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let v = &inputs[0];
        if let Some(b) = v.downcast_ref::<XyBlock<i64>>() {
            Ok(Value::from_arc(b.x.clone()))
        } else if let Some(b) = v.downcast_ref::<XyBlock<f64>>() {
            Ok(Value::from_arc(b.x.clone()))
        } else {
            Err(OpError::new(format!("{}: expected a generated (x, y) block, found `{}`", Self::NAME, v.type_name())))
        }
    }
}

/// Selects the targets of a generated [`XyBlock`] (labels `i64` or targets `f64`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct BlockY;

impl Op for BlockY {
    const NAME: &'static str = "rask.datasets.block_y";

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        let v = &inputs[0];
        if let Some(b) = v.downcast_ref::<XyBlock<i64>>() {
            Ok(Value::from_arc(b.y.clone()))
        } else if let Some(b) = v.downcast_ref::<XyBlock<f64>>() {
            Ok(Value::from_arc(b.y.clone()))
        } else {
            Err(OpError::new(format!("{}: expected a generated (x, y) block, found `{}`", Self::NAME, v.type_name())))
        }
    }
}

macro_rules! xy_codec {
    ($name:ident, $y:ty, $ycodec:ty, $tag:literal) => {
        /// Raw codec for a generated block: the byte length of the features (u64), the features
        /// as `rask-ml`'s 2-D codec writes them, then the targets as its 1-D codec writes them.
        #[derive(Debug)]
        pub struct $name;

        impl ValueCodec for $name {
            type Value = XyBlock<$y>;
            const TAG: &'static str = $tag;

            fn encode(v: &XyBlock<$y>, out: &mut Vec<u8>) -> Result<(), CodecError> {
                let start = out.len();
                out.extend_from_slice(&[0; 8]);
                Array2F64Codec::encode(&v.x, out)?;
                let n = (out.len() - start - 8) as u64;
                out[start..start + 8].copy_from_slice(&n.to_le_bytes());
                <$ycodec>::encode(&v.y, out)
            }

            fn nbytes(v: &XyBlock<$y>) -> usize {
                8 + Array2F64Codec::nbytes(&v.x) + <$ycodec>::nbytes(&v.y)
            }

            fn decode(bytes: &[u8]) -> Result<XyBlock<$y>, CodecError> {
                let bad = |message: String| CodecError::Decode { tag: $tag, message };
                let head: [u8; 8] = bytes
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| bad(format!("truncated header: {} bytes", bytes.len())))?;
                let n = u64::from_le_bytes(head);
                let end = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_add(8))
                    .filter(|&e| e <= bytes.len())
                    .ok_or_else(|| bad(format!("{} bytes cannot hold the {n}-byte features", bytes.len())))?;
                let x = Array2F64Codec::decode(&bytes[8..end])?;
                let y = <$ycodec>::decode(&bytes[end..])?;
                if x.nrows() != y.len() {
                    return Err(bad(format!("{} feature rows but {} targets", x.nrows(), y.len())));
                }
                Ok(XyBlock { x: Arc::new(x), y: Arc::new(y) })
            }
        }
    };
}

xy_codec!(XyBlockI64Codec, i64, Array1I64Codec, "rask.datasets.xy_block<i64>");
xy_codec!(XyBlockF64Codec, f64, Array1F64Codec, "rask.datasets.xy_block<f64>");

/// The name of a generator's block layer: a token of the op name, its version and the encoded
/// spec (which holds the seed, the layout and every drawn parameter), so the same dataset
/// always gets the same keys and different datasets never share them.
fn generator_layer_name<S: BlockSpec>(spec: &S) -> Result<rask_core::KeyName> {
    let args = rmp_serde::to_vec_named(spec).map_err(|e| DatasetError::Encode(e.to_string()))?;
    let mut t = Tokenizer::new();
    t.str(S::OP_NAME).u64(u64::from(S::OP_VERSION)).bytes(&args).u64(0);
    Ok(token_name(S::OP_NAME, t.finish()))
}

/// Builds the three layers of a generated dataset (one generating task per block, then the
/// feature and target selections) and wraps them as an aligned dataset.
pub(crate) fn build<S: BlockSpec>(spec: S) -> Result<ChunkedDataset<f64, S::Y>> {
    let layout = *spec.layout();
    let n_features = spec.n_features();
    let name = generator_layer_name(&spec)?;
    let spec = Arc::new(spec);
    let chunks = layout.chunks();
    let mut g = Graph::with_capacity(chunks.n_blocks());
    for block in 0..layout.n_blocks() {
        let op = TaskOp::op(GenerateBlock { spec: spec.clone(), block });
        g.insert(Key::block(name.clone(), block), Node::Task(Task { op, inputs: Vec::new() }));
    }
    let generated = BlockLayer::new(Layers::from_graph(g), name, chunks.clone())?;
    let x = ChunkedArray::from_block_layer(generated.map(BlockX, chunks.clone())?, n_features);
    let y = ChunkedVector::from_block_layer(generated.map(BlockY, chunks)?);
    Ok(ChunkedDataset::new(x, y)?)
}

/// Per-cluster row counts of one block: `rows · p_k` rounded down, and each row left over
/// given to a cluster drawn with probability proportional to what rounding took from it, so
/// every cluster's expected count is exactly `rows · p_k` and a block never strays from it by
/// more than the leftover rows.
pub(crate) fn stratified_counts(rows: usize, probs: &[f64], rng: &mut ChaCha8Rng) -> Vec<usize> {
    let expected: Vec<f64> = probs.iter().map(|p| p * rows as f64).collect();
    let mut counts: Vec<usize> = expected.iter().map(|e| e.floor() as usize).collect();
    // Rounding cannot overshoot when the probabilities sum to 1, but guard against the last ulp.
    while counts.iter().sum::<usize>() > rows {
        let (k, _) = counts.iter().enumerate().max_by_key(|&(_, c)| *c).expect("at least one cluster");
        counts[k] -= 1;
    }
    let left = rows - counts.iter().sum::<usize>();
    if left > 0 {
        let residual: Vec<f64> = expected.iter().zip(&counts).map(|(e, &c)| (e - c as f64).max(0.0)).collect();
        let pick = WeightedIndex::new(&residual).or_else(|_| WeightedIndex::new(probs));
        match pick {
            Ok(pick) => {
                for _ in 0..left {
                    counts[pick.sample(rng)] += 1;
                }
            }
            // Unreachable for checked parameters (some probability is positive); keep the
            // block full anyway.
            Err(_) => counts[0] += left,
        }
    }
    counts
}

/// Cluster labels in cluster order, `counts[k]` copies of `k`.
pub(crate) fn labels_from_counts(counts: &[usize]) -> Vec<usize> {
    counts.iter().enumerate().flat_map(|(k, &c)| std::iter::repeat_n(k, c)).collect()
}
