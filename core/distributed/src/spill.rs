//! A worker's data store: results held in memory under a limit, least-recently-used ones spilled to disk.
//!
//! Like Dask's worker memory management, a [`DataStore`] keeps every result a worker holds, and
//! measures each by the size of its codec encoding ([`Codec::nbytes`]).
//! [`MemoryLimits`] set three numbers: the `limit` in bytes, a `target` fraction above which
//! least-recently-used values are written to disk, and a `pause` fraction above which the worker
//! should stop starting tasks ([`DataStore::is_paused`]).
//!
//! The module test `the_store_spills_the_least_recently_used_blocks` shows it at work: four
//! 8,000-byte blocks under a 20,000-byte target keep the two most recent in memory.
//!
//! What this store does *not* do: it does not measure real allocations (a value is counted by
//! the size of its encoding), and it cannot free a value that a running task still holds a
//! clone of. [`DataStore::pin`] is how a worker says so: pinned values are never spilled, and
//! their memory counts toward [`DataStore::is_paused`].
//!
//! # Spilling is best effort
//! When a spill file cannot be written (disk full, spill root not writable), the value stays
//! in memory, the failure is logged with `tracing::warn!` and counted in
//! [`DataStore::spill_failures`], and the operation that triggered the spill still succeeds.
//! Memory then grows past the target, and [`DataStore::is_paused`] is how the worker finds out,
//! as in Dask. Errors are returned for what an operation itself cannot do: a value without a
//! codec, bytes that do not decode, a spill file that cannot be read back.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use rask_core::value::{Codec, CodecError, Value};
use rask_core::Key;
use rask_core::Registry;

/// A worker's memory thresholds, as fractions of `limit`, like Dask's worker memory settings.
///
/// Build with [`MemoryLimits::new`] and the `target`/`pause` setters, then [`check`](Self::check)
/// (which a worker does before it starts).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryLimits {
    /// The memory limit in bytes; `None` means no limit: nothing is ever spilled or paused.
    pub limit: Option<u64>,
    /// Spill least-recently-used values while held bytes exceed `target * limit` (default 0.6).
    pub target: f64,
    /// The worker pauses (starts no task) while held bytes exceed `pause * limit` after
    /// spilling (default 0.8).
    pub pause: f64,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits { limit: None, target: 0.6, pause: 0.8 }
    }
}

impl MemoryLimits {
    /// A limit of `limit` bytes with the default fractions (target 0.6, pause 0.8).
    pub fn new(limit: u64) -> Self {
        MemoryLimits { limit: Some(limit), ..MemoryLimits::default() }
    }

    /// Sets the spill target fraction.
    pub fn target(self, target: f64) -> Self {
        MemoryLimits { target, ..self }
    }

    /// Sets the pause fraction.
    pub fn pause(self, pause: f64) -> Self {
        MemoryLimits { pause, ..self }
    }

    /// Checks that `0 < target <= pause <= 1` and, if there is a limit, that it is positive.
    pub fn check(&self) -> Result<(), StoreError> {
        if self.limit == Some(0) {
            return Err(StoreError::InvalidLimits("limit must be positive (use None for no limit), got 0".into()));
        }
        // Written as negations so that NaN fractions are rejected too.
        if !(self.target > 0.0 && self.target <= 1.0) {
            return Err(StoreError::InvalidLimits(format!("target must be in (0, 1], got {}", self.target)));
        }
        if !(self.pause > 0.0 && self.pause <= 1.0) {
            return Err(StoreError::InvalidLimits(format!("pause must be in (0, 1], got {}", self.pause)));
        }
        if self.target > self.pause {
            return Err(StoreError::InvalidLimits(format!(
                "target ({}) must not exceed pause ({})",
                self.target, self.pause
            )));
        }
        Ok(())
    }

    /// `target * limit`, rounded down: held bytes above this are spilled. `None` without a limit.
    pub fn target_bytes(&self) -> Option<u64> {
        self.limit.map(|l| (self.target * l as f64) as u64)
    }

    /// `pause * limit`, rounded down: held bytes above this pause the worker. `None` without a limit.
    pub fn pause_bytes(&self) -> Option<u64> {
        self.limit.map(|l| (self.pause * l as f64) as u64)
    }
}

/// What can go wrong storing, spilling or reading back a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The value's type has no codec in the registry, so it could be neither measured nor spilled.
    #[error("value of key {key} has type `{type_name}`, which has no codec in the registry")]
    NoCodec {
        /// The key whose value it is.
        key: Key,
        /// Its Rust type.
        type_name: String,
    },
    /// Encoding or decoding a value failed.
    #[error("encoding or decoding the value of {key} failed: {source}")]
    Codec {
        /// The key concerned.
        key: Key,
        /// What went wrong.
        #[source]
        source: CodecError,
    },
    /// Creating, writing or reading a spill file or the spill directory failed.
    #[error("spill I/O on {} ({}) failed: {message}", path.display(), describe_key(key.as_ref()))]
    Io {
        /// The key whose value was being spilled or read, if the failure concerned one.
        key: Option<Key>,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error message.
        message: String,
    },
    /// The memory limits are inconsistent; the message says which field and why.
    #[error("invalid memory limits: {0}")]
    InvalidLimits(String),
    /// Bytes arrived with a codec tag this process's registry does not know.
    #[error("value of key {key} arrived with codec tag `{tag}`, which is not in the registry")]
    UnknownTag {
        /// The key whose value it is.
        key: Key,
        /// The unknown tag.
        tag: String,
    },
}

fn describe_key(key: Option<&Key>) -> String {
    match key {
        Some(k) => format!("key {k}"),
        None => "spill directory".to_string(),
    }
}

/// Where a value is, as [`DataStore::lookup`] found it.
pub enum Lookup {
    /// In memory.
    Memory(Value),
    /// In a spill file: read it with [`SpillRead::read`].
    Disk(SpillRead),
}

/// A spilled value to read back: its key, file and codec. Reading needs no access to the
/// store, so it can run on any thread while the store serves others.
#[derive(Clone)]
pub struct SpillRead {
    key: Key,
    path: PathBuf,
    codec: Codec,
}

impl fmt::Debug for SpillRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpillRead")
            .field("key", &self.key)
            .field("path", &self.path)
            .field("codec", &self.codec.tag)
            .finish()
    }
}

impl fmt::Debug for Lookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lookup::Memory(v) => f.debug_tuple("Memory").field(&v.type_name()).finish(),
            Lookup::Disk(r) => f.debug_tuple("Disk").field(r).finish(),
        }
    }
}

impl SpillRead {
    /// Reads and decodes the value. Fails with [`StoreError::Io`] if the file cannot be read
    /// (it may have been removed with its value meanwhile) or [`StoreError::Codec`] if it does
    /// not decode.
    pub fn read(&self) -> Result<Value, StoreError> {
        let bytes = self.read_bytes()?;
        self.codec.decode(&bytes).map_err(|source| StoreError::Codec { key: self.key.clone(), source })
    }

    fn read_bytes(&self) -> Result<Vec<u8>, StoreError> {
        std::fs::read(&self.path).map_err(|e| io_error(Some(&self.key), &self.path, &e))
    }
}

/// A value to send to a peer, found by [`DataStore::lookup_encoded`]: encoding it (or reading
/// its spill file) is left to [`encode`](Self::encode), away from the store's lock.
pub struct Encoded {
    key: Key,
    codec: Codec,
    nbytes: u64,
    place: Lookup,
}

