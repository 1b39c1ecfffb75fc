//! Bad graphs and failing tasks give clear errors, never a hang or a panic in the caller.

mod common;

use std::sync::Arc;

use common::*;
use rask_core::{Error, Graph, Key, Scheduler, Value};

on_every_scheduler! {
    fn failing_task_reports_key_op_and_cause(s: &Scheduler) {
        let mut g = Graph::new();
        let a = lin(&mut g, 1, &[]);
        let bad = g.task(Fail { message: "disk on fire".into() }, &[a]).unwrap();
        let after = lin(&mut g, 1, &[bad.clone()]);
        match s.compute(&g, std::slice::from_ref(&after)) {
            Err(Error::TaskFailed { key, op, cause }) => {
                // The failing op may have been fused with its dependent; the key is then the
                // fused task's, and the op list names the failing op.
                assert!(key == bad || key == after, "{key}");
                assert_eq!(op, "test.fail");
                assert_eq!(cause, "disk on fire");
            }
            other => panic!("expected TaskFailed, got {other:?}"),
        }
        // The scheduler is usable afterwards.
        let (g2, r2) = tree_sum_graph(50, 3);
        assert_eq!(get_i64(s, &g2, &r2), 1225);
    }

    fn panicking_task_becomes_an_error(s: &Scheduler) {
        let mut g = Graph::new();
        let leaves: Vec<Key> = (0..64).map(|i| lin(&mut g, i, &[])).collect();
        let boom = g.task(Panic { message: "index out of bounds".into() }, &leaves[..2]).unwrap();
        let mut all = leaves.clone();
        all.push(boom);
        let root = lin(&mut g, 0, &all);
        let err = s.compute(&g, &[root]).unwrap_err();
        match err {
            Error::TaskFailed { op, cause, .. } => {
                assert_eq!(op, "test.panic");
                assert_eq!(cause, "panicked: index out of bounds");
            }
            other => panic!("expected TaskFailed, got {other:?}"),
        }
    }

    fn dependents_of_a_failure_do_not_run(s: &Scheduler) {
        let mut g = Graph::new();
        let bad = g.task(Fail { message: "no".into() }, &[]).unwrap();
        // A second, independent branch that must still be allowed to finish or not start,
        // but never read the failed value.
        let ok = lin(&mut g, 1, &[]);
        let dep = lin(&mut g, 1, &[bad, ok]);
        let err = s.compute(&g, &[dep]).unwrap_err();
        assert!(matches!(err, Error::TaskFailed { .. }), "{err}");
    }

    fn missing_output_key(s: &Scheduler) {
        let (g, _) = tree_sum_graph(4, 2);
        let err = s.compute(&g, &[Key::new("nope")]).unwrap_err();
        assert_eq!(err, Error::MissingKey(Key::new("nope")));
        assert_eq!(err.to_string(), "key 'nope' is not in the graph");
    }

    fn missing_dependency(s: &Scheduler) {
        let mut g = Graph::new();
        let t = lin(&mut g, 1, &[Key::block("ghost", 3)]);
        let err = s.compute(&g, std::slice::from_ref(&t)).unwrap_err();
        assert_eq!(err, Error::MissingDependency { key: t, dependency: Key::block("ghost", 3) });
    }

    fn cyclic_graph_names_the_cycle(s: &Scheduler) {
        let mut g = Graph::new();
        g.add_task("a", rask_core::TaskOp::op(Lin { k: 1 }), vec![Key::new("c")]);
        g.add_task("b", rask_core::TaskOp::op(Lin { k: 1 }), vec![Key::new("a")]);
        g.add_task("c", rask_core::TaskOp::op(Lin { k: 1 }), vec![Key::new("b")]);
        g.add_task("d", rask_core::TaskOp::op(Lin { k: 1 }), vec![Key::new("c")]);
        let err = s.compute(&g, &[Key::new("d")]).unwrap_err();
        let Error::Cycle { keys } = &err else { panic!("expected a cycle, got {err:?}") };
        let mut names: Vec<&str> = keys.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(err.to_string().starts_with("the graph has a cycle: "), "{err}");
    }

    fn self_loop_is_a_cycle(s: &Scheduler) {
        let mut g = Graph::new();
        g.add_task("a", rask_core::TaskOp::op(Lin { k: 1 }), vec![Key::new("a")]);
        let err = s.compute(&g, &[Key::new("a")]).unwrap_err();
        assert_eq!(err, Error::Cycle { keys: vec![Key::new("a")] });
    }

    fn wrong_input_type_is_a_task_error(s: &Scheduler) {
        let mut g = Graph::new();
        let x = g.add_data("x", Value::new(String::from("not a number")));
        let t = lin(&mut g, 1, &[x]);
        let err = s.compute(&g, &[t]).unwrap_err();
        let Error::TaskFailed { cause, .. } = &err else { panic!("{err:?}") };
        assert!(cause.contains("expected a value of type `i64`, found `alloc::string::String`"), "{cause}");
    }

    fn many_failures_at_once_do_not_hang(s: &Scheduler) {
        let mut g = Graph::new();
        let fails: Vec<Key> = (0..200).map(|i| g.task(Fail { message: format!("f{i}") }, &[]).unwrap()).collect();
        let root = lin(&mut g, 0, &fails);
        assert!(matches!(s.compute(&g, &[root]), Err(Error::TaskFailed { .. })));
    }

    fn results_are_released_after_errors(s: &Scheduler) {
        let payload = Arc::new(vec![1i64; 1000]);
        let mut g = Graph::new();
        let d = g.add_data("payload", Value::from_arc(payload.clone()));
        let sum = g.task(SumVec, &[d]).unwrap();
        let bad = g.task(Fail { message: "x".into() }, &[sum]).unwrap();
        for _ in 0..3 {
            assert!(s.compute(&g, std::slice::from_ref(&bad)).is_err());
        }
        // The test and the graph hold the payload; no scheduler kept a copy.
        assert_eq!(Arc::strong_count(&payload), 2);
    }
}

