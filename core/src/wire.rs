//! The one path between a task and its wire form: encoding ops and values for another process,
//! rebuilding them there, and running a task with its panics caught.
//!
//! Every scheduler that crosses a process boundary goes through these functions, and so does
//! the serialisation check ([`Scheduler::checked`](crate::Scheduler::checked)): the checked
//! scheduler encodes each task with [`encode_task`], rebuilds it with [`decode_task`], moves each
//! input and output through [`encode_value`] / [`decode_value`], and runs it with [`run_task`],
//! exactly as a distributed client and worker do. A graph that computes there has taken the
//! real wire path, not a look-alike.
//!
//! ```
//! use rask_core::{wire, Key, Registry, Value};
//!
//! let reg = Registry::core();
//! let key = Key::new("x");
//! let sent = wire::encode_value(&reg, &key, &Value::new(vec![1.0_f64, 2.0])).unwrap();
//! let back = wire::decode_value(&reg, &key, &sent).unwrap();
//! assert_eq!(back.get::<Vec<f64>>().unwrap(), &vec![1.0, 2.0]);
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::{Error, Result};
use crate::key::Key;
use crate::ops::TaskOp;
use crate::registry::Registry;
use crate::value::Value;

/// One op of a task on the wire: its name, version and encoded arguments. A fused chain is
/// several, first link first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireOp {
    /// The op's registered name (shared: a scheduler interns the names of the tasks it keeps).
    pub name: std::sync::Arc<str>,
    /// Its version.
    pub version: u32,
    /// Its MessagePack-encoded arguments.
    pub args: WireArgs,
}

/// An op's encoded arguments: up to 16 bytes are held inline (most ops' arguments are a few
/// numbers), so a scheduler keeping a million tasks does not keep a million small allocations
/// for them. On the wire, a byte string (MessagePack `bin`), as a `serde_bytes::ByteBuf` was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WireArgs(smallvec::SmallVec<[u8; 16]>);

impl WireArgs {
    /// No arguments.
    pub fn new() -> Self {
        WireArgs::default()
    }
}

impl From<Vec<u8>> for WireArgs {
    fn from(bytes: Vec<u8>) -> Self {
        WireArgs(if bytes.len() <= 16 { smallvec::SmallVec::from_slice(&bytes) } else { bytes.into() })
    }
}

impl From<&[u8]> for WireArgs {
    fn from(bytes: &[u8]) -> Self {
        WireArgs(smallvec::SmallVec::from_slice(bytes))
    }
}

impl std::ops::Deref for WireArgs {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for WireArgs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for WireArgs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Bytes;
        impl<'de> serde::de::Visitor<'de> for Bytes {
            type Value = WireArgs;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }

            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> std::result::Result<WireArgs, E> {
                Ok(WireArgs::from(v))
            }

            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> std::result::Result<WireArgs, E> {
                Ok(WireArgs::from(v))
            }

            // Formats without byte strings write a sequence of numbers.
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<WireArgs, A::Error> {
                let mut out = smallvec::SmallVec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(WireArgs(out))
            }
        }
        deserializer.deserialize_byte_buf(Bytes)
    }
}

/// An encoded value: its codec tag and bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireValue {
    /// The codec's tag.
    pub tag: String,
    /// The encoding.
    pub bytes: ByteBuf,
}

/// Why a task failed where it ran: the failing op (for a fused chain, the failing link; for a
/// panic, the whole task's op description) and the message (a panic's prefixed `panicked: `).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFailure {
    /// The op that failed.
    pub op: String,
    /// What went wrong.
    pub message: String,
}

impl TaskFailure {
    /// The scheduler error for task `key`.
    pub fn into_error(self, key: &Key) -> Error {
        Error::TaskFailed { key: key.clone(), op: self.op, cause: self.message }
    }
}

