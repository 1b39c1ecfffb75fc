//! The scheduler's task table: every task once, in a slab, reachable by its id and by its key.
//!
//! A million-task graph is a million entries, so the layout matters more than anywhere else
//! in the scheduler. A map from id to task plus a map from key to id held each task's bytes
//! inline in a hash table (at most 7/8 full, so up to twice the slots), and the index a second
//! copy of every key; growing either briefly held the old and the new table together. Here
//! the tasks sit in fixed-size chunks of slots (growing adds a chunk and never moves or
//! over-reserves the others), and the key index is a table of 4-byte slot numbers hashed by the key, which it reads from
//! the slot.
//!
//! Ids are `(generation << 32) | slot`: a freed slot is reused with the next generation, so a
//! stale id (a forgotten dependent still listed by its dependency) finds nothing, as a removed
//! map entry did.

use std::hash::BuildHasher;
use std::ops::Index;

use hashbrown::HashTable;
use rask_core::Key;
use rustc_hash::FxBuildHasher;

use super::{Task, Tid};

#[derive(Debug)]
struct Slot {
    generation: u32,
    task: Option<Task>,
}

/// Tasks by id and by key.
/// Slots per chunk (a chunk is about 1 MB).
const CHUNK: usize = 4096;

/// Slots in fixed-size chunks.
#[derive(Debug, Default)]
struct Slots {
    chunks: Vec<Vec<Slot>>,
    len: usize,
}

impl Slots {
    fn get(&self, s: usize) -> Option<&Slot> {
        self.chunks.get(s / CHUNK).and_then(|c| c.get(s % CHUNK))
    }

    fn get_mut(&mut self, s: usize) -> Option<&mut Slot> {
        self.chunks.get_mut(s / CHUNK).and_then(|c| c.get_mut(s % CHUNK))
    }

    fn push(&mut self, slot: Slot) {
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        // A chunk with room exists now.
        self.chunks.last_mut().expect("a chunk").push(slot);
        self.len += 1;
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.chunks.iter().flatten()
    }
}

impl std::ops::Index<usize> for Slots {
    type Output = Slot;

    fn index(&self, s: usize) -> &Slot {
        &self.chunks[s / CHUNK][s % CHUNK]
    }
}

#[derive(Debug, Default)]
pub(super) struct TaskTable {
    slots: Slots,
    free: Vec<u32>,
    by_key: HashTable<u32>,
    len: usize,
}

fn split(t: Tid) -> (u32, usize) {
    ((t >> 32) as u32, (t & 0xffff_ffff) as usize)
}

