//! Progress of a job in rows: a bar on a terminal, plain periodic lines otherwise (cron, nohup,
//! CI logs), so a long batch prediction says how far it is wherever its output goes.

use std::io::IsTerminal;
use std::sync::Mutex;
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
        let every = std::env::var("RASK_PROGRESS_SECONDS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(Duration::from_secs(10), Duration::from_secs_f64);
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
