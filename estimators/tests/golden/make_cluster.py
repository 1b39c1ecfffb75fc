"""Golden files for rask-estimators' clustering: scikit-learn's KMeans (Lloyd, given initial
centres, one init) on iris, wine and generated blobs, scikit-learn's best-of-10 k-means++
inertia on a harder blob set (the bar for k-means||), and scikit-learn's exact
SpectralClustering labels on blobs and circles (the bar for the Nyström approximation), and
MiniBatchKMeans.partial_fit over consecutive batches (the update rule)."""
import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans, SpectralClustering
from sklearn.datasets import load_iris, load_wine, make_blobs, make_circles

from golden_common import check_versions, write

check_versions()


def lloyd_case(X, init_rows, tol, with_x):
    init = X[init_rows]
    km = KMeans(n_clusters=len(init_rows), init=init, n_init=1, algorithm="lloyd", max_iter=300, tol=tol)
    km.fit(X)
    out = {
        "init_rows": list(init_rows),
        "tol": tol,
        "cluster_centers": km.cluster_centers_,
        "inertia": km.inertia_,
        "n_iter": km.n_iter_,
        "predict": km.predict(X),
        "transform": km.transform(X),
        "score": km.score(X),
    }
    if with_x:
        out["x"] = X
    return out


iris = load_iris().data
wine = load_wine().data
blobs, _ = make_blobs(n_samples=300, n_features=4, centers=4, cluster_std=1.5, random_state=0)
hard, _ = make_blobs(n_samples=1000, n_features=3, centers=6, cluster_std=1.5, random_state=3)
def spectral_case(X, k, gamma):
    sc = SpectralClustering(n_clusters=k, affinity="rbf", gamma=gamma, random_state=0).fit(X)
    return {"x": X, "k": k, "gamma": gamma, "labels": sc.labels_}


def mini_batch_case(X, init_rows, batch):
    """partial_fit over consecutive batches (no random sampling, no reassignment)."""
    mb = MiniBatchKMeans(n_clusters=len(init_rows), init=X[init_rows], n_init=1, reassignment_ratio=0.0)
    for start in range(0, len(X), batch):
        mb.partial_fit(X[start : start + batch])
    return {"init_rows": list(init_rows), "batch": batch, "cluster_centers": mb.cluster_centers_, "counts": mb._counts, "n_steps": mb.n_steps_}


best = KMeans(n_clusters=6, init="k-means++", n_init=10, algorithm="lloyd", random_state=0).fit(hard)

write(
    "cluster.json",
    {
        "iris": lloyd_case(iris, [0, 50, 100], 1e-4, False),
        "iris_tol0": lloyd_case(iris, [3, 4, 5, 6], 0.0, False),
        "wine": lloyd_case(wine, [0, 60, 130], 1e-4, False),
        "blobs": lloyd_case(blobs, [0, 1, 2, 3], 1e-4, True),
        "hard_blobs": {"x": hard, "k": 6, "best_of_10_inertia": best.inertia_},
        "mini_batch_iris": mini_batch_case(iris, [0, 50, 100], 50),
        "mini_batch_wine": mini_batch_case(wine, [0, 60, 130], 30),
        "spectral_blobs": spectral_case(make_blobs(300, n_features=2, centers=3, cluster_std=0.6, random_state=1)[0], 3, 0.5),
        "spectral_circles": spectral_case(make_circles(300, factor=0.4, noise=0.05, random_state=0)[0], 2, 20.0),
    },
)
