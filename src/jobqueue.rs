//! Rask workers as SLURM batch jobs, like dask-jobqueue's `SLURMCluster`.
//!
//! [`SlurmJobs`] describes one kind of worker job (cores, memory, wall time, partition, …),
//! writes its batch script and submits it with `sbatch`, one job per worker.
//! Each job runs exactly one `rask worker` that joins an already running scheduler
//! (`rask scheduler`), so the cluster grows as SLURM starts the jobs and shrinks as they end
//! or are cancelled with [`SlurmJobs::cancel`].
//!
//! ```
//! use rask::jobqueue::SlurmJobs;
//!
//! let jobs = SlurmJobs::new("login01:8786")
//!     .jobs(4)
//!     .cores(8)
//!     .memory(16 << 30)
//!     .walltime("02:00:00")
//!     .partition("compute")
//!     .worker_program("/opt/rask/bin/rask")
//!     .token_file("/home/me/.config/rask/token");
//! let script = jobs.job_script().unwrap();
//! assert!(script.contains("#SBATCH --cpus-per-task=8\n"));
//! assert!(script.contains("#SBATCH --mem=16384M\n"));
//! assert!(script.ends_with(
//!     "exec /opt/rask/bin/rask worker --scheduler login01:8786 --nthreads 8 \
//!      --memory-limit 16320875724 --token-file /home/me/.config/rask/token\n"
//! ));
//! // `jobs.submit()` would now run `sbatch --parsable` four times and return the job ids.
//! ```
//!
//! What it does not do: it does not start the scheduler, scale adaptively, or wait for the
//! workers to connect (use `Client::wait_for_workers`).
//! The token never appears in the script: the worker reads it from the token file, which must
//! be readable on the compute nodes (a shared home directory, typically).
//! `sbatch` passes the submitting environment into the job (its default `--export=ALL`), so a
//! `RASK_TOKEN` set when [`SlurmJobs::submit`] runs reaches the workers and wins over the file,
//! as it does for `rask worker` everywhere.
//! By default the worker listens where `rask worker` listens, 127.0.0.1, which serves workers
//! that share one node; [`SlurmJobs::across_nodes`] makes them listen on every interface and
//! advertise the node's host name, for workers spread over nodes.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// The job name used when [`SlurmJobs::job_name`] is not called.
pub const DEFAULT_JOB_NAME: &str = "rask-worker";

/// Why a job script could not be written, submitted or cancelled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobQueueError {
    /// A builder parameter is invalid; `name` is the builder method's name.
    #[error("invalid SlurmJobs parameter `{name}`: {message}")]
    InvalidParam {
        /// The parameter (the name of the builder method that sets it).
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A SLURM command is not on `PATH`.
    #[error("`{0}` was not found on PATH: is SLURM installed on this machine?")]
    NotInstalled(String),
    /// A SLURM command ran and failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line that was run.
        command: String,
        /// How it ended.
        status: ExitStatus,
        /// What it printed on standard error (trimmed), or what was wrong with its output.
        stderr: String,
    },
    /// Reading or writing a file, or starting a command, failed.
    #[error("{0}: {1}")]
    Io(String, #[source] io::Error),
}

fn invalid(name: &'static str, message: impl Into<String>) -> JobQueueError {
    JobQueueError::InvalidParam { name, message: message.into() }
}

