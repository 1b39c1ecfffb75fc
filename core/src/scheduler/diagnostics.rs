//! Hooks into a computation: task start/finish callbacks, a progress bar and per-op timings.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rustc_hash::FxHashMap;

use crate::key::Key;

/// Observes a computation. Methods may be called from several threads at once.
///
/// Callbacks cost nothing when none is installed; with one installed, each task pays for two
/// clock reads and the callback itself, so keep them cheap.
pub trait Callback: Send + Sync {
    /// The plan is built; `n_tasks` nodes will run.
    fn on_compute_start(&self, _n_tasks: usize) {}
    /// A task is about to run.
    fn on_task_start(&self, _key: &Key) {}
    /// A task ended, successfully or not, after `elapsed`.
    fn on_task_finish(&self, _key: &Key, _ok: bool, _elapsed: Duration) {}
    /// The computation ended.
    fn on_compute_end(&self, _ok: bool) {}
}

/// A terminal progress bar (on standard error; hidden when that is not a terminal).
#[derive(Debug)]
pub struct Progress {
    label: String,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress {
    /// A progress bar labelled `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Progress { label: label.into(), bar: Mutex::new(None) }
    }
}

impl Callback for Progress {
    fn on_compute_start(&self, n_tasks: usize) {
        let bar = ProgressBar::with_draw_target(Some(n_tasks as u64), ProgressDrawTarget::stderr());
        // The template is a constant known to be valid.
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} tasks ({per_sec}, {elapsed})")
            .expect("valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(self.label.clone());
        *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
    }

    fn on_task_finish(&self, _key: &Key, _ok: bool, _elapsed: Duration) {
        if let Some(bar) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.inc(1);
        }
    }

    fn on_compute_end(&self, ok: bool) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            if ok {
                bar.finish();
            } else {
                bar.abandon();
            }
        }
    }
}

/// Time spent per task prefix (`sum` for `sum-3fa1…`), like Dask's task-stream summary.
#[derive(Debug, Default)]
pub struct TaskTimings {
    by_prefix: Mutex<FxHashMap<String, (usize, Duration)>>,
}

impl TaskTimings {
    /// Empty timings.
    pub fn new() -> Self {
        Self::default()
    }

    /// `(prefix, tasks, total time)`, longest total first.
    pub fn summary(&self) -> Vec<(String, usize, Duration)> {
        let map = self.by_prefix.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = map.iter().map(|(k, &(n, t))| (k.clone(), n, t)).collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

impl Callback for TaskTimings {
    fn on_task_finish(&self, key: &Key, _ok: bool, elapsed: Duration) {
        let mut map = self.by_prefix.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(key.prefix()) {
            Some(e) => {
                e.0 += 1;
                e.1 += elapsed;
            }
            None => {
                map.insert(key.prefix().to_string(), (1, elapsed));
            }
        }
    }
}
