//! Progress of a job: in rows for a batch prediction ([`RowsProgress`]), per step for a fit
//! ([`StepProgress`], [`run_step`]); a bar or spinner on a terminal, plain periodic lines
//! otherwise (cron, nohup, CI logs), so a long job says how far it is wherever its output goes.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rask_core::scheduler::Callback;
use rask_core::Key;

/// Counts the rows of finished output blocks (tasks of the `write` layer) and reports them.
#[derive(Debug)]
pub struct RowsProgress {
    label: String,
    block_rows: Vec<usize>,
    total: u64,
    state: Mutex<State>,
    every: Duration,
}

#[derive(Debug)]
struct State {
    done: u64,
    start: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
}

impl RowsProgress {
    /// Progress of `label` over blocks of these row counts; lines every 10 s when standard
    /// error is not a terminal (`RASK_PROGRESS_SECONDS` changes the period).
    pub fn new(label: &str, block_rows: Vec<usize>) -> Self {
        let every = progress_period();
        let total = block_rows.iter().map(|&r| r as u64).sum();
        let now = Instant::now();
        RowsProgress {
            label: label.to_string(),
            block_rows,
            total,
            state: Mutex::new(State { done: 0, start: now, last_line: now, bar: None }),
            every,
        }
    }

    fn line(&self, s: &State) -> String {
        let secs = s.start.elapsed().as_secs_f64().max(1e-9);
        let rate = s.done as f64 / secs;
        let pct = if self.total > 0 { 100.0 * s.done as f64 / self.total as f64 } else { 100.0 };
        let eta = if rate > 0.0 { (self.total - s.done.min(self.total)) as f64 / rate } else { f64::NAN };
        format!(
            "{}: {} / {} rows ({pct:.0}%), {:.2} M rows/s, elapsed {secs:.1} s, ETA {}",
            self.label,
            s.done,
            self.total,
            rate / 1e6,
            if eta.is_finite() { format!("{eta:.1} s") } else { "-".into() }
        )
    }
}

impl Callback for RowsProgress {
    fn on_compute_start(&self, _n_tasks: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.start = Instant::now();
        s.last_line = s.start;
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(self.total), ProgressDrawTarget::stderr());
            // The template is a constant known to be valid.
            let style = ProgressStyle::with_template(
                "{prefix:>10} [{bar:30}] {human_pos}/{human_len} rows ({per_sec}, ETA {eta})",
            )
            .expect("valid template")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(self.label.clone());
            s.bar = Some(bar);
        }
    }

    fn on_task_finish(&self, key: &Key, ok: bool, _elapsed: Duration) {
        if !ok || key.prefix() != "write" {
            return;
        }
        let rows = key.block_index().and_then(|i| self.block_rows.get(i as usize)).copied().unwrap_or(0) as u64;
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.done += rows;
        if let Some(bar) = &s.bar {
            bar.inc(rows);
        } else if s.last_line.elapsed() >= self.every {
            s.last_line = Instant::now();
            eprintln!("{}", self.line(&s));
        }
    }

    fn on_compute_end(&self, ok: bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match s.bar.take() {
            Some(bar) if ok => bar.finish(),
            Some(bar) => bar.abandon(),
            None => eprintln!("{}", self.line(&s)),
        }
    }
}

/// One step of a job (a fit, a scoring pass), however many graph computations it runs: a
/// spinner with the computations and tasks so far on a terminal, and otherwise a plain line
/// every 10 s (`RASK_PROGRESS_SECONDS`) and one when the step ends.
///
/// On a cluster the client asks the scheduler for every task's end (task events), so the task
/// count is the same as locally.
#[derive(Debug)]
pub struct StepProgress {
    label: String,
    computations: AtomicU64,
    tasks: AtomicU64,
    start: Instant,
    every: Duration,
    lines: bool,
    last_line: Mutex<Instant>,
    bar: Mutex<Option<ProgressBar>>,
}

impl StepProgress {
    /// Progress of the step `label`; nothing is drawn or printed unless `draw`.
    pub fn new(label: &str, draw: bool) -> Arc<Self> {
        let terminal = std::io::stderr().is_terminal();
        let bar = (draw && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            // The template is a constant known to be valid.
            let style =
                ProgressStyle::with_template("{prefix:>28} {spinner} {msg} ({elapsed})").expect("valid template");
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let now = Instant::now();
        Arc::new(StepProgress {
            label: label.to_string(),
            computations: AtomicU64::new(0),
            tasks: AtomicU64::new(0),
            start: now,
            every: progress_period(),
            lines: draw && !terminal,
            last_line: Mutex::new(now),
            bar: Mutex::new(bar),
        })
    }

    /// Graph computations run so far.
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// Tasks finished so far.
    pub fn tasks(&self) -> u64 {
        self.tasks.load(Ordering::Relaxed)
    }

    fn message(&self) -> String {
        format!("{} graphs, {} tasks", self.computations(), self.tasks())
    }

    fn update(&self) {
        if let Some(bar) = &*self.bar.lock().unwrap_or_else(|e| e.into_inner()) {
            bar.set_message(self.message());
        } else if self.lines {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= self.every {
                *last = Instant::now();
                eprintln!("{}: {}, {:.1} s elapsed", self.label, self.message(), self.start.elapsed().as_secs_f64());
            }
        }
    }

    /// Ends the step: clears the spinner, or prints the closing line.
    pub fn finish(&self, ok: bool) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish_and_clear();
        } else if self.lines {
            let how = if ok { "done" } else { "failed" };
            eprintln!("{}: {how} in {:.1} s ({})", self.label, self.start.elapsed().as_secs_f64(), self.message());
        }
    }
}

impl Callback for StepProgress {
    fn on_compute_start(&self, _n_tasks: usize) {
        self.computations.fetch_add(1, Ordering::Relaxed);
        self.update();
    }

    fn on_task_finish(&self, _key: &Key, _ok: bool, _elapsed: Duration) {
        let n = self.tasks.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(64) {
            self.update();
        }
    }
}

/// Runs `f` as the job step `label` on the default scheduler, with its progress.
pub fn run_step<T>(label: &str, draw: bool, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let progress = StepProgress::new(label, draw);
    let s = rask_core::default_scheduler().with_callback(progress.clone());
    let out = rask_core::with_scheduler(&s, f);
    progress.finish(out.is_ok());
    out
}

/// The period of plain progress lines: `RASK_PROGRESS_SECONDS`, or 10 s.
fn progress_period() -> Duration {
    std::env::var("RASK_PROGRESS_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(10), Duration::from_secs_f64)
}
