//! The cluster across hosts (issue #14): a scheduler and three workers, each on its own "host"
//! (a network namespace with its own address, joined to the others by veth pairs on a bridge),
//! all traffic under TLS. While a fit runs, one host's traffic passes through a delaying TCP
//! proxy (every TLS record held 20 ms; this kernel has no `netem`) and another host's link is
//! taken down for longer than the heartbeat timeout. The fit completes with the threaded
//! scheduler's model, the partitioned worker joins again when its link comes back, and nothing
//! is left behind: namespaces, processes, spill files.
//!
//! It needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2's `ip`; without them it
//! prints `SKIPPED:` with the reason and passes. Nothing crosses into the machine's own network:
//! every address lives in the namespaces the test creates and removes.
#![cfg(target_os = "linux")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rask::datasets::generators::{make_classification, ClassificationParams};
use rask::distributed::status::StatusSnapshot;
use rask::distributed::{Client, Security, TlsConfig};
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::ml::Fit;
use rask::Scheduler;

use common::Computations;

const TOKEN: &str = "multi-host-test-token";
/// How long the proxy holds every TLS record.
const DELAY: Duration = Duration::from_millis(20);
/// The scheduler's heartbeat timeout, and how long the link stays down at least (well over it;
/// longer if the fit takes longer: the cable goes back in only once the fit has ended).
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);
const LINK_DOWN: Duration = Duration::from_secs(5);

/// Why the test cannot run here, if it cannot.
fn skip_reason(prefix: &str) -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: network namespaces and veth pairs need CAP_NET_ADMIN and CAP_SYS_ADMIN".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("iproute2's `ip` was not found (apt-get install iproute2)".into()),
    }
    let probe = format!("{prefix}probe");
    match Command::new("ip").args(["netns", "add", &probe]).output() {
        Ok(o) if o.status.success() => {
            let _ = Command::new("ip").args(["netns", "del", &probe]).status();
            None
        }
        Ok(o) => Some(format!("`ip netns add` failed: {}", String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Some(format!("`ip netns add` could not run: {e}")),
    }
}

/// Removes the namespaces of earlier runs of this test that were killed before they could
/// (named `rmh<PID>…`, the PID no longer running), as workers remove dead workers' spill
/// directories.
fn remove_stale_namespaces() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else { continue };
        let Some(rest) = name.strip_prefix("rmh") else { continue };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(pid) = digits.parse::<u32>() {
            if !alive(pid) {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
    }
}

/// Runs `ip ARGS`, panicking with its error output if it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// The test's network: a switch (a namespace holding a bridge) and one namespace per host, each
/// with an `eth0` whose peer is a port of the bridge named after the host. Removed when dropped.
struct Net {
    prefix: String,
    namespaces: Vec<String>,
}

impl Net {
    fn switch(&self) -> String {
        format!("{}sw", self.prefix)
    }

    fn ns(&self, host: &str) -> String {
        format!("{}{host}", self.prefix)
    }

    /// Creates the switch and the hosts `(name, address)` on 10.77.0.0/24.
    fn create(prefix: &str, hosts: &[(&str, &str)]) -> Net {
        let mut net = Net { prefix: prefix.to_string(), namespaces: Vec::new() };
        let sw = net.switch();
        ip(&["netns", "add", &sw]);
        net.namespaces.push(sw.clone());
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &sw, "link", "set", "br0", "up"]);
        for (host, address) in hosts {
            let ns = net.ns(host);
            ip(&["netns", "add", &ns]);
            net.namespaces.push(ns.clone());
            let port = format!("port-{host}");
            ip(&["link", "add", "eth0", "netns", &ns, "type", "veth", "peer", "name", &port, "netns", &sw]);
            ip(&["-n", &sw, "link", "set", "dev", &port, "master", "br0"]);
            ip(&["-n", &sw, "link", "set", "dev", &port, "up"]);
            ip(&["-n", &ns, "addr", "add", &format!("{address}/24"), "dev", "eth0"]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&["-n", &ns, "link", "set", "lo", "up"]);
        }
        net
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.namespaces.drain(..).rev() {
            let _ = Command::new("ip").args(["netns", "del", &ns]).status();
        }
    }
}

