//! Lazy values built from closures and ops: Dask's `delayed`, typed.
//!
//! ```
//! use rask_core::delayed::{delayed, value};
//! use rask_core::Scheduler;
//!
//! let a = value(2.0_f64);
//! let b = value(3.0_f64);
//! let c = delayed(|a: &f64, b: &f64| a * b).named("mul").call((&a, &b));
//! let d = delayed(|c: &f64| c + 1.0).call((&c,));
//! assert_eq!(d.compute_on(&Scheduler::sync()).unwrap(), 7.0);
//! ```
//!
//! Closure tasks are local-only: they run on the synchronous and threaded schedulers, and the
//! serialisation-check (and distributed) schedulers refuse them with [`Error::LocalTask`](crate::Error::LocalTask).
//! Registered ops ([`from_op`]) run everywhere and get deterministic keys.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::error::Result;
use crate::graph::{Graph, Node, Task};
use crate::key::Key;
use crate::ops::{op_args, token_name, LocalFn, Op, TaskOp};
use crate::scheduler::{default_scheduler, Scheduler};
use crate::token::{tokenize, Tokenizer};
use crate::value::Value;

/// One node of a delayed computation, with links to the nodes it reads.
pub struct DelayedNode {
    key: Key,
    node: Node,
    parents: Vec<Arc<DelayedNode>>,
}

impl std::fmt::Debug for DelayedNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DelayedNode({})", self.key)
    }
}

impl Drop for DelayedNode {
    fn drop(&mut self) {
        // Drop long chains iteratively: the default recursive drop would overflow the stack on
        // a chain of a few hundred thousand delayed values.
        let mut stack = std::mem::take(&mut self.parents);
        while let Some(p) = stack.pop() {
            if let Ok(mut inner) = Arc::try_unwrap(p) {
                stack.append(&mut inner.parents);
            }
        }
    }
}

/// Anything that is a delayed node, whatever its value type.
pub trait AnyDelayed {
    /// The underlying node.
    fn node(&self) -> &Arc<DelayedNode>;
    /// Its key.
    fn key(&self) -> &Key {
        &self.node().key
    }
}

/// A lazily computed `T`.
pub struct Delayed<T> {
    node: Arc<DelayedNode>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed { node: self.node.clone(), _t: PhantomData }
    }
}

impl<T> std::fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Delayed<{}>({})", std::any::type_name::<T>(), self.node.key)
    }
}

impl<T> AnyDelayed for Delayed<T> {
    fn node(&self) -> &Arc<DelayedNode> {
        &self.node
    }
}

impl<T: Any + Send + Sync> Delayed<T> {
    fn from_parts(key: Key, node: Node, parents: Vec<Arc<DelayedNode>>) -> Self {
        Delayed { node: Arc::new(DelayedNode { key, node, parents }), _t: PhantomData }
    }

    /// A delayed literal value (the same as [`value`]).
    pub fn value(v: T) -> Self {
        value(v)
    }

    /// The key of this value.
    pub fn key(&self) -> &Key {
        &self.node.key
    }

    /// The graph that computes this value.
    pub fn graph(&self) -> Graph {
        graph_of(&[self])
    }

    /// Computes the value on the default scheduler.
    pub fn compute(&self) -> Result<T>
    where
        T: Clone,
    {
        self.compute_on(&default_scheduler())
    }

    /// Computes the value on `scheduler`.
    pub fn compute_on(&self, scheduler: &Scheduler) -> Result<T>
    where
        T: Clone,
    {
        scheduler.get::<T>(&self.graph(), self.key())
    }

    /// A delayed value computed from this one by `f` (a local closure).
    pub fn map<R: Any + Send + Sync>(&self, f: impl Fn(&T) -> R + Send + Sync + 'static) -> Delayed<R> {
        delayed(f).call((self,))
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

/// A key unique within this process, for nodes that cannot be tokenised by content.
fn unique_key(prefix: &str) -> Key {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    let token = Tokenizer::new().str("rask.delayed.unique").u64(u64::from(std::process::id())).u64(n).finish();
    Key::new(format!("{prefix}-{}", token.hex()))
}

/// A delayed literal value.
pub fn value<T: Any + Send + Sync>(v: T) -> Delayed<T> {
    Delayed::from_parts(unique_key("value"), Node::Data(Value::new(v)), Vec::new())
}

/// A delayed value computed by a registered op from other delayed values.
///
/// The key is the op's deterministic token, so the same op on the same inputs is one node.
/// `T` is the type the op returns; asking for another type fails at compute time with a clear
/// [`Error::ValueType`](crate::Error::ValueType).
pub fn from_op<O: Op, T: Any + Send + Sync>(op: O, inputs: &[&dyn AnyDelayed]) -> Result<Delayed<T>> {
    let keys: Vec<Key> = inputs.iter().map(|d| d.key().clone()).collect();
    let args = op_args(&op)?;
    let key = Key::new(token_name(O::NAME, tokenize(O::NAME, O::VERSION, &args, &keys)));
    let parents = inputs.iter().map(|d| d.node().clone()).collect();
    Ok(Delayed::from_parts(key, Node::Task(Task { op: TaskOp::op(op), inputs: keys }), parents))
}

/// The merged graph of several delayed values (shared ancestors appear once).
pub fn graph_of(outputs: &[&dyn AnyDelayed]) -> Graph {
    let mut graph = Graph::new();
    let mut seen: FxHashSet<Key> = FxHashSet::default();
    let mut stack: Vec<&DelayedNode> = outputs.iter().map(|d| &**d.node()).collect();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.key.clone()) {
            continue;
        }
        graph.insert(n.key.clone(), n.node.clone());
        stack.extend(n.parents.iter().map(|p| &**p));
    }
    graph
}