fn hash(key: &Key) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl TaskTable {
    /// Room for `n` more tasks without growing.
    pub(super) fn reserve(&mut self, n: usize) {
        let slots = &self.slots;
        self.by_key.reserve(n, |&s| hash(Self::slot_key(slots, s)));
    }

    fn slot_key(slots: &Slots, s: u32) -> &Key {
        // Only occupied slots are indexed (`insert` and `remove` keep the two in step).
        &slots[s as usize].task.as_ref().expect("indexed slots are occupied").key
    }

    /// Adds a task whose key is not in the table and returns its id.
    pub(super) fn insert(&mut self, task: Task) -> Tid {
        let h = hash(&task.key);
        let slot = match self.free.pop() {
            Some(s) => {
                // Free slots exist.
                let entry = self.slots.get_mut(s as usize).expect("a freed slot");
                entry.generation = entry.generation.wrapping_add(1);
                entry.task = Some(task);
                s
            }
            None => {
                // Each task is at least a slot's 200-odd bytes: 2³² of them do not fit in memory.
                let s = u32::try_from(self.slots.len).expect("fewer than 2³² tasks at once");
                self.slots.push(Slot { generation: 0, task: Some(task) });
                s
            }
        };
        let slots = &self.slots;
        self.by_key.insert_unique(h, slot, |&s| hash(Self::slot_key(slots, s)));
        self.len += 1;
        (u64::from(self.slots[slot as usize].generation) << 32) | u64::from(slot)
    }

    /// The id of the task with this key.
    pub(super) fn tid_of(&self, key: &Key) -> Option<Tid> {
        let slots = &self.slots;
        self.by_key
            .find(hash(key), |&s| Self::slot_key(slots, s) == key)
            .map(|&s| (u64::from(slots[s as usize].generation) << 32) | u64::from(s))
    }

    /// Whether a task has this key.
    pub(super) fn contains_key_of(&self, key: &Key) -> bool {
        self.tid_of(key).is_some()
    }

    pub(super) fn get(&self, t: &Tid) -> Option<&Task> {
        let (generation, s) = split(*t);
        self.slots.get(s).filter(|e| e.generation == generation).and_then(|e| e.task.as_ref())
    }

    pub(super) fn get_mut(&mut self, t: &Tid) -> Option<&mut Task> {
        let (generation, s) = split(*t);
        self.slots.get_mut(s).filter(|e| e.generation == generation).and_then(|e| e.task.as_mut())
    }

    pub(super) fn contains_key(&self, t: &Tid) -> bool {
        self.get(t).is_some()
    }

    /// Removes a task (and its key) and frees its slot.
    pub(super) fn remove(&mut self, t: &Tid) -> Option<Task> {
        let (generation, s) = split(*t);
        let entry = self.slots.get_mut(s).filter(|e| e.generation == generation)?;
        let task = entry.task.take()?;
        let slot = s as u32;
        if let Ok(found) = self.by_key.find_entry(hash(&task.key), |&x| x == slot) {
            found.remove();
        }
        self.free.push(slot);
        self.len -= 1;
        Some(task)
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Every task with its id.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = (Tid, &Task)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, e)| e.task.as_ref().map(|t| ((u64::from(e.generation) << 32) | s as u64, t)))
    }

    #[cfg(test)]
    pub(super) fn values(&self) -> impl Iterator<Item = &Task> {
        self.slots.iter().filter_map(|e| e.task.as_ref())
    }
}

impl Index<&Tid> for TaskTable {
    type Output = Task;

    fn index(&self, t: &Tid) -> &Task {
        // Callers index ids they hold live links to, as with a map's `[]`.
        self.get(t).expect("a live task id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::WireSpec;

    fn task(name: &str) -> Task {
        Task::new(Key::new(name), WireSpec::Alias, (0, 0))
    }

    /// A slot is paid once per task of every graph: a million-task graph is 216 MB of them.
    /// Before the rare fields moved behind one pointer and the op went inline, a slot was
    /// 232 bytes plus a 64-byte allocation for the op; the 16-byte key took 24 more off, and
    /// the holders' list 8.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_slot_with_its_op_stays_within_216_bytes() {
        assert!(std::mem::size_of::<Slot>() <= 216, "a slot is {} bytes", std::mem::size_of::<Slot>());
    }

    #[test]
    fn ids_and_keys_find_tasks_and_stale_ids_find_nothing() {
        let mut t = TaskTable::default();
        t.reserve(3);
        let a = t.insert(task("a"));
        let b = t.insert(task("b"));
        assert_eq!(t.tid_of(&Key::new("a")), Some(a));
        assert_eq!(t[&b].key, Key::new("b"));
        assert_eq!(t.len(), 2);
        assert_eq!(t.remove(&a).map(|x| x.key), Some(Key::new("a")));
        assert!(t.get(&a).is_none() && !t.contains_key_of(&Key::new("a")));
        // The slot is reused with a new generation: the old id stays dead.
        let c = t.insert(task("c"));
        assert_eq!(c & 0xffff_ffff, a & 0xffff_ffff);
        assert_ne!(c, a);
        assert!(t.get(&a).is_none() && t.remove(&a).is_none());
        assert_eq!(t.tid_of(&Key::new("c")), Some(c));
        let mut ids: Vec<Tid> = t.iter().map(|(id, _)| id).collect();
        ids.sort_unstable();
        let mut want = vec![b, c];
        want.sort_unstable();
        assert_eq!(ids, want);
        assert_eq!(t.values().count(), 2);
    }

    #[test]
    fn sizes() {
        eprintln!(
            "Task {} Slot {} WireSpec {} Key {} St {}",
            std::mem::size_of::<Task>(),
            std::mem::size_of::<Slot>(),
            std::mem::size_of::<WireSpec>(),
            std::mem::size_of::<Key>(),
            std::mem::size_of::<super::super::St>()
        );
    }
}
