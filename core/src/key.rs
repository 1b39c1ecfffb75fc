//! Keys name the nodes of a task graph.
//!
//! A million-task graph holds four or five copies of every key (its entry, its dependents'
//! input lists, the compiled plan, the distributed scheduler's task table), so a key is 16
//! bytes: one pointer to its name and the block index. The name is one allocation holding a
//! reference count, the name's hash and length, and its bytes ([`KeyName`]); whether the key has
//! a block index is the pointer's lowest bit (the allocation is 8-byte aligned, so that bit is
//! always free). The unsafe code of this module is the [`raw`] functions and the two types'
//! `Clone` and `Drop`; nothing else touches the pointer.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The shared allocation behind a [`KeyName`]: `count: AtomicUsize | hash: u64 | len: u32 | bytes`.
mod raw {
    use std::alloc::{self, Layout};
    use std::ptr::NonNull;
    use std::sync::atomic::{fence, AtomicUsize, Ordering};

    const COUNT: usize = 0;
    const HASH: usize = 8;
    const LEN: usize = 16;
    const BYTES: usize = 20;
    /// The allocation's alignment: the count and hash are 8-byte words, and a [`Key`](super::Key)
    /// keeps a flag in the pointer's lowest bit.
    pub(super) const ALIGN: usize = 8;
    /// Past this many references, abort (as `Arc` does): the count must never wrap.
    const MAX_REFCOUNT: usize = isize::MAX as usize;

    fn layout(len: usize) -> Layout {
        // `len` is a `str`'s length that fits in a u32, so the size cannot overflow `isize`.
        Layout::from_size_align(BYTES + len, ALIGN).expect("a key name's layout fits in isize")
    }

    /// A new allocation holding `s`, with one reference.
    ///
    /// # Panics
    /// If `s` is 4 GiB or longer (a frame on the wire is smaller than that, so a decoded key
    /// never is).
    pub(super) fn new(s: &str) -> NonNull<u8> {
        let len = u32::try_from(s.len()).expect("a key name shorter than 4 GiB");
        let hash = xxhash_rust::xxh3::xxh3_64(s.as_bytes());
        let layout = layout(s.len());
        // SAFETY: the layout's size is at least BYTES > 0. Every field is written before the
        // pointer is returned, at offsets aligned for its type (the allocation is 8-aligned).
        unsafe {
            let p = alloc::alloc(layout);
            let Some(p) = NonNull::new(p) else { alloc::handle_alloc_error(layout) };
            p.as_ptr().add(COUNT).cast::<AtomicUsize>().write(AtomicUsize::new(1));
            p.as_ptr().add(HASH).cast::<u64>().write(hash);
            p.as_ptr().add(LEN).cast::<u32>().write(len);
            std::ptr::copy_nonoverlapping(s.as_ptr(), p.as_ptr().add(BYTES), s.len());
            p
        }
    }

    /// # Safety
    /// `p` is a live allocation made by [`new`] (the caller holds one of its references).
    unsafe fn count<'a>(p: NonNull<u8>) -> &'a AtomicUsize {
        // SAFETY: by the caller's contract the count was initialised and is still alive.
        unsafe { &*p.as_ptr().add(COUNT).cast::<AtomicUsize>() }
    }

    /// # Safety
    /// As for [`count`].
    pub(super) unsafe fn hash(p: NonNull<u8>) -> u64 {
        // SAFETY: written once by `new`, never changed.
        unsafe { p.as_ptr().add(HASH).cast::<u64>().read() }
    }

