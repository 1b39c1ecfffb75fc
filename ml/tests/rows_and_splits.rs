//! Row slicing, re-blocking, concatenation and the splitters.

use std::collections::BTreeSet;
use std::sync::Arc;

use ndarray::{s, Array1, Array2};
use rask_core::{Registry, Scheduler};
use rask_ml::{
    train_test_split, ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, KFold, MlError, ShuffleSplit, TestSize,
};

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::builder()
            .ops(rask_core::OPS)
            .codecs(rask_core::CODECS)
            .ops(rask_ml::OPS)
            .codecs(rask_ml::CODECS)
            .build()
            .unwrap(),
    )
}

fn schedulers() -> Vec<Scheduler> {
    vec![Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(registry())]
}

/// Rows `i` hold `[i, 10 i, 100 i]`; labels are `i`: alignment is visible in the values.
fn id_dataset(n: usize, chunk: usize) -> ChunkedDataset<f64, i64> {
    let x = Array2::from_shape_fn((n, 3), |(i, j)| i as f64 * 10f64.powi(j as i32));
    let y = Array1::from_iter((0..n).map(|i| i as i64));
    let cx = ChunkedArray::from_array(x.view(), chunk).unwrap();
    let cy = ChunkedVector::from_array(y.view(), chunk).unwrap();
    ChunkedDataset::new(cx, cy).unwrap()
}

/// Computes a dataset and checks x and y are still aligned; returns the row ids.
fn ids(ds: &ChunkedDataset<f64, i64>, s: &Scheduler) -> Vec<i64> {
    let x = ds.x().compute_on(s).unwrap();
    let y = ds.y().unwrap().compute_on(s).unwrap();
    assert_eq!(x.nrows(), y.len());
    for (row, &id) in x.rows().into_iter().zip(y.iter()) {
        assert_eq!(row[0], id as f64, "x and y fell out of step");
        assert_eq!(row[2], 100.0 * id as f64);
    }
    if let Some(sizes) = ds.x().chunks().sizes() {
        assert_eq!(sizes.iter().sum::<usize>(), x.nrows(), "declared chunk sizes disagree with the data");
        assert!(sizes.iter().all(|&n| n > 0), "an empty block was produced");
    }
    y.to_vec()
}

#[test]
fn slicing_rechunking_and_concatenation_match_ndarray() {
    let x = Array2::from_shape_fn((23, 2), |(i, j)| (i * 2 + j) as f64);
    let cx = ChunkedArray::from_array(x.view(), 5).unwrap();
    for s in schedulers() {
        let sl = cx.slice_rows(3, 17).unwrap();
        assert_eq!(sl.chunks(), &Chunks::Known(vec![2, 5, 5, 2]));
        assert_eq!(sl.compute_on(&s).unwrap(), x.slice(s![3..17, ..]));
        let rc = cx.rechunk(7).unwrap();
        assert_eq!(rc.chunks(), &Chunks::Known(vec![7, 7, 7, 2]));
        assert_eq!(rc.compute_on(&s).unwrap(), x);
        let both = ChunkedArray::concat(&[&cx.slice_rows(10, 23).unwrap(), &cx.slice_rows(0, 10).unwrap()]).unwrap();
        let expected = ndarray::concatenate(ndarray::Axis(0), &[x.slice(s![10.., ..]), x.slice(s![..10, ..])]).unwrap();
        assert_eq!(both.compute_on(&s).unwrap(), expected);
        assert_eq!(both.n_rows(), Some(23));
    }
    assert!(matches!(cx.slice_rows(5, 5), Err(MlError::InvalidParameter { .. })));
    assert!(matches!(cx.slice_rows(0, 24), Err(MlError::InvalidParameter { .. })));
    assert!(matches!(cx.rechunk(0), Err(MlError::InvalidParameter { .. })));
    let other = ChunkedArray::from_array(Array2::<f64>::zeros((3, 4)).view(), 2).unwrap();
    assert!(matches!(ChunkedArray::concat(&[&cx, &other]), Err(MlError::ShapeMismatch { .. })));
}