impl Encoded {
    /// The spill file this value is read from, if it was spilled when it was looked up. If
    /// [`encode`](Self::encode) then fails, compare with [`DataStore::spill_path`]: a value
    /// brought back into memory (or spilled again) meanwhile is looked up afresh.
    pub fn spill_path(&self) -> Option<&Path> {
        match &self.place {
            Lookup::Disk(read) => Some(&read.path),
            Lookup::Memory(_) => None,
        }
    }

    /// The codec tag and the encoding: a spilled value's bytes straight from its file, without
    /// decoding; a value in memory encoded.
    pub fn encode(self) -> Result<(&'static str, Vec<u8>), StoreError> {
        let bytes = match self.place {
            Lookup::Memory(value) => {
                let mut out = Vec::with_capacity(self.nbytes as usize);
                self.codec.encode(&value, &mut out).map_err(|source| StoreError::Codec { key: self.key, source })?;
                out
            }
            Lookup::Disk(read) => read.read_bytes()?,
        };
        Ok((self.codec.tag, bytes))
    }
}

/// Where a value lives.
enum Place {
    Memory(Value),
    /// The value's encoding is in this file, inside the store's spill directory.
    Disk(PathBuf),
}

struct Entry {
    /// The codec the value was measured with; its `tag` names the encoding in a spill file.
    codec: Codec,
    /// The length of the value's encoding.
    nbytes: u64,
    /// Pin count; a pinned value in memory is never spilled.
    pins: u32,
    /// When the value was last used; for an unpinned value in memory, its key in `DataStore::lru`.
    tick: u64,
    place: Place,
}

/// A value being inserted: either computed here, or encoded bytes from a peer.
enum Incoming {
    Value(Value),
    Encoded(Vec<u8>),
}

/// A worker's results: held in memory up to a target, least-recently-used ones spilled to disk.
///
/// Memory is the sum of [`Codec::nbytes`] of the values held in memory; each key is counted once
/// however many clones of its value exist. Every operation is O(log n) in the number of values
/// in memory, plus the I/O of the values it spills or reads.
///
/// After every insert, get and unpin, unless a spill file could not be written,
/// `memory_bytes() <= max(limits().target_bytes(), pinned_bytes())`: everything that could be spilled to
/// reach the target has been.
///
/// Spill files (mode 0600 on Unix) live in a private directory (`rask-spill-*`, mode 0700)
/// created inside `spill_root` (itself created 0700 if missing) on the first spill. The
/// directory holds an owner file naming this process, so that a later worker can remove it
/// if this process dies without cleaning up (see [`remove_stale_dirs`]). The directory and
/// every file in it are removed by [`clear`](Self::clear) and when the store is dropped.
pub struct DataStore {
    registry: Arc<Registry>,
    limits: MemoryLimits,
    spill_root: PathBuf,
    dir: Option<tempfile::TempDir>,
    entries: FxHashMap<Key, Entry>,
    /// Unpinned in-memory values by last use, oldest first: the spill order.
    lru: BTreeMap<u64, Key>,
    next_tick: u64,
    next_file: u64,
    memory_bytes: u64,
    pinned_bytes: u64,
    spilled_bytes: u64,
    n_spilled: usize,
    total_spilled: u64,
    spill_failures: u64,
}

impl fmt::Debug for DataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataStore")
            .field("limits", &self.limits)
            .field("len", &self.entries.len())
            .field("memory_bytes", &self.memory_bytes)
            .field("pinned_bytes", &self.pinned_bytes)
            .field("spilled_bytes", &self.spilled_bytes)
            .field("n_spilled", &self.n_spilled)
            .field("spill_dir", &self.spill_dir())
            .finish()
    }
}

impl DataStore {
    /// An empty store. Spill files go in a fresh private subdirectory of `spill_root`, created
    /// (with `spill_root` itself, if missing) on the first spill.
    ///
    /// Fails with [`StoreError::InvalidLimits`] if `limits` do not [`check`](MemoryLimits::check).
    pub fn new(registry: Arc<Registry>, limits: MemoryLimits, spill_root: PathBuf) -> Result<Self, StoreError> {
        limits.check()?;
        Ok(DataStore {
            registry,
            limits,
            spill_root,
            dir: None,
            entries: FxHashMap::default(),
            lru: BTreeMap::new(),
            next_tick: 0,
            next_file: 0,
            memory_bytes: 0,
            pinned_bytes: 0,
            spilled_bytes: 0,
            n_spilled: 0,
            total_spilled: 0,
            spill_failures: 0,
        })
    }

    /// Inserts a computed value, replacing any previous value of `key` (whose pins carry over),
    /// then spills least-recently-used values until memory is within the target.
    ///
    /// The new value is the most recently used, so it is spilled last: if it does not fit under
    /// the target even with every other unpinned value spilled, it is written straight to disk
    /// and the other values stay in memory.
    ///
    /// Fails with [`StoreError::NoCodec`] if the value's type has no codec (the store measures
    /// every value by its encoding), or [`StoreError::Codec`] if the codec cannot measure or
    /// encode it; the store, including any previous value of `key`, is then unchanged.
    pub fn insert(&mut self, key: Key, value: Value) -> Result<(), StoreError> {
        let Some(codec) = self.registry.codec_for(&value).copied() else {
            return Err(StoreError::NoCodec { key, type_name: value.type_name().to_string() });
        };
        let nbytes = match codec.nbytes(&value) {
            Ok(n) => n as u64,
            Err(source) => return Err(StoreError::Codec { key, source }),
        };
        self.put(key, codec, nbytes, Incoming::Value(value))
    }

    /// Inserts a value received from a peer as its codec `tag` and encoding, like
    /// [`insert`](Self::insert). If the value would be spilled at once, its bytes are written to
    /// disk as they are, without decoding; otherwise they are decoded.
    ///
    /// Fails with [`StoreError::UnknownTag`] if the registry has no codec `tag`, or with
    /// [`StoreError::Codec`] if the bytes had to be decoded and are not a valid encoding; the
    /// store, including any previous value of `key`, is then unchanged.
    pub fn insert_encoded(&mut self, key: Key, tag: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let Some(codec) = self.registry.codec_by_tag(tag).copied() else {
            return Err(StoreError::UnknownTag { key, tag: tag.to_string() });
        };
        let nbytes = bytes.len() as u64;
        self.put(key, codec, nbytes, Incoming::Encoded(bytes))
    }

    /// The value of `key`, or `None` if there is none.
    ///
    /// A value in memory becomes the most recently used. A spilled value is read back and
    /// decoded; it moves back into memory as the most recently used, which may spill others,
    /// unless it would be spilled again at once (it does not fit under the target even with
    /// every other unpinned value spilled), in which case it stays on disk.
    ///
    /// Fails with [`StoreError::Io`] if the spill file cannot be read, or [`StoreError::Codec`]
    /// if it does not decode; the value then stays spilled.
    ///
    /// This reads the disk while the caller holds the store: a worker uses [`lookup`](Self::lookup),
    /// [`SpillRead::read`] and [`restore`](Self::restore) instead, so the read happens off its
    /// IO thread and without the store's lock. Kept for tests, which state the store's rules
    /// through it.
    #[cfg(test)]
    pub fn get(&mut self, key: &Key) -> Result<Option<Value>, StoreError> {
        match self.lookup(key) {
            None => Ok(None),
            Some(Lookup::Memory(value)) => Ok(Some(value)),
            Some(Lookup::Disk(read)) => {
                let value = read.read()?;
                self.restore(&read, value.clone());
                Ok(Some(value))
            }
        }
    }