    /// # Safety
    /// As for [`count`]; the `str` must not outlive the reference the caller holds.
    pub(super) unsafe fn as_str<'a>(p: NonNull<u8>) -> &'a str {
        // SAFETY: `new` copied `len` bytes of a valid `str` there, and they never change.
        unsafe {
            let len = p.as_ptr().add(LEN).cast::<u32>().read() as usize;
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(p.as_ptr().add(BYTES), len))
        }
    }

    /// Adds a reference.
    ///
    /// # Safety
    /// As for [`count`].
    pub(super) unsafe fn retain(p: NonNull<u8>) {
        // Relaxed, as in `Arc::clone`: a new reference is made from an existing one, which
        // keeps the allocation alive meanwhile.
        // SAFETY: by the caller's contract.
        let old = unsafe { count(p) }.fetch_add(1, Ordering::Relaxed);
        if old > MAX_REFCOUNT {
            std::process::abort();
        }
    }

    /// Drops a reference, and the allocation with the last one.
    ///
    /// # Safety
    /// As for [`count`]; the caller's reference is gone afterwards.
    pub(super) unsafe fn release(p: NonNull<u8>) {
        // SAFETY: by the caller's contract the allocation is alive until this decrement.
        if unsafe { count(p) }.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // As in `Arc::drop`: every other reference's uses happen before the free.
        fence(Ordering::Acquire);
        // SAFETY: this was the last reference; the layout is the one `new` allocated with.
        unsafe {
            let len = p.as_ptr().add(LEN).cast::<u32>().read() as usize;
            alloc::dealloc(p.as_ptr(), layout(len));
        }
    }
}

/// The name of a key's layer: reference counted, 8 bytes to hold, with its hash computed
/// once, when it is made.
///
/// Keep one to make many keys of a layer ([`Key::block`] takes it by value or by reference):
/// all of them then share one allocation, and compare equal by pointer.
pub struct KeyName {
    ptr: NonNull<u8>,
}

// SAFETY: the allocation is immutable but for its atomic reference count.
unsafe impl Send for KeyName {}
// SAFETY: as above.
unsafe impl Sync for KeyName {}

impl KeyName {
    /// A new name.
    ///
    /// # Panics
    /// If `name` is 4 GiB or longer.
    pub fn new(name: &str) -> Self {
        KeyName { ptr: raw::new(name) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // SAFETY: `self` holds a reference, so the allocation outlives the borrow.
        unsafe { raw::as_str(self.ptr) }
    }

    fn name_hash(&self) -> u64 {
        // SAFETY: `self` holds a reference.
        unsafe { raw::hash(self.ptr) }
    }

    /// The address of the shared allocation: equal for names cloned from one another.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
}

impl Clone for KeyName {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a reference; the clone gets its own.
        unsafe { raw::retain(self.ptr) };
        KeyName { ptr: self.ptr }
    }
}

impl Drop for KeyName {
    fn drop(&mut self) {
        // SAFETY: `self` holds a reference and gives it up here.
        unsafe { raw::release(self.ptr) }
    }
}

impl Deref for KeyName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for KeyName {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr || (self.name_hash() == other.name_hash() && self.as_str() == other.as_str())
    }
}

impl Eq for KeyName {}

impl Hash for KeyName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.name_hash());
    }
}

impl PartialOrd for KeyName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for KeyName {
    fn from(s: &str) -> Self {
        KeyName::new(s)
    }
}

impl From<String> for KeyName {
    fn from(s: String) -> Self {
        KeyName::new(&s)
    }
}

impl From<&String> for KeyName {
    fn from(s: &String) -> Self {
        KeyName::new(s)
    }
}

impl From<Arc<str>> for KeyName {
    fn from(s: Arc<str>) -> Self {
        KeyName::new(&s)
    }
}

impl From<&KeyName> for KeyName {
    fn from(n: &KeyName) -> Self {
        n.clone()
    }
}

impl Serialize for KeyName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for KeyName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Straight from the decoder's bytes: no temporary `String`.
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = KeyName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key name (a string)")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<KeyName, E> {
                if u32::try_from(v.len()).is_err() {
                    return Err(E::custom(format!("a key name of {} bytes is over the limit of 4 GiB", v.len())));
                }
                Ok(KeyName::new(v))
            }
        }
        d.deserialize_str(NameVisitor)
    }
}

