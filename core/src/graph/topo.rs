//! Index-based views of a graph: dependencies as compressed rows, toposort and cycle finding.

use crate::error::{Error, Result};
use crate::graph::Graph;

/// A graph's edges by node index, in compressed-row form.
#[derive(Debug, Clone)]
pub(crate) struct IndexedGraph {
    /// `deps[dep_start[i]..dep_start[i+1]]` are the inputs of node `i`, in order.
    pub dep_start: Vec<u32>,
    pub deps: Vec<u32>,
    /// `dependents[dt_start[i]..dt_start[i+1]]` are the nodes that read node `i`.
    pub dt_start: Vec<u32>,
    pub dependents: Vec<u32>,
}

impl IndexedGraph {
    pub fn n(&self) -> usize {
        self.dep_start.len() - 1
    }

    pub fn deps_of(&self, i: usize) -> &[u32] {
        &self.deps[self.dep_start[i] as usize..self.dep_start[i + 1] as usize]
    }

    pub fn dependents_of(&self, i: usize) -> &[u32] {
        &self.dependents[self.dt_start[i] as usize..self.dt_start[i + 1] as usize]
    }

    /// Kahn's algorithm in index order; on a cycle, finds one and names its keys.
    pub fn topo_order(&self) -> Result<Vec<u32>, CycleError> {
        let n = self.n();
        let mut waiting: Vec<u32> = (0..n).map(|i| self.deps_of(i).len() as u32).collect();
        let mut stack: Vec<u32> = (0..n as u32).rev().filter(|&i| waiting[i as usize] == 0).collect();
        let mut out = Vec::with_capacity(n);
        while let Some(i) = stack.pop() {
            out.push(i);
            for &d in self.dependents_of(i as usize).iter().rev() {
                let w = &mut waiting[d as usize];
                *w -= 1;
                if *w == 0 {
                    stack.push(d);
                }
            }
        }
        if out.len() == n {
            return Ok(out);
        }
        // Every node left has an unfinished dependency; following those must revisit a node.
        let start = (0..n).find(|&i| waiting[i] > 0).expect("some node is unfinished");
        let mut seen_at = vec![usize::MAX; n];
        let mut path: Vec<u32> = Vec::new();
        let mut cur = start;
        loop {
            if seen_at[cur] != usize::MAX {
                let mut cycle = path[seen_at[cur]..].to_vec();
                // `path` follows dependencies; report it in dependency order (a -> b: b needs a).
                cycle.reverse();
                return Err(CycleError(cycle));
            }
            seen_at[cur] = path.len();
            path.push(cur as u32);
            cur = self
                .deps_of(cur)
                .iter()
                .map(|&d| d as usize)
                .find(|&d| waiting[d] > 0)
                .expect("unfinished node has an unfinished input");
        }
    }
}

/// The node indices on a cycle.
#[derive(Debug)]
pub(crate) struct CycleError(pub Vec<u32>);

/// Indexes `graph`; a dependency that is not in the graph is an error.
pub(crate) fn index_graph(graph: &Graph) -> Result<IndexedGraph> {
    let n = graph.len();
    super::optimize::check_index_range(n)?;
    let mut dep_start = Vec::with_capacity(n + 1);
    let mut deps = Vec::with_capacity(n);
    dep_start.push(0u32);
    for (k, node) in graph.iter() {
        for d in node.dependencies() {
            let j =
                graph.index_of(d).ok_or_else(|| Error::MissingDependency { key: k.clone(), dependency: d.clone() })?;
            deps.push(j as u32);
        }
        super::optimize::check_index_range(deps.len())?;
        dep_start.push(deps.len() as u32);
    }
    Ok(IndexedGraph::from_deps(dep_start, deps))
}

impl IndexedGraph {
    /// Builds the dependents rows from the dependency rows.
    pub fn from_deps(dep_start: Vec<u32>, deps: Vec<u32>) -> Self {
        let n = dep_start.len() - 1;
        let mut dt_start = vec![0u32; n + 1];
        for &d in &deps {
            dt_start[d as usize + 1] += 1;
        }
        for i in 0..n {
            dt_start[i + 1] += dt_start[i];
        }
        let mut fill: Vec<u32> = dt_start[..n].to_vec();
        let mut dependents = vec![0u32; deps.len()];
        for i in 0..n {
            for &d in &deps[dep_start[i] as usize..dep_start[i + 1] as usize] {
                dependents[fill[d as usize] as usize] = i as u32;
                fill[d as usize] += 1;
            }
        }
        IndexedGraph { dep_start, deps, dt_start, dependents }
    }
}

impl Graph {
    pub(crate) fn cycle_error(&self, c: CycleError) -> Error {
        Error::Cycle { keys: c.0.into_iter().map(|i| self.key_at(i as usize).clone()).collect() }
    }
}