    /// Where `key`'s value is, without touching the disk: in memory (it becomes the most
    /// recently used), or in a spill file, returned as a [`SpillRead`] to carry out wherever
    /// blocking is harmless (then [`restore`](Self::restore) the value). `None` if there is no
    /// value.
    pub fn lookup(&mut self, key: &Key) -> Option<Lookup> {
        let tick = self.tick();
        let entry = self.entries.get_mut(key)?;
        match &entry.place {
            Place::Memory(value) => {
                let value = value.clone();
                if entry.pins == 0 {
                    self.lru.remove(&entry.tick);
                    self.lru.insert(tick, key.clone());
                }
                entry.tick = tick;
                Some(Lookup::Memory(value))
            }
            Place::Disk(path) => {
                Some(Lookup::Disk(SpillRead { key: key.clone(), path: path.clone(), codec: entry.codec }))
            }
        }
    }

    /// Brings a value read through [`lookup`](Self::lookup) back into memory as the most
    /// recently used (which may spill others), if its entry is still the spill file that was
    /// read and it would not be spilled again at once; otherwise does nothing (the value was
    /// removed or replaced meanwhile, or is too large to hold). Returns whether it did.
    pub fn restore(&mut self, read: &SpillRead, value: Value) -> bool {
        let tick = self.tick();
        let Some(entry) = self.entries.get(&read.key) else {
            return false;
        };
        if !matches!(&entry.place, Place::Disk(p) if *p == read.path) {
            return false;
        }
        let (nbytes, pins) = (entry.nbytes, entry.pins);
        if pins == 0 && self.would_spill_at_once(nbytes) {
            tracing::debug!(key = %read.key, nbytes, "read a value too large to hold; it stays spilled");
            return false;
        }
        // Back in memory: the file is no longer needed.
        remove_spill_file(&read.key, &read.path);
        self.spilled_bytes -= nbytes;
        self.n_spilled -= 1;
        self.memory_bytes += nbytes;
        if pins == 0 {
            self.lru.insert(tick, read.key.clone());
        } else {
            self.pinned_bytes += nbytes;
        }
        if let Some(entry) = self.entries.get_mut(&read.key) {
            entry.tick = tick;
            entry.place = Place::Memory(value);
        }
        tracing::debug!(key = %read.key, nbytes, "unspilled");
        self.spill_to_target();
        true
    }

    /// Where `read`'s value is now, after reading its file failed: the file may have been
    /// removed by a concurrent reader that brought the value back into memory
    /// ([`restore`](Self::restore)), and the value may since have been spilled again to
    /// another file. Returns the new place (as [`lookup`](Self::lookup) would), or `None` if
    /// the value is gone or still in that same file (then the failure is real).
    pub fn moved(&mut self, read: &SpillRead) -> Option<Lookup> {
        match &self.entries.get(&read.key)?.place {
            Place::Disk(path) if *path == read.path => None,
            _ => self.lookup(&read.key),
        }
    }

    /// The codec tag and encoding of `key`'s value, for sending to a peer, or `None` if there is
    /// none. A spilled value's bytes are read straight from its file, without decoding, and it
    /// stays spilled; a value in memory is encoded. Neither counts as a use for the LRU order.
    ///
    /// Fails with [`StoreError::Io`] if the spill file cannot be read, or [`StoreError::Codec`]
    /// if the value cannot be encoded.
    #[cfg(test)]
    pub fn get_encoded(&self, key: &Key) -> Result<Option<(&'static str, Vec<u8>)>, StoreError> {
        match self.lookup_encoded(key) {
            None => Ok(None),
            Some(e) => e.encode().map(Some),
        }
    }

    /// What a peer asks for, found without encoding or reading anything:
    /// the value (cheap to clone) or its spill file. Carry it out with [`Encoded::encode`]
    /// where blocking is harmless, not under the store's lock.
    pub fn lookup_encoded(&self, key: &Key) -> Option<Encoded> {
        let entry = self.entries.get(key)?;
        let place = match &entry.place {
            Place::Memory(value) => Lookup::Memory(value.clone()),
            Place::Disk(path) => Lookup::Disk(SpillRead { key: key.clone(), path: path.clone(), codec: entry.codec }),
        };
        Some(Encoded { key: key.clone(), codec: entry.codec, nbytes: entry.nbytes, place })
    }

    /// The spill file holding `key`'s value, or `None` if it is in memory or absent.
    pub fn spill_path(&self, key: &Key) -> Option<&Path> {
        match &self.entries.get(key)?.place {
            Place::Disk(path) => Some(path),
            Place::Memory(_) => None,
        }
    }

    /// Removes `key`'s value (and its pins), deleting its spill file if any.
    /// Returns whether there was a value.
    pub fn remove(&mut self, key: &Key) -> bool {
        self.discard(key).is_some()
    }

    /// Whether the store has a value for `key`, in memory or on disk.
    pub fn contains(&self, key: &Key) -> bool {
        self.entries.contains_key(key)
    }

    /// Whether `key`'s value is on disk.
    #[cfg(test)]
    pub fn is_spilled(&self, key: &Key) -> bool {
        self.entries.get(key).is_some_and(|e| matches!(e.place, Place::Disk(_)))
    }

    /// Number of values, in memory and on disk.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no values.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The size of `key`'s value (the length of its encoding), wherever it is.
    pub fn nbytes(&self, key: &Key) -> Option<u64> {
        self.entries.get(key).map(|e| e.nbytes)
    }

    /// Bytes of the values held in memory, pinned or not.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// Bytes of the pinned values held in memory (a subset of [`memory_bytes`](Self::memory_bytes)).
    #[cfg(test)]
    pub fn pinned_bytes(&self) -> u64 {
        self.pinned_bytes
    }

