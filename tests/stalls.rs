//! A stall must not wedge the cluster (issue #13, section 1): a scheduler, a worker or the whole
//! cluster stopped
//! with SIGSTOP for longer than the heartbeat timeout, then resumed, in the middle of a fit.
//! The fit completes with the threaded scheduler's model and the cluster has its full worker
//! count afterwards. A client facing a silent scheduler fails with a clear error after its
//! timeout instead of hanging.
//!
//! Real processes on 127.0.0.1: `rask scheduler` and `rask worker` (or a `LocalCluster` of
//! `rask` worker processes), stopped and resumed with `kill -STOP` / `kill -CONT`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rask::datasets::generators::{make_classification, ClassificationParams};
use rask::distributed::{Client, ClientOptions, Security};
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::ml::Fit;
use rask::Scheduler;

use common::Computations;

const TOKEN: &str = "stall-test-token";

/// Sends `signal` (`STOP`, `CONT`) to `pid`.
fn signal(pid: u32, signal: &str) {
    let ok = Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Kills the processes when dropped (a resumed scheduler first, so nothing stays stopped).
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill").args(["-CONT", &c.id().to_string()]).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A `rask scheduler` process listening on `listen` with a 2 s heartbeat timeout, and the
/// address it bound (printed once it listens).
fn spawn_scheduler(listen: &str) -> (Child, String) {
    let mut scheduler = Command::new(env!("CARGO_BIN_EXE_rask"))
        .args(["scheduler", "--listen", listen, "--no-status", "--heartbeat-timeout", "2"])
        .env("RASK_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = scheduler.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("scheduler listening on ") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
            // Keep draining so the scheduler never blocks on a full pipe.
        }
    });
    let address = rx.recv_timeout(Duration::from_secs(30)).expect("the scheduler prints its address");
    (scheduler, address)
}

