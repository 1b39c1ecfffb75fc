//! The distributed runtime with real worker processes on 127.0.0.1: futures, failures,
//! refused handshakes, malformed frames, spilling, the status endpoint and TLS.
//! (Every graph test of `schedulers.rs`, `errors.rs` and `properties.rs` also runs on a
//! cluster through the `distributed` case of `on_every_scheduler!`.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rask_core::{Error, Graph, Key, Registry, Value};
use rask_distributed::{
    run_worker, Client, ClientOptions, FutureStatus, LocalCluster, SchedulerHandle, SchedulerOptions, Security,
    StateConfig, TlsConfig, WorkerOptions, PROTOCOL_VERSION,
};

fn own_cluster(n: usize) -> rask_distributed::LocalClusterBuilder {
    LocalCluster::builder(registry()).workers(n).program(worker_program(), Vec::new())
}

fn slow_sum_graph(n: i64, ms: u64) -> (Graph, Key) {
    let mut g = Graph::new();
    let leaves: Vec<Key> = (0..n).map(|i| g.task(Slow { k: i, ms }, &[]).unwrap()).collect();
    let root = g.tree_reduce(&leaves, 4, |g, _, group| g.task(Lin { k: 0 }, group)).unwrap();
    (g, root)
}

#[test]
fn futures_submit_map_gather_and_as_completed() {
    let client = cluster().client();
    let a = client.submit(Lin { k: 40 }, &[]).unwrap();
    let b = client.submit(Lin { k: 2 }, &[&a]).unwrap();
    assert_eq!(b.get::<i64>().unwrap(), 42);
    assert_eq!(b.status(), FutureStatus::Finished);

    let many = client.map((0..20).map(|i| (Slow { k: i, ms: (20 - i as u64) * 3 }, vec![a.clone()]))).unwrap();
    let values = client.gather(&many).unwrap();
    let got: Vec<i64> = values.iter().map(|v| *v.get::<i64>().unwrap()).collect();
    assert_eq!(got, (0..20).map(|i| 40 + i).collect::<Vec<_>>());

    let mut sorted: Vec<i64> = client
        .as_completed(many)
        .map(|(f, r)| {
            r.unwrap();
            f.get::<i64>().unwrap()
        })
        .collect();
    sorted.sort_unstable();
    assert_eq!(sorted, (40..60).collect::<Vec<_>>(), "as_completed yields every future once");
}

#[test]
fn as_completed_yields_in_completion_order() {
    let c = own_cluster(2).start().unwrap();
    let client = c.client();
    // Two idle workers take one task each: the short one finishes first.
    let futures = client.map([(Slow { k: 1, ms: 1_500 }, vec![]), (Slow { k: 2, ms: 10 }, vec![])]).unwrap();
    let order: Vec<i64> = client.as_completed(futures).map(|(f, r)| r.and_then(|()| f.get::<i64>()).unwrap()).collect();
    assert_eq!(order, vec![2, 1]);
}

/// Counts what a callback is told.
#[derive(Default)]
struct Counts {
    starts: std::sync::atomic::AtomicUsize,
    finished: std::sync::Mutex<Vec<(Key, bool)>>,
    ends: std::sync::Mutex<Vec<bool>>,
}