/// A SLURM job for each of `jobs` Rask workers: the `#SBATCH` options, the lines that set up the
/// environment, and the worker's command line.
///
/// Setters take `self` and return it; setting a parameter twice keeps the last value, except for
/// [`extra_directive`](Self::extra_directive) and [`prologue`](Self::prologue), which add a line
/// each time. Nothing is checked until [`check`](Self::check), [`job_script`](Self::job_script)
/// or [`submit`](Self::submit), which refuse every invalid parameter with its name.
///
/// Every parameter that is set appears in the script; none is accepted and ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmJobs {
    /// The scheduler the workers join, `HOST:PORT` (the worker's `--scheduler`).
    scheduler_address: String,
    /// How many jobs [`submit`](Self::submit) submits; each runs one worker. Default 1.
    jobs: usize,
    /// CPUs per job (`#SBATCH --cpus-per-task`) and the worker's compute threads (`--nthreads`).
    /// Default 1.
    cores: usize,
    /// Memory per job in bytes: `#SBATCH --mem` in MiB rounded up, and 95% of it as the
    /// worker's `--memory-limit`. Default: unset, so no `--mem` (the partition's default) and
    /// no worker limit.
    memory: Option<u64>,
    /// Wall-clock limit, `[D-]HH:MM:SS` (`#SBATCH --time`). Default: the partition's.
    walltime: Option<String>,
    /// `#SBATCH --partition`. Default: the cluster's default partition.
    partition: Option<String>,
    /// `#SBATCH --account`. Default: the user's default account.
    account: Option<String>,
    /// `#SBATCH --job-name`. Default [`DEFAULT_JOB_NAME`].
    job_name: String,
    /// Extra `#SBATCH` lines, in order, written as given after the generated ones.
    extra_directives: Vec<String>,
    /// Shell lines run, in order, before the worker starts (`module load …`, `export …`).
    prologue: Vec<String>,
    /// The `rask` binary (or a user binary with the same registry and `worker` subcommand) that
    /// the job runs. Default: this process's executable.
    worker_program: Option<PathBuf>,
    /// The worker's `--token-file`. Default: unset, so the worker reads its own default
    /// (`~/.config/rask/token`) unless `RASK_TOKEN` is set.
    token_file: Option<PathBuf>,
    /// Directory of the jobs' output, `#SBATCH --output=DIR/%x-%j.out` (job name and id).
    /// Default: unset, so SLURM writes `slurm-%j.out` in the submission directory.
    log_dir: Option<PathBuf>,
    /// Whether workers serve their data on every interface and advertise the node's host name
    /// (`--listen 0.0.0.0:0 --advertise "$(hostname -f):0"`), so workers on different nodes
    /// can fetch each other's results. Default: off (127.0.0.1, one node).
    across_nodes: bool,
}

impl SlurmJobs {
    /// One worker job that joins the scheduler at `scheduler_address` (`HOST:PORT`), with one
    /// core and the cluster's defaults for everything else.
    pub fn new(scheduler_address: impl Into<String>) -> Self {
        SlurmJobs {
            scheduler_address: scheduler_address.into(),
            jobs: 1,
            cores: 1,
            memory: None,
            walltime: None,
            partition: None,
            account: None,
            job_name: DEFAULT_JOB_NAME.to_string(),
            extra_directives: Vec::new(),
            prologue: Vec::new(),
            worker_program: None,
            token_file: None,
            log_dir: None,
            across_nodes: false,
        }
    }

    /// How many worker jobs [`submit`](Self::submit) submits (one worker per job); at least 1.
    pub fn jobs(mut self, n: usize) -> Self {
        self.jobs = n;
        self
    }

    /// CPUs per job (`--cpus-per-task`) and the worker's `--nthreads`; at least 1.
    pub fn cores(mut self, n: usize) -> Self {
        self.cores = n;
        self
    }

    /// Memory per job in bytes, at least 1 MiB: `--mem` in MiB (rounded up) and, as the worker's
    /// `--memory-limit`, 95% of it (rounded down), which leaves room for the worker's own code
    /// and buffers so that the worker spills and pauses before SLURM kills the job.
    pub fn memory(mut self, bytes: u64) -> Self {
        self.memory = Some(bytes);
        self
    }

    /// Wall-clock limit (`--time`): `HH:MM:SS` (hours may exceed 24) or `D-HH:MM:SS`; not zero.
    pub fn walltime(mut self, hh_mm_ss: &str) -> Self {
        self.walltime = Some(hh_mm_ss.to_string());
        self
    }

    /// The partition (`--partition`).
    pub fn partition(mut self, p: &str) -> Self {
        self.partition = Some(p.to_string());
        self
    }

    /// The account charged (`--account`).
    pub fn account(mut self, a: &str) -> Self {
        self.account = Some(a.to_string());
        self
    }

    /// The job name (`--job-name`; default [`DEFAULT_JOB_NAME`]).
    pub fn job_name(mut self, n: &str) -> Self {
        self.job_name = n.to_string();
        self
    }

