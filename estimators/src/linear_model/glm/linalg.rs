//! Small dense solves for the Newton and direct paths (`faer`, pure Rust; the Cholesky solve
//! through LAPACK with the `lapack` feature).

use faer::prelude::Solve;
use faer::{Mat, Side};

/// Solves `H x = b` for a symmetric positive semi-definite `H` (row-major `n × n`).
///
/// A Cholesky factorisation is tried first. When it fails (a singular `H`: collinear
/// features, or the multinomial model's redundant direction), the minimum-norm solution is
/// returned instead, from the eigendecomposition with eigenvalues below `n · ε · λ_max`
/// treated as zero, which is what a least-squares solver (scikit-learn's `lstsq`) gives.
pub fn solve_spd(h: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let m = Mat::from_fn(n, n, |i, j| h[i * n + j]);
    #[cfg(feature = "lapack")]
    if let Some(x) = rask_ml::dense::cholesky_solve(h, b, n) {
        if x.iter().all(|v| v.is_finite()) {
            return x;
        }
    }
    let rhs = Mat::from_fn(n, 1, |i, _| b[i]);
    if let Ok(llt) = m.llt(Side::Lower) {
        let x = llt.solve(&rhs);
        let out: Vec<f64> = (0..n).map(|i| x[(i, 0)]).collect();
        if out.iter().all(|v| v.is_finite()) {
            return out;
        }
    }
    pseudo_solve(&m, b, n)
}

fn pseudo_solve(m: &Mat<f64>, b: &[f64], n: usize) -> Vec<f64> {
    let Ok(eig) = m.self_adjoint_eigen(Side::Lower) else {
        return vec![0.0; n];
    };
    let (u, s) = (eig.U(), eig.S());
    let lmax = (0..n).map(|i| s[i].abs()).fold(0.0, f64::max);
    let cut = lmax * n as f64 * f64::EPSILON;
    let mut x = vec![0.0; n];
    for k in 0..n {
        if s[k] <= cut {
            continue;
        }
        let c: f64 = (0..n).map(|i| u[(i, k)] * b[i]).sum::<f64>() / s[k];
        for (i, xi) in x.iter_mut().enumerate() {
            *xi += c * u[(i, k)];
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_definite_and_singular_systems() {
        let h = [4.0, 1.0, 1.0, 3.0];
        let x = solve_spd(&h, &[1.0, 2.0], 2);
        assert!((4.0 * x[0] + x[1] - 1.0).abs() < 1e-12 && (x[0] + 3.0 * x[1] - 2.0).abs() < 1e-12);
        // Singular: the minimum-norm solution of [[1, 1], [1, 1]] x = [2, 2] is [1, 1].
        let x = solve_spd(&[1.0, 1.0, 1.0, 1.0], &[2.0, 2.0], 2);
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12, "{x:?}");
    }
}
