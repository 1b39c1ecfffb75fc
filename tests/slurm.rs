//! [`SlurmJobs`] on a real SLURM cluster:
//! - `a_job_script_runs_under_sbatch`: a script whose worker program is `/bin/echo`, with
//!   quotes and spaces in its values, runs, and SLURM reads its options as written;
//! - `slurm_jobs_run_workers_that_compute_a_graph`: a `rask scheduler` on 127.0.0.1, two worker
//!   jobs, a client that computes a graph on them, then `scancel`.
//!
//! The tests run only where `sbatch` is on PATH; elsewhere each says plainly that it did not run.
//! If `sinfo` does not answer, a test run as root starts a single-node cluster with
//! `scripts/slurm-single-node.sh` (Debian's `slurm-wlm`) and stops it again at the end (not as
//! root, it says that it did not run); the tests take turns, so they never share a cluster that
//! one of them stops. A freshly installed `slurm-wlm` has no slurm.conf, and its `sbatch` fails
//! even `--version` until the script writes one, so the tests look for `sbatch` on PATH rather
//! than ask [`SlurmJobs::sbatch_available`].
//! Every wait is bounded (120 s at most) and everything a test starts is stopped, even on failure.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rask::demo::{DemoConfig, Moments};
use rask::jobqueue::SlurmJobs;
use rask::Scheduler;
use rask_distributed::{read_token, Client, Security, TOKEN_ENV};

const RASK: &str = env!("CARGO_BIN_EXE_rask");

/// Held by each test for its whole run: one test's clean-up may stop the cluster.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The lock, a test environment and a running cluster; `None` (after saying so) without `sbatch`,
/// or when no cluster answers and this is not root, who could start one.
fn set_up(test: &str) -> Option<(MutexGuard<'static, ()>, TestEnv)> {
    // Written straight to the terminal: the test harness would swallow a println! of a passing test.
    let skipped = |why: &str| {
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}; the SLURM test did not run ({test})");
    };
    if !on_path("sbatch") {
        skipped("sbatch not found");
        return None;
    }
    let lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut env = TestEnv::new();
    if !sinfo_answers() {
        if !is_root() {
            skipped("no SLURM controller answers sinfo, and starting scripts/slurm-single-node.sh needs root");
            return None;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-single-node.sh");
        // Stopped on drop even if starting fails half-way.
        env.stop_slurm = Some(script.clone());
        let out = run_bounded(Command::new("bash").arg(&script).arg("start"), Duration::from_secs(120)).unwrap();
        assert!(out.status.success(), "{} failed:\n{}", script.display(), String::from_utf8_lossy(&out.stderr));
        assert!(sinfo_answers(), "sinfo does not answer after starting the single-node cluster");
    }
    Some((lock, env))
}

#[test]
fn a_job_script_runs_under_sbatch() {
    let Some((_lock, mut env)) = set_up("a_job_script_runs_under_sbatch") else { return };
    let log_dir = env.dir.join("logs dir");
    let token_file = env.dir.join("o'brien's token");
    let jobs = SlurmJobs::new("127.0.0.1:8786")
        .cores(1)
        .memory(64 << 20)
        .walltime("00:02:00")
        .job_name("rask echo's test")
        .extra_directive("--comment=rask-jobqueue-test")
        .prologue("echo \"prologue ran in job $SLURM_JOB_ID\"")
        .worker_program("/bin/echo")
        .token_file(&token_file)
        .log_dir(&log_dir);
    let ids = jobs.submit().expect("sbatch");
    env.job_ids = ids.clone();
    assert_eq!(ids.len(), 1);
    let id = &ids[0];

    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let job = show_job(id);
        if job.contains("JobState=COMPLETED") {
            break job;
        }
        let failed = ["FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"];
        assert!(!failed.iter().any(|f| job.contains(&format!("JobState={f}"))), "the job failed: {job}");
        assert!(Instant::now() < deadline, "the job did not complete within 60 s: {job}");
        std::thread::sleep(Duration::from_millis(250));
    };
    env.job_ids.clear();
    // SLURM read the quoted #SBATCH values as written.
    for field in ["JobName=rask echo's test ", "NumCPUs=1 ", "TimeLimit=00:02:00 ", "Comment=rask-jobqueue-test "] {
        assert!(job.contains(field), "no {field:?} in {job}");
    }
    assert!(job.contains("mem=64M") || job.contains("MinMemoryNode=64M"), "no 64M of memory in {job}");
    let out = log_dir.join(format!("rask echo's test-{id}.out"));
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("no job output at {}: {e}", out.display()));
    let expected = format!(
        "prologue ran in job {id}\nworker --scheduler 127.0.0.1:8786 --nthreads 1 --memory-limit {} --token-file {}\n",
        (64u64 << 20) * 95 / 100,
        token_file.display()
    );
    assert_eq!(text, expected);
}

