//! The nearest-centre kernel: rask-ml's assignment pass
//! ([`ChunkedArray::assign_nearest`](crate::ChunkedArray::assign_nearest)) and rask-estimators'
//! k-means fits, predictions and initialisation all run it.
//!
//! Rows are processed in tiles of [`TILE`] rows. For each tile the rows are widened to `f64`
//! into a contiguous buffer and the dot products with every centre are computed as a small
//! blocked matrix product (4 rows × 8 centres per register block, so the compiler keeps the
//! accumulators in vector registers). The nearest centre is the argmin of `‖c‖² − 2 x·c`,
//! the expanded squared distance without the row's own norm (constant per row), exactly as
//! scikit-learn's Lloyd kernel ranks centres. The squared distance reported for the chosen
//! centre is then recomputed exactly as `Σ (x − c)²`, so inertias do not suffer from the
//! cancellation of the expanded form (and are never negative).
//!
//! On x86-64 CPUs with AVX2 and FMA the tile product is compiled a second time with those
//! features enabled and chosen at run time; elsewhere the portable version runs. Both give the
//! same assignments except, possibly, for rows almost exactly between two centres, and the same
//! exact distances (only the products that rank the centres use fused multiply-adds).
//!
//! Setting the environment variable `RASK_KERNEL=portable` forces the portable version on every
//! CPU (read once, at the first assignment of the process), so the code that runs on other
//! architectures can be exercised on x86-64 too; any other value, or none, chooses at run time.
//!
//! Which one runs is an [`Arithmetic`] (fused multiply-adds or separate ones) decided where a
//! graph is built, on the client, and carried by every k-means op and fitted model: a worker
//! computes with the client's choice whatever its own CPU, so workers of different CPU types
//! give the same bits. A worker without AVX2 and FMA told to fuse computes each `mul_add` in
//! software: correctly rounded, so the same bits, only slower (set `RASK_KERNEL=portable` on
//! the client of such a cluster).

use std::any::TypeId;

use ndarray::{ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use rask_core::{op_ensure, OpError};

use crate::chunked::kernels::AssignPartials;
use crate::Float;

/// Rows per tile: the widened tile (`TILE × d`) and its dot products (`TILE × k`) stay in
/// the L1/L2 caches for the usual widths.
pub const TILE: usize = 256;
/// Centres per register block.
const LANES: usize = 8;
/// Rows per register block.
const ROWS: usize = 4;

/// Centres prepared for the kernel: transposed and padded to a multiple of `LANES` (8).
#[derive(Clone, Debug)]
pub struct PreparedCentres {
    k: usize,
    d: usize,
    kp: usize,
    /// `d × kp`, row-major: row `j` holds feature `j` of every centre.
    ct: Vec<f64>,
    /// `‖c‖²`, padded centres get `+∞` so they are never chosen.
    norms: Vec<f64>,
    /// The centres, row-major `k × d`, for exact distances.
    rows: Vec<f64>,
    /// How the products that rank the centres are computed.
    arithmetic: Arithmetic,
}

/// How the k-means kernel computes the products that rank the centres: the choice that decides
/// the bits of every assignment, made once on the client and carried by the ops and models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arithmetic {
    /// Fused multiply-adds (`mul_add`, one rounding): AVX2 and FMA instructions on CPUs that
    /// have them; elsewhere the same, correctly rounded, in software (slower, same bits).
    Fused,
    /// A multiply then an add (two roundings): the portable kernel, the same on every CPU.
    Separate,
}

impl Arithmetic {
    /// This process's choice: [`Fused`](Self::Fused) when this CPU has AVX2 and FMA and
    /// `RASK_KERNEL` is not `portable`, else [`Separate`](Self::Separate). Graph builders call
    /// it on the client and put the result in the ops.
    pub fn local() -> Arithmetic {
        Kernel::from_env().arithmetic()
    }
}

impl PreparedCentres {
    /// Prepares `centres` (`k × d`, finite) for this process's [`Arithmetic::local`].
    pub fn new(centres: ArrayView2<'_, f64>) -> Self {
        Self::with_arithmetic(centres, Arithmetic::local())
    }

