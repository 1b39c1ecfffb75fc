//! Pure graph passes: cull, linear fusion and priority ordering.
//!
//! Each pass has an index-level core (`*_indexed`, used by the scheduler's plan builder, which
//! hashes every needed edge exactly once) and a graph-level wrapper for users and tests, so both
//! paths run the same logic.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::{FxBuildHasher, FxHashSet};

use super::topo::{index_graph, IndexedGraph};
use super::{Graph, Node, Task};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::ops::TaskOp;

/// The ancestors of some keys, by index.
pub(crate) struct Culled {
    /// Indices in the original graph of the kept nodes, in original order.
    pub orig: Vec<u32>,
    /// Edges between kept nodes, numbered by position in `orig`.
    pub ig: IndexedGraph,
}

/// Finds the requested keys and their ancestors, hashing each needed edge once.
pub(crate) fn cull_indexed(graph: &Graph, keys: &[Key]) -> Result<Culled> {
    let n = graph.len();
    check_index_range(n)?;
    let mut keep = vec![false; n];
    // Dependencies of visited node `o` (original indices) are `edges[first_edge[o]..]`.
    let mut first_edge = vec![0u32; n];
    let mut edges: Vec<u32> = Vec::new();
    let mut stack = Vec::with_capacity(keys.len());
    for k in keys {
        let i = graph.index_of(k).ok_or_else(|| Error::MissingKey(k.clone()))?;
        if !keep[i] {
            keep[i] = true;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        let (key, node) = (graph.key_at(i), graph.node_at(i));
        first_edge[i] = edges.len() as u32;
        for d in node.dependencies() {
            let j = graph
                .index_of(d)
                .ok_or_else(|| Error::MissingDependency { key: key.clone(), dependency: d.clone() })?;
            edges.push(j as u32);
            if !keep[j] {
                keep[j] = true;
                stack.push(j);
            }
        }
    }
    check_index_range(edges.len())?;
    let mut orig = Vec::new();
    let mut local = vec![u32::MAX; n];
    for (i, &k) in keep.iter().enumerate() {
        if k {
            local[i] = orig.len() as u32;
            orig.push(i as u32);
        }
    }
    let mut dep_start = Vec::with_capacity(orig.len() + 1);
    let mut deps = Vec::with_capacity(edges.len());
    dep_start.push(0u32);
    for &o in &orig {
        let start = first_edge[o as usize] as usize;
        let len = graph.node_at(o as usize).dependencies().len();
        deps.extend(edges[start..start + len].iter().map(|&j| local[j as usize]));
        dep_start.push(deps.len() as u32);
    }
    Ok(Culled { orig, ig: IndexedGraph::from_deps(dep_start, deps) })
}

/// Node and edge positions are `u32` (half the memory of `usize` on million-node graphs), with
/// `u32::MAX` as a sentinel.
pub(crate) fn check_index_range(count: usize) -> Result<()> {
    if count >= u32::MAX as usize {
        return Err(Error::Scheduler(format!(
            "graph too large: {count} nodes or edges; at most {} are supported",
            u32::MAX - 1
        )));
    }
    Ok(())
}

/// The subgraph of exactly the requested keys and their ancestors, in the original order.
pub fn cull(graph: &Graph, keys: &[Key]) -> Result<Graph> {
    let culled = cull_indexed(graph, keys)?;
    let mut nodes = IndexMap::with_capacity_and_hasher(culled.orig.len(), FxBuildHasher);
    for &o in &culled.orig {
        nodes.insert(graph.key_at(o as usize).clone(), graph.node_at(o as usize).clone());
    }
    Ok(Graph::from_nodes(nodes))
}

/// For each node, the node it absorbs in linear fusion (`u32::MAX` if none).
///
/// Node `b` absorbs `a` when `b` is a task whose only input is `a`, and `a` is a task that is not
/// kept and has no other dependent. The graph must be acyclic (a cycle of such tasks would be
/// absorbed whole and vanish).
pub(crate) fn fusion_parents(ig: &IndexedGraph, is_task: impl Fn(usize) -> bool, kept: &[bool]) -> Vec<u32> {
    let n = ig.n();
    let mut parent = vec![u32::MAX; n];
    for (b, p) in parent.iter_mut().enumerate() {
        let deps = ig.deps_of(b);
        if deps.len() != 1 || !is_task(b) {
            continue;
        }
        let a = deps[0] as usize;
        if !kept[a] && ig.dependents_of(a).len() == 1 && is_task(a) {
            *p = a as u32;
        }
    }
    parent
}

/// The chain ending at `tail`, from its head to `tail`, following `parent`.
pub(crate) fn fusion_chain(parent: &[u32], tail: usize, chain: &mut Vec<u32>) {
    chain.clear();
    let mut cur = tail as u32;
    chain.push(cur);
    while parent[cur as usize] != u32::MAX {
        cur = parent[cur as usize];
        chain.push(cur);
    }
    chain.reverse();
}

/// The fused op of a chain of task ops (nested fused chains are flattened).
pub(crate) fn fused_op<'a>(ops: impl Iterator<Item = &'a TaskOp>) -> TaskOp {
    let mut flat: Vec<TaskOp> = Vec::new();
    for op in ops {
        match op {
            TaskOp::Fused(inner) => flat.extend(inner.iter().cloned()),
            op => flat.push(op.clone()),
        }
    }
    TaskOp::Fused(Arc::from(flat))
}

