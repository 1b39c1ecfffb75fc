//! The task-graph demo behind `cargo run --release`: a tree reduction of summary statistics
//! over millions of generated numbers, run on every scheduler with the same answer.
//!
//! Each block of numbers is generated from its own random stream, derived from
//! `(seed, op, block index)`, so the data is the same whatever the scheduler or the order blocks
//! run in. Each block is reduced to [`Moments`] (count, mean, sum of squared deviations, min,
//! max); moments are merged pairwise-stable (Chan et al.) in a tree with a fixed combine order,
//! so every scheduler returns bit-identical statistics.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use rask_core::ops::expect_inputs;
use rask_core::{Codec, Graph, Key, Op, OpEntry, OpError, Result, Tokenizer, Value};

/// Running statistics of a set of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// How many numbers.
    pub n: u64,
    /// Their mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Moments {
    /// The statistics of no numbers.
    pub const EMPTY: Moments = Moments { n: 0, mean: 0.0, m2: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY };

    /// Statistics of a slice, in one pass (Welford).
    pub fn of(xs: &[f64]) -> Moments {
        let mut m = Moments::EMPTY;
        for &x in xs {
            m.n += 1;
            let d = x - m.mean;
            m.mean += d / m.n as f64;
            m.m2 += d * (x - m.mean);
            m.min = m.min.min(x);
            m.max = m.max.max(x);
        }
        m
    }

    /// The statistics of the union of two sets (Chan, Golub and LeVeque's pairwise update).
    pub fn merge(&self, other: &Moments) -> Moments {
        if self.n == 0 {
            return *other;
        }
        if other.n == 0 {
            return *self;
        }
        let n = self.n + other.n;
        let d = other.mean - self.mean;
        let mean = self.mean + d * other.n as f64 / n as f64;
        let m2 = self.m2 + other.m2 + d * d * self.n as f64 * other.n as f64 / n as f64;
        Moments { n, mean, m2, min: self.min.min(other.min), max: self.max.max(other.max) }
    }

    /// Population variance.
    pub fn variance(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.m2 / self.n as f64
        }
    }
}

/// Generates block `block` of `len` numbers, uniform on [0, 1), from the seed's stream for that block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UniformBlock {
    /// The dataset seed.
    pub seed: u64,
    /// The block index.
    pub block: u64,
    /// Numbers in the block.
    pub len: u64,
}

impl UniformBlock {
    /// The seed of this block's stream: a token of (seed, op name, block), never `seed + block`
    /// (adjacent seeds would then share streams shifted by one block).
    pub fn stream_seed(&self) -> u64 {
        let t = Tokenizer::new().str(Self::NAME).u64(self.seed).u64(self.block).finish();
        t.0 as u64
    }

    /// The numbers, generated here (also used to check the graph's answer).
    pub fn generate(&self) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.stream_seed());
        (0..self.len).map(|_| rng.gen::<f64>()).collect()
    }
}

impl Op for UniformBlock {
    const NAME: &'static str = "rask.demo.uniform_block";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 0, Self::NAME)?;
        Ok(Value::new(self.generate()))
    }
}

/// Reduces a block of numbers to its [`Moments`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockMoments;

impl Op for BlockMoments {
    const NAME: &'static str = "rask.demo.block_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        Ok(Value::new(Moments::of(inputs[0].get::<Vec<f64>>()?)))
    }
}

/// Merges [`Moments`] inputs in their listed order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeMoments;

impl Op for MergeMoments {
    const NAME: &'static str = "rask.demo.merge_moments";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut acc = Moments::EMPTY;
        for v in inputs {
            acc = acc.merge(v.get::<Moments>()?);
        }
        Ok(Value::new(acc))
    }
}

/// The demo's ops.
pub const OPS: &[OpEntry] =
    &[OpEntry::of::<UniformBlock>(), OpEntry::of::<BlockMoments>(), OpEntry::of::<MergeMoments>()];

/// The demo's value codecs.
pub const CODECS: &[Codec] = &[Codec::serde::<Moments>("rask.demo.moments")];

