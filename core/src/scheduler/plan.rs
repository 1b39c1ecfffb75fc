//! A graph compiled for execution: dense node indices, dependency rows and priorities.

use crate::error::{Error, Result};
use crate::graph::{cull_indexed, fused_op, fusion_chain, fusion_parents, priorities, Graph, IndexedGraph, Node};
use crate::key::Key;
use crate::ops::TaskOp;
use crate::value::Value;

/// What a plan node does (borrowed from the graph, or from the plan for a fused chain).
#[derive(Clone, Copy, Debug)]
pub enum PlanNode<'a> {
    /// A literal value.
    Data(&'a Value),
    /// A task.
    Task(&'a TaskOp),
    /// The value of its single input.
    Alias,
}

/// Sizes of the graph at each optimisation step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Nodes in the graph handed to the scheduler.
    pub graph_nodes: usize,
    /// Nodes left after culling to the requested keys.
    pub culled_nodes: usize,
    /// Nodes left after linear fusion (equal to `culled_nodes` without optimisation).
    pub planned_nodes: usize,
}

/// An executable plan: culled, optionally fused, indexed, checked for cycles and ordered.
///
/// It borrows the graph it was built from: a node is the index of its graph entry (4 bytes,
/// where a cloned key and op took 56), and only the ops of fused chains live in the plan.
#[derive(Debug)]
pub struct Plan<'g> {
    graph: &'g Graph,
    /// Each node's graph index (for a fused chain, that of its last task, whose key it keeps).
    orig: Vec<u32>,
    /// The ops of fused chains, by node index (sorted).
    fused: Vec<(u32, TaskOp)>,
    pub(crate) ig: IndexedGraph,
    pub(crate) priority: Vec<u32>,
    /// The node of each requested key, in request order (repeats allowed).
    pub(crate) outputs: Vec<u32>,
    pub(crate) is_output: Vec<bool>,
    pub(crate) stats: PlanStats,
}

