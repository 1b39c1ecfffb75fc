#![cfg(feature = "parquet")]
//! Parquet files: rask's writer and reader round-trip exactly (one row group per block), files
//! written by pandas/pyarrow (fixtures made by `data/make_parquet_fixtures.py`) read back
//! exactly, and bad files or columns give clear errors.

mod common;

#[allow(unused_imports)]
use common::{registry, same_bits, schedulers};

use std::path::PathBuf;

use ndarray::{array, Array1, Array2};
use rask_core::{Scheduler, Value};
use rask_datasets::npy::LoadError;
use rask_datasets::parquet::{
    read_parquet, read_parquet_features, write_parquet, write_parquet_features, ParquetColumns, ParquetCompression,
    ParquetOptions, ParquetWriteOptions,
};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedArray, ChunkedDataset, ChunkedVector, Chunks};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-parquet-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn target(name: &str) -> ParquetOptions {
    ParquetOptions { target: Some(name.into()), ..ParquetOptions::default() }
}

/// 23 rows with NaN, infinities, negative zero and extremes, in blocks of 5, 5, 5, 5, 3.
fn features() -> Array2<f64> {
    let mut a = Array2::from_shape_fn((23, 3), |(i, j)| (i as f64 + 1.0).sqrt() * if j == 1 { -1.0 } else { 1.0 });
    a[[0, 0]] = -0.0;
    a[[3, 2]] = f64::NAN;
    a[[7, 1]] = f64::INFINITY;
    a[[8, 1]] = f64::NEG_INFINITY;
    a[[22, 2]] = f64::MIN_POSITIVE / 4.0;
    a[[21, 0]] = f64::MAX;
    a
}

