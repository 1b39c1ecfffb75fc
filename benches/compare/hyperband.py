"""dask-ml's HyperbandSearchCV on the rows the Rust Hyperband bench writes.

The data (make_classification, 200,000 x 20 f64, int64 labels) is written by the Rust bench as
FOLDER/x.npy and FOLDER/y.npy:

    RASK_SEARCH_NPY_DIR=/tmp/rask-search RASK_SEARCH_ONLY=hyperband cargo bench -p rask-benches --bench search
    /work/venv-compare/bin/python benches/compare/hyperband.py /tmp/rask-search/hyperband

(venv: see benches/compare/requirements-search.txt). Without the Rust bench, a stand-in:

    /work/venv-compare/bin/python -c "import numpy as np, os; from sklearn.datasets import \
make_classification as m; x, y = m(200000, 20, n_informative=10, random_state=0); \
os.makedirs('/tmp/hyperband-data', exist_ok=True); np.save('/tmp/hyperband-data/x.npy', x); \
np.save('/tmp/hyperband-data/y.npy', y.astype(np.int64))"

The search: dask_ml.model_selection.HyperbandSearchCV(SGDClassifier(random_state=0),
{alpha: loguniform(1e-6, 1e-1), loss: [hinge, log_loss], penalty: [l2, l1]}, max_iter=27,
aggressiveness=3, random_state=0), fit(X, y, classes=[...]) with X, y dask arrays of
10,000-row blocks (20 blocks) built from the in-memory arrays, on a distributed LocalCluster of 2
worker processes x 1 thread (dask-ml's adaptive searches need a distributed Client). The arrays
are not persisted before the fit: with dask 2025.1, dask-ml's train_test_split fails on
persisted arrays (TypeError "only integer scalar arrays can be converted to a scalar index" in
_blockwise_slice), so shipping the blocks to the workers is inside the timing. Scoring is
SGDClassifier.score (accuracy) on the held-out rows. One partial_fit call = one training block.

What dask-ml 2025.1 does (read from dask_ml/model_selection/_hyperband.py, _incremental.py,
_split.py):
- brackets for max_iter=R=27, eta=3: s_max = floor(log_3 27) = 3; bracket s gets
  n = ceil((s_max+1) * eta^s / (s+1)) models starting at r = R * eta^-s calls:
  {3: (27 models, 1), 2: (12, 3), 1: (6, 9), 0: (4, 27)}; each bracket is a
  SuccessiveHalvingSearchCV, all four run concurrently on the cluster;
- every bracket splits X itself: test_size defaults to min(0.2, 1 / n_blocks) (0.05 for 20
  blocks, not 0.15), split blockwise: in each block a permutation (seeded per block from the
  bracket's RandomState) puts the first ceil(test_size * block_rows) rows in the test set and the
  next floor((1 - test_size) * block_rows) in the training set. Bracket 0 uses random_state
  itself, bracket b > 0 uses seed_start + b with seed_start = RandomState(random_state).randint(2**31),
  so the brackets have different held-out rows, and best_score_ (the best bracket's best model's
  last score) compares scores on different test sets;
- parameters are sampled per bracket (ParameterSampler with that bracket's seed), so the 49
  models are 49 independent draws; training blocks are visited in a per-bracket shuffled order,
  reshuffled each pass.
Environment: RASK_HYPERBAND_CHUNK (rows per block, default 10000), RASK_HYPERBAND_WORKERS
(default 2), RASK_HYPERBAND_TEST_SIZE (default: dask-ml's default, see above),
RASK_HYPERBAND_MAX_ITER (default 27), RASK_HYPERBAND_BLAS_THREADS (default 1).
Peak RSS: `self` is ru_maxrss of the client process, `tree` the peak of the summed RSS of it and
its worker processes, sampled every 20 ms.
"""
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

CHUNK = int(os.environ.get("RASK_HYPERBAND_CHUNK", "10000"))
WORKERS = int(os.environ.get("RASK_HYPERBAND_WORKERS", "2"))
MAX_ITER = int(os.environ.get("RASK_HYPERBAND_MAX_ITER", "27"))
TEST_SIZE = os.environ.get("RASK_HYPERBAND_TEST_SIZE")
TEST_SIZE = float(TEST_SIZE) if TEST_SIZE else None