/// The name of one node in a [`Graph`](crate::Graph): a name plus an optional block index.
///
/// Tasks produced by tokenisation are named `prefix-<token>`; the block index distinguishes the
/// blocks of one chunked collection (`("mean-3fa1…", 7)` is block 7 of that layer), in the same
/// way as Dask's `(name, i)` tuple keys.
///
/// A key is 16 bytes, and cloning one is cheap: the name ([`KeyName`]) is reference counted and
/// its hash was computed once, when it was made, so graph lookups never re-read the name. Keys
/// cloned from one another, or made from one [`KeyName`], compare equal by pointer.
pub struct Key {
    /// The name's allocation; the lowest bit is set when the key has a block index.
    tagged: NonNull<u8>,
    /// The block index (0 without one).
    block: u64,
}

// SAFETY: a key is a `KeyName` and a number.
unsafe impl Send for Key {}
// SAFETY: as above.
unsafe impl Sync for Key {}

const HAS_BLOCK: usize = 1;
const _: () = assert!(raw::ALIGN > HAS_BLOCK, "the name's alignment leaves the flag bit free");

impl Key {
    fn make(name: KeyName, block: Option<u64>) -> Self {
        let name = std::mem::ManuallyDrop::new(name);
        // The key takes over the name's reference.
        let tagged = match block {
            Some(_) => name.ptr.map_addr(|a| a | HAS_BLOCK),
            None => name.ptr,
        };
        Key { tagged, block: block.unwrap_or(0) }
    }

    /// The name's allocation, without the flag.
    fn name_ptr(&self) -> NonNull<u8> {
        // The flag bit is 0 in the allocation's (aligned) address, so this gives the address
        // back, non-null.
        NonNull::new(self.tagged.as_ptr().map_addr(|a| a & !HAS_BLOCK)).expect("an aligned, non-null name pointer")
    }

    fn has_block(&self) -> bool {
        self.tagged.addr().get() & HAS_BLOCK != 0
    }

    fn name_hash(&self) -> u64 {
        // SAFETY: `self` holds a reference to the name.
        unsafe { raw::hash(self.name_ptr()) }
    }

    /// A key without a block index.
    pub fn new(name: impl Into<KeyName>) -> Self {
        Key::make(name.into(), None)
    }

    /// The key of block `block` of the layer `name`.
    pub fn block(name: impl Into<KeyName>, block: u64) -> Self {
        Key::make(name.into(), Some(block))
    }

    /// The same name with another block index.
    pub fn with_block(&self, block: u64) -> Self {
        Key::make(self.key_name(), Some(block))
    }

    /// The layer name.
    pub fn name(&self) -> &str {
        // SAFETY: `self` holds a reference to the name for as long as the borrow.
        unsafe { raw::as_str(self.name_ptr()) }
    }

    /// The shared layer name, for building sibling keys without reallocating.
    pub fn key_name(&self) -> KeyName {
        let ptr = self.name_ptr();
        // SAFETY: `self` holds a reference; the returned name gets its own.
        unsafe { raw::retain(ptr) };
        KeyName { ptr }
    }

    /// The block index, if any.
    pub fn block_index(&self) -> Option<u64> {
        self.has_block().then_some(self.block)
    }

    /// The part of the name before the token: `sum` for `sum-3fa1…`.
    /// Progress displays group tasks by this prefix.
    pub fn prefix(&self) -> &str {
        let name = self.name();
        match name.rfind('-') {
            Some(i) if is_token_suffix(&name[i + 1..]) => &name[..i],
            _ => name,
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Self {
        // SAFETY: `self` holds a reference to the name; the clone gets its own.
        unsafe { raw::retain(self.name_ptr()) };
        Key { tagged: self.tagged, block: self.block }
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        // SAFETY: `self` holds a reference to the name and gives it up here.
        unsafe { raw::release(self.name_ptr()) }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        if self.tagged != other.tagged {
            // Different names, or one name with and without a block index.
            if self.has_block() != other.has_block() || self.block != other.block {
                return false;
            }
            return self.name_hash() == other.name_hash() && self.name() == other.name();
        }
        self.block == other.block
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.name_hash());
        self.block_index().hash(state);
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name().cmp(other.name()).then(self.block_index().cmp(&other.block_index()))
    }
}

/// The wire form: `[name, block]`, block `nil` when there is none.
impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.name(), self.block_index()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (name, block): (KeyName, Option<u64>) = Deserialize::deserialize(d)?;
        Ok(Key::make(name, block))
    }
}

