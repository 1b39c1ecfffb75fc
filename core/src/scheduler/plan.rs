//! A graph compiled for execution: dense node indices, dependency rows and priorities.

use crate::error::{Error, Result};
use crate::graph::{cull, fuse_linear, index_graph, priorities, Graph, IndexedGraph, Node};
use crate::key::Key;
use crate::ops::TaskOp;
use crate::value::Value;

/// What a plan node does.
#[derive(Clone, Debug)]
pub enum PlanNode {
    /// A literal value.
    Data(Value),
    /// A task.
    Task(TaskOp),
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
#[derive(Debug)]
pub struct Plan {
    pub(crate) keys: Vec<Key>,
    pub(crate) nodes: Vec<PlanNode>,
    pub(crate) ig: IndexedGraph,
    pub(crate) priority: Vec<u32>,
    /// The node of each requested key, in request order (repeats allowed).
    pub(crate) outputs: Vec<u32>,
    pub(crate) is_output: Vec<bool>,
    pub(crate) stats: PlanStats,
}

impl Plan {
    /// Compiles `graph` to compute `outputs`: cull, fuse linear chains if `optimize`, index,
    /// check for missing dependencies and cycles, and assign priorities.
    pub fn build(graph: &Graph, outputs: &[Key], optimize: bool) -> Result<Plan> {
        let culled = cull(graph, outputs)?;
        let culled_nodes = culled.len();
        let planned = if optimize { fuse_linear(&culled, outputs)? } else { culled };
        let ig = index_graph(&planned)?;
        let topo = ig.topo_order().map_err(|c| planned.cycle_error(c))?;
        let mut out_idx = Vec::with_capacity(outputs.len());
        for k in outputs {
            // Culling kept every output and fusion never removes kept keys.
            let i = planned.index_of(k).ok_or_else(|| Error::MissingKey(k.clone()))?;
            out_idx.push(i as u32);
        }
        let priority = priorities(&ig, &topo, &out_idx);
        let n = planned.len();
        let mut is_output = vec![false; n];
        for &o in &out_idx {
            is_output[o as usize] = true;
        }
        let mut keys = Vec::with_capacity(n);
        let mut nodes = Vec::with_capacity(n);
        for (k, node) in planned.into_iter() {
            keys.push(k);
            nodes.push(match node {
                Node::Data(v) => PlanNode::Data(v),
                Node::Task(t) => PlanNode::Task(t.op),
                Node::Alias(_) => PlanNode::Alias,
            });
        }
        let stats = PlanStats { graph_nodes: graph.len(), culled_nodes, planned_nodes: n };
        Ok(Plan { keys, nodes, ig, priority, outputs: out_idx, is_output, stats })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the plan is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The key of node `i`.
    pub fn key(&self, i: usize) -> &Key {
        &self.keys[i]
    }

    /// Node `i`.
    pub fn node(&self, i: usize) -> &PlanNode {
        &self.nodes[i]
    }

    /// The inputs of node `i`.
    pub fn inputs(&self, i: usize) -> &[u32] {
        self.ig.deps_of(i)
    }

    /// Graph sizes before and after optimisation.
    pub fn stats(&self) -> PlanStats {
        self.stats
    }

    /// The op name of node `i` (for errors and progress).
    pub fn op_name(&self, i: usize) -> String {
        match &self.nodes[i] {
            PlanNode::Data(v) => format!("data<{}>", v.type_name()),
            PlanNode::Task(op) => op.name(),
            PlanNode::Alias => "alias".to_string(),
        }
    }
}
