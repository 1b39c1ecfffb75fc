//! Chunked arrays against the same computation done with ndarray on the whole array, for
//! several chunkings (uneven blocks and a single block included) on every scheduler.

use std::sync::Arc;

use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rask_core::{Registry, Scheduler};
use rask_ml::{ChunkedArray, Chunks, MlError, ReduceOptions};

fn registry() -> Arc<Registry> {
    Arc::new(rask_ml::registry_builder().build().unwrap())
}

fn schedulers() -> Vec<Scheduler> {
    vec![Scheduler::sync(), Scheduler::threaded(), Scheduler::threaded_with(3).unwrap(), Scheduler::checked(registry())]
}

fn data(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Offset and scale so cancellation in the variance would show.
    Array2::from_shape_fn((rows, cols), |(_, j)| 1e4 * (j as f64 + 1.0) + rng.gen::<f64>() * (j as f64 + 0.5))
}

/// Splits `a` into blocks of the given sizes.
fn blocks_of(a: &Array2<f64>, sizes: &[usize]) -> Vec<Array2<f64>> {
    let mut start = 0;
    sizes
        .iter()
        .map(|&n| {
            let b = a.slice(ndarray::s![start..start + n, ..]).to_owned();
            start += n;
            b
        })
        .collect()
}

fn close(a: &Array1<f64>, b: &Array1<f64>, rel: f64) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= rel * y.abs().max(1.0) || (x.is_nan() && y.is_nan()))
}

const CHUNKINGS: &[&[usize]] = &[&[100], &[25, 25, 25, 25], &[7, 30, 1, 62], &[1; 100], &[99, 1]];

#[test]
fn column_statistics_match_ndarray() {
    let a = data(100, 5, 1);
    let mean = a.mean_axis(Axis(0)).unwrap();
    let var0 = a.var_axis(Axis(0), 0.0);
    let var1 = a.var_axis(Axis(0), 1.0);
    let sum = a.sum_axis(Axis(0));
    let min = a.fold_axis(Axis(0), f64::INFINITY, |m, &x| m.min(x));
    let max = a.fold_axis(Axis(0), f64::NEG_INFINITY, |m, &x| m.max(x));
    for &sizes in CHUNKINGS {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        for split_every in [2, 3, 8] {
            let lazy = cx.column_stats(ReduceOptions { split_every, skip_nan: false }).unwrap();
            let mut results = Vec::new();
            for s in schedulers() {
                let st = lazy.compute_on(&s).unwrap();
                assert!(st.count.iter().all(|&c| c == 100));
                assert!(close(&st.mean, &mean, 1e-13), "{sizes:?} {split_every} {}: {} vs {}", s.name(), st.mean, mean);
                assert!(close(&st.var(0), &var0, 1e-9), "{sizes:?}: {} vs {}", st.var(0), var0);
                assert!(close(&st.var(1), &var1, 1e-9));
                assert!(close(&st.std(0), &var0.mapv(f64::sqrt), 1e-9));
                assert!(close(&st.sum, &sum, 1e-13));
                assert_eq!(st.min, min);
                assert_eq!(st.max, max);
                results.push(st);
            }
            // Bit-identical across schedulers for one chunking and fan-in.
            assert!(results.windows(2).all(|w| w[0] == w[1]), "{sizes:?} split_every {split_every}");
        }
    }
}

