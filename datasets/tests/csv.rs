//! CSV files streamed in blocks: values, quoting, typed targets, and clear errors.

mod common;

#[allow(unused_imports)]
use common::{registry, same_bits, schedulers};

use std::path::PathBuf;

use ndarray::{array, Array1};
use rask_core::Scheduler;
use rask_datasets::csv::{csv_categories, read_csv, read_csv_features, Categorical, CsvColumn, CsvColumns, CsvOptions};
use rask_datasets::npy::LoadError;
use rask_ml::Chunks;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rask-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const IRIS_LIKE: &str = "sepal_length,sepal_width,note,species\n\
5.1,3.5,\"plain\",0\n\
4.9,3.0,\"with, comma\",0\n\
7.0,3.2,\"two\nlines\",1\n\
6.4,,\"empty width\",1\n\
6.3,3.3,x,2\n";

#[test]
fn a_csv_file_reads_back_block_by_block_on_every_scheduler() {
    let path = write("iris_like.csv", IRIS_LIKE);
    let opts = CsvOptions {
        chunk_rows: 2,
        features: CsvColumns::List(vec![CsvColumn::Name("sepal_length".into()), CsvColumn::Index(1)]),
        target: Some(CsvColumn::Name("species".into())),
        ..CsvOptions::default()
    };
    let ds = read_csv::<i64>(&path, &opts).unwrap();
    assert_eq!(ds.x().chunks(), &Chunks::Known(vec![2, 2, 1]));
    for s in [Scheduler::sync(), Scheduler::threaded(), Scheduler::checked(registry())] {
        let x = ds.x().compute_on(&s).unwrap();
        let y = ds.y().unwrap().compute_on(&s).unwrap();
        assert_eq!(y, Array1::from(vec![0, 0, 1, 1, 2]));
        assert_eq!(x.shape(), &[5, 2]);
        assert_eq!(x.column(0).to_vec(), vec![5.1, 4.9, 7.0, 6.4, 6.3]);
        assert!(x[[3, 1]].is_nan(), "an empty field is NaN");
        assert_eq!(x[[2, 1]], 3.2, "a quoted newline does not split the record");
    }
    // A float target, and every other column as features except the text one.
    let opts = CsvOptions {
        chunk_rows: 3,
        features: CsvColumns::List(vec![CsvColumn::Index(0), CsvColumn::Index(3)]),
        target: Some(CsvColumn::Index(1)),
        ..CsvOptions::default()
    };
    let ds = read_csv::<f64>(&path, &opts).unwrap();
    let err = ds.y().unwrap().compute().unwrap_err().to_string();
    assert!(err.contains("line 6") && err.contains("targets may not be missing"), "{err}");
    let first = ds.y().unwrap().slice_rows(0, 3).unwrap().compute().unwrap();
    assert_eq!(first[0], 3.5);
}

#[test]
fn features_only_and_dataset_layers_never_share_a_name() {
    let path = write("names.csv", "a,b,c\n1,2,3\n4,5,6\n");
    let features = CsvOptions {
        features: CsvColumns::List(vec![CsvColumn::Index(0), CsvColumn::Index(2), CsvColumn::Index(1)]),
        ..CsvOptions::default()
    };
    let dataset = CsvOptions {
        features: CsvColumns::List(vec![CsvColumn::Index(0)]),
        target: Some(CsvColumn::Index(2)),
        ..CsvOptions::default()
    };
    let x = read_csv_features(&path, &features).unwrap();
    let ds = read_csv::<i64>(&path, &dataset).unwrap();
    let a = x.block_layer().layers().layers()[0].keys().next().unwrap().clone();
    let b = ds.x().block_layer().layers().layers()[0].keys().next().unwrap().clone();
    assert_ne!(a, b);
}

#[test]
fn headerless_files_and_features_only() {
    let path = write("plain.csv", "1;2;3\n4;5;6\n7;8;9\n");
    let opts = CsvOptions { chunk_rows: 2, delimiter: b';', has_header: false, ..CsvOptions::default() };
    let x = read_csv_features(&path, &opts).unwrap();
    assert_eq!(x.compute().unwrap(), array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]);
    let opts = CsvOptions { target: Some(CsvColumn::Index(2)), ..opts };
    let ds = read_csv::<i64>(&path, &opts).unwrap();
    assert_eq!(ds.x().n_cols(), 2);
    assert_eq!(ds.y().unwrap().compute().unwrap(), Array1::from(vec![3, 6, 9]));
}