/// Computes several delayed values in one graph on the default scheduler (shared work runs once).
pub fn compute_all(outputs: &[&dyn AnyDelayed]) -> Result<Vec<Value>> {
    let keys: Vec<Key> = outputs.iter().map(|d| d.key().clone()).collect();
    default_scheduler().compute(&graph_of(outputs), &keys)
}

/// A closure waiting for its delayed arguments; see [`delayed`].
#[derive(Debug)]
pub struct DelayedFn<F> {
    f: Arc<F>,
    name: Arc<str>,
}

/// Wraps a closure so that calling it on delayed values builds a task instead of running it.
///
/// The closure takes references to its inputs (`|a: &f64, b: &f64| a + b`) and returns any
/// `Send + Sync` value. Call it with a tuple of delayed values: `.call((&a, &b))`.
pub fn delayed<F>(f: F) -> DelayedFn<F> {
    DelayedFn { f: Arc::new(f), name: "delayed".into() }
}

impl<F> DelayedFn<F> {
    /// Names the task (key prefix, progress and error messages).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Builds the task for these arguments.
    pub fn call<Args, R>(&self, args: Args) -> Delayed<R>
    where
        F: DelayedCall<Args, R>,
        R: Any + Send + Sync,
    {
        let (keys, parents) = F::inputs(&args);
        let f = self.f.clone();
        let body = LocalFn::new(self.name.clone(), move |vals: &[Value]| F::invoke(&f, vals).map(Value::new));
        Delayed::from_parts(unique_key(&self.name), Node::Task(Task { op: TaskOp::Local(body), inputs: keys }), parents)
    }
}

/// Closures callable on a tuple of delayed arguments. Implemented for arities 1 to 4.
pub trait DelayedCall<Args, R>: Send + Sync + 'static {
    /// The input keys and nodes of `args`.
    fn inputs(args: &Args) -> (Vec<Key>, Vec<Arc<DelayedNode>>);
    /// Runs the closure on the computed inputs.
    fn invoke(f: &Self, vals: &[Value]) -> Result<R, crate::ops::OpError>;
}

macro_rules! impl_delayed_call {
    ($($a:ident $i:tt),+) => {
        impl<F, R, $($a),+> DelayedCall<($(&Delayed<$a>,)+), R> for F
        where
            F: Fn($(&$a),+) -> R + Send + Sync + 'static,
            $($a: Any + Send + Sync,)+
        {
            fn inputs(args: &($(&Delayed<$a>,)+)) -> (Vec<Key>, Vec<Arc<DelayedNode>>) {
                (vec![$(args.$i.node.key.clone()),+], vec![$(args.$i.node.clone()),+])
            }

            fn invoke(f: &Self, vals: &[Value]) -> Result<R, crate::ops::OpError> {
                crate::ops::expect_inputs(vals, [$($i),+].len(), "delayed closure")?;
                Ok(f($(vals[$i].get::<$a>()?),+))
            }
        }
    };
}

impl_delayed_call!(A 0);
impl_delayed_call!(A 0, B 1);
impl_delayed_call!(A 0, B 1, C 2);
impl_delayed_call!(A 0, B 1, C 2, D 3);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_ancestors_are_computed_once() {
        let calls = Arc::new(AtomicU64::new(0));
        let c2 = calls.clone();
        let a = value(10u64);
        let b = delayed(move |x: &u64| {
            c2.fetch_add(1, Ordering::SeqCst);
            x * 2
        })
        .call((&a,));
        let l = b.map(|x| x + 1);
        let r = b.map(|x| x + 2);
        let vals = compute_all(&[&l, &r]).unwrap();
        assert_eq!(*vals[0].get::<u64>().unwrap(), 21);
        assert_eq!(*vals[1].get::<u64>().unwrap(), 22);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_long_chain_builds_computes_and_drops_without_overflow() {
        let mut d = value(0u64);
        for _ in 0..200_000 {
            d = d.map(|x| x + 1);
        }
        assert_eq!(d.compute_on(&Scheduler::sync()).unwrap(), 200_000);
        drop(d);
    }
}
