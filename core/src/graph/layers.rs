//! Graphs made of shared layers, for collections that grow one operation at a time.
//!
//! A chunked collection that cloned its whole graph for every operation would pay O(graph) per
//! step. Instead each operation builds one small layer (its own tasks, one per block) and the
//! collection holds the list of shared layers it depends on, like Dask's `HighLevelGraph`.
//! Layers are merged into one [`Graph`] only when something is computed.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use super::Graph;

/// An ordered list of shared graph layers.
#[derive(Clone, Debug, Default)]
pub struct Layers {
    layers: Vec<Arc<Graph>>,
}

impl Layers {
    /// No layers.
    pub fn new() -> Self {
        Self::default()
    }

    /// One layer.
    pub fn from_graph(g: Graph) -> Self {
        Layers { layers: vec![Arc::new(g)] }
    }

    /// These layers plus `layer` on top.
    pub fn with(&self, layer: Graph) -> Self {
        let mut layers = self.layers.clone();
        layers.push(Arc::new(layer));
        Layers { layers }
    }

    /// The layers of both, each shared layer once, `self`'s first.
    pub fn union(&self, other: &Layers) -> Self {
        let mut seen: FxHashSet<*const Graph> = self.layers.iter().map(Arc::as_ptr).collect();
        let mut layers = self.layers.clone();
        for l in &other.layers {
            if seen.insert(Arc::as_ptr(l)) {
                layers.push(l.clone());
            }
        }
        Layers { layers }
    }

    /// Number of layers.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// Number of nodes over all layers (a key in two layers counts twice).
    pub fn n_nodes(&self) -> usize {
        self.layers.iter().map(|l| l.len()).sum()
    }

    /// The layers, bottom first.
    pub fn layers(&self) -> &[Arc<Graph>] {
        &self.layers
    }

    /// All layers merged into one graph (see [`Graph::merge`]: computed data wins over tasks).
    pub fn to_graph(&self) -> Graph {
        let mut g = Graph::with_capacity(self.n_nodes());
        for l in &self.layers {
            g.merge(l);
        }
        g
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Key, Value};

    #[test]
    fn union_shares_common_layers_and_merges() {
        let mut base = Graph::new();
        base.add_data("x", Value::new(1i64));
        let base = Layers::from_graph(base);
        let mut a = Graph::new();
        a.add_alias("a", Key::new("x"));
        let mut b = Graph::new();
        b.add_alias("b", Key::new("x"));
        let la = base.with(a);
        let lb = base.with(b);
        let both = la.union(&lb);
        assert_eq!(both.n_layers(), 3);
        let g = both.to_graph();
        assert_eq!(g.len(), 3);
        assert!(g.contains(&Key::new("a")) && g.contains(&Key::new("b")));
    }
}
