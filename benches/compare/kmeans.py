"""dask-ml and scikit-learn KMeans on the same data as `benches/benches/kmeans.rs`.

The data is generated in Rust (make_blobs, 8 centres, std 20, seed 0) and written to a
`.npy` file by the Rust bench, so every tool fits exactly the same rows:

    RASK_KMEANS_NPY=/tmp/kmeans.npy cargo bench -p rask-benches --bench kmeans
    python3 benches/compare/kmeans.py /tmp/kmeans.npy

Each tool runs in its own process (so peak RSS is its own), with the data loaded into memory
first (the Rust bench also fits in-memory blocks):
- dask-ml: KMeans(n_clusters=8, init="k-means||", oversampling_factor=2, init_max_iter default,
  max_iter=30, tol=0, random_state=0) on a dask array of 200,000-row chunks, threaded
  scheduler with 2 workers;
- scikit-learn: KMeans(n_clusters=8, n_init=1, max_iter=30, tol=0, random_state=0) (Lloyd,
  k-means++), on the in-memory array.
Environment: RASK_KMEANS_CHUNK (rows per chunk, default 200000), RASK_KMEANS_THREADS
(default 2).
"""
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

CHUNK = int(os.environ.get("RASK_KMEANS_CHUNK", "200000"))
THREADS = int(os.environ.get("RASK_KMEANS_THREADS", "2"))


def peak_rss_gb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def run(tool, path):
    x = np.load(path)
    if tool == "dask-ml":
        import dask
        import dask.array as da
        from dask_ml.cluster import KMeans

        dx = da.from_array(x, chunks=(CHUNK, x.shape[1]))
        km = KMeans(n_clusters=8, init="k-means||", oversampling_factor=2, max_iter=30, tol=0, random_state=0)
        with dask.config.set(scheduler="threads", num_workers=THREADS):
            t = time.perf_counter()
            km.fit(dx)
            fit = time.perf_counter() - t
        n_iter = int(km.n_iter_)
        # dask-ml's inertia_ can be wrong (unsquared distances) when the fit stops early; recompute.
        inertia = float(((x - km.cluster_centers_[km.predict(dx).compute()]) ** 2).sum())
    else:
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        with threadpool_limits(THREADS):
            km = KMeans(n_clusters=8, n_init=1, max_iter=30, tol=0, random_state=0)
            t = time.perf_counter()
            km.fit(x)
            fit = time.perf_counter() - t
        n_iter, inertia = int(km.n_iter_), float(km.inertia_)
    return {"tool": tool, "fit": fit, "n_iter": n_iter, "inertia": inertia, "rss": peak_rss_gb()}


def main():
    if len(sys.argv) == 3:
        print(json.dumps(run(sys.argv[2], sys.argv[1])))
        return
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    path = sys.argv[1]
    shape = np.load(path, mmap_mode="r").shape
    print(f"KMeans k=8, {shape[0]} x {shape[1]} f64 from {path}, {CHUNK}-row chunks, max_iter=30, tol=0, {THREADS} threads")
    print("| tool | fit (s) | per iteration (ms) | peak RSS | n_iter | inertia |")
    print("|---|---|---|---|---|---|")
    for tool in ["dask-ml", "scikit-learn"]:
        out = subprocess.run([sys.executable, __file__, path, tool], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"| {tool} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr else '?'} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        per_iter = r["fit"] / max(r["n_iter"], 1) * 1e3
        label = "dask-ml (threaded, k-means||)" if tool == "dask-ml" else "scikit-learn (n_init=1, k-means++)"
        print(f"| {label} | {r['fit']:.3f} | {per_iter:.1f} (fit / n_iter, init included) | {r['rss']:.2f} GB | {r['n_iter']} | {r['inertia']:.6e} |")


if __name__ == "__main__":
    main()
