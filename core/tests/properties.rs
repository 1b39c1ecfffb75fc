//! Property tests of the graph passes and tokens.

mod common;

use std::collections::BTreeSet;

use common::*;
use proptest::prelude::*;
use rask_core::graph::{cull, fuse_linear, order};
use rask_core::{tokenize, ComputeOptions, Graph, Key, Node, Scheduler, TaskOp, Value};

#[derive(Clone, Debug)]
enum Kind {
    Data,
    Task,
    Alias,
}

#[derive(Clone, Debug)]
struct Spec {
    kind: Kind,
    k: i64,
    deps: Vec<usize>,
}

/// A random DAG: node `i` depends only on nodes `< i`, so it is acyclic by construction;
/// the graph is then filled in a random order so passes cannot rely on insertion order.
fn dag() -> impl Strategy<Value = (Vec<Spec>, Vec<usize>, Vec<usize>)> {
    (1usize..40)
        .prop_flat_map(|n| {
            let specs = (0..n)
                .map(|i| {
                    (0u8..6, -50i64..50, proptest::collection::vec(0..i.max(1), 0..4)).prop_map(
                        move |(kind, k, deps)| {
                            if i == 0 {
                                return Spec { kind: Kind::Data, k, deps: vec![] };
                            }
                            match kind {
                                0 => Spec { kind: Kind::Data, k, deps: vec![] },
                                1 => Spec { kind: Kind::Alias, k, deps: vec![deps.first().copied().unwrap_or(0)] },
                                // Mostly single-input tasks, so fusion has chains to work on.
                                2 | 3 => {
                                    Spec { kind: Kind::Task, k, deps: vec![deps.first().copied().unwrap_or(i - 1)] }
                                }
                                _ => Spec { kind: Kind::Task, k, deps },
                            }
                        },
                    )
                })
                .collect::<Vec<_>>();
            let perm = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
            let outs = proptest::collection::vec(0..n, 1..4);
            (specs, perm, outs)
        })
        .prop_map(|(specs, perm, outs)| (specs, perm, outs))
}

fn key(i: usize) -> Key {
    Key::new(format!("n{i}"))
}

fn build(specs: &[Spec], perm: &[usize]) -> Graph {
    let mut g = Graph::new();
    for &i in perm {
        let s = &specs[i];
        let deps: Vec<Key> = s.deps.iter().map(|&d| key(d)).collect();
        let node = match s.kind {
            Kind::Data => Node::Data(Value::new(s.k)),
            Kind::Alias => Node::Alias(deps[0].clone()),
            Kind::Task => Node::Task(rask_core::Task { op: TaskOp::op(Lin { k: s.k }), inputs: deps }),
        };
        g.insert(key(i), node);
    }
    g
}

fn reference(specs: &[Spec]) -> Vec<i64> {
    let mut vals: Vec<i64> = Vec::with_capacity(specs.len());
    for s in specs {
        let v = match s.kind {
            Kind::Data => s.k,
            Kind::Alias => vals[s.deps[0]],
            Kind::Task => s.deps.iter().fold(s.k, |acc, &d| acc.wrapping_add(vals[d])),
        };
        vals.push(v);
    }
    vals
}

fn reference_ancestors(specs: &[Spec], outs: &[usize]) -> BTreeSet<Key> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = outs.to_vec();
    while let Some(i) = stack.pop() {
        if seen.insert(key(i)) {
            stack.extend(&specs[i].deps);
        }
    }
    seen
}

