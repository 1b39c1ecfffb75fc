"""Golden files for rask-estimators' linear models (LogisticRegression, LinearRegression and
its ridge/lasso/elastic-net variants, PoissonRegressor), written to linear_model.json.

Every reference fit is converged tightly so the Rust side can compare with tolerances that
reflect solver precision, not early stopping. Smooth problems use scikit-learn's newton-cg
(logistic) or newton-cholesky (Poisson) solvers: its lbfgs stops on scipy's relative-decrease
test (ftol = 64 eps) with gradients still near 1e-7 on iris, so its answers are kept too, under
"lbfgs", for a looser comparison. SAGA (L1, elastic-net) at tol 1e-15 reaches an optimality
violation near 1e-13 on breast cancer (checked by hand).
Standardised data is standardised here with StandardScaler (mean, std with ddof 0); the
Rust tests standardise the same embedded files the same way with column_stats.
"""
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import (ElasticNet, Lasso, LinearRegression, LogisticRegression,
                                  PoissonRegressor, Ridge)
from sklearn.preprocessing import StandardScaler

import golden_common

golden_common.check_versions()
from sklearn.exceptions import ConvergenceWarning

warnings.simplefilter("error", ConvergenceWarning)  # a non-converged fit would make a golden file worthless

N_PROBA = 40  # rows of predict_proba / predictions kept (the first ones)


def logistic(x, y, **kw):
    m = LogisticRegression(**kw).fit(x, y)
    extra = {}
    if kw.get("solver") == "newton-cg":
        lb = LogisticRegression(**{**kw, "solver": "lbfgs"}).fit(x, y)
        extra["lbfgs"] = {"coef": lb.coef_, "intercept": lb.intercept_, "n_iter": int(np.max(lb.n_iter_))}
    return {
        **extra,
        "params": {k: v for k, v in kw.items()},
        "coef": m.coef_,
        "intercept": m.intercept_,
        "classes": m.classes_,
        "n_iter": int(np.max(m.n_iter_)),
        "predict": m.predict(x),
        "predict_proba": m.predict_proba(x[:N_PROBA]),
    }


def regression(model, x, y, **extra):
    model.fit(x, y)
    return {
        "coef": model.coef_,
        "intercept": float(model.intercept_),
        "predict": model.predict(x[:N_PROBA]),
        **extra,
    }


out = {}

# Breast cancer, standardised: binary logistic regression.
bc = load_breast_cancer()
xb = StandardScaler().fit_transform(bc.data)
out["breast_cancer_l2_c1"] = logistic(xb, bc.target, C=1.0, solver="newton-cg", tol=1e-12, max_iter=10000)
out["breast_cancer_l2_c01_no_intercept"] = logistic(xb, bc.target, C=0.1, solver="newton-cg", tol=1e-12, max_iter=10000,
                                                    fit_intercept=False)
out["breast_cancer_l1_c01"] = logistic(xb, bc.target, penalty="l1", C=0.1, solver="saga", tol=1e-15,
                                       max_iter=200000)
out["breast_cancer_en_c01"] = logistic(xb, bc.target, penalty="elasticnet", l1_ratio=0.5, C=0.1,
                                       solver="saga", tol=1e-15, max_iter=200000)

# Iris, raw: multinomial logistic regression.
iris = load_iris()
out["iris_c1"] = logistic(iris.data, iris.target, C=1.0, solver="newton-cg", tol=1e-12, max_iter=10000)
out["iris_c10"] = logistic(iris.data, iris.target, C=10.0, solver="newton-cg", tol=1e-12, max_iter=10000)

# Diabetes, raw for ordinary least squares, standardised for the penalised fits.
xd, yd = load_diabetes(return_X_y=True, scaled=False)
xds = StandardScaler().fit_transform(xd)
out["diabetes_ols"] = regression(LinearRegression(), xd, yd)
out["diabetes_ridge_a10"] = regression(Ridge(alpha=10.0, tol=1e-12), xds, yd, alpha=10.0)
out["diabetes_lasso_a1"] = regression(Lasso(alpha=1.0, tol=1e-14, max_iter=1000000), xds, yd, alpha=1.0)
out["diabetes_enet_a05"] = regression(ElasticNet(alpha=0.5, l1_ratio=0.7, tol=1e-14, max_iter=1000000), xds,
                                      yd, alpha=0.5, l1_ratio=0.7)

# Poisson counts: generated here and written out so both sides fit the same rows.
rng = np.random.default_rng(20261125)
xp = rng.normal(scale=0.7, size=(300, 4))
true_w = np.array([0.5, -0.3, 0.0, 0.8])
yp = rng.poisson(np.exp(xp @ true_w + 0.4)).astype(float)
xp = np.round(xp, 6)  # short JSON; the rounded values are the data
out["counts"] = {"x": xp, "y": yp}
for alpha in (1.0, 0.01):
    m = PoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12, max_iter=10000)
    out[f"poisson_a{alpha}"] = regression(m, xp, yp, alpha=alpha)

golden_common.write("linear_model.json", out)
