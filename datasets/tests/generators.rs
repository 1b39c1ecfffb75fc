//! The dataset generators: the same data on every scheduler and in any block order, the shapes
//! and chunkings documented, the statistics each parameter promises, and one refusal per
//! invalid parameter.

mod common;

#[allow(unused_imports)]
use common::{registry, same_bits, schedulers};

use std::sync::Arc;

use ndarray::{Array1, Array2};
use rask_core::{Key, Scheduler, Value, ValueCodec};
use rask_datasets::generators::{
    make_blobs, make_classification, make_counts, make_regression, BlobsParams, Centers, ClassificationParams,
    CountsParams, DatasetError, GenerateBlock, MakeBlobsBlock, MakeClassificationBlock, MakeCountsBlock,
    MakeRegressionBlock, PerFeature, RegressionParams, XyBlock, XyBlockF64Codec, XyBlockI64Codec,
};
use rask_ml::{ChunkedDataset, Element, MlError};

/// Computes features and targets in one graph (each block generated once).
fn compute<Y: Element>(d: &ChunkedDataset<f64, Y>, s: &Scheduler) -> (Array2<f64>, Array1<Y>) {
    let y = d.y().unwrap();
    let g = d.x().layers().union(y.layers()).to_graph();
    let mut keys = d.x().block_keys();
    keys.extend(y.block_layer().block_keys());
    let values = s.compute(&g, &keys).unwrap();
    let n = d.n_blocks();
    let xs: Vec<_> = values[..n].iter().map(|v| v.get::<Array2<f64>>().unwrap().view()).collect();
    let ys: Vec<_> = values[n..].iter().map(|v| v.get::<Array1<Y>>().unwrap().view()).collect();
    (ndarray::concatenate(ndarray::Axis(0), &xs).unwrap(), ndarray::concatenate(ndarray::Axis(0), &ys).unwrap())
}

fn bits(x: &Array2<f64>) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

fn bits1(y: &Array1<f64>) -> Vec<u64> {
    y.iter().map(|v| v.to_bits()).collect()
}

/// The same bits on every scheduler.
fn same_on_every_scheduler<Y: Element>(d: &ChunkedDataset<f64, Y>) -> (Array2<f64>, Array1<Y>) {
    let all: Vec<_> = schedulers().iter().map(|s| compute(d, s)).collect();
    for (x, y) in &all[1..] {
        assert_eq!(bits(x), bits(&all[0].0));
        assert_eq!(y, &all[0].1);
    }
    all.into_iter().next().unwrap()
}

fn classification() -> ClassificationParams {
    ClassificationParams::new()
        .n_samples(250)
        .n_features(7)
        .n_informative(3)
        .n_redundant(1)
        .n_repeated(1)
        .n_classes(3)
        .seed(11)
        .chunk_rows(100)
}

fn blobs() -> BlobsParams {
    BlobsParams::new().n_samples(250).n_features(3).centers(4).seed(5).chunk_rows(100)
}

fn regression() -> RegressionParams {
    RegressionParams::new().n_samples(250).n_features(6).n_informative(3).noise(0.5).seed(3).chunk_rows(100)
}

fn counts() -> CountsParams {
    CountsParams::new().n_samples(250).n_features(5).n_informative(2).seed(9).chunk_rows(100)
}

// ---------------------------------------------------------------------------------------------
// Determinism: schedulers, seeds, block order.

#[test]
fn every_generator_gives_identical_data_on_every_scheduler() {
    let (x, y) = same_on_every_scheduler(&make_classification(&classification()).unwrap());
    assert_eq!((x.dim(), y.len()), ((250, 7), 250));
    let (x, y) = same_on_every_scheduler(&make_blobs(&blobs()).unwrap().data);
    assert_eq!((x.dim(), y.len()), ((250, 3), 250));
    let (x, y) = same_on_every_scheduler(&make_regression(&regression()).unwrap().data);
    assert_eq!((x.dim(), y.len()), ((250, 6), 250));
    let (x, y) = same_on_every_scheduler(&make_counts(&counts()).unwrap().data);
    assert_eq!((x.dim(), y.len()), ((250, 5), 250));
}

#[test]
fn building_twice_gives_the_same_keys_and_data() {
    let a = make_classification(&classification()).unwrap();
    let b = make_classification(&classification()).unwrap();
    assert_eq!(a.x().name(), b.x().name());
    assert_eq!(a.y().unwrap().name(), b.y().unwrap().name());
    let c = make_classification(&classification().seed(12)).unwrap();
    assert_ne!(a.x().name(), c.x().name());
    let d = make_classification(&classification().chunk_rows(50)).unwrap();
    assert_ne!(a.x().name(), d.x().name());
}

