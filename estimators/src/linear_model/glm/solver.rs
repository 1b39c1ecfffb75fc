//! The driver loops: every solver iterates on the small reduced quantities (loss, gradient,
//! Hessian) that one tree reduction over the row blocks computes per evaluation.

use std::collections::VecDeque;

use ndarray::Array1;
use rask_core::graph::Layers;
use rask_core::{default_scheduler, Value};
use rask_ml::chunked::BlockLayer;
use rask_ml::{ChunkedDataset, Element, Float, Lazy, MlError};
use serde::{Deserialize, Serialize};

use super::family::{Family, Layout, Partials, Want};
use super::linalg::solve_spd;
use super::ops::{AdmmLocal, BlockPartials, DataSummary, MergePartials, MergeSummaries, Summarize};
use super::{GlmError, Penalty, Solver};

/// Inputs per combine task of the tree reductions.
const SPLIT_EVERY: usize = 8;

/// The data of a fit, persisted once (iterative solvers read it many times, so a lazily
/// generated or loaded dataset is computed once, as dask-glm does with `persist`).
#[derive(Clone, Debug)]
pub struct Data {
    x: BlockLayer,
    y: BlockLayer,
    w: Option<BlockLayer>,
    n_cols: usize,
}

impl Data {
    /// Persists `ds` (features, targets, weights) on the default scheduler, in one graph
    /// computation so shared upstream work (a generator that makes `x` and `y` together) runs
    /// once.
    pub fn persist<F: Float, Y: Element>(ds: &ChunkedDataset<F, Y>, operation: &str) -> Result<Self, MlError> {
        let x = ds.x().block_layer();
        let y = ds.y_required(operation)?.block_layer();
        let w = ds.weights().map(|w| w.block_layer());
        let mut layers: Layers = x.layers().union(y.layers());
        let mut keys = x.block_keys();
        keys.extend(y.block_keys());
        if let Some(w) = w {
            layers = layers.union(w.layers());
            keys.extend(w.block_keys());
        }
        let g = default_scheduler().persist(&layers.to_graph(), &keys)?;
        let base = Layers::from_graph(g);
        let rebuild = |l: &BlockLayer| BlockLayer::new(base.clone(), l.key_name().clone(), l.chunks().clone());
        Ok(Data { x: rebuild(x)?, y: rebuild(y)?, w: w.map(rebuild).transpose()?, n_cols: ds.x().n_cols() })
    }

    /// Number of feature columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    fn others(&self) -> Vec<&BlockLayer> {
        let mut o = vec![&self.y];
        o.extend(self.w.as_ref());
        o
    }

    /// One pass: rows, weight sum, classes and value checks.
    pub fn summarize(&self) -> Result<DataSummary, MlError> {
        let (layers, key) = self.x.reduce(&self.others(), Summarize, MergeSummaries, SPLIT_EVERY)?;
        Lazy::<DataSummary>::new(layers, key).compute()
    }

    fn partials(&self, op: BlockPartials) -> Result<Partials, MlError> {
        let (layers, key) = self.x.reduce(&self.others(), op, MergePartials, SPLIT_EVERY)?;
        Lazy::<Partials>::new(layers, key).compute()
    }
}

/// A fully specified optimisation problem:
/// `minimise (1/S) Σᵢ sᵢ ℓ(yᵢ, ηᵢ) + λ·((1 − r)/2 ‖β‖² + r ‖β‖₁)`,
/// where `S` is the weight sum, `β` the coefficients without the intercepts, and `r` the
/// L1 ratio of the penalty (0 for L2, 1 for L1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The family.
    pub family: Family,
    /// The coefficient layout.
    pub layout: Layout,
    /// Sorted classes (classification families).
    pub classes: Vec<i64>,
    /// The penalty.
    pub penalty: Penalty,
    /// The penalty strength `λ`.
    pub lambda: f64,
    /// The elastic-net mixing `r` (used by `Penalty::ElasticNet` only).
    pub l1_ratio: f64,
    /// The solver.
    pub solver: Solver,
    /// Iteration budget.
    pub max_iter: usize,
    /// Convergence tolerance (see [`Solver`]).
    pub tol: f64,
    /// ADMM's augmented-Lagrangian parameter.
    pub rho: f64,
    /// The weight sum `S`.
    pub weight_sum: f64,
}

