//! Ops, registry and helpers shared by the core integration tests.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use rask_core::ops::expect_inputs;
use rask_core::{Codec, Graph, Key, Op, OpEntry, OpError, Registry, Scheduler, Value};
use serde::{Deserialize, Serialize};

/// `k + Σ inputs` over `i64` with wrapping arithmetic, so results are exact on every scheduler.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Lin {
    pub k: i64,
}

impl Op for Lin {
    const NAME: &'static str = "test.lin";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut acc = self.k;
        for v in inputs {
            acc = acc.wrapping_add(*v.get::<i64>()?);
        }
        Ok(Value::new(acc))
    }
}

/// Fails with a message.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Fail {
    pub message: String,
}

impl Op for Fail {
    const NAME: &'static str = "test.fail";
    fn run(&self, _: &[Value]) -> Result<Value, OpError> {
        Err(OpError::new(self.message.clone()))
    }
}

/// Panics with a message.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Panic {
    pub message: String,
}

impl Op for Panic {
    const NAME: &'static str = "test.panic";
    fn run(&self, _: &[Value]) -> Result<Value, OpError> {
        panic!("{}", self.message)
    }
}

/// A value type deliberately left without a codec.
#[derive(Clone, Debug, PartialEq)]
pub struct Opaque(pub i64);

/// Produces an [`Opaque`].
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct MakeOpaque;

impl Op for MakeOpaque {
    const NAME: &'static str = "test.make_opaque";
    fn run(&self, _: &[Value]) -> Result<Value, OpError> {
        Ok(Value::new(Opaque(7)))
    }
}

/// Sums a `Vec<i64>` input.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SumVec;

impl Op for SumVec {
    const NAME: &'static str = "test.sum_vec";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        expect_inputs(inputs, 1, Self::NAME)?;
        Ok(Value::new(inputs[0].get::<Vec<i64>>()?.iter().sum::<i64>()))
    }
}

/// `k + Σ inputs` after sleeping `ms` milliseconds: work that takes time.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Slow {
    pub k: i64,
    pub ms: u64,
}

impl Op for Slow {
    const NAME: &'static str = "test.slow";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        std::thread::sleep(std::time::Duration::from_millis(self.ms));
        Lin { k: self.k }.run(inputs)
    }
}

/// Kills the process that runs it: a poison task.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Abort;

impl Op for Abort {
    const NAME: &'static str = "test.abort";
    fn run(&self, _: &[Value]) -> Result<Value, OpError> {
        std::process::abort()
    }
}

/// A `Vec<f64>` of `n` copies of `v` (plus the first input's length, if any): a sizeable result.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Fill {
    pub n: usize,
    pub v: f64,
}

impl Op for Fill {
    const NAME: &'static str = "test.fill";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let extra = match inputs.first() {
            Some(x) => x.get::<Vec<f64>>()?.len() as f64,
            None => 0.0,
        };
        Ok(Value::new(vec![self.v + extra; self.n]))
    }
}

/// Sums `Vec<f64>` inputs.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SumF64;

impl Op for SumF64 {
    const NAME: &'static str = "test.sum_f64";
    fn run(&self, inputs: &[Value]) -> Result<Value, OpError> {
        let mut acc = 0.0;
        for v in inputs {
            acc += v.get::<Vec<f64>>()?.iter().sum::<f64>();
        }
        Ok(Value::new(acc))
    }
}

/// Logs its prefetch hints and runs (in this process), to check when executors give the hint;
/// sleeps `ms` milliseconds when it runs.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Prefetched {
    pub id: u64,
    pub ms: u64,
}

