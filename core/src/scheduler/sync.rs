//! The synchronous executor: one task at a time on the calling thread, in priority order.

use std::sync::Arc;

use super::diagnostics::Callback;
use super::exec::{finished, gather_inputs, prefetch, run_observed};
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

    fn execute(&self, plan: &Plan<'_>, callbacks: &[Arc<dyn Callback>]) -> Result<Executed> {
        let mut state = SchedulerState::new(plan);
        let mut values: Vec<Option<Value>> = vec![None; plan.len()];
        let mut released = Vec::new();
        let mut inputs: Vec<Value> = Vec::new();
        let check = self.check.as_deref();
        while let Some(i) = state.pop_ready() {
            let iu = i as usize;
            gather_inputs(plan, iu, &values, &mut inputs)?;
            // The next task may read a file: let the OS start while this one computes.
            prefetch(plan, state.peek_ready());
            let result = run_observed(plan, iu, &inputs, check, callbacks);
            // Let go of the inputs now, so released results are freed before the next task.
            inputs.clear();
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
        finished(plan, &state, &values, "sync")
    }
}
