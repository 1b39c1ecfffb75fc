//! `BlockLayer`: the part every chunked collection shares — a named layer of blocks, its row
//! chunking, and the graph layers that compute it.

use rask_core::graph::Layers;
use rask_core::ops::{op_args, token_name};
use rask_core::{Graph, Key, KeyName, Node, Op, Scheduler, Task, TaskOp, Tokenizer, Value};

use super::chunks::Chunks;
use crate::error::{MlError, Result};

/// A layer of row blocks: block `i` is `Key::block(name, i)`.
#[derive(Clone, Debug)]
pub struct BlockLayer {
    layers: Layers,
    name: KeyName,
    chunks: Chunks,
}

/// The name of a layer that applies `op` to the layers `inputs`, blockwise: a token of the op,
/// its arguments and the input layer names, so the same work on the same data is the same layer.
pub fn layer_name<O: Op>(op: &O, inputs: &[&str]) -> Result<KeyName> {
    let args = op_args(op)?;
    let mut t = Tokenizer::new();
    t.str(O::NAME).u64(u64::from(O::VERSION)).bytes(&args).u64(inputs.len() as u64);
    for i in inputs {
        t.str(i);
    }
    Ok(token_name(O::NAME, t.finish()))
}

impl BlockLayer {
    /// A layer whose blocks are nodes of `layers` named `(name, i)`; every block must exist.
    pub fn new(layers: Layers, name: KeyName, chunks: Chunks) -> Result<Self> {
        let top = layers.layers().last().ok_or_else(|| MlError::InvalidParameter {
            name: "layers",
            message: "a collection needs at least one graph layer".into(),
        })?;
        for i in 0..chunks.n_blocks() {
            let k = Key::block(&name, i as u64);
            if !top.contains(&k) && !layers.layers().iter().any(|l| l.contains(&k)) {
                return Err(MlError::Graph(rask_core::Error::MissingKey(k)));
            }
        }
        Ok(BlockLayer { layers, name, chunks })
    }

    /// A layer of literal blocks.
    pub fn from_values(name: KeyName, chunks: Chunks, blocks: Vec<Value>) -> Self {
        let mut g = Graph::with_capacity(blocks.len());
        for (i, b) in blocks.into_iter().enumerate() {
            g.insert(Key::block(&name, i as u64), Node::Data(b));
        }
        BlockLayer { layers: Layers::from_graph(g), name, chunks }
    }

    /// The layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shared layer name (keys made from it share one allocation).
    pub fn key_name(&self) -> &KeyName {
        &self.name
    }

    /// The chunking.
    pub fn chunks(&self) -> &Chunks {
        &self.chunks
    }

    /// The graph layers.
    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> usize {
        self.chunks.n_blocks()
    }

    /// The key of block `i`.
    pub fn block_key(&self, i: usize) -> Key {
        Key::block(self.name.clone(), i as u64)
    }

    /// Every block key, in order.
    pub fn block_keys(&self) -> Vec<Key> {
        (0..self.n_blocks()).map(|i| self.block_key(i)).collect()
    }