#[test]
fn different_seeds_give_different_data() {
    let s = Scheduler::sync();
    let a = compute(&make_classification(&classification()).unwrap(), &s);
    let b = compute(&make_classification(&classification().seed(12)).unwrap(), &s);
    assert_ne!(bits(&a.0), bits(&b.0));
    assert_ne!(a.1, b.1);
    let a = compute(&make_blobs(&blobs()).unwrap().data, &s);
    let b = compute(&make_blobs(&blobs().seed(6)).unwrap().data, &s);
    assert_ne!(bits(&a.0), bits(&b.0));
    let a = make_regression(&regression()).unwrap();
    let b = make_regression(&regression().seed(4)).unwrap();
    assert_ne!(a.coef, b.coef);
    assert_ne!(bits1(&compute(&a.data, &s).1), bits1(&compute(&b.data, &s).1));
    let a = compute(&make_counts(&counts()).unwrap().data, &s);
    let b = compute(&make_counts(&counts().seed(10)).unwrap().data, &s);
    assert_ne!(bits(&a.0), bits(&b.0));
}

#[test]
fn blocks_differ_from_each_other() {
    let (x, _) = compute(&make_regression(&regression().n_samples(200)).unwrap().data, &Scheduler::sync());
    assert_ne!(bits(&x.slice(ndarray::s![..100, ..]).to_owned()), bits(&x.slice(ndarray::s![100.., ..]).to_owned()));
}

/// Each block alone, the blocks in reverse order, and the op run directly without a graph all
/// give the blocks of the full computation.
fn blocks_ignore_order<Y: Element>(d: &ChunkedDataset<f64, Y>, direct: impl Fn(u64) -> XyBlock<Y>) {
    let s = Scheduler::threaded();
    let (x, y) = compute(d, &s);
    let sizes = d.x().chunks().sizes().unwrap().to_vec();
    let starts: Vec<usize> = sizes.iter().scan(0, |acc, &n| Some(std::mem::replace(acc, *acc + n))).collect();
    let g = d.x().layers().union(d.y().unwrap().layers()).to_graph();
    let mut keys: Vec<Key> = Vec::new();
    for i in (0..d.n_blocks()).rev() {
        keys.push(d.x().block_key(i));
        keys.push(d.y().unwrap().block_key(i));
    }
    let reversed = s.compute(&g, &keys).unwrap();
    for (pos, i) in (0..d.n_blocks()).rev().enumerate() {
        let rows = starts[i]..starts[i] + sizes[i];
        let want_x = x.slice(ndarray::s![rows.clone(), ..]).to_owned();
        let want_y = y.slice(ndarray::s![rows]).to_owned();
        let alone = Scheduler::sync().compute(&g, &[d.x().block_key(i), d.y().unwrap().block_key(i)]).unwrap();
        for (xv, yv) in [(&reversed[2 * pos], &reversed[2 * pos + 1]), (&alone[0], &alone[1])] {
            assert_eq!(bits(xv.get::<Array2<f64>>().unwrap()), bits(&want_x), "block {i}");
            assert_eq!(yv.get::<Array1<Y>>().unwrap(), &want_y, "block {i}");
        }
        let b = direct(i as u64);
        assert_eq!(bits(&b.x), bits(&want_x), "block {i} generated directly");
        assert_eq!(*b.y, want_y);
    }
}

#[test]
fn a_block_is_the_same_whatever_order_blocks_are_computed_in() {
    let p = classification();
    let spec = Arc::new(p.spec().unwrap());
    blocks_ignore_order(&make_classification(&p).unwrap(), |block| {
        MakeClassificationBlock { spec: spec.clone(), block }.generate().unwrap()
    });
    let p = blobs();
    let spec = Arc::new(p.spec().unwrap());
    blocks_ignore_order(&make_blobs(&p).unwrap().data, |block| {
        MakeBlobsBlock { spec: spec.clone(), block }.generate().unwrap()
    });
    let p = regression();
    let spec = Arc::new(p.spec().unwrap());
    blocks_ignore_order(&make_regression(&p).unwrap().data, |block| {
        MakeRegressionBlock { spec: spec.clone(), block }.generate().unwrap()
    });
    let p = counts();
    let spec = Arc::new(p.spec().unwrap());
    blocks_ignore_order(&make_counts(&p).unwrap().data, |block| {
        MakeCountsBlock { spec: spec.clone(), block }.generate().unwrap()
    });
}