    /// Prepares `centres` (`k × d`, finite) for `arithmetic` (the one an op carries).
    pub fn with_arithmetic(centres: ArrayView2<'_, f64>, arithmetic: Arithmetic) -> Self {
        let (k, d) = centres.dim();
        let kp = k.div_ceil(LANES).max(1) * LANES;
        let mut ct = vec![0.0; d * kp];
        let mut norms = vec![f64::INFINITY; kp];
        for (c, row) in centres.axis_iter(Axis(0)).enumerate() {
            let mut n = 0.0;
            for (j, &v) in row.iter().enumerate() {
                ct[j * kp + c] = v;
                n += v * v;
            }
            norms[c] = n;
        }
        let rows = centres.iter().copied().collect();
        PreparedCentres { k, d, kp, ct, norms, rows, arithmetic }
    }

    /// Number of centres.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Dimension.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Centre `c` as a slice.
    pub fn centre(&self, c: usize) -> &[f64] {
        &self.rows[c * self.d..(c + 1) * self.d]
    }

    /// Exact squared distance from `x` to centre `c`.
    #[inline(always)]
    pub fn sq_dist(&self, x: &[f64], c: usize) -> f64 {
        sq_dist(x, self.centre(c))
    }
}

/// `Σ (a − b)²` with four independent accumulators, so the sum is not one long chain of
/// dependent additions.
#[inline(always)]
pub fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for l in 0..4 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += (x - y) * (x - y);
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The first row of a block that holds a NaN or infinite value (or whose distances overflow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonFiniteRow(pub usize);

impl NonFiniteRow {
    /// A message for errors.
    pub fn message(self) -> String {
        format!("row {} of the block holds a NaN or infinite value (or its squared norm overflows); the nearest-centre assignment needs finite data", self.0)
    }
}

/// Assigns every row of `x` to its nearest centre and calls `visit(row, centre, d2, x_row)`
/// with the exact squared distance and the row widened to `f64`, in row order. Ties go to the
/// lower centre index. Fails at the first row that is not finite.
pub fn assign_rows<F: Float>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: impl FnMut(usize, usize, f64, &[f64]),
) -> Result<(), NonFiniteRow> {
    dispatch::<F, _, true>(x, centres, visit)
}

/// [`assign_rows`] without the exact distance (`visit(row, centre, x_row)`): about a quarter
/// cheaper, for passes that need only the assignment (Lloyd updates, predictions).
pub fn assign_labels<F: Float>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    mut visit: impl FnMut(usize, usize, &[f64]),
) -> Result<(), NonFiniteRow> {
    dispatch::<F, _, false>(x, centres, |i, c, _, row| visit(i, c, row))
}

/// Nearest-centre partial sums of one block (a Lloyd update, or rask-ml's
/// [`assign_nearest`](crate::ChunkedArray::assign_nearest) pass): per-centre sums and counts of the rows nearest to each
/// centre, and, with `inertia`, the inertia (exact squared distances, accumulated in `f64`;
/// without it the inertia is left at 0 and the pass is about a quarter cheaper).
pub fn partials<F: Float>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    inertia: bool,
) -> Result<AssignPartials, OpError> {
    op_ensure!(x.ncols() == centres.d(), "block has {} columns, the centres have {}", x.ncols(), centres.d());
    let (k, d) = (centres.k(), centres.d());
    let mut out = AssignPartials::zeros(k, d);
    let mut total = 0.0;
    {
        // The sums are a fresh standard-layout array, so the slice exists.
        let sums = out.sums.as_slice_mut().expect("standard layout");
        let counts = &mut out.counts;
        let mut add = |c: usize, row: &[f64]| {
            counts[c] += 1;
            for (s, &v) in sums[c * d..(c + 1) * d].iter_mut().zip(row) {
                *s += v;
            }
        };
        let done = if inertia {
            assign_rows(x, centres, |_, c, d2, row| {
                total += d2;
                add(c, row);
            })
        } else {
            assign_labels(x, centres, |_, c, row| add(c, row))
        };
        done.map_err(|e| OpError::new(e.message()))?;
    }
    out.inertia = total;
    Ok(out)
}

