//! Operations: the named, versioned, serialisable units of work that tasks run.
//!
//! An [`Op`] is a struct whose fields are its arguments. Its `NAME` and `VERSION` identify it in
//! every process: a distributed worker receives `(name, version, argument bytes)` and rebuilds the
//! op from its [`Registry`](crate::Registry). Code is never shipped over the network.
//!
//! Local-only closures ([`LocalFn`]) are allowed on the synchronous and threaded schedulers;
//! the serialisation-check scheduler (and later the distributed one) refuses graphs that hold them.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::value::Value;

/// Why a task failed. Carries a message; built from any error or from a string.
#[derive(Clone, PartialEq, Eq)]
pub struct OpError {
    message: String,
}

impl OpError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        OpError { message: message.into() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpError({:?})", self.message)
    }
}

impl<E: std::error::Error> From<E> for OpError {
    fn from(e: E) -> Self {
        // Keep the whole source chain: a task error is usually read far from where it happened.
        let mut message = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        OpError { message }
    }
}

/// Returns early from an op with an [`OpError`] built from a format string.
#[macro_export]
macro_rules! op_bail {
    ($($arg:tt)*) => {
        return ::core::result::Result::Err($crate::OpError::new(::std::format!($($arg)*)))
    };
}

/// Checks a condition in an op, returning an [`OpError`] built from a format string if it fails.
#[macro_export]
macro_rules! op_ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !($cond) {
            $crate::op_bail!($($arg)*);
        }
    };
}

/// Checks that an op received exactly `n` inputs.
pub fn expect_inputs(inputs: &[Value], n: usize, op: &str) -> Result<(), OpError> {
    if inputs.len() == n {
        Ok(())
    } else {
        Err(OpError::new(format!("{op} takes {n} input(s), got {}", inputs.len())))
    }
}

/// A named, versioned, serialisable operation.
///
/// The struct's fields are the op's arguments: they are serialised (MessagePack) to tokenise the
/// task and to ship it to workers. Inputs come from other tasks as [`Value`]s.
///
/// `NAME` + `VERSION` must never change meaning once released: change behaviour, bump `VERSION`.
/// Arguments must serialise deterministically (use `BTreeMap`, not `HashMap`), or identical
/// work gets different tokens and the checked scheduler reports that the arguments change.
/// Names are dotted and start with the crate (`rask.ml.column_sum`), so the registry's
/// uniqueness check stays meaningful as crates grow.
pub trait Op: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The op's stable name.
    const NAME: &'static str;
    /// The op's version; bump it whenever the meaning of the op changes.
    const VERSION: u32 = 1;

    /// Runs the op on its inputs.
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError>;

    /// A hint that this task is next in line on a thread busy with another one: an op that
    /// reads a file can ask the operating system to start reading it now, so the read overlaps
    /// the current task's computing. It must return at once and never fail; the default does
    /// nothing.
    fn prefetch(&self) {}
}

/// The object-safe face of an [`Op`], as stored in tasks.
pub trait DynOp: Send + Sync + 'static {
    /// The op's stable name.
    fn name(&self) -> &'static str;
    /// The op's version.
    fn version(&self) -> u32;
    /// Runs the op.
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError>;
    /// The serialised arguments.
    fn encode_args(&self) -> Result<Vec<u8>, rmp_serde::encode::Error>;
    /// See [`Op::prefetch`].
    fn prefetch(&self);
}

impl<T: Op> DynOp for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn version(&self) -> u32 {
        T::VERSION
    }

    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        Op::run(self, inputs)
    }

    fn encode_args(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        // Struct-as-map encoding keeps argument bytes stable when fields are added with defaults.
        rmp_serde::to_vec_named(self)
    }

    fn prefetch(&self) {
        Op::prefetch(self)
    }
}

/// Rebuilds an op from its argument bytes.
pub type DecodeOpFn = fn(&[u8]) -> Result<Arc<dyn DynOp>, rmp_serde::decode::Error>;

/// An op's serialised arguments, as tokens and the wire see them.
pub fn op_args<O: Op>(op: &O) -> crate::Result<Vec<u8>> {
    op.encode_args().map_err(|e| crate::Error::OpArgs {
        key: crate::Key::new(O::NAME),
        op: O::NAME.to_string(),
        message: e.to_string(),
    })
}

/// The key name of work by op `op_name` with this token: `short-<token>`, where `short` is the
/// last dotted segment of the op name (`sum-3fa1…` for `rask.bench.sum`).
pub fn token_name(op_name: &str, token: crate::Token) -> crate::KeyName {
    let short = op_name.rsplit('.').next().unwrap_or(op_name);
    crate::KeyName::new(&format!("{short}-{}", token.hex()))
}

/// A registry entry: how to rebuild an op of one name from its argument bytes.
#[derive(Clone, Copy)]
pub struct OpEntry {
    /// The op's stable name.
    pub name: &'static str,
    /// The op's version.
    pub version: u32,
    decode: DecodeOpFn,
}

impl OpEntry {
    /// The entry for op type `T`.
    pub const fn of<T: Op>() -> Self {
        OpEntry { name: T::NAME, version: T::VERSION, decode: decode_op::<T> }
    }

