//! Pure graph passes: cull, linear fusion and priority ordering.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::{FxBuildHasher, FxHashSet};

use super::topo::{index_graph, IndexedGraph};
use super::{Graph, Node, Task};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::ops::TaskOp;

/// The subgraph of exactly the requested keys and their ancestors, in the original order.
pub fn cull(graph: &Graph, keys: &[Key]) -> Result<Graph> {
    let mut keep = vec![false; graph.len()];
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
        for d in node.dependencies() {
            let j = graph
                .index_of(d)
                .ok_or_else(|| Error::MissingDependency { key: key.clone(), dependency: d.clone() })?;
            if !keep[j] {
                keep[j] = true;
                stack.push(j);
            }
        }
    }
    let n_keep = keep.iter().filter(|&&k| k).count();
    let mut nodes = IndexMap::with_capacity_and_hasher(n_keep, FxBuildHasher);
    for (i, (k, n)) in graph.iter().enumerate() {
        if keep[i] {
            nodes.insert(k.clone(), n.clone());
        }
    }
    Ok(Graph::from_nodes(nodes))
}

/// Fuses chains of single-input tasks into one task each.
///
/// A task `b` whose only input is a task `a` absorbs `a` when `a` has no other dependent and is
/// not in `keep`: the chain `a → b → c` becomes one task under `c`'s key that takes `a`'s inputs
/// and runs the three ops in turn, without storing or scheduling the intermediate results.
/// Keys in `keep` (the outputs a caller asked for) are never fused away.
pub fn fuse_linear(graph: &Graph, keep: &[Key]) -> Result<Graph> {
    let ig = index_graph(graph)?;
    // A cycle of single-input tasks would otherwise be absorbed whole and vanish silently.
    ig.topo_order().map_err(|c| graph.cycle_error(c))?;
    let n = graph.len();
    let mut keep_idx = vec![false; n];
    for k in keep {
        if let Some(i) = graph.index_of(k) {
            keep_idx[i] = true;
        }
    }
    // absorbed_into[a] = b when a's work moves into b.
    let mut absorbed = vec![false; n];
    let mut parent: Vec<Option<u32>> = vec![None; n];
    for b in 0..n {
        let Node::Task(_) = graph.node_at(b) else { continue };
        let deps = ig.deps_of(b);
        if deps.len() != 1 {
            continue;
        }
        let a = deps[0] as usize;
        if a != b && !keep_idx[a] && ig.dependents_of(a).len() == 1 && matches!(graph.node_at(a), Node::Task(_)) {
            absorbed[a] = true;
            parent[b] = Some(a as u32);
        }
    }
    if !absorbed.iter().any(|&x| x) {
        return Ok(graph.clone());
    }
    let mut nodes = IndexMap::with_capacity_and_hasher(n, FxBuildHasher);
    let mut chain: Vec<usize> = Vec::new();
    for i in 0..n {
        if absorbed[i] {
            continue;
        }
        let key = graph.key_at(i).clone();
        let Some(mut up) = parent[i] else {
            nodes.insert(key, graph.node_at(i).clone());
            continue;
        };
        chain.clear();
        chain.push(i);
        loop {
            chain.push(up as usize);
            match parent[up as usize] {
                Some(next) => up = next,
                None => break,
            }
        }
        let head = *chain.last().expect("chain holds at least two nodes");
        let inputs = graph.node_at(head).dependencies().to_vec();
        let mut ops: Vec<TaskOp> = Vec::with_capacity(chain.len());
        for &j in chain.iter().rev() {
            match graph.node_at(j) {
                Node::Task(t) => match &t.op {
                    TaskOp::Fused(inner) => ops.extend(inner.iter().cloned()),
                    op => ops.push(op.clone()),
                },
                _ => unreachable!("only tasks take part in fusion"),
            }
        }
        nodes.insert(key, Node::Task(Task { op: TaskOp::Fused(Arc::from(ops)), inputs }));
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