#[test]
fn nan_handling_follows_numpy() {
    let mut a = data(40, 3, 2);
    a[[3, 1]] = f64::NAN;
    a[[17, 1]] = f64::NAN;
    for col in 0..40 {
        a[[col, 2]] = f64::NAN;
    }
    let cx = ChunkedArray::from_blocks(blocks_of(&a, &[10, 10, 20])).unwrap();
    for s in schedulers() {
        let plain = cx.column_stats(ReduceOptions { split_every: 2, skip_nan: false }).unwrap().compute_on(&s).unwrap();
        assert!(!plain.mean[0].is_nan());
        assert!(plain.mean[1].is_nan() && plain.min[1].is_nan() && plain.max[1].is_nan() && plain.var(0)[1].is_nan());
        assert!(plain.mean[2].is_nan());
        let skip = cx.column_stats(ReduceOptions { split_every: 2, skip_nan: true }).unwrap().compute_on(&s).unwrap();
        assert_eq!(skip.count.to_vec(), vec![40, 38, 0]);
        let kept: Vec<f64> = a.column(1).iter().copied().filter(|x| !x.is_nan()).collect();
        let m = kept.iter().sum::<f64>() / kept.len() as f64;
        assert!((skip.mean[1] - m).abs() < 1e-9);
        assert_eq!(skip.min[1], kept.iter().copied().fold(f64::INFINITY, f64::min));
        assert!(skip.mean[2].is_nan(), "an all-NaN column has no mean");
    }
}

#[test]
fn elementwise_and_broadcasting_match_ndarray() {
    let a = data(50, 4, 3);
    let row = [1.0, -2.0, 0.5, 4.0];
    let expected = (&a - &Array1::from(row.to_vec())) / &Array1::from(vec![2.0, 4.0, 8.0, 16.0]) * 3.0 + 1.0;
    for &sizes in &[&[50][..], &[10, 3, 37][..]] {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        let y = cx
            .sub_row(&row)
            .unwrap()
            .div_row(&[2.0, 4.0, 8.0, 16.0])
            .unwrap()
            .mul_scalar(3.0)
            .unwrap()
            .add_scalar(1.0)
            .unwrap();
        for s in schedulers() {
            let got = y.compute_on(&s).unwrap();
            assert_eq!(got.shape(), &[50, 4]);
            assert!(got.iter().zip(expected.iter()).all(|(p, q)| (p - q).abs() < 1e-9), "{}", s.name());
        }
    }
}

#[test]
fn f32_arrays_work_and_reduce_in_f64() {
    let a = data(30, 2, 4).mapv(|x| x as f32);
    let cx = ChunkedArray::<f32>::from_array(a.view(), 7).unwrap();
    assert_eq!(cx.chunks(), &Chunks::Known(vec![7, 7, 7, 7, 2]));
    let back = cx.add_scalar(1.0).unwrap().compute_on(&Scheduler::checked(registry())).unwrap();
    assert_eq!(back, a.mapv(|x| x + 1.0));
    let st = cx.column_stats(ReduceOptions::default()).unwrap().compute_on(&Scheduler::threaded()).unwrap();
    let mean: Vec<f64> = (0..2).map(|j| a.column(j).iter().map(|&x| f64::from(x)).sum::<f64>() / 30.0).collect();
    assert!((st.mean[0] - mean[0]).abs() < 1e-9 && (st.mean[1] - mean[1]).abs() < 1e-9);
}

#[test]
fn persist_keeps_blocks_and_same_data_gets_same_keys() {
    let a = data(20, 3, 5);
    let x1 = ChunkedArray::from_array(a.view(), 6).unwrap();
    let x2 = ChunkedArray::from_array(a.view(), 6).unwrap();
    assert_eq!(x1.name(), x2.name());
    assert_ne!(x1.name(), ChunkedArray::from_array(a.view(), 5).unwrap().name());
    let y = x1.add_scalar(2.0).unwrap();
    assert_eq!(y.name(), x2.add_scalar(2.0).unwrap().name(), "the same op on the same layer is the same layer");
    let p = y.persist_on(&Scheduler::threaded()).unwrap();
    assert_eq!(p.layers().n_layers(), 1);
    assert_eq!(p.compute().unwrap(), a.mapv(|v| v + 2.0));
    assert_eq!(p.name(), y.name());
}

