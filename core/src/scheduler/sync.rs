//! The synchronous executor: one task at a time on the calling thread, in priority order.

use std::sync::Arc;
use std::time::Instant;

use super::diagnostics::Callback;
use super::exec::run_node;
use super::plan::Plan;
use super::state::SchedulerState;
use super::{Executed, Executor};
use crate::error::Result;
use crate::registry::Registry;
use crate::value::Value;

/// Runs every task on the calling thread. With a registry it also proves the graph could run
/// on the distributed scheduler (see [`Scheduler::checked`](super::Scheduler::checked)).
#[derive(Debug, Clone, Default)]
pub struct SyncExecutor {
    check: Option<Arc<Registry>>,
}

impl SyncExecutor {
    /// A plain synchronous executor.
    pub fn new() -> Self {
        Self::default()
    }

    /// A synchronous executor that round-trips every op and value through `registry`.
    pub fn checked(registry: Arc<Registry>) -> Self {
        SyncExecutor { check: Some(registry) }
    }
}

impl Executor for SyncExecutor {
    fn name(&self) -> String {
        if self.check.is_some() {
            "sync-checked".into()
        } else {
            "sync".into()
        }
    }

    fn execute(&self, plan: &Plan, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        let mut state = SchedulerState::new(plan);
        let mut values: Vec<Option<Value>> = vec![None; plan.len()];
        let mut released = Vec::new();
        let mut inputs: Vec<Value> = Vec::new();
        let check = self.check.as_deref();
        while let Some(i) = state.pop_ready() {
            let iu = i as usize;
            inputs.clear();
            // Every input finished before this task became ready, and is held until its last
            // dependent (at the earliest this one) finishes.
            inputs.extend(plan.inputs(iu).iter().map(|&d| values[d as usize].clone().expect("input is held")));
            let started = (!callbacks.is_empty()).then(|| {
                callbacks.iter().for_each(|c| c.on_task_start(plan.key(iu)));
                Instant::now()
            });
            let result = run_node(plan, iu, &inputs, check);
            // Let go of the inputs now, so released results are freed before the next task.
            inputs.clear();
            if let Some(t0) = started {
                let elapsed = t0.elapsed();
                callbacks.iter().for_each(|c| c.on_task_finish(plan.key(iu), result.is_ok(), elapsed));
            }
            match result {
                Ok(v) => {
                    values[iu] = Some(v);
                    state.finish(plan, i, &mut released)?;
                    for r in released.drain(..) {
                        values[r as usize] = None;
                    }
                }
                Err(e) => {
                    state.fail(plan, i)?;
                    return Err(e);
                }
            }
        }
        debug_assert!(state.is_complete(), "sync executor stopped with work left");
        let outputs = plan.outputs.iter().map(|&o| values[o as usize].clone().expect("outputs are kept")).collect();
        Ok(Executed { outputs, tasks_run: state.n_finished(), peak_held: state.peak_held() })
    }
}