    /// Applies `op` to block `i` of `self` and of each of `others` (in that order), for every
    /// `i`; the result has chunking `chunks`. All inputs must have as many blocks as `self`.
    pub fn zip_map<O: Op>(&self, others: &[&BlockLayer], op: O, chunks: Chunks) -> Result<BlockLayer> {
        for o in others {
            if o.n_blocks() != self.n_blocks() {
                return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: o.chunks.clone() });
            }
        }
        if chunks.n_blocks() != self.n_blocks() {
            return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: chunks });
        }
        let mut names: Vec<&str> = vec![&self.name];
        names.extend(others.iter().map(|o| o.name()));
        let name = layer_name(&op, &names)?;
        let op = TaskOp::op(op);
        let mut g = Graph::with_capacity(self.n_blocks());
        for i in 0..self.n_blocks() {
            let mut inputs = Vec::with_capacity(1 + others.len());
            inputs.push(self.block_key(i));
            inputs.extend(others.iter().map(|o| o.block_key(i)));
            g.insert(Key::block(&name, i as u64), Node::Task(Task { op: op.clone(), inputs }));
        }
        let mut layers = self.layers.clone();
        for o in others {
            layers = layers.union(&o.layers);
        }
        Ok(BlockLayer { layers: layers.with(g), name, chunks })
    }

    /// Applies `op` to `[shared…, block i]` for every block `i`: `shared` are keys computed by
    /// `with` (a model stored once in the graph, say) that every block's task reads. The layer
    /// name is a token of the op, the shared keys and this layer's name.
    pub fn map_with_shared<O: Op>(&self, shared: &[Key], with: &Layers, op: O, chunks: Chunks) -> Result<BlockLayer> {
        if chunks.n_blocks() != self.n_blocks() {
            return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: chunks });
        }
        let args = op_args(&op)?;
        let mut t = Tokenizer::new();
        t.str(O::NAME).u64(u64::from(O::VERSION)).bytes(&args).str(&self.name).u64(shared.len() as u64);
        for k in shared {
            t.str(&k.to_string());
        }
        let name = token_name(O::NAME, t.finish());
        let op = TaskOp::op(op);
        let mut g = Graph::with_capacity(self.n_blocks());
        for i in 0..self.n_blocks() {
            let mut inputs = Vec::with_capacity(shared.len() + 1);
            inputs.extend(shared.iter().cloned());
            inputs.push(self.block_key(i));
            g.insert(Key::block(&name, i as u64), Node::Task(Task { op: op.clone(), inputs }));
        }
        Ok(BlockLayer { layers: self.layers.union(with).with(g), name, chunks })
    }

    /// Applies `ops[i]` to block `i` (and block `i` of each of `others`); for operations whose
    /// arguments differ per block (row ranges, per-block random streams). The layer name is a
    /// token of every op's arguments and the input layer names.
    pub fn zip_map_each<O: Op>(&self, others: &[&BlockLayer], ops: Vec<O>, chunks: Chunks) -> Result<BlockLayer> {
        if ops.len() != self.n_blocks() || chunks.n_blocks() != self.n_blocks() {
            return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: chunks });
        }
        for o in others {
            if o.n_blocks() != self.n_blocks() {
                return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: o.chunks.clone() });
            }
        }
        let mut t = Tokenizer::new();
        t.str("rask.ml.zip_map_each").str(O::NAME).u64(u64::from(O::VERSION)).str(&self.name);
        for o in others {
            t.str(o.name());
        }
        for op in &ops {
            t.bytes(&op_args(op)?);
        }
        let name = token_name(O::NAME, t.finish());
        let mut g = Graph::with_capacity(self.n_blocks());
        for (i, op) in ops.into_iter().enumerate() {
            let mut inputs = Vec::with_capacity(1 + others.len());
            inputs.push(self.block_key(i));
            inputs.extend(others.iter().map(|o| o.block_key(i)));
            g.insert(Key::block(&name, i as u64), Node::Task(Task { op: TaskOp::op(op), inputs }));
        }
        let mut layers = self.layers.clone();
        for o in others {
            layers = layers.union(&o.layers);
        }
        Ok(BlockLayer { layers: layers.with(g), name, chunks })
    }

    /// A layer whose block `j` is computed by `ops[j]` from the blocks `inputs[j]` of `self`
    /// (for re-blocking: rechunk, slicing across blocks).
    pub fn regroup<O: Op>(&self, ops: Vec<O>, inputs: Vec<Vec<usize>>, chunks: Chunks) -> Result<BlockLayer> {
        if ops.len() != inputs.len() || chunks.n_blocks() != ops.len() {
            return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: chunks });
        }
        let mut t = Tokenizer::new();
        t.str("rask.ml.regroup").str(O::NAME).u64(u64::from(O::VERSION)).str(&self.name);
        for (op, ins) in ops.iter().zip(&inputs) {
            t.bytes(&op_args(op)?).u64(ins.len() as u64);
            for &i in ins {
                if i >= self.n_blocks() {
                    return Err(MlError::InvalidParameter {
                        name: "inputs",
                        message: format!("block {i} of a {}-block collection", self.n_blocks()),
                    });
                }
                t.u64(i as u64);
            }
        }
        let name = token_name(O::NAME, t.finish());
        let mut g = Graph::with_capacity(ops.len());
        for (j, (op, ins)) in ops.into_iter().zip(inputs).enumerate() {
            let keys = ins.into_iter().map(|i| self.block_key(i)).collect();
            g.insert(Key::block(name.clone(), j as u64), Node::Task(Task { op: TaskOp::op(op), inputs: keys }));
        }
        Ok(BlockLayer { layers: self.layers.with(g), name, chunks })
    }

    /// The blocks of several layers one after the other (aliases; nothing is copied).
    pub fn concat(parts: &[&BlockLayer]) -> Result<BlockLayer> {
        let first = parts
            .first()
            .ok_or_else(|| MlError::InvalidParameter { name: "parts", message: "nothing to concatenate".into() })?;
        let mut t = Tokenizer::new();
        t.str("rask.ml.concat").u64(parts.len() as u64);
        let mut sizes: Option<Vec<usize>> = Some(Vec::new());
        let mut n_blocks = 0;
        for p in parts {
            t.str(p.name()).u64(p.n_blocks() as u64);
            n_blocks += p.n_blocks();
            sizes = match (sizes, p.chunks.sizes()) {
                (Some(mut acc), Some(s)) => {
                    acc.extend_from_slice(s);
                    Some(acc)
                }
                _ => None,
            };
        }
        let name = KeyName::new(&format!("concat-{}", t.finish().hex()));
        let mut g = Graph::with_capacity(n_blocks);
        let mut layers = first.layers.clone();
        let mut j = 0u64;
        for p in parts {
            layers = layers.union(&p.layers);
            for i in 0..p.n_blocks() {
                g.insert(Key::block(name.clone(), j), Node::Alias(p.block_key(i)));
                j += 1;
            }
        }
        let chunks = match sizes {
            Some(s) => Chunks::Known(s),
            None => Chunks::Unknown { n_blocks },
        };
        Ok(BlockLayer { layers: layers.with(g), name, chunks })
    }

    /// Applies `op` to every block; the result has chunking `chunks`.
    pub fn map<O: Op>(&self, op: O, chunks: Chunks) -> Result<BlockLayer> {
        self.zip_map(&[], op, chunks)
    }

    /// A tree reduction: `per_block` on each block (and block `i` of each of `others`), then
    /// `combine` on groups of at most `split_every` partial results, in block order. Returns the
    /// layers and the key of the final result.
    pub fn reduce<P: Op, C: Op + Clone>(
        &self,
        others: &[&BlockLayer],
        per_block: P,
        combine: C,
        split_every: usize,
    ) -> Result<(Layers, Key)> {
        if split_every < 2 {
            return Err(MlError::InvalidParameter {
                name: "split_every",
                message: format!("must be at least 2, got {split_every}"),
            });
        }
        if self.n_blocks() == 0 {
            return Err(MlError::InvalidParameter { name: "blocks", message: "nothing to reduce".into() });
        }
        let parts = self.zip_map(others, per_block, self.chunks.clone())?;
        // The grouping depends on `split_every`, so it is part of the combine layer's name:
        // the same reduction with another fan-in must not share keys.
        let mut t = Tokenizer::new();
        t.str(C::NAME).u64(u64::from(C::VERSION)).bytes(&op_args(&combine)?).str(parts.name()).u64(split_every as u64);
        let combine_name = token_name(C::NAME, t.finish());
        let mut g = Graph::new();
        let mut counter = 0u64;
        let op = TaskOp::op(combine);
        let root = g.tree_reduce(&parts.block_keys(), split_every, |g, _, group| {
            let k = Key::block(combine_name.clone(), counter);
            counter += 1;
            g.insert(k.clone(), Node::Task(Task { op: op.clone(), inputs: group.to_vec() }));
            Ok(k)
        })?;
        Ok((parts.layers.with(g), root))
    }

    /// Computes every block.
    pub fn compute_blocks(&self, scheduler: &Scheduler) -> Result<Vec<Value>> {
        Ok(scheduler.compute(&self.layers.to_graph(), &self.block_keys())?)
    }

    /// Computes every block and keeps the results as this layer's only graph layer.
    pub fn persist(&self, scheduler: &Scheduler) -> Result<BlockLayer> {
        let g = scheduler.persist(&self.layers.to_graph(), &self.block_keys())?;
        Ok(BlockLayer { layers: Layers::from_graph(g), name: self.name.clone(), chunks: self.chunks.clone() })
    }

    /// Persists several layers in one computation, so work they share (a generator that makes
    /// both the features and the target of a block) runs once.
    pub fn persist_together(layers: &[&BlockLayer], scheduler: &Scheduler) -> Result<Vec<BlockLayer>> {
        let mut all = Layers::default();
        let mut keys = Vec::new();
        for l in layers {
            all = all.union(&l.layers);
            keys.extend(l.block_keys());
        }
        // `persist` keeps results where they were computed: in memory locally, on the workers
        // (as futures) on a distributed scheduler.
        let persisted = scheduler.persist(&all.to_graph(), &keys)?;
        // Each layer keeps only its own blocks, so dropping one frees its memory.
        layers
            .iter()
            .map(|l| {
                let mut g = Graph::with_capacity(l.n_blocks());
                for k in l.block_keys() {
                    let node = persisted
                        .get(&k)
                        .cloned()
                        .ok_or_else(|| MlError::Graph(rask_core::Error::MissingKey(k.clone())))?;
                    g.insert(k, node);
                }
                Ok(BlockLayer { layers: Layers::from_graph(g), name: l.name.clone(), chunks: l.chunks.clone() })
            })
            .collect()
    }

    /// The same blocks with another chunking description (same block count; used when sizes
    /// become known).
    pub fn with_chunks(&self, chunks: Chunks) -> Result<BlockLayer> {
        if chunks.n_blocks() != self.n_blocks() {
            return Err(MlError::MisalignedChunks { left: self.chunks.clone(), right: chunks });
        }
        Ok(BlockLayer { layers: self.layers.clone(), name: self.name.clone(), chunks })
    }
}