impl rask_core::scheduler::Callback for Counts {
    fn on_compute_start(&self, _n: usize) {
        self.starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn on_task_finish(&self, key: &Key, ok: bool, _elapsed: Duration) {
        self.finished.lock().unwrap().push((key.clone(), ok));
    }
    fn on_compute_end(&self, ok: bool) {
        self.ends.lock().unwrap().push(ok);
    }
}

/// Callbacks on a cluster see every task of the graph, not only the outputs (the client asks
/// the scheduler for task events when it has callbacks), with the time each ran on its worker:
/// `TaskTimings` counts what it counts on the threaded scheduler. Before, only the requested
/// outputs were reported, so intermediate tasks read 0.
#[test]
fn callbacks_see_every_task_of_the_graph_on_a_cluster_with_its_time() {
    let client = cluster().client();
    let counts = Arc::new(Counts::default());
    let timings = Arc::new(rask_core::scheduler::TaskTimings::new());
    let s = client.scheduler().with_callback(counts.clone()).with_callback(timings.clone());
    let mut g = Graph::new();
    // Each root feeds two tasks, so the planner fuses nothing: 18 tasks, 12 of them outputs.
    let roots: Vec<Key> = (0..6).map(|i| g.task(Slow { k: 200 + i, ms: 5 }, &[]).unwrap()).collect();
    let outs: Vec<Key> = roots.iter().flat_map(|r| [3, 4].map(|k| g.task(Lin { k }, &[r.clone()]).unwrap())).collect();
    let values = s.compute(&g, &outs).unwrap();
    assert_eq!(values.len(), 12);
    assert_eq!(counts.starts.load(std::sync::atomic::Ordering::SeqCst), 1);
    let mut seen: Vec<Key> = counts
        .finished
        .lock()
        .unwrap()
        .iter()
        .map(|(k, ok)| {
            assert!(ok);
            k.clone()
        })
        .collect();
    seen.sort();
    let mut want: Vec<Key> = roots.iter().chain(&outs).cloned().collect();
    want.sort();
    assert_eq!(seen, want, "every task is reported once");
    assert_eq!(*counts.ends.lock().unwrap(), vec![true]);
    let local = Arc::new(rask_core::scheduler::TaskTimings::new());
    rask_core::Scheduler::threaded().with_callback(local.clone()).compute(&g, &outs).unwrap();
    let per_prefix = |t: &rask_core::scheduler::TaskTimings| {
        let mut v: Vec<(String, usize)> = t.summary().into_iter().map(|(p, n, _)| (p, n)).collect();
        v.sort();
        v
    };
    assert_eq!(per_prefix(&timings), per_prefix(&local), "the same tasks as on threads");
    let (_, n, t) = timings.summary().into_iter().find(|(p, _, _)| p.contains("slow")).expect("slow tasks timed");
    assert_eq!(n, 6);
    assert!(t >= Duration::from_millis(5 * 6), "the workers' run times reach the client: {t:?}");

    // A failing computation reports the failed task and its dependents, and ends not ok.
    let counts = Arc::new(Counts::default());
    let s = client.scheduler().with_callback(counts.clone());
    let mut g = Graph::new();
    // (Two dependents, so the chain is not fused into one task.)
    let bad = g.task(Fail { message: "no".into() }, &[]).unwrap();
    let after = g.task(Lin { k: 1 }, &[bad.clone()]).unwrap();
    let other = g.task(Lin { k: 2 }, &[bad.clone()]).unwrap();
    assert!(s.compute(&g, &[after.clone(), other.clone()]).is_err());
    let mut finished = counts.finished.lock().unwrap().clone();
    finished.sort();
    let mut want = vec![(bad, false), (after, false), (other, false)];
    want.sort();
    assert_eq!(finished, want);
    assert_eq!(*counts.ends.lock().unwrap(), vec![false]);
}

/// A graph larger than one frame's worth of nodes goes in parts: it runs as one computation,
/// callbacks see every task of every part, and a part that cannot be encoded (a local closure
/// in the second part) fails the computation and leaves nothing on the scheduler.
#[test]
fn large_graphs_are_submitted_in_parts_and_a_failed_part_leaves_nothing_behind() {
    let c = own_cluster(2).start().unwrap();
    let client = c.client();
    let n = rask_distributed::NODES_PER_FRAME as i64 + 10_000;
    let mut g = Graph::new();
    let leaves: Vec<Key> = (0..n).map(|i| g.task(Lin { k: i }, &[]).unwrap()).collect();
    let root = g.tree_reduce(&leaves, 16, |g, _, group| g.task(Lin { k: 0 }, group)).unwrap();
    let n_nodes = g.len();
    let counts = Arc::new(Counts::default());
    let s = client.scheduler().with_callback(counts.clone());
    let v = s.compute(&g, std::slice::from_ref(&root)).unwrap();
    assert_eq!(*v[0].get::<i64>().unwrap(), n * (n - 1) / 2);
    assert_eq!(counts.finished.lock().unwrap().len(), n_nodes, "every task of every part is reported");
    assert_eq!(*counts.ends.lock().unwrap(), vec![true]);

    let mut g = Graph::new();
    let mut keys: Vec<Key> = (0..n).map(|i| g.task(Lin { k: -i }, &[]).unwrap()).collect();
    g.add_local("local", vec![], |_| Ok(Value::new(1i64)));
    keys.push(Key::new("local"));
    let err = client.scheduler().compute(&g, &keys).unwrap_err();
    assert!(matches!(err, Error::LocalTask { .. }), "{err}");
    // Only the first computation's root stays, until its value is dropped (it is: `v` above
    // holds the value itself, not a future).
    c.wait_for_status(|s| s.tasks.total == 0, Duration::from_secs(10)).expect("the parts were taken back");
    // The client still works.
    let v = client.scheduler().compute(&g, &keys[..3]).unwrap();
    assert_eq!(v.iter().map(|v| *v.get::<i64>().unwrap()).collect::<Vec<_>>(), vec![0, -1, -2]);
}

/// A scheduler on 127.0.0.1 (no status page) and `n` one-thread workers in this process.
fn scheduler_with_workers(
    security: &Security,
    n: usize,
) -> (SchedulerHandle, String, Vec<std::thread::JoinHandle<Result<(), rask_distributed::WorkerError>>>) {
    let mut opts = SchedulerOptions::new(security.clone());
    opts.listen = "127.0.0.1:0".into();
    opts.status = None;
    let scheduler = SchedulerHandle::start(opts).unwrap();
    let address = scheduler.address().to_string();
    let workers = (0..n)
        .map(|_| {
            let mut w = WorkerOptions::new(address.clone(), security.clone());
            w.nthreads = 1;
            std::thread::spawn(move || run_worker(w))
        })
        .collect();
    (scheduler, address, workers)
}

/// A client in the scheduler's process (as a `LocalCluster`'s is) and a socket client of the
/// same scheduler each submit a graph larger than one part, so both go through the bounded
/// part queues (`PARTS_IN_FLIGHT`), and get the same result; the scheduler counts both while
/// they are connected, and neither leaves anything behind.
#[test]
fn in_process_and_socket_clients_of_one_scheduler_agree_and_leave_nothing_behind() {
    let security = Security::new(registry(), "in-process-token");
    let (scheduler, address, workers) = scheduler_with_workers(&security, 2);
    let local = Client::in_process(&scheduler, ClientOptions::new(security.clone())).unwrap();
    let remote = Client::connect(&address, security.clone()).unwrap();
    local.wait_for_workers(2, Duration::from_secs(20)).unwrap();
    let wait_for = |what: &str, ok: &dyn Fn(&rask_distributed::status::StatusSnapshot) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ok(&scheduler.status()) {
            assert!(Instant::now() < deadline, "{what}: {:?}", scheduler.status().tasks);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for("both clients are counted", &|s| s.clients == 2);

    let n = rask_distributed::NODES_PER_FRAME as i64 * 2 + 123;
    let mut g = Graph::new();
    let leaves: Vec<Key> = (0..n).map(|i| g.task(Lin { k: i }, &[]).unwrap()).collect();
    let root = g.tree_reduce(&leaves, 16, |g, _, group| g.task(Lin { k: 0 }, group)).unwrap();
    let via_local = local.scheduler().get::<i64>(&g, &root).unwrap();
    let via_socket = remote.scheduler().get::<i64>(&g, &root).unwrap();
    assert_eq!(via_local, n * (n - 1) / 2);
    assert_eq!(via_socket, via_local);
    // Futures of the in-process client, released when dropped.
    let futures = local.compute(&g, &leaves[..10]).unwrap();
    assert_eq!(*local.gather(&futures).unwrap()[9].get::<i64>().unwrap(), 9);
    drop(futures);
    wait_for("every task is released", &|s| s.tasks.total == 0);
    drop(local);
    wait_for("the in-process client left", &|s| s.clients == 1);
    drop(remote);
    wait_for("the socket client left", &|s| s.clients == 0);
    scheduler.stop();
    for w in workers {
        w.join().unwrap().unwrap();
    }
}

/// Locality, measured: with one 16 MB block and seven 8 KB blocks spread over two workers,
/// a blockwise pass moves no block (every task runs where its input is; the workers fetch
/// nothing), and a task reading the big block and a small one on the other worker moves the
/// small one. The bytes come from the workers' own count of what they fetched.
#[test]
fn locality_is_measured_with_skewed_block_sizes() {
    let c = own_cluster(2).start().unwrap();
    let client = c.client();
    client.wait_for_workers(2, Duration::from_secs(10)).unwrap();
    let fetched = |s: &rask_distributed::status::StatusSnapshot| s.workers.iter().map(|w| w.fetched_bytes).sum::<u64>();
    let done = |s: &rask_distributed::status::StatusSnapshot| s.workers.iter().map(|w| w.tasks_done).sum::<u64>();
    let mut g = Graph::new();
    let sizes = [2_000_000usize, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000];
    let keys: Vec<Key> =
        sizes.iter().enumerate().map(|(i, &n)| g.task(Fill { n, v: i as f64 }, &[]).unwrap()).collect();
    let blocks = client.compute(&g, &keys).unwrap();
    client.wait(&blocks).unwrap();
    let homes = client.who_has(&blocks).unwrap();
    assert!(homes.iter().all(|h| h.len() == 1), "{homes:?}");
    let big_home = homes[0][0].clone();

    let sums = client.map(blocks.iter().map(|b| (SumF64, vec![b.clone()]))).unwrap();
    let values = client.gather(&sums).unwrap();
    for (v, (i, &n)) in values.iter().zip(sizes.iter().enumerate()) {
        assert_eq!(*v.get::<f64>().unwrap(), i as f64 * n as f64);
    }
    let ran = client.who_has(&sums).unwrap();
    assert_eq!(ran[0], vec![big_home.clone()], "the big block's task ran where the block is");
    let moved: u64 = (0..8).filter(|&i| ran[i] != homes[i]).map(|i| sizes[i] as u64 * 8).sum();
    let s = c.wait_for_status(|s| done(s) >= 16, Duration::from_secs(10)).unwrap();
    // A small block may move when its holder is busier (8 KB cost 40 µs to move), and may be
    // fetched for a task that its holder then steals back once idle: the workers fetched
    // every block that moved, and nothing but small blocks, each at most once.
    let f = fetched(&s);
    assert!(f >= moved && f % 8_000 == 0 && f <= 7 * 8_000, "fetched {f} B, moved {moved} B: {ran:?} from {homes:?}");
    // A small block held only on the other worker (not copied to the big block's).
    let holders = client.who_has(&blocks).unwrap();
    let other = (1..8).find(|&i| !holders[i].contains(&big_home)).expect("blocks on both workers");

    let both = client.submit(SumF64, &[&blocks[0], &blocks[other]]).unwrap();
    assert_eq!(both.get::<f64>().unwrap(), other as f64 * 1_000.0);
    assert_eq!(client.who_has(std::slice::from_ref(&both)).unwrap(), vec![vec![big_home]]);
    let s = c.wait_for_status(|s| done(s) >= 17 && fetched(s) > f, Duration::from_secs(10)).unwrap();
    assert_eq!(fetched(&s) - f, 8_000, "the small block moved, not the big one");
}

#[test]
fn task_errors_reach_the_client_with_the_original_message() {
    let client = cluster().client();
    let bad = client.submit(Fail { message: "the original message".into() }, &[]).unwrap();
    let after = client.submit(Lin { k: 1 }, &[&bad]).unwrap();
    match after.result() {
        Err(Error::TaskFailed { op, cause, .. }) => {
            assert_eq!(op, "test.fail");
            assert_eq!(cause, "the original message");
        }
        other => panic!("expected the task's error, got {other:?}"),
    }
    let boom = client.submit(Panic { message: "kaboom".into() }, &[]).unwrap();
    let err = boom.result().unwrap_err().to_string();
    assert!(err.contains("panicked: kaboom"), "{err}");
}

#[test]
fn cancel_stops_waiting_and_other_work_goes_on() {
    let client = cluster().client();
    let slow = client.submit(Slow { k: 1, ms: 2_000 }, &[]).unwrap();
    let t0 = Instant::now();
    client.cancel(std::slice::from_ref(&slow)).unwrap();
    assert!(matches!(slow.result(), Err(Error::Cancelled(_))), "{:?}", slow.status());
    assert!(t0.elapsed() < Duration::from_secs(1), "cancel must not wait for the task");
    let ok = client.submit(Lin { k: 7 }, &[]).unwrap();
    assert_eq!(ok.get::<i64>().unwrap(), 7);
}

#[test]
fn scatter_and_broadcast_place_data_on_workers() {
    let client = cluster().client();
    let data = client.scatter(vec![Value::new(vec![1i64, 2, 3]), Value::new(vec![10i64; 10])]).unwrap();
    let sums = client.map(data.iter().map(|f| (SumVec, vec![f.clone()]))).unwrap();
    let got: Vec<i64> = client.gather(&sums).unwrap().iter().map(|v| *v.get::<i64>().unwrap()).collect();
    assert_eq!(got, vec![6, 100]);
    let model = client.broadcast(Value::new(5i64)).unwrap();
    let uses = client.map((0..8).map(|i| (Lin { k: i }, vec![model.clone()]))).unwrap();
    let got: Vec<i64> = client.gather(&uses).unwrap().iter().map(|v| *v.get::<i64>().unwrap()).collect();
    assert_eq!(got, (5..13).collect::<Vec<_>>());
    assert_eq!(model.get::<i64>().unwrap(), 5);
}

#[test]
fn local_closures_are_refused_with_a_clear_error() {
    let mut g = Graph::new();
    g.add_local("f", vec![], |_| Ok(Value::new(1i64)));
    let err = distributed().compute(&g, &[Key::new("f")]).unwrap_err();
    assert!(matches!(err, Error::LocalTask { .. }), "{err}");
    assert!(err.to_string().contains("distributed scheduler only runs registered ops"), "{err}");
}

/// The handshake as an outsider writes it: MessagePack maps in length-prefixed frames (the
/// runtime's own message types are private, and this also pins their wire form).
#[derive(Clone, Debug, serde::Serialize)]
struct Hello {
    magic: String,
    protocol: u32,
    role: Role,
    fingerprint: String,
    token: String,
    name: String,
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
enum Role {
    Client,
    Peer,
}

#[derive(Debug, serde::Deserialize)]
enum HelloReply {
    #[allow(dead_code)] // read through Debug when a test fails
    Welcome {
        protocol: u32,
        id: u64,
    },
    Refused {
        reason: String,
    },
}

const MAGIC: &str = "rask";

fn raw_handshake(address: &str, hello: &Hello) -> HelloReply {
    let mut tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = rmp_serde::to_vec_named(hello).unwrap();
    tcp.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    tcp.write_all(&body).unwrap();
    let mut len = [0u8; 4];
    tcp.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; u32::from_be_bytes(len) as usize];
    tcp.read_exact(&mut reply).unwrap();
    rmp_serde::from_slice(&reply).unwrap()
}

#[test]
fn handshakes_without_the_token_or_with_another_registry_or_version_are_refused() {
    let c = cluster();
    let wrong_token = Client::connect(c.address(), Security::new(registry(), "not-the-token")).unwrap_err();
    assert!(wrong_token.to_string().contains("authentication failed"), "{wrong_token}");
    let no_token = Client::connect(c.address(), Security::new(registry(), "")).unwrap_err();
    assert!(no_token.to_string().contains("authentication failed"), "{no_token}");
    let other = Arc::new(Registry::core());
    let wrong_registry = Client::connect(c.address(), Security::new(other, c.token())).unwrap_err();
    assert!(wrong_registry.to_string().contains("registry fingerprint mismatch"), "{wrong_registry}");

    let hello = Hello {
        magic: MAGIC.into(),
        protocol: PROTOCOL_VERSION + 1,
        role: Role::Client,
        fingerprint: registry().fingerprint_hex(),
        token: c.token().into(),
        name: "test".into(),
    };
    match raw_handshake(c.address(), &hello) {
        HelloReply::Refused { reason } => assert!(reason.contains("protocol version mismatch"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let peer = Hello { protocol: PROTOCOL_VERSION, role: Role::Peer, ..hello };
    match raw_handshake(c.address(), &peer) {
        HelloReply::Refused { reason } => assert!(reason.contains("a peer cannot connect here"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The cluster is unaffected.
    assert_eq!(c.client().submit(Lin { k: 3 }, &[]).unwrap().get::<i64>().unwrap(), 3);
}

#[test]
fn malformed_and_oversized_frames_drop_only_their_connection() {
    let c = cluster();
    let frames: Vec<Vec<u8>> = vec![
        vec![0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1],      // a frame of invalid MessagePack
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],         // a 4 GiB length: over the handshake cap
        vec![0, 0, 0, 10, 1, 2],                       // truncated, then closed
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), // not a Rask peer at all
    ];
    for f in &frames {
        let mut tcp = TcpStream::connect(c.address()).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        tcp.write_all(f).unwrap();
        let _ = tcp.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        // The scheduler closes the connection (after a refusal at most): reading ends.
        let _ = tcp.read_to_end(&mut rest);
        assert!(rest.len() < 4096, "no large answer to garbage");
    }
    // A client that sends garbage after a valid handshake is dropped; others are not.
    let mut tcp = TcpStream::connect(c.address()).unwrap();
    let hello = Hello {
        magic: MAGIC.into(),
        protocol: PROTOCOL_VERSION,
        role: Role::Client,
        fingerprint: registry().fingerprint_hex(),
        token: c.token().into(),
        name: "fuzzer".into(),
    };
    let body = rmp_serde::to_vec_named(&hello).unwrap();
    tcp.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    tcp.write_all(&body).unwrap();
    tcp.write_all(&[0, 0, 0, 3, 0x93, 0xc1, 0x00]).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    assert_eq!(c.client().submit(Lin { k: 9 }, &[]).unwrap().get::<i64>().unwrap(), 9);
}

#[test]
fn killing_a_worker_mid_computation_gives_the_same_result() {
    let mut c = own_cluster(2).quiet(true).start().unwrap();
    let client = c.client();
    let (g, root) = slow_sum_graph(48, 40);
    let expected = 47 * 48 / 2;
    // A persisted result is lost with its worker too, and recomputed from its graph.
    let (g0, r0) = tree_sum_graph(64, 4);
    let kept = client.compute(&g0, &[r0.clone()]).unwrap();
    kept[0].wait().unwrap();
    let fut = client.compute(&g, &[root]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(fut[0].status(), FutureStatus::Pending, "the kill must happen mid-computation");
    c.kill_worker(0).unwrap();
    assert_eq!(fut[0].get::<i64>().unwrap(), expected);
    assert_eq!(kept[0].get::<i64>().unwrap(), 63 * 64 / 2);
    c.wait_for_status(|s| s.workers.len() == 1, Duration::from_secs(15)).unwrap();
    // A new worker joins and the cluster carries on.
    c.add_worker().unwrap();
    let (g2, r2) = tree_sum_graph(200, 8);
    assert_eq!(client.scheduler().get::<i64>(&g2, &r2).unwrap(), 199 * 200 / 2);
}

#[test]
fn a_poison_task_fails_after_the_limit_and_the_cluster_stays_usable() {
    let config = StateConfig { poison_limit: 2, ..StateConfig::default() };
    let c = own_cluster(3).state_config(config).quiet(true).start().unwrap();
    let client = c.client();
    let t0 = Instant::now();
    let poison = client.submit(Abort, &[]).unwrap();
    let err = poison.result().unwrap_err().to_string();
    assert!(err.contains("2 workers died while running this task"), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(30));
    let s = c.wait_for_status(|s| s.workers.len() == 1, Duration::from_secs(15)).unwrap();
    assert_eq!(s.workers.len(), 1, "two workers died, one is left");
    let (g, r) = tree_sum_graph(100, 4);
    assert_eq!(client.scheduler().get::<i64>(&g, &r).unwrap(), 4950);
}

#[test]
fn a_worker_joining_mid_computation_gets_work() {
    let mut c = own_cluster(1).heartbeats(Duration::from_millis(100), Duration::from_secs(10)).start().unwrap();
    let client = c.client();
    let (g, root) = slow_sum_graph(60, 30);
    let fut = client.compute(&g, &[root]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c.add_worker().unwrap();
    assert_eq!(fut[0].get::<i64>().unwrap(), 59 * 60 / 2);
    let s = c.wait_for_status(|s| s.workers.iter().all(|w| w.tasks_done > 0), Duration::from_secs(5)).unwrap();
    assert_eq!(s.workers.len(), 2);
}

#[test]
fn results_beyond_the_memory_limit_spill_to_disk_and_are_cleaned_up() {
    let limit = 4_000_000u64;
    let c = own_cluster(1)
        .memory_limit(limit)
        .heartbeats(Duration::from_millis(50), Duration::from_secs(10))
        .start()
        .unwrap();
    let client = c.client();
    // 30 results of 800 kB: 24 MB held on a worker with a 4 MB limit.
    let mut g = Graph::new();
    let blocks: Vec<Key> = (0..30).map(|i| g.task(Fill { n: 100_000, v: i as f64 }, &[]).unwrap()).collect();
    let futures = client.compute(&g, &blocks).unwrap();
    client.wait(&futures).unwrap();
    // The status lags the worker by a heartbeat or two: wait for the spilling to show in full.
    let s = c
        .wait_for_status(|s| s.workers.first().is_some_and(|w| w.spilled_bytes >= 20_000_000), Duration::from_secs(10))
        .unwrap();
    let w = &s.workers[0];
    assert!(w.memory_bytes <= limit, "held {} bytes in memory with a {limit}-byte limit", w.memory_bytes);
    assert!(w.spilled_bytes >= 20_000_000, "spilled only {} bytes", w.spilled_bytes);
    // Spilled results are read back for computing and for gathering.
    let total = client.submit(SumF64, &futures.iter().collect::<Vec<_>>()).unwrap();
    let expected: f64 = (0..30).map(|i| i as f64 * 100_000.0).sum();
    assert_eq!(total.get::<f64>().unwrap(), expected);
    let first = futures[3].get::<Vec<f64>>().unwrap();
    assert_eq!(first, vec![3.0; 100_000]);
    // Released results take their spill files with them; the cluster removes its spill root.
    let root = c.spill_root().to_path_buf();
    let files = || walk(&root).into_iter().filter(|p| p.extension().is_some_and(|e| e == "spill")).count();
    assert!(files() > 0);
    drop(futures);
    drop(total);
    let deadline = Instant::now() + Duration::from_secs(10);
    while files() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(files(), 0, "spill files of released results are deleted");
    drop(client);
    drop(c);
    assert!(!root.exists(), "the spill root is removed when the cluster stops");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn http_get(address: &str, path: &str) -> (String, String) {
    let mut tcp = TcpStream::connect(address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(tcp, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn the_status_endpoint_reports_task_counts_during_a_run() {
    let c = own_cluster(2).start().unwrap();
    // The status snapshot is refreshed 4 times a second: let it see both workers first.
    c.wait_for_status(|s| s.workers.len() == 2, Duration::from_secs(10)).unwrap();
    let status = c.status_address().unwrap().to_string();
    let client = c.client();
    let mut g = Graph::new();
    let keys: Vec<Key> = (0..12).map(|i| g.task(Slow { k: i, ms: 400 }, &[]).unwrap()).collect();
    let futures = client.compute(&g, &keys).unwrap();
    // The snapshot is refreshed 4 times a second and lags further on a loaded machine: wait for
    // one taken mid-run (the run lasts about 2.4 s) rather than sleeping a fixed time.
    let mid = c
        .wait_for_status(
            |s| s.tasks.total == 12 && s.tasks.processing >= 2 && s.tasks.memory < 12,
            Duration::from_secs(10),
        )
        .unwrap();
    let t = mid.tasks;
    assert_eq!(t.waiting + t.queued + t.processing + t.memory, 12, "{t:?}");
    // The same document over HTTP.
    let (head, body) = http_get(&status, "/status.json");
    assert!(head.contains("200 OK") && head.contains("application/json"), "{head}");
    let snap: rask_distributed::status::StatusSnapshot = serde_json::from_str(&body).unwrap();
    assert_eq!(snap.workers.len(), 2);
    let t = snap.tasks;
    assert_eq!(t.total, 12, "{t:?}");
    assert_eq!(t.waiting + t.queued + t.processing + t.memory, 12, "{t:?}");
    client.wait(&futures).unwrap();
    let s = c.wait_for_status(|s| s.tasks.memory == 12, Duration::from_secs(5)).unwrap();
    assert_eq!(s.progress.finished, 12);
    let (_, body) = http_get(&status, "/status.json");
    let snap: rask_distributed::status::StatusSnapshot = serde_json::from_str(&body).unwrap();
    assert_eq!((snap.tasks.memory, snap.tasks.processing, snap.tasks.total), (12, 0, 12));
    let (head, body) = http_get(&status, "/");
    assert!(head.contains("text/html") && body.contains("status.json"), "{head}");
}

fn tls_material() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["rask".to_string()]).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem().into_bytes(), key.serialize_pem().into_bytes(), ca.pem().into_bytes())
}

#[test]
fn tls_between_scheduler_workers_and_client() {
    let (cert, key, ca) = tls_material();
    let tls = TlsConfig::from_pem(&cert, &key, &ca, "rask").unwrap();
    let security = Security::new(registry(), "tls-token").with_tls(tls);
    let (scheduler, address, workers) = scheduler_with_workers(&security, 2);
    let client = Client::connect(&address, security.clone()).unwrap();
    client.wait_for_workers(2, Duration::from_secs(20)).unwrap();
    let (g, r) = tree_sum_graph(300, 4);
    assert_eq!(client.scheduler().get::<i64>(&g, &r).unwrap(), 299 * 300 / 2);
    // Plain TCP cannot talk to a TLS scheduler.
    let plain = Security::new(registry(), "tls-token");
    assert!(Client::connect(&address, plain).is_err());
    drop(client);
    scheduler.stop();
    for w in workers {
        w.join().unwrap().unwrap();
    }
}

/// A worker busy with one task hints the next in line to prefetch (so an op reading a file
/// overlaps its read with the running task), before it runs, as the local executors do. The
/// worker runs in this process, so the op's log is shared.
#[test]
fn a_busy_worker_hints_its_next_task_to_prefetch_before_running_it() {
    let security = Security::new(registry(), "prefetch-token");
    let mut opts = SchedulerOptions::new(security.clone());
    opts.listen = "127.0.0.1:0".into();
    opts.status = None;
    let scheduler = SchedulerHandle::start(opts).unwrap();
    let address = scheduler.address().to_string();
    let mut w = WorkerOptions::new(address.clone(), security.clone());
    w.nthreads = 1;
    let worker = std::thread::spawn(move || run_worker(w));
    let client = Client::connect(&address, security).unwrap();
    client.wait_for_workers(1, Duration::from_secs(20)).unwrap();
    let ids: Vec<u64> = (1000..1006).collect();
    let mut g = Graph::new();
    let keys: Vec<Key> = ids.iter().map(|&id| g.task(Prefetched { id, ms: 20 }, &[]).unwrap()).collect();
    let values = client.scheduler().compute(&g, &keys).unwrap();
    assert_eq!(values.iter().map(|v| *v.get::<i64>().unwrap() as u64).collect::<Vec<_>>(), ids);
    let log: Vec<(&str, u64)> =
        PREFETCH_LOG.lock().unwrap().iter().filter(|(_, id)| ids.contains(id)).copied().collect();
    let mut hinted = 0;
    for &id in &ids {
        let hint = log.iter().position(|&e| e == ("prefetch", id));
        let run = log.iter().position(|&e| e == ("run", id));
        assert!(run.is_some(), "{id} ran: {log:?}");
        assert!(hint < run, "{id} was hinted after it started: {log:?}");
        hinted += usize::from(hint.is_some());
    }
    assert!(hinted >= 3, "the tasks after the first are hinted while it runs: {log:?}");
    drop(client);
    scheduler.stop();
    worker.join().unwrap().unwrap();
}

#[test]
fn options_a_scheduler_or_worker_cannot_run_with_are_refused_by_the_library() {
    let mut opts = SchedulerOptions::new(Security::new(registry(), "t"));
    opts.listen = "127.0.0.1:0".into();
    opts.status = None;
    opts.state.poison_limit = 0;
    let err = SchedulerHandle::start(opts.clone()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("poison_limit must be at least 1"), "{err}");
    let err = rask_distributed::run_scheduler(opts.clone()).unwrap_err();
    assert!(err.to_string().contains("poison_limit must be at least 1"), "{err}");
    opts.state.poison_limit = 3;
    opts.heartbeat_timeout = Duration::ZERO;
    let err = SchedulerHandle::start(opts).unwrap_err();
    assert!(err.to_string().contains("heartbeat_timeout must be a positive duration"), "{err}");

    let mut w = WorkerOptions::new("127.0.0.1:1", Security::new(registry(), "t"));
    w.nthreads = 0;
    let err = run_worker(w).unwrap_err();
    assert!(err.to_string().contains("nthreads must be at least 1"), "{err}");
}

/// A PID that belonged to a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// A directory as a process killed with SIGKILL leaves it: a spill file and the owner file.
fn left_behind(root: &std::path::Path, name: &str, owner: u32) -> std::path::PathBuf {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("0000000000000001.spill"), vec![1u8; 4096]).unwrap();
    std::fs::write(d.join("owner.pid"), format!("{owner}\n")).unwrap();
    d
}

#[test]
fn a_starting_worker_removes_spill_directories_of_dead_workers_only() {
    let root = std::env::temp_dir().join(format!("rask-test-worker-sweep-{}", std::process::id()));
    let dead = left_behind(&root, "rask-spill-killed", dead_pid());
    let live = left_behind(&root, "rask-spill-running", std::process::id());
    let mut w = WorkerOptions::new("127.0.0.1:1", Security::new(registry(), "t"));
    w.nthreads = 1;
    w.spill_dir = root.clone();
    w.connect_timeout = Duration::from_millis(200);
    // No scheduler there: the worker gives up, but only after its start-up sweep.
    assert!(run_worker(w).is_err());
    assert!(!dead.exists(), "the dead worker's spill directory is removed");
    assert!(live.exists(), "a live process's spill directory is kept");
    std::fs::remove_dir_all(&root).unwrap();
}

#[cfg(unix)]
#[test]
fn a_starting_local_cluster_removes_directories_of_killed_clusters_and_uses_a_private_root() {
    use std::os::unix::fs::PermissionsExt;
    let root = rask_distributed::default_spill_root();
    let tag = format!("test{}", std::process::id());
    let dead = left_behind(&root, &format!("rask-cluster-{tag}-killed"), dead_pid());
    left_behind(&dead, "rask-spill-of-a-killed-worker", dead_pid());
    let live = left_behind(&root, &format!("rask-cluster-{tag}-running"), std::process::id());
    let c = own_cluster(1).start().unwrap();
    assert!(!dead.exists(), "a killed cluster's directory is removed");
    assert!(live.exists(), "a live process's cluster directory is kept");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert!(c.spill_root().starts_with(&root), "{}", c.spill_root().display());
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(c.spill_root()), 0o700);
    drop(c);
    std::fs::remove_dir_all(&live).unwrap();
}

/// A scheduler (no workers) serving its status page on `status`, with short status timeouts.
fn scheduler_with_status(status: &str, token: &str) -> SchedulerHandle {
    let mut opts = SchedulerOptions::new(Security::new(registry(), token));
    opts.listen = "127.0.0.1:0".into();
    opts.status = Some(status.into());
    opts.status_limits.idle_timeout = Duration::from_secs(1);
    opts.status_limits.header_read_timeout = Duration::from_secs(1);
    SchedulerHandle::start(opts).unwrap()
}

#[test]
fn idle_connections_to_the_status_port_cannot_starve_workers_or_the_page() {
    let scheduler = scheduler_with_status("127.0.0.1:0", "t");
    let status = scheduler.status_address().unwrap().to_string();
    let security = Security::new(registry(), "t");
    // 300 connections that never send a byte: the status server holds at most its cap.
    let idle: Vec<TcpStream> = (0..300).map(|_| TcpStream::connect(&status).unwrap()).collect();
    let mut w = WorkerOptions::new(scheduler.address(), security.clone());
    w.nthreads = 1;
    let worker = std::thread::spawn(move || run_worker(w));
    let client = Client::connect(scheduler.address(), security).unwrap();
    client.wait_for_workers(1, Duration::from_secs(20)).unwrap();
    // The idle connections are closed by the server (refused over the cap, or idle), after
    // which the page answers again.
    for mut c in idle {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut rest = Vec::new();
        assert!(c.read_to_end(&mut rest).is_ok(), "an idle status connection was not closed");
    }
    let (head, body) = http_get(&status, "/status.json");
    assert!(head.contains("200 OK"), "{head}");
    let snap: rask_distributed::status::StatusSnapshot = serde_json::from_str(&body).unwrap();
    assert_eq!(snap.protocol, PROTOCOL_VERSION);
    drop(client);
    scheduler.stop();
    worker.join().unwrap().unwrap();
}

#[test]
fn a_status_page_beyond_loopback_needs_the_token() {
    let scheduler = scheduler_with_status("0.0.0.0:0", "status-token");
    let port = scheduler.status_address().unwrap().rsplit(':').next().unwrap().to_string();
    let status = format!("127.0.0.1:{port}");
    for path in ["/status.json", "/"] {
        let (head, body) = http_get(&status, path);
        assert!(head.starts_with("HTTP/1.1 401"), "{path}: {head}");
        assert!(body.contains("?token=") && body.contains("Authorization: Bearer"), "{body}");
        let (head, _) = http_get(&status, &format!("{path}?token=status-token"));
        assert!(head.starts_with("HTTP/1.1 200"), "{path}: {head}");
    }
    let mut tcp = TcpStream::connect(&status).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "GET /status.json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer status-token\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    scheduler.stop();
}

#[test]
fn a_frame_over_the_schedulers_max_frame_is_answered_with_the_reason_not_a_reset() {
    let mut opts = SchedulerOptions::new(Security::new(registry(), "t").with_max_frame(64 * 1024));
    opts.listen = "127.0.0.1:0".into();
    opts.status = None;
    let scheduler = SchedulerHandle::start(opts).unwrap();
    let address = scheduler.address().to_string();
    // On the wire: after the handshake, a frame announcing 1 MiB.
    let mut tcp = TcpStream::connect(&address).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let hello = Hello {
        magic: MAGIC.into(),
        protocol: PROTOCOL_VERSION,
        role: Role::Client,
        fingerprint: registry().fingerprint_hex(),
        token: "t".into(),
        name: "big-sender".into(),
    };
    let body = rmp_serde::to_vec_named(&hello).unwrap();
    tcp.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    tcp.write_all(&body).unwrap();
    tcp.write_all(&(1u32 << 20).to_be_bytes()).unwrap();
    tcp.write_all(&[0x90; 4096]).unwrap();
    let mut answer = Vec::new();
    let read = tcp.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let reason = "a frame of 1048576 bytes is over the limit of 65536 bytes (--max-frame)";
    assert!(text.contains(reason), "read {read:?}, got {text:?}");
    // The library's client, allowed larger frames itself, fails with the scheduler's reason.
    let client = Client::connect(&address, Security::new(registry(), "t")).unwrap();
    let (g, r) = tree_sum_graph(20_000, 4);
    let err = client.scheduler().get::<i64>(&g, &r).unwrap_err();
    assert!(err.to_string().contains("over the limit of 65536 bytes (--max-frame)"), "{err}");
    drop(client);
    scheduler.stop();
}

#[test]
fn work_submitted_without_workers_is_warned_about_and_fails_after_the_no_workers_timeout() {
    let c = own_cluster(0).no_workers_timeout(Duration::from_secs(7)).quiet(true).start().unwrap();
    let client = c.client();
    let t0 = Instant::now();
    let fut = client.submit(Lin { k: 3 }, &[]).unwrap();
    let err = fut.result().unwrap_err().to_string();
    let waited = t0.elapsed();
    assert!(err.contains("no workers") && err.contains("no-workers timeout is 7.0 s"), "{err}");
    assert!(waited >= Duration::from_secs(6) && waited < Duration::from_secs(30), "failed after {waited:?}");
    let warnings = client.warnings();
    assert!(
        warnings.iter().any(|w| w.contains("no worker connected") && w.contains("they fail after 7 s")),
        "the client was warned before the failure: {warnings:?}"
    );
    // A worker joining later gets new work as usual.
    let mut c = c;
    c.add_worker().unwrap();
    assert_eq!(client.submit(Lin { k: 4 }, &[]).unwrap().get::<i64>().unwrap(), 4);
}

#[test]
fn work_on_a_spawned_thread_reaches_the_cluster_its_data_lives_on_and_a_named_local_scheduler_says_why_not() {
    let c = cluster();
    let dist = c.client().scheduler();
    let (g, root) = tree_sum_graph(40, 4);
    // Persisted on the cluster: the graph now holds a future on the result.
    let persisted = dist.persist(&g, std::slice::from_ref(&root)).unwrap();
    let mut g2 = persisted.clone();
    let plus = g2.task(Lin { k: 1 }, std::slice::from_ref(&root)).unwrap();
    // A thread the user spawns inside `with_scheduler` starts without it: the graph goes to
    // the cluster its data lives on instead of failing on the local threaded scheduler.
    let on_thread = rask_core::with_scheduler(&dist, || {
        let (g2, plus) = (g2.clone(), plus.clone());
        std::thread::spawn(move || rask_core::default_scheduler().get::<i64>(&g2, &plus)).join().unwrap()
    });
    assert_eq!(on_thread.unwrap(), 39 * 40 / 2 + 1);
    // A local scheduler named explicitly refuses it, saying what happened and what to do.
    let err = rask_core::Scheduler::threaded().get::<i64>(&g2, &plus).unwrap_err().to_string();
    assert!(
        err.contains("is a future on the cluster at")
            && err.contains("applies to the calling thread only")
            && err.contains("set_default_scheduler"),
        "{err}"
    );
}
