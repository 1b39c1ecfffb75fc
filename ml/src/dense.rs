//! Dense kernels on small and block-sized matrices, behind one interface whose backend is
//! chosen at build time: [`faer`](https://docs.rs/faer) (pure Rust, the default) or, with the
//! `lapack` cargo feature, LAPACK through `ndarray-linalg` and the system's OpenBLAS
//! (`libopenblas-dev`). [`BACKEND`] names the one compiled in.
//!
//! Chunked QR / SVD (`ChunkedArray::tsqr`, `svd`), PCA's and TruncatedSVD's decompositions,
//! spectral clustering's eigendecomposition and the Newton / direct solves of the linear
//! models go through here. Results agree between the backends to rounding (tested), up to
//! the signs of singular and eigen vectors, which every caller fixes (`svd_flip`).

use ndarray::{Array1, Array2};

/// A thin SVD: `(U (m × k), s decreasing (k), Vᵀ (k × n))`.
pub type Svd = (Array2<f64>, Array1<f64>, Array2<f64>);

/// The backend compiled in: `"faer"` or `"lapack"`.
pub const BACKEND: &str = if cfg!(feature = "lapack") { "lapack" } else { "faer" };

/// Thin QR: `(Q, R)` with `Q` `m × k` and `R` `k × n`, `k = min(m, n)`.
pub fn thin_qr(a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>), String> {
    imp::thin_qr(a)
}

/// The `R` factor (`min(m, n) × n`, upper triangular) of a thin QR.
pub fn qr_r(a: &Array2<f64>) -> Result<Array2<f64>, String> {
    imp::qr_r(a)
}

/// Thin SVD `a = U diag(s) Vᵀ`: `(U (m × k), s decreasing (k), Vᵀ (k × n))`.
pub fn thin_svd(a: &Array2<f64>) -> Result<Svd, String> {
    imp::thin_svd(a)
}

/// Eigenvalues (decreasing) and eigenvectors (as rows, in the same order) of a symmetric
/// matrix.
pub fn symmetric_eigen(a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>), String> {
    imp::symmetric_eigen(a)
}

/// Solves `H x = b` by Cholesky for a symmetric positive definite `H` (row-major `n × n`);
/// `None` when `H` is not positive definite (numerically).
pub fn cholesky_solve(h: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    imp::cholesky_solve(h, b, n)
}

#[cfg(not(feature = "lapack"))]
mod imp {
    use ndarray::{Array1, Array2};

    fn to_faer(a: &Array2<f64>) -> faer::Mat<f64> {
        faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
    }

    fn from_faer(m: faer::MatRef<'_, f64>) -> Array2<f64> {
        Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
    }

    pub fn thin_qr(a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>), String> {
        let qr = to_faer(a).qr();
        Ok((from_faer(qr.compute_thin_Q().as_ref()), from_faer(qr.thin_R())))
    }

    pub fn qr_r(a: &Array2<f64>) -> Result<Array2<f64>, String> {
        Ok(from_faer(to_faer(a).qr().thin_R()))
    }

    pub fn thin_svd(a: &Array2<f64>) -> Result<super::Svd, String> {
        let svd = to_faer(a).thin_svd().map_err(|e| format!("the SVD did not converge: {e:?}"))?;
        let v = from_faer(svd.V());
        let sd = svd.S();
        let s = Array1::from_iter((0..v.ncols()).map(|i| sd[i]));
        Ok((from_faer(svd.U()), s, v.reversed_axes()))
    }

    pub fn symmetric_eigen(a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>), String> {
        let evd = to_faer(a)
            .self_adjoint_eigen(faer::Side::Lower)
            .map_err(|e| format!("the eigendecomposition did not converge: {e:?}"))?;
        let n = a.nrows();
        let (sd, u) = (evd.S(), evd.U());
        // faer sorts eigenvalues increasingly; callers want them decreasing.
        let values = Array1::from_iter((0..n).rev().map(|i| sd[i]));
        let vectors = Array2::from_shape_fn((n, n), |(r, j)| u[(j, n - 1 - r)]);
        Ok((values, vectors))
    }

    pub fn cholesky_solve(h: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
        use faer::prelude::Solve;
        let m = faer::Mat::from_fn(n, n, |i, j| h[i * n + j]);
        let rhs = faer::Mat::from_fn(n, 1, |i, _| b[i]);
        let llt = m.llt(faer::Side::Lower).ok()?;
        let x = llt.solve(&rhs);
        Some((0..n).map(|i| x[(i, 0)]).collect())
    }
}

