//! # rask-datasets: dataset generators and loaders for Rask
//!
//! [`generators`] builds lazy chunked datasets block by block: `make_blobs`,
//! `make_classification`, `make_regression` and `make_counts`. Each block is one registered
//! task drawing from its own seeded stream, so every scheduler (the serialisation-checked one
//! included) returns the same data.
//!
//! [`load::read_xy`] reads an `(X, y)` dataset from a `.npy` pair, a CSV or a Parquet file in one
//! call. [`npy`] reads `.npy` files and folders of them block by block, and writes chunked arrays to
//! `.npy`. [`csv`] streams CSV files in row blocks. [`real`] embeds iris, wine, breast cancer and
//! diabetes. With the `parquet` cargo feature, `parquet` reads
//! Parquet files one row group per block and writes one row group per block.
//!
//! Every generator and loader checks its request against [`rask_ml::Limits`] (the block count
//! and the bytes of one block) before it builds anything, so an oversized request is an error
//! that names its parameters, never an allocation failure that aborts the process.
#![deny(missing_docs)]

pub mod csv;
pub mod generators;
pub mod load;
pub mod npy;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod real;
pub mod sink;

pub use generators::{
    make_blobs, make_classification, make_counts, make_regression, BlobsParams, ClassificationParams, CountsParams,
    DatasetError, RegressionParams,
};
pub use load::{read_xy, Targets};
pub use npy::{read_npy, read_npy_dir, read_npy_vector, write_npy};
pub use real::{load_breast_cancer, load_diabetes, load_iris, load_wine, RealDataset};
pub use sink::{OutputFormat, Outputs, WriteOptions, WriteSummary};

use rask_core::{Codec, OpEntry, RegistryBuilder};

/// A registry builder holding the ops and codecs of `rask-core`, `rask-ml` and this crate.
pub fn registry_builder() -> RegistryBuilder {
    rask_ml::registry_builder().ops(OPS).codecs(CODECS)
}

/// The ops this crate registers.
pub const OPS: &[OpEntry] = &[
    OpEntry::of::<generators::MakeBlobsBlock>(),
    OpEntry::of::<generators::MakeClassificationBlock>(),
    OpEntry::of::<generators::MakeRegressionBlock>(),
    OpEntry::of::<generators::MakeCountsBlock>(),
    OpEntry::of::<generators::BlockX>(),
    OpEntry::of::<generators::BlockY>(),
    OpEntry::of::<npy::NpyBlock>(),
    OpEntry::of::<csv::CsvBlock>(),
    OpEntry::of::<sink::WriteBlock>(),
    #[cfg(feature = "parquet")]
    OpEntry::of::<parquet::ParquetRowGroup>(),
];

/// The value codecs this crate registers.
pub const CODECS: &[Codec] = &[Codec::of::<generators::XyBlockI64Codec>(), Codec::of::<generators::XyBlockF64Codec>()];
