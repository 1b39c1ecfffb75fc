"""dask-ml and scikit-learn LogisticRegression(solver="lbfgs") on the data the Rust bench wrote.

The data is generated once, in Rust, by `benches/benches/logistic.rs` (make_classification,
20 columns, seed 0) and written as .npy, so every tool fits the same rows:

    RASK_LOGISTIC_NPY_DIR=/tmp/rask-logistic cargo bench -p rask-benches --bench logistic
    python3 benches/compare/logistic.py /tmp/rask-logistic

Environment: RASK_LOGISTIC_CHUNK (rows per dask chunk, default 100000), RASK_LOGISTIC_THREADS
(dask threads, default 2). Each tool runs in its own subprocess so its peak RSS (ru_maxrss,
data loading included) is its own. Accuracy is on the training rows, as in the Rust bench.

`logistic.py --tool-json TOOL FOLDER` runs one tool (dask-ml or scikit-learn) in this process and
prints one JSON line (seconds, accuracy, n_iter, rss in bytes), for the side-by-side harness
(`cargo run -p rask-benches --release --bin compare`).
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def run(tool, folder, as_json=False):
    x = np.load(os.path.join(folder, "x.npy"))
    y = np.load(os.path.join(folder, "y.npy"))
    chunk = int(os.environ.get("RASK_LOGISTIC_CHUNK", "100000"))
    if tool == "dask-ml":
        import dask
        import dask.array as da
        from dask_ml.linear_model import LogisticRegression

        threads = int(os.environ.get("RASK_LOGISTIC_THREADS", "2"))
        dx = da.from_array(x, chunks=(chunk, x.shape[1])).persist()
        dy = da.from_array(y, chunks=(chunk,)).persist()
        with dask.config.set(scheduler="threads", num_workers=threads):
            t = time.perf_counter()
            m = LogisticRegression(solver="lbfgs").fit(dx, dy)
            secs = time.perf_counter() - t
            acc = float((m.predict(dx).compute() == y).mean())
        n_iter = "-"
        label = "dask-ml lbfgs (threaded)"
    else:
        from sklearn.linear_model import LogisticRegression

        t = time.perf_counter()
        m = LogisticRegression(solver="lbfgs").fit(x, y)
        secs = time.perf_counter() - t
        acc = float((m.predict(x) == y).mean())
        n_iter = int(m.n_iter_[0])
        label = "scikit-learn lbfgs"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux
    if as_json:
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"tool": tool, "seconds": secs, "accuracy": acc, "n_iter": n_iter, "rss": rss}), flush=True)
        return
    print(f"{label:<28} {secs:>9.3f} {n_iter!s:>7} {'-':>10} {acc:>9.4f} {peak_mb:>14.0f}", flush=True)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] in ("--tool", "--tool-json"):
        run(sys.argv[2], sys.argv[3], as_json=sys.argv[1] == "--tool-json")
        return
    folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RASK_LOGISTIC_NPY_DIR", "/tmp/rask-logistic")
    n = np.load(os.path.join(folder, "y.npy"), mmap_mode="r").shape[0]
    print(f"logistic/compare {n} rows from {folder}")
    print(f"{'tool':<28} {'fit (s)':>9} {'n_iter':>7} {'converged':>10} {'accuracy':>9} {'peak RSS (MB)':>14}")
    for tool in ("dask-ml", "scikit-learn"):
        subprocess.run([sys.executable, __file__, "--tool", tool, folder], check=True)


if __name__ == "__main__":
    main()
