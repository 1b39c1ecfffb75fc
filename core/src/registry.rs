//! The registry: every op and value codec a process knows, from explicit per-crate lists.
//!
//! Like ripgrep's flag definitions, registration is an ordered static list per crate
//! (`rask_core::OPS`, `rask_core::CODECS`, `rask_ml::OPS`, …), never link-time magic:
//! what a binary can run is exactly what it lists. Two processes agree on the meaning of a
//! graph if their registries have the same [`fingerprint`](Registry::fingerprint).

use std::any::TypeId;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::ops::{DynOp, OpEntry};
use crate::value::{Codec, Value};

/// Ops and codecs known to this process.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    /// Entries by name; one per version.
    ops: FxHashMap<&'static str, Vec<OpEntry>>,
    codecs_by_tag: FxHashMap<&'static str, Codec>,
    codecs_by_type: FxHashMap<TypeId, Codec>,
    fingerprint: u128,
}

/// Builds a [`Registry`] from per-crate lists.
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    ops: Vec<OpEntry>,
    codecs: Vec<Codec>,
}

impl RegistryBuilder {
    /// Adds a crate's op list.
    pub fn ops(mut self, ops: &[OpEntry]) -> Self {
        self.ops.extend_from_slice(ops);
        self
    }

    /// Adds a crate's codec list.
    pub fn codecs(mut self, codecs: &[Codec]) -> Self {
        self.codecs.extend_from_slice(codecs);
        self
    }

    /// Checks uniqueness of op names/versions and codec tags/types, and computes the fingerprint.
    pub fn build(self) -> Result<Registry> {
        let mut reg = Registry::default();
        for e in &self.ops {
            let versions = reg.ops.entry(e.name).or_default();
            if versions.iter().any(|v| v.version == e.version) {
                return Err(Error::DuplicateOp { name: e.name.to_string(), version: e.version });
            }
            versions.push(*e);
        }
        for c in &self.codecs {
            let clash =
                reg.codecs_by_tag.insert(c.tag, *c).is_some() | reg.codecs_by_type.insert(c.type_id(), *c).is_some();
            if clash {
                return Err(Error::DuplicateCodec { tag: c.tag.to_string(), type_name: c.type_name().to_string() });
            }
        }
        // The fingerprint covers names, versions and tags, sorted, so list order does not matter.
        let mut lines: Vec<String> = self.ops.iter().map(|e| format!("op {} {}", e.name, e.version)).collect();
        lines.extend(self.codecs.iter().map(|c| format!("codec {}", c.tag)));
        lines.sort_unstable();
        reg.fingerprint = xxhash_rust::xxh3::xxh3_128(lines.join("\n").as_bytes());
        Ok(reg)
    }
}

impl Registry {
    /// A builder.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The registry of `rask-core` alone (its codecs; core defines no ops).
    pub fn core() -> Registry {
        // The core lists are fixed and tested for uniqueness, so this cannot fail.
        Registry::builder().ops(crate::OPS).codecs(crate::CODECS).build().expect("core registry lists are unique")
    }

    /// The entry of op `name` version `version`.
    pub fn op(&self, name: &str, version: u32) -> Result<&OpEntry> {
        self.ops
            .get(name)
            .and_then(|vs| vs.iter().find(|e| e.version == version))
            .ok_or_else(|| Error::UnknownOp { name: name.to_string(), version })
    }

    /// Rebuilds an op from its name, version and argument bytes.
    pub fn decode_op(&self, name: &str, version: u32, args: &[u8]) -> Result<Arc<dyn DynOp>, String> {
        let entry = self.op(name, version).map_err(|e| e.to_string())?;
        entry.decode(args).map_err(|e| e.to_string())
    }

    /// The codec for values of this type, if any.
    pub fn codec_for(&self, value: &Value) -> Option<&Codec> {
        self.codecs_by_type.get(&value.type_id())
    }

    /// The codec with this wire tag, if any.
    pub fn codec_by_tag(&self, tag: &str) -> Option<&Codec> {
        self.codecs_by_tag.get(tag)
    }

    /// Number of registered ops.
    pub fn n_ops(&self) -> usize {
        self.ops.values().map(Vec::len).sum()
    }

    /// Number of registered codecs.
    pub fn n_codecs(&self) -> usize {
        self.codecs_by_tag.len()
    }

    /// Names and versions of all ops, sorted.
    pub fn op_names(&self) -> Vec<(&'static str, u32)> {
        let mut v: Vec<_> = self.ops.values().flatten().map(|e| (e.name, e.version)).collect();
        v.sort_unstable();
        v
    }

    /// A hash of every op name/version and codec tag: two processes whose fingerprints match
    /// interpret graphs and values the same way.
    pub fn fingerprint(&self) -> u128 {
        self.fingerprint
    }

    /// The fingerprint as 32 hex digits.
    pub fn fingerprint_hex(&self) -> String {
        format!("{:032x}", self.fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Op, OpError};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct A;
    impl Op for A {
        const NAME: &'static str = "test.a";
        fn run(&self, _: &[Value]) -> Result<Value, OpError> {
            Ok(Value::new(()))
        }
    }

    #[test]
    fn duplicate_ops_and_codecs_are_rejected() {
        let e = Registry::builder().ops(&[OpEntry::of::<A>(), OpEntry::of::<A>()]).build().unwrap_err();
        assert_eq!(e, Error::DuplicateOp { name: "test.a".into(), version: 1 });
        let e = Registry::builder().codecs(crate::CODECS).codecs(&[Codec::serde::<f64>("double")]).build().unwrap_err();
        assert!(matches!(e, Error::DuplicateCodec { .. }), "{e}");
    }

    #[test]
    fn fingerprint_ignores_order_and_sees_versions() {
        let a = Registry::builder().ops(&[OpEntry::of::<A>()]).codecs(crate::CODECS).build().unwrap();
        let mut rev = crate::CODECS.to_vec();
        rev.reverse();
        let b = Registry::builder().codecs(&rev).ops(&[OpEntry::of::<A>()]).build().unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = Registry::builder().codecs(crate::CODECS).build().unwrap();
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(a.op("test.a", 2).is_err());
        assert!(a.op("test.a", 1).is_ok());
    }
}