    /// Adds an `#SBATCH` line, written as given after the generated ones: either the option
    /// alone (`--exclusive`) or the whole line (`#SBATCH --exclusive`). One line, no line break.
    /// It is not quoted: write it as `sbatch` should read it.
    pub fn extra_directive(mut self, line: &str) -> Self {
        self.extra_directives.push(line.to_string());
        self
    }

    /// Adds a shell line run before the worker starts (e.g. `module load gcc`), written as
    /// given; one line per call.
    pub fn prologue(mut self, line: &str) -> Self {
        self.prologue.push(line.to_string());
        self
    }

    /// The program the job runs as `PROGRAM worker …` (default: [`std::env::current_exe`]).
    /// It must be reachable at this path on the compute nodes and have the same registry as
    /// the client (the same binary, usually).
    pub fn worker_program(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker_program = Some(path.into());
        self
    }

    /// The token file, passed to the worker as `--token-file`; the token itself is never
    /// written into the script.
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.token_file = Some(path.into());
        self
    }

    /// Where the jobs' output goes: `--output=DIR/%x-%j.out` (job name, job id).
    /// [`submit`](Self::submit) creates the directory if it is missing.
    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    /// Checks every parameter; the error names the first invalid one.
    pub fn check(&self) -> Result<(), JobQueueError> {
        check_scheduler_address(&self.scheduler_address)?;
        if self.jobs == 0 {
            return Err(invalid("jobs", "must be at least 1 (one worker per job)"));
        }
        if self.cores == 0 {
            return Err(invalid("cores", "must be at least 1"));
        }
        if let Some(bytes) = self.memory {
            if bytes < MIB {
                return Err(invalid("memory", format!("must be at least 1 MiB ({MIB} bytes), got {bytes} bytes")));
            }
        }
        if let Some(w) = &self.walltime {
            check_walltime(w)?;
        }
        if let Some(p) = &self.partition {
            check_directive_value("partition", p)?;
        }
        if let Some(a) = &self.account {
            check_directive_value("account", a)?;
        }
        check_directive_value("job_name", &self.job_name)?;
        for d in &self.extra_directives {
            extra_directive_line(d)?;
        }
        for line in &self.prologue {
            check_one_line("prologue", line)?;
        }
        if let Some(p) = &self.worker_program {
            path_str("worker_program", p)?;
        }
        if let Some(p) = &self.token_file {
            path_str("token_file", p)?;
        }
        if let Some(dir) = &self.log_dir {
            let d = path_str("log_dir", dir)?;
            check_directive_value("log_dir", d)?;
        }
        Ok(())
    }

    /// The whole batch script: `#!/usr/bin/env bash`, the `#SBATCH` lines, the prologue, and
    /// `exec PROGRAM worker --scheduler ADDR --nthreads N [--memory-limit BYTES]
    /// [--token-file PATH]`, every value shell-quoted (values inside `#SBATCH` lines too, which
    /// `sbatch` unquotes the same way).
    pub fn job_script(&self) -> Result<String, JobQueueError> {
        self.check()?;
        let program = match &self.worker_program {
            Some(p) => p.clone(),
            None => std::env::current_exe()
                .map_err(|e| JobQueueError::Io("cannot find this program to run as the worker".into(), e))?,
        };
        let program = path_str("worker_program", &program)?;

        let mut s = String::new();
        s.push_str("#!/usr/bin/env bash\n");
        s.push_str("# A Rask worker, written by rask::jobqueue::SlurmJobs.\n");
        let mut directive = |opt: &str, value: &str| {
            let _ = writeln!(s, "#SBATCH --{opt}={value}");
        };
        directive("job-name", &shell_quote(&self.job_name));
        if let Some(p) = &self.partition {
            directive("partition", &shell_quote(p));
        }
        if let Some(a) = &self.account {
            directive("account", &shell_quote(a));
        }
        directive("nodes", "1");
        directive("ntasks", "1");
        directive("cpus-per-task", &self.cores.to_string());
        if let Some(bytes) = self.memory {
            directive("mem", &format!("{}M", bytes.div_ceil(MIB)));
        }
        if let Some(w) = &self.walltime {
            directive("time", &shell_quote(w));
        }
        if let Some(dir) = &self.log_dir {
            // `%` starts a SLURM filename pattern; `%%` is a literal one.
            let dir = path_str("log_dir", dir)?.trim_end_matches('/').replace('%', "%%");
            directive("output", &shell_quote(&format!("{dir}/%x-%j.out")));
        }
        for d in &self.extra_directives {
            s.push_str(&extra_directive_line(d)?);
            s.push('\n');
        }
        s.push('\n');
        for line in &self.prologue {
            s.push_str(line);
            s.push('\n');
        }
        let _ = write!(
            s,
            "exec {} worker --scheduler {} --nthreads {}",
            shell_quote(program),
            shell_quote(&self.scheduler_address),
            self.cores
        );
        if let Some(bytes) = self.memory {
            let _ = write!(s, " --memory-limit {}", worker_memory_limit(bytes));
        }
        if let Some(t) = &self.token_file {
            let _ = write!(s, " --token-file {}", shell_quote(path_str("token_file", t)?));
        }
        if self.across_nodes {
            // The shell expands the host name on the compute node; port 0 in the advertised
            // address means "the port the worker bound".
            s.push_str(" --listen 0.0.0.0:0 --advertise \"$(hostname -f):0\"");
        }
        s.push('\n');
        Ok(s)
    }

    /// Serve worker data on every interface and advertise the node's host name, so workers
    /// on different nodes can exchange results (authentication still applies; use TLS across
    /// untrusted networks).
    pub fn across_nodes(mut self, on: bool) -> Self {
        self.across_nodes = on;
        self
    }

    /// Writes the script to a temporary file (removed afterwards) and runs
    /// `sbatch --parsable FILE` once per job, returning the job ids in order.
    ///
    /// Separate jobs rather than one job array, as dask-jobqueue does: each worker is scheduled,
    /// accounted and cancelled on its own, and every returned id is a plain job id.
    /// If one submission fails, the jobs already submitted are cancelled (best effort) and the
    /// error is returned. Creates [`log_dir`](Self::log_dir) first if it is missing.
    pub fn submit(&self) -> Result<Vec<String>, JobQueueError> {
        let script = self.job_script()?;
        if let Some(dir) = &self.log_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| JobQueueError::Io(format!("cannot create the log directory {}", dir.display()), e))?;
        }
        let file = TempScript::write(&script)?;
        let mut ids = Vec::with_capacity(self.jobs);
        for _ in 0..self.jobs {
            match sbatch(file.path()) {
                Ok(id) => ids.push(id),
                Err(e) => {
                    // Best effort: the error being returned is the one that matters.
                    let _ = Self::cancel(&ids);
                    return Err(e);
                }
            }
        }
        Ok(ids)
    }

    /// Cancels jobs by id with `scancel` (nothing to do for an empty list). Ids must be SLURM
    /// job ids (`123`, or `123_4` for an array task).
    pub fn cancel(ids: &[String]) -> Result<(), JobQueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        for id in ids {
            check_job_id(id)?;
        }
        run("scancel", ids)?;
        Ok(())
    }

    /// Whether `sbatch --version` runs and succeeds on this machine.
    pub fn sbatch_available() -> bool {
        Command::new("sbatch")
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

const MIB: u64 = 1 << 20;

/// 95% of `bytes`, rounded down: the worker's `--memory-limit` for a job of `bytes`.
fn worker_memory_limit(bytes: u64) -> u64 {
    (u128::from(bytes) * 95 / 100) as u64
}

/// Quotes `s` for a POSIX shell: unchanged if it is made only of characters no shell treats
/// specially, else in single quotes with each `'` written `'\''` (what Python's
/// `shlex.quote` does). `sbatch` reads `#SBATCH` values with the same rules, except that a
/// backslash escapes even inside single quotes, which is why directive values refuse backslashes.
fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn check_one_line(name: &'static str, value: &str) -> Result<(), JobQueueError> {
    if let Some(c) = value.chars().find(|&c| c.is_control() && c != '\t') {
        let what = match c {
            '\n' | '\r' => "a line break".to_string(),
            c => format!("the control character {c:?}"),
        };
        return Err(invalid(
            name,
            format!("must be one line without control characters, but {value:?} contains {what}"),
        ));
    }
    Ok(())
}

/// A value inside an `#SBATCH` line: one line, not empty, no backslash (`sbatch` drops it
/// even inside quotes: `'a\b'` becomes `ab`).
fn check_directive_value(name: &'static str, value: &str) -> Result<(), JobQueueError> {
    if value.is_empty() {
        return Err(invalid(name, "must not be empty"));
    }
    check_one_line(name, value)?;
    if value.contains('\\') {
        return Err(invalid(
            name,
            format!(
                "must not contain a backslash, which sbatch removes from #SBATCH lines even inside quotes: {value:?}"
            ),
        ));
    }
    Ok(())
}

fn check_scheduler_address(addr: &str) -> Result<(), JobQueueError> {
    const NAME: &str = "scheduler_address";
    if addr.is_empty() {
        return Err(invalid(NAME, "must not be empty; give the scheduler's HOST:PORT"));
    }
    if addr.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(NAME, format!("must be HOST:PORT without spaces, got {addr:?}")));
    }
    let port_ok =
        addr.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0));
    if !port_ok {
        return Err(invalid(NAME, format!("must be HOST:PORT with a port from 1 to 65535, got {addr:?}")));
    }
    Ok(())
}

