"""PCA, 10 components, on the matrix the Rask bench wrote: dask-ml (threaded scheduler) and
scikit-learn, one line per tool, to read beside `cargo bench -p rask-benches --bench pca`.

    RASK_PCA_NPY=/tmp/pca.npy cargo bench -p rask-benches --bench pca   # writes the data
    python3 benches/compare/pca.py /tmp/pca.npy                          # same rows here

Environment: RASK_PCA_CHUNK (rows per dask block, default 200000, as the Rask bench),
RASK_PCA_RUNS (fits per tool, default 3; the median is reported), RASK_PCA_TOOLS (a comma
list of the tool names below; default all), RASK_PCA_THREADS (dask's threads; default: one per
core).

Each tool runs in its own process so its peak RSS (ru_maxrss, the loaded matrix included) is
its own. The matrix is loaded fully into memory (np.load) before timing, as the Rask bench
holds it in memory too.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

TOOLS = [
    "sklearn_full",
    "sklearn_covariance_eigh",
    "sklearn_randomized",
    "daskml_tsqr",
    "daskml_randomized",
    "daskml_randomized_iter4",
]


def make(tool, chunk):
    """Returns (fit(X) -> fitted, describe) for a tool."""
    if tool.startswith("sklearn_"):
        from sklearn.decomposition import PCA

        solver = tool[len("sklearn_"):]
        return lambda x: PCA(n_components=10, svd_solver=solver, random_state=0).fit(x)
    import dask
    import dask.array as da
    from dask_ml.decomposition import PCA

    threads = os.environ.get("RASK_PCA_THREADS")
    if threads:
        dask.config.set(scheduler="threads", num_workers=int(threads))
    else:
        dask.config.set(scheduler="threads")
    kwargs = {"svd_solver": "tsqr"} if tool == "daskml_tsqr" else {"svd_solver": "randomized"}
    if tool == "daskml_randomized_iter4":
        # dask-ml's default is iterated_power=0; scikit-learn's "auto" is 4 here.
        kwargs["iterated_power"] = 4

    def fit(x):
        dx = da.from_array(x, chunks=(chunk, x.shape[1]))
        return PCA(n_components=10, random_state=0, **kwargs).fit(dx)

    return fit


def run_one(tool, path, chunk, runs):
    x = np.load(path)
    fit = make(tool, chunk)
    times = []
    model = None
    for _ in range(runs):
        t = time.perf_counter()
        model = fit(x)
        times.append(time.perf_counter() - t)
    evr = np.asarray(model.explained_variance_ratio_)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB on Linux
    print(json.dumps({"tool": tool, "time": statistics.median(times), "peak_mb": peak_mb, "evr": evr[:3].tolist(), "evr_sum": float(evr.sum())}))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--one":
        _, _, tool, path, chunk, runs = sys.argv
        run_one(tool, path, int(chunk), int(runs))
        return
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    chunk = int(os.environ.get("RASK_PCA_CHUNK", "200000").replace("_", ""))
    runs = int(os.environ.get("RASK_PCA_RUNS", "3"))
    tools = [t for t in os.environ.get("RASK_PCA_TOOLS", ",".join(TOOLS)).split(",") if t]
    shape = np.load(path, mmap_mode="r").shape
    print(f"pca/data  {shape[0]} × {shape[1]} from {path}, dask blocks of {chunk} rows")
    for tool in tools:
        out = subprocess.run(
            [sys.executable, __file__, "--one", tool, path, str(chunk), str(runs)],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            print(f"pca  {tool:<26} failed: {out.stderr.strip().splitlines()[-1] if out.stderr else out.returncode}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        evr = " ".join(f"{v:.5f}" for v in r["evr"])
        print(
            f"pca  {tool:<26} fit {r['time']:>7.3f} s (median of {runs})  peak RSS {r['peak_mb']:.0f} MB"
            f"  evr[0..3] {evr}  sum {r['evr_sum']:.6f}"
        )


if __name__ == "__main__":
    main()
