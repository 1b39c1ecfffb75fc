//! `.npy` files written by NumPy (fixtures made by `data/make_npy_fixtures.py`) read back
//! exactly, block by block, on every scheduler; bad files give clear errors.

mod common;

#[allow(unused_imports)]
use common::{registry, same_bits, schedulers};

use std::path::PathBuf;

use ndarray::{Array1, Array2};
use rask_core::Scheduler;
use rask_datasets::npy::{read_npy, read_npy_dir, read_npy_vector, write_npy, LoadError};
use rask_ml::{ChunkedArray, Chunks};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn numpy_files_read_back_exactly() {
    let mut expected = Array2::from_shape_fn((7, 3), |(i, j)| 10.0 * i as f64 + j as f64 + 0.5);
    expected[[2, 1]] = f64::NAN;
    expected[[0, 0]] = -0.0;
    for chunk in [1, 3, 7, 100] {
        let x = read_npy::<f64>(data("f64_2d.npy"), chunk).unwrap();
        assert_eq!(x.n_cols(), 3);
        assert_eq!(x.n_rows(), Some(7));
        for s in schedulers() {
            assert!(same_bits(&x.compute_on(&s).unwrap(), &expected), "chunk {chunk} on {}", s.name());
        }
    }
    let f32s = read_npy::<f32>(data("f32_2d.npy"), 2).unwrap().compute().unwrap();
    assert_eq!(f32s, Array2::from_shape_fn((5, 2), |(i, j)| (i * 2 + j) as f32 / 4.0));
    let labels = read_npy_vector::<i64>(data("i64_1d.npy"), 3).unwrap();
    assert_eq!(labels.chunks(), &Chunks::Known(vec![3, 3, 1]));
    assert_eq!(labels.compute_on(&Scheduler::checked(registry())).unwrap(), Array1::from(vec![3, 1, 4, 1, 5, 9, -2]));
    let v = read_npy_vector::<f64>(data("f64_1d.npy"), 2).unwrap().compute().unwrap();
    assert_eq!(v, Array1::from(vec![0.25, -1.5, 3.0]));
    let big = read_npy::<f64>(data("f64_be.npy"), 3).unwrap().compute().unwrap();
    assert_eq!(big, Array2::from_shape_fn((4, 2), |(i, j)| (i * 2 + j) as f64));
    let fortran = read_npy::<f64>(data("f64_fortran.npy"), 3).unwrap().compute().unwrap();
    assert_eq!(fortran, Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f64));
}

#[test]
fn a_folder_of_parts_is_one_array() {
    let x = read_npy_dir::<f64>(data("npy_dir"), 3).unwrap();
    assert_eq!(x.chunks(), &Chunks::Known(vec![3, 1, 3, 2]), "blocks never span files");
    let expected = Array2::from_shape_fn((9, 3), |(i, j)| i as f64 + j as f64 / 10.0);
    for s in schedulers() {
        assert_eq!(x.compute_on(&s).unwrap(), expected);
    }
}