fn is_token_suffix(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.block_index() {
            Some(b) => write!(f, "('{}', {b})", self.name()),
            None => write!(f, "'{}'", self.name()),
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

    #[test]
    fn a_key_is_two_words_and_its_name_one() {
        assert_eq!(std::mem::size_of::<Key>(), 16);
        assert_eq!(std::mem::size_of::<Option<Key>>(), 16);
        assert_eq!(std::mem::size_of::<KeyName>(), 8);
        assert_eq!(std::mem::size_of::<Option<KeyName>>(), 8);
    }

    #[test]
    fn the_block_flag_and_index_round_trip_over_the_whole_range() {
        for b in [0, 1, 7, u64::MAX - 1, u64::MAX] {
            let k = Key::block("layer", b);
            assert_eq!(k.block_index(), Some(b));
            assert_eq!(k.name(), "layer");
            assert_eq!(k.clone(), k);
        }
        let none = Key::new("layer");
        assert_eq!(none.block_index(), None);
        assert_ne!(none, Key::block("layer", 0), "no index differs from index 0");
        assert_ne!(none.with_block(0), none);
        assert_eq!(none.with_block(0), Key::block("layer", 0));
        let empty = Key::new("");
        assert_eq!(empty.name(), "");
        assert_eq!(empty, Key::new(String::new()));
    }

    #[test]
    fn keys_made_from_one_name_share_it() {
        let name = KeyName::from(format!("mean-{}", "0123456789abcdef0123456789abcdef"));
        let a = Key::block(&name, 1);
        let b = Key::block(name.clone(), 2);
        assert_eq!(a.key_name().as_ptr(), b.key_name().as_ptr(), "one allocation");
        assert_eq!(a.prefix(), "mean");
        assert_eq!(b.with_block(1), a);
        // Equal names made apart compare equal, hash alike and order by name, then block.
        let c = Key::block(name.as_str(), 1);
        assert_ne!(c.key_name().as_ptr(), a.key_name().as_ptr());
        assert_eq!(c, a);
        let h = |k: &Key| {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one(k)
        };
        assert_eq!(h(&c), h(&a));
        let mut keys = vec![Key::block("b", 0), Key::new("a"), Key::block("a", 3), Key::block("a", 1)];
        keys.sort();
        assert_eq!(keys, vec![Key::new("a"), Key::block("a", 1), Key::block("a", 3), Key::block("b", 0)]);
        drop(name);
        assert_eq!(a.name(), b.name(), "the keys keep the name alive");
    }

    #[test]
    fn names_cloned_and_dropped_on_many_threads_stay_intact() {
        let name = KeyName::from("shared-layer");
        let keys: Vec<Key> = (0..64).map(|b| Key::block(&name, b)).collect();
        std::thread::scope(|s| {
            for t in 0..4 {
                let keys = &keys;
                s.spawn(move || {
                    for round in 0..2_000u64 {
                        let k = keys[((round + t) % 64) as usize].clone();
                        let sibling = k.with_block(round);
                        assert_eq!(sibling.name(), "shared-layer");
                        drop(k);
                    }
                });
            }
        });
        drop(keys);
        assert_eq!(name.as_str(), "shared-layer");
    }

    #[test]
    fn the_wire_form_is_name_then_block() {
        for k in [Key::block("layer", 4), Key::new("layer")] {
            let bytes = rmp_serde::to_vec_named(&k).unwrap();
            assert_eq!(bytes, rmp_serde::to_vec(&(k.name(), k.block_index())).unwrap());
            let back: Key = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!(back, k);
        }
        let bad = rmp_serde::to_vec(&(7u32, Some(1u64))).unwrap();
        let err = rmp_serde::from_slice::<Key>(&bad).unwrap_err().to_string();
        assert!(err.contains("key name"), "{err}");
    }
}
