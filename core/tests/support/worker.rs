//! The worker program of the core's distributed tests: the test registry (core's codecs and the
//! test ops of `tests/common`) in worker mode. `LocalCluster` starts it with the scheduler's
//! address in its environment; run by hand, it only explains itself.

#[path = "../common/mod.rs"]
#[allow(unused_macros, unused_imports)]
mod common;

fn main() {
    rask_distributed::maybe_run_worker(common::registry);
    eprintln!(
        "rask-test-worker: a worker for rask-core's tests; it runs when started by a LocalCluster ({} set)",
        rask_distributed::WORKER_ENV
    );
    std::process::exit(2);
}
