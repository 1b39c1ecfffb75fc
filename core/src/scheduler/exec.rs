//! Running one plan node: panics caught, errors attributed, and the serialisation check.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::plan::{Plan, PlanNode};
use crate::error::{Error, Result};
use crate::key::Key;
use crate::ops::TaskOp;
use crate::registry::Registry;
use crate::value::Value;

/// Runs node `i` of `plan` on its input values.
///
/// With `check`, the node runs as it would on a remote worker: op arguments are encoded and the
/// op rebuilt from the registry by name and version, and every input and the output go through
/// their codecs. Anything that could not cross a process boundary is an error here.
pub(crate) fn run_node(plan: &Plan, i: usize, inputs: &[Value], check: Option<&Registry>) -> Result<Value> {
    let key = plan.key(i);
    match (plan.node(i), check) {
        (PlanNode::Data(v), None) => Ok(v.clone()),
        (PlanNode::Data(v), Some(reg)) => round_trip(reg, key, v),
        (PlanNode::Alias, _) => Ok(inputs[0].clone()),
        (PlanNode::Task(op), None) => run_caught(op, key, inputs),
        (PlanNode::Task(op), Some(reg)) => {
            let rebuilt = rebuild(reg, key, op)?;
            let inputs: Vec<Value> = plan
                .inputs(i)
                .iter()
                .zip(inputs)
                .map(|(&d, v)| round_trip(reg, plan.key(d as usize), v))
                .collect::<Result<_>>()?;
            let out = run_caught(&rebuilt, key, &inputs)?;
            round_trip(reg, key, &out)
        }
    }
}

fn run_caught(op: &TaskOp, key: &Key, inputs: &[Value]) -> Result<Value> {
    match catch_unwind(AssertUnwindSafe(|| op.run_traced(inputs))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err((failed_op, e))) => {
            Err(Error::TaskFailed { key: key.clone(), op: failed_op, cause: e.message().to_string() })
        }
        Err(payload) => Err(Error::TaskFailed {
            key: key.clone(),
            op: op.name(),
            cause: format!("panicked: {}", panic_message(payload.as_ref())),
        }),
    }
}

/// The message of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_string()
    }
}

/// Encodes and decodes a value through its codec, as a network hop would.
pub(crate) fn round_trip(reg: &Registry, key: &Key, v: &Value) -> Result<Value> {
    let codec =
        reg.codec_for(v).ok_or_else(|| Error::NoCodec { key: key.clone(), type_name: v.type_name().to_string() })?;
    let mut buf = Vec::new();
    codec.encode(v, &mut buf).map_err(|source| Error::Codec { key: key.clone(), source })?;
    codec.decode(&buf).map_err(|source| Error::Codec { key: key.clone(), source })
}

/// Rebuilds a task's op from its name, version and argument bytes, as a remote worker would.
pub(crate) fn rebuild(reg: &Registry, key: &Key, op: &TaskOp) -> Result<TaskOp> {
    match op {
        TaskOp::Op(o) => {
            let args_error = |message: String| Error::OpArgs { key: key.clone(), op: o.name().to_string(), message };
            let args = o.encode_args().map_err(|e| args_error(e.to_string()))?;
            let entry = reg.op(o.name(), o.version())?;
            let rebuilt = entry.decode(&args).map_err(|e| args_error(e.to_string()))?;
            let again = rebuilt.encode_args().map_err(|e| args_error(e.to_string()))?;
            if again != args {
                return Err(args_error("the arguments change when decoded and encoded again".into()));
            }
            Ok(TaskOp::Op(rebuilt))
        }
        TaskOp::Local(f) => Err(Error::LocalTask {
            key: key.clone(),
            name: f.name().to_string(),
            scheduler: "serialisation-check".into(),
        }),
        TaskOp::Fused(chain) => {
            Ok(TaskOp::Fused(chain.iter().map(|o| rebuild(reg, key, o)).collect::<Result<Vec<_>>>()?.into()))
        }
    }
}