/// Encodes `value` (the value of `key`, named in errors) through its registered codec.
pub fn encode_value(registry: &Registry, key: &Key, value: &Value) -> Result<WireValue> {
    let codec = registry
        .codec_for(value)
        .ok_or_else(|| Error::NoCodec { key: key.clone(), type_name: value.type_name().to_string() })?;
    let mut bytes = Vec::new();
    codec.encode(value, &mut bytes).map_err(|source| Error::Codec { key: key.clone(), source })?;
    Ok(WireValue { tag: codec.tag.to_string(), bytes: ByteBuf::from(bytes) })
}

/// Decodes a value of `key` through the codec its tag names.
pub fn decode_value(registry: &Registry, key: &Key, value: &WireValue) -> Result<Value> {
    let codec = registry.codec_by_tag(&value.tag).ok_or_else(|| Error::NoCodec {
        key: key.clone(),
        type_name: format!("tag `{}`, which this process's registry does not know", value.tag),
    })?;
    codec.decode(&value.bytes).map_err(|source| Error::Codec { key: key.clone(), source })
}

/// The wire form of task `key`'s op: one [`WireOp`] per link. A local closure cannot travel:
/// it is refused with [`Error::LocalTask`] naming `scheduler`.
pub fn encode_task(key: &Key, op: &TaskOp, scheduler: &str) -> Result<Vec<WireOp>> {
    let mut out = Vec::with_capacity(1);
    encode_into(key, op, scheduler, &mut out)?;
    Ok(out)
}

fn encode_into(key: &Key, op: &TaskOp, scheduler: &str, out: &mut Vec<WireOp>) -> Result<()> {
    match op {
        TaskOp::Op(o) => {
            let args = o.encode_args().map_err(|e| Error::OpArgs {
                key: key.clone(),
                op: o.name().to_string(),
                message: e.to_string(),
            })?;
            out.push(WireOp { name: o.name().into(), version: o.version(), args: WireArgs::from(args) });
            Ok(())
        }
        TaskOp::Local(f) => {
            Err(Error::LocalTask { key: key.clone(), name: f.name().to_string(), scheduler: scheduler.to_string() })
        }
        TaskOp::Fused(chain) => chain.iter().try_for_each(|link| encode_into(key, link, scheduler, out)),
    }
}

/// Rebuilds task `key`'s op from its wire form through `registry`: an unknown name or version
/// is [`Error::UnknownOp`], arguments that do not decode are [`Error::OpArgs`].
pub fn decode_task(registry: &Registry, key: &Key, ops: &[WireOp]) -> Result<TaskOp> {
    let mut chain = Vec::with_capacity(ops.len());
    for o in ops {
        let entry = registry.op(&o.name, o.version)?;
        let op = entry.decode(&o.args).map_err(|e| Error::OpArgs {
            key: key.clone(),
            op: o.name.to_string(),
            message: e.to_string(),
        })?;
        chain.push(TaskOp::Op(op));
    }
    match chain.len() {
        0 => Err(Error::OpArgs { key: key.clone(), op: "task".into(), message: "a task with no op".into() }),
        1 => Ok(chain.swap_remove(0)),
        _ => Ok(TaskOp::Fused(chain.into())),
    }
}

/// Runs `op` on `inputs`, catching panics.
pub fn run_task(op: &TaskOp, inputs: &[Value]) -> std::result::Result<Value, TaskFailure> {
    match catch_unwind(AssertUnwindSafe(|| op.run_traced(inputs))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err((failed, e))) => Err(TaskFailure { op: failed, message: e.message().to_string() }),
        Err(payload) => {
            Err(TaskFailure { op: op.name(), message: format!("panicked: {}", panic_message(payload.as_ref())) })
        }
    }
}