/// A solver's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Flat coefficients (see [`Layout`]).
    pub coef: Vec<f64>,
    /// Iterations run.
    pub n_iter: usize,
    /// Whether the convergence test passed within the budget.
    pub converged: bool,
}

impl Problem {
    /// `(λ₂, λ₁)`: the L2 and L1 strengths.
    fn strengths(&self) -> (f64, f64) {
        match self.penalty {
            Penalty::None => (0.0, 0.0),
            Penalty::L2 => (self.lambda, 0.0),
            Penalty::L1 => (0.0, self.lambda),
            Penalty::ElasticNet => (self.lambda * (1.0 - self.l1_ratio), self.lambda * self.l1_ratio),
        }
    }

    fn l1(&self, coef: &[f64]) -> f64 {
        let (_, l1) = self.strengths();
        if l1 == 0.0 {
            return 0.0;
        }
        l1 * coef.iter().enumerate().filter(|(i, _)| self.layout.penalised(*i)).map(|(_, c)| c.abs()).sum::<f64>()
    }

    /// The smooth part of the objective (mean loss plus the L2 term) with its derivatives.
    fn smooth(&self, data: &Data, coef: &[f64], want: Want) -> Result<Partials, MlError> {
        let op = BlockPartials {
            family: self.family,
            layout: self.layout,
            classes: self.classes.clone(),
            coef: coef.to_vec(),
            want,
        };
        let mut p = data.partials(op)?;
        let inv = 1.0 / self.weight_sum;
        let (l2, _) = self.strengths();
        let len = self.layout.len();
        p.loss *= inv;
        p.grad.iter_mut().for_each(|g| *g *= inv);
        p.hess.iter_mut().for_each(|h| *h *= inv);
        for i in (0..len).filter(|&i| self.layout.penalised(i)) {
            p.loss += 0.5 * l2 * coef[i] * coef[i];
            if !p.grad.is_empty() {
                p.grad[i] += l2 * coef[i];
            }
            if !p.hess.is_empty() {
                p.hess[i * len + i] += l2;
            }
        }
        Ok(p)
    }

    /// Soft-thresholds the penalised entries by `t · λ₁`.
    fn prox(&self, v: &mut [f64], t: f64) {
        let (_, l1) = self.strengths();
        if l1 == 0.0 {
            return;
        }
        for (i, x) in v.iter_mut().enumerate() {
            if self.layout.penalised(i) {
                *x = soft(*x, t * l1);
            }
        }
    }

    /// Runs the solver from `start` (zeros when `None`).
    pub fn solve(&self, data: &Data, start: Option<Vec<f64>>) -> Result<Solution, GlmError> {
        let x0 = start.unwrap_or_else(|| vec![0.0; self.layout.len()]);
        match self.solver {
            Solver::Lbfgs => self.lbfgs(data, x0),
            Solver::Newton => self.newton(data, x0),
            Solver::GradientDescent => self.gradient_descent(data, x0),
            Solver::ProximalGrad => self.proximal_grad(data, x0),
            Solver::Admm => self.admm(data, x0),
            Solver::Direct => self.direct(data),
        }
    }

    /// The normal equations: for a quadratic loss one Newton step from zero is the exact
    /// minimiser, so the Hessian `XᵀWX (+ λ)` and gradient `−XᵀWy` of one pass suffice.
    fn direct(&self, data: &Data) -> Result<Solution, GlmError> {
        let zero = vec![0.0; self.layout.len()];
        let p = self.smooth(data, &zero, Want::Hessian)?;
        let neg: Vec<f64> = p.grad.iter().map(|g| -g).collect();
        let coef = solve_spd(&p.hess, &neg, self.layout.len());
        check_finite(&coef, 1)?;
        Ok(Solution { coef, n_iter: 1, converged: true })
    }