#[test]
fn bad_input_is_a_clear_error() {
    let a = data(10, 3, 6);
    assert!(matches!(ChunkedArray::from_array(a.view(), 0), Err(MlError::InvalidParameter { name: "chunk_rows", .. })));
    assert!(matches!(ChunkedArray::<f64>::from_blocks(vec![]), Err(MlError::InvalidParameter { .. })));
    let ragged = vec![Array2::<f64>::zeros((2, 3)), Array2::zeros((2, 4))];
    let err = ChunkedArray::from_blocks(ragged).unwrap_err();
    assert_eq!(err, MlError::RaggedColumns { block: 1, expected: 3, found: 4 });
    assert_eq!(err.to_string(), "block 1 has 4 columns, but block 0 has 3");
    let empty = vec![Array2::<f64>::zeros((2, 3)), Array2::zeros((0, 3))];
    assert_eq!(ChunkedArray::from_blocks(empty).unwrap_err(), MlError::EmptyBlock { block: 1 });
    assert_eq!(
        ChunkedArray::from_array(Array2::<f64>::zeros((0, 3)).view(), 2).unwrap_err(),
        MlError::EmptyBlock { block: 0 }
    );
    let cx = ChunkedArray::from_array(a.view(), 4).unwrap();
    let err = cx.sub_row(&[1.0, 2.0]).unwrap_err();
    assert!(matches!(err, MlError::ShapeMismatch { expected: 3, found: 2, .. }), "{err}");
    let err = cx.column_stats(ReduceOptions { split_every: 1, skip_nan: false }).unwrap_err();
    assert!(err.to_string().contains("split_every"), "{err}");
}

#[test]
fn products_match_ndarray() {
    use rask_ml::ChunkedVector;
    let a = data(60, 4, 7);
    let y = Array1::from_iter((0..60).map(|i| (i as f64 * 0.3).sin()));
    let w = Array2::from_shape_fn((4, 2), |(i, j)| (i as f64 + 1.0) * if j == 0 { 1.0 } else { -0.5 });
    let xtx = a.t().dot(&a);
    let xty = a.t().dot(&y);
    let xw = a.dot(&w);
    for &sizes in &[&[60][..], &[13, 40, 7][..]] {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        let cy = ChunkedVector::from_array_with_chunks(y.view(), sizes).unwrap();
        // The same uneven blocks straight from the array.
        let uneven = ChunkedArray::from_array_with_chunks(a.view(), sizes).unwrap();
        assert_eq!(uneven.chunks(), cx.chunks());
        assert_eq!(uneven.compute().unwrap(), a);
        for s in schedulers() {
            let got = cx.xtx(2).unwrap().compute_on(&s).unwrap();
            assert!(got.iter().zip(xtx.iter()).all(|(p, q)| (p - q).abs() <= 1e-9 * q.abs().max(1.0)), "{}", s.name());
            let got = cx.xty(&cy, 3).unwrap().compute_on(&s).unwrap();
            assert_eq!(got.shape(), &[4, 1]);
            assert!(got.iter().zip(xty.iter()).all(|(p, q)| (p - q).abs() <= 1e-9 * q.abs().max(1.0)));
            let got = cx.dot(&w).unwrap().compute_on(&s).unwrap();
            assert_eq!(got.shape(), &[60, 2]);
            assert!(got.iter().zip(xw.iter()).all(|(p, q)| (p - q).abs() <= 1e-9 * q.abs().max(1.0)));
        }
    }
}