    /// Bytes of the values on disk.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes
    }

    /// Number of values on disk.
    #[cfg(test)]
    pub fn n_spilled(&self) -> usize {
        self.n_spilled
    }

    /// How many times a value has been written to disk over the store's life (not reset by
    /// [`clear`](Self::clear)).
    #[cfg(test)]
    pub fn total_spilled(&self) -> u64 {
        self.total_spilled
    }

    /// How many spill writes have failed over the store's life; each left its value in memory.
    #[cfg(test)]
    pub fn spill_failures(&self) -> u64 {
        self.spill_failures
    }

    /// Whether memory exceeds `pause * limit`: the worker should not start new tasks.
    ///
    /// Since everything unpinned is spilled down to the target (`<= pause`), this happens only
    /// when pinned values alone exceed the pause threshold, or when spill files cannot be
    /// written. Never true without a limit.
    pub fn is_paused(&self) -> bool {
        self.limits.pause_bytes().is_some_and(|pause| self.memory_bytes > pause)
    }

    /// The private directory holding spill files, once the first spill has created it.
    pub fn spill_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// Pins `key`'s value: while pinned and in memory, it is never spilled, and it counts toward
    /// [`pinned_bytes`](Self::pinned_bytes). Pin the inputs of a task while it runs, since
    /// spilling a value a task still holds would not free its memory.
    ///
    /// Pins are counted; a spilled value stays on disk when pinned, and a read
    /// ([`lookup`](Self::lookup), then [`restore`](Self::restore)) brings it into memory
    /// whatever its size. Returns whether there was a value to pin.
    pub fn pin(&mut self, key: &Key) -> bool {
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        if entry.pins == 0 {
            if let Place::Memory(_) = entry.place {
                self.lru.remove(&entry.tick);
                self.pinned_bytes += entry.nbytes;
            }
        }
        entry.pins = entry.pins.saturating_add(1);
        true
    }

    /// Removes one pin from `key`'s value. When the last pin goes, a value in memory becomes the
    /// most recently used (its task has just used it) and may spill others, or itself.
    /// Returns whether `key` had a pin to remove.
    pub fn unpin(&mut self, key: &Key) -> bool {
        let tick = self.tick();
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        if entry.pins == 0 {
            return false;
        }
        entry.pins -= 1;
        if entry.pins == 0 {
            if let Place::Memory(_) = entry.place {
                self.pinned_bytes -= entry.nbytes;
                entry.tick = tick;
                self.lru.insert(tick, key.clone());
                self.spill_to_target();
            }
        }
        true
    }

    /// Removes every value and deletes the spill directory; the next spill creates a new one.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.lru.clear();
        self.memory_bytes = 0;
        self.pinned_bytes = 0;
        self.spilled_bytes = 0;
        self.n_spilled = 0;
        if let Some(dir) = self.dir.take() {
            let path = dir.path().to_path_buf();
            if let Err(e) = dir.close() {
                tracing::warn!(path = %path.display(), error = %e, "could not remove the spill directory");
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.next_tick += 1;
        self.next_tick
    }

    /// Whether a new unpinned value of `nbytes` would be spilled as soon as it was held: it is
    /// the most recently used, so it goes last, once everything else unpinned is on disk.
    fn would_spill_at_once(&self, nbytes: u64) -> bool {
        self.limits.target_bytes().is_some_and(|target| self.pinned_bytes + nbytes > target)
    }

    /// Stores a new value of `key`. The payload is made ready (encoded and written, or decoded)
    /// before the previous value is discarded, so that an error leaves the store unchanged.
    fn put(&mut self, key: Key, codec: Codec, nbytes: u64, incoming: Incoming) -> Result<(), StoreError> {
        // Pins belong to the key and carry over to its new value.
        let pins = self.entries.get(&key).map_or(0, |old| old.pins);
        let tick = self.tick();
        // An unpinned previous value is not in `pinned_bytes`, so this test need not discard it first.
        if pins == 0 && self.would_spill_at_once(nbytes) {
            // Spilling the others could not make room for it: write it, keep them.
            let written = match &incoming {
                Incoming::Encoded(bytes) => self.write_spill_file(&key, bytes),
                Incoming::Value(value) => {
                    let mut out = Vec::with_capacity(nbytes as usize);
                    codec.encode(value, &mut out).map_err(|source| StoreError::Codec { key: key.clone(), source })?;
                    self.write_spill_file(&key, &out)
                }
            };
            match written {
                Ok(path) => {
                    self.discard(&key);
                    tracing::debug!(%key, nbytes, path = %path.display(), "spilled on insert");
                    self.spilled_bytes += nbytes;
                    self.n_spilled += 1;
                    self.total_spilled += 1;
                    self.entries.insert(key, Entry { codec, nbytes, pins, tick, place: Place::Disk(path) });
                    return Ok(());
                }
                // Fall through and hold it in memory.
                Err(e) => self.spill_failed(&e),
            }
        }
        let value = match incoming {
            Incoming::Value(value) => value,
            Incoming::Encoded(bytes) => {
                codec.decode(&bytes).map_err(|source| StoreError::Codec { key: key.clone(), source })?
            }
        };
        self.discard(&key);
        self.memory_bytes += nbytes;
        if pins == 0 {
            self.lru.insert(tick, key.clone());
        } else {
            self.pinned_bytes += nbytes;
        }
        self.entries.insert(key, Entry { codec, nbytes, pins, tick, place: Place::Memory(value) });
        self.spill_to_target();
        Ok(())
    }

    /// Removes `key`'s entry with its accounting and spill file.
    fn discard(&mut self, key: &Key) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        match &entry.place {
            Place::Memory(_) => {
                self.memory_bytes -= entry.nbytes;
                if entry.pins == 0 {
                    self.lru.remove(&entry.tick);
                } else {
                    self.pinned_bytes -= entry.nbytes;
                }
            }
            Place::Disk(path) => {
                self.spilled_bytes -= entry.nbytes;
                self.n_spilled -= 1;
                remove_spill_file(key, path);
            }
        }
        Some(entry)
    }

    /// Spills least-recently-used unpinned values until memory is within the target, stopping
    /// at the first failure (most likely the disk is full, so the next write would fail too).
    fn spill_to_target(&mut self) {
        let Some(target) = self.limits.target_bytes() else {
            return;
        };
        while self.memory_bytes > target {
            // An empty LRU means everything left in memory is pinned.
            let Some((tick, key)) = self.lru.pop_first() else {
                break;
            };
            if let Err(e) = self.spill(&key) {
                self.spill_failed(&e);
                self.lru.insert(tick, key);
                break;
            }
        }
    }

    /// Writes one unpinned in-memory value (just taken off the LRU) to disk.
    fn spill(&mut self, key: &Key) -> Result<(), StoreError> {
        // Keys in the LRU are always in memory; anything else is skipped rather than trusted.
        let Some(Entry { codec, nbytes, place: Place::Memory(value), .. }) = self.entries.get(key) else {
            return Ok(());
        };
        let nbytes = *nbytes;
        let mut bytes = Vec::with_capacity(nbytes as usize);
        codec.encode(value, &mut bytes).map_err(|source| StoreError::Codec { key: key.clone(), source })?;
        let path = self.write_spill_file(key, &bytes)?;
        tracing::debug!(%key, nbytes, path = %path.display(), "spilled");
        if let Some(entry) = self.entries.get_mut(key) {
            entry.place = Place::Disk(path);
        }
        self.memory_bytes -= nbytes;
        self.spilled_bytes += nbytes;
        self.n_spilled += 1;
        self.total_spilled += 1;
        Ok(())
    }

    fn spill_failed(&mut self, error: &StoreError) {
        self.spill_failures += 1;
        tracing::warn!(%error, "spill to disk failed; keeping the value in memory");
    }

    /// Writes `bytes` to a new spill file, creating the spill directory if needed.
    /// Files are numbered: keys hold arbitrary characters and never become file names.
    fn write_spill_file(&mut self, key: &Key, bytes: &[u8]) -> Result<PathBuf, StoreError> {
        let dir = match &self.dir {
            Some(dir) => dir.path().to_path_buf(),
            None => {
                prepare_spill_root(&self.spill_root).map_err(|e| io_error(None, &self.spill_root, &e))?;
                let dir = create_owned_dir(&self.spill_root, SPILL_DIR_PREFIX)
                    .map_err(|e| io_error(None, &self.spill_root, &e))?;
                let path = dir.path().to_path_buf();
                self.dir = Some(dir);
                path
            }
        };
        self.next_file += 1;
        let path = dir.join(format!("{:016x}.spill", self.next_file));
        if let Err(e) = write_private_file(&path, bytes) {
            // Do not leave a partial file behind.
            let _ = std::fs::remove_file(&path);
            return Err(io_error(Some(key), &path, &e));
        }
        Ok(path)
    }
}

/// The prefix of a [`DataStore`]'s spill directory inside its spill root.
pub(crate) const SPILL_DIR_PREFIX: &str = "rask-spill-";

/// The file in every directory made by [`create_owned_dir`] naming the process that owns it
/// (its PID, in decimal, and a newline).
pub(crate) const OWNER_FILE: &str = "owner.pid";

/// The default spill root: `rask-<uid>` in the system temporary directory, one per user, so
/// that spill files never sit in a directory other users can list. It is created with mode
/// 0700; if it exists but belongs to another user, spilling into it is refused.
pub fn default_spill_root() -> PathBuf {
    match current_uid() {
        Some(uid) => std::env::temp_dir().join(format!("rask-{uid}")),
        None => std::env::temp_dir().join("rask-spill"),
    }
}

/// This process's user id (Unix), learned from the owner of a fresh anonymous file.
fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        static UID: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
        *UID.get_or_init(|| tempfile::tempfile().and_then(|f| f.metadata()).map(|m| m.uid()).ok())
    }
    #[cfg(not(unix))]
    None
}

