//! Keys name the nodes of a task graph.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The name of one node in a [`Graph`](crate::Graph): a name plus an optional block index.
///
/// Tasks produced by tokenisation are named `prefix-<token>`; the block index distinguishes the
/// blocks of one chunked collection (`("mean-3fa1…", 7)` is block 7 of that layer), in the same
/// way as Dask's `(name, i)` tuple keys.
/// Cloning a key is cheap: the name is reference counted. The name's hash is computed once,
/// when the key is made, so graph lookups never re-read the name; keys cloned from one another
/// compare equal by pointer.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "KeyRepr", into = "KeyRepr")]
pub struct Key {
    name: Arc<str>,
    block: Option<u64>,
    name_hash: u64,
}

#[derive(Serialize, Deserialize)]
struct KeyRepr(Arc<str>, Option<u64>);

impl From<KeyRepr> for Key {
    fn from(r: KeyRepr) -> Self {
        Key::make(r.0, r.1)
    }
}

impl From<Key> for KeyRepr {
    fn from(k: Key) -> Self {
        KeyRepr(k.name, k.block)
    }
}

impl Key {
    fn make(name: Arc<str>, block: Option<u64>) -> Self {
        let name_hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        Key { name, block, name_hash }
    }

    /// A key without a block index.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Key::make(name.into(), None)
    }

    /// The key of block `block` of the layer `name`.
    pub fn block(name: impl Into<Arc<str>>, block: u64) -> Self {
        Key::make(name.into(), Some(block))
    }

    /// The same name with another block index.
    pub fn with_block(&self, block: u64) -> Self {
        Key { name: self.name.clone(), block: Some(block), name_hash: self.name_hash }
    }

    /// The layer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shared layer name, for building sibling keys without reallocating.
    pub fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// The block index, if any.
    pub fn block_index(&self) -> Option<u64> {
        self.block
    }

    /// The part of the name before the token: `sum` for `sum-3fa1…`.
    /// Progress displays group tasks by this prefix.
    pub fn prefix(&self) -> &str {
        match self.name.rfind('-') {
            Some(i) if is_token_suffix(&self.name[i + 1..]) => &self.name[..i],
            _ => &self.name,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.name_hash == other.name_hash
            && self.block == other.block
            && (Arc::ptr_eq(&self.name, &other.name) || *self.name == *other.name)
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.name_hash);
        self.block.hash(state);
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name.cmp(&other.name).then(self.block.cmp(&other.block))
    }
}

fn is_token_suffix(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block {
            Some(b) => write!(f, "('{}', {b})", self.name),
            None => write!(f, "'{}'", self.name),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key::new(s)
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Key::new(s)
    }
}

impl From<(&str, u64)> for Key {
    fn from((s, b): (&str, u64)) -> Self {
        Key::block(s, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_strips_only_tokens() {
        let k = Key::new(format!("sum-{}", "0123456789abcdef0123456789abcdef"));
        assert_eq!(k.prefix(), "sum");
        assert_eq!(Key::new("my-task").prefix(), "my-task");
        assert_eq!(Key::block("x", 3).to_string(), "('x', 3)");
        assert_eq!(Key::new("x").to_string(), "'x'");
    }

    #[test]
    fn equality_and_serde_ignore_how_the_key_was_made() {
        let a = Key::block("layer", 4);
        let b = Key::new(String::from("layer")).with_block(4);
        assert_eq!(a, b);
        assert_ne!(a, Key::block("layer", 5));
        assert_ne!(a, Key::new("layer"));
        let bytes = rmp_serde::to_vec(&a).unwrap();
        let back: Key = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, a);
        let mut set = std::collections::HashSet::new();
        set.insert(a);
        assert!(set.contains(&back));
    }
}
