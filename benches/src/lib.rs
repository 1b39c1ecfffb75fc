//! Shared helpers for the Rask benchmarks: trivial ops whose cost is the scheduler's, graph
//! builders for the standard overhead workloads, and a peak-memory reader.

use rask::ops::expect_inputs;
use rask::{Graph, Key, Op, OpEntry, OpError, Result, Value};
use serde::{Deserialize, Serialize};

/// Returns `x + 1`: the cheapest task that still produces a value.
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub struct Inc {
    /// The input, carried as an argument so every task is distinct.
    pub x: u64,
}

impl Op for Inc {
    const NAME: &'static str = "rask.bench.inc";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let base = match inputs {
            [] => 0,
            [v] => *v.get::<u64>()?,
            _ => return Err(OpError::new("rask.bench.inc takes at most one input")),
        };
        Ok(Value::new(base + self.x + 1))
    }
}

/// Sums `u64` inputs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub struct SumU64;

impl Op for SumU64 {
    const NAME: &'static str = "rask.bench.sum";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut s = 0u64;
        for v in inputs {
            s += *v.get::<u64>()?;
        }
        Ok(Value::new(s))
    }
}

/// Identity on one `u64` input (a chain link).
#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
pub struct Link;

impl Op for Link {
    const NAME: &'static str = "rask.bench.link";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        Ok(Value::new(*inputs[0].get::<u64>()? + 1))
    }
}

/// The benchmark ops, for a registry.
pub const OPS: &[OpEntry] = &[OpEntry::of::<Inc>(), OpEntry::of::<SumU64>(), OpEntry::of::<Link>()];

/// `n` independent `Inc` tasks and a tree sum over them (`split_every` inputs per combine).
/// Returns the graph, the root key and the number of tasks.
pub fn independent_plus_tree_sum(n: u64, split_every: usize) -> Result<(Graph, Key, usize)> {
    // Leaves, plus one node per group at every level of the tree (rounding up).
    let mut nodes = n as usize;
    let mut level = n as usize;
    while level > 1 {
        level = level.div_ceil(split_every);
        nodes += level;
    }
    let mut g = Graph::with_capacity(nodes.max(1));
    let leaves: Vec<Key> = (0..n).map(|x| g.task(Inc { x }, &[])).collect::<Result<_>>()?;
    let root = g.tree_reduce(&leaves, split_every, |g, _, group| g.task(SumU64, group))?;
    let n_tasks = g.len();
    Ok((g, root, n_tasks))
}

/// The expected root of [`independent_plus_tree_sum`].
pub fn independent_plus_tree_sum_expected(n: u64) -> u64 {
    // Σ (x + 1) for x in 0..n.
    n * (n + 1) / 2
}

/// A chain of `n` tasks: `Inc` then `n - 1` `Link`s.
pub fn chain(n: u64) -> Result<(Graph, Key)> {
    let mut g = Graph::with_capacity(n as usize);
    let mut k = g.task(Inc { x: 0 }, &[])?;
    for _ in 1..n {
        k = g.task(Link, &[k])?;
    }
    Ok((g, k))
}

/// Peak resident set size of this process so far, in bytes (Linux; `None` elsewhere).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Current resident set size of this process, in bytes (Linux; `None` elsewhere).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
