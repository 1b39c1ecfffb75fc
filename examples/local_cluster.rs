//! Running on a local cluster: a scheduler in this process and two worker *processes* on
//! 127.0.0.1. A task graph, futures, data persisted on the workers and an estimator fit run on
//! the cluster and give exactly what the threaded scheduler gives. Twin of
//! `notebooks/06-local-cluster.ipynb`.
//!
//! `cargo run --release --example local_cluster`
//!
//! Where the workers come from: `local_cluster(n).start()` starts `n` copies of the *current
//! executable* (here `target/release/examples/local_cluster`) with `RASK_WORKER_SCHEDULER` set.
//! The first line of `main`, `run_worker_if_requested()`, sees that variable and turns the copy
//! into a worker (it never returns then); in the parent process it returns at once. Code never
//! travels: workers rebuild ops by name from their registry, which must be the client's (the
//! handshake compares fingerprints). A program that cannot call it first (a notebook kernel, a
//! test) names another binary with the same ops: `.program("target/release/rask", vec![])`.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use rask::datasets::{make_classification, ClassificationParams};
use rask::demo::{BlockMoments, MergeMoments, Moments, UniformBlock};
use rask::estimators::linear_model::{LogisticRegression, LogisticRegressionParams};
use rask::ml::{Fit, Score};
use rask::{Graph, Key, Scheduler};

fn main() -> anyhow::Result<()> {
    rask::distributed::run_worker_if_requested(); // first line: lets this binary act as a worker

    // 1. Start two single-threaded workers; `quiet` hides their stderr.
    let started = Instant::now();
    let cluster = rask::distributed::local_cluster(2).quiet(true).start()?;
    let client = cluster.client();
    let on_cluster = client.scheduler(); // a Scheduler like any other
    let threaded = Scheduler::threaded();
    println!(
        "scheduler at {}, {} workers, started in {:.2?}",
        cluster.address(),
        client.workers()?.len(),
        started.elapsed()
    );
    assert_eq!(client.workers()?.len(), 2);
    let page = cluster.status_address().map(str::to_owned);
    if let Some(addr) = &page {
        println!("status page: http://{addr}/ (JSON at http://{addr}/status.json)");
    }

    // 2. A task graph: the moments of 32 blocks of random numbers, reduced in a tree.
    let mut g = Graph::new();
    let parts: Vec<Key> = (0..32)
        .map(|b| {
            let data = g.task_block(UniformBlock { seed: 7, block: b, len: 50_000 }, &[], b)?;
            g.task_block(BlockMoments, &[data], b)
        })
        .collect::<Result<_, _>>()?;
    let root = g.tree_reduce(&parts, 4, |g, _, group| g.task(MergeMoments, group))?;
    let here: Moments = threaded.get(&g, &root)?;
    let there: Moments = on_cluster.get(&g, &root)?;
    println!("moments of {} numbers: mean {:.5}, variance {:.5}", there.n, there.mean, there.variance());
    assert_eq!(here, there, "the cluster computes what the threaded scheduler computes, bit for bit");

    // 3. Futures: submit the graph and get a handle at once; build on it with more ops.
    let future = client.compute(&g, &[root.clone()])?.remove(0);
    let doubled = client.submit(MergeMoments, &[&future, &future])?; // runs where the data is
    assert_eq!(future.get::<Moments>()?, here);
    assert_eq!(doubled.get::<Moments>()?.n, 2 * here.n);
    println!("futures: {} finished, merged with itself → n = {}", future.key(), doubled.get::<Moments>()?.n);

    // 4. Estimators run unchanged: persist the data on the workers, then fit there.
    let params = ClassificationParams::new()
        .n_samples(40_000)
        .n_features(10)
        .n_informative(4)
        .n_classes(3)
        .chunk_rows(5_000)
        .seed(5);
    let fit_on = |s: &Scheduler| -> anyhow::Result<(LogisticRegression, f64)> {
        let data = make_classification(&params)?.persist_on(s)?; // blocks stay where they were made
        let model = rask::with_scheduler(s, || LogisticRegressionParams::new().fit(&data))?;
        let accuracy = rask::with_scheduler(s, || model.score(&data))?;
        Ok((model, accuracy))
    };
    let (local_model, local_acc) = fit_on(&threaded)?;
    let (cluster_model, cluster_acc) = fit_on(&on_cluster)?;
    println!(
        "logistic regression on the cluster: {} iterations, training accuracy {cluster_acc:.4}",
        cluster_model.n_iter
    );
    assert_eq!(cluster_model, local_model, "the same model, bit for bit");
    assert_eq!(cluster_acc, local_acc);

    // 5. What the scheduler saw (the status page serves the same numbers). Its snapshot is
    //    refreshed every 250 ms, so wait for one taken after the work.
    let status = cluster.wait_for_status(
        |s| s.workers.len() == 2 && s.workers.iter().all(|w| w.tasks_done > 0),
        Duration::from_secs(10),
    )?;
    for w in &status.workers {
        println!("worker {} at {}: {} tasks done", w.id, w.address, w.tasks_done);
    }
    println!("tasks finished on the cluster: {}", status.progress.finished);
    assert!(status.progress.finished > 0);
    if let Some(addr) = &page {
        let json = http_get(addr, "/status.json")?;
        assert!(json.starts_with("HTTP/1.1 200") && json.contains("\"workers\""), "the status page answers");
    }

    // 6. Shut down: dropping the cluster closes the workers and removes their spill files.
    let pids = cluster.worker_pids();
    drop((future, doubled, client, on_cluster));
    drop(cluster);
    if cfg!(target_os = "linux") {
        assert!(pids.iter().all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()), "workers exited");
    }
    println!("cluster closed; workers {pids:?} exited");
    Ok(())
}

/// A plain HTTP/1.1 GET (enough for the status page, without an HTTP client crate).
fn http_get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}