/// Which implementation of the tile loop runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kernel {
    /// The fastest one this CPU supports (AVX2 and FMA on x86-64 CPUs that have them), unless
    /// `RASK_KERNEL=portable` is set.
    Auto,
    /// The portable one, compiled for the target's baseline: what runs on other architectures.
    Portable,
}

impl Kernel {
    /// The kernel [`assign_rows`] and [`assign_labels`] use: [`Kernel::Portable`] when the
    /// environment variable `RASK_KERNEL` is `portable` (read once per process), else
    /// [`Kernel::Auto`].
    pub fn from_env() -> Kernel {
        static CHOICE: std::sync::OnceLock<Kernel> = std::sync::OnceLock::new();
        *CHOICE.get_or_init(|| match std::env::var("RASK_KERNEL") {
            Ok(v) if v.trim().eq_ignore_ascii_case("portable") => Kernel::Portable,
            _ => Kernel::Auto,
        })
    }

    /// Whether the AVX2/FMA version runs for this choice on this CPU.
    pub fn uses_fma(self) -> bool {
        match self {
            Kernel::Portable => false,
            Kernel::Auto => fma_available(),
        }
    }

    /// The arithmetic this choice means on this CPU.
    pub fn arithmetic(self) -> Arithmetic {
        if self.uses_fma() {
            Arithmetic::Fused
        } else {
            Arithmetic::Separate
        }
    }
}

/// [`assign_rows`] with an explicit [`Kernel`] (the environment variable is not read), so a
/// test can compare the portable kernel with the one this CPU would otherwise use.
pub fn assign_rows_with<F: Float>(
    kernel: Kernel,
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: impl FnMut(usize, usize, f64, &[f64]),
) -> Result<(), NonFiniteRow> {
    dispatch_with::<F, _, true>(kernel, x, centres, visit)
}

/// [`assign_labels`] with an explicit [`Kernel`] (the environment variable is not read).
pub fn assign_labels_with<F: Float>(
    kernel: Kernel,
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    mut visit: impl FnMut(usize, usize, &[f64]),
) -> Result<(), NonFiniteRow> {
    dispatch_with::<F, _, false>(kernel, x, centres, |i, c, _, row| visit(i, c, row))
}

/// [`assign_rows`] with fused arithmetic computed in software even where the CPU has FMA: what
/// a worker without AVX2 and FMA runs when the client chose [`Arithmetic::Fused`]. For the test
/// that both give the same bits.
#[doc(hidden)]
pub fn assign_rows_fused_in_software<F: Float>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: impl FnMut(usize, usize, f64, &[f64]),
) -> Result<(), NonFiniteRow> {
    assign_rows_body::<F, _, true, true>(x, centres, visit)
}

#[inline(always)]
fn dispatch<F: Float, V: FnMut(usize, usize, f64, &[f64]), const EXACT: bool>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: V,
) -> Result<(), NonFiniteRow> {
    run::<F, V, EXACT>(centres.arithmetic, x, centres, visit)
}

#[inline(always)]
fn dispatch_with<F: Float, V: FnMut(usize, usize, f64, &[f64]), const EXACT: bool>(
    kernel: Kernel,
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: V,
) -> Result<(), NonFiniteRow> {
    run::<F, V, EXACT>(kernel.arithmetic(), x, centres, visit)
}

#[inline(always)]
fn run<F: Float, V: FnMut(usize, usize, f64, &[f64]), const EXACT: bool>(
    arithmetic: Arithmetic,
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: V,
) -> Result<(), NonFiniteRow> {
    match arithmetic {
        Arithmetic::Separate => assign_rows_body::<F, V, false, EXACT>(x, centres, visit),
        Arithmetic::Fused => {
            #[cfg(target_arch = "x86_64")]
            if fma_available() {
                // SAFETY: AVX2 and FMA were detected on this CPU.
                return unsafe { assign_rows_fma::<F, V, EXACT>(x, centres, visit) };
            }
            // No FMA instructions: `mul_add` is computed in software, correctly rounded, so
            // the bits are those of the hardware version.
            assign_rows_body::<F, V, true, EXACT>(x, centres, visit)
        }
    }
}