#[test]
fn dependents_of_a_failure_never_run_on_local_schedulers() {
    for s in [Scheduler::sync(), Scheduler::threaded(), Scheduler::threaded_with(3).unwrap()] {
        let ran = Counter::default();
        let mut g = Graph::new();
        let bad = g.task(Fail { message: "no".into() }, &[]).unwrap();
        let others: Vec<Key> = (0..50).map(|i| lin(&mut g, i, &[])).collect();
        let mut inputs = others.clone();
        inputs.insert(25, bad.clone());
        let r = ran.clone();
        let dep = g.add_local("dependent", inputs, move |_| {
            r.bump();
            Ok(Value::new(0i64))
        });
        let r = ran.clone();
        let dep2 = g.add_local("dependent2", vec![bad], move |_| {
            r.bump();
            Ok(Value::new(0i64))
        });
        let err = s.compute(&g, &[dep, dep2]).unwrap_err();
        assert!(matches!(err, Error::TaskFailed { .. }), "{err}");
        assert_eq!(ran.get(), 0, "a dependent of the failed task ran on {}", s.name());
    }
}

#[test]
fn checked_scheduler_refuses_values_without_a_codec() {
    let mut g = Graph::new();
    let o = g.task(MakeOpaque, &[]).unwrap();
    // Locally the value is fine.
    let v = Scheduler::sync().compute(&g, std::slice::from_ref(&o)).unwrap();
    assert_eq!(v[0].get::<Opaque>().unwrap(), &Opaque(7));
    let err = Scheduler::checked(registry()).compute(&g, std::slice::from_ref(&o)).unwrap_err();
    match &err {
        Error::NoCodec { key, type_name } => {
            assert_eq!(key, &o);
            assert!(type_name.ends_with("Opaque"), "{type_name}");
        }
        other => panic!("expected NoCodec, got {other:?}"),
    }
}

#[test]
fn checked_scheduler_refuses_data_without_a_codec() {
    let mut g = Graph::new();
    let d = g.add_data("blob", Value::new(Opaque(1)));
    let err = Scheduler::checked(registry()).compute(&g, &[d]).unwrap_err();
    assert!(matches!(err, Error::NoCodec { .. }), "{err}");
}

#[test]
fn checked_scheduler_refuses_local_closures() {
    let mut g = Graph::new();
    let a = g.add_data("a", Value::new(1i64));
    let b = g.add_local("plus-one", vec![a], |v| Ok(Value::new(v[0].get::<i64>()? + 1)));
    assert_eq!(Scheduler::sync().get::<i64>(&g, &b).unwrap(), 2);
    let err = Scheduler::checked(registry()).compute(&g, std::slice::from_ref(&b)).unwrap_err();
    assert!(matches!(&err, Error::LocalTask { key, .. } if key == &b), "{err}");
    assert!(err.to_string().contains("only runs registered ops"), "{err}");
}

#[test]
fn checked_scheduler_refuses_unknown_ops() {
    let mut g = Graph::new();
    let t = lin(&mut g, 1, &[]);
    let empty = Arc::new(codec_free_registry_without_lin());
    let err = Scheduler::checked(empty).compute(&g, &[t]).unwrap_err();
    assert_eq!(err, Error::UnknownOp { name: "test.lin".into(), version: 1 });
}

fn codec_free_registry_without_lin() -> rask_core::Registry {
    rask_core::Registry::builder().codecs(rask_core::CODECS).build().unwrap()
}

#[test]
fn checked_scheduler_refuses_arguments_that_do_not_round_trip() {
    use serde::{Deserialize, Serialize};
    /// An op whose argument is lost in serialisation.
    #[derive(Serialize, Deserialize)]
    struct Lossy {
        #[serde(skip)]
        k: i64,
    }
    impl rask_core::Op for Lossy {
        const NAME: &'static str = "test.lossy";
        fn run(&self, _: &[Value]) -> Result<Value, rask_core::OpError> {
            Ok(Value::new(self.k))
        }
    }
    let reg = Arc::new(
        rask_core::Registry::builder()
            .ops(&[rask_core::OpEntry::of::<Lossy>()])
            .codecs(rask_core::CODECS)
            .build()
            .unwrap(),
    );
    let mut g = Graph::new();
    let t = g.task(Lossy { k: 5 }, &[]).unwrap();
    assert_eq!(Scheduler::sync().get::<i64>(&g, &t).unwrap(), 5);
    // Locally 5, remotely 0: the checked scheduler shows the difference.
    assert_eq!(Scheduler::checked(reg).get::<i64>(&g, &t).unwrap(), 0);
}

#[test]
fn asking_for_the_wrong_type_is_a_clear_error() {
    let mut g = Graph::new();
    let t = lin(&mut g, 1, &[]);
    let err = Scheduler::sync().get::<f64>(&g, &t).unwrap_err();
    assert!(matches!(err, Error::ValueType { .. }), "{err}");
    assert!(err.to_string().contains("expected a value of type `f64`, found `i64`"), "{err}");
}

#[test]
fn zero_threads_is_refused() {
    assert!(matches!(Scheduler::threaded_with(0), Err(Error::Scheduler(_))));
}