fn position_map(keys: &[Key]) -> std::collections::HashMap<Key, usize> {
    keys.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn cull_keeps_exactly_the_ancestors((specs, perm, outs) in dag()) {
        let g = build(&specs, &perm);
        let out_keys: Vec<Key> = outs.iter().map(|&i| key(i)).collect();
        let culled = cull(&g, &out_keys).unwrap();
        let got: BTreeSet<Key> = culled.keys().cloned().collect();
        prop_assert_eq!(got, reference_ancestors(&specs, &outs));
        // Culling keeps the original relative order.
        let pos = position_map(&g.keys().cloned().collect::<Vec<_>>());
        let order_in_culled: Vec<usize> = culled.keys().map(|k| pos[k]).collect();
        prop_assert!(order_in_culled.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn toposort_respects_every_edge((specs, perm, _outs) in dag()) {
        let g = build(&specs, &perm);
        let topo = g.toposort().unwrap();
        prop_assert_eq!(topo.len(), g.len());
        let pos = position_map(&topo);
        for (i, s) in specs.iter().enumerate() {
            for &d in &s.deps {
                prop_assert!(pos[&key(d)] < pos[&key(i)], "n{} must come before n{}", d, i);
            }
        }
    }

    #[test]
    fn order_is_a_topological_permutation_and_starts_with_the_outputs_ancestors((specs, perm, outs) in dag()) {
        let g = build(&specs, &perm);
        let out_keys: Vec<Key> = outs.iter().map(|&i| key(i)).collect();
        let ordered = order(&g, &out_keys).unwrap();
        prop_assert_eq!(ordered.len(), g.len());
        let pos = position_map(&ordered);
        prop_assert_eq!(pos.len(), g.len());
        for (i, s) in specs.iter().enumerate() {
            for &d in &s.deps {
                prop_assert!(pos[&key(d)] < pos[&key(i)]);
            }
        }
        let needed = reference_ancestors(&specs, &outs);
        let first: BTreeSet<Key> = ordered[..needed.len()].iter().cloned().collect();
        prop_assert_eq!(first, needed);
    }

    #[test]
    fn fusion_and_order_never_change_results((specs, perm, outs) in dag()) {
        let g = build(&specs, &perm);
        let want = reference(&specs);
        let out_keys: Vec<Key> = outs.iter().map(|&i| key(i)).collect();
        let expected: Vec<i64> = outs.iter().map(|&i| want[i]).collect();

        let fused = fuse_linear(&g, &out_keys).unwrap();
        prop_assert!(fused.len() <= g.len());
        for k in &out_keys {
            prop_assert!(fused.contains(k), "fusion removed requested key {}", k);
        }
        for (_, s) in all_schedulers() {
            for optimize in [false, true] {
                for graph in [&g, &fused] {
                    let opts = ComputeOptions::new().optimize(optimize);
                    let vals = s.compute_with(graph, &out_keys, &opts).unwrap().values;
                    let got: Vec<i64> = vals.iter().map(|v| *v.get::<i64>().unwrap()).collect();
                    prop_assert_eq!(&got, &expected);
                }
            }
        }
    }

    #[test]
    fn fusing_twice_changes_nothing_more((specs, perm, outs) in dag()) {
        let g = build(&specs, &perm);
        let out_keys: Vec<Key> = outs.iter().map(|&i| key(i)).collect();
        let once = fuse_linear(&cull(&g, &out_keys).unwrap(), &out_keys).unwrap();
        let twice = fuse_linear(&once, &out_keys).unwrap();
        prop_assert_eq!(once.len(), twice.len());
    }

    #[test]
    fn tokens_are_stable_and_see_every_field(
        name in "[a-z.]{1,20}",
        version in 0u32..5,
        args in proptest::collection::vec(any::<u8>(), 0..32),
        inputs in proptest::collection::vec(("[a-z]{1,8}", proptest::option::of(0u64..100)), 0..5),
        flip in any::<prop::sample::Index>(),
    ) {
        let keys: Vec<Key> = inputs
            .iter()
            .map(|(n, b)| match b { Some(b) => Key::block(n.as_str(), *b), None => Key::new(n.as_str()) })
            .collect();
        let t = tokenize(&name, version, &args, &keys);
        prop_assert_eq!(t, tokenize(&name, version, &args, &keys));
        prop_assert_ne!(t, tokenize(&name, version + 1, &args, &keys));
        let mut other_name = name.clone();
        other_name.push('x');
        prop_assert_ne!(t, tokenize(&other_name, version, &args, &keys));
        let mut changed = args.clone();
        if changed.is_empty() {
            changed.push(0);
        } else {
            let i = flip.index(changed.len());
            changed[i] ^= 1;
        }
        prop_assert_ne!(t, tokenize(&name, version, &changed, &keys));
        let mut more = keys.clone();
        more.push(Key::new("extra"));
        prop_assert_ne!(t, tokenize(&name, version, &args, &more));
    }

    #[test]
    fn op_tasks_with_different_arguments_get_different_keys(a in any::<i64>(), b in any::<i64>()) {
        let mut g = Graph::new();
        let ka = g.task(Lin { k: a }, &[]).unwrap();
        let kb = g.task(Lin { k: b }, &[]).unwrap();
        prop_assert_eq!(a == b, ka == kb);
        // And the same work is the same key in a fresh graph (stable across graphs and runs).
        let mut g2 = Graph::new();
        prop_assert_eq!(g2.task(Lin { k: a }, &[]).unwrap(), ka);
    }
}

#[test]
fn the_sync_scheduler_follows_the_order_pass() {
    // With one thread and the LIFO stack, a tree reduction runs in exactly `order`'s order.
    let (g, root) = tree_sum_graph(64, 4);
    let ordered = order(&g, std::slice::from_ref(&root)).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Record(std::sync::Arc<std::sync::Mutex<Vec<Key>>>);
    impl rask_core::Callback for Record {
        fn on_task_start(&self, key: &Key) {
            self.0.lock().unwrap().push(key.clone());
        }
    }
    let opts = ComputeOptions::new().optimize(false).callback(std::sync::Arc::new(Record(seen.clone())));
    Scheduler::sync().compute_with(&g, &[root], &opts).unwrap();
    assert_eq!(*seen.lock().unwrap(), ordered);
}