/// The tile loop compiled with AVX2 and FMA: all of it (products, argmin, exact distances and
/// the caller's accumulation) is inlined here, so all of it uses those instructions.
///
/// # Safety
///
/// The CPU must support AVX2 and FMA (`is_x86_feature_detected!("avx2")` and `("fma")` are
/// both true); otherwise the process may stop with an illegal instruction. Nothing else is
/// required: the body is safe code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn assign_rows_fma<F: Float, V: FnMut(usize, usize, f64, &[f64]), const EXACT: bool>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    visit: V,
) -> Result<(), NonFiniteRow> {
    assign_rows_body::<F, V, true, EXACT>(x, centres, visit)
}

#[inline(always)]
fn assign_rows_body<F: Float, V: FnMut(usize, usize, f64, &[f64]), const FMA: bool, const EXACT: bool>(
    x: ArrayView2<'_, F>,
    centres: &PreparedCentres,
    mut visit: V,
) -> Result<(), NonFiniteRow> {
    let d = centres.d;
    debug_assert_eq!(x.ncols(), d);
    let kp = centres.kp;
    let n = x.nrows();
    let mut buf = vec![0.0f64; TILE * d];
    let mut dots = vec![0.0f64; TILE * kp];
    // An `f64` block in standard layout is read in place; anything else is widened tile by
    // tile into `buf`.
    let direct: Option<&[f64]> = match x.as_slice() {
        Some(all) if TypeId::of::<F>() == TypeId::of::<f64>() => {
            // SAFETY: `F` is `f64` (same type id), so the slice already has this type.
            Some(unsafe { std::slice::from_raw_parts(all.as_ptr().cast::<f64>(), all.len()) })
        }
        _ => None,
    };
    let mut start = 0;
    while start < n {
        let rows = TILE.min(n - start);
        let xs: &[f64] = match direct {
            Some(all) => &all[start * d..(start + rows) * d],
            None => {
                widen_tile(x.slice(ndarray::s![start..start + rows, ..]), &mut buf, d);
                &buf[..rows * d]
            }
        };
        tile_dots_body::<FMA>(xs, rows, d, &centres.ct, kp, &mut dots[..rows * kp]);
        for i in 0..rows {
            let xr = &xs[i * d..(i + 1) * d];
            let dr = &dots[i * kp..i * kp + centres.k];
            let (mut best, mut best_s) = (0, f64::INFINITY);
            for (c, (&dot, &norm)) in dr.iter().zip(&centres.norms).enumerate() {
                let s = norm - 2.0 * dot;
                if s < best_s {
                    best = c;
                    best_s = s;
                }
            }
            // A NaN or infinite row leaves `best_s` infinite or NaN (no score compares below
            // +inf, or the score is -inf); the exact distance catches what is left.
            if !best_s.is_finite() {
                return Err(NonFiniteRow(start + i));
            }
            let d2 = if EXACT { sq_dist(xr, &centres.rows[best * d..(best + 1) * d]) } else { f64::NAN };
            if EXACT && !d2.is_finite() {
                return Err(NonFiniteRow(start + i));
            }
            visit(start + i, best, d2, xr);
        }
        start += rows;
    }
    Ok(())
}

/// Widens a tile into `buf`, row-major.
#[inline(always)]
fn widen_tile<F: Float>(tile: ArrayView2<'_, F>, buf: &mut [f64], d: usize) {
    match tile.as_slice() {
        Some(src) => {
            for (o, &v) in buf.iter_mut().zip(src) {
                *o = v.widen();
            }
        }
        None => {
            for (dst, row) in buf.chunks_exact_mut(d.max(1)).zip(tile.axis_iter(Axis(0))) {
                for (o, &v) in dst.iter_mut().zip(row.iter()) {
                    *o = v.widen();
                }
            }
        }
    }
}

