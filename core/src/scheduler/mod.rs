//! Schedulers: turn a graph and the keys you want into values.
//!
//! Every scheduler compiles the graph into a [`Plan`] the same way (cull, fuse, index, order)
//! and drives the same [`SchedulerState`] machine; they differ only in where tasks run.
//!
//! | scheduler | runs tasks | for |
//! |---|---|---|
//! | [`Scheduler::threaded`] (default) | on a rayon pool | everyday use |
//! | [`Scheduler::sync`] | on the calling thread, one at a time | debugging, profiling |
//! | [`Scheduler::checked`] | like `sync`, but every op and value crosses its codec | proving a graph can run distributed |
//!
//! The default scheduler is process-wide ([`set_default_scheduler`]) and can be overridden for
//! the current thread and a closure ([`with_scheduler`]), or per call ([`Scheduler::compute`]).

mod diagnostics;
mod exec;
mod plan;
mod state;
mod sync;
mod threaded;

use std::any::TypeId;
use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

pub use diagnostics::{Callback, Progress, TaskTimings};
pub use plan::{Plan, PlanNode, PlanStats};
pub use state::{SchedulerState, TaskState};
pub use sync::SyncExecutor;
pub use threaded::ThreadedExecutor;

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::key::Key;
use crate::registry::Registry;
use crate::value::Value;

/// What an executor hands back for one plan (see the [`Executor`] contract).
#[derive(Debug)]
pub struct Executed {
    /// One value per requested key, in request order.
    pub outputs: Vec<Value>,
    /// Nodes that ran (a remote executor: nodes it submitted).
    pub tasks_run: usize,
    /// The most results held in this process's memory at once.
    pub peak_held: usize,
}

/// Where tasks run. Implemented by the built-in executors and the distributed client
/// (`rask_distributed::Client`).
///
/// # The contract
///
/// Every executor, including a third party's:
/// - returns exactly one value per requested output, in request order (repeats allowed);
///   [`Scheduler`] checks the count and refuses an executor that breaks it with an error;
/// - runs every node of the plan at most once per call, and returns the first error when a task
///   fails;
/// - reports to the callbacks it is given: `on_task_finish` for every requested output, once,
///   as it finishes. ([`Scheduler`] itself calls `on_compute_start` and `on_compute_end`.)
///
/// What may differ, and where:
/// - Local executors ([`SyncExecutor`], [`ThreadedExecutor`]) call `on_task_start` and
///   `on_task_finish` for *every* node they run, in the calling process, and fill
///   [`Executed::tasks_run`] and [`Executed::peak_held`] exactly.
/// - A remote executor runs tasks in other processes. The distributed client reports the finish
///   of every task the cluster runs for the plan, with its worker's run time (task events from
///   the scheduler; results it already held are reported at once, tasks it never needed are
///   not), but no `on_task_start`; it counts as `tasks_run` the nodes it submitted, and reports
///   `peak_held` 0: the client process holds no intermediate results.
pub trait Executor: Send + Sync + fmt::Debug {
    /// A short name for logs and errors.
    fn name(&self) -> String;
    /// Runs every node of `plan` and returns the requested outputs.
    fn execute(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed>;

    /// Runs `plan` and returns values that keep its outputs available to later graphs.
    /// Local executors return the values themselves (the default); a distributed client
    /// returns futures on results that stay on its workers.
    fn persist(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        self.execute(plan, callbacks)
    }

    /// Whether the executor reads [`Remote`] values in data nodes itself (the distributed
    /// client does: its futures name results on its workers). For the others (the default,
    /// `false`), [`Scheduler`] finds remote values before running: it sends the graph to their
    /// home scheduler when it was chosen implicitly, and refuses it with an error that says
    /// what happened otherwise.
    fn reads_remote(&self) -> bool {
        false
    }
}

/// A value that stands for a result held elsewhere, such as a distributed client's future on
/// a result that lives on its workers. Local executors cannot read one, so a graph holding one
/// runs on its [`home`](Remote::home): when the scheduler was not chosen (no [`with_scheduler`]
/// on this thread and no [`set_default_scheduler`]), [`Scheduler`] sends the graph there,
/// which is how work started on a thread the user spawned reaches the cluster its data lives
/// on; a local scheduler chosen explicitly refuses it with an error saying why and what to do.
/// Register a type with [`register_remote`].
pub trait Remote: Send + Sync + 'static {
    /// The scheduler that can read it (the client that owns the future).
    fn home(&self) -> Scheduler;
    /// What it is, for error messages, e.g. "a future on the cluster at 127.0.0.1:8786".
    fn describe(&self) -> String;
}