/// A `rask scheduler` process on a free port with a 2 s heartbeat timeout, and `n` `rask
/// worker` processes (extra worker arguments in `worker_args`); returns them and the address.
fn scheduler_and_workers(n: usize, worker_args: &[&str]) -> (Procs, String) {
    let (scheduler, address) = spawn_scheduler("127.0.0.1:0");
    let mut procs = Procs(vec![scheduler]);
    for _ in 0..n {
        let worker = Command::new(env!("CARGO_BIN_EXE_rask"))
            .args(["worker", "--scheduler", &address, "--nthreads", "1"])
            .args(worker_args)
            .env("RASK_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        procs.0.push(worker);
    }
    (procs, address)
}

fn client(address: &str, scheduler_timeout: Duration) -> Client {
    let mut opts = ClientOptions::new(Security::new(rask::registry(), TOKEN));
    opts.scheduler_timeout = scheduler_timeout;
    Client::connect_with(address, opts).unwrap()
}

fn params() -> (ClassificationParams, LogisticRegressionParams) {
    (
        ClassificationParams::new().n_samples(60_000).n_features(10).seed(11).chunk_rows(3_000),
        LogisticRegressionParams::new().max_iter(200).tol(1e-10),
    )
}

fn threaded_reference() -> LogisticRegression {
    let (data, fit) = params();
    let threaded = Scheduler::threaded_with(2).unwrap();
    let data = make_classification(&data).unwrap().persist_on(&threaded).unwrap();
    let model = rask::with_scheduler(&threaded, || fit.fit(&data)).unwrap();
    assert!(model.n_iter >= 8, "the fit must take several iterations ({})", model.n_iter);
    model
}

/// Fits on `dist` on another thread, runs `stall` once the fit is under way (a few computations
/// in), and returns the model. The fit must end within 50 s of the stall: it takes about 10 s,
/// and 50 s is under the workers' default 60 s scheduler timeout, so a cluster that recovers
/// only because orphaned workers eventually give the scheduler up fails the test too.
fn fit_through(dist: &Scheduler, stall: impl FnOnce()) -> LogisticRegression {
    use std::sync::Arc;
    let counter = Arc::new(Computations::default());
    let dist = dist.clone().with_callback(counter.clone());
    let (data_params, fit_params) = params();
    let data = make_classification(&data_params).unwrap().persist_on(&dist).unwrap();
    let before = counter.started();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(rask::with_scheduler(&dist, || fit_params.fit(&data)));
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter.started() < before + 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    stall();
    rx.recv_timeout(Duration::from_secs(50))
        .expect("the fit finishes within 50 s of the stall instead of hanging")
        .expect("the fit survives the stall")
}

fn wait_for_workers(client: &Client, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = client.workers().unwrap().len();
        if have == n || Instant::now() > deadline {
            return have;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The whole cluster paused (as when a VM is suspended), the scheduler resumed first: it
/// finds every worker silent for longer than the heartbeat timeout. Before the fix it removed
/// them all while keeping their connections, they never registered again and the fit hung; now
/// the scheduler knows the silence was its own. (A scheduler stopped alone is the next test's
/// case: there the workers' heartbeats wait in the sockets and usually arrive first.)
#[test]
fn a_cluster_paused_longer_than_the_heartbeat_timeout_keeps_its_workers_and_the_fit_completes() {
    let reference = threaded_reference();
    let (procs, address) = scheduler_and_workers(2, &[]);
    let c = client(&address, Duration::from_secs(60));
    c.wait_for_workers(2, Duration::from_secs(60)).unwrap();
    let pids: Vec<u32> = procs.0.iter().map(Child::id).collect();
    let model = fit_through(&c.scheduler(), || {
        // 5 s stopped against a 2 s heartbeat timeout.
        for &p in &pids {
            signal(p, "STOP");
        }
        std::thread::sleep(Duration::from_secs(5));
        signal(pids[0], "CONT");
        std::thread::sleep(Duration::from_millis(500));
        for &p in &pids[1..] {
            signal(p, "CONT");
        }
    });
    assert_eq!(model.n_iter, reference.n_iter);
    assert_eq!(model.coef, reference.coef);
    assert_eq!(model.intercept, reference.intercept);
    assert_eq!(wait_for_workers(&c, 2), 2, "both workers are still in the cluster");
}

/// The scheduler stopped alone, for longer than the heartbeat timeout and the workers'
/// scheduler timeout: the workers give it up after 2 s of silence and join again once it
/// resumes (their old connections close, and what ran on them is recomputed).
#[test]
fn workers_that_hear_nothing_from_a_stopped_scheduler_join_again_and_the_fit_completes() {
    let reference = threaded_reference();
    // The workers give a silent scheduler up after 2 s; the scheduler stays stopped 5 s.
    let (procs, address) = scheduler_and_workers(2, &["--scheduler-timeout", "2"]);
    let c = client(&address, Duration::from_secs(60));
    c.wait_for_workers(2, Duration::from_secs(60)).unwrap();
    let scheduler_pid = procs.0[0].id();
    let model = fit_through(&c.scheduler(), || {
        signal(scheduler_pid, "STOP");
        std::thread::sleep(Duration::from_secs(5));
        signal(scheduler_pid, "CONT");
    });
    assert_eq!(model.n_iter, reference.n_iter);
    assert_eq!(model.coef, reference.coef);
    assert_eq!(model.intercept, reference.intercept);
    assert_eq!(wait_for_workers(&c, 2), 2, "both workers joined again");
}

#[test]
fn a_worker_stopped_longer_than_the_heartbeat_timeout_joins_again_and_the_fit_completes() {
    let reference = threaded_reference();
    let cluster = rask::distributed::local_cluster(2)
        .program(env!("CARGO_BIN_EXE_rask"), Vec::new())
        .heartbeats(Duration::from_millis(200), Duration::from_secs(2))
        .quiet(true)
        .start()
        .unwrap();
    let pid = cluster.worker_pids()[0];
    let ids_before: Vec<u64> = cluster.status().workers.iter().map(|w| w.id).collect();
    let model = fit_through(&cluster.client().scheduler(), || {
        // Removed after 2 s of silence; before the fix it stayed connected and unused once
        // resumed, its capacity silently lost.
        signal(pid, "STOP");
        std::thread::sleep(Duration::from_secs(5));
        signal(pid, "CONT");
    });
    assert_eq!(model.n_iter, reference.n_iter);
    assert_eq!(model.coef, reference.coef);
    assert_eq!(model.intercept, reference.intercept);
    // Two workers again, one of them under a new id: the stopped worker was removed and joined
    // again as a fresh worker.
    let status = cluster
        .wait_for_status(
            |s| s.workers.len() == 2 && s.workers.iter().any(|w| !ids_before.contains(&w.id)),
            Duration::from_secs(30),
        )
        .expect("the stopped worker joins again");
    assert_eq!(status.workers.len(), 2);
}

#[test]
fn a_client_facing_a_silent_scheduler_fails_with_a_clear_error_after_its_timeout() {
    let (procs, address) = scheduler_and_workers(1, &[]);
    let c = client(&address, Duration::from_secs(2));
    c.wait_for_workers(1, Duration::from_secs(60)).unwrap();
    let scheduler_pid = procs.0[0].id();
    signal(scheduler_pid, "STOP");
    let t0 = Instant::now();
    let (data, _) = params();
    let err = make_classification(&data).unwrap().persist_on(&c.scheduler()).unwrap_err().to_string();
    let waited = t0.elapsed();
    signal(scheduler_pid, "CONT");
    assert!(err.contains("sent nothing for 2.0 s") && err.contains("scheduler_timeout"), "{err}");
    assert!(waited < Duration::from_secs(20), "failed after {waited:?}, not at once and not never");
}

/// The scheduler killed (-9) and started again on the same address: its worker's connection
/// breaks, and the worker joins the new scheduler as a fresh worker (trying for its connect
/// timeout, as Dask workers reconnect) instead of exiting; the new cluster computes.
#[test]
fn a_worker_joins_a_scheduler_restarted_on_the_same_address() {
    let (mut procs, address) = scheduler_and_workers(1, &[]);
    let c = client(&address, Duration::from_secs(60));
    c.wait_for_workers(1, Duration::from_secs(60)).unwrap();
    drop(c);
    let old = &mut procs.0[0];
    old.kill().unwrap();
    old.wait().unwrap();
    let (restarted, again) = spawn_scheduler(&address);
    assert_eq!(again, address);
    procs.0.push(restarted);
    let c = client(&address, Duration::from_secs(60));
    c.wait_for_workers(1, Duration::from_secs(30)).expect("the worker joins the restarted scheduler");
    assert!(procs.0[1].try_wait().unwrap().is_none(), "the worker is still running");
    let (data, _) = params();
    let x = make_classification(&data).unwrap().x().compute_on(&c.scheduler()).unwrap();
    assert_eq!(x.shape(), &[60_000, 10]);
}