#[test]
fn slurm_jobs_run_workers_that_compute_a_graph() {
    let Some((_lock, mut env)) = set_up("slurm_jobs_run_workers_that_compute_a_graph") else { return };
    // The scheduler must create the token file and the workers must read it: a RASK_TOKEN in
    // this environment would win over the file in both (sbatch passes the environment on).
    std::env::remove_var(TOKEN_ENV);

    // The scheduler, on free loopback ports, with a token file in the test's own directory.
    let (address, status) = {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        (a.local_addr().unwrap().to_string(), b.local_addr().unwrap().to_string())
    };
    let token_file = env.dir.join("token");
    let mut child = Command::new(RASK)
        .args(["scheduler", "--listen", &address, "--status", &status, "--token-file"])
        .arg(&token_file)
        .env_remove(TOKEN_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting `rask scheduler`");
    let (lines_tx, lines_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let log = env.scheduler_log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log.lock().unwrap().push_str(&format!("{line}\n"));
            let _ = lines_tx.send(line);
        }
    });
    env.scheduler = Some(child);
    let listening = wait_for_line(&lines_rx, "scheduler listening on ", Duration::from_secs(30), &mut env);
    assert!(listening.contains(&address), "the scheduler says {listening:?}, not {address}");
    let token = read_token(&token_file).expect("the scheduler writes the token file");
    assert!(!token.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the token file must be readable by its owner only");
    }

    // Two worker jobs.
    let log_dir = env.dir.join("logs");
    let jobs = SlurmJobs::new(address.clone())
        .jobs(2)
        .cores(1)
        .memory(256 << 20)
        .walltime("00:10:00")
        .job_name("rask-slurm-test")
        .worker_program(RASK)
        .token_file(&token_file)
        .log_dir(&log_dir);
    let script = jobs.job_script().unwrap();
    assert!(!script.contains(&token), "the token must never be written into the job script");
    let ids = jobs.submit().expect("submitting the worker jobs");
    env.job_ids = ids.clone();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);

    // A client on the cluster: both workers join, and a graph computes on them.
    let client = Client::connect(&address, Security::new(rask::registry(), token)).expect("connecting the client");
    if let Err(e) = client.wait_for_workers(2, Duration::from_secs(90)) {
        panic!("the worker jobs did not join: {e}\njob states: {}", job_states(&ids).join(", "));
    }
    let workers = client.workers().unwrap();
    assert_eq!(workers.len(), 2, "{workers:?}");
    let cfg = DemoConfig { rows: 200_000, chunk: 5_000, split_every: 4, seed: 11 };
    let (graph, root) = cfg.graph().unwrap();
    let on_cluster = client.scheduler().get::<Moments>(&graph, &root).expect("computing on the SLURM workers");
    let on_sync = Scheduler::sync().get::<Moments>(&graph, &root).unwrap();
    assert_eq!(on_cluster, on_sync, "the cluster and the sync scheduler must agree bit for bit");
    assert_eq!(on_cluster.n, 200_000);
    drop(client);

    // Cancel the jobs and see SLURM end them.
    SlurmJobs::cancel(&ids).expect("scancel");
    let deadline = Instant::now() + Duration::from_secs(60);
    let states = loop {
        let states = job_states(&ids);
        let live = |s: &String| {
            ["PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED"].iter().any(|l| s.ends_with(l))
        };
        if !states.iter().any(live) {
            break states;
        }
        assert!(Instant::now() < deadline, "the cancelled jobs are still alive after 60 s: {states:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    for s in &states {
        assert!(s.ends_with("CANCELLED"), "a cancelled worker job ended as {s}");
    }
    env.job_ids.clear();
    // The jobs' output went where log_dir says, named after the job name and id.
    for id in &ids {
        let out = log_dir.join(format!("rask-slurm-test-{id}.out"));
        assert!(out.exists(), "no job output at {}", out.display());
    }
}

