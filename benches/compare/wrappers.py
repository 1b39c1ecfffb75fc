"""dask-ml's ParallelPostFit and BlockwiseVotingClassifier (and scikit-learn in memory) on the
rows the Rust bench wrote, for the side-by-side table of the bring-your-own-model wrappers.

    RASK_WRAPPERS_NPY_DIR=/tmp/rask-wrappers cargo bench -p rask-benches --bench wrappers
    python3 benches/compare/wrappers.py /tmp/rask-wrappers

- ParallelPostFit(LogisticRegression).predict over ppf_x.npy (10,000,000 x 20 by default),
  the model fitted by scikit-learn on the first 1,000,000 rows (as the Rust bench does), dask
  chunks of RASK_WRAPPERS_CHUNK rows (default 500000), persisted before timing, gathered
  into one array and left in its blocks (a list of arrays); and scikit-learn's predict on the
  whole array in memory.
- BlockwiseVotingClassifier(SGDClassifier(), classes=[0, 1]) fit and predict over vote_x.npy
  (1,000,000 x 20) in 10 chunks, hard voting (dask-ml's default).

Threaded dask scheduler with RASK_WRAPPERS_THREADS workers (default 2), one BLAS thread.
Times are medians, with the fastest run beside them, of RASK_WRAPPERS_REPEAT runs (default 7)
for ParallelPostFit and of 5 for the voting ensemble (as in the Rust bench); scikit-learn in
memory is the best of 5. Versions are pinned in
benches/compare/requirements-search.txt.
"""
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def median_of(n, f):
    """(median, fastest) seconds over n runs of f, and the last result."""
    times, out = [], None
    for _ in range(max(n, 1)):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    times.sort()
    m = len(times) // 2
    median = times[m] if len(times) % 2 else (times[m - 1] + times[m]) / 2
    return (median, times[0]), out


def best_of(n, f):
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RASK_WRAPPERS_NPY_DIR", "/tmp/rask-wrappers")
    threads = int(os.environ.get("RASK_WRAPPERS_THREADS", "2"))
    chunk = int(os.environ.get("RASK_WRAPPERS_CHUNK", "500000"))
    import dask
    import dask.array as da
    from dask_ml.ensemble import BlockwiseVotingClassifier
    from dask_ml.wrappers import ParallelPostFit
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    dask.config.set(scheduler="threads", num_workers=threads)
    only = os.environ.get("RASK_WRAPPERS_ONLY", "ppf,voting").split(",")

    if "ppf" in only:
        x = np.load(os.path.join(folder, "ppf_x.npy"))
        y = np.load(os.path.join(folder, "ppf_y.npy"))
        n = x.shape[0]
        head = min(n, 1_000_000)
        model = LogisticRegression().fit(x[:head], y[:head])
        dx = da.from_array(x, chunks=(chunk, x.shape[1])).persist()
        wrapped = ParallelPostFit(estimator=model)
        repeat = int(os.environ.get("RASK_WRAPPERS_REPEAT", "7"))
        (t_dask, fastest), pred = median_of(repeat, lambda: wrapped.predict(dx).compute())
        # The same predictions left in their blocks (a list of arrays, no concatenation), as
        # the Rust bench's "left in blocks" line has them.
        lazy = wrapped.predict(dx)
        (t_blocks, blocks_fastest), parts = median_of(repeat, lambda: dask.compute(*lazy.to_delayed().ravel()))
        assert (np.concatenate(parts) == pred).all()
        t_sk, pred_sk = best_of(5, lambda: model.predict(x))
        assert (pred == pred_sk).all()
        gb = x.nbytes / 1e9
        print(f"ParallelPostFit(LogisticRegression).predict, {n} x {x.shape[1]} ({gb:.2f} GB), chunks of {chunk}")
        print(
            f"  dask-ml ParallelPostFit   {t_dask:8.3f} s  {gb / t_dask:6.2f} GB/s  accuracy {(pred == y).mean():.4f}"
            f"  (median of {repeat}; fastest {fastest:.3f} s)"
        )
        print(
            f"  the same, left in blocks  {t_blocks:8.3f} s  {gb / t_blocks:6.2f} GB/s"
            f"  (median of {repeat}; fastest {blocks_fastest:.3f} s)"
        )
        print(f"  scikit-learn in memory    {t_sk:8.3f} s  {gb / t_sk:6.2f} GB/s")
        del x, dx

    if "voting" in only:
        x = np.load(os.path.join(folder, "vote_x.npy"))
        y = np.load(os.path.join(folder, "vote_y.npy"))
        n = x.shape[0]
        dx = da.from_array(x, chunks=(n // 10, x.shape[1])).persist()
        dy = da.from_array(y, chunks=(n // 10,)).persist()
        clf = BlockwiseVotingClassifier(SGDClassifier(random_state=0), classes=[0, 1])
        (t_fit, fit_fastest), _ = median_of(5, lambda: clf.fit(dx, dy))
        (t_pred, pred_fastest), pred = median_of(5, lambda: clf.predict(dx).compute())
        print(f"BlockwiseVotingClassifier(SGDClassifier), {n} x {x.shape[1]} in 10 blocks, hard voting (medians of 5)")
        print(
            f"  dask-ml fit {t_fit:.3f} s (fastest {fit_fastest:.3f})   predict {t_pred:.3f} s"
            f" (fastest {pred_fastest:.3f})   accuracy {(pred == y).mean():.4f}"
        )


if __name__ == "__main__":
    main()