/// The shape of the demo computation.
#[derive(Clone, Copy, Debug)]
pub struct DemoConfig {
    /// How many numbers.
    pub rows: u64,
    /// Numbers per block.
    pub chunk: u64,
    /// Inputs per merge task.
    pub split_every: usize,
    /// Dataset seed.
    pub seed: u64,
}

impl DemoConfig {
    /// Checks the configuration.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.rows == 0 {
            return Err("rows must be at least 1".into());
        }
        if self.chunk == 0 {
            return Err("chunk must be at least 1".into());
        }
        if self.split_every < 2 {
            return Err(format!("split-every must be at least 2, got {}", self.split_every));
        }
        Ok(())
    }

    /// Number of blocks.
    pub fn n_blocks(&self) -> u64 {
        self.rows.div_ceil(self.chunk)
    }

    fn block(&self, b: u64) -> UniformBlock {
        let len = self.chunk.min(self.rows - b * self.chunk);
        UniformBlock { seed: self.seed, block: b, len }
    }

    /// The graph: generate and reduce every block, then tree-merge; returns it and the root key.
    pub fn graph(&self) -> Result<(Graph, Key)> {
        let mut g = Graph::new();
        let moments: Vec<Key> = (0..self.n_blocks())
            .map(|b| {
                let data = g.task_block(self.block(b), &[], b)?;
                g.task_block(BlockMoments, &[data], b)
            })
            .collect::<Result<_>>()?;
        let root = g.tree_reduce(&moments, self.split_every, |g, _, group| g.task(MergeMoments, group))?;
        Ok((g, root))
    }

    /// The same statistics computed directly, block after block on one thread, without a graph.
    pub fn direct(&self) -> Moments {
        (0..self.n_blocks()).fold(Moments::EMPTY, |acc, b| acc.merge(&Moments::of(&self.block(b).generate())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rask_core::Scheduler;

    #[test]
    fn every_scheduler_gives_the_same_statistics_as_the_direct_pass() {
        let cfg = DemoConfig { rows: 100_003, chunk: 1000, split_every: 4, seed: 7 };
        let (g, root) = cfg.graph().unwrap();
        let direct = cfg.direct();
        let mut results = Vec::new();
        for s in [Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(crate::registry())] {
            results.push(s.get::<Moments>(&g, &root).unwrap());
        }
        // Bit-identical across schedulers: fixed combine order.
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
        let m = results[0];
        assert_eq!(m.n, 100_003);
        assert_eq!(m.min, direct.min);
        assert_eq!(m.max, direct.max);
        assert!((m.mean - direct.mean).abs() < 1e-12, "{} vs {}", m.mean, direct.mean);
        assert!((m.variance() - direct.variance()).abs() < 1e-12);
        // Uniform on [0, 1): mean 1/2, variance 1/12.
        assert!((m.mean - 0.5).abs() < 0.01);
        assert!((m.variance() - 1.0 / 12.0).abs() < 0.01);
    }

    #[test]
    fn merging_matches_a_single_pass() {
        let xs: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin() * 1e3 + 1e6).collect();
        let whole = Moments::of(&xs);
        let parts = xs.chunks(77).map(Moments::of).fold(Moments::EMPTY, |a, b| a.merge(&b));
        assert_eq!(parts.n, whole.n);
        assert!((parts.mean - whole.mean).abs() < 1e-9);
        assert!((parts.m2 - whole.m2).abs() / whole.m2 < 1e-10);
    }

    #[test]
    fn blocks_have_independent_streams() {
        let a = UniformBlock { seed: 1, block: 0, len: 4 }.generate();
        let b = UniformBlock { seed: 1, block: 1, len: 4 }.generate();
        let c = UniformBlock { seed: 2, block: 0, len: 4 }.generate();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, UniformBlock { seed: 1, block: 0, len: 4 }.generate());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let ok = DemoConfig { rows: 10, chunk: 3, split_every: 2, seed: 0 };
        assert!(ok.check().is_ok());
        assert_eq!(ok.n_blocks(), 4);
        assert!(DemoConfig { rows: 0, ..ok }.check().is_err());
        assert!(DemoConfig { chunk: 0, ..ok }.check().is_err());
        assert!(DemoConfig { split_every: 1, ..ok }.check().unwrap_err().contains("split-every"));
    }
}
