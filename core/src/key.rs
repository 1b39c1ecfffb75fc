//! Keys name the nodes of a task graph.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The name of one node in a [`Graph`](crate::Graph): a name plus an optional block index.
///
/// Tasks produced by tokenisation are named `prefix-<token>`; the block index distinguishes the
/// blocks of one chunked collection (`("mean-3fa1…", 7)` is block 7 of that layer), in the same
/// way as Dask's `(name, i)` tuple keys.
/// Cloning a key is cheap: the name is reference counted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    name: Arc<str>,
    block: Option<u64>,
}

impl Key {
    /// A key without a block index.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Key { name: name.into(), block: None }
    }

    /// The key of block `block` of the layer `name`.
    pub fn block(name: impl Into<Arc<str>>, block: u64) -> Self {
        Key { name: name.into(), block: Some(block) }
    }

    /// The same name with another block index.
    pub fn with_block(&self, block: u64) -> Self {
        Key { name: self.name.clone(), block: Some(block) }
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
}
