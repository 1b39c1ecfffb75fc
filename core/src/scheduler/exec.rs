//! Running one plan node, and what the local executors share: callbacks around each task,
//! and collecting the outputs once the state machine is done.
//!
//! Tasks run through [`crate::wire`]: [`wire::run_task`] catches panics, and with a registry
//! (the serialisation check) the task and every value take the same encode/decode path as on
//! a distributed worker.

use std::sync::Arc;
use std::time::Instant;

use super::diagnostics::Callback;
use super::plan::{Plan, PlanNode};
use super::state::SchedulerState;
use super::Executed;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::registry::Registry;
use crate::value::Value;
use crate::wire;

/// The scheduler name the serialisation check gives in its errors.
const CHECKED: &str = "serialisation-check";

/// Runs node `i` of `plan` on its input values.
///
/// With `check`, the node runs as it would on a remote worker: the task is encoded with
/// [`wire::encode_task`] and rebuilt from the registry with [`wire::decode_task`], and every
/// input and the output cross [`wire::encode_value`] / [`wire::decode_value`]. Anything that
/// could not cross a process boundary is an error here.
pub(crate) fn run_node(plan: &Plan<'_>, i: usize, inputs: &[Value], check: Option<&Registry>) -> Result<Value> {
    let key = plan.key(i);
    match (plan.node(i), check) {
        (PlanNode::Data(v), None) => Ok(v.clone()),
        (PlanNode::Data(v), Some(reg)) => hop(reg, key, v),
        (PlanNode::Alias, _) => inputs
            .first()
            .cloned()
            .ok_or_else(|| Error::Scheduler(format!("alias {key} has no input: the plan is inconsistent"))),
        (PlanNode::Task(op), None) => wire::run_task(op, inputs).map_err(|f| f.into_error(key)),
        (PlanNode::Task(op), Some(reg)) => {
            let sent = wire::encode_task(key, op, CHECKED)?;
            let rebuilt = wire::decode_task(reg, key, &sent)?;
            let again = wire::encode_task(key, &rebuilt, CHECKED)?;
            if let Some((o, _)) = sent.iter().zip(&again).find(|(a, b)| a != b) {
                return Err(Error::OpArgs {
                    key: key.clone(),
                    op: o.name.to_string(),
                    message: "the arguments change when decoded and encoded again".into(),
                });
            }
            let inputs: Vec<Value> = plan
                .inputs(i)
                .iter()
                .zip(inputs)
                .map(|(&d, v)| hop(reg, plan.key(d as usize), v))
                .collect::<Result<_>>()?;
            let out = wire::run_task(&rebuilt, &inputs).map_err(|f| f.into_error(key))?;
            hop(reg, key, &out)
        }
    }
}

/// [`run_node`] with the callbacks told of its start and finish (timed only when there are any).
pub(crate) fn run_observed(
    plan: &Plan<'_>,
    i: usize,
    inputs: &[Value],
    check: Option<&Registry>,
    callbacks: &[Arc<dyn Callback>],
) -> Result<Value> {
    if callbacks.is_empty() {
        return run_node(plan, i, inputs, check);
    }
    let key = plan.key(i);
    callbacks.iter().for_each(|c| c.on_task_start(key));
    let t0 = Instant::now();
    let result = run_node(plan, i, inputs, check);
    let elapsed = t0.elapsed();
    callbacks.iter().for_each(|c| c.on_task_finish(key, result.is_ok(), elapsed));
    result
}

/// Hints node `i`'s op that it runs soon ([`crate::Op::prefetch`]).
pub(crate) fn prefetch(plan: &Plan<'_>, i: Option<u32>) {
    if let Some(PlanNode::Task(op)) = i.map(|i| plan.node(i as usize)) {
        op.prefetch();
    }
}

/// The inputs of node `i`, which the state machine holds until their last dependent finishes.
pub(crate) fn gather_inputs(plan: &Plan<'_>, i: usize, values: &[Option<Value>], into: &mut Vec<Value>) -> Result<()> {
    into.clear();
    append_inputs(plan, i, values, into)
}

/// [`gather_inputs`] appending to `into` (the inputs of several nodes, one after the other).
pub(crate) fn append_inputs(plan: &Plan<'_>, i: usize, values: &[Option<Value>], into: &mut Vec<Value>) -> Result<()> {
    for &d in plan.inputs(i) {
        match &values[d as usize] {
            Some(v) => into.push(v.clone()),
            None => {
                return Err(Error::Scheduler(format!(
                    "input {} of {} was released before it ran: the scheduler state is inconsistent",
                    plan.key(d as usize),
                    plan.key(i)
                )))
            }
        }
    }
    Ok(())
}

/// What a local executor returns once the state machine stopped: the outputs, or an error when
/// work was left or an output is missing.
pub(crate) fn finished(
    plan: &Plan<'_>,
    state: &SchedulerState,
    values: &[Option<Value>],
    executor: &str,
) -> Result<Executed> {
    if !state.is_complete() {
        return Err(Error::Scheduler(format!(
            "{executor} executor stopped with {} of {} tasks finished",
            state.n_finished(),
            plan.len()
        )));
    }
    let outputs = plan
        .outputs
        .iter()
        .map(|&o| {
            values[o as usize].clone().ok_or_else(|| {
                Error::Scheduler(format!(
                    "output {} was not kept: the scheduler state is inconsistent",
                    plan.key(o as usize)
                ))
            })
        })
        .collect::<Result<_>>()?;
    Ok(Executed { outputs, tasks_run: state.n_finished(), peak_held: state.peak_held() })
}

/// Encodes and decodes a value through its codec, as a network hop would.
fn hop(reg: &Registry, key: &Key, v: &Value) -> Result<Value> {
    wire::decode_value(reg, key, &wire::encode_value(reg, key, v)?)
}