/// Runs `f` on a new thread inside network namespace `ns`; threads it spawns, and sockets they
/// open, are in `ns` too.
fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        use std::os::fd::AsRawFd;
        // SAFETY: a valid namespace file descriptor; setns changes only this thread's namespace.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// A TCP proxy that holds every TLS record for `DELAY` before passing it on, both ways (records
/// are pipelined: a 20 ms latency, not 20 ms per record in turn). It refuses to pass anything
/// that is not a TLS record, so it also checks that the traffic is encrypted.
struct DelayProxy {
    stop: Arc<AtomicBool>,
    records: Arc<AtomicU64>,
    not_tls: Arc<AtomicU64>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl DelayProxy {
    /// Listens on `listen` inside `ns` and forwards each connection to `target`.
    fn start(ns: &str, listen: &str, target: &str) -> DelayProxy {
        let stop = Arc::new(AtomicBool::new(false));
        let records = Arc::new(AtomicU64::new(0));
        let not_tls = Arc::new(AtomicU64::new(0));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (listen, target) = (listen.to_string(), target.to_string());
        let (s, r, n, c) = (stop.clone(), records.clone(), not_tls.clone(), conns.clone());
        let accept = in_netns(ns, move || {
            let listener = TcpListener::bind(&listen).unwrap_or_else(|e| panic!("proxy on {listen}: {e}"));
            listener.set_nonblocking(true).unwrap();
            ready_tx.send(()).unwrap();
            let mut pipes = Vec::new();
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((inbound, _)) => {
                        inbound.set_nonblocking(false).unwrap();
                        let Ok(outbound) = TcpStream::connect(&target) else { continue };
                        let _ = (inbound.set_nodelay(true), outbound.set_nodelay(true));
                        c.lock().unwrap().extend([inbound.try_clone().unwrap(), outbound.try_clone().unwrap()]);
                        pipes.extend(pipe(inbound.try_clone().unwrap(), outbound.try_clone().unwrap(), &r, &n));
                        pipes.extend(pipe(outbound, inbound, &r, &n));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(e) => panic!("proxy accept: {e}"),
                }
            }
            pipes
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("the proxy listens");
        DelayProxy { stop, records, not_tls, conns, accept: Some(accept) }
    }

    /// Closes every connection and joins every thread.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let Some(accept) = self.accept.take() else { return };
        let pipes = accept.join().unwrap_or_default();
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        for p in pipes {
            let _ = p.join();
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies TLS records from `from` to `to`, each `DELAY` after it arrived: a reader and a writer
/// thread joined by a queue of (due time, record).
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    records: &Arc<AtomicU64>,
    not_tls: &Arc<AtomicU64>,
) -> [JoinHandle<()>; 2] {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let (records, not_tls) = (records.clone(), not_tls.clone());
    let reader = std::thread::spawn(move || loop {
        let mut header = [0u8; 5];
        if from.read_exact(&mut header).is_err() {
            return;
        }
        let due = Instant::now() + DELAY;
        // A TLS record: content type 20..=23 (change cipher spec, alert, handshake, data),
        // version 3.x, then a 16-bit length.
        if !(20..=23).contains(&header[0]) || header[1] != 3 {
            not_tls.fetch_add(1, Ordering::SeqCst);
            let _ = from.shutdown(Shutdown::Both);
            return;
        }
        let len = u16::from_be_bytes([header[3], header[4]]) as usize;
        let mut record = header.to_vec();
        record.resize(5 + len, 0);
        if from.read_exact(&mut record[5..]).is_err() {
            return;
        }
        records.fetch_add(1, Ordering::SeqCst);
        if tx.send((due, record)).is_err() {
            return;
        }
    });
    let writer = std::thread::spawn(move || {
        for (due, record) in rx {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&record).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
    [reader, writer]
}

/// Kills the processes left when dropped.
struct Procs(Vec<(String, Child)>);

impl Drop for Procs {
    fn drop(&mut self) {
        for (host, c) in &mut self.0 {
            // Shown when the test fails: a process that died early says how.
            if let Ok(Some(status)) = c.try_wait() {
                eprintln!("host {host}'s process had already ended: {status}");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `rask ARGS` inside `ns`, its error output drained by a thread that prints it (shown
/// when the test fails) and forwards lines starting with `watch` to the returned receiver.
fn spawn_in(ns: &str, args: &[&str], watch: &'static str) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_rask")])
        .args(args)
        .env("RASK_TOKEN", TOKEN)
        .env("RASK_LOG", std::env::var("RASK_LOG").unwrap_or_else(|_| "info".into()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let name = ns.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{name}] {line}");
            if line.starts_with(watch) {
                let _ = tx.send(line);
            }
        }
    });
    (child, rx)
}

fn tls_files(dir: &Path) -> [String; 3] {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["rask".to_string()]).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let files = [("cert.pem", cert.pem()), ("key.pem", key.serialize_pem()), ("ca.pem", ca.pem())];
    files.map(|(name, pem)| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_string_lossy().into_owned()
    })
}

fn params() -> (ClassificationParams, LogisticRegressionParams) {
    (
        ClassificationParams::new().n_samples(60_000).n_features(10).seed(23).chunk_rows(3_000),
        LogisticRegressionParams::new().max_iter(200).tol(1e-10),
    )
}

/// The status document, read from the scheduler's status page (call inside its namespace).
fn status(address: &str) -> StatusSnapshot {
    let mut tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(tcp, "GET /status.json?token={TOKEN} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).unwrap()
}

fn wait_for(address: &str, what: &str, pred: impl Fn(&StatusSnapshot) -> bool) -> StatusSnapshot {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(address);
        if pred(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "waited 60 s for {what}; status: {s:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a process with this id exists.
fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[test]
fn a_fit_across_hosts_survives_a_slow_link_and_a_partition_and_leaves_nothing_behind() {
    let prefix = format!("rmh{}", std::process::id());
    if let Some(why) = skip_reason(&prefix) {
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}; the multi-host test did not run");
        return;
    }
    remove_stale_namespaces();
    let (data_params, fit_params) = params();
    let reference = {
        let threaded = Scheduler::threaded_with(2).unwrap();
        let data = make_classification(&data_params).unwrap().persist_on(&threaded).unwrap();
        rask::with_scheduler(&threaded, || fit_params.fit(&data)).unwrap()
    };
    assert!(reference.n_iter >= 8, "the fit must take several iterations ({})", reference.n_iter);

    let dir = tempfile::tempdir().unwrap();
    let [cert, key, ca] = tls_files(dir.path());
    // TLS, and a 5 s TCP timeout: a connection to a cut-off host is found dead by keepalive
    // and TCP_USER_TIMEOUT within 5 s, whatever the scheduler knows.
    let tls: Vec<&str> = vec!["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", &ca, "--tcp-timeout", "5"];
    let hosts = [("s", "10.77.0.1"), ("a", "10.77.0.11"), ("b", "10.77.0.12"), ("c", "10.77.0.13")];
    let net = Net::create(&prefix, &hosts);
    let mut procs = Procs(Vec::new());

    // The scheduler on host s, its status page there too (beyond loopback: it needs the token).
    let hb = HEARTBEAT_TIMEOUT.as_secs_f64().to_string();
    let mut args = vec!["scheduler", "--listen", "10.77.0.1:8786", "--status", "10.77.0.1:8787"];
    args.extend(["--heartbeat-timeout", &hb]);
    args.extend(&tls);
    let (scheduler, listening) = spawn_in(&net.ns("s"), &args, "scheduler listening on");
    procs.0.push(("s".into(), scheduler));
    listening.recv_timeout(Duration::from_secs(30)).expect("the scheduler starts");

    // Host b reaches the scheduler, and its peers reach it, only through the delaying proxy.
    let mut to_scheduler = DelayProxy::start(&net.ns("b"), "127.0.0.1:8786", "10.77.0.1:8786");
    let mut from_peers = DelayProxy::start(&net.ns("b"), "10.77.0.12:9000", "127.0.0.1:9100");

    // Workers with a memory limit low enough that they spill (60 % of 1 MB).
    let spill: Vec<_> = ["a", "b", "c"].map(|h| dir.path().join(format!("spill-{h}"))).into();
    for (i, host) in ["a", "b", "c"].into_iter().enumerate() {
        let spill_dir = spill[i].to_string_lossy().into_owned();
        let (scheduler, listen, advertise) = match host {
            "b" => ("127.0.0.1:8786".to_string(), "127.0.0.1:9100".to_string(), Some("10.77.0.12:9000")),
            _ => ("10.77.0.1:8786".to_string(), format!("{}:9000", hosts[i + 1].1), None),
        };
        let mut args = vec!["worker", "--scheduler", &scheduler, "--listen", &listen, "--nthreads", "1"];
        args.extend(["--memory-limit", "1M", "--spill-dir", &spill_dir]);
        if let Some(a) = advertise {
            args.extend(["--advertise", a]);
        }
        args.extend(&tls);
        let (worker, _) = spawn_in(&net.ns(host), &args, "");
        procs.0.push((host.into(), worker));
    }

    // The client, on the scheduler's host.
    let status_address = "10.77.0.1:8787";
    let (cert2, key2, ca2) = (cert.clone(), key.clone(), ca.clone());
    let sw = net.switch();
    let client_side = in_netns(&net.ns("s"), move || {
        let tls = TlsConfig::from_pem_files(cert2.as_ref(), key2.as_ref(), ca2.as_ref(), "rask").unwrap();
        let client = Client::connect("10.77.0.1:8786", Security::new(rask::registry(), TOKEN).with_tls(tls)).unwrap();
        client.wait_for_workers(3, Duration::from_secs(60)).unwrap();
        let before = wait_for(status_address, "three workers", |s| s.workers.len() == 3);
        let c_before = before.workers.iter().find(|w| w.address == "10.77.0.13:9000").expect("worker c").id;

        let counter = Arc::new(Computations::default());
        let dist = client.scheduler().with_callback(counter.clone());
        let data = make_classification(&data_params).unwrap().persist_on(&dist).unwrap();
        // The workers hold more than their limit allows in memory: they spill (reported with
        // their next heartbeats), so their spill directories have something to clean up.
        let spilled = wait_for(status_address, "the workers to report spilling", |s| {
            s.workers.iter().map(|w| w.spilled_bytes).sum::<u64>() > 0
        })
        .workers
        .iter()
        .map(|w| w.spilled_bytes)
        .sum::<u64>();
        let started = counter.started();
        let (tx, rx) = mpsc::channel();
        let t0 = Instant::now();
        let fit = std::thread::spawn(move || {
            let model = rask::with_scheduler(&dist, || fit_params.fit(&data));
            let _ = tx.send((model, t0.elapsed()));
        });
        // A few iterations in, host c's cable is pulled for longer than the heartbeat timeout.
        let deadline = Instant::now() + Duration::from_secs(60);
        while counter.started() < started + 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let down_at = t0.elapsed();
        ip(&["-n", &sw, "link", "set", "dev", "port-c", "down"]);
        let removed = wait_for(status_address, "host c's worker to be removed", |s| {
            s.workers.len() == 2 && s.workers.iter().all(|w| w.id != c_before)
        });
        let removed_at = t0.elapsed();
        // The fit goes on without host c: what ran there is recomputed, and tasks elsewhere that
        // were fetching from it are taken back (a partition leaves their connections silent,
        // not closed). It must end while the cable is still out.
        let (model, fit_time) = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the fit finishes while host c is cut off, without waiting for it");
        let model: LogisticRegression = model.expect("the fit survives the slow link and the partition");
        std::thread::sleep((down_at + LINK_DOWN).saturating_sub(t0.elapsed()));
        ip(&["-n", &sw, "link", "set", "dev", "port-c", "up"]);
        let up_at = t0.elapsed();
        fit.join().unwrap();
        // Host c's worker was removed and told so once its link came back: it joins again under
        // a new id, at the same address.
        let after = wait_for(status_address, "host c's worker to join again", |s| {
            s.workers.len() == 3 && s.workers.iter().any(|w| w.address == "10.77.0.13:9000" && w.id != c_before)
        });
        let rejoined_at = t0.elapsed();
        eprintln!(
            "multi-host: link down at {down_at:.2?}, worker removed at {removed_at:.2?}, link up at {up_at:.2?}, \
             fit done at {fit_time:.2?} ({} iterations), joined again at {rejoined_at:.2?}; {spilled} bytes spilled",
            model.n_iter
        );
        drop(client);
        (model, spilled, removed, after)
    });
    let (model, spilled, removed, after) = client_side.join().expect("the client side");
    assert_eq!(model.n_iter, reference.n_iter);
    assert_eq!(model.coef, reference.coef);
    assert_eq!(model.intercept, reference.intercept);
    assert!(removed.workers.iter().all(|w| w.address != "10.77.0.13:9000"), "{removed:?}");
    assert_eq!(after.workers.len(), 3, "{after:?}");
    assert!(spilled > 0, "the workers spilled (so the spill directories had something to clean up)");

    // The slow host's traffic really went through the proxy, as TLS records, both ways.
    to_scheduler.stop();
    from_peers.stop();
    let records = to_scheduler.records.load(Ordering::SeqCst);
    let peer_records = from_peers.records.load(Ordering::SeqCst);
    eprintln!("multi-host: {records} TLS records between host b and the scheduler, {peer_records} from peers, each held {DELAY:?}");
    assert!(records > 100, "{records} TLS records through the delaying proxy");
    assert_eq!(to_scheduler.not_tls.load(Ordering::SeqCst) + from_peers.not_tls.load(Ordering::SeqCst), 0);

    // Nothing left behind: workers stop on SIGTERM and remove their spill directories; the
    // scheduler goes; then the namespaces.
    // Every process lived through it (a worker killed by a signal, SIGPIPE say, would have
    // been replaced by nothing).
    for (host, child) in procs.0.iter_mut() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("host {host}'s process ended during the test: {status}");
        }
    }
    let pids: Vec<u32> = procs.0.iter().map(|(_, c)| c.id()).collect();
    for (host, child) in procs.0.iter_mut().rev() {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "host {host}'s process did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    procs.0.clear();
    for p in pids {
        assert!(!alive(p), "process {p} is gone");
    }
    for d in &spill {
        let left: Vec<_> = match std::fs::read_dir(d) {
            Ok(entries) => entries.map(|e| e.unwrap().file_name()).collect(),
            Err(_) => Vec::new(),
        };
        assert!(left.is_empty(), "{} still holds {left:?}", d.display());
    }
    let names: Vec<String> = net.namespaces.clone();
    drop(net);
    let listed = String::from_utf8(Command::new("ip").args(["netns", "list"]).output().unwrap().stdout).unwrap();
    for ns in names {
        assert!(!listed.lines().any(|l| l.split_whitespace().next() == Some(&ns)), "namespace {ns} is left");
    }
}