#[test]
fn written_files_read_back_and_numpy_can_parse_the_header() {
    let dir = std::env::temp_dir().join(format!("rask-npy-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = Array2::from_shape_fn((11, 4), |(i, j)| (i as f64).sqrt() - j as f64);
    let cx = ChunkedArray::from_array(a.view(), 3).unwrap().mul_scalar(2.0).unwrap();
    let path = dir.join("out.npy");
    write_npy(&cx, &path, &Scheduler::threaded(), 2).unwrap();
    let back = read_npy::<f64>(&path, 5).unwrap().compute().unwrap();
    assert_eq!(back, a.mapv(|v| v * 2.0));
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0, "data must start on a 64-byte boundary");
    let a32 = a.mapv(|v| v as f32);
    let c32 = ChunkedArray::from_array(a32.view(), 4).unwrap();
    write_npy(&c32, dir.join("out32.npy"), &Scheduler::sync(), 1).unwrap();
    assert_eq!(read_npy::<f32>(dir.join("out32.npy"), 100).unwrap().compute().unwrap(), a32);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_give_clear_errors() {
    let err = read_npy::<f64>(data("truncated.npy"), 2).unwrap_err();
    assert!(
        matches!(&err, LoadError::Format { path, message } if path.ends_with("truncated.npy") && message.contains("announces")),
        "{err}"
    );
    let err = read_npy::<f64>(data("bad_magic.npy"), 2).unwrap_err();
    assert!(err.to_string().contains("bad magic"), "{err}");
    let err = read_npy::<f64>(data("does_not_exist.npy"), 2).unwrap_err();
    assert!(matches!(&err, LoadError::Io { path, .. } if path.ends_with("does_not_exist.npy")), "{err}");
    let err = read_npy::<f64>(data("f64_3d.npy"), 2).unwrap_err();
    assert!(err.to_string().contains("only 1-D and 2-D"), "{err}");
    let err = read_npy::<f64>(data("f64_1d.npy"), 2).unwrap_err();
    assert!(err.to_string().contains("expected a 2-D array"), "{err}");
    let err = read_npy_vector::<f64>(data("f64_2d.npy"), 2).unwrap_err();
    assert!(err.to_string().contains("expected a 1-D array"), "{err}");
    assert!(read_npy::<f64>(data("f64_2d.npy"), 0).is_err());
    let err = read_npy_dir::<f64>(data("no_such_dir"), 2).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
}

#[test]
fn a_file_changed_after_the_graph_was_built_is_reported() {
    let dir = std::env::temp_dir().join(format!("rask-npy-change-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("x.npy");
    std::fs::copy(data("f64_2d.npy"), &path).unwrap();
    let x = read_npy::<f64>(&path, 3).unwrap();
    std::fs::write(&path, std::fs::read(data("f64_be.npy")).unwrap()).unwrap();
    let err = x.compute_on(&Scheduler::sync()).unwrap_err();
    assert!(err.to_string().contains("changed after the graph was built"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_long_version_1_header_and_odd_descr_values() {
    let dir = std::env::temp_dir().join(format!("rask-npy-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A valid version 1.0 header padded to 5,000 bytes (longer than the first read).
    let mut dict = String::from("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }");
    let total = 5_000;
    dict.push_str(&" ".repeat(total - 10 - dict.len() - 1));
    dict.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.extend_from_slice(&1.5f64.to_le_bytes());
    bytes.extend_from_slice(&(-2.0f64).to_le_bytes());
    let path = dir.join("long.npy");
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(read_npy::<f64>(&path, 1).unwrap().compute().unwrap(), ndarray::array![[1.5], [-2.0]]);
    for descr in ["", "é8", "<"] {
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (2, 1), }}\n");
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict.as_bytes());
        let path = dir.join("odd.npy");
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_npy::<f64>(&path, 1).is_err(), "descr {descr:?} must be an error, not a panic");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `.npy` file of `descr` values given as little-endian bytes.
fn raw_npy(name: &str, descr: &str, shape: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-npy-cast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut out = rask_datasets::npy::header_bytes(descr, shape);
    out.extend_from_slice(bytes);
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn other_element_types_are_converted_as_numpy_astype_would() {
    // f64 read as f32, i32 read as f64: converted block by block.
    let a = read_npy::<f64>(data("f64_2d.npy"), 2).unwrap().compute().unwrap();
    let a32 = read_npy::<f32>(data("f64_2d.npy"), 2).unwrap().compute().unwrap();
    assert_eq!(a32.dim(), a.dim());
    assert!(a32.iter().zip(&a).all(|(x, y)| x.to_bits() == (*y as f32).to_bits()), "{a32} vs {a}");
    let i = read_npy::<f64>(data("i32_2d.npy"), 2).unwrap().compute().unwrap();
    assert!(i.iter().all(|v| v.fract() == 0.0) && !i.is_empty());
    // Labels saved as int32, uint8, bool or whole floats are read as i64.
    let i32s: Vec<u8> = [3i32, -1, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = raw_npy("labels_i4.npy", "<i4", "(3,)", &i32s);
    assert_eq!(read_npy_vector::<i64>(&p, 2).unwrap().compute().unwrap().to_vec(), [3, -1, 7]);
    let p = raw_npy("labels_u1.npy", "|u1", "(3,)", &[0, 1, 2]);
    assert_eq!(read_npy_vector::<i64>(&p, 2).unwrap().compute().unwrap().to_vec(), [0, 1, 2]);
    let p = raw_npy("labels_b1.npy", "|b1", "(2,)", &[1, 0]);
    assert_eq!(read_npy_vector::<i64>(&p, 2).unwrap().compute().unwrap().to_vec(), [1, 0]);
    let f8s: Vec<u8> = [0.0f64, 1.0, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = raw_npy("labels_f8.npy", "<f8", "(3,)", &f8s);
    assert_eq!(read_npy_vector::<i64>(&p, 2).unwrap().compute().unwrap().to_vec(), [0, 1, 2]);
    // A fractional label is an error that names the file and the row.
    let f8s: Vec<u8> = [0.0f64, 1.0, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = raw_npy("labels_half.npy", "<f8", "(3,)", &f8s);
    let err = read_npy_vector::<i64>(&p, 2).unwrap().compute().unwrap_err().to_string();
    assert!(err.contains("labels_half.npy") && err.contains("row 2 holds 0.5"), "{err}");
    // Types with no numeric meaning are refused with the dtype named.
    let p = raw_npy("complex.npy", "<c16", "(1,)", &[0; 16]);
    let err = read_npy_vector::<f64>(&p, 2).unwrap_err().to_string();
    assert!(err.contains("'<c16'"), "{err}");
}

#[test]
fn read_xy_loads_a_npy_pair_or_a_csv_file_in_one_call() {
    use rask_datasets::{read_xy, Targets};
    let labels: Vec<u8> = [1i32, 0, 1, 1, 0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let y = raw_npy("xy_labels.npy", "<i4", "(5,)", &labels);
    let feats: Vec<u8> = (0..10).flat_map(|v| f64::from(v).to_le_bytes()).collect();
    let x = raw_npy("xy_x.npy", "<f8", "(5, 2)", &feats);
    let ds = read_xy::<i64>(&x, Targets::NpyFile(&y), 2).unwrap();
    assert_eq!(ds.y().unwrap().compute().unwrap().to_vec(), [1, 0, 1, 1, 0]);
    assert_eq!(ds.x().compute().unwrap()[[4, 1]], 9.0);
    let short = raw_npy("xy_short.npy", "<i4", "(2,)", &labels[..8]);
    let err = read_xy::<i64>(&x, Targets::NpyFile(&short), 2).unwrap_err().to_string();
    assert!(err.contains("has 5 rows") && err.contains("2 targets"), "{err}");
    let csv = x.with_file_name("xy.csv");
    std::fs::write(&csv, "a,b,label\n1,2,0\n3,4,1.0\n").unwrap();
    let ds = read_xy::<i64>(&csv, Targets::Column("label"), 10).unwrap();
    assert_eq!(ds.y().unwrap().compute().unwrap().to_vec(), [0, 1]);
    let err = read_xy::<i64>(&x, Targets::Column("label"), 2).unwrap_err().to_string();
    assert!(err.contains("Targets::NpyFile"), "{err}");
    let err = read_xy::<i64>(x.with_extension("json"), Targets::Column("label"), 2).unwrap_err().to_string();
    assert!(err.contains("extension 'json'"), "{err}");
}

#[test]
fn a_relative_path_travels_as_an_absolute_one() {
    // Tests run in the crate's folder; a worker started elsewhere must open the same file.
    let rel = std::path::Path::new("tests/data/f64_2d.npy");
    assert!(rel.is_relative() && rel.exists());
    let x = read_npy::<f64>(rel, 2).unwrap();
    let abs = std::fs::canonicalize(rel).unwrap();
    // The block ops hold the path, and the keys are named by it: the same keys as the
    // absolute path's show that the ops hold the absolute path.
    assert_eq!(x.block_keys(), read_npy::<f64>(&abs, 2).unwrap().block_keys());
}

/// A sparse `.npy` file (no data written, so it takes no disk) whose header announces `shape`
/// of one-byte elements, as a huge file would.
fn sparse_npy(name: &str, shape: &str, data_bytes: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-npy-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let header = rask_datasets::npy::header_bytes("|u1", shape);
    std::fs::write(&path, &header).unwrap();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(header.len() as u64 + data_bytes).unwrap();
    path
}

#[test]
fn an_npy_header_announcing_a_trillion_rows_is_refused_before_any_block_is_listed() {
    const ROWS: u64 = 1 << 40;
    let path = sparse_npy("tera.npy", &format!("({ROWS},)"), ROWS);
    // One block per row: 2^40 block ops were listed (an abort) before the limits.
    let e = read_npy_vector::<f64>(&path, 1).unwrap_err();
    assert!(
        matches!(&e, LoadError::Ml(rask_ml::MlError::TooManyBlocks { n_blocks: ROWS, block_rows: 1, .. })),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("tera.npy: shape [1099511627776], chunk_rows = 1") && text.contains("RASK_MAX_BLOCKS"),
        "{text}"
    );
    // One block of every row: its task aborted allocating 2^40 bytes (8 TiB as f64).
    let e = read_npy_vector::<f64>(&path, ROWS as usize).unwrap_err();
    assert!(matches!(&e, LoadError::Ml(rask_ml::MlError::BlockTooLarge { rows: ROWS, n_cols: 1, .. })), "{e:?}");
    // 2-D: 2^20 × 2^20 in blocks of 2^20 rows is one 8 TiB block.
    let square = sparse_npy("square.npy", "(1048576, 1048576)", ROWS);
    let e = read_npy::<f64>(&square, 1 << 20).unwrap_err();
    assert!(
        matches!(&e, LoadError::Ml(rask_ml::MlError::BlockTooLarge { rows: 1_048_576, n_cols: 1_048_576, .. })),
        "{e:?}"
    );
    // Within the limits, the same file is still a collection of blocks (only listed, never read).
    let x = read_npy::<f64>(&square, 16).unwrap();
    assert_eq!(x.n_blocks(), 65_536);
    std::fs::remove_file(path).unwrap();
    std::fs::remove_file(square).unwrap();
}
