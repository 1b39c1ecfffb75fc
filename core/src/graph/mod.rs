//! Task graphs: keyed nodes, their dependencies, and the pure passes over them.
//!
//! A [`Graph`] is data: an insertion-ordered map from [`Key`] to [`Node`], where a node is
//! literal data, a task (an op plus input keys) or an alias. Optimisation passes
//! ([`cull`], [`fuse_linear`], [`order`]) are pure functions from graph to graph or to an order,
//! as in `dask/optimization.py`, so they can be tested in isolation and composed by schedulers.

mod layers;
mod optimize;
mod topo;

use indexmap::map::Entry;
use indexmap::IndexMap;
use rustc_hash::{FxBuildHasher, FxHashMap};

pub use layers::Layers;
pub use optimize::{ancestors, cull, fuse_linear, order};
pub(crate) use optimize::{cull_indexed, fused_op, fusion_chain, fusion_parents, priorities};
pub(crate) use topo::{index_graph, IndexedGraph};

use crate::error::{Error, Result};
use crate::key::Key;
use crate::ops::{op_args, token_name, LocalFn, Op, OpError, TaskOp};
use crate::token::tokenize;
use crate::value::Value;

/// A task: an op and the keys of its inputs, in order.
#[derive(Clone, Debug)]
pub struct Task {
    /// What to run.
    pub op: TaskOp,
    /// Its inputs, passed to the op in this order.
    pub inputs: Vec<Key>,
}

/// One node of a graph.
#[derive(Clone, Debug)]
pub enum Node {
    /// A literal value, available without computing anything.
    Data(Value),
    /// A task to run.
    Task(Task),
    /// Another name for an existing key.
    Alias(Key),
}

impl Node {
    /// The keys this node needs before it can be computed, in order (repeats included).
    pub fn dependencies(&self) -> &[Key] {
        match self {
            Node::Data(_) => &[],
            Node::Task(t) => &t.inputs,
            Node::Alias(k) => std::slice::from_ref(k),
        }
    }

    /// A short description of what the node does.
    pub fn describe(&self) -> String {
        match self {
            Node::Data(v) => format!("data<{}>", v.type_name()),
            Node::Task(t) => t.op.name(),
            Node::Alias(k) => format!("alias of {k}"),
        }
    }
}