/// Creates `root` (and missing parents) with mode 0700 if it does not exist. The
/// [default root](default_spill_root), being in a shared directory, must belong to this user
/// (otherwise this fails: another user could read or plant spill files), and is narrowed to
/// 0700 with a warning if its mode is wider. A root chosen by the user is taken as it is.
pub(crate) fn prepare_spill_root(root: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(root)?;
    #[cfg(unix)]
    if root == default_spill_root() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = std::fs::symlink_metadata(root)?;
        if !meta.is_dir() || Some(meta.uid()) != current_uid() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "the spill root {} is not a directory owned by this user (uid {:?}); \
                     remove it or choose another spill directory",
                    root.display(),
                    current_uid()
                ),
            ));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(root = %root.display(), "the spill root had mode {mode:04o}; narrowing it to 0700");
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// Makes a fresh directory `<root>/<prefix>XXXXXX` with mode 0700 and an [`OWNER_FILE`] naming
/// this process; it is removed when the returned handle is dropped.
pub(crate) fn create_owned_dir(root: &Path, prefix: &str) -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder.tempdir_in(root)?;
    write_private_file(&dir.path().join(OWNER_FILE), format!("{}\n", std::process::id()).as_bytes())?;
    Ok(dir)
}

/// Writes a new file readable and writable by its owner only (mode 0600 on Unix).
fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(bytes)
}

/// Whether process `pid` exists (a zombie counts as existing: keeping a directory is safe).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_fs = Path::new("/proc/self");
    if proc_fs.exists() {
        return Path::new("/proc").join(pid.to_string()).exists();
    }
    // No /proc: ask `kill -0`. If even that cannot run, call the owner alive and keep the directory.
    match std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(status) => status.success(),
        Err(_) => true,
    }
}

/// The owner a directory's [`OWNER_FILE`] names, if it has a readable one.
fn dir_owner(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?.trim().parse().ok()
}

/// Whether `dir` belongs to a live process: its own owner, or (for a cluster's directory that
/// holds its workers' spill directories) the owner of any directory directly inside it.
/// A directory without an owner file is treated as live: it may be being created right now.
fn owned_by_live_process(dir: &Path) -> bool {
    let Some(owner) = dir_owner(dir) else { return true };
    if process_alive(owner) {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return true };
    entries.flatten().any(|e| {
        let p = e.path();
        e.file_type().is_ok_and(|t| t.is_dir()) && dir_owner(&p).is_some_and(process_alive)
    })
}

/// Removes the directories directly inside `root` whose names start with one of `prefixes`
/// and whose owning process is gone: left behind by a worker or a
/// [`LocalCluster`](crate::LocalCluster) killed with SIGKILL. A directory is removed only if
/// it is a real directory (not a link) owned by this user, with an [`OWNER_FILE`] naming a
/// process that no longer exists (and, for a cluster's, no directory inside naming a live
/// one). Returns the directories removed; a missing `root` is not an error.
pub(crate) fn remove_stale_dirs(root: &Path, prefixes: &[&str]) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if !meta.is_dir() {
            continue;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if Some(meta.uid()) != current_uid() {
                continue;
            }
        }
        if owned_by_live_process(&path) {
            continue;
        }
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(dir = %path.display(), "removed a spill directory left by a dead process");
                removed.push(path);
            }
            Err(e) => tracing::warn!(dir = %path.display(), error = %e, "could not remove a stale spill directory"),
        }
    }
    Ok(removed)
}

fn io_error(key: Option<&Key>, path: &Path, error: &std::io::Error) -> StoreError {
    StoreError::Io { key: key.cloned(), path: path.to_path_buf(), message: error.to_string() }
}