/// Fuses chains of single-input tasks into one task each.
///
/// A task `b` whose only input is a task `a` absorbs `a` when `a` has no other dependent and is
/// not in `keep`: the chain `a → b → c` becomes one task under `c`'s key that takes `a`'s inputs
/// and runs the three ops in turn, without storing or scheduling the intermediate results.
/// Keys in `keep` (the outputs a caller asked for) are never fused away; each must be in the graph.
pub fn fuse_linear(graph: &Graph, keep: &[Key]) -> Result<Graph> {
    let ig = index_graph(graph)?;
    ig.topo_order().map_err(|c| graph.cycle_error(c))?;
    let n = graph.len();
    let mut kept = vec![false; n];
    for k in keep {
        // A key to keep that is not in the graph is almost surely a mistake; say so.
        kept[graph.index_of(k).ok_or_else(|| Error::MissingKey(k.clone()))?] = true;
    }
    let parent = fusion_parents(&ig, |i| matches!(graph.node_at(i), Node::Task(_)), &kept);
    let mut absorbed = vec![false; n];
    for &p in &parent {
        if p != u32::MAX {
            absorbed[p as usize] = true;
        }
    }
    let mut nodes = IndexMap::with_capacity_and_hasher(n, FxBuildHasher);
    let mut chain = Vec::new();
    let op_of = |j: u32| match graph.node_at(j as usize) {
        Node::Task(t) => &t.op,
        _ => unreachable!("fusion_parents only links tasks"),
    };
    for i in 0..n {
        if absorbed[i] {
            continue;
        }
        let key = graph.key_at(i).clone();
        if parent[i] == u32::MAX {
            nodes.insert(key, graph.node_at(i).clone());
            continue;
        }
        fusion_chain(&parent, i, &mut chain);
        let inputs = graph.node_at(chain[0] as usize).dependencies().to_vec();
        let op = fused_op(chain.iter().map(|&j| op_of(j)));
        nodes.insert(key, Node::Task(Task { op, inputs }));
    }
    Ok(Graph::from_nodes(nodes))
}

/// Keys in the order a scheduler should prefer to run them.
///
/// A depth-first post-order from the outputs (in the order given), visiting inputs in their
/// listed order: every node comes after its inputs, and one branch of a reduction is finished
/// before the next is started, so intermediate results can be released early. Nodes not
/// reachable from `outputs` come last, in dependency order.
pub fn order(graph: &Graph, outputs: &[Key]) -> Result<Vec<Key>> {
    let ig = index_graph(graph)?;
    let topo = ig.topo_order().map_err(|c| graph.cycle_error(c))?;
    let mut out_idx = Vec::with_capacity(outputs.len());
    for k in outputs {
        out_idx.push(graph.index_of(k).ok_or_else(|| Error::MissingKey(k.clone()))? as u32);
    }
    let prio = priorities(&ig, &topo, &out_idx);
    let mut by_prio = vec![0u32; prio.len()];
    for (i, &p) in prio.iter().enumerate() {
        by_prio[p as usize] = i as u32;
    }
    Ok(by_prio.into_iter().map(|i| graph.key_at(i as usize).clone()).collect())
}

/// `priority[i]` is node `i`'s position in the preferred run order (lower runs first).
/// `topo` must be a topological order of `ig` (it places unreachable nodes).
pub(crate) fn priorities(ig: &IndexedGraph, topo: &[u32], outputs: &[u32]) -> Vec<u32> {
    let n = ig.n();
    let mut prio = vec![u32::MAX; n];
    let mut visited = vec![false; n];
    let mut next = 0u32;
    let mut stack: Vec<(u32, u32)> = Vec::new();
    for &o in outputs {
        if visited[o as usize] {
            continue;
        }
        visited[o as usize] = true;
        stack.push((o, 0));
        while let Some(top) = stack.last_mut() {
            let (i, pos) = *top;
            let deps = ig.deps_of(i as usize);
            if (pos as usize) < deps.len() {
                top.1 += 1;
                let d = deps[pos as usize];
                if !visited[d as usize] {
                    visited[d as usize] = true;
                    stack.push((d, 0));
                }
            } else {
                stack.pop();
                prio[i as usize] = next;
                next += 1;
            }
        }
    }
    for &i in topo {
        if prio[i as usize] == u32::MAX {
            prio[i as usize] = next;
            next += 1;
        }
    }
    prio
}

/// The keys reachable from `keys` through dependencies, `keys` included (missing keys are skipped).
pub fn ancestors(graph: &Graph, keys: &[Key]) -> FxHashSet<Key> {
    let mut seen = FxHashSet::default();
    let mut stack: Vec<Key> = keys.to_vec();
    while let Some(k) = stack.pop() {
        if !seen.insert(k.clone()) {
            continue;
        }
        if let Some(n) = graph.get(&k) {
            stack.extend(n.dependencies().iter().cloned());
        }
    }
    seen
}