/// `HH:MM:SS` or `D-HH:MM:SS`, minutes and seconds below 60, hours below 24 after a day count,
/// and not zero (SLURM reads a zero limit as none).
fn check_walltime(w: &str) -> Result<(), JobQueueError> {
    let bad =
        || invalid("walltime", format!("must be HH:MM:SS or D-HH:MM:SS (e.g. 01:30:00 or 2-00:00:00), got {w:?}"));
    let digits = |s: &str| !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit());
    let (days, hms) = match w.split_once('-') {
        Some((d, rest)) if digits(d) => (Some(d.parse::<u64>().map_err(|_| bad())?), rest),
        Some(_) => return Err(bad()),
        None => (None, w),
    };
    let parts: Vec<&str> = hms.split(':').collect();
    let [h, m, s] = parts[..] else { return Err(bad()) };
    if !digits(h) || m.len() != 2 || s.len() != 2 || !digits(m) || !digits(s) {
        return Err(bad());
    }
    let (h, m, s): (u64, u64, u64) =
        (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, s.parse().map_err(|_| bad())?);
    if m >= 60 || s >= 60 || (days.is_some() && h >= 24) {
        return Err(bad());
    }
    if days.unwrap_or(0) == 0 && h == 0 && m == 0 && s == 0 {
        return Err(invalid("walltime", "must be longer than zero (SLURM reads a zero limit as no limit)"));
    }
    Ok(())
}