/// A task graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: IndexMap<Key, Node, FxBuildHasher>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty graph with room for `n` nodes.
    pub fn with_capacity(n: usize) -> Self {
        Graph { nodes: IndexMap::with_capacity_and_hasher(n, FxBuildHasher) }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph has no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node of `key`.
    pub fn get(&self, key: &Key) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// Whether `key` is in the graph.
    pub fn contains(&self, key: &Key) -> bool {
        self.nodes.contains_key(key)
    }

    /// Keys in insertion order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.nodes.keys()
    }

    /// Nodes in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Node)> {
        self.nodes.iter()
    }

    /// Inserts a node, replacing (and returning) any node already under `key`.
    pub fn insert(&mut self, key: Key, node: Node) -> Option<Node> {
        self.nodes.insert(key, node)
    }

    /// Removes a node, keeping the order of the others.
    pub fn remove(&mut self, key: &Key) -> Option<Node> {
        self.nodes.shift_remove(key)
    }

    /// Adds a literal value under `key`.
    pub fn add_data(&mut self, key: impl Into<Key>, value: Value) -> Key {
        let key = key.into();
        self.nodes.insert(key.clone(), Node::Data(value));
        key
    }

    /// Adds a task under an explicit key.
    pub fn add_task(&mut self, key: impl Into<Key>, op: TaskOp, inputs: Vec<Key>) -> Key {
        let key = key.into();
        self.nodes.insert(key.clone(), Node::Task(Task { op, inputs }));
        key
    }

    /// Adds an alias: `key` evaluates to the value of `target`.
    pub fn add_alias(&mut self, key: impl Into<Key>, target: Key) -> Key {
        let key = key.into();
        self.nodes.insert(key.clone(), Node::Alias(target));
        key
    }

    /// Adds a local closure task under an explicit key (sync and threaded schedulers only).
    pub fn add_local(
        &mut self,
        key: impl Into<Key>,
        inputs: Vec<Key>,
        f: impl Fn(&[Value]) -> Result<Value, OpError> + Send + Sync + 'static,
    ) -> Key {
        let key = key.into();
        let name = key.prefix().to_string();
        self.add_task(key, TaskOp::Local(LocalFn::new(name, f)), inputs)
    }

    /// Adds a registered op under a deterministic key `short_name-<token>` and returns the key.
    ///
    /// The token covers the op's name, version, arguments and input keys, so adding the same
    /// work twice returns the same key and the graph keeps one node: it is computed once.
    pub fn task<O: Op>(&mut self, op: O, inputs: &[Key]) -> Result<Key> {
        self.task_with_block(op, inputs, None)
    }

    /// Like [`task`](Self::task), with a block index on the key (block `i` of a chunked layer).
    pub fn task_block<O: Op>(&mut self, op: O, inputs: &[Key], block: u64) -> Result<Key> {
        self.task_with_block(op, inputs, Some(block))
    }

    fn task_with_block<O: Op>(&mut self, op: O, inputs: &[Key], block: Option<u64>) -> Result<Key> {
        let args = op_args(&op)?;
        let name = token_name(O::NAME, tokenize(O::NAME, O::VERSION, &args, inputs));
        let key = match block {
            Some(b) => Key::block(name, b),
            None => Key::new(name),
        };
        if let Entry::Vacant(v) = self.nodes.entry(key.clone()) {
            v.insert(Node::Task(Task { op: TaskOp::op(op), inputs: inputs.to_vec() }));
        }
        Ok(key)
    }

    /// Adds every node of `other`. A key present in both means the same work, so the node
    /// already here is kept, except that a computed result (a data node, e.g. from
    /// [`Scheduler::persist`](crate::Scheduler::persist)) replaces the task or alias that
    /// computes it: merging persisted results into a graph makes it reuse them.
    pub fn merge(&mut self, other: &Graph) {
        self.nodes.reserve(other.len());
        for (k, n) in &other.nodes {
            match self.nodes.get_mut(k) {
                None => {
                    self.nodes.insert(k.clone(), n.clone());
                }
                Some(existing) => {
                    if matches!(n, Node::Data(_)) && !matches!(existing, Node::Data(_)) {
                        *existing = n.clone();
                    }
                }
            }
        }
    }

    /// Adds a tree reduction of `inputs`: groups of at most `split_every` keys are combined by
    /// the task `combine(level, group)` returns, level by level, until one key is left.
    ///
    /// The combine order is fixed (left to right, block order), so floating-point reductions give
    /// the same result on every scheduler.
    pub fn tree_reduce(
        &mut self,
        inputs: &[Key],
        split_every: usize,
        mut combine: impl FnMut(&mut Graph, usize, &[Key]) -> Result<Key>,
    ) -> Result<Key> {
        if split_every < 2 {
            return Err(Error::Scheduler(format!("tree_reduce needs split_every >= 2, got {split_every}")));
        }
        if inputs.is_empty() {
            return Err(Error::Scheduler("tree_reduce needs at least one input".into()));
        }
        let mut level = 0;
        let mut current = inputs.to_vec();
        loop {
            let next: Vec<Key> =
                current.chunks(split_every).map(|group| combine(self, level, group)).collect::<Result<_>>()?;
            if next.len() == 1 {
                return Ok(next.into_iter().next().expect("one element checked above"));
            }
            current = next;
            level += 1;
        }
    }

    /// The dependents of every key (keys that list it as an input), in insertion order.
    pub fn dependents(&self) -> FxHashMap<Key, Vec<Key>> {
        let mut out: FxHashMap<Key, Vec<Key>> = FxHashMap::default();
        for (k, n) in &self.nodes {
            for d in n.dependencies() {
                out.entry(d.clone()).or_default().push(k.clone());
            }
        }
        out
    }

    /// Keys in an order where every node comes after all its dependencies.
    /// A missing dependency or a cycle is an error naming the keys involved.
    pub fn toposort(&self) -> Result<Vec<Key>> {
        let indexed = index_graph(self)?;
        Ok(indexed
            .topo_order()
            .map_err(|c| self.cycle_error(c))?
            .into_iter()
            .map(|i| self.key_at(i as usize).clone())
            .collect())
    }

    /// Checks that every dependency exists and that there is no cycle.
    pub fn validate(&self) -> Result<()> {
        index_graph(self)?.topo_order().map(drop).map_err(|c| self.cycle_error(c))
    }

    pub(crate) fn key_at(&self, i: usize) -> &Key {
        // Indices come from `index_graph` over this same graph, so they are in range.
        self.nodes.get_index(i).expect("index from this graph").0
    }

    pub(crate) fn node_at(&self, i: usize) -> &Node {
        self.nodes.get_index(i).expect("index from this graph").1
    }

    pub(crate) fn index_of(&self, key: &Key) -> Option<usize> {
        self.nodes.get_index_of(key)
    }

    pub(crate) fn from_nodes(nodes: IndexMap<Key, Node, FxBuildHasher>) -> Self {
        Graph { nodes }
    }
}

impl IntoIterator for Graph {
    type Item = (Key, Node);
    type IntoIter = indexmap::map::IntoIter<Key, Node>;

    /// The nodes in insertion order.
    fn into_iter(self) -> Self::IntoIter {
        self.nodes.into_iter()
    }
}
