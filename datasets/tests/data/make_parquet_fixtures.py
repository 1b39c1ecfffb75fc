"""Writes the tiny Parquet fixtures the rask-datasets tests read back.

Run by hand, not in CI, from this folder:
    pip install pyarrow==18.1.0 pandas==2.2.3 && python3 make_parquet_fixtures.py
The Rust tests (datasets/tests/parquet.rs) spell out the same values and compare exactly.
"""
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

assert pa.__version__ == "18.1.0", f"pinned pyarrow 18.1.0, found {pa.__version__}"
assert pd.__version__ == "2.2.3", f"pinned pandas 2.2.3, found {pd.__version__}"


def small():
    # 7 rows: a float64, b float32 (one missing value, row 5), c int64, d int32, a string
    # column, and an int64 label.
    return pd.DataFrame(
        {
            "a": np.array([0.5, -1.25, 2.0, 1e300, -0.0, 3.75, 1.0 / 3.0], dtype="float64"),
            "b": np.array([1.5, 2.5, -3.5, 0.125, 8.0, np.nan, 0.1], dtype="float32"),
            "c": np.array([10, -20, 30, 2**40, 0, 7, -1], dtype="int64"),
            "d": np.array([1, 2, 3, 4, 5, 6, -7], dtype="int32"),
            "name": ["p", "q", "r", "s", "t", "u", "v"],
            "label": np.array([0, 1, 2, 1, 0, 2, 1], dtype="int64"),
        }
    )


df = small()
# pandas' default engine and codec (pyarrow, Snappy); 4 rows per row group gives groups of 4 and 3.
df.to_parquet("small.parquet", index=False, row_group_size=4)
f = pq.ParquetFile("small.parquet")
assert f.metadata.num_row_groups == 2
assert [f.metadata.row_group(i).num_rows for i in range(2)] == [4, 3]
assert f.metadata.row_group(0).column(0).compression == "SNAPPY"
t = f.read()
assert t.column("b").null_count == 1, "pandas' NaN is written as a null"
assert str(t.schema.field("b").type) == "float"

# The same table with zstd pages, which this build of rask refuses with a clear error.
pq.write_table(pa.Table.from_pandas(df, preserve_index=False), "small_zstd.parquet", compression="zstd")

# A row group without rows between two others: written by hand with the low-level writer.
table = pa.table({"x": pa.array([1.0, 2.0, 3.0]), "y": pa.array([4, 5, 6], type=pa.int64())})
with pq.ParquetWriter("empty_group.parquet", table.schema) as w:
    w.write_table(table.slice(0, 2))
    w.write_table(table.slice(0, 0), row_group_size=1)
    w.write_table(table.slice(2, 1))
f = pq.ParquetFile("empty_group.parquet")
assert [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)] == [2, 0, 1]

# A missing target value in a file without column statistics: found when the block is read.
no_stats = pa.table({"x": pa.array([1.0, 2.0, 3.0]), "y": pa.array([1.5, None, 2.5])})
pq.write_table(no_stats, "null_target_no_stats.parquet", write_statistics=False)
assert pq.ParquetFile("null_target_no_stats.parquet").metadata.row_group(0).column(1).statistics is None