type AsRemote = fn(&Value) -> Option<&dyn Remote>;

static REMOTE_TYPES: RwLock<Vec<(TypeId, AsRemote)>> = RwLock::new(Vec::new());
/// Set once a remote type is registered: until then no plan is scanned.
static ANY_REMOTE: AtomicBool = AtomicBool::new(false);

/// Makes values of type `T` known as [`Remote`] (idempotent). The distributed client registers
/// its `Future` when it connects.
pub fn register_remote<T: Remote>() {
    fn as_remote<T: Remote>(v: &Value) -> Option<&dyn Remote> {
        v.downcast_ref::<T>().map(|r| r as &dyn Remote)
    }
    let mut types = REMOTE_TYPES.write().unwrap_or_else(|e| e.into_inner());
    if !types.iter().any(|(id, _)| *id == TypeId::of::<T>()) {
        types.push((TypeId::of::<T>(), as_remote::<T>));
    }
    ANY_REMOTE.store(true, Ordering::Release);
}

/// The first data node of `plan` that holds a [`Remote`] value: its index and the value.
fn first_remote<'a>(plan: &'a Plan<'_>) -> Option<(usize, &'a dyn Remote)> {
    if !ANY_REMOTE.load(Ordering::Acquire) {
        return None;
    }
    let types = REMOTE_TYPES.read().unwrap_or_else(|e| e.into_inner());
    (0..plan.len()).find_map(|i| match plan.node(i) {
        PlanNode::Data(v) => {
            let id = v.type_id();
            types.iter().find(|(t, _)| *t == id).and_then(|(_, as_remote)| as_remote(v)).map(|r| (i, r))
        }
        _ => None,
    })
}

/// Places a value ahead of the graphs that use it, so that they reference it by key instead of
/// carrying it: a distributed client stores it once on every worker. Implemented by
/// `rask_distributed::Client`; crates below the runtime (`rask-ml`'s `ParallelPostFit`) take a
/// `&dyn Broadcast` and need not depend on it.
pub trait Broadcast {
    /// Stores `value` everywhere it will be needed. Returns the key graphs should reference it
    /// by, and the value of that key's data node (a future on the value).
    fn broadcast_value(&self, value: Value) -> Result<(Key, Value)>;
}

/// Per-call options.
#[derive(Clone)]
pub struct ComputeOptions {
    /// Fuse linear chains before running (default: on).
    pub optimize: bool,
    /// Callbacks observing the run.
    pub callbacks: Vec<Arc<dyn Callback>>,
}

impl Default for ComputeOptions {
    fn default() -> Self {
        ComputeOptions { optimize: true, callbacks: Vec::new() }
    }
}

impl fmt::Debug for ComputeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputeOptions")
            .field("optimize", &self.optimize)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl ComputeOptions {
    /// Default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns linear fusion on or off.
    pub fn optimize(mut self, on: bool) -> Self {
        self.optimize = on;
        self
    }

    /// Adds a callback.
    pub fn callback(mut self, cb: Arc<dyn Callback>) -> Self {
        self.callbacks.push(cb);
        self
    }

    /// Adds a terminal progress bar with this label.
    pub fn progress(self, label: impl Into<String>) -> Self {
        self.callback(Arc::new(Progress::new(label)))
    }
}

/// Statistics of one computation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComputeStats {
    /// Graph sizes before and after optimisation.
    pub plan: PlanStats,
    /// Plan nodes that ran (tasks, fused chains, data and alias nodes).
    pub tasks_run: usize,
    /// The most results held in memory at once (intermediate results, outputs and data nodes).
    pub peak_held: usize,
}

