//! The error vocabulary of `rask-core`.

use crate::key::Key;
use crate::value::CodecError;

/// Everything that can go wrong building, optimising or computing a graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A task returned an error or panicked. Its dependents were not run.
    #[error("task {key} ({op}) failed: {cause}")]
    TaskFailed {
        /// The failing task (for a fused chain, the key of the chain, which is its last task's).
        key: Key,
        /// The op that failed: for an error inside a fused chain, the failing link; for a panic,
        /// the whole task's op description.
        op: String,
        /// The error message, or the panic message prefixed with `panicked: `.
        cause: String,
    },
    /// A requested output key is not in the graph.
    #[error("key {0} is not in the graph")]
    MissingKey(Key),
    /// A task depends on a key that is not in the graph.
    #[error("task {key} depends on {dependency}, which is not in the graph")]
    MissingDependency {
        /// The task.
        key: Key,
        /// Its missing input.
        dependency: Key,
    },
    /// The graph has a cycle; the keys on it are listed in dependency order.
    #[error("the graph has a cycle: {}", format_cycle(.keys))]
    Cycle {
        /// The keys on the cycle.
        keys: Vec<Key>,
    },
    /// An op name (and version) is not in the registry.
    #[error(
        "unknown op `{name}` version {version}: it is not in this process's registry; add its `OpEntry` to the \
         registry's op lists (for a model made with `rask_ml::model!`: `.ops(model_ops!(TheModel))`)"
    )]
    UnknownOp {
        /// The op's name.
        name: String,
        /// The op's version.
        version: u32,
    },
    /// Two registry entries share a name and version.
    #[error("op `{name}` version {version} is registered twice")]
    DuplicateOp {
        /// The op's name.
        name: String,
        /// The op's version.
        version: u32,
    },
    /// Two codecs share a tag or a type.
    #[error("codec `{tag}` ({type_name}) clashes with another codec of the same tag or type")]
    DuplicateCodec {
        /// The codec's tag.
        tag: String,
        /// The type it handles.
        type_name: String,
    },
    /// A value's type has no codec, so it could not leave this process.
    #[error(
        "value of key {key} has type `{type_name}`, which has no codec in the registry; add one to the registry's \
         codec lists: `.codecs(&[Codec::serde::<{type_name}>(\"a stable tag\")])` (for a model made with \
         `rask_ml::model!`: `.codecs(model_codecs!(TheModel))`)"
    )]
    NoCodec {
        /// The key whose value it is.
        key: Key,
        /// Its Rust type.
        type_name: String,
    },
    /// Encoding or decoding a value or op arguments failed.
    #[error("serialisation of {key} failed: {source}")]
    Codec {
        /// The key concerned.
        key: Key,
        /// What went wrong.
        #[source]
        source: CodecError,
    },
    /// A task's op arguments could not be serialised or rebuilt.
    #[error("op `{op}` of task {key} cannot round-trip its arguments: {message}")]
    OpArgs {
        /// The task.
        key: Key,
        /// The op.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// A local closure task was given to a scheduler that needs registered ops.
    #[error("task {key} is a local closure ({name}); the {scheduler} scheduler only runs registered ops")]
    LocalTask {
        /// The task.
        key: Key,
        /// The closure's name.
        name: String,
        /// The scheduler that refused it.
        scheduler: String,
    },
    /// A caller-visible value had another type than asked for.
    #[error("value of key {key}: {source}")]
    ValueType {
        /// The key.
        key: Key,
        /// The mismatch.
        #[source]
        source: crate::value::ValueTypeError,
    },
    /// The scheduler could not be set up (for example, a thread pool could not start).
    #[error("scheduler set-up failed: {0}")]
    Scheduler(String),
    /// The distributed runtime failed: a connection, a refused handshake, a lost scheduler.
    #[error("distributed: {0}")]
    Distributed(String),
    /// A result was cancelled before it was computed.
    #[error("{0} was cancelled")]
    Cancelled(Key),
}

fn format_cycle(keys: &[Key]) -> String {
    let mut s: Vec<String> = keys.iter().map(ToString::to_string).collect();
    if let Some(first) = keys.first() {
        s.push(first.to_string());
    }
    s.join(" -> ")
}

/// The result type of `rask-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
