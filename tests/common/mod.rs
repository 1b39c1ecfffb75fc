//! What the facade's process tests share.
#![allow(dead_code)] // each test file uses a part

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the computations a scheduler starts (a fit runs one per iteration or step), so a
/// test can act once a fit is under way.
#[derive(Debug, Default)]
pub struct Computations(AtomicUsize);

impl Computations {
    /// How many have started.
    pub fn started(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl rask::scheduler::Callback for Computations {
    fn on_compute_start(&self, _: usize) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}