/// The result of [`Scheduler::compute_with`].
#[derive(Debug)]
pub struct Computed {
    /// One value per requested key, in request order.
    pub values: Vec<Value>,
    /// What it took.
    pub stats: ComputeStats,
}

/// A handle on an executor, with callbacks that see every computation it runs. Cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    executor: Arc<dyn Executor>,
    callbacks: Arc<[Arc<dyn Callback>]>,
    /// The fallback of [`default_scheduler`], which nobody chose: a graph holding [`Remote`]
    /// values goes to their home instead.
    implicit: bool,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler").field("executor", &self.executor).field("callbacks", &self.callbacks.len()).finish()
    }
}

impl Scheduler {
    /// Runs tasks one at a time on the calling thread.
    pub fn sync() -> Self {
        Scheduler::custom(Arc::new(SyncExecutor::new()))
    }

    /// Runs tasks on rayon's global thread pool.
    pub fn threaded() -> Self {
        Scheduler::custom(Arc::new(ThreadedExecutor::new()))
    }

    /// Runs tasks on a dedicated pool of `n_threads` threads.
    pub fn threaded_with(n_threads: usize) -> Result<Self> {
        Ok(Scheduler::custom(Arc::new(ThreadedExecutor::with_threads(n_threads)?)))
    }

    /// The serialisation-check scheduler: synchronous, but every task's op is rebuilt from its
    /// name, version and argument bytes through `registry`, and every value crosses its codec.
    /// A graph that computes here can be shipped to distributed workers that share the registry;
    /// local closures, unregistered ops, values without a codec and op arguments that do not
    /// survive a round trip are errors. Values passed between the links of a fused chain stay
    /// inside one task (as they would on a worker) and are not encoded.
    pub fn checked(registry: Arc<Registry>) -> Self {
        Scheduler::custom(Arc::new(SyncExecutor::checked(registry)))
    }

    /// Wraps any executor.
    pub fn custom(executor: Arc<dyn Executor>) -> Self {
        Scheduler { executor, callbacks: Arc::from(Vec::new()), implicit: false }
    }

    /// The same executor, with `callback` added to every computation it runs (besides those
    /// of each call's [`ComputeOptions`]). Estimators compute on the default scheduler, so
    /// making such a scheduler the default (see [`with_scheduler`]) observes a whole fit: every
    /// graph of every iteration.
    pub fn with_callback(&self, callback: Arc<dyn Callback>) -> Self {
        let mut callbacks: Vec<Arc<dyn Callback>> = self.callbacks.to_vec();
        callbacks.push(callback);
        Scheduler { executor: self.executor.clone(), callbacks: Arc::from(callbacks), implicit: self.implicit }
    }

    /// The executor's name.
    pub fn name(&self) -> String {
        self.executor.name()
    }

    /// Computes the values of `keys` (in order; repeats allowed).
    pub fn compute(&self, graph: &Graph, keys: &[Key]) -> Result<Vec<Value>> {
        Ok(self.compute_with(graph, keys, &ComputeOptions::default())?.values)
    }

    /// Computes `keys` with options, returning statistics too.
    pub fn compute_with(&self, graph: &Graph, keys: &[Key], opts: &ComputeOptions) -> Result<Computed> {
        self.run(graph, keys, opts, false)
    }