/// The full `#SBATCH` line for an extra directive.
fn extra_directive_line(d: &str) -> Result<String, JobQueueError> {
    const NAME: &str = "extra_directive";
    check_one_line(NAME, d)?;
    let d = d.trim();
    if let Some(rest) = d.strip_prefix("#SBATCH") {
        if rest.trim().starts_with('-') && rest.starts_with(char::is_whitespace) {
            return Ok(d.to_string());
        }
    } else if d.starts_with('-') {
        return Ok(format!("#SBATCH {d}"));
    }
    Err(invalid(
        NAME,
        format!("must be an sbatch option such as `--exclusive` or a line `#SBATCH --exclusive`, got {d:?}"),
    ))
}

fn path_str<'a>(name: &'static str, p: &'a Path) -> Result<&'a str, JobQueueError> {
    let s = p.to_str().ok_or_else(|| invalid(name, format!("must be valid UTF-8, got {}", p.display())))?;
    if s.is_empty() {
        return Err(invalid(name, "must not be empty"));
    }
    check_one_line(name, s)?;
    if s.starts_with('-') {
        return Err(invalid(name, format!("must not start with '-' (write ./{s}), got {s:?}")));
    }
    Ok(s)
}

fn check_job_id(id: &str) -> Result<(), JobQueueError> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match id.split_once('_') {
        Some((job, task)) => digits(job) && digits(task),
        None => digits(id),
    };
    if !ok {
        return Err(invalid("ids", format!("{id:?} is not a SLURM job id (digits, or JOB_TASK for an array task)")));
    }
    Ok(())
}