    fn lbfgs(&self, data: &Data, mut x: Vec<f64>) -> Result<Solution, GlmError> {
        const MEMORY: usize = 10;
        let mut cur = self.smooth(data, &x, Want::Gradient)?;
        check_finite(&[cur.loss], 0)?;
        let mut hist: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(MEMORY);
        let mut n_iter = 0;
        let mut converged = max_abs(&cur.grad) <= self.tol;
        while !converged && n_iter < self.max_iter {
            n_iter += 1;
            // Two-loop recursion: d = −H·g.
            let mut q = cur.grad.clone();
            let mut alphas = Vec::with_capacity(hist.len());
            for (s, y, rho) in hist.iter().rev() {
                let a = rho * dot(s, &q);
                axpy(&mut q, -a, y);
                alphas.push(a);
            }
            let gamma = hist.back().map_or(1.0 / norm(&cur.grad).max(1.0), |(s, y, _)| dot(s, y) / dot(y, y));
            q.iter_mut().for_each(|v| *v *= gamma);
            for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
                let b = rho * dot(y, &q);
                axpy(&mut q, a - b, s);
            }
            let mut dir: Vec<f64> = q.iter().map(|v| -v).collect();
            let mut slope = dot(&dir, &cur.grad);
            if slope >= 0.0 {
                hist.clear();
                dir = cur.grad.iter().map(|g| -g / norm(&cur.grad).max(1.0)).collect();
                slope = dot(&dir, &cur.grad);
            }
            let Some((xn, next, _)) = self.armijo(data, &x, &cur, &dir, slope, 1.0, Want::Gradient)? else {
                // No decrease along a descent direction: the objective is flat to rounding.
                converged = max_abs(&cur.grad) <= self.tol;
                break;
            };
            let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
            let y: Vec<f64> = next.grad.iter().zip(&cur.grad).map(|(a, b)| a - b).collect();
            let sy = dot(&s, &y);
            if sy > 1e-12 * norm(&s) * norm(&y) {
                if hist.len() == MEMORY {
                    hist.pop_front();
                }
                hist.push_back((s, y, 1.0 / sy));
            }
            x = xn;
            cur = next;
            // scipy's `gtol` test. Its `ftol` test (relative decrease below 64 ε) is left out
            // on purpose: it stops scikit-learn's lbfgs with gradients near 1e-7 on iris.
            converged = max_abs(&cur.grad) <= self.tol;
        }
        Ok(Solution { coef: x, n_iter, converged })
    }

    /// Backtracking line search from step `t0` along `dir`. A step is accepted by Armijo's
    /// sufficient decrease, or, once the objective's changes are down at rounding level, by
    /// Hager and Zhang's approximate Wolfe test (objective not above the start beyond
    /// `1e-10·|f|`, directional derivative reduced in magnitude): without the latter the
    /// last digits of the gradient cannot be reached. Returns the new point, its evaluation
    /// and the step, or `None` if 60 reductions find nothing.
    #[allow(clippy::too_many_arguments)]
    fn armijo(
        &self,
        data: &Data,
        x: &[f64],
        cur: &Partials,
        dir: &[f64],
        slope: f64,
        t0: f64,
        want: Want,
    ) -> Result<Option<(Vec<f64>, Partials, f64)>, GlmError> {
        let want = if want == Want::Loss { Want::Gradient } else { want };
        let mut t = t0;
        for _ in 0..60 {
            let xn: Vec<f64> = x.iter().zip(dir).map(|(a, d)| a + t * d).collect();
            let next = self.smooth(data, &xn, want)?;
            if next.loss.is_finite() {
                let armijo = next.loss <= cur.loss + 1e-4 * t * slope;
                let d_new = dot(&next.grad, dir);
                let approx_wolfe =
                    next.loss <= cur.loss + 1e-10 * cur.loss.abs() && d_new >= 0.9 * slope && d_new <= -0.8 * slope;
                if armijo || approx_wolfe {
                    return Ok(Some((xn, next, t)));
                }
            }
            // Quadratic interpolation, kept within [0.1 t, 0.5 t].
            let t_q = if next.loss.is_finite() {
                -slope * t * t / (2.0 * (next.loss - cur.loss - slope * t))
            } else {
                0.1 * t
            };
            t = t_q.clamp(0.1 * t, 0.5 * t);
        }
        Ok(None)
    }

    fn newton(&self, data: &Data, mut x: Vec<f64>) -> Result<Solution, GlmError> {
        let len = self.layout.len();
        let mut n_iter = 0;
        let mut converged = false;
        loop {
            let cur = self.smooth(data, &x, Want::Hessian)?;
            check_finite(&[cur.loss], n_iter)?;
            if max_abs(&cur.grad) <= self.tol {
                converged = true;
                break;
            }
            if n_iter == self.max_iter {
                break;
            }
            n_iter += 1;
            let neg: Vec<f64> = cur.grad.iter().map(|g| -g).collect();
            let dir = solve_spd(&cur.hess, &neg, len);
            let mut slope = dot(&dir, &cur.grad);
            let dir = if slope < 0.0 && dir.iter().all(|v| v.is_finite()) {
                dir
            } else {
                slope = -dot(&cur.grad, &cur.grad);
                neg
            };
            match self.armijo(data, &x, &cur, &dir, slope, 1.0, Want::Loss)? {
                Some((xn, _, _)) => x = xn,
                None => break,
            }
        }
        Ok(Solution { coef: x, n_iter, converged })
    }

    fn gradient_descent(&self, data: &Data, mut x: Vec<f64>) -> Result<Solution, GlmError> {
        let mut cur = self.smooth(data, &x, Want::Gradient)?;
        check_finite(&[cur.loss], 0)?;
        let mut step = 1.0;
        let mut n_iter = 0;
        let mut converged = max_abs(&cur.grad) <= self.tol;
        while !converged && n_iter < self.max_iter {
            n_iter += 1;
            let dir: Vec<f64> = cur.grad.iter().map(|g| -g).collect();
            let slope = -dot(&cur.grad, &cur.grad);
            let Some((xn, next, t)) = self.armijo(data, &x, &cur, &dir, slope, step, Want::Gradient)? else {
                break;
            };
            // Start the next search from twice the accepted step, so it can lengthen again.
            step = 2.0 * t;
            x = xn;
            cur = next;
            converged = max_abs(&cur.grad) <= self.tol;
        }
        Ok(Solution { coef: x, n_iter, converged })
    }

    /// FISTA with backtracking (Beck & Teboulle) and adaptive restart (O'Donoghue & Candès):
    /// the smooth part is the mean loss plus the L2 term, the L1 term goes through its
    /// proximal map (soft-thresholding; intercepts untouched). Converged when the gradient
    /// mapping's largest entry is at most `tol`.
    fn proximal_grad(&self, data: &Data, mut x: Vec<f64>) -> Result<Solution, GlmError> {
        let mut fx = self.smooth(data, &x, Want::Gradient)?;
        check_finite(&[fx.loss], 0)?;
        let mut obj_x = fx.loss + self.l1(&x);
        let (mut y, mut fy) = (x.clone(), fx.clone());
        let (mut t_mom, mut step) = (1.0f64, 1.0f64);
        let mut n_iter = 0;
        let mut converged = false;
        while n_iter < self.max_iter {
            n_iter += 1;
            let mut accepted = None;
            for _ in 0..60 {
                let mut xn: Vec<f64> = y.iter().zip(&fy.grad).map(|(a, g)| a - step * g).collect();
                self.prox(&mut xn, step);
                let next = self.smooth(data, &xn, Want::Gradient)?;
                let d: Vec<f64> = xn.iter().zip(&y).map(|(a, b)| a - b).collect();
                let bound = fy.loss + dot(&fy.grad, &d) + dot(&d, &d) / (2.0 * step);
                if next.loss.is_finite() && next.loss <= bound + 1e-12 * fy.loss.abs() {
                    accepted = Some((xn, next, max_abs(&d) / step));
                    break;
                }
                step *= 0.5;
            }
            let Some((xn, fxn, gmap)) = accepted else { break };
            let obj_n = fxn.loss + self.l1(&xn);
            if gmap <= self.tol {
                x = xn;
                converged = true;
                break;
            }
            if obj_n > obj_x {
                // Restart the momentum: the objective went up.
                t_mom = 1.0;
                y = xn.clone();
                fy = fxn.clone();
            } else {
                let t_next = (1.0 + (1.0 + 4.0 * t_mom * t_mom).sqrt()) / 2.0;
                let beta = (t_mom - 1.0) / t_next;
                y = xn.iter().zip(&x).map(|(a, b)| a + beta * (a - b)).collect();
                fy = if beta == 0.0 { fxn.clone() } else { self.smooth(data, &y, Want::Gradient)? };
                t_mom = t_next;
            }
            x = xn;
            fx = fxn;
            obj_x = obj_n;
        }
        let _ = fx;
        Ok(Solution { coef: x, n_iter, converged })
    }

    /// Consensus ADMM (Boyd et al. §7, as dask-glm's `admm`): each block minimises its share
    /// of the loss plus `ρ/2 ‖β − z + uᵢ‖²` locally (Newton's method on the block, inside a
    /// registered op), the driver averages, applies the penalty's proximal map to get the
    /// consensus `z`, and updates the scaled duals `uᵢ`. Two standard accelerations (Boyd et
    /// al. §3.4): over-relaxation with factor 1.6, and residual balancing, which doubles or
    /// halves `ρ` (rescaling the duals) when one residual is ten times the other, during the
    /// first 100 iterations. Converged
    /// when both the primal residual `max |βᵢ − z|` and the dual residual `ρ max |z − z_old|`
    /// are at most `tol`.
    fn admm(&self, data: &Data, x0: Vec<f64>) -> Result<Solution, GlmError> {
        const RELAX: f64 = 1.6;
        const RHO_UPDATES: usize = 100;
        let nb = data.x.n_blocks();
        let len = self.layout.len();
        let scale = nb as f64 / self.weight_sum;
        let (l2, l1) = self.strengths();
        let mut rho = self.rho;
        let mut z = x0.clone();
        let mut betas = vec![x0; nb];
        let mut us = vec![vec![0.0; len]; nb];
        let others = data.others();
        let mut n_iter = 0;
        let mut converged = false;
        while n_iter < self.max_iter {
            n_iter += 1;
            let ops: Vec<AdmmLocal> = (0..nb)
                .map(|i| AdmmLocal {
                    family: self.family,
                    layout: self.layout,
                    classes: self.classes.clone(),
                    scale,
                    rho,
                    target: z.iter().zip(&us[i]).map(|(a, b)| a - b).collect(),
                    start: betas[i].clone(),
                    tol: (self.tol * 1e-3).max(1e-14),
                })
                .collect();
            let layer = data.x.zip_map_each(&others, ops, data.x.chunks().clone())?;
            let values: Vec<Value> = layer.compute_blocks(&default_scheduler())?;
            for (i, (b, v)) in betas.iter_mut().zip(&values).enumerate() {
                let a = v
                    .get::<Array1<f64>>()
                    .map_err(|e| MlError::Graph(rask_core::Error::ValueType { key: layer.block_key(i), source: e }))?;
                *b = a.to_vec();
            }
            check_finite(&betas.concat(), n_iter)?;
            // Over-relaxed local solutions.
            let relaxed: Vec<Vec<f64>> = betas
                .iter()
                .map(|b| b.iter().zip(&z).map(|(bj, zj)| RELAX * bj + (1.0 - RELAX) * zj).collect())
                .collect();
            let mut avg = vec![0.0; len];
            for (b, u) in relaxed.iter().zip(&us) {
                for j in 0..len {
                    avg[j] += (b[j] + u[j]) / nb as f64;
                }
            }
            let z_old = std::mem::replace(&mut z, avg);
            for (j, zj) in z.iter_mut().enumerate() {
                if self.layout.penalised(j) {
                    *zj = soft(*zj, l1 / rho) / (1.0 + l2 / rho);
                }
            }
            let mut primal: f64 = 0.0;
            for ((b, r), u) in betas.iter().zip(&relaxed).zip(us.iter_mut()) {
                for j in 0..len {
                    u[j] += r[j] - z[j];
                    primal = primal.max((b[j] - z[j]).abs());
                }
            }
            let dual = rho * z.iter().zip(&z_old).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            if primal <= self.tol && dual <= self.tol {
                converged = true;
                break;
            }
            // Residual balancing, in the first iterations only (a ρ that keeps changing can
            // stall convergence); the scaled duals u = y/ρ are rescaled with ρ.
            let factor = if n_iter > RHO_UPDATES {
                1.0
            } else if primal > 10.0 * dual {
                2.0
            } else if dual > 10.0 * primal {
                0.5
            } else {
                1.0
            };
            if factor != 1.0 {
                rho *= factor;
                us.iter_mut().flatten().for_each(|u| *u /= factor);
            }
        }
        Ok(Solution { coef: z, n_iter, converged })
    }
}

fn soft(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (v, w) in y.iter_mut().zip(x) {
        *v += a * w;
    }
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn check_finite(v: &[f64], iteration: usize) -> Result<(), GlmError> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(GlmError::Numerical { iteration })
    }
}