    /// Plans `keys`, tells the callbacks, and executes (or persists) on the executor.
    fn run(&self, graph: &Graph, keys: &[Key], opts: &ComputeOptions, persist: bool) -> Result<Computed> {
        let plan = Plan::build(graph, keys, opts.optimize)?;
        if !self.executor.reads_remote() {
            if let Some((i, remote)) = first_remote(&plan) {
                if self.implicit {
                    let home = remote.home();
                    drop(plan);
                    return home.run(graph, keys, opts, persist);
                }
                return Err(Error::Scheduler(format!(
                    "`{}` is {}, which the {} scheduler cannot read: it runs tasks in this process. \
                     `with_scheduler` applies to the calling thread only, and a thread you spawn starts with the \
                     process default; run the work inside `with_scheduler(&client.scheduler(), ..)` on that thread, \
                     make the cluster the default with `set_default_scheduler(client.scheduler())`, or compute the \
                     data locally first",
                    plan.key(i),
                    remote.describe(),
                    self.executor.name()
                )));
            }
        }
        let extended;
        let callbacks: &[Arc<dyn Callback>] = if self.callbacks.is_empty() {
            &opts.callbacks
        } else {
            extended = self.callbacks.iter().chain(&opts.callbacks).cloned().collect::<Vec<_>>();
            &extended
        };
        callbacks.iter().for_each(|c| c.on_compute_start(plan.len()));
        let result =
            if persist { self.executor.persist(&plan, callbacks) } else { self.executor.execute(&plan, callbacks) };
        callbacks.iter().for_each(|c| c.on_compute_end(result.is_ok()));
        let ex = result?;
        if ex.outputs.len() != keys.len() {
            return Err(Error::Scheduler(format!(
                "the {} executor returned {} values for {} keys: it breaks the Executor contract",
                self.executor.name(),
                ex.outputs.len(),
                keys.len()
            )));
        }
        Ok(Computed {
            values: ex.outputs,
            stats: ComputeStats { plan: plan.stats(), tasks_run: ex.tasks_run, peak_held: ex.peak_held },
        })
    }

    /// Computes one key and takes its value as a `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self, graph: &Graph, key: &Key) -> Result<T> {
        let v = self
            .compute(graph, std::slice::from_ref(key))?
            .pop()
            .ok_or_else(|| Error::Scheduler(format!("no value was computed for {key}")))?;
        v.take::<T>().map_err(|source| Error::ValueType { key: key.clone(), source })
    }

    /// Computes `keys` and returns a graph holding their results as data. Graphs built on it,
    /// or that [`merge`](Graph::merge) it, reuse the results instead of recomputing them.
    ///
    /// On a distributed client the results stay on the workers: the graph holds futures on them.
    pub fn persist(&self, graph: &Graph, keys: &[Key]) -> Result<Graph> {
        let values = self.run(graph, keys, &ComputeOptions::default(), true)?.values;
        let mut out = Graph::with_capacity(keys.len());
        for (k, v) in keys.iter().zip(values) {
            out.insert(k.clone(), crate::graph::Node::Data(v));
        }
        Ok(out)
    }
}

static DEFAULT: RwLock<Option<Scheduler>> = RwLock::new(None);

thread_local! {
    static OVERRIDE: RefCell<Vec<Scheduler>> = const { RefCell::new(Vec::new()) };
}

/// The scheduler used when none is named: the innermost [`with_scheduler`] on this thread,
/// else the one set by [`set_default_scheduler`], else [`Scheduler::threaded`]. In the last
/// case nobody chose it, so a graph holding [`Remote`] values (data persisted on a cluster)
/// runs on their home instead: work on a thread the user spawned reaches the cluster its data
/// lives on.
pub fn default_scheduler() -> Scheduler {
    if let Some(s) = OVERRIDE.with(|o| o.borrow().last().cloned()) {
        return s;
    }
    let global = DEFAULT.read().unwrap_or_else(|e| e.into_inner());
    global.clone().unwrap_or_else(|| Scheduler { implicit: true, ..Scheduler::threaded() })
}

/// Sets the process-wide default scheduler.
pub fn set_default_scheduler(s: Scheduler) {
    *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(s);
}

/// Runs `f` with `s` as this thread's default scheduler (restored afterwards, even on panic).
///
/// The override is per thread: threads `f` spawns (and tasks already running on pool threads)
/// start with the process default. Graphs they build on data persisted on a cluster still go to
/// that cluster (see [`Remote`]), unless a local scheduler is named for them.
pub fn with_scheduler<R>(s: &Scheduler, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.borrow_mut().pop());
        }
    }
    OVERRIDE.with(|o| o.borrow_mut().push(s.clone()));
    let _pop = Pop;
    f()
}

/// Computes `keys` of `graph` on the default scheduler.
pub fn compute(graph: &Graph, keys: &[Key]) -> Result<Vec<Value>> {
    default_scheduler().compute(graph, keys)
}
