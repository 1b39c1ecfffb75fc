"""Writes the tiny .npy fixtures the rask-datasets tests read back.

Run by hand, not in CI:  pip install numpy==2.2.6 && python3 make_npy_fixtures.py
The Rust tests rebuild the same values from the formulas below and compare exactly.
"""
import numpy as np

assert np.__version__ == "2.2.6", f"pinned numpy 2.2.6, found {np.__version__}"


def f64_2d():
    # x[i, j] = 10 i + j + 0.5, with one NaN at (2, 1) and a negative zero at (0, 0).
    x = np.array([[10.0 * i + j + 0.5 for j in range(3)] for i in range(7)], dtype="<f8")
    x[2, 1] = np.nan
    x[0, 0] = -0.0
    return x


np.save("f64_2d.npy", f64_2d())
np.save("f32_2d.npy", (np.arange(10, dtype="<f4").reshape(5, 2) / 4).astype("<f4"))
np.save("i64_1d.npy", np.array([3, 1, 4, 1, 5, 9, -2], dtype="<i8"))
np.save("f64_1d.npy", np.array([0.25, -1.5, 3.0], dtype="<f8"))
np.save("f64_be.npy", np.arange(8, dtype=">f8").reshape(4, 2))
np.save("f64_fortran.npy", np.asfortranarray(np.arange(12, dtype="<f8").reshape(4, 3)))
np.save("i32_2d.npy", np.arange(6, dtype="<i4").reshape(3, 2))
np.save("f64_3d.npy", np.zeros((2, 2, 2), dtype="<f8"))
# A folder of parts: rows 0..4 and 4..9 of x[i, j] = i + j / 10.
full = np.array([[i + j / 10 for j in range(3)] for i in range(9)], dtype="<f8")
np.save("npy_dir/part-000.npy", full[:4])
np.save("npy_dir/part-001.npy", full[4:])

with open("f64_2d.npy", "rb") as f:
    data = f.read()
with open("truncated.npy", "wb") as f:
    f.write(data[:-5])
with open("bad_magic.npy", "wb") as f:
    f.write(b"NOTNUMPY" + data[8:])
