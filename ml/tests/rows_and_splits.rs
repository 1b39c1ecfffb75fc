//! Row slicing, re-blocking, concatenation and the splitters.

use std::collections::BTreeSet;
use std::sync::Arc;

use ndarray::{s, Array1, Array2};
use rask_core::{Registry, Scheduler};
use rask_ml::{
    train_test_split, ChunkedArray, ChunkedDataset, ChunkedVector, Chunks, KFold, MlError, ShuffleSplit, TestSize,
};

fn registry() -> Arc<Registry> {
    Arc::new(rask_ml::registry_builder().build().unwrap())
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
        assert_eq!(te.len(), 26, "ceil(0.25 × 103), as scikit-learn rounds the test side up");
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

#[test]
fn check_finite_names_block_row_and_column() {
    let mut x = Array2::from_shape_fn((10, 3), |(i, j)| (i + j) as f64);
    let cx = ChunkedArray::from_array(x.view(), 4).unwrap();
    assert_eq!(cx.check_finite().unwrap().compute().unwrap(), x);
    x[[6, 2]] = f64::INFINITY;
    let bad = ChunkedArray::from_array(x.view(), 4).unwrap().check_finite().unwrap();
    for s in schedulers() {
        let err = bad.compute_on(&s).unwrap_err().to_string();
        assert!(err.contains("block 1, row 2 (row 6 overall), column 2 holds inf"), "{err}");
    }
    let mut y = Array1::from_elem(10, 1.0);
    y[9] = f64::NAN;
    let cy = ChunkedVector::from_array(y.view(), 4).unwrap().check_finite().unwrap();
    assert!(cy.compute().unwrap_err().to_string().contains("block 2, row 1 (row 9 overall), column 0 holds NaN"));
    let ds = id_dataset(12, 5).check_finite().unwrap();
    assert_eq!(ids(&ds, &Scheduler::sync()).len(), 12);
}

#[test]
fn sampling_keeps_about_the_fraction_with_unknown_then_known_sizes() {
    let x = Array2::from_shape_fn((2000, 2), |(i, j)| (i * 2 + j) as f64);
    let cx = ChunkedArray::from_array(x.view(), 300).unwrap();
    let sampled = cx.sample_rows(0.25, 3).unwrap();
    assert_eq!(sampled.n_rows(), None, "a filter makes chunk sizes unknown");
    assert!(matches!(sampled.rechunk(10), Err(MlError::UnknownChunkSizes { .. })));
    let mut results = Vec::new();
    for s in schedulers() {
        let got = sampled.compute_on(&s).unwrap();
        results.push(got);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "sampling must not depend on the scheduler");
    let n = results[0].nrows();
    assert!((400..=600).contains(&n), "{n} rows kept of 2000 at 25%");
    // Rows are kept whole and in order.
    assert!(results[0].rows().into_iter().all(|r| r[1] == r[0] + 1.0));
    let known = sampled.compute_chunk_sizes().unwrap();
    assert_eq!(known.n_rows(), Some(n));
    assert!(cx.sample_rows(0.0, 1).is_err() && cx.sample_rows(1.5, 1).is_err());
}

#[test]
fn a_full_shuffle_mixes_rows_across_blocks_and_keeps_alignment() {
    use rask_ml::{Shuffle, TrainTestSplit};
    let ds = id_dataset(100, 10);
    let shuffled = ds.shuffle(4, 10).unwrap();
    let mut first = None;
    for s in schedulers() {
        let got = ids(&shuffled, &s);
        let all: BTreeSet<i64> = got.iter().copied().collect();
        assert_eq!(all.len(), 100, "a shuffle is a permutation");
        match &first {
            None => first = Some(got),
            Some(f) => assert_eq!(f, &got, "the shuffle must not depend on the scheduler"),
        }
    }
    // Block 0 of the result draws from many input blocks (ids / 10 is the input block).
    let key = shuffled.x().block_layer().block_key(0);
    let v = Scheduler::sync().compute(&shuffled.x().graph(), &[key]).unwrap();
    let sources: BTreeSet<i64> =
        v[0].get::<Array2<f64>>().unwrap().column(0).iter().map(|&id| id as i64 / 10).collect();
    assert!(sources.len() >= 5, "output block 0 drew only from input blocks {sources:?}");
    let split = TrainTestSplit { test_size: TestSize::Fraction(0.3), seed: 9, shuffle: Shuffle::Full };
    let (tr, te) = split.split(&ds).unwrap();
    let (tr, te) = (ids(&tr, &Scheduler::threaded()), ids(&te, &Scheduler::threaded()));
    assert_eq!(te.len(), 30);
    assert_eq!(tr.iter().chain(&te).copied().collect::<BTreeSet<_>>().len(), 100);
}

#[test]
fn a_dataset_persists_its_parts_in_one_computation() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    #[derive(Default)]
    struct Computes(AtomicUsize);
    impl rask_core::Callback for Computes {
        fn on_compute_start(&self, _: usize) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let x = ndarray::Array2::from_shape_fn((10, 3), |(i, j)| (i * 3 + j) as f64);
    let y = ndarray::Array1::from_iter(0..10i64);
    let w = ndarray::Array1::from_elem(10, 0.5);
    let ds =
        rask_ml::Dataset::new(x.clone(), y.clone()).with_weights(w.clone()).with_chunk_rows(4).to_chunked().unwrap();
    let ds = ds.slice_rows(1, 9).unwrap();
    let count = std::sync::Arc::new(Computes::default());
    let s = rask_core::Scheduler::sync().with_callback(count.clone());
    let p = ds.persist_on(&s).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    let s = rask_core::Scheduler::sync();
    assert_eq!(p.x().compute_on(&s).unwrap(), x.slice(ndarray::s![1..9, ..]));
    assert_eq!(p.y().unwrap().compute_on(&s).unwrap(), y.slice(ndarray::s![1..9]));
    assert_eq!(p.weights().unwrap().compute_on(&s).unwrap(), w.slice(ndarray::s![1..9]));
    // Persisted blocks are data: computing them again only reads the data nodes.
    let out = s.compute_with(&p.x().graph(), &p.x().block_keys(), &rask_core::ComputeOptions::new()).unwrap();
    assert_eq!(out.stats.tasks_run, p.x().n_blocks());
    assert_eq!(p.x().graph().len(), p.x().n_blocks());
}