#[test]
fn datasets_check_alignment_and_vectors_round_trip() {
    use rask_ml::{ChunkedDataset, ChunkedVector};
    let a = data(20, 2, 8);
    let x = ChunkedArray::from_array(a.view(), 6).unwrap();
    let labels = Array1::from_iter((0..20).map(|i| i64::from(i % 3 == 0)));
    let y = ChunkedVector::from_array(labels.view(), 6).unwrap();
    assert_eq!(y.chunks(), x.chunks());
    let ds = ChunkedDataset::new(x.clone(), y.clone()).unwrap();
    assert_eq!(ds.y().unwrap().compute_on(&Scheduler::checked(registry())).unwrap(), labels);
    let bad = ChunkedVector::from_array(labels.view(), 5).unwrap();
    let err = ChunkedDataset::new(x.clone(), bad).unwrap_err();
    assert!(matches!(err, MlError::MisalignedChunks { .. }), "{err}");
    assert!(err.to_string().contains("[6, 6, 6, 2]") && err.to_string().contains("[5, 5, 5, 5]"), "{err}");
    let weights = ChunkedVector::from_array(Array1::from_elem(20, 1.0).view(), 6).unwrap();
    let ds = ds.with_weights(weights).unwrap();
    assert!(ds.weights().is_some());
    let unl: ChunkedDataset<f64, i64> = ChunkedDataset::unlabelled(x);
    assert!(unl.y_required("fit").unwrap_err().to_string().contains("fit needs a target"));
    let err = ChunkedVector::from_array_with_chunks(labels.view(), &[10, 9]).unwrap_err();
    assert!(matches!(err, MlError::ShapeMismatch { expected: 20, found: 19, .. }));
    let rows = ndarray::Array2::<f64>::zeros((20, 2));
    let err = ChunkedArray::from_array_with_chunks(rows.view(), &[10, 9]).unwrap_err();
    assert!(matches!(err, MlError::ShapeMismatch { expected: 20, found: 19, .. }));
    let err = ChunkedArray::from_array_with_chunks(rows.view(), &[10, 0, 10]).unwrap_err();
    assert!(matches!(err, MlError::EmptyBlock { block: 1 }), "{err}");
}

#[test]
fn map_blocks_declares_its_width_and_compute_checks_it() {
    let a = data(10, 3, 9);
    let cx = ChunkedArray::from_array(a.view(), 4).unwrap();
    // The op really produces 3 columns; declaring 2 is caught when computing.
    let wrong: ChunkedArray<f64> = cx
        .map_blocks(
            rask_ml::chunked::ops::Elementwise { op: rask_ml::BinOp::Add, rhs: rask_ml::Operand::Scalar(1.0) },
            2,
        )
        .unwrap();
    assert_eq!(wrong.n_cols(), 2);
    let err = wrong.compute_on(&Scheduler::sync()).unwrap_err();
    assert_eq!(err, MlError::RaggedColumns { block: 0, expected: 2, found: 3 });
}

#[test]
fn unknown_chunk_sizes_can_be_computed() {
    use rask_ml::BlockLayer;
    let a = data(10, 3, 10);
    let cx = ChunkedArray::from_array(a.view(), 4).unwrap();
    let unknown = ChunkedArray::<f64>::from_block_layer(
        cx.block_layer().with_chunks(Chunks::Unknown { n_blocks: 3 }).unwrap(),
        3,
    );
    assert_eq!(unknown.n_rows(), None);
    for s in schedulers() {
        let known = unknown.compute_chunk_sizes_on(&s).unwrap();
        assert_eq!(known.chunks(), &Chunks::Known(vec![4, 4, 2]));
    }
    let _: &BlockLayer = unknown.block_layer();
}