#[cfg(feature = "lapack")]
mod imp {
    // Links the system's OpenBLAS (LAPACK and CBLAS).
    extern crate openblas_src as _;

    use ndarray::{Array1, Array2};
    use ndarray_linalg::{Eigh, FactorizeC, JobSvd, SolveC, QR, SVDDC, UPLO};

    fn err(what: &str, e: impl std::fmt::Display) -> String {
        format!("LAPACK {what} failed: {e}")
    }

    pub fn thin_qr(a: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>), String> {
        if a.is_empty() {
            let k = a.nrows().min(a.ncols());
            return Ok((Array2::zeros((a.nrows(), k)), Array2::zeros((k, a.ncols()))));
        }
        a.qr().map_err(|e| err("QR", e))
    }

    pub fn qr_r(a: &Array2<f64>) -> Result<Array2<f64>, String> {
        Ok(thin_qr(a)?.1)
    }

    pub fn thin_svd(a: &Array2<f64>) -> Result<super::Svd, String> {
        let k = a.nrows().min(a.ncols());
        if k == 0 {
            return Ok((Array2::zeros((a.nrows(), 0)), Array1::zeros(0), Array2::zeros((0, a.ncols()))));
        }
        let (u, s, vt) = a.svddc(JobSvd::Some).map_err(|e| err("SVD", e))?;
        let u = u.ok_or_else(|| "LAPACK SVD returned no U".to_string())?;
        let vt = vt.ok_or_else(|| "LAPACK SVD returned no Vᵀ".to_string())?;
        Ok((u, s, vt))
    }

    pub fn symmetric_eigen(a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>), String> {
        let n = a.nrows();
        if n == 0 {
            return Ok((Array1::zeros(0), Array2::zeros((0, 0))));
        }
        let (vals, vecs) = a.eigh(UPLO::Lower).map_err(|e| err("eigendecomposition", e))?;
        // LAPACK sorts eigenvalues increasingly; callers want them decreasing.
        let values = Array1::from_iter((0..n).rev().map(|i| vals[i]));
        let vectors = Array2::from_shape_fn((n, n), |(r, j)| vecs[[j, n - 1 - r]]);
        Ok((values, vectors))
    }

    pub fn cholesky_solve(h: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
        let m = Array2::from_shape_vec((n, n), h.to_vec()).ok()?;
        let f = m.factorizec(UPLO::Lower).ok()?;
        f.solvec(&Array1::from(b.to_vec())).ok().map(|x| x.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    fn close(a: &Array2<f64>, b: &Array2<f64>) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-10)
    }

    #[test]
    fn kernels_reconstruct_their_input() {
        let a = array![[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0], [1.0, 1.0, 1.0]];
        let (q, r) = thin_qr(&a).unwrap();
        assert!(close(&q.dot(&r), &a));
        assert!(close(&q.t().dot(&q), &Array2::eye(3)));
        assert_eq!(qr_r(&a).unwrap().mapv(f64::abs), r.mapv(f64::abs));
        let (u, s, vt) = thin_svd(&a).unwrap();
        assert!(close(&(u * &s).dot(&vt), &a));
        assert!(s.windows(2).into_iter().all(|w| w[0] >= w[1]));
        let sym = a.t().dot(&a);
        let (vals, vecs) = symmetric_eigen(&sym).unwrap();
        assert!(vals.windows(2).into_iter().all(|w| w[0] >= w[1]));
        for (l, v) in vals.iter().zip(vecs.rows()) {
            let av = sym.dot(&v);
            assert!(av.iter().zip(v.iter()).all(|(x, y)| (x - l * y).abs() < 1e-9));
        }
        // The squared singular values are the eigenvalues of AᵀA.
        assert!(s.iter().zip(&vals).all(|(s, l)| (s * s - l).abs() < 1e-9));
        let x = cholesky_solve(&[4.0, 1.0, 1.0, 3.0], &[1.0, 2.0], 2).unwrap();
        assert!((4.0 * x[0] + x[1] - 1.0).abs() < 1e-12 && (x[0] + 3.0 * x[1] - 2.0).abs() < 1e-12);
        assert!(cholesky_solve(&[1.0, 2.0, 2.0, 1.0], &[1.0, 1.0], 2).is_none());
        assert!(BACKEND == "faer" || BACKEND == "lapack");
    }
}
