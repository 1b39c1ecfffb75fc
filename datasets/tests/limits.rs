//! The size limits set programmatically for the whole process ([`Limits::set_current`]): every
//! generator, loader and chunking refuses a request past them with the numbers, and accepts
//! one within them. Every test of this file (its own process) installs the same tiny limits.

mod common;

use std::path::PathBuf;

use ndarray::{Array1, Array2};
use rask_datasets::csv::{read_csv, read_csv_features, CsvColumn, CsvOptions};
use rask_datasets::generators::{
    make_blobs, make_classification, make_counts, make_regression, BlobsParams, ClassificationParams, CountsParams,
    DatasetError, RegressionParams,
};
use rask_datasets::npy::{header_bytes, read_npy, read_npy_vector, LoadError};
use rask_ml::{ChunkedArray, ChunkedVector, Limits, MlError};

/// Four blocks of at most 4 KiB: 512 `f64` values.
const TINY: Limits = Limits { max_blocks: 4, max_block_bytes: 4096 };

fn tiny() {
    Limits::set_current(Some(TINY));
    assert_eq!(Limits::current().unwrap(), TINY);
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn too_many_blocks(e: &MlError, n: u64) -> bool {
    matches!(e, MlError::TooManyBlocks { n_blocks, limit: 4, .. } if *n_blocks == n)
}

fn too_large(e: &MlError, r: u64, c: u64) -> bool {
    matches!(e, MlError::BlockTooLarge { rows, n_cols, limit: 4096, .. } if (*rows, *n_cols) == (r, c))
}

fn ml(e: DatasetError) -> MlError {
    match e {
        DatasetError::Ml(e) => e,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

fn ml_load(e: LoadError) -> MlError {
    match e {
        LoadError::Ml(e) => e,
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn every_generator_honours_the_process_limits() {
    tiny();
    // 40 rows of 10 features in blocks of 10: 4 blocks of 800 bytes, within the limits.
    let c = ClassificationParams::new().n_samples(40).n_features(10).chunk_rows(10);
    assert_eq!(make_classification(&c).unwrap().n_blocks(), 4);
    let e = ml(make_classification(&c.clone().n_samples(41)).unwrap_err());
    assert!(too_many_blocks(&e, 5), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("5 blocks of 10 rows (n_samples = 41, chunk_rows = 10, n_features = 10)"), "{text}");
    assert!(text.contains("block-count limit of 4"), "{text}");
    let e = ml(make_classification(&c.n_features(20).chunk_rows(40)).unwrap_err());
    assert!(too_large(&e, 40, 20), "{e:?}");
    assert!(e.to_string().contains("= 6400 bytes") && e.to_string().contains("limit of 4096 bytes"), "{e}");

    let r = RegressionParams::new().n_samples(40).n_features(10).chunk_rows(10);
    assert!(make_regression(&r).is_ok());
    assert!(too_many_blocks(&ml(make_regression(&r.clone().chunk_rows(5)).map(|_| ()).unwrap_err()), 8));
    assert!(too_large(&ml(make_regression(&r.n_features(100)).map(|_| ()).unwrap_err()), 10, 100));

    let k = CountsParams::new().n_samples(40).n_features(10).chunk_rows(10);
    assert!(make_counts(&k).is_ok());
    assert!(too_many_blocks(&ml(make_counts(&k.clone().chunk_rows(1)).map(|_| ()).unwrap_err()), 40));
    assert!(too_large(&ml(make_counts(&k.n_features(20).chunk_rows(40)).map(|_| ()).unwrap_err()), 40, 20));

    let b = BlobsParams::new().n_samples(40).n_features(10).centers(3).chunk_rows(10);
    assert!(make_blobs(&b).is_ok());
    assert!(too_many_blocks(&ml(make_blobs(&b.clone().chunk_rows(9)).map(|_| ()).unwrap_err()), 5));
    // 100 counted centres of 10 features are 8000 bytes, drawn into one array.
    let e = ml(make_blobs(&b.centers(100)).map(|_| ()).unwrap_err());
    assert!(too_large(&e, 100, 10) && e.to_string().contains("centers = 100"), "{e:?}");
}

#[test]
fn npy_files_are_checked_against_their_header() {
    tiny();
    // 1000 f64 values: blocks of 512 rows fit, blocks of 513 do not; blocks of 200 are 5.
    let mut bytes = header_bytes("<f8", "(1000,)");
    bytes.extend(std::iter::repeat_n(0u8, 8000));
    let p = temp("v.npy", &bytes);
    assert_eq!(read_npy_vector::<f64>(&p, 512).unwrap().n_blocks(), 2);
    let e = ml_load(read_npy_vector::<f64>(&p, 513).unwrap_err());
    assert!(too_large(&e, 513, 1) && e.to_string().contains("v.npy: shape [1000], chunk_rows = 513"), "{e:?}");
    assert!(too_many_blocks(&ml_load(read_npy_vector::<f64>(&p, 200).unwrap_err()), 5));
    // 2-D: 100 rows of 10 columns in blocks of 25 rows (2000 bytes).
    let mut bytes = header_bytes("<f8", "(100, 10)");
    bytes.extend(std::iter::repeat_n(0u8, 8000));
    let p = temp("x.npy", &bytes);
    assert_eq!(read_npy::<f64>(&p, 25).unwrap().compute().unwrap(), Array2::<f64>::zeros((100, 10)));
    assert!(too_many_blocks(&ml_load(read_npy::<f64>(&p, 24).unwrap_err()), 5));
    assert!(too_large(&ml_load(read_npy::<f64>(&p, 100).unwrap_err()), 100, 10));
}

#[test]
fn npy_folders_count_the_blocks_of_every_file() {
    tiny();
    let dir = std::env::temp_dir().join(format!("rask-limits-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = header_bytes("<f8", "(4, 2)");
    bytes.extend(std::iter::repeat_n(0u8, 64));
    for name in ["a.npy", "b.npy", "c.npy"] {
        std::fs::write(dir.join(name), &bytes).unwrap();
    }
    // Each file alone is 2 blocks of 2 rows; the folder is 6.
    assert_eq!(rask_datasets::npy::read_npy_dir::<f64>(&dir, 4).unwrap().n_blocks(), 3);
    let e = ml_load(rask_datasets::npy::read_npy_dir::<f64>(&dir, 2).unwrap_err());
    assert!(matches!(&e, MlError::TooManyBlocks { what, n_blocks: 6, .. } if what == "read_npy_dir"), "{e:?}");
}

#[test]
fn csv_files_are_checked_as_they_are_scanned() {
    tiny();
    let mut text = String::from("a,b,y\n");
    for i in 0..300 {
        text.push_str(&format!("{i},{},{}\n", i * 2, i % 2));
    }
    let p = temp("rows.csv", text.as_bytes());
    let opts =
        |chunk_rows| CsvOptions { chunk_rows, target: Some(CsvColumn::Name("y".into())), ..CsvOptions::default() };
    // 2 features: blocks of 256 rows are 4096 bytes, 4 blocks of 75 rows cover the file.
    assert_eq!(read_csv::<i64>(&p, &opts(256)).unwrap().n_blocks(), 2);
    assert_eq!(read_csv::<i64>(&p, &opts(75)).unwrap().n_blocks(), 4);
    // Past the count, the scan only counts rows, so the error states all 300 of them.
    let e = ml_load(read_csv::<i64>(&p, &opts(1)).unwrap_err());
    assert!(too_many_blocks(&e, 300), "{e:?}");
    assert!(e.to_string().contains("rows.csv: 300 rows, chunk_rows = 1"), "{e}");
    let e = ml_load(read_csv::<i64>(&p, &opts(usize::MAX)).unwrap_err());
    assert!(too_large(&e, 300, 2), "{e:?}");
    // Without the target, 3 features.
    let e = ml_load(read_csv_features(&p, &CsvOptions { chunk_rows: 200, ..CsvOptions::default() }).unwrap_err());
    assert!(too_large(&e, 200, 3), "{e:?}");
}

#[test]
fn in_memory_chunkings_are_checked() {
    tiny();
    // 120 rows of 5 columns: blocks of up to 102 rows fit in 4096 bytes.
    let a = Array2::<f64>::zeros((120, 5));
    assert_eq!(ChunkedArray::from_array(a.view(), 30).unwrap().n_blocks(), 4);
    assert!(too_many_blocks(&ChunkedArray::from_array(a.view(), 24).unwrap_err(), 5));
    assert!(too_large(&ChunkedArray::from_array(a.view(), 120).unwrap_err(), 120, 5));
    let x = ChunkedArray::from_array(a.view(), 30).unwrap();
    assert_eq!(x.rechunk(60).unwrap().n_blocks(), 2);
    assert!(too_many_blocks(&x.rechunk(12).unwrap_err(), 10));
    assert!(too_large(&x.rechunk(120).unwrap_err(), 120, 5));
    let v = Array1::<i64>::zeros(1000);
    assert_eq!(ChunkedVector::from_array(v.view(), 500).unwrap().n_blocks(), 2);
    assert!(too_many_blocks(&ChunkedVector::from_array(v.view(), 100).unwrap_err(), 10));
    assert!(too_large(&ChunkedVector::from_array(v.view(), 1000).unwrap_err(), 1000, 1));
    let v = ChunkedVector::from_array(v.view(), 250).unwrap();
    assert!(too_many_blocks(&v.rechunk(200).unwrap_err(), 5));
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_row_groups_are_checked_from_the_metadata() {
    use rask_core::Scheduler;
    use rask_datasets::parquet::{read_parquet, read_parquet_features, write_parquet_features, ParquetOptions};
    tiny();
    let small = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/small.parquet");
    // Row groups of 4 and 3 rows: within the limits.
    let opts = ParquetOptions { target: Some("label".into()), ..ParquetOptions::default() };
    assert_eq!(read_parquet::<i64>(&small, &opts).unwrap().n_blocks(), 2);
    // Written one row group per block (explicit chunks are not refused: the array is in memory).
    let dir = std::env::temp_dir().join(format!("rask-limits-pq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Array2::<f64>::zeros((600, 1));
    let many = dir.join("many.parquet");
    let x = ChunkedArray::from_array_with_chunks(a.view(), &[100; 6]).unwrap();
    write_parquet_features(&x, &many, &Scheduler::sync(), &Default::default()).unwrap();
    let e = ml_load(read_parquet_features(&many, &ParquetOptions::default()).unwrap_err());
    assert!(too_many_blocks(&e, 6) && e.to_string().contains("6 row groups of up to 100 rows"), "{e:?}");
    let one = dir.join("one.parquet");
    let x = ChunkedArray::from_array_with_chunks(a.view(), &[600]).unwrap();
    write_parquet_features(&x, &one, &Scheduler::sync(), &Default::default()).unwrap();
    let e = ml_load(read_parquet_features(&one, &ParquetOptions::default()).unwrap_err());
    assert!(too_large(&e, 600, 1), "{e:?}");
}