fn max_abs_diff(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn tsqr_factors_and_orthonormal_q() {
    let a = data(100, 5, 11);
    let scale = a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for &sizes in CHUNKINGS {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        let f = cx.tsqr().unwrap();
        for s in [Scheduler::threaded(), Scheduler::checked(registry())] {
            let q = f.q.compute_on(&s).unwrap();
            let r = f.r.compute_on(&s).unwrap();
            assert_eq!(q.shape(), &[100, 5]);
            assert_eq!(r.shape(), &[5, 5]);
            assert!(max_abs_diff(&q.t().dot(&q), &Array2::eye(5)) < 1e-10, "{sizes:?}: QᵀQ ≠ I");
            assert!(max_abs_diff(&q.dot(&r), &a) < 1e-10 * scale, "{sizes:?}: QR ≠ A");
            for i in 0..5 {
                for j in 0..i {
                    assert!(r[[i, j]].abs() < 1e-9 * scale, "R is not upper triangular");
                }
            }
        }
    }
}

#[test]
fn svd_matches_a_direct_svd() {
    let a = data(100, 5, 12);
    let s_ref = rask_ml::chunked::linalg::thin_svd(&a).unwrap().s;
    for &sizes in CHUNKINGS {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        let svd = cx.svd().unwrap();
        for s in [Scheduler::sync(), Scheduler::checked(registry())] {
            let u = svd.u.compute_on(&s).unwrap();
            let sv = svd.s.compute_on(&s).unwrap();
            let vt = svd.vt.compute_on(&s).unwrap();
            assert!(sv.iter().zip(s_ref.iter()).all(|(x, y)| (x - y).abs() <= 1e-10 * y), "{sizes:?}: {sv} vs {s_ref}");
            assert!(sv.windows(2).into_iter().all(|w| w[0] >= w[1]));
            assert!(max_abs_diff(&u.t().dot(&u), &Array2::eye(5)) < 1e-10);
            assert!(max_abs_diff(&vt.dot(&vt.t()), &Array2::eye(5)) < 1e-10);
            let rebuilt = (&u * &sv).dot(&vt);
            assert!(max_abs_diff(&rebuilt, &a) < 1e-9 * s_ref[0], "{sizes:?}: U S Vᵀ ≠ A");
        }
    }
}

#[test]
fn tsqr_needs_known_chunk_sizes() {
    let a = data(10, 3, 13);
    let cx = ChunkedArray::from_array(a.view(), 4).unwrap();
    let unknown = ChunkedArray::<f64>::from_block_layer(
        cx.block_layer().with_chunks(Chunks::Unknown { n_blocks: 3 }).unwrap(),
        3,
    );
    assert!(matches!(unknown.tsqr(), Err(MlError::UnknownChunkSizes { .. })));
}

#[test]
fn assignment_pass_matches_a_direct_loop() {
    let a = data(100, 3, 14);
    // Five centres (the kernel takes them eight at a time), the last a copy of the second: a
    // tie goes to the first of the equal centres, so the copy gets no rows.
    let mut centres = Array2::from_shape_fn((5, 3), |(c, j)| 1e4 * (j as f64 + 1.0) + c as f64 * 0.3);
    let second = centres.row(1).to_owned();
    centres.row_mut(4).assign(&second);
    // Direct: nearest centre per row.
    let mut counts = vec![0u64; 5];
    let mut sums = Array2::<f64>::zeros((5, 3));
    let mut inertia = 0.0;
    for r in a.rows() {
        let (best, d2) = (0..5)
            .map(|c| (c, r.iter().zip(centres.row(c)).map(|(x, m)| (x - m) * (x - m)).sum::<f64>()))
            .fold((0, f64::INFINITY), |acc, x| if x.1 < acc.1 { x } else { acc });
        counts[best] += 1;
        inertia += d2;
        sums.row_mut(best).zip_mut_with(&r, |s, &x| *s += x);
    }
    assert!(counts.iter().filter(|&&c| c > 0).count() >= 2, "the fixture should use several centres: {counts:?}");
    assert!(counts[1] > 0 && counts[4] == 0, "the tie should go to centre 1: {counts:?}");
    // One block: each centre's rows are added in row order, so the sums are the same bits.
    let one = ChunkedArray::from_array(a.view(), 100).unwrap();
    let p = one.assign_nearest(&centres, 3).unwrap().compute_on(&Scheduler::sync()).unwrap();
    assert_eq!(p.counts, counts);
    assert_eq!(p.sums, sums);
    assert!((p.inertia - inertia).abs() <= 1e-12 * inertia);
    for &sizes in CHUNKINGS {
        let cx = ChunkedArray::from_blocks(blocks_of(&a, sizes)).unwrap();
        for s in schedulers() {
            let p = cx.assign_nearest(&centres, 3).unwrap().compute_on(&s).unwrap();
            assert_eq!(p.counts, counts);
            assert!((p.inertia - inertia).abs() <= 1e-9 * inertia);
            assert!(p.sums.iter().zip(sums.iter()).all(|(x, y)| (x - y).abs() <= 1e-9 * y.abs().max(1.0)));
        }
    }
    let cx = ChunkedArray::from_array(a.view(), 30).unwrap();
    assert!(matches!(cx.assign_nearest(&Array2::zeros((2, 5)), 2), Err(MlError::ShapeMismatch { .. })));
    // No columns: an error from the pass, not a panic.
    let empty = ChunkedArray::from_array(Array2::<f64>::zeros((4, 0)).view(), 2).unwrap();
    let err = empty.assign_nearest(&Array2::zeros((2, 0)), 2).and_then(|l| l.compute_on(&Scheduler::sync()));
    let message = err.unwrap_err().to_string();
    assert!(message.contains("0 centre values") && !message.contains("panic"), "{message}");
    // Non-finite centres are refused when the pass is built; a non-finite row fails it.
    let mut bad = centres.clone();
    bad[[2, 1]] = f64::NAN;
    assert!(matches!(one.assign_nearest(&bad, 3), Err(MlError::InvalidParameter { name: "centres", .. })));
    let mut holed = a.clone();
    holed[[57, 2]] = f64::INFINITY;
    let holed = ChunkedArray::from_array(holed.view(), 30).unwrap();
    let message = holed.assign_nearest(&centres, 3).unwrap().compute_on(&Scheduler::sync()).unwrap_err().to_string();
    assert!(message.contains("row 27 of the block holds a NaN or infinite value"), "{message}");
}

#[test]
fn infinities_follow_numpy_and_fan_in_is_part_of_the_keys() {
    let a = ndarray::array![
        [1.0, f64::INFINITY, 2.0],
        [f64::INFINITY, 1.0, 4.0],
        [3.0, 2.0, 6.0],
        [f64::INFINITY, 5.0, 8.0]
    ];
    let cx = ChunkedArray::from_array(a.view(), 2).unwrap();
    for s in schedulers() {
        let st = cx.column_stats(ReduceOptions::default()).unwrap().compute_on(&s).unwrap();
        assert_eq!(st.mean[0], f64::INFINITY, "mean of [1, inf, 3, inf]");
        assert_eq!(st.mean[1], f64::INFINITY);
        assert!(st.var(0)[0].is_nan() && st.var(0)[1].is_nan(), "variance with infinities is NaN, as in NumPy");
        assert_eq!(st.mean[2], 5.0);
        assert_eq!(st.max[0], f64::INFINITY);
        assert_eq!(st.var(4)[2], f64::INFINITY, "ddof = count divides by zero");
    }
    // Two fan-ins of the same reduction in one graph must not share combine keys.
    let b = data(40, 2, 15);
    let cb = ChunkedArray::from_array(b.view(), 5).unwrap();
    let narrow = cb.column_stats(ReduceOptions { split_every: 2, skip_nan: false }).unwrap();
    let wide = cb.column_stats(ReduceOptions { split_every: 8, skip_nan: false }).unwrap();
    let mut g = narrow.graph();
    g.merge(&wide.graph());
    let vals = Scheduler::sync().compute(&g, &[narrow.key().clone(), wide.key().clone()]).unwrap();
    let n0 = vals[0].get::<rask_ml::ColumnStats>().unwrap();
    let n1 = vals[1].get::<rask_ml::ColumnStats>().unwrap();
    assert_eq!(n0.count, vec![40, 40]);
    assert_eq!(n1.count, vec![40, 40]);
}