pub static PREFETCH_LOG: std::sync::Mutex<Vec<(&'static str, u64)>> = std::sync::Mutex::new(Vec::new());

impl Op for Prefetched {
    const NAME: &'static str = "test.prefetched";
    fn run(&self, _: &[Value]) -> Result<Value, OpError> {
        PREFETCH_LOG.lock().unwrap().push(("run", self.id));
        std::thread::sleep(std::time::Duration::from_millis(self.ms));
        Ok(Value::new(self.id as i64))
    }
    fn prefetch(&self) {
        PREFETCH_LOG.lock().unwrap().push(("prefetch", self.id));
    }
}

pub const TEST_OPS: &[OpEntry] = &[
    OpEntry::of::<Lin>(),
    OpEntry::of::<Fail>(),
    OpEntry::of::<Panic>(),
    OpEntry::of::<MakeOpaque>(),
    OpEntry::of::<SumVec>(),
    OpEntry::of::<Slow>(),
    OpEntry::of::<Abort>(),
    OpEntry::of::<Fill>(),
    OpEntry::of::<SumF64>(),
    OpEntry::of::<Prefetched>(),
];

pub fn registry() -> Arc<Registry> {
    static REG: OnceLock<Arc<Registry>> = OnceLock::new();
    REG.get_or_init(|| {
        Arc::new(Registry::builder().ops(rask_core::OPS).ops(TEST_OPS).codecs(rask_core::CODECS).build().unwrap())
    })
    .clone()
}

/// The test worker program: rask-core's example `rask-test-worker`, built from
/// `tests/support/worker.rs` with this registry. `cargo test` builds examples into the profile
/// directory's `examples/`, beside the `deps/` directory that holds this test binary.
pub fn worker_program() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary knows its path");
        let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("test binaries live in <profile>/deps");
        let worker = profile_dir.join("examples").join(format!("rask-test-worker{}", std::env::consts::EXE_SUFFIX));
        assert!(
            worker.is_file(),
            "the test worker {} is missing: `cargo test` builds it, a run limited to one target \
             (`--test NAME`) does not; build it with `cargo build -p rask-core --example rask-test-worker` \
             (with the same profile flags)",
            worker.display()
        );
        worker.display().to_string()
    })
}

/// A cluster of this test binary's own: a scheduler in the process and two worker processes
/// of the test worker program, started on first use and shared by the binary's tests.
pub fn cluster() -> &'static rask_distributed::LocalCluster {
    static CLUSTER: OnceLock<rask_distributed::LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        rask_distributed::LocalCluster::builder(registry())
            .workers(2)
            .program(worker_program(), Vec::new())
            .start()
            .expect("the shared test cluster starts")
    })
}

/// A scheduler that runs graphs on the shared test cluster.
pub fn distributed() -> Scheduler {
    cluster().client().scheduler()
}

/// Every local scheduler, by name.
pub fn all_schedulers() -> Vec<(&'static str, Scheduler)> {
    vec![
        ("sync", Scheduler::sync()),
        ("threaded", Scheduler::threaded()),
        ("threaded-1", Scheduler::threaded_with(1).unwrap()),
        ("threaded-3", Scheduler::threaded_with(3).unwrap()),
        ("checked", Scheduler::checked(registry())),
        ("distributed", distributed()),
    ]
}

/// Runs a test case on every scheduler: one `#[test]` per scheduler, so a failure names it.
#[macro_export]
macro_rules! on_every_scheduler {
    ($(fn $name:ident($s:ident: &Scheduler) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                fn case($s: &rask_core::Scheduler) $body
                #[test]
                fn sync() {
                    case(&rask_core::Scheduler::sync())
                }
                #[test]
                fn threaded() {
                    case(&rask_core::Scheduler::threaded())
                }
                #[test]
                fn threaded_one_thread() {
                    case(&rask_core::Scheduler::threaded_with(1).unwrap())
                }
                #[test]
                fn threaded_three_threads() {
                    case(&rask_core::Scheduler::threaded_with(3).unwrap())
                }
                #[test]
                fn checked() {
                    case(&rask_core::Scheduler::checked($crate::common::registry()))
                }
                #[test]
                fn distributed() {
                    case(&$crate::common::distributed())
                }
            }
        )*
    };
}

pub fn lin(g: &mut Graph, k: i64, inputs: &[Key]) -> Key {
    g.task(Lin { k }, inputs).unwrap()
}

pub fn get_i64(s: &Scheduler, g: &Graph, key: &Key) -> i64 {
    s.get::<i64>(g, key).unwrap()
}

/// Counts calls, for tests that check what ran.
#[derive(Clone, Default)]
pub struct Counter(pub Arc<AtomicUsize>);

impl Counter {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Tree-sums leaves `0..n` with registered ops.
pub fn tree_sum_graph(n: i64, split_every: usize) -> (Graph, Key) {
    let mut g = Graph::new();
    let leaves: Vec<Key> = (0..n).map(|i| lin(&mut g, i, &[])).collect();
    let root = g.tree_reduce(&leaves, split_every, |g, _, group| g.task(Lin { k: 0 }, group)).unwrap();
    (g, root)
}

pub fn codec_free_registry() -> Registry {
    Registry::builder().ops(TEST_OPS).codecs(&[Codec::serde::<i64>("i64")]).build().unwrap()
}