impl<'g> Plan<'g> {
    /// Compiles `graph` to compute `outputs`: cull, fuse linear chains if `optimize`, index,
    /// check for missing dependencies and cycles, and assign priorities.
    ///
    /// Works on node indices throughout: each needed edge is hashed once, and no intermediate
    /// graph is materialised.
    pub fn build(graph: &'g Graph, outputs: &[Key], optimize: bool) -> Result<Plan<'g>> {
        let culled = cull_indexed(graph, outputs)?;
        let orig = &culled.orig;
        let m = orig.len();
        culled.ig.topo_order().map_err(|c| Error::Cycle {
            keys: c.0.into_iter().map(|i| graph.key_at(orig[i as usize] as usize).clone()).collect(),
        })?;
        let mut out_local = Vec::with_capacity(outputs.len());
        for k in outputs {
            // Culling kept every output (it failed otherwise), and `orig` is sorted.
            let o = graph.index_of(k).ok_or_else(|| Error::MissingKey(k.clone()))? as u32;
            out_local.push(orig.binary_search(&o).map_err(|_| Error::MissingKey(k.clone()))? as u32);
        }
        let mut is_output = vec![false; m];
        for &o in &out_local {
            is_output[o as usize] = true;
        }
        let node_of = |local: usize| graph.node_at(orig[local] as usize);

        let (plan_orig, fused, ig, outputs_final, is_output) = if optimize {
            let parent = fusion_parents(&culled.ig, |i| matches!(node_of(i), Node::Task(_)), &is_output);
            let mut new_index = vec![0u32; m];
            for &p in &parent {
                if p != u32::MAX {
                    new_index[p as usize] = u32::MAX;
                }
            }
            let mut count = 0u32;
            for slot in new_index.iter_mut() {
                if *slot != u32::MAX {
                    *slot = count;
                    count += 1;
                }
            }
            let mut plan_orig = Vec::with_capacity(count as usize);
            let mut fused = Vec::new();
            let mut dep_start = Vec::with_capacity(count as usize + 1);
            let mut deps = Vec::with_capacity(culled.ig.deps.len());
            dep_start.push(0u32);
            let mut chain = Vec::new();
            for i in 0..m {
                if new_index[i] == u32::MAX {
                    continue;
                }
                let node = plan_orig.len() as u32;
                plan_orig.push(orig[i]);
                let head = if parent[i] == u32::MAX {
                    i
                } else {
                    fusion_chain(&parent, i, &mut chain);
                    let op = fused_op(chain.iter().map(|&j| match node_of(j as usize) {
                        Node::Task(t) => &t.op,
                        _ => unreachable!("fusion_parents only links tasks"),
                    }));
                    fused.push((node, op));
                    chain[0] as usize
                };
                // The head's inputs are never absorbed: an absorbed node's only dependent absorbs it.
                deps.extend(culled.ig.deps_of(head).iter().map(|&d| new_index[d as usize]));
                dep_start.push(deps.len() as u32);
            }
            let outputs_final: Vec<u32> = out_local.iter().map(|&o| new_index[o as usize]).collect();
            let mut is_output_final = vec![false; plan_orig.len()];
            for &o in &outputs_final {
                is_output_final[o as usize] = true;
            }
            (plan_orig, fused, IndexedGraph::from_deps(dep_start, deps), outputs_final, is_output_final)
        } else {
            (culled.orig, Vec::new(), culled.ig, out_local, is_output)
        };
        // The fused graph is a contraction of an acyclic graph, so it is acyclic too.
        let topo = ig.topo_order().map_err(|_| Error::Scheduler("fusion produced a cycle".into()))?;
        let priority = priorities(&ig, &topo, &outputs_final);
        let stats = PlanStats { graph_nodes: graph.len(), culled_nodes: m, planned_nodes: plan_orig.len() };
        Ok(Plan { graph, orig: plan_orig, fused, ig, priority, outputs: outputs_final, is_output, stats })
    }

    /// The node indices in an order where every node comes after its inputs (the plan is
    /// acyclic: [`build`](Self::build) checked it).
    pub fn topo_order(&self) -> Vec<u32> {
        // `build` checked that the fused graph is acyclic, so there is an order.
        self.ig.topo_order().unwrap_or_else(|_| (0..self.orig.len() as u32).collect())
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.orig.len()
    }

    /// Whether the plan is empty.
    pub fn is_empty(&self) -> bool {
        self.orig.is_empty()
    }

    /// The key of node `i`.
    pub fn key(&self, i: usize) -> &'g Key {
        self.graph.key_at(self.orig[i] as usize)
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> PlanNode<'_> {
        if !self.fused.is_empty() {
            if let Ok(f) = self.fused.binary_search_by_key(&(i as u32), |(n, _)| *n) {
                return PlanNode::Task(&self.fused[f].1);
            }
        }
        match self.graph.node_at(self.orig[i] as usize) {
            Node::Data(v) => PlanNode::Data(v),
            Node::Task(t) => PlanNode::Task(&t.op),
            Node::Alias(_) => PlanNode::Alias,
        }
    }

    /// The inputs of node `i`.
    pub fn inputs(&self, i: usize) -> &[u32] {
        self.ig.deps_of(i)
    }

    /// The requested outputs, as node indices in request order (repeats allowed).
    pub fn outputs(&self) -> &[u32] {
        &self.outputs
    }

    /// The keys of the requested outputs, in request order.
    pub fn output_keys(&self) -> Vec<Key> {
        self.outputs.iter().map(|&o| self.key(o as usize).clone()).collect()
    }

    /// Node `i`'s rank in the run order: lower runs first.
    pub fn priority(&self, i: usize) -> u32 {
        self.priority[i]
    }

    /// Graph sizes before and after optimisation.
    pub fn stats(&self) -> PlanStats {
        self.stats
    }

    /// The op name of node `i` (for errors and progress).
    pub fn op_name(&self, i: usize) -> String {
        match self.node(i) {
            PlanNode::Data(v) => format!("data<{}>", v.type_name()),
            PlanNode::Task(op) => op.name(),
            PlanNode::Alias => "alias".to_string(),
        }
    }
}
