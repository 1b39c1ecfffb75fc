//! Chunked data end to end: generate, summarise, scale, split, factor, save and load back.
//! The README's "Chunked data" section shows the first lines of this example.
//!
//! `cargo run --release --example chunked_data`

use rask::datasets::npy::{read_npy, write_npy};
use rask::datasets::{load_iris, make_classification, ClassificationParams};
use rask::ml::{ReduceOptions, Shuffle, TestSize, TrainTestSplit};
use rask::Scheduler;

fn main() -> anyhow::Result<()> {
    // 1,000,000 rows in blocks of 100,000, generated block by block from per-block seeded streams.
    let ds = make_classification(&ClassificationParams::new().n_samples(1_000_000).n_features(20).chunk_rows(100_000))?;
    let stats = ds.x().column_stats(ReduceOptions::default())?.compute()?;
    let std = stats.std(0);
    let mean = stats.mean.to_vec();
    let scaled = ds.x().sub_row(&mean)?.div_row(&std.to_vec())?;
    let (train, test) =
        TrainTestSplit { test_size: TestSize::Fraction(0.2), seed: 0, shuffle: Shuffle::Blockwise }.split(&ds)?;
    let svd = scaled.svd()?;
    let s = svd.s.compute()?;
    println!(
        "{} rows x {} features; first singular values {:.1?}",
        stats.count[0],
        ds.x().n_cols(),
        &s.as_slice().unwrap_or(&[])[..3]
    );
    println!("train {:?} rows, test {:?} rows", train.x().n_rows(), test.x().n_rows());
    assert_eq!(train.x().n_rows(), Some(800_000));
    assert_eq!(test.x().n_rows(), Some(200_000));
    let scaled_stats = scaled.column_stats(ReduceOptions::default())?.compute()?;
    assert!(scaled_stats.mean.iter().all(|m| m.abs() < 1e-9), "scaled columns have mean 0");
    assert!(scaled_stats.std(0).iter().all(|s| (s - 1.0).abs() < 1e-9), "and standard deviation 1");
    // Singular values of standardised data: their squares sum to n × d.
    let total: f64 = s.iter().map(|v| v * v).sum();
    assert!((total / 20e6 - 1.0).abs() < 1e-9);

    // Save to .npy, a block at a time, and read it back lazily.
    let path = std::env::temp_dir().join(format!("rask-example-{}.npy", std::process::id()));
    write_npy(&scaled, &path, &Scheduler::threaded(), 4)?;
    let back = read_npy::<f64>(&path, 250_000)?;
    let back_stats = back.column_stats(ReduceOptions::default())?.compute()?;
    assert!((back_stats.mean[0] - scaled_stats.mean[0]).abs() < 1e-12);
    std::fs::remove_file(&path)?;
    println!("wrote and re-read {} rows through {}", back.n_rows().unwrap_or(0), path.display());

    // A small real dataset, embedded.
    let iris = load_iris(50)?;
    let m = iris.data.x().column_stats(ReduceOptions::default())?.compute()?;
    println!("iris: {} rows; mean {} = {:.3}", iris.x.nrows(), iris.feature_names[0], m.mean[0]);
    Ok(())
}