/// Whether this CPU runs the AVX2/FMA kernel (x86-64 only; `false` elsewhere).
fn fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, acc: f64) -> f64 {
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

/// `out[i, c] = Σ_j x[i, j] · ct[j, c]` for a tile of `n` rows.
#[inline(always)]
fn tile_dots_body<const FMA: bool>(x: &[f64], n: usize, d: usize, ct: &[f64], kp: usize, out: &mut [f64]) {
    for cb in (0..kp).step_by(LANES) {
        let mut i = 0;
        while i + ROWS <= n {
            let mut acc = [[0.0f64; LANES]; ROWS];
            let xs: [&[f64]; ROWS] = std::array::from_fn(|r| &x[(i + r) * d..(i + r + 1) * d]);
            for j in 0..d {
                let c: &[f64; LANES] = ct[j * kp + cb..j * kp + cb + LANES].try_into().expect("LANES values");
                for r in 0..ROWS {
                    let xv = xs[r][j];
                    for l in 0..LANES {
                        acc[r][l] = madd::<FMA>(xv, c[l], acc[r][l]);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                out[(i + r) * kp + cb..(i + r) * kp + cb + LANES].copy_from_slice(a);
            }
            i += ROWS;
        }
        while i < n {
            let mut acc = [0.0f64; LANES];
            let xr = &x[i * d..(i + 1) * d];
            for (j, &xv) in xr.iter().enumerate() {
                let c: &[f64; LANES] = ct[j * kp + cb..j * kp + cb + LANES].try_into().expect("LANES values");
                for l in 0..LANES {
                    acc[l] = madd::<FMA>(xv, c[l], acc[l]);
                }
            }
            out[i * kp + cb..i * kp + cb + LANES].copy_from_slice(&acc);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn matches_a_naive_argmin() {
        let x = Array2::from_shape_fn((517, 5), |(i, j)| ((i * 7 + j * 13) % 31) as f64 * 0.37 - 4.0);
        let c = Array2::from_shape_fn((11, 5), |(i, j)| ((i * 5 + j * 3) % 17) as f64 * 0.5 - 3.0);
        let p = PreparedCentres::new(c.view());
        let mut got = Vec::new();
        assign_rows(x.view(), &p, |_, b, d2, _| got.push((b, d2))).unwrap();
        for (i, row) in x.rows().into_iter().enumerate() {
            let d: Vec<f64> =
                c.rows().into_iter().map(|cr| cr.iter().zip(row).map(|(a, b)| (a - b).powi(2)).sum()).collect();
            let m = d.iter().cloned().fold(f64::INFINITY, f64::min);
            assert!((d[got[i].0] - m).abs() <= 1e-9 * (1.0 + m), "row {i}");
            assert!((got[i].1 - m).abs() <= 1e-9 * (1.0 + m));
        }
    }

    /// Deterministic values in `[-4, 4)` without exact ties (a 64-bit LCG's high bits).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (s >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0
            })
            .collect()
    }

    /// Runs both kernels on `x` and checks they agree: same labels (the data has no near
    /// ties), exact distances equal within a tight tolerance, the same widened rows, and the
    /// portable kernel's choice is the naive argmin.
    fn compare<F: Float>(x: ArrayView2<'_, F>, c: &Array2<f64>) {
        let p = PreparedCentres::new(c.view());
        let run = |kernel| {
            let mut out = Vec::new();
            assign_rows_with(kernel, x, &p, |i, b, d2, row| out.push((i, b, d2, row.to_vec()))).unwrap();
            let mut labels = Vec::new();
            assign_labels_with(kernel, x, &p, |i, b, _| labels.push((i, b))).unwrap();
            assert_eq!(labels, out.iter().map(|o| (o.0, o.1)).collect::<Vec<_>>());
            out
        };
        let (portable, auto) = (run(Kernel::Portable), run(Kernel::Auto));
        assert_eq!(portable.len(), x.nrows());
        assert_eq!(auto.len(), x.nrows());
        for (i, (a, b)) in portable.iter().zip(&auto).enumerate() {
            assert_eq!((a.0, a.1), (i, b.1), "row {i}: portable and {:?} kernels disagree", Kernel::Auto);
            assert!((a.2 - b.2).abs() <= 1e-12 * (1.0 + b.2), "row {i}: {} vs {}", a.2, b.2);
            assert_eq!(a.3, b.3, "row {i}");
            let naive: Vec<f64> = c.rows().into_iter().map(|cr| sq_dist(&a.3, cr.as_slice().unwrap())).collect();
            let m = naive.iter().cloned().fold(f64::INFINITY, f64::min);
            assert_eq!(naive[a.1], m, "row {i}");
            assert!((a.2 - m).abs() <= 1e-12 * (1.0 + m));
        }
    }

    /// A worker without FMA told to fuse (software `mul_add`) gives the bits of one with FMA,
    /// and the choice an op carries wins over the process's own.
    #[test]
    fn fused_arithmetic_gives_the_same_bits_in_software_and_in_hardware() {
        for &(n, d, k) in &[(1, 1, 1), (259, 5, 11), (517, 7, 17), (TILE * 2 + 3, 13, 8)] {
            let x = Array2::from_shape_vec((n, d), noise(n * d, (n * 7 + d) as u64)).unwrap();
            let c = Array2::from_shape_vec((k, d), noise(k * d, (k * 3 + d) as u64)).unwrap();
            let p = PreparedCentres::with_arithmetic(c.view(), Arithmetic::Fused);
            let mut hw = Vec::new();
            assign_rows(x.view(), &p, |i, b, d2, _| hw.push((i, b, d2.to_bits()))).unwrap();
            let mut sw = Vec::new();
            assign_rows_fused_in_software(x.view(), &p, |i, b, d2, _| sw.push((i, b, d2.to_bits()))).unwrap();
            assert_eq!(hw, sw, "{n} x {d}, k = {k}");
            // The dot products themselves, bit for bit: the ranking scores of the two paths.
            let mut dots_sw = vec![0.0; n.min(TILE) * p.kp];
            let rows = n.min(TILE);
            tile_dots_body::<true>(x.as_slice().unwrap(), rows, d, &p.ct, p.kp, &mut dots_sw[..rows * p.kp]);
            #[cfg(target_arch = "x86_64")]
            if fma_available() {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn hw_dots(x: &[f64], n: usize, d: usize, ct: &[f64], kp: usize, out: &mut [f64]) {
                    tile_dots_body::<true>(x, n, d, ct, kp, out)
                }
                let mut dots_hw = vec![0.0; rows * p.kp];
                // SAFETY: AVX2 and FMA were detected.
                unsafe { hw_dots(x.as_slice().unwrap(), rows, d, &p.ct, p.kp, &mut dots_hw) };
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&dots_hw), bits(&dots_sw), "{n} x {d}, k = {k}");
            }
            // A prepared `Separate` runs the portable kernel whatever this process would pick.
            let sep = PreparedCentres::with_arithmetic(c.view(), Arithmetic::Separate);
            let mut a = Vec::new();
            assign_rows(x.view(), &sep, |i, b, d2, _| a.push((i, b, d2.to_bits()))).unwrap();
            let mut b = Vec::new();
            assign_rows_with(Kernel::Portable, x.view(), &sep, |i, bb, d2, _| b.push((i, bb, d2.to_bits()))).unwrap();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn portable_kernel_matches_the_dispatched_one() {
        assert!(!Kernel::Portable.uses_fma());
        // Odd sizes: rows not a multiple of the 4-row block nor of the tile, centres not a
        // multiple of the 8 lanes, widths not a multiple of the 4 accumulators.
        for &(n, d, k) in &[(1, 1, 1), (3, 2, 1), (7, 3, 9), (259, 5, 11), (517, 7, 17), (TILE * 2 + 3, 13, 8)] {
            let x = Array2::from_shape_vec((n, d), noise(n * d, (n * 31 + d) as u64)).unwrap();
            let c = Array2::from_shape_vec((k, d), noise(k * d, (k * 17 + d) as u64)).unwrap();
            // f64 in standard layout (read in place), f64 transposed (widened per row), f32.
            compare(x.view(), &c);
            let xt = x.t().to_owned();
            compare(xt.t(), &c);
            let x32 = x.mapv(|v| v as f32);
            compare(x32.view(), &c);
            let x32t = x32.t().to_owned();
            compare(x32t.t(), &c);
        }
    }
}