#[test]
fn written_files_read_back_exactly_one_row_group_per_block() {
    let dir = temp_dir("roundtrip");
    let a = features();
    let labels = Array1::from_shape_fn(23, |i| (i as i64 % 4) - 1);
    let x = ChunkedArray::from_array(a.view(), 5).unwrap();
    let sizes = x.chunks().sizes().unwrap().to_vec();
    let y = ChunkedVector::from_array_with_chunks(labels.view(), &sizes).unwrap();
    let ds = ChunkedDataset::new(x, y).unwrap();
    for (k, s) in schedulers().iter().enumerate() {
        let path = dir.join(format!("labels-{k}.parquet"));
        let opts = ParquetWriteOptions { batch: 2, ..ParquetWriteOptions::default() };
        write_parquet(&ds, &path, s, &opts).unwrap();
        let back = read_parquet::<i64>(&path, &target("y")).unwrap();
        assert_eq!(back.x().chunks(), &Chunks::Known(vec![5, 5, 5, 5, 3]), "one block per row group");
        assert_eq!(back.x().n_cols(), 3);
        for r in schedulers() {
            assert!(same_bits(&back.x().compute_on(&r).unwrap(), &a), "written on {}, read on {}", s.name(), r.name());
            assert_eq!(back.y().unwrap().compute_on(&r).unwrap(), labels);
        }
        // Default names: x0, x1, … and y; the features reader takes every numeric column.
        let all = read_parquet_features(&path, &ParquetOptions::default()).unwrap();
        assert_eq!(all.n_cols(), 4);
        let picked = ParquetOptions {
            features: ParquetColumns::List(vec!["x2".into(), "x0".into()]),
            ..ParquetOptions::default()
        };
        let x20 = read_parquet_features(&path, &picked).unwrap().compute_on(s).unwrap();
        assert!(same_bits(&x20, &ndarray::stack![ndarray::Axis(1), a.column(2), a.column(0)]));
    }

    // f64 targets, custom names, no compression.
    let targets = Array1::from_shape_fn(23, |i| i as f64 * 0.1 - 1.0);
    let x = ChunkedArray::from_array(a.view(), 7).unwrap();
    let y = ChunkedVector::from_array_with_chunks(targets.view(), x.chunks().sizes().unwrap()).unwrap();
    let opts = ParquetWriteOptions {
        column_names: Some(vec!["alpha".into(), "beta".into(), "gamma".into()]),
        target_name: "price".into(),
        batch: 1,
        compression: ParquetCompression::None,
    };
    let path = dir.join("targets.parquet");
    write_parquet(&ChunkedDataset::new(x, y).unwrap(), &path, &Scheduler::threaded(), &opts).unwrap();
    let back = read_parquet::<f64>(&path, &target("price")).unwrap();
    assert_eq!(back.x().chunks(), &Chunks::Known(vec![7, 7, 7, 2]));
    let s = Scheduler::checked(registry());
    assert!(same_bits(&back.x().compute_on(&s).unwrap(), &a));
    assert_eq!(back.y().unwrap().compute_on(&s).unwrap(), targets);
    let err = read_parquet::<f64>(&path, &target("y")).unwrap_err();
    assert!(err.to_string().contains("no column named 'y'") && err.to_string().contains("price"), "{err}");

    // f32 features are written as Float32 columns and read back widened, exactly.
    let a32 = a.mapv(|v| v as f32);
    let x32 = ChunkedArray::from_array(a32.view(), 10).unwrap();
    let path = dir.join("f32.parquet");
    write_parquet_features(&x32, &path, &Scheduler::sync(), &ParquetWriteOptions::default()).unwrap();
    let back = read_parquet_features(&path, &ParquetOptions::default()).unwrap();
    assert_eq!(back.chunks(), &Chunks::Known(vec![10, 10, 3]));
    assert!(same_bits(&back.compute().unwrap(), &a32.mapv(f64::from)));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_blocks_write_no_row_group_and_empty_row_groups_make_no_block() {
    let dir = temp_dir("empty");
    let blocks = [array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], Array2::zeros((0, 2)), array![[7.0, 8.0]]];
    let values = blocks.into_iter().map(Value::new).collect();
    let layer = BlockLayer::from_values("with-empty".into(), Chunks::Known(vec![3, 0, 1]), values);
    let x = ChunkedArray::<f64>::from_block_layer(layer, 2);
    let path = dir.join("x.parquet");
    write_parquet_features(&x, &path, &Scheduler::sync(), &ParquetWriteOptions::default()).unwrap();
    let back = read_parquet_features(&path, &ParquetOptions::default()).unwrap();
    assert_eq!(back.chunks(), &Chunks::Known(vec![3, 1]));
    assert_eq!(back.compute().unwrap(), array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]);

    // pyarrow wrote row groups of 2, 0 and 1 rows.
    let ds = read_parquet::<i64>(data("empty_group.parquet"), &target("y")).unwrap();
    assert_eq!(ds.x().chunks(), &Chunks::Known(vec![2, 1]));
    for s in schedulers() {
        assert_eq!(ds.x().compute_on(&s).unwrap(), array![[1.0], [2.0], [3.0]]);
        assert_eq!(ds.y().unwrap().compute_on(&s).unwrap(), array![4, 5, 6]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pandas_file_reads_back_exactly() {
    // Written by pandas 2.2.3 / pyarrow 18.1.0 with Snappy pages, in row groups of 4 and 3.
    let a = [0.5, -1.25, 2.0, 1e300, -0.0, 3.75, 1.0 / 3.0];
    let b = [1.5f32, 2.5, -3.5, 0.125, 8.0, f32::NAN, 0.1];
    let c = [10i64, -20, 30, 1 << 40, 0, 7, -1];
    let d = [1i32, 2, 3, 4, 5, 6, -7];
    let expected = Array2::from_shape_fn((7, 4), |(i, j)| match j {
        0 => a[i],
        1 => f64::from(b[i]),
        2 => c[i] as f64,
        _ => f64::from(d[i]),
    });
    let ds = read_parquet::<i64>(data("small.parquet"), &target("label")).unwrap();
    assert_eq!(ds.x().chunks(), &Chunks::Known(vec![4, 3]), "row groups are the blocks");
    assert_eq!(ds.x().n_cols(), 4, "the string column and the target are not features");
    for s in schedulers() {
        let x = ds.x().compute_on(&s).unwrap();
        assert!(same_bits(&x, &expected), "on {}: {x}", s.name());
        assert!(x[[5, 1]].is_nan(), "a missing feature value is NaN");
        assert_eq!(ds.y().unwrap().compute_on(&s).unwrap(), array![0, 1, 2, 1, 0, 2, 1]);
    }
    // Columns by name, in the order given; an integer column as an f64 target.
    let opts =
        ParquetOptions { features: ParquetColumns::List(vec!["c".into(), "a".into()]), target: Some("d".into()) };
    let ds = read_parquet::<f64>(data("small.parquet"), &opts).unwrap();
    let s = Scheduler::checked(registry());
    let x = ds.x().compute_on(&s).unwrap();
    assert!(same_bits(&x, &Array2::from_shape_fn((7, 2), |(i, j)| if j == 0 { c[i] as f64 } else { a[i] })));
    assert_eq!(ds.y().unwrap().compute_on(&s).unwrap(), Array1::from_iter(d.iter().map(|&v| f64::from(v))));
    let x = read_parquet_features(data("small.parquet"), &ParquetOptions::default()).unwrap();
    assert_eq!(x.n_cols(), 5, "without a target, the label is a numeric column like the others");
}

#[test]
fn bad_files_and_columns_give_clear_errors() {
    let small = data("small.parquet");
    let err = read_parquet::<i64>(data("does_not_exist.parquet"), &target("label")).unwrap_err();
    assert!(matches!(&err, LoadError::Io { path, .. } if path.ends_with("does_not_exist.parquet")), "{err}");
    let err = read_parquet_features(data("f64_2d.npy"), &ParquetOptions::default()).unwrap_err();
    assert!(
        matches!(&err, LoadError::Format { path, message } if path.ends_with("f64_2d.npy") && message.contains("not a readable Parquet file")),
        "{err}"
    );
    let dir = temp_dir("errors");
    let garbage = dir.join("garbage.parquet");
    std::fs::write(&garbage, b"PAR1 this is not really parquet PAR1").unwrap();
    let err = read_parquet_features(&garbage, &ParquetOptions::default()).unwrap_err();
    assert!(err.to_string().contains("not a readable Parquet file"), "{err}");
    std::fs::write(&garbage, b"").unwrap();
    assert!(matches!(read_parquet_features(&garbage, &ParquetOptions::default()), Err(LoadError::Format { .. })));

    let err = read_parquet::<i64>(&small, &target("species")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("small.parquet") && msg.contains("no column named 'species'") && msg.contains("label"),
        "{msg}"
    );
    let unknown_feature =
        ParquetOptions { features: ParquetColumns::List(vec!["a".into(), "zz".into()]), target: Some("label".into()) };
    let err = read_parquet::<i64>(&small, &unknown_feature).unwrap_err();
    assert!(err.to_string().contains("no column named 'zz'"), "{err}");
    let string_feature = ParquetOptions { features: ParquetColumns::List(vec!["name".into()]), target: None };
    let err = read_parquet_features(&small, &string_feature).unwrap_err();
    assert!(err.to_string().contains("column 'name' holds Utf8 values"), "{err}");
    let err = read_parquet::<i64>(&small, &target("a")).unwrap_err();
    assert!(err.to_string().contains("'a' holds Float64 values; i64 labels"), "{err}");
    let err = read_parquet::<f64>(&small, &target("name")).unwrap_err();
    assert!(err.to_string().contains("'name' holds Utf8"), "{err}");

    // A missing target value is refused (caught from the row-group statistics).
    let err = read_parquet::<f64>(&small, &target("b")).unwrap_err();
    assert!(
        matches!(&err, LoadError::Format { message, .. } if message.contains("target column 'b' has 1 missing value(s) in row group 1")),
        "{err}"
    );

    // Without statistics, the block's task finds it.
    let ds = read_parquet::<f64>(data("null_target_no_stats.parquet"), &target("y")).unwrap();
    for s in schedulers() {
        let err = ds.y().unwrap().compute_on(&s).unwrap_err().to_string();
        assert!(err.contains("target column 'y' has a missing value at row 1 of the row group"), "{err}");
    }

    let err = read_parquet::<i64>(data("small_zstd.parquet"), &target("label")).unwrap_err();
    assert!(err.to_string().contains("column 'a' is compressed with zstd in row group 0"), "{err}");

    assert!(read_parquet::<i64>(&small, &ParquetOptions::default()).is_err(), "read_parquet needs a target");
    assert!(read_parquet_features(&small, &target("label")).is_err(), "the features reader takes no target");
    let overlap = ParquetOptions {
        features: ParquetColumns::List(vec!["a".into(), "label".into()]),
        target: Some("label".into()),
    };
    assert!(read_parquet::<i64>(&small, &overlap).unwrap_err().to_string().contains("also a feature"));

    // Writer arguments.
    let x = ChunkedArray::from_array(features().view(), 5).unwrap();
    let out = dir.join("out.parquet");
    let opts = ParquetWriteOptions { column_names: Some(vec!["only_one".into()]), ..ParquetWriteOptions::default() };
    let err = write_parquet_features(&x, &out, &Scheduler::sync(), &opts).unwrap_err();
    assert!(err.to_string().contains("1 names for 3 feature columns"), "{err}");
    assert!(!out.exists(), "nothing is written when the arguments are refused");
    let opts = ParquetWriteOptions {
        column_names: Some(vec!["a".into(), "b".into(), "y".into()]),
        ..ParquetWriteOptions::default()
    };
    let y =
        ChunkedVector::from_array_with_chunks(Array1::<f64>::zeros(23).view(), x.chunks().sizes().unwrap()).unwrap();
    let ds = ChunkedDataset::new(x.clone(), y).unwrap();
    let err = write_parquet(&ds, &out, &Scheduler::sync(), &opts).unwrap_err();
    assert!(err.to_string().contains("'y' is used twice"), "{err}");
    let opts = ParquetWriteOptions { batch: 0, ..ParquetWriteOptions::default() };
    assert!(write_parquet_features(&x, &out, &Scheduler::sync(), &opts).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_changed_after_the_graph_was_built_is_reported() {
    let dir = temp_dir("change");
    let path = dir.join("x.parquet");
    std::fs::copy(data("small.parquet"), &path).unwrap();
    let ds = read_parquet::<i64>(&path, &target("label")).unwrap();
    std::fs::copy(data("empty_group.parquet"), &path).unwrap();
    let err = ds.x().compute_on(&Scheduler::sync()).unwrap_err();
    assert!(err.to_string().contains("changed after the graph was built"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