#[test]
fn train_test_split_sizes_disjointness_alignment_and_determinism() {
    let ds = id_dataset(103, 10);
    let (train, test) = train_test_split(&ds, TestSize::Fraction(0.25), 7).unwrap();
    let mut first: Option<(Vec<i64>, Vec<i64>)> = None;
    for s in schedulers() {
        let tr = ids(&train, &s);
        let te = ids(&test, &s);
        assert_eq!(te.len(), 26, "round(0.25 × 103)");
        assert_eq!(tr.len(), 77);
        let all: BTreeSet<i64> = tr.iter().chain(&te).copied().collect();
        assert_eq!(all.len(), 103, "train and test must be disjoint and cover every row");
        match &first {
            None => first = Some((tr, te)),
            Some((t0, e0)) => assert!(t0 == &tr && e0 == &te, "split differs between schedulers"),
        }
    }
    let (_, test_again) = train_test_split(&ds, TestSize::Fraction(0.25), 7).unwrap();
    assert_eq!(ids(&test_again, &Scheduler::sync()), first.as_ref().unwrap().1);
    let (_, other_seed) = train_test_split(&ds, TestSize::Fraction(0.25), 8).unwrap();
    assert_ne!(ids(&other_seed, &Scheduler::sync()), first.unwrap().1);
    let (_, exact) = train_test_split(&ds, TestSize::Rows(10), 1).unwrap();
    assert_eq!(ids(&exact, &Scheduler::sync()).len(), 10);
    // Rows stay in their block: a shuffled split of the blocks [0, 10) keeps ids < 10 there.
    let (tr, _) = train_test_split(&ds, TestSize::Fraction(0.5), 3).unwrap();
    let first_block = tr.x().block_layer().block_key(0);
    let v = Scheduler::sync().compute(&tr.x().graph(), &[first_block]).unwrap();
    assert!(v[0].get::<Array2<f64>>().unwrap().column(0).iter().all(|&id| id < 10.0));
}

#[test]
fn shuffle_splits_differ_from_each_other() {
    let ds = id_dataset(60, 12);
    let splits = ShuffleSplit { n_splits: 4, test_size: TestSize::Fraction(0.2), seed: 5 }.split(&ds).unwrap();
    let tests: Vec<Vec<i64>> = splits.iter().map(|(_, te)| ids(te, &Scheduler::sync())).collect();
    for t in &tests {
        assert_eq!(t.len(), 12);
    }
    let distinct: BTreeSet<&Vec<i64>> = tests.iter().collect();
    assert_eq!(distinct.len(), 4, "every split needs its own seed");
}

#[test]
fn kfold_partitions_the_rows() {
    let ds = id_dataset(23, 5);
    for shuffle in [None, Some(11)] {
        let folds = KFold { n_splits: 4, shuffle_within_blocks: shuffle }.split(&ds).unwrap();
        assert_eq!(folds.len(), 4);
        let mut seen = BTreeSet::new();
        for (k, (train, test)) in folds.iter().enumerate() {
            let te = ids(test, &Scheduler::threaded());
            let tr = ids(train, &Scheduler::checked(registry()));
            assert_eq!(te.len(), if k < 3 { 6 } else { 5 }, "scikit-learn fold sizes");
            assert_eq!(tr.len() + te.len(), 23);
            let union: BTreeSet<i64> = tr.iter().chain(&te).copied().collect();
            assert_eq!(union.len(), 23);
            seen.extend(te);
        }
        assert_eq!(seen.len(), 23, "every row is tested exactly once");
    }
    assert!(KFold { n_splits: 1, shuffle_within_blocks: None }.split(&ds).is_err());
    assert!(KFold { n_splits: 24, shuffle_within_blocks: None }.split(&ds).is_err());
}

#[test]
fn bad_split_parameters_are_refused() {
    let ds = id_dataset(10, 4);
    for bad in [
        TestSize::Fraction(0.0),
        TestSize::Fraction(1.0),
        TestSize::Fraction(f64::NAN),
        TestSize::Rows(0),
        TestSize::Rows(10),
    ] {
        let err = train_test_split(&ds, bad, 0).unwrap_err();
        assert!(matches!(err, MlError::InvalidParameter { name: "test_size", .. }), "{bad:?}: {err}");
    }
    assert!(ShuffleSplit { n_splits: 0, test_size: TestSize::Rows(2), seed: 0 }.split(&ds).is_err());
}
