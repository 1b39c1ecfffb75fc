"""scikit-learn's and dask-ml's GridSearchCV on the rows the Rust grid-search bench writes.

The data (make_classification, 50,000 x 20 f64, int64 labels) is written by the Rust bench as
FOLDER/x.npy and FOLDER/y.npy, so every tool searches the same rows:

    RASK_SEARCH_NPY_DIR=/tmp/rask-search RASK_SEARCH_ONLY=grid cargo bench -p rask-benches --bench search
    /work/venv-compare/bin/python benches/compare/grid_search.py /tmp/rask-search/grid

(venv: see benches/compare/requirements-search.txt). Without the Rust bench, a stand-in:

    /work/venv-compare/bin/python -c "import numpy as np, os; from sklearn.datasets import \
make_classification as m; x, y = m(50000, 20, n_informative=10, random_state=0); \
os.makedirs('/tmp/grid-data', exist_ok=True); np.save('/tmp/grid-data/x.npy', x); \
np.save('/tmp/grid-data/y.npy', y.astype(np.int64))"

The search, for every tool: Pipeline([("scaler", StandardScaler()), ("logistic",
LogisticRegression())]) (lbfgs, max_iter=100, defaults), grid {scaler__with_mean: [True, False],
logistic__C: [0.01, 0.1, 1, 10, 100, 1000]} (12 candidates), cv=KFold(3) (no shuffle), scoring
accuracy, refit=True (the refit on all rows is inside the timing), 36 fits + 1 refit:
- scikit-learn n_jobs=1 and n_jobs=2 (loky processes);
- dask-ml threaded: dask_ml.model_selection.GridSearchCV(scheduler="threads", n_jobs=2);
  dask-ml splits the pipeline, so each (fold, with_mean) scaler is fitted once, not 6 times;
- dask-ml distributed: the same on a LocalCluster of 2 worker processes x 1 thread (cluster
  start-up outside the timing; the in-memory X goes into the graph).
Each tool runs in its own subprocess. Peak RSS: `self` is ru_maxrss of the tool's process (data
loading included); `tree` is the peak of the summed RSS of that process and all its descendants
(loky or dask workers), sampled every 20 ms with psutil. Environment: RASK_GRID_TOOLS
(comma-separated subset of sklearn-1,sklearn-2,dask-threads,dask-cluster), RASK_GRID_REPEATS
(fits per tool process, default 2: the first pays for starting loky's worker processes or warming
dask's workers; the table shows the first and the best of the others), RASK_GRID_THREADS
(dask threads / workers, default 2), RASK_GRID_BLAS_THREADS (OpenBLAS/OpenMP threads in every
tool process and worker, default 1: the parallelism is across fits; with OpenBLAS' default of
2 threads on a 2-core machine, scikit-learn n_jobs=1 took 8-14 s instead of 1.2 s here, and the
dask-ml threaded run 10-11 s instead of 0.6 s).
"""
import json
import os
import resource
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

GRID = {"scaler__with_mean": [True, False], "logistic__C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]}
TOOLS = ["sklearn-1", "sklearn-2", "dask-threads", "dask-cluster"]
LABELS = {
    "sklearn-1": "scikit-learn GridSearchCV n_jobs=1",
    "sklearn-2": "scikit-learn GridSearchCV n_jobs=2",
    "dask-threads": "dask-ml GridSearchCV, threads",
    "dask-cluster": "dask-ml GridSearchCV, LocalCluster",
}


class TreeRss:
    """Peak of the summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, every=0.02):
        import psutil

        self.proc, self.every, self.peak, self.stop = psutil.Process(), every, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import psutil

        while not self.stop.is_set():
            total = 0
            for p in [self.proc] + self.proc.children(recursive=True):
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self.stop.wait(self.every)

    def close(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def pipeline():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scaler", StandardScaler()), ("logistic", LogisticRegression())])


def run(tool, folder):
    tree = TreeRss()
    x = np.load(os.path.join(folder, "x.npy"))
    y = np.load(os.path.join(folder, "y.npy"))
    threads = int(os.environ.get("RASK_GRID_THREADS", "2"))
    repeats = int(os.environ.get("RASK_GRID_REPEATS", "2"))
    warnings.simplefilter("ignore")  # lbfgs ConvergenceWarning at large C (max_iter=100)
    from sklearn.model_selection import KFold

    extra, cleanup = "", None
    if tool.startswith("sklearn"):
        from sklearn.model_selection import GridSearchCV

        def search():
            return GridSearchCV(pipeline(), GRID, cv=KFold(3), scoring="accuracy", n_jobs=int(tool.split("-")[1]))
    elif tool == "dask-threads":
        from dask_ml.model_selection import GridSearchCV

        def search():
            return GridSearchCV(pipeline(), GRID, cv=KFold(3), scoring="accuracy", scheduler="threads", n_jobs=threads)
    else:
        from dask_ml.model_selection import GridSearchCV
        from distributed import Client, LocalCluster

        t = time.perf_counter()
        cluster = LocalCluster(n_workers=threads, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        extra = f"cluster start {time.perf_counter() - t:.1f} s"

        def search():
            return GridSearchCV(pipeline(), GRID, cv=KFold(3), scoring="accuracy", scheduler=client, n_jobs=threads)

        def cleanup():
            client.close()
            cluster.close()
    times = []
    for _ in range(repeats):
        s = search()
        t = time.perf_counter()
        s.fit(x, y)
        times.append(time.perf_counter() - t)
    if cleanup:
        cleanup()
    tree_peak = tree.close()
    return {
        "tool": tool,
        "seconds": times,
        "best_score": float(s.best_score_),
        "best_params": {k: (v.item() if hasattr(v, "item") else v) for k, v in s.best_params_.items()},
        "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_tree": tree_peak,
        "extra": extra,
    }


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--tool":
        print(json.dumps(run(sys.argv[2], sys.argv[3])))
        return
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    folder = sys.argv[1]
    shape = np.load(os.path.join(folder, "x.npy"), mmap_mode="r").shape
    tools = os.environ.get("RASK_GRID_TOOLS", ",".join(TOOLS)).split(",")
    print(f"GridSearchCV: {shape[0]} x {shape[1]} f64 from {folder}; StandardScaler + LogisticRegression, "
          f"12 candidates, KFold(3), refit; BLAS threads {os.environ.get('RASK_GRID_BLAS_THREADS', '1')}")
    print("| tool | first fit (s) | later fits, best (s) | best score | best params | peak RSS self | peak RSS tree |")
    print("|---|---|---|---|---|---|---|")
    blas = os.environ.get("RASK_GRID_BLAS_THREADS", "1")
    env = dict(os.environ, OMP_NUM_THREADS=blas, OPENBLAS_NUM_THREADS=blas, MKL_NUM_THREADS=blas)
    for tool in tools:
        out = subprocess.run([sys.executable, __file__, "--tool", tool, folder], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "?"
            print(f"| {LABELS[tool]} | failed: {last} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        p = r["best_params"]
        params = f"C={p['logistic__C']:g}, with_mean={p['scaler__with_mean']}"
        note = f" ({r['extra']})" if r["extra"] else ""
        later = f"{min(r['seconds'][1:]):.2f}" if len(r["seconds"]) > 1 else "-"
        print(f"| {LABELS[tool]}{note} | {r['seconds'][0]:.2f} | {later} | {r['best_score']:.6f} | {params} | "
              f"{r['rss_self'] / 1e6:.0f} MB | {r['rss_tree'] / 1e6:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