/// Deletes a spill file that is no longer needed. A failure only leaks a file inside the spill
/// directory, which is removed with the store, so it is logged rather than returned.
fn remove_spill_file(key: &Key, path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        tracing::warn!(%key, path = %path.display(), error = %e, "could not delete a spill file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_store_spills_the_least_recently_used_blocks() {
        let root = tempfile::tempdir().unwrap();
        let limits = MemoryLimits::new(40_000).target(0.5); // spill above 20 000 bytes
        let mut store = DataStore::new(Arc::new(Registry::core()), limits, root.path().to_path_buf()).unwrap();
        for i in 0..4 {
            store.insert(Key::block("x", i), Value::new(vec![i as f64; 1000])).unwrap();
            // 8 000 bytes each
        }
        assert_eq!(store.memory_bytes(), 16_000); // the two most recent blocks
        assert_eq!(store.n_spilled(), 2); // blocks 0 and 1, on disk
        let x0 = store.get(&Key::block("x", 0)).unwrap().unwrap(); // read back, and now the most recent
        assert_eq!(x0.get::<Vec<f64>>().unwrap(), &vec![0.0; 1000]);
    }

    /// A store over the core codecs, spilling into a fresh temporary root.
    fn store(limits: MemoryLimits) -> (tempfile::TempDir, DataStore) {
        let root = tempfile::tempdir().unwrap();
        let s = DataStore::new(Arc::new(Registry::core()), limits, root.path().to_path_buf()).unwrap();
        (root, s)
    }

    /// 1024 doubles (8 KiB) with distinct bit patterns, including a NaN with a payload and -0.0.
    fn block(i: u64) -> Vec<f64> {
        let mut v: Vec<f64> = (0..1024).map(|j| (i * 1024 + j) as f64 * 0.5).collect();
        v[0] = f64::from_bits(0x7ff8_0000_0000_0000 | (i + 1));
        v[1] = -0.0;
        v
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn get_vec(s: &mut DataStore, key: &Key) -> Vec<f64> {
        s.get(key).unwrap().unwrap().get::<Vec<f64>>().unwrap().clone()
    }

    /// Spill files in `dir` (the owner file is not one).
    fn files_in(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().file_name() != OWNER_FILE).count()
    }

    fn k(i: u64) -> Key {
        Key::block("x", i)
    }

    #[test]
    fn without_a_limit_nothing_spills() {
        let (_root, mut s) = store(MemoryLimits::default());
        for i in 0..10 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert_eq!(s.memory_bytes(), 10 * 8192);
        assert_eq!((s.n_spilled(), s.total_spilled(), s.spilled_bytes()), (0, 0, 0));
        assert!(s.spill_dir().is_none(), "the spill directory is created lazily");
        assert!(!s.is_paused());
    }

    #[cfg(unix)]
    #[test]
    fn the_spill_root_and_directory_are_0700_and_spill_files_0600() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("a").join("spill-root");
        let mut s = DataStore::new(Arc::new(Registry::core()), MemoryLimits::new(20_000), root.clone()).unwrap();
        for i in 0..4 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert!(s.n_spilled() > 0);
        assert_eq!(mode(&root), 0o700, "a missing spill root is created private");
        let dir = s.spill_dir().unwrap().to_path_buf();
        assert_eq!(mode(&dir), 0o700, "the spill directory");
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "spill")));
        for f in &files {
            assert_eq!(mode(f), 0o600, "{}", f.display());
        }
        assert_eq!(dir_owner(&dir), Some(std::process::id()), "the owner file names this process");
        let default = default_spill_root();
        assert!(default.starts_with(std::env::temp_dir()), "{}", default.display());
        assert!(default.file_name().unwrap().to_str().unwrap().starts_with("rask-"));
    }

    /// A PID that belonged to a process that has exited and been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn stale_spill_directories_of_dead_processes_are_removed_and_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let make = |name: &str, owner: Option<u32>| {
            let d = root.path().join(name);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("0000000000000001.spill"), vec![7u8; 1000]).unwrap();
            if let Some(pid) = owner {
                std::fs::write(d.join(OWNER_FILE), format!("{pid}\n")).unwrap();
            }
            d
        };
        let dead = make("rask-spill-dead", Some(dead_pid()));
        let live = make("rask-spill-live", Some(std::process::id()));
        let unowned = make("rask-spill-unowned", None);
        let other = make("something-else", Some(dead_pid()));
        // A dead cluster's directory holding a live worker's spill directory is kept.
        let cluster = make("rask-cluster-dead-with-live-worker", Some(dead_pid()));
        std::fs::create_dir(cluster.join("rask-spill-w")).unwrap();
        std::fs::write(cluster.join("rask-spill-w").join(OWNER_FILE), format!("{}\n", std::process::id())).unwrap();
        let dead_cluster = make("rask-cluster-dead", Some(dead_pid()));
        let removed = remove_stale_dirs(root.path(), &["rask-spill-", "rask-cluster-"]).unwrap();
        assert!(!dead.exists() && !dead_cluster.exists());
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(live.exists() && unowned.exists() && other.exists() && cluster.exists());
        assert_eq!(remove_stale_dirs(&root.path().join("missing"), &["rask-spill-"]).unwrap(), Vec::<PathBuf>::new());
    }

    /// `lookup` and `lookup_encoded` never touch the disk (a worker calls them on its IO
    /// thread, under the store's lock): a spill file replaced by a FIFO, whose opening would
    /// block until a writer comes, is looked up at once; the read happens in `SpillRead::read`,
    /// wherever the caller runs it; `restore` then brings the value back only if the entry is
    /// still that file.
    #[cfg(unix)]
    #[test]
    fn lookups_never_touch_the_disk_and_reads_happen_where_the_caller_runs_them() {
        let same = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (_root, mut s) = store(MemoryLimits::new(50_000));
        for i in 0..10 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert!(s.is_spilled(&k(0)) && s.is_spilled(&k(1)));
        // Key 0's file becomes a FIFO: reading it blocks until something writes to it.
        let Some(Lookup::Disk(read0)) = s.lookup(&k(0)) else { panic!("key 0 is spilled") };
        let codec = Registry::core().codec_by_tag("vec<f64>").copied().unwrap();
        let mut bytes0 = Vec::new();
        codec.encode(&Value::new(block(0)), &mut bytes0).unwrap();
        std::fs::remove_file(&read0.path).unwrap();
        let fifo = read0.path.clone();
        let made = std::process::Command::new("mkfifo").arg("-m").arg("600").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        let t0 = std::time::Instant::now();
        for _ in 0..3 {
            assert!(matches!(s.lookup(&k(0)), Some(Lookup::Disk(_))));
            assert!(s.lookup_encoded(&k(0)).is_some());
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(1), "a lookup waited on the disk");
        // The read, on another thread, waits for the writer; the store serves others meanwhile.
        let reader = std::thread::spawn(move || read0.read().map(|v| (read0, v)));
        assert!(matches!(s.lookup(&k(9)), Some(Lookup::Memory(_))));
        let got = s.get(&k(1)).unwrap().unwrap();
        assert_eq!(same(got.get::<Vec<f64>>().unwrap()), same(&block(1)));
        std::fs::write(&fifo, &bytes0).unwrap();
        let (read0, value) = reader.join().unwrap().unwrap();
        assert_eq!(same(value.get::<Vec<f64>>().unwrap()), same(&block(0)));
        assert!(s.restore(&read0, value.clone()), "still that file: back in memory");
        assert!(!s.is_spilled(&k(0)));
        assert!(!s.restore(&read0, value), "already restored: nothing to do");
        // A read of a value removed meanwhile fails, naming the key; restoring does nothing.
        let Some(Lookup::Disk(read2)) = s.lookup(&k(2)) else { panic!("key 2 is spilled") };
        assert!(s.remove(&k(2)));
        let e = read2.read().unwrap_err().to_string();
        assert!(e.contains("x") && e.contains("spill I/O"), "{e}");
        assert!(!s.restore(&read2, Value::new(block(2))));
        assert!(!s.contains(&k(2)));
    }

    #[test]
    fn a_read_whose_file_a_concurrent_reader_removed_finds_where_the_value_went() {
        let same = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (_root, mut s) = store(MemoryLimits::new(50_000));
        for i in 0..10 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        // Two readers of key 0 (two tasks pinning it): the first restores it, removing the file.
        let Some(Lookup::Disk(first)) = s.lookup(&k(0)) else { panic!("key 0 is spilled") };
        let Some(Lookup::Disk(second)) = s.lookup(&k(0)) else { panic!("key 0 is spilled") };
        assert!(s.moved(&second).is_none(), "nothing moved yet: a failure there would be real");
        s.pin(&k(0));
        let value = first.read().unwrap();
        assert!(s.restore(&first, value));
        assert!(second.read().is_err(), "the file is gone");
        let Some(Lookup::Memory(v)) = s.moved(&second) else { panic!("key 0 is back in memory") };
        assert_eq!(same(v.get::<Vec<f64>>().unwrap()), same(&block(0)));
        // Unpinned and pushed out again: it moved to a new file, which the retry reads.
        assert!(s.unpin(&k(0)));
        for i in 10..20 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert!(s.is_spilled(&k(0)));
        let Some(Lookup::Disk(third)) = s.moved(&second) else { panic!("key 0 is spilled again") };
        assert_ne!(third.path, second.path);
        assert_eq!(s.spill_path(&k(0)), Some(third.path.as_path()));
        assert_eq!(same(third.read().unwrap().get::<Vec<f64>>().unwrap()), same(&block(0)));
        // Gone altogether: nothing to find.
        assert!(s.remove(&k(0)));
        assert!(s.moved(&third).is_none() && s.spill_path(&k(0)).is_none());
    }

    #[test]
    fn least_recently_used_values_spill_and_read_back_bit_for_bit() {
        // Target 30 000 bytes: three 8 KiB blocks fit, the seven oldest spill.
        let (root, mut s) = store(MemoryLimits::new(50_000));
        for i in 0..10 {
            s.insert(k(i), Value::new(block(i))).unwrap();
            assert!(s.memory_bytes() <= 30_000, "{} bytes held after insert {i}", s.memory_bytes());
        }
        assert_eq!(s.memory_bytes(), 3 * 8192);
        assert_eq!((s.n_spilled(), s.spilled_bytes(), s.total_spilled()), (7, 7 * 8192, 7));
        for i in 0..10 {
            assert_eq!(s.is_spilled(&k(i)), i < 7, "key {i}");
            assert_eq!(s.nbytes(&k(i)), Some(8192));
        }
        let dir = s.spill_dir().unwrap().to_path_buf();
        assert!(dir.starts_with(root.path()));
        assert!(dir.file_name().unwrap().to_str().unwrap().starts_with("rask-spill-"));
        assert_eq!(files_in(&dir), 7);

        // Sending a spilled value reads its file: the bytes are the encoding, and it stays spilled.
        let codec = Registry::core().codec_by_tag("vec<f64>").copied().unwrap();
        let mut expected = Vec::new();
        codec.encode(&Value::new(block(2)), &mut expected).unwrap();
        let (tag, bytes) = s.get_encoded(&k(2)).unwrap().unwrap();
        assert_eq!((tag, &bytes), ("vec<f64>", &expected));
        assert!(s.is_spilled(&k(2)));
        let (_, bytes) = s.get_encoded(&k(9)).unwrap().unwrap();
        let mut expected = Vec::new();
        codec.encode(&Value::new(block(9)), &mut expected).unwrap();
        assert_eq!(bytes, expected, "a value in memory is encoded");

        for i in 0..10 {
            assert_eq!(bits(&get_vec(&mut s, &k(i))), bits(&block(i)), "key {i}");
            assert!(s.memory_bytes() <= 30_000);
        }
        assert_eq!(s.len(), 10);
        assert_eq!(files_in(&dir), s.n_spilled());
        assert_eq!(s.memory_bytes() + s.spilled_bytes(), 10 * 8192);
        assert_eq!(s.get(&Key::new("absent")).unwrap().map(|v| v.type_name()), None);
        assert_eq!(s.get_encoded(&Key::new("absent")).unwrap(), None);
    }

    #[test]
    fn get_makes_a_value_most_recently_used() {
        let (_root, mut s) = store(MemoryLimits::new(50_000));
        for i in 0..3 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert_eq!(s.n_spilled(), 0);
        s.get(&k(0)).unwrap().unwrap();
        s.insert(k(3), Value::new(block(3))).unwrap();
        assert!(!s.is_spilled(&k(0)), "key 0 was just used");
        assert!(s.is_spilled(&k(1)), "key 1 is now the least recently used");

        // Reading key 1 back makes it the most recent, and spills the next oldest (key 2).
        get_vec(&mut s, &k(1));
        assert!(!s.is_spilled(&k(1)));
        assert!(s.is_spilled(&k(2)));
        assert_eq!(s.total_spilled(), 2);
    }

    #[test]
    fn remove_deletes_the_spill_file_and_drop_deletes_the_directory() {
        let (root, mut s) = store(MemoryLimits::new(20_000)); // target 12 000: one block fits
        s.insert(k(0), Value::new(block(0))).unwrap();
        s.insert(k(1), Value::new(block(1))).unwrap();
        assert!(s.is_spilled(&k(0)));
        let dir = s.spill_dir().unwrap().to_path_buf();
        assert_eq!(files_in(&dir), 1);
        assert!(s.remove(&k(0)));
        assert!(!s.remove(&k(0)));
        assert_eq!(files_in(&dir), 0);
        assert_eq!((s.n_spilled(), s.spilled_bytes(), s.len()), (0, 0, 1));

        s.insert(k(2), Value::new(block(2))).unwrap();
        assert_eq!(files_in(&dir), 1);
        drop(s);
        assert!(!dir.exists(), "dropping the store removes its spill directory");
        assert!(root.path().exists(), "but not the root it was made in");
    }

    #[test]
    fn clear_removes_everything_and_the_store_stays_usable() {
        let (_root, mut s) = store(MemoryLimits::new(20_000));
        for i in 0..3 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        let dir = s.spill_dir().unwrap().to_path_buf();
        s.clear();
        assert!(s.is_empty());
        assert_eq!((s.memory_bytes(), s.spilled_bytes(), s.n_spilled()), (0, 0, 0));
        assert!(!dir.exists());
        assert!(s.spill_dir().is_none());
        for i in 0..3 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert_eq!(files_in(s.spill_dir().unwrap()), 2);
        assert_eq!(s.total_spilled(), 4, "the spill count is cumulative");
        assert_eq!(bits(&get_vec(&mut s, &k(0))), bits(&block(0)));
    }

    #[test]
    fn replacing_a_value_replaces_its_bytes_and_its_file() {
        let (_root, mut s) = store(MemoryLimits::new(20_000));
        s.insert(k(0), Value::new(block(0))).unwrap();
        s.insert(k(1), Value::new(block(1))).unwrap();
        assert!(s.is_spilled(&k(0)));
        s.insert(k(0), Value::new(vec![1.0f64; 10])).unwrap();
        assert_eq!(s.nbytes(&k(0)), Some(80));
        assert_eq!((s.n_spilled(), files_in(s.spill_dir().unwrap())), (0, 0));
        assert_eq!(s.memory_bytes(), 8192 + 80);
        assert_eq!(get_vec(&mut s, &k(0)), vec![1.0; 10]);
    }

    #[test]
    fn a_value_larger_than_the_target_goes_straight_to_disk_and_stays_there() {
        let (_root, mut s) = store(MemoryLimits::new(20_000)); // target 12 000
        s.insert(k(0), Value::new(block(0))).unwrap();
        let big = vec![2.5f64; 2000]; // 16 000 bytes
        s.insert(k(1), Value::new(big.clone())).unwrap();
        assert!(s.is_spilled(&k(1)));
        assert!(!s.is_spilled(&k(0)), "spilling the small value could not have made room");
        assert_eq!(s.memory_bytes(), 8192);

        assert_eq!(get_vec(&mut s, &k(1)), big);
        assert!(s.is_spilled(&k(1)), "reading it back does not hold it, since it would spill again");
        assert!(!s.is_spilled(&k(0)));
        assert_eq!(s.total_spilled(), 1);
    }

    #[test]
    fn encoded_values_that_would_spill_are_not_decoded() {
        let (_root, mut s) = store(MemoryLimits::new(20_000));
        // 16 001 bytes are not a whole number of doubles, but they go to disk as they are.
        s.insert_encoded(k(0), "vec<f64>", vec![7u8; 16_001]).unwrap();
        assert!(s.is_spilled(&k(0)));
        assert_eq!(s.get_encoded(&k(0)).unwrap().unwrap(), ("vec<f64>", vec![7u8; 16_001]));
        assert!(matches!(s.get(&k(0)), Err(StoreError::Codec { .. })));
        assert!(s.is_spilled(&k(0)), "a failed read leaves the value where it was");

        // Small enough to hold: decoded at once, so bad bytes are an error, and change nothing.
        s.insert(k(1), Value::new(vec![4.0f64])).unwrap();
        let e = s.insert_encoded(k(1), "vec<f64>", vec![0u8; 9]).unwrap_err();
        assert!(matches!(&e, StoreError::Codec { key, .. } if *key == k(1)), "{e}");
        assert_eq!(get_vec(&mut s, &k(1)), vec![4.0]);
        assert!(s.remove(&k(1)));

        let mut good = Vec::new();
        Registry::core().codec_by_tag("vec<f64>").unwrap().encode(&Value::new(block(3)), &mut good).unwrap();
        s.insert_encoded(k(3), "vec<f64>", good).unwrap();
        assert!(!s.is_spilled(&k(3)));
        assert_eq!(bits(&get_vec(&mut s, &k(3))), bits(&block(3)));
    }

    #[test]
    fn pinned_values_are_not_spilled_and_can_pause_the_worker() {
        // Target 12 000, pause 16 000.
        let (_root, mut s) = store(MemoryLimits::new(20_000));
        s.insert(k(0), Value::new(block(0))).unwrap();
        assert!(s.pin(&k(0)));
        assert!(s.pin(&k(0)), "pins are counted");
        assert!(!s.pin(&Key::new("absent")));
        assert_eq!(s.pinned_bytes(), 8192);
        s.insert(k(1), Value::new(block(1))).unwrap();
        assert!(!s.is_spilled(&k(0)), "pinned");
        assert!(s.is_spilled(&k(1)), "with 8 KiB pinned, a second block cannot fit under the target");
        assert!(!s.is_paused());

        // Pin k(1) while on disk; reading it brings it into memory whatever its size.
        assert!(s.pin(&k(1)));
        get_vec(&mut s, &k(1));
        assert!(!s.is_spilled(&k(1)));
        assert_eq!((s.memory_bytes(), s.pinned_bytes()), (16_384, 16_384));
        assert!(s.is_paused(), "pinned memory above the pause threshold pauses the worker");

        // Unpinning k(1) lets it spill: it is the most recent, but k(0) is still pinned.
        assert!(s.unpin(&k(1)));
        assert!(!s.unpin(&k(1)));
        assert!(s.is_spilled(&k(1)));
        assert!(!s.is_paused());
        assert!(s.unpin(&k(0)));
        assert!(!s.is_spilled(&k(0)), "one pin is left");
        assert!(s.unpin(&k(0)));
        assert_eq!(s.pinned_bytes(), 0);
        assert_eq!(s.memory_bytes(), 8192, "k(0) fits under the target by itself");
    }

    #[test]
    fn failed_spills_keep_values_in_memory_and_pause_the_worker() {
        // A spill root that is a file: the spill directory cannot be created.
        let root = tempfile::NamedTempFile::new().unwrap();
        let mut s =
            DataStore::new(Arc::new(Registry::core()), MemoryLimits::new(20_000), root.path().to_path_buf()).unwrap();
        for i in 0..3 {
            s.insert(k(i), Value::new(block(i))).unwrap();
        }
        assert_eq!(s.n_spilled(), 0);
        assert_eq!(s.memory_bytes(), 3 * 8192);
        assert!(s.spill_failures() >= 2);
        assert!(s.is_paused());
        for i in 0..3 {
            assert_eq!(bits(&get_vec(&mut s, &k(i))), bits(&block(i)));
        }
    }

    #[test]
    fn values_without_a_codec_and_unknown_tags_are_rejected() {
        struct Opaque;
        let (_root, mut s) = store(MemoryLimits::new(20_000));
        let e = s.insert(Key::new("o"), Value::new(Opaque)).unwrap_err();
        assert!(
            matches!(&e, StoreError::NoCodec { key, type_name } if key.name() == "o" && type_name.contains("Opaque"))
        );
        let e = s.insert_encoded(Key::new("t"), "no-such-codec", vec![1, 2]).unwrap_err();
        assert_eq!(e, StoreError::UnknownTag { key: Key::new("t"), tag: "no-such-codec".into() });
        assert!(e.to_string().contains("no-such-codec"), "{e}");
        assert!(s.is_empty());
    }

    #[test]
    fn invalid_limits_are_rejected_one_field_at_a_time() {
        let bad = |l: MemoryLimits| match l.check() {
            Err(StoreError::InvalidLimits(m)) => m,
            other => panic!("{l:?} should be invalid, got {other:?}"),
        };
        assert!(bad(MemoryLimits::new(0)).contains("limit"));
        assert!(bad(MemoryLimits::new(100).target(0.0)).contains("target"));
        assert!(bad(MemoryLimits::new(100).target(f64::NAN)).contains("target"));
        assert!(bad(MemoryLimits::new(100).pause(1.5)).contains("pause"));
        assert!(bad(MemoryLimits::default().pause(-0.1)).contains("pause"));
        assert!(bad(MemoryLimits::new(100).target(0.9).pause(0.8)).contains("must not exceed pause"));
        assert_eq!(MemoryLimits::new(100).target(1.0).pause(1.0).check(), Ok(()));
        assert_eq!(MemoryLimits::default().check(), Ok(()));
        let root = std::env::temp_dir();
        let e = DataStore::new(Arc::new(Registry::core()), MemoryLimits::new(0), root).unwrap_err();
        assert!(e.to_string().starts_with("invalid memory limits"), "{e}");
    }

    #[test]
    fn limits_round_trip_and_the_store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<DataStore>();
        assert_send_sync::<StoreError>();
        let l = MemoryLimits::new(1 << 30).target(0.5).pause(0.9);
        let back: MemoryLimits = rmp_serde::from_slice(&rmp_serde::to_vec(&l).unwrap()).unwrap();
        assert_eq!(back, l);
        assert_eq!((l.target_bytes(), l.pause_bytes()), (Some(1 << 29), Some(966_367_641)));
        assert_eq!(MemoryLimits::default().target_bytes(), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, Vec<f64>),
        InsertEncoded(u64, Vec<f64>),
        Get(u64),
        Remove(u64),
        Pin(u64),
        Unpin(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0u64..6;
        let vec = proptest::collection::vec(any::<f64>(), 0..40);
        prop_oneof![
            3 => (key.clone(), vec.clone()).prop_map(|(k, v)| Op::Insert(k, v)),
            1 => (key.clone(), vec).prop_map(|(k, v)| Op::InsertEncoded(k, v)),
            3 => key.clone().prop_map(Op::Get),
            1 => key.clone().prop_map(Op::Remove),
            1 => key.clone().prop_map(Op::Pin),
            1 => key.prop_map(Op::Unpin),
        ]
    }

    proptest! {
        /// Against a model (a map of the last value inserted per key, and pin counts), under a
        /// limit that a handful of values exceed: after every operation
        /// `memory_bytes() <= max(target_bytes, pinned_bytes())`, the byte counts add up, one
        /// file exists per spilled value, and every get returns the last value inserted.
        #[test]
        fn the_store_agrees_with_a_map_and_respects_the_target(ops in proptest::collection::vec(op(), 1..60)) {
            let limits = MemoryLimits::new(1000).target(0.5).pause(0.8);
            let target = limits.target_bytes().unwrap();
            let (_root, mut s) = store(limits);
            let codec = Registry::core().codec_by_tag("vec<f64>").copied().unwrap();
            let mut model: FxHashMap<u64, Vec<f64>> = FxHashMap::default();
            let mut pins: FxHashMap<u64, u32> = FxHashMap::default();
            for op in ops {
                match op {
                    Op::Insert(i, v) => {
                        s.insert(k(i), Value::new(v.clone())).unwrap();
                        model.insert(i, v);
                    }
                    Op::InsertEncoded(i, v) => {
                        let mut bytes = Vec::new();
                        codec.encode(&Value::new(v.clone()), &mut bytes).unwrap();
                        s.insert_encoded(k(i), "vec<f64>", bytes).unwrap();
                        model.insert(i, v);
                    }
                    Op::Get(i) => {
                        let got = s.get(&k(i)).unwrap().map(|v| bits(v.get::<Vec<f64>>().unwrap()));
                        prop_assert_eq!(got, model.get(&i).map(|v| bits(v)));
                    }
                    Op::Remove(i) => {
                        prop_assert_eq!(s.remove(&k(i)), model.remove(&i).is_some());
                        pins.remove(&i);
                    }
                    Op::Pin(i) => {
                        prop_assert_eq!(s.pin(&k(i)), model.contains_key(&i));
                        if model.contains_key(&i) {
                            *pins.entry(i).or_default() += 1;
                        }
                    }
                    Op::Unpin(i) => {
                        let pinned = pins.get(&i).is_some_and(|&n| n > 0);
                        prop_assert_eq!(s.unpin(&k(i)), pinned);
                        if pinned {
                            *pins.entry(i).or_default() -= 1;
                        }
                    }
                }
                prop_assert_eq!(s.spill_failures(), 0);
                prop_assert!(s.memory_bytes() <= target.max(s.pinned_bytes()),
                    "{} bytes in memory, {} pinned", s.memory_bytes(), s.pinned_bytes());
                prop_assert!(s.pinned_bytes() <= s.memory_bytes());
                prop_assert_eq!(s.len(), model.len());
                let total: u64 = model.values().map(|v| 8 * v.len() as u64).sum();
                prop_assert_eq!(s.memory_bytes() + s.spilled_bytes(), total);
                let files = s.spill_dir().map_or(0, files_in);
                prop_assert_eq!(files, s.n_spilled());
                for i in model.keys() {
                    prop_assert!(s.contains(&k(*i)));
                }
            }
        }
    }
}
