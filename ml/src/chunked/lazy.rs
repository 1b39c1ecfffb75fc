//! `Lazy<T>`: one typed value at the end of a graph (a reduction's result).

use std::marker::PhantomData;

use rask_core::graph::Layers;
use rask_core::{default_scheduler, Graph, Key, Scheduler};

use crate::error::Result;

/// A value of type `T` that a graph computes.
#[derive(Debug)]
pub struct Lazy<T> {
    layers: Layers,
    key: Key,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy { layers: self.layers.clone(), key: self.key.clone(), _t: PhantomData }
    }
}

impl<T: Clone + Send + Sync + 'static> Lazy<T> {
    /// The value of `key` in `layers`.
    pub fn new(layers: Layers, key: Key) -> Self {
        Lazy { layers, key, _t: PhantomData }
    }

    /// The key of the value.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// The graph layers that compute it.
    pub fn layers(&self) -> &Layers {
        &self.layers
    }

    /// The graph that computes it.
    pub fn graph(&self) -> Graph {
        self.layers.to_graph()
    }

    /// Computes the value on the default scheduler.
    pub fn compute(&self) -> Result<T> {
        self.compute_on(&default_scheduler())
    }

    /// Computes the value on `scheduler`.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<T> {
        Ok(scheduler.get::<T>(&self.graph(), &self.key)?)
    }
}