/// What the test started, stopped on drop in the reverse order, even when an assertion fails
/// (and then printed, to explain the failure).
struct TestEnv {
    dir: PathBuf,
    scheduler: Option<Child>,
    scheduler_log: Arc<Mutex<String>>,
    job_ids: Vec<String>,
    stop_slurm: Option<PathBuf>,
}

impl TestEnv {
    fn new() -> TestEnv {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("rask-slurm-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TestEnv { dir, scheduler: None, scheduler_log: Arc::default(), job_ids: Vec::new(), stop_slurm: None }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- scheduler output:\n{}", self.scheduler_log.lock().unwrap_or_else(|e| e.into_inner()));
            if !self.job_ids.is_empty() {
                eprintln!("--- job states: {:?}", job_states(&self.job_ids));
            }
            if let Ok(entries) = std::fs::read_dir(self.dir.join("logs")) {
                for e in entries.flatten() {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    eprintln!("--- {}:\n{text}", e.path().display());
                }
            }
        }
        if let Err(e) = SlurmJobs::cancel(&self.job_ids) {
            eprintln!("cancelling {:?}: {e}", self.job_ids);
        }
        if let Some(mut child) = self.scheduler.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(script) = &self.stop_slurm {
            match run_bounded(Command::new("bash").arg(script).arg("stop"), Duration::from_secs(60)) {
                Ok(out) if out.status.success() => {}
                Ok(out) => eprintln!("stopping SLURM failed: {}", String::from_utf8_lossy(&out.stderr)),
                Err(e) => eprintln!("stopping SLURM: {e}"),
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs a command to completion; an error if it cannot start or is still running after
/// `timeout` (then it is killed). Never panics: it also runs during clean-up.
fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    // Read both pipes on threads so a chatty command cannot block on a full pipe.
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(child.stdout.take().map(|r| Box::new(r) as _));
    let err = pipe(child.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stdout = out.join().unwrap_or_default();
                return Ok(Output { status, stdout, stderr: err.join().unwrap_or_default() });
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} did not finish within {timeout:?}"));
            }
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}")),
        }
    }
}

/// Whether an executable file named `name` is in one of PATH's directories.
fn on_path(name: &str) -> bool {
    let is_executable = |p: &Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        {
            p.is_file()
        }
    };
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| is_executable(&dir.join(name))))
}

/// Whether this process runs as root (`id -u` says 0).
fn is_root() -> bool {
    run_bounded(Command::new("id").arg("-u"), Duration::from_secs(10))
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Whether a SLURM controller answers `sinfo` within 4 s (a live one answers at once; with none,
/// sinfo retries for about 9 s before it gives up).
fn sinfo_answers() -> bool {
    run_bounded(Command::new("sinfo").args(["-h", "-o", "%T"]), Duration::from_secs(4))
        .is_ok_and(|out| out.status.success() && !String::from_utf8_lossy(&out.stdout).trim().is_empty())
}

/// `scontrol show job -o ID`: one line of `Key=Value` fields.
fn show_job(id: &str) -> String {
    match run_bounded(Command::new("scontrol").args(["show", "job", "-o", id]), Duration::from_secs(10)) {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => e,
    }
}

/// `ID:STATE` for each job SLURM still knows.
fn job_states(ids: &[String]) -> Vec<String> {
    let jobs = ids.join(",");
    match run_bounded(
        Command::new("squeue").args(["-h", "--states=all", "-o", "%i:%T", "-j", &jobs]),
        Duration::from_secs(10),
    ) {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        Err(e) => vec![e],
    }
}

/// Waits for a line of the scheduler's standard error that starts with `prefix`.
fn wait_for_line(lines: &mpsc::Receiver<String>, prefix: &str, timeout: Duration, env: &mut TestEnv) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("`rask scheduler` closed its output before {prefix:?}"),
        }
        if let Some(status) = env.scheduler.as_mut().and_then(|c| c.try_wait().unwrap()) {
            panic!("`rask scheduler` exited ({status}) before printing {prefix:?}");
        }
        assert!(Instant::now() < deadline, "`rask scheduler` did not print {prefix:?} within {timeout:?}");
    }
}
