"""Golden files for the decomposition estimators: PCA, TruncatedSVD and IncrementalPCA.

Writes decomposition.json: for each dataset (iris, wine, breast cancer, and a generated
low-rank + noise matrix whose rows are included), scikit-learn's fitted attributes, the
transform of the first rows and the inverse transform of that.
"""
import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD

import golden_common

golden_common.check_versions()

N_ROWS_OUT = 20


def low_rank(seed=7, n=200, d=10, rank=3):
    rng = np.random.default_rng(seed)
    scales = np.array([10.0, 5.0, 2.0])[:rank]
    latent = rng.normal(size=(n, rank)) * scales
    mixing = np.linalg.qr(rng.normal(size=(d, rank)))[0].T
    x = latent @ mixing + 0.05 * rng.normal(size=(n, d)) + np.linspace(100.0, 200.0, d)
    return np.round(x, 6)


def pca_case(x, k, whiten):
    m = PCA(n_components=k, svd_solver="full", whiten=whiten).fit(x)
    head = x[:N_ROWS_OUT]
    t = m.transform(head)
    return {
        "n_components": k,
        "whiten": whiten,
        "components": m.components_,
        "explained_variance": m.explained_variance_,
        "explained_variance_ratio": m.explained_variance_ratio_,
        "singular_values": m.singular_values_,
        "mean": m.mean_,
        "noise_variance": m.noise_variance_,
        "transform_head": t,
        "inverse_transform_head": m.inverse_transform(t),
    }


def tsvd_case(x, k):
    m = TruncatedSVD(n_components=k, algorithm="arpack", tol=0.0, random_state=0).fit(x)
    head = x[:N_ROWS_OUT]
    t = m.transform(head)
    return {
        "n_components": k,
        "components": m.components_,
        "explained_variance": m.explained_variance_,
        "explained_variance_ratio": m.explained_variance_ratio_,
        "singular_values": m.singular_values_,
        "transform_head": t,
        "inverse_transform_head": m.inverse_transform(t),
    }


def ipca_case(x, k, batch_size, whiten):
    m = IncrementalPCA(n_components=k, batch_size=batch_size, whiten=whiten).fit(x)
    head = x[:N_ROWS_OUT]
    t = m.transform(head)
    return {
        "n_components": k,
        "batch_size": batch_size,
        "whiten": whiten,
        "components": m.components_,
        "explained_variance": m.explained_variance_,
        "explained_variance_ratio": m.explained_variance_ratio_,
        "singular_values": m.singular_values_,
        "mean": m.mean_,
        "var": m.var_,
        "noise_variance": m.noise_variance_,
        "n_samples_seen": m.n_samples_seen_,
        "transform_head": t,
        "inverse_transform_head": m.inverse_transform(t),
    }


datasets = {
    "iris": load_iris().data,
    "wine": load_wine().data,
    "breast_cancer": load_breast_cancer().data,
    "low_rank": low_rank(),
}
ks = {"iris": 2, "wine": 3, "breast_cancer": 5, "low_rank": 3}
batches = {"iris": 50, "wine": 40, "breast_cancer": 100, "low_rank": 64}

payload = {"low_rank_x": datasets["low_rank"], "cases": {}}
for name, x in datasets.items():
    k = ks[name]
    payload["cases"][name] = {
        "pca": [pca_case(x, k, False), pca_case(x, k, True)],
        "tsvd": tsvd_case(x, k),
        "ipca": [ipca_case(x, k, batches[name], False), ipca_case(x, k, batches[name], True)],
    }
# scikit-learn's float n_components: the smallest count whose cumulative ratio exceeds it.
payload["wine_fraction_0_9999"] = int(PCA(n_components=0.9999, svd_solver="full").fit(datasets["wine"]).n_components_)
payload["cancer_fraction_0_5"] = int(PCA(n_components=0.5, svd_solver="full").fit(datasets["breast_cancer"]).n_components_)
golden_common.write("decomposition.json", payload)