    /// Rebuilds the op from its argument bytes.
    pub fn decode(&self, args: &[u8]) -> Result<Arc<dyn DynOp>, rmp_serde::decode::Error> {
        (self.decode)(args)
    }
}

impl fmt::Debug for OpEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpEntry({} v{})", self.name, self.version)
    }
}

fn decode_op<T: Op>(args: &[u8]) -> Result<Arc<dyn DynOp>, rmp_serde::decode::Error> {
    Ok(Arc::new(rmp_serde::from_slice::<T>(args)?))
}

/// The signature of a local closure task.
pub type LocalFnBody = dyn Fn(&[Value]) -> Result<Value, OpError> + Send + Sync;

/// A closure task: runs only on the local (synchronous and threaded) schedulers.
///
/// One pointer wide, so that a [`TaskOp`] (and every task of a graph) stays three words.
#[derive(Clone)]
pub struct LocalFn {
    inner: Arc<LocalFnInner>,
}

struct LocalFnInner {
    name: Arc<str>,
    f: Box<LocalFnBody>,
}

impl LocalFn {
    /// A named closure. The name appears in errors and progress displays.
    pub fn new(
        name: impl Into<Arc<str>>,
        f: impl Fn(&[Value]) -> Result<Value, OpError> + Send + Sync + 'static,
    ) -> Self {
        LocalFn { inner: Arc::new(LocalFnInner { name: name.into(), f: Box::new(f) }) }
    }

    /// The closure's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs the closure.
    pub fn call(&self, inputs: &[Value]) -> Result<Value, OpError> {
        (self.inner.f)(inputs)
    }
}

impl fmt::Debug for LocalFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalFn({})", self.name())
    }
}

/// What a task runs.
#[derive(Clone)]
pub enum TaskOp {
    /// A registered op: can run on every scheduler.
    Op(Arc<dyn DynOp>),
    /// A local closure: sync and threaded schedulers only.
    Local(LocalFn),
    /// A chain made by [`fuse_linear`](crate::graph::fuse_linear): the first op takes the task's
    /// inputs, every later op takes the previous op's result as its only input.
    Fused(Arc<[TaskOp]>),
}

impl TaskOp {
    /// Wraps a registered op.
    pub fn op(op: impl Op) -> Self {
        TaskOp::Op(Arc::new(op))
    }

    /// A short description: the op name, the closure name, or the fused chain.
    pub fn name(&self) -> String {
        match self {
            TaskOp::Op(op) => op.name().to_string(),
            TaskOp::Local(f) => format!("local:{}", f.name()),
            TaskOp::Fused(chain) => chain.iter().map(TaskOp::name).collect::<Vec<_>>().join("+"),
        }
    }

    /// Whether this task holds a local closure anywhere (and so cannot leave the process).
    pub fn is_local(&self) -> bool {
        match self {
            TaskOp::Op(_) => false,
            TaskOp::Local(_) => true,
            TaskOp::Fused(chain) => chain.iter().any(TaskOp::is_local),
        }
    }

    /// [`Op::prefetch`] of the op that runs first.
    pub fn prefetch(&self) {
        match self {
            TaskOp::Op(op) => op.prefetch(),
            TaskOp::Local(_) => {}
            TaskOp::Fused(chain) => {
                if let Some(first) = chain.first() {
                    first.prefetch();
                }
            }
        }
    }

    /// Runs the task on its inputs, in this process.
    pub fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        self.run_traced(inputs).map_err(|(_, e)| e)
    }

    /// Runs the task; on failure also returns the name of the op that failed (inside a fused
    /// chain, the failing link rather than the whole chain).
    pub fn run_traced(&self, inputs: &[Value]) -> Result<Value, (String, OpError)> {
        match self {
            TaskOp::Op(op) => op.run(inputs).map_err(|e| (op.name().to_string(), e)),
            TaskOp::Local(f) => f.call(inputs).map_err(|e| (self.name(), e)),
            TaskOp::Fused(chain) => {
                let Some((first, rest)) = chain.split_first() else {
                    return Err(("fused".into(), OpError::new("empty fused chain")));
                };
                let mut value = first.run_traced(inputs)?;
                for op in rest {
                    value = op.run_traced(std::slice::from_ref(&value))?;
                }
                Ok(value)
            }
        }
    }
}

impl fmt::Debug for TaskOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_error_keeps_the_source_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e: OpError = Outer(std::io::Error::other("inner")).into();
        assert_eq!(e.message(), "outer: inner");
    }

    /// A graph holds one op per task: three words each, the closure variant included.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_task_op_is_three_words_and_a_node_at_most_seven() {
        assert_eq!(std::mem::size_of::<LocalFn>(), 8);
        assert_eq!(std::mem::size_of::<TaskOp>(), 24);
        assert!(std::mem::size_of::<crate::Node>() <= 56, "a node is {} bytes", std::mem::size_of::<crate::Node>());
        let f = LocalFn::new("double", |v: &[Value]| Ok(Value::new(*v[0].get::<u64>().unwrap() * 2)));
        assert_eq!(f.name(), "double");
        assert_eq!(*f.call(&[Value::new(21u64)]).unwrap().get::<u64>().unwrap(), 42);
    }
}