#[test]
fn bad_files_and_options_give_clear_errors() {
    let ragged = write("ragged.csv", "a,b\n1,2\n3\n4,5\n");
    let err = read_csv_features(&ragged, &CsvOptions::default()).unwrap_err();
    assert!(
        matches!(&err, LoadError::Format { path, message } if path.ends_with("ragged.csv") && message.contains("line 3")),
        "{err}"
    );

    let text = write("text.csv", "a,b\n1,2\n3,oops\n");
    let x = read_csv_features(&text, &CsvOptions::default()).unwrap();
    let err = x.compute_on(&Scheduler::sync()).unwrap_err().to_string();
    assert!(
        err.contains("text.csv") && err.contains("line 3") && err.contains("column 'b'") && err.contains("oops"),
        "{err}"
    );

    let labels = write("labels.csv", "a,y\n1,2\n3,2.5\n");
    let opts = CsvOptions { target: Some(CsvColumn::Name("y".into())), ..CsvOptions::default() };
    let ds = read_csv::<i64>(&labels, &opts).unwrap();
    let err = ds.y().unwrap().compute_on(&Scheduler::sync()).unwrap_err().to_string();
    assert!(err.contains("integer label") && err.contains("2.5"), "{err}");
    // Whole numbers written as floats (pandas writes integer columns with a gap as 0.0) are labels.
    let floats = write("float_labels.csv", "a,y\n1,0.0\n3,2.0\n4,1e0\n");
    let ds = read_csv::<i64>(&floats, &opts).unwrap();
    assert_eq!(ds.y().unwrap().compute_on(&Scheduler::sync()).unwrap().to_vec(), [0, 2, 1]);

    let err =
        read_csv::<f64>(&labels, &CsvOptions { target: Some(CsvColumn::Name("nope".into())), ..CsvOptions::default() })
            .unwrap_err();
    assert!(err.to_string().contains("no column named 'nope'"), "{err}");
    let err = read_csv::<f64>(&labels, &CsvOptions::default()).unwrap_err();
    assert!(err.to_string().contains("needs a target"), "{err}");
    let err = read_csv_features(&labels, &opts).unwrap_err();
    assert!(err.to_string().contains("features-only"), "{err}");
    let both = CsvOptions {
        features: CsvColumns::List(vec![CsvColumn::Index(0), CsvColumn::Index(1)]),
        target: Some(CsvColumn::Index(1)),
        ..CsvOptions::default()
    };
    assert!(read_csv::<f64>(&labels, &both).unwrap_err().to_string().contains("also a feature"));
    let empty = write("empty.csv", "a,b\n");
    assert!(read_csv_features(&empty, &CsvOptions::default()).unwrap_err().to_string().contains("no data rows"));
    let missing = read_csv_features("/nonexistent/x.csv", &CsvOptions::default()).unwrap_err();
    assert!(matches!(missing, LoadError::Io { .. }), "{missing}");
    assert!(read_csv_features(&labels, &CsvOptions { chunk_rows: 0, ..CsvOptions::default() }).is_err());
}

#[test]
fn string_columns_read_as_categories_with_missing_values_as_nan() {
    let path = write("colors.csv", "size,color,y\n1.5,red,0\n2.0,blue,1\n3.0,,0\n4.0,green,1\n5.0,blue,1\n");
    let opts = CsvOptions {
        chunk_rows: 2,
        target: Some(CsvColumn::Name("y".into())),
        categorical: vec![Categorical::new(CsvColumn::Name("color".into()))],
        ..CsvOptions::default()
    };
    let cats = csv_categories(&path, &opts).unwrap();
    assert_eq!(cats, [("color".to_string(), vec!["blue".to_string(), "green".into(), "red".into()])]);
    for s in schedulers() {
        let ds = read_csv::<i64>(&path, &opts).unwrap();
        let x = ds.x().compute_on(&s).unwrap();
        assert_eq!(x.column(0).to_vec(), [1.5, 2.0, 3.0, 4.0, 5.0]);
        let codes = x.column(1).to_vec();
        assert_eq!(&codes[..2], [2.0, 0.0]);
        assert!(codes[2].is_nan());
        assert_eq!(&codes[3..], [1.0, 0.0]);
    }
    // Another file read with the training categories: same codes; an unseen value names its line.
    let other = write("colors2.csv", "size,color\n1.0,green\n2.0,purple\n");
    let given = CsvOptions {
        categorical: vec![Categorical { column: CsvColumn::Name("color".into()), categories: Some(cats[0].1.clone()) }],
        ..CsvOptions::default()
    };
    let err = read_csv_features(&other, &given).unwrap().compute_on(&Scheduler::sync()).unwrap_err().to_string();
    assert!(err.contains("line 3") && err.contains("\"purple\" is not one of its 3 categories"), "{err}");
    // A categorical column must be a feature.
    let bad = CsvOptions { categorical: vec![Categorical::new(CsvColumn::Name("y".into()))], ..opts.clone() };
    assert!(read_csv::<i64>(&path, &bad).unwrap_err().to_string().contains("not a feature"));
}

#[test]
fn an_absurd_chunk_rows_is_one_block_of_the_rows_there_are() {
    // Blocks hold the rows the file has, so a chunk size far past them is one block, checked
    // against the block-size limit with its real row count, never multiplied out.
    let p = write("absurd_chunk.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
    let opts =
        CsvOptions { chunk_rows: usize::MAX, target: Some(CsvColumn::Name("y".into())), ..CsvOptions::default() };
    let ds = read_csv::<i64>(&p, &opts).unwrap();
    assert_eq!(ds.x().chunks(), &Chunks::Known(vec![3]));
    assert_eq!(ds.y().unwrap().compute().unwrap(), Array1::from(vec![0, 1, 0]));
}