def run(folder):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from grid_search import TreeRss

    tree = TreeRss()
    warnings.simplefilter("ignore")
    import dask.array as da
    from distributed import Client, LocalCluster
    from scipy.stats import loguniform
    from sklearn.linear_model import SGDClassifier

    from dask_ml.model_selection import HyperbandSearchCV

    x = np.load(os.path.join(folder, "x.npy"))
    y = np.load(os.path.join(folder, "y.npy"))
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    # Not persisted beforehand: with dask 2025.1, dask-ml's blockwise train_test_split fails on
    # persisted arrays ("only integer scalar arrays can be converted to a scalar index" in
    # _blockwise_slice); the search persists the split arrays itself, inside the timing.
    dx = da.from_array(x, chunks=(CHUNK, x.shape[1]))
    dy = da.from_array(y, chunks=(CHUNK,))
    setup = time.perf_counter() - t

    params = {"alpha": loguniform(1e-6, 1e-1), "loss": ["hinge", "log_loss"], "penalty": ["l2", "l1"]}
    search = HyperbandSearchCV(SGDClassifier(random_state=0), params, max_iter=MAX_ITER, aggressiveness=3,
                               random_state=0, test_size=TEST_SIZE)
    plan = search.metadata

    # Stamp every history_ entry with the time since fit() began: dask-ml's elapsed_wall_time starts
    # at each bracket's training loop, after the data are split, shipped and the models created.
    # _additional_calls runs in this process right after each batch of scores is appended.
    from dask_ml.model_selection._successive_halving import SuccessiveHalvingSearchCV

    original = SuccessiveHalvingSearchCV._additional_calls

    def stamped(self, info):
        now = time.perf_counter() - t
        for h in (h for hist in info.values() for h in hist):
            h.setdefault("since_fit_start", now)
        return original(self, info)

    SuccessiveHalvingSearchCV._additional_calls = stamped
    t = time.perf_counter()
    search.fit(dx, dy, classes=np.unique(y))
    secs = time.perf_counter() - t

    hist = search.history_
    # history_ entries: one per score, elapsed_wall_time measured from the start of that bracket's
    # training loop (dask-ml's clock; the brackets start together, after model creation).
    best_model = search.cv_results_["model_id"][search.best_index_]
    best_hits = [(h["since_fit_start"], h["elapsed_wall_time"]) for h in hist
                 if h["model_id"] == best_model and h["score"] >= search.best_score_]
    calls_from_history = sum(max(h["partial_fit_calls"] for h in mh) for mh in search.model_history_.values())
    ts = TEST_SIZE if TEST_SIZE is not None else min(0.2, 1 / dx.numblocks[0])
    n_test = sum(int(np.ceil(ts * c)) for c in dx.chunks[0])
    client.close()
    cluster.close()
    return {
        "seconds": secs,
        "setup": setup,
        "best_score": float(search.best_score_),
        "best_params": {k: (v.item() if hasattr(v, "item") else v) for k, v in search.best_params_.items()},
        "best_model": str(best_model),
        "time_to_best": min(best_hits) if best_hits else None,
        "first_score": min((h["since_fit_start"], h["elapsed_wall_time"]) for h in hist),
        "last_score": max((h["since_fit_start"], h["elapsed_wall_time"]) for h in hist),
        "n_scores": len(hist),
        "partial_fit_calls": search.metadata_["partial_fit_calls"],
        "partial_fit_calls_from_history": calls_from_history,
        "n_models": search.metadata_["n_models"],
        "planned": {"partial_fit_calls": plan["partial_fit_calls"], "n_models": plan["n_models"],
                    "brackets": [{k: b[k] for k in ("bracket", "n_models", "partial_fit_calls", "decisions")}
                                 for b in plan["brackets"]]},
        "brackets": [{k: b[k] for k in ("bracket", "n_models", "partial_fit_calls", "decisions")}
                     for b in search.metadata_["brackets"]],
        "test_size": ts,
        "n_test_per_bracket": n_test,
        "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_tree": tree.close(),
    }


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--run":
        print(json.dumps(run(sys.argv[2]), default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        return
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    folder = sys.argv[1]
    shape = np.load(os.path.join(folder, "x.npy"), mmap_mode="r").shape
    blas = os.environ.get("RASK_HYPERBAND_BLAS_THREADS", "1")
    env = dict(os.environ, OMP_NUM_THREADS=blas, OPENBLAS_NUM_THREADS=blas, MKL_NUM_THREADS=blas)
    out = subprocess.run([sys.executable, __file__, "--run", folder], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"dask-ml HyperbandSearchCV failed (exit {out.returncode})")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"dask-ml HyperbandSearchCV: {shape[0]} x {shape[1]} f64 from {folder}, {CHUNK}-row blocks, "
          f"LocalCluster {WORKERS} workers x 1 thread, SGDClassifier, max_iter={MAX_ITER}, aggressiveness=3, "
          f"random_state=0")
    print(f"held out per bracket: test_size={r['test_size']:g} -> {r['n_test_per_bracket']} rows "
          f"(each bracket its own rows)")
    print(f"fit: {r['seconds']:.2f} s (cluster start before it: {r['setup']:.1f} s)")
    print(f"best_score_ {r['best_score']:.6f}, best_params_ {r['best_params']} ({r['best_model']})")
    def at(pair):
        return f"{pair[0]:.2f} s after fit() began ({pair[1]:.2f} s of dask-ml's elapsed_wall_time)" if pair else "?"

    print(f"best score first reached {at(r['time_to_best'])}")
    print(f"first score {at(r['first_score'])}; last score {at(r['last_score'])}")
    print(f"models: {r['n_models']} (planned {r['planned']['n_models']}); partial_fit calls: "
          f"{r['partial_fit_calls']} (metadata_), {r['partial_fit_calls_from_history']} (model_history_), "
          f"planned {r['planned']['partial_fit_calls']}; scores recorded: {r['n_scores']}")
    print("| bracket | models (plan / run) | partial_fit calls (plan / run) | decision points (plan / run) |")
    print("|---|---|---|---|")
    run_by = {b["bracket"]: b for b in r["brackets"]}
    for p in r["planned"]["brackets"]:
        a = run_by.get(p["bracket"], {})
        print(f"| {p['bracket']} | {p['n_models']} / {a.get('n_models')} | {p['partial_fit_calls']} / "
              f"{a.get('partial_fit_calls')} | {p['decisions']} / {a.get('decisions')} |")
    print(f"peak RSS: self {r['rss_self'] / 1e6:.0f} MB, process tree {r['rss_tree'] / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