/// The message of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Op, OpEntry, OpError};
    use std::sync::Arc;

    /// Inline or not, arguments travel as the byte string a `ByteBuf` made, so processes of
    /// either build understand each other.
    #[test]
    fn op_arguments_keep_their_wire_form_inline_or_not() {
        for len in [0usize, 9, 16, 17, 300] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let args = WireArgs::from(bytes.clone());
            assert_eq!(&*args, &bytes[..]);
            let ours = rmp_serde::to_vec(&args).unwrap();
            assert_eq!(ours, rmp_serde::to_vec(&ByteBuf::from(bytes.clone())).unwrap(), "{len} bytes");
            let back: WireArgs = rmp_serde::from_slice(&ours).unwrap();
            assert_eq!(back, args);
            // A sequence of numbers (what formats without byte strings write) reads too.
            let seq: WireArgs = rmp_serde::from_slice(&rmp_serde::to_vec(&bytes).unwrap()).unwrap();
            assert_eq!(seq, args);
        }
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct AddK {
        k: i64,
    }

    impl Op for AddK {
        const NAME: &'static str = "wire-test.add-k";
        const VERSION: u32 = 1;
        fn run(&self, inputs: &[Value]) -> std::result::Result<Value, OpError> {
            let x: i64 = inputs.iter().map(|v| v.get::<i64>().copied().unwrap_or(0)).sum();
            if self.k < 0 {
                panic!("k is negative");
            }
            Ok(Value::new(x + self.k))
        }
    }

    fn registry() -> Registry {
        Registry::builder().ops(&[OpEntry::of::<AddK>()]).codecs(crate::CODECS).build().unwrap()
    }

    #[test]
    fn a_fused_chain_crosses_the_wire_link_by_link_and_runs_the_same() {
        let reg = registry();
        let key = Key::new("t");
        let chain = TaskOp::Fused(Arc::from(vec![TaskOp::op(AddK { k: 1 }), TaskOp::op(AddK { k: 10 })]));
        let wire = encode_task(&key, &chain, "test").unwrap();
        assert_eq!(wire.iter().map(|o| &*o.name).collect::<Vec<_>>(), ["wire-test.add-k"; 2]);
        let rebuilt = decode_task(&reg, &key, &wire).unwrap();
        let input = [Value::new(5i64)];
        assert_eq!(run_task(&rebuilt, &input).unwrap().get::<i64>().unwrap(), &16);
        assert_eq!(run_task(&chain, &input).unwrap().get::<i64>().unwrap(), &16);
    }

    #[test]
    fn unknown_ops_local_closures_and_panics_are_errors_that_name_them() {
        let reg = registry();
        let key = Key::new("t");
        let unknown = [WireOp { name: "nope".into(), version: 3, args: WireArgs::new() }];
        assert_eq!(
            decode_task(&reg, &key, &unknown).unwrap_err(),
            Error::UnknownOp { name: "nope".into(), version: 3 }
        );
        assert!(matches!(decode_task(&reg, &key, &[]).unwrap_err(), Error::OpArgs { .. }));
        let local = TaskOp::Local(crate::ops::LocalFn::new("my-closure", |_: &[Value]| Ok(Value::new(1i64))));
        let err = encode_task(&key, &local, "distributed").unwrap_err();
        assert!(err.to_string().contains("the distributed scheduler only runs registered ops"), "{err}");
        let failure = run_task(&TaskOp::op(AddK { k: -1 }), &[]).unwrap_err();
        assert_eq!(failure.op, "wire-test.add-k");
        assert_eq!(failure.message, "panicked: k is negative");
    }

    #[test]
    fn values_without_a_codec_or_with_an_unknown_tag_are_refused() {
        let reg = registry();
        let key = Key::new("v");
        struct Opaque;
        assert!(matches!(encode_value(&reg, &key, &Value::new(Opaque)).unwrap_err(), Error::NoCodec { .. }));
        let unknown = WireValue { tag: "no-such-tag".into(), bytes: ByteBuf::new() };
        let err = decode_value(&reg, &key, &unknown).unwrap_err();
        assert!(err.to_string().contains("no-such-tag"), "{err}");
    }
}