#[test]
fn a_block_that_does_not_exist_is_an_error() {
    let spec = Arc::new(classification().spec().unwrap());
    let e = GenerateBlock { spec, block: 3 }.generate().unwrap_err();
    assert!(e.message().contains("block 3 does not exist"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Shapes and chunkings.

#[test]
fn shapes_and_chunks_are_as_documented_with_an_uneven_last_block() {
    let c = make_classification(&classification()).unwrap();
    assert_eq!(c.x().chunks().sizes(), Some(&[100, 100, 50][..]));
    assert_eq!(c.y().unwrap().chunks().sizes(), Some(&[100, 100, 50][..]));
    assert_eq!((c.x().n_cols(), c.x().n_rows(), c.y().unwrap().len()), (7, Some(250), Some(250)));
    let b = make_blobs(&blobs().chunk_rows(64)).unwrap();
    assert_eq!(b.data.x().chunks().sizes(), Some(&[64, 64, 64, 58][..]));
    assert_eq!(b.centers.dim(), (4, 3));
    let r = make_regression(&regression().chunk_rows(250)).unwrap();
    assert_eq!(r.data.x().chunks().sizes(), Some(&[250][..]));
    assert_eq!(r.coef.len(), 6);
    let k = make_counts(&counts().chunk_rows(1000)).unwrap();
    assert_eq!(k.data.x().chunks().sizes(), Some(&[250][..]));
    assert_eq!(k.data.x().n_cols(), 5);
    // One row.
    let one = make_blobs(&blobs().n_samples(1)).unwrap();
    assert_eq!(compute(&one.data, &Scheduler::sync()).0.dim(), (1, 3));
}

#[test]
fn the_registry_lists_every_op_under_the_crate_prefix() {
    let reg = registry();
    let names: Vec<_> = rask_datasets::OPS.iter().map(|e| e.name).collect();
    for generator in ["blobs", "classification", "regression", "counts"] {
        let op = format!("rask.datasets.make_{generator}_block");
        assert!(names.contains(&op.as_str()), "{op} is not registered");
    }
    assert!(names.iter().all(|n| n.starts_with("rask.datasets.")), "{names:?}");
    for n in names {
        assert!(reg.op(n, 1).is_ok(), "{n}");
    }
}

#[test]
fn block_codecs_round_trip_and_refuse_truncated_bytes() {
    let b =
        XyBlock { x: Arc::new(ndarray::array![[1.0, 2.0], [3.0, f64::NAN]]), y: Arc::new(ndarray::array![4i64, 5]) };
    let mut bytes = Vec::new();
    XyBlockI64Codec::encode(&b, &mut bytes).unwrap();
    let back = XyBlockI64Codec::decode(&bytes).unwrap();
    assert_eq!(bits(&back.x), bits(&b.x));
    assert_eq!(back.y, b.y);
    for cut in 0..bytes.len() {
        assert!(XyBlockI64Codec::decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    let f = XyBlock { x: Arc::new(Array2::zeros((1, 3))), y: Arc::new(ndarray::array![0.5]) };
    let mut bytes = Vec::new();
    XyBlockF64Codec::encode(&f, &mut bytes).unwrap();
    assert_eq!(XyBlockF64Codec::decode(&bytes).unwrap(), f);
    // Rows and targets that disagree are refused.
    let bad = XyBlock { x: Arc::new(Array2::zeros((2, 1))), y: Arc::new(ndarray::array![0.5]) };
    let mut bytes = Vec::new();
    XyBlockF64Codec::encode(&bad, &mut bytes).unwrap();
    assert!(XyBlockF64Codec::decode(&bytes).is_err());
    // The selection ops refuse anything but a generated block.
    let e = rask_core::Op::run(&rask_datasets::generators::BlockX, &[Value::new(1.0f64)]).unwrap_err();
    assert!(e.message().contains("generated (x, y) block"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// make_classification.

fn class_fractions(y: &Array1<i64>, n_classes: usize) -> Vec<f64> {
    let mut c = vec![0usize; n_classes];
    for &l in y {
        c[l as usize] += 1;
    }
    c.into_iter().map(|n| n as f64 / y.len() as f64).collect()
}

#[test]
fn labels_are_in_range_and_follow_the_weights() {
    let p = ClassificationParams::new()
        .n_samples(4000)
        .n_features(5)
        .n_informative(3)
        .n_classes(3)
        .weights(vec![0.6, 0.3, 0.1])
        .flip_y(0.0)
        .seed(1)
        .chunk_rows(512);
    let (_, y) = compute(&make_classification(&p).unwrap(), &Scheduler::threaded());
    assert!(y.iter().all(|&l| (0..3).contains(&l)));
    let f = class_fractions(&y, 3);
    for (got, want) in f.iter().zip([0.6, 0.3, 0.1]) {
        assert!((got - want).abs() < 0.01, "{f:?}");
    }
    // n_classes - 1 weights: the last class gets the rest.
    let (_, y) = compute(&make_classification(&p.clone().weights(vec![0.2, 0.2])).unwrap(), &Scheduler::sync());
    let f = class_fractions(&y, 3);
    for (got, want) in f.iter().zip([0.2, 0.2, 0.6]) {
        assert!((got - want).abs() < 0.01, "{f:?}");
    }
    // Balanced by default; a weight of 0 gives no rows at all.
    let (_, y) = compute(&make_classification(&p.clone().weights(vec![0.5, 0.0, 0.5])).unwrap(), &Scheduler::sync());
    assert!(!y.iter().any(|&l| l == 1));
    let mut balanced = p.clone();
    balanced.weights = None;
    let (_, y) = compute(&make_classification(&balanced).unwrap(), &Scheduler::sync());
    assert!(class_fractions(&y, 3).iter().all(|f| (f - 1.0 / 3.0).abs() < 0.01));
}

/// Fraction of rows whose label is not the class with the nearest class mean.
fn nearest_centroid_error(x: &Array2<f64>, y: &Array1<i64>, n_classes: usize) -> f64 {
    let p = x.ncols();
    let mut means = Array2::<f64>::zeros((n_classes, p));
    let mut n = vec![0.0; n_classes];
    for (row, &l) in x.rows().into_iter().zip(y) {
        let mut m = means.row_mut(l as usize);
        m += &row;
        n[l as usize] += 1.0;
    }
    for (mut m, n) in means.rows_mut().into_iter().zip(&n) {
        m /= *n;
    }
    let wrong = x
        .rows()
        .into_iter()
        .zip(y)
        .filter(|(row, &l)| {
            let d = |k: usize| means.row(k).iter().zip(row.iter()).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
            (0..n_classes).min_by(|&a, &b| d(a).total_cmp(&d(b))).unwrap() != l as usize
        })
        .count();
    wrong as f64 / y.len() as f64
}

#[test]
fn well_separated_classes_are_separated_by_a_nearest_centroid_rule() {
    let p = ClassificationParams::new()
        .n_samples(2000)
        .n_features(5)
        .n_informative(2)
        .n_redundant(0)
        .n_classes(4)
        .n_clusters_per_class(1)
        .class_sep(5.0)
        .flip_y(0.0)
        .seed(2)
        .chunk_rows(300);
    let (x, y) = compute(&make_classification(&p).unwrap(), &Scheduler::threaded());
    let err = nearest_centroid_error(&x, &y, 4);
    assert!(err < 0.02, "{err}");
    // flip_y = 0.5 with two classes relabels half the rows at random: a quarter change class.
    let p = p.n_classes(2).flip_y(0.5);
    let (x, y) = compute(&make_classification(&p).unwrap(), &Scheduler::threaded());
    let err = nearest_centroid_error(&x, &y, 2);
    assert!((err - 0.25).abs() < 0.04, "{err}");
}

#[test]
fn without_shuffle_columns_and_rows_keep_their_structure() {
    let p = ClassificationParams::new()
        .n_samples(300)
        .n_features(8)
        .n_informative(1)
        .n_redundant(1)
        .n_repeated(3)
        .n_classes(2)
        .n_clusters_per_class(1)
        .flip_y(0.0)
        .shuffle(false)
        .seed(4)
        .chunk_rows(128);
    let (x, y) = compute(&make_classification(&p).unwrap(), &Scheduler::sync());
    // Redundant column 1 is a fixed multiple of informative column 0.
    let ratio = x[[0, 1]] / x[[0, 0]];
    assert!(x.rows().into_iter().all(|r| (r[1] - ratio * r[0]).abs() < 1e-9 * (1.0 + r[1].abs())));
    // Repeated columns 2..5 copy column 0 or 1 exactly; the useless ones 5..8 copy nothing.
    for j in 2..5 {
        assert!((0..2).any(|src| x.column(j) == x.column(src)), "column {j}");
    }
    for j in 5..8 {
        assert!((0..5).all(|src| x.column(j) != x.column(src)), "column {j}");
    }
    // Within each block, rows are sorted by cluster (here: by class).
    for block in y.as_slice().unwrap().chunks(128) {
        assert!(block.windows(2).all(|w| w[0] <= w[1]), "{block:?}");
    }
    // With shuffle, both orders change.
    let (xs, ys) = compute(&make_classification(&p.shuffle(true)).unwrap(), &Scheduler::sync());
    assert!(!ys.as_slice().unwrap()[..128].windows(2).all(|w| w[0] <= w[1]));
    assert_ne!(bits(&xs), bits(&x));
}

#[test]
fn shift_and_scale_are_applied_per_feature() {
    let p = classification().flip_y(0.0);
    let s = Scheduler::sync();
    let (x, y) = compute(&make_classification(&p).unwrap(), &s);
    let (x2, y2) = compute(&make_classification(&p.clone().shift(1.0).scale(2.0)).unwrap(), &s);
    assert_eq!(y, y2);
    assert!(x.iter().zip(&x2).all(|(a, b)| ((a + 1.0) * 2.0).to_bits() == b.to_bits()));
    // Per-feature values: without shuffle, value j goes to column j.
    let p = p.shuffle(false);
    let (x, _) = compute(&make_classification(&p).unwrap(), &s);
    let shift: Vec<f64> = (0..7).map(f64::from).collect();
    let scale: Vec<f64> = (1..8).map(f64::from).collect();
    let (x2, _) = compute(&make_classification(&p.clone().shift(shift.clone()).scale(scale.clone())).unwrap(), &s);
    for ((i, j), v) in x2.indexed_iter() {
        assert_eq!(v.to_bits(), ((x[[i, j]] + shift[j]) * scale[j]).to_bits());
    }
    // Random: drawn, so the features change but the labels (block streams) do not.
    let (x3, y3) = compute(&make_classification(&p.shift(PerFeature::Random).scale(PerFeature::Random)).unwrap(), &s);
    let (x0, y0) = compute(&make_classification(&classification().flip_y(0.0).shuffle(false)).unwrap(), &s);
    assert_eq!(y3, y0);
    assert_ne!(bits(&x3), bits(&x0));
}

#[test]
fn hypercube_false_moves_the_centroids_but_not_the_labels() {
    let s = Scheduler::sync();
    let (x, y) = compute(&make_classification(&classification()).unwrap(), &s);
    let (x2, y2) = compute(&make_classification(&classification().hypercube(false)).unwrap(), &s);
    assert_eq!(y, y2);
    assert_ne!(bits(&x), bits(&x2));
}

// ---------------------------------------------------------------------------------------------
// make_blobs.

#[test]
fn blob_points_lie_around_their_centres_with_the_given_spread() {
    let stds = vec![0.5, 1.0, 2.0];
    let p =
        BlobsParams::new().n_samples(3000).n_features(2).centers(3).cluster_std(stds.clone()).seed(8).chunk_rows(700);
    let blobs = make_blobs(&p).unwrap();
    let (x, y) = compute(&blobs.data, &Scheduler::threaded());
    assert!(blobs.centers.iter().all(|c| (-10.0..10.0).contains(c)));
    for (k, &std) in stds.iter().enumerate() {
        let dev: Vec<f64> = x
            .rows()
            .into_iter()
            .zip(&y)
            .filter(|(_, &l)| l == k as i64)
            .flat_map(|(r, _)| r.iter().zip(blobs.centers.row(k)).map(|(a, c)| a - c).collect::<Vec<_>>())
            .collect();
        let n = dev.len() as f64;
        let mean = dev.iter().sum::<f64>() / n;
        let sd = (dev.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.1 * std, "centre {k}: mean deviation {mean}");
        assert!((sd / std - 1.0).abs() < 0.06, "centre {k}: sd {sd} vs {std}");
        // Each block holds an even share of every centre.
        assert!((dev.len() / 2).abs_diff(1000) <= 5, "centre {k}: {} rows", dev.len() / 2);
    }
}

#[test]
fn explicit_centres_fix_the_width_and_the_box_bounds_drawn_centres() {
    let centres = ndarray::array![[0.0, 0.0, 0.0], [100.0, 100.0, 100.0]];
    let p = BlobsParams::new().n_samples(200).centers(centres.clone()).cluster_std(0.1).chunk_rows(64);
    let b = make_blobs(&p).unwrap();
    assert_eq!(b.centers, centres);
    let (x, y) = compute(&b.data, &Scheduler::sync());
    assert_eq!(x.ncols(), 3);
    for (r, &l) in x.rows().into_iter().zip(&y) {
        assert!(r.iter().all(|&v| (v - 100.0 * l as f64).abs() < 1.0));
    }
    let b = make_blobs(&BlobsParams::new().centers(20).n_features(4).center_box(5.0, 6.0)).unwrap();
    assert_eq!(b.centers.dim(), (20, 4));
    assert!(b.centers.iter().all(|c| (5.0..=6.0).contains(c)));
}

#[test]
fn blobs_without_shuffle_are_sorted_by_centre_within_each_block() {
    let p = blobs().shuffle(false).chunk_rows(50);
    let (_, y) = compute(&make_blobs(&p).unwrap().data, &Scheduler::sync());
    for block in y.as_slice().unwrap().chunks(50) {
        assert!(block.windows(2).all(|w| w[0] <= w[1]), "{block:?}");
    }
    let (_, y) = compute(&make_blobs(&p.shuffle(true)).unwrap().data, &Scheduler::sync());
    assert!(!y.as_slice().unwrap()[..50].windows(2).all(|w| w[0] <= w[1]));
}

// ---------------------------------------------------------------------------------------------
// make_regression.

#[test]
fn regression_targets_are_exactly_the_linear_model_without_noise() {
    let p = regression().noise(0.0).bias(3.5);
    let r = make_regression(&p).unwrap();
    let (x, y) = same_on_every_scheduler(&r.data);
    for (row, &t) in x.rows().into_iter().zip(&y) {
        let dot = row.iter().zip(&r.coef).fold(0.0, |s, (v, c)| s + v * c);
        assert_eq!(t.to_bits(), (dot + 3.5).to_bits());
    }
    let nonzero: Vec<f64> = r.coef.iter().copied().filter(|&c| c != 0.0).collect();
    assert_eq!(nonzero.len(), 3);
    assert!(nonzero.iter().all(|c| (0.0..100.0).contains(c)));
    // Without shuffle the informative features come first.
    let r = make_regression(&p.shuffle(false)).unwrap();
    assert!(r.coef.iter().take(3).all(|&c| c != 0.0) && r.coef.iter().skip(3).all(|&c| c == 0.0));
}

#[test]
fn regression_noise_has_the_given_spread() {
    let r = make_regression(&regression().n_samples(4000).noise(2.0).chunk_rows(1000)).unwrap();
    let (x, y) = compute(&r.data, &Scheduler::threaded());
    let resid: Vec<f64> = x.rows().into_iter().zip(&y).map(|(row, &t)| t - row.dot(&r.coef)).collect();
    let n = resid.len() as f64;
    let mean = resid.iter().sum::<f64>() / n;
    let sd = (resid.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!(mean.abs() < 0.15, "{mean}");
    assert!((sd / 2.0 - 1.0).abs() < 0.05, "{sd}");
}

// ---------------------------------------------------------------------------------------------
// make_counts.

#[test]
fn counts_are_whole_non_negative_numbers_with_the_poisson_mean() {
    let p = CountsParams::new().n_samples(4000).n_features(6).n_informative(3).seed(21).chunk_rows(900);
    let c = make_counts(&p).unwrap();
    let nonzero: Vec<f64> = c.coef.iter().copied().filter(|&v| v != 0.0).collect();
    assert_eq!(nonzero.len(), 3);
    assert!(nonzero.iter().all(|v| (-1.0..=0.0).contains(v)));
    let (x, y) = same_on_every_scheduler(&c.data);
    assert!(y.iter().all(|&v| v >= 0.0 && v.fract() == 0.0));
    let rates: Vec<f64> = x.rows().into_iter().map(|r| r.dot(&c.coef).exp()).collect();
    let mean_rate = rates.iter().sum::<f64>() / rates.len() as f64;
    let mean_y = y.sum() / y.len() as f64;
    assert!((mean_y / mean_rate - 1.0).abs() < 0.05, "{mean_y} vs {mean_rate}");
    // scale multiplies the coefficients drawn from the same stream.
    let c2 = make_counts(&p.scale(0.5)).unwrap();
    assert!(c2.coef.iter().zip(&c.coef).all(|(a, b)| (a - 0.5 * b).abs() < 1e-15));
}

// ---------------------------------------------------------------------------------------------
// Invalid parameters: one refusal each, naming the field.

macro_rules! refused {
    ($name:ident, $call:expr, $pat:pat, $mentions:literal) => {
        #[test]
        fn $name() {
            let e: DatasetError = $call.map(|_| ()).unwrap_err();
            assert!(matches!(e, $pat), "{e:?}");
            assert!(e.to_string().contains($mentions), "{e}");
        }
    };
}

use DatasetError::*;

refused!(
    classification_n_samples_zero,
    make_classification(&classification().n_samples(0)),
    TooSmall { param: "n_samples", .. },
    "n_samples"
);
refused!(
    classification_chunk_rows_zero,
    make_classification(&classification().chunk_rows(0)),
    TooSmall { param: "chunk_rows", .. },
    "chunk_rows"
);
refused!(
    classification_n_features_zero,
    make_classification(&classification().n_features(0)),
    TooSmall { param: "n_features", .. },
    "n_features"
);
refused!(
    classification_n_informative_zero,
    make_classification(&classification().n_informative(0)),
    TooSmall { param: "n_informative", .. },
    "n_informative"
);
refused!(
    classification_n_classes_zero,
    make_classification(&classification().n_classes(0)),
    TooSmall { param: "n_classes", .. },
    "n_classes"
);
refused!(
    classification_n_clusters_per_class_zero,
    make_classification(&classification().n_clusters_per_class(0)),
    TooSmall { param: "n_clusters_per_class", .. },
    "n_clusters_per_class"
);
refused!(
    classification_structured_features_exceed_n_features,
    make_classification(&classification().n_informative(4).n_redundant(2).n_repeated(2)),
    FeatureBudget { n_informative: 4, n_redundant: 2, n_repeated: 2, n_features: 7 },
    "must be at most n_features (7)"
);
refused!(
    classification_more_clusters_than_hypercube_vertices,
    make_classification(&classification().n_informative(2).n_classes(3).n_clusters_per_class(2)),
    TooManyClusters { n_classes: 3, n_clusters_per_class: 2, n_informative: 2 },
    "2^min(n_informative, 30)"
);
refused!(
    classification_weights_of_the_wrong_length,
    make_classification(&classification().weights(vec![0.2, 0.2, 0.2, 0.4])),
    WrongLength { param: "weights", found: 4, .. },
    "3 or 2"
);
refused!(
    classification_weights_not_summing_to_one,
    make_classification(&classification().weights(vec![0.5, 0.5, 0.5])),
    WeightsSum { .. },
    "must sum to 1"
);
refused!(
    classification_short_weights_over_one,
    make_classification(&classification().weights(vec![0.7, 0.7])),
    WeightsSum { .. },
    "at most 1"
);
refused!(
    classification_negative_weight,
    make_classification(&classification().weights(vec![1.2, -0.2, 0.0])),
    OutOfRange { param: "weights", .. },
    "weights"
);
refused!(
    classification_flip_y_above_one,
    make_classification(&classification().flip_y(1.5)),
    OutOfRange { param: "flip_y", .. },
    "in [0, 1]"
);
refused!(
    classification_flip_y_negative,
    make_classification(&classification().flip_y(-0.1)),
    OutOfRange { param: "flip_y", .. },
    "flip_y"
);
refused!(
    classification_flip_y_nan,
    make_classification(&classification().flip_y(f64::NAN)),
    OutOfRange { param: "flip_y", .. },
    "flip_y"
);
refused!(
    classification_class_sep_zero,
    make_classification(&classification().class_sep(0.0)),
    OutOfRange { param: "class_sep", .. },
    "class_sep"
);
refused!(
    classification_shift_of_the_wrong_length,
    make_classification(&classification().shift(vec![0.0; 3])),
    WrongLength { param: "shift", found: 3, .. },
    "shift"
);
refused!(
    classification_shift_infinite,
    make_classification(&classification().shift(f64::INFINITY)),
    OutOfRange { param: "shift", .. },
    "finite"
);
refused!(
    classification_scale_not_positive,
    make_classification(&classification().scale(vec![1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])),
    OutOfRange { param: "scale", .. },
    "> 0"
);

refused!(blobs_n_samples_zero, make_blobs(&blobs().n_samples(0)), TooSmall { param: "n_samples", .. }, "n_samples");
refused!(blobs_chunk_rows_zero, make_blobs(&blobs().chunk_rows(0)), TooSmall { param: "chunk_rows", .. }, "chunk_rows");
refused!(blobs_n_features_zero, make_blobs(&blobs().n_features(0)), TooSmall { param: "n_features", .. }, "n_features");
refused!(blobs_no_centres, make_blobs(&blobs().centers(0)), TooSmall { param: "centers", .. }, "centers");
refused!(
    blobs_explicit_centres_of_another_width,
    make_blobs(&blobs().centers(Centers::Explicit(Array2::zeros((2, 4))))),
    CentersWidth { n_features: 3, columns: 4 },
    "n_features is 3"
);
refused!(
    blobs_non_finite_centre,
    make_blobs(&BlobsParams::new().centers(ndarray::array![[0.0, f64::NAN]])),
    OutOfRange { param: "centers", .. },
    "finite"
);
refused!(
    blobs_cluster_std_per_centre_of_the_wrong_length,
    make_blobs(&blobs().cluster_std(vec![1.0, 2.0])),
    WrongLength { param: "cluster_std", found: 2, .. },
    "one per centre"
);
refused!(
    blobs_negative_cluster_std,
    make_blobs(&blobs().cluster_std(-1.0)),
    OutOfRange { param: "cluster_std", .. },
    ">= 0"
);
refused!(blobs_inverted_center_box, make_blobs(&blobs().center_box(1.0, -1.0)), CenterBox { .. }, "low <= high");

refused!(
    regression_n_samples_zero,
    make_regression(&regression().n_samples(0)),
    TooSmall { param: "n_samples", .. },
    "n_samples"
);
refused!(
    regression_chunk_rows_zero,
    make_regression(&regression().chunk_rows(0)),
    TooSmall { param: "chunk_rows", .. },
    "chunk_rows"
);
refused!(
    regression_n_features_zero,
    make_regression(&regression().n_features(0).n_informative(0)),
    TooSmall { param: "n_features", .. },
    "n_features"
);
refused!(
    regression_more_informative_than_features,
    make_regression(&regression().n_informative(7)),
    InformativeExceedsFeatures { n_informative: 7, n_features: 6 },
    "at most n_features (6)"
);
refused!(
    regression_several_targets,
    make_regression(&regression().n_targets(2)),
    Unsupported { param: "n_targets", .. },
    "only one target"
);
refused!(
    regression_effective_rank,
    make_regression(&regression().effective_rank(Some(3))),
    Unsupported { param: "effective_rank", .. },
    "only None"
);
refused!(
    regression_negative_noise,
    make_regression(&regression().noise(-1.0)),
    OutOfRange { param: "noise", .. },
    "noise"
);
refused!(regression_nan_bias, make_regression(&regression().bias(f64::NAN)), OutOfRange { param: "bias", .. }, "bias");

refused!(counts_n_samples_zero, make_counts(&counts().n_samples(0)), TooSmall { param: "n_samples", .. }, "n_samples");
refused!(
    counts_chunk_rows_zero,
    make_counts(&counts().chunk_rows(0)),
    TooSmall { param: "chunk_rows", .. },
    "chunk_rows"
);
refused!(
    counts_n_features_zero,
    make_counts(&counts().n_features(0).n_informative(0)),
    TooSmall { param: "n_features", .. },
    "n_features"
);
refused!(
    counts_more_informative_than_features,
    make_counts(&counts().n_informative(6)),
    InformativeExceedsFeatures { n_informative: 6, n_features: 5 },
    "n_informative (6)"
);
refused!(counts_negative_scale, make_counts(&counts().scale(-0.5)), OutOfRange { param: "scale", .. }, "scale");

#[test]
fn a_huge_scale_fails_the_block_with_a_clear_error() {
    let c = make_counts(&counts().scale(1e6)).unwrap();
    let e = c.data.y().unwrap().compute_on(&Scheduler::sync()).unwrap_err();
    assert!(e.to_string().contains("above 2^53"), "{e}");
}

// Oversized requests (issue #13, section 2): refused with an error that states the numbers and
// the limit, before any chunk metadata, graph or block is allocated. Each of these aborted the
// process before the limits existed. They run under the default limits (one million blocks, a
// quarter of the machine's memory per block).

const TRILLION: usize = 1_000_000_000_000;

fn default_limits() -> rask_ml::Limits {
    rask_ml::Limits::current().unwrap()
}

#[test]
fn a_trillion_rows_are_refused_before_the_graph_is_built() {
    // Default blocks of 100 rows: 10^10 blocks, whose chunk metadata alone was an 80 GB allocation.
    let started = std::time::Instant::now();
    let e = make_classification(&ClassificationParams::new().n_samples(TRILLION)).unwrap_err();
    let limit = default_limits().max_blocks;
    assert!(
        matches!(&e, Ml(MlError::TooManyBlocks { n_blocks: 10_000_000_000, block_rows: 100, limit: l, .. }) if *l == limit),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.starts_with("make_classification: 10000000000 blocks of 100 rows"), "{text}");
    assert!(text.contains("n_samples = 1000000000000, chunk_rows = 100"), "{text}");
    assert!(text.contains(&format!("block-count limit of {limit}")) && text.contains("RASK_MAX_BLOCKS"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "refused without allocating");
}

#[test]
fn usize_max_rows_are_refused_by_every_generator_naming_n_samples() {
    let errors = [
        make_classification(&classification().n_samples(usize::MAX)).map(|_| ()).unwrap_err(),
        make_regression(&regression().n_samples(usize::MAX)).map(|_| ()).unwrap_err(),
        make_blobs(&blobs().n_samples(usize::MAX)).map(|_| ()).unwrap_err(),
        make_counts(&counts().n_samples(usize::MAX)).map(|_| ()).unwrap_err(),
    ];
    for (e, what) in errors.iter().zip(["make_classification", "make_regression", "make_blobs", "make_counts"]) {
        assert!(matches!(e, Ml(MlError::TooManyBlocks { block_rows: 100, .. })), "{e:?}");
        let text = e.to_string();
        assert!(text.starts_with(what) && text.contains(&format!("n_samples = {}", usize::MAX)), "{text}");
    }
}

#[test]
fn a_trillion_rows_in_100k_row_blocks_are_refused_with_the_block_count() {
    // 10^7 blocks: the graph built, then fitting a scaler on it aborted at 8 GB.
    let e = make_regression(&RegressionParams::new().n_samples(TRILLION).chunk_rows(100_000)).map(|_| ()).unwrap_err();
    assert!(matches!(e, Ml(MlError::TooManyBlocks { n_blocks: 10_000_000, block_rows: 100_000, .. })), "{e:?}");
    assert!(e.to_string().contains("10000000 blocks of 100000 rows"), "{e}");
}

#[test]
fn one_block_of_a_trillion_rows_is_refused_before_any_task_runs() {
    // One block: the graph built, then the block task aborted allocating it.
    let e = make_classification(&ClassificationParams::new().n_samples(TRILLION).chunk_rows(TRILLION)).unwrap_err();
    let limit = default_limits().max_block_bytes;
    assert!(
        matches!(
            &e,
            Ml(MlError::BlockTooLarge { rows: 1_000_000_000_000, n_cols: 20, elem_bytes: 8, bytes: Some(160_000_000_000_000), limit: l, .. })
                if *l == limit
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("chunk_rows = 1000000000000") && text.contains("RASK_MAX_BLOCK_BYTES"), "{text}");
}

#[test]
fn huge_feature_and_centre_counts_are_refused_before_anything_is_drawn() {
    // n_samples × n_features overflows 64 bits: refused, not wrapped.
    let e = make_regression(&regression().n_features(usize::MAX)).map(|_| ()).unwrap_err();
    assert!(matches!(e, Ml(MlError::BlockTooLarge { bytes: None, .. })), "{e:?}");
    assert!(e.to_string().contains(&format!("n_features = {}", usize::MAX)), "{e}");
    let e = make_counts(&counts().n_samples(10).n_features(1 << 60)).map(|_| ()).unwrap_err();
    assert!(matches!(e, Ml(MlError::BlockTooLarge { rows: 10, .. })), "{e:?}");
    // make_blobs draws its counted centres into one array when the graph is built.
    let e = make_blobs(&blobs().centers(TRILLION)).map(|_| ()).unwrap_err();
    assert!(matches!(e, Ml(MlError::BlockTooLarge { rows: 1_000_000_000_000, n_cols: 3, .. })), "{e:?}");
    assert!(e.to_string().contains("centers = 1000000000000"), "{e}");
}