/// Runs a SLURM command to completion; a command that is missing or fails is an error.
fn run<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Result<Output, JobQueueError> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    let command = std::iter::once(program.to_string())
        .chain(args.iter().map(|a| shell_quote(&a.as_ref().to_string_lossy())))
        .collect::<Vec<_>>()
        .join(" ");
    let out = cmd.output().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => JobQueueError::NotInstalled(program.to_string()),
        _ => JobQueueError::Io(format!("cannot run `{command}`"), e),
    })?;
    if !out.status.success() {
        return Err(JobQueueError::CommandFailed {
            command,
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

/// `sbatch --parsable FILE`; its output is `JOBID` or `JOBID;CLUSTER`.
fn sbatch(file: &Path) -> Result<String, JobQueueError> {
    let args = [OsStr::new("--parsable"), file.as_os_str()];
    let out = run("sbatch", &args)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if check_job_id(&id).is_err() {
        return Err(JobQueueError::CommandFailed {
            command: format!("sbatch --parsable {}", shell_quote(&file.to_string_lossy())),
            status: out.status,
            stderr: format!(
                "printed no job id: stdout {:?}, stderr {:?}",
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(id)
}

/// A job script in the system's temporary directory, removed on drop (`sbatch` keeps its own
/// copy from the moment it submits).
struct TempScript(PathBuf);

impl TempScript {
    fn write(script: &str) -> Result<TempScript, JobQueueError> {
        use std::io::Write as _;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("rask-slurm-{}-{nanos}-{n}.sh", std::process::id()));
        let err = |e| JobQueueError::Io(format!("cannot write the job script {}", path.display()), e);
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(err)?;
        let guard = TempScript(path.clone());
        f.write_all(script.as_bytes()).and_then(|()| f.sync_all()).map_err(err)?;
        Ok(guard)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> SlurmJobs {
        SlurmJobs::new("10.0.0.1:8786")
            .jobs(3)
            .cores(4)
            .memory(4_000_000_000)
            .walltime("01:30:00")
            .partition("debug")
            .account("ml-team")
            .job_name("rask-ml")
            .extra_directive("--exclusive")
            .extra_directive("#SBATCH --constraint=avx2")
            .prologue("module load gcc/13")
            .prologue("export RASK_LOG=info")
            .worker_program("/opt/rask/bin/rask")
            .token_file("/home/me/.config/rask/token")
            .log_dir("/shared/logs/")
    }

    #[test]
    fn the_script_for_every_parameter() {
        let expected = "\
#!/usr/bin/env bash
# A Rask worker, written by rask::jobqueue::SlurmJobs.
#SBATCH --job-name=rask-ml
#SBATCH --partition=debug
#SBATCH --account=ml-team
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --mem=3815M
#SBATCH --time=01:30:00
#SBATCH --output=/shared/logs/%x-%j.out
#SBATCH --exclusive
#SBATCH --constraint=avx2

module load gcc/13
export RASK_LOG=info
exec /opt/rask/bin/rask worker --scheduler 10.0.0.1:8786 --nthreads 4 --memory-limit 3800000000 \
--token-file /home/me/.config/rask/token
";
        assert_eq!(full().job_script().unwrap(), expected);
    }

    #[test]
    fn the_script_with_only_defaults() {
        let script = SlurmJobs::new("127.0.0.1:8786").worker_program("/usr/bin/rask").job_script().unwrap();
        let expected = "\
#!/usr/bin/env bash
# A Rask worker, written by rask::jobqueue::SlurmJobs.
#SBATCH --job-name=rask-worker
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1

exec /usr/bin/rask worker --scheduler 127.0.0.1:8786 --nthreads 1
";
        assert_eq!(script, expected);
    }

    #[test]
    fn across_nodes_listens_everywhere_and_advertises_the_host_name() {
        let script =
            SlurmJobs::new("head:8786").worker_program("/usr/bin/rask").across_nodes(true).job_script().unwrap();
        assert!(
            script.ends_with(
                "exec /usr/bin/rask worker --scheduler head:8786 --nthreads 1 --listen 0.0.0.0:0 \
                 --advertise \"$(hostname -f):0\"\n"
            ),
            "{script}"
        );
    }

    #[test]
    fn the_default_program_is_this_executable() {
        let script = SlurmJobs::new("127.0.0.1:8786").job_script().unwrap();
        let exe = std::env::current_exe().unwrap();
        assert!(script.contains(&format!("exec {} worker ", shell_quote(exe.to_str().unwrap()))), "{script}");
    }

    #[test]
    fn memory_rounds_up_to_mib_and_the_worker_gets_95_percent() {
        let script = |bytes| SlurmJobs::new("h:1").memory(bytes).worker_program("/w").job_script().unwrap();
        let s = script(MIB);
        assert!(s.contains("#SBATCH --mem=1M\n") && s.contains("--memory-limit 996147\n"), "{s}");
        let s = script(MIB + 1);
        assert!(s.contains("#SBATCH --mem=2M\n") && s.contains("--memory-limit 996148\n"), "{s}");
        let s = script(u64::MAX);
        assert!(s.contains(&format!("--memory-limit {}\n", (u128::from(u64::MAX) * 95 / 100) as u64)), "{s}");
    }

    #[test]
    fn paths_with_spaces_and_quotes_are_quoted() {
        let script = SlurmJobs::new("node-1:8786")
            .job_name("it's a #test")
            .partition("gpu a")
            .walltime("2-00:00:00")
            .worker_program("/opt/my rask/it's/rask")
            .token_file("/home/o'brien/my token")
            .log_dir("/logs/100% 'done'")
            .job_script()
            .unwrap();
        assert!(script.contains("#SBATCH --job-name='it'\\''s a #test'\n"), "{script}");
        assert!(script.contains("#SBATCH --partition='gpu a'\n"), "{script}");
        assert!(script.contains("#SBATCH --time=2-00:00:00\n"), "{script}");
        // `%` is doubled for SLURM's filename patterns, then the value is quoted for the shell.
        assert!(script.contains("#SBATCH --output='/logs/100%% '\\''done'\\''/%x-%j.out'\n"), "{script}");
        assert!(
            script.ends_with(
                "exec '/opt/my rask/it'\\''s/rask' worker --scheduler node-1:8786 --nthreads 1 \
                 --token-file '/home/o'\\''brien/my token'\n"
            ),
            "{script}"
        );
    }

    #[test]
    fn shell_quoting_round_trips_through_a_shell() {
        for s in ["plain", "", "a b", "it's", "'", "''", "$HOME", "a\"b", "`x`", "a\\b", "!x", "*", "-n"] {
            let quoted = shell_quote(s);
            let out = Command::new("sh").arg("-c").arg(format!("printf %s {quoted}")).output().unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "quoted as {quoted}");
        }
        assert_eq!(shell_quote("/usr/bin/rask"), "/usr/bin/rask");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }

    /// Every invalid parameter, with the name its error must carry.
    #[test]
    fn every_invalid_parameter_is_refused_with_its_name() {
        let ok = || SlurmJobs::new("127.0.0.1:8786").worker_program("/w");
        let cases: Vec<(&str, SlurmJobs)> = vec![
            ("scheduler_address", SlurmJobs::new("").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new("127.0.0.1").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new("127.0.0.1:0").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new("127.0.0.1:99999").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new(":8786").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new("host :8786").worker_program("/w")),
            ("scheduler_address", SlurmJobs::new("host:8786\nrm -rf /").worker_program("/w")),
            ("jobs", ok().jobs(0)),
            ("cores", ok().cores(0)),
            ("memory", ok().memory(0)),
            ("memory", ok().memory(MIB - 1)),
            ("walltime", ok().walltime("")),
            ("walltime", ok().walltime("1:30")),
            ("walltime", ok().walltime("01:60:00")),
            ("walltime", ok().walltime("01:00:60")),
            ("walltime", ok().walltime("01:0:00")),
            ("walltime", ok().walltime("1-24:00:00")),
            ("walltime", ok().walltime("x-01:00:00")),
            ("walltime", ok().walltime("00:00:00")),
            ("walltime", ok().walltime("0-00:00:00")),
            ("walltime", ok().walltime("01:00:00\n")),
            ("walltime", ok().walltime("+1:00:00")),
            ("partition", ok().partition("")),
            ("partition", ok().partition("a\nb")),
            ("partition", ok().partition("a\\b")),
            ("account", ok().account("")),
            ("account", ok().account("a\rb")),
            ("job_name", ok().job_name("")),
            ("job_name", ok().job_name("two\nlines")),
            ("job_name", ok().job_name("back\\slash")),
            ("extra_directive", ok().extra_directive("--exclusive\n#SBATCH --mem=0")),
            ("extra_directive", ok().extra_directive("exclusive")),
            ("extra_directive", ok().extra_directive("#SBATCH")),
            ("extra_directive", ok().extra_directive("#SBATCHx --exclusive")),
            ("prologue", ok().prologue("module load a\nmodule load b")),
            ("prologue", ok().prologue("nul\0")),
            ("worker_program", ok().worker_program("")),
            ("worker_program", ok().worker_program("/a\nb")),
            ("worker_program", ok().worker_program("-rask")),
            ("token_file", ok().token_file("")),
            ("token_file", ok().token_file("/t\n")),
            ("log_dir", ok().log_dir("")),
            ("log_dir", ok().log_dir("/logs\n")),
            ("log_dir", ok().log_dir("C:\\logs")),
        ];
        for (name, jobs) in cases {
            let err = jobs.job_script().expect_err(name);
            match &err {
                JobQueueError::InvalidParam { name: got, .. } => assert_eq!(*got, name, "{err}"),
                other => panic!("expected InvalidParam for {name}, got {other:?}"),
            }
            let message = err.to_string();
            assert!(message.contains(&format!("`{name}`")), "{message}");
            // submit() checks before it runs anything, so this holds without SLURM too.
            assert!(matches!(jobs.submit(), Err(JobQueueError::InvalidParam { .. })));
        }
        assert_eq!(
            SlurmJobs::new("").job_script().unwrap_err().to_string(),
            "invalid SlurmJobs parameter `scheduler_address`: must not be empty; give the scheduler's HOST:PORT"
        );
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let bad = PathBuf::from(OsStr::from_bytes(b"/opt/\xff/rask"));
            let err = ok().worker_program(bad).job_script().unwrap_err();
            assert!(err.to_string().contains("`worker_program`: must be valid UTF-8"), "{err}");
        }
    }

    #[test]
    fn valid_edge_values_are_accepted() {
        for w in ["00:00:01", "1:00:00", "100:00:00", "0-00:00:01", "7-23:59:59"] {
            SlurmJobs::new("h:1").worker_program("/w").walltime(w).job_script().unwrap();
        }
        for a in ["[::1]:8786", "node-01.cluster:1", "10.1.2.3:65535"] {
            SlurmJobs::new(a).worker_program("/w").job_script().unwrap();
        }
        let s = SlurmJobs::new("h:1").worker_program("/w").extra_directive("  #SBATCH   --exclusive ").job_script();
        assert!(s.unwrap().contains("\n#SBATCH   --exclusive\n"));
    }

    #[test]
    fn job_ids_are_checked_before_scancel_runs() {
        for bad in ["", "abc", "-u", "12;rm", "12_", "_3", "1 2"] {
            let err = SlurmJobs::cancel(&[bad.to_string()]).unwrap_err();
            assert!(matches!(err, JobQueueError::InvalidParam { name: "ids", .. }), "{bad}: {err}");
        }
        SlurmJobs::cancel(&[]).unwrap();
        for good in ["1", "123", "123_4"] {
            check_job_id(good).unwrap();
        }
    }

    #[test]
    fn the_builder_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SlurmJobs>();
        check::<JobQueueError>();
    }
}
