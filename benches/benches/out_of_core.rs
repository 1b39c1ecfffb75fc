//! Larger than memory: stream a folder of `.npy` blocks through a column reduction and
//! k-means assignment passes (rask-ml's scalar `assign_nearest`, and the tiled kernel KMeans
//! runs), reporting throughput against the disk's read rate measured in the same run, and
//! peak resident memory.
//!
//! `cargo bench -p rask-benches --bench out_of_core`
//!
//! Environment: `RASK_OOC_GB` (data size in GB, default 20), `RASK_OOC_DIR` (where the files
//! go, default `$TMPDIR/rask-ooc`; files of the right size are reused between runs),
//! `RASK_OOC_DROP_CACHES=1` (try to drop the page cache before each pass, as root, so the
//! data really comes from disk). The data has 20 `f64` columns in files of 200,000 rows
//! (32 MB); each file is one block.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rask::datasets::npy::{header_bytes, read_npy_dir};
use rask::ml::ndarray::Array2;
use rask::ml::ReduceOptions;
use rask::Scheduler;
use rask_benches::{peak_rss_bytes, rss_bytes};

const COLS: usize = 20;
const ROWS_PER_FILE: usize = 200_000;

fn header(rows: usize) -> Vec<u8> {
    header_bytes("<f8", &format!("({rows}, {COLS})"))
}

/// Writes file `i` (deterministic values) unless it already exists with the right size.
fn ensure_file(dir: &Path, i: usize) -> std::io::Result<()> {
    let path = dir.join(format!("part-{i:06}.npy"));
    let head = header(ROWS_PER_FILE);
    let want = (head.len() + ROWS_PER_FILE * COLS * 8) as u64;
    if std::fs::metadata(&path).map(|m| m.len() == want).unwrap_or(false) {
        return Ok(());
    }
    let mut buf = Vec::with_capacity(want as usize);
    buf.extend_from_slice(&head);
    for r in 0..ROWS_PER_FILE {
        let g = (i * ROWS_PER_FILE + r) as u64;
        for j in 0..COLS {
            // Cheap deterministic values in a few clusters.
            let v = ((g.wrapping_mul(2654435761) >> 7) % 1000) as f64 * 0.001 + ((g % 8) as f64) * 3.0 + j as f64;
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&buf)?;
    // On disk, not only dirty in the page cache: dropping the cache drops clean pages only.
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

fn reset_peak() {
    // Linux: writing 5 resets the peak resident set size (VmHWM) to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn drop_caches() -> bool {
    if std::env::var("RASK_OOC_DROP_CACHES").as_deref() != Ok("1") {
        return false;
    }
    // Dirty pages survive a drop: write them out first.
    let _ = std::process::Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// The disk's sequential read rate on these files, in the same run: every file read in order
/// by one thread into one reused buffer, and (`threads` > 1) by that many threads at once,
/// each reading its own files in order, as the passes do.
fn disk_rate(files: &[PathBuf], threads: usize) -> (f64, bool) {
    use std::io::Read;
    let dropped = drop_caches();
    let t = Instant::now();
    let bytes: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    let mut buf = Vec::new();
                    let mut n = 0u64;
                    for f in files.iter().skip(k).step_by(threads) {
                        buf.clear();
                        std::fs::File::open(f).and_then(|mut h| h.read_to_end(&mut buf)).expect("read a data file");
                        n += buf.len() as u64;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a reader thread")).sum()
    });
    (bytes as f64 / t.elapsed().as_secs_f64(), dropped)
}

fn gb(b: u64) -> f64 {
    b as f64 / 1e9
}

fn main() {
    let size_gb: f64 = std::env::var("RASK_OOC_GB").ok().and_then(|v| v.parse().ok()).unwrap_or(20.0);
    let dir: PathBuf =
        std::env::var("RASK_OOC_DIR").map(PathBuf::from).unwrap_or_else(|_| std::env::temp_dir().join("rask-ooc"));
    std::fs::create_dir_all(&dir).expect("create the data folder");
    let file_bytes = (ROWS_PER_FILE * COLS * 8) as f64;
    let n_files = ((size_gb * 1e9) / file_bytes).ceil().max(1.0) as usize;
    // Remove parts beyond the requested size from earlier, larger runs.
    for e in std::fs::read_dir(&dir).expect("list the data folder").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if let Some(i) =
            name.strip_prefix("part-").and_then(|s| s.strip_suffix(".npy")).and_then(|s| s.parse::<usize>().ok())
        {
            if i >= n_files {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let t = Instant::now();
    for i in 0..n_files {
        ensure_file(&dir, i).expect("write a data file");
    }
    let total = n_files as f64 * file_bytes;
    println!(
        "out_of_core/data       {n_files} files, {:.1} GB of f64 ({} rows x {COLS}) in {} (ready in {:.0} s)",
        gb(total as u64),
        n_files * ROWS_PER_FILE,
        dir.display(),
        t.elapsed().as_secs_f64()
    );

    let files: Vec<PathBuf> = (0..n_files).map(|i| dir.join(format!("part-{i:06}.npy"))).collect();
    let threads = rayon::current_num_threads();
    let (one, dropped) = disk_rate(&files, 1);
    let (many, _) = disk_rate(&files, threads);
    let disk = one.max(many);
    println!(
        "out_of_core/disk       {:.2} GB/s one reader, {:.2} GB/s {threads} readers (page cache dropped: {dropped}); passes are compared with the faster",
        one / 1e9,
        many / 1e9
    );

    let x = read_npy_dir::<f64>(&dir, ROWS_PER_FILE).expect("read the folder");
    let s = Scheduler::threaded();

    let dropped = drop_caches();
    reset_peak();
    let base = rss_bytes().unwrap_or(0);
    let t = Instant::now();
    let stats = x.column_stats(ReduceOptions::default()).and_then(|l| l.compute_on(&s)).expect("column stats");
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "out_of_core/col_stats  {:.1} s, {:.2} GB/s = {:.0}% of the disk, peak RSS {:.0} MB (before {:.0} MB), page cache dropped: {dropped}; mean[0] = {:.6}",
        secs,
        gb(total as u64) / secs,
        total / secs / disk * 100.0,
        peak as f64 / 1e6,
        base as f64 / 1e6,
        stats.mean[0]
    );

    let centres = Array2::from_shape_fn((8, COLS), |(c, j)| c as f64 * 3.0 + j as f64 + 0.5);
    let dropped = drop_caches();
    reset_peak();
    let t = Instant::now();
    let p = x.assign_nearest(&centres, 8).and_then(|l| l.compute_on(&s)).expect("assignment pass");
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "out_of_core/assign_k8  {:.1} s, {:.2} GB/s = {:.0}% of the disk, peak RSS {:.0} MB, page cache dropped: {dropped}; counts {:?}",
        secs,
        gb(total as u64) / secs,
        total / secs / disk * 100.0,
        peak as f64 / 1e6,
        p.counts
    );
    // The same pass with the tiled kernel KMeans runs (`lloyd_step`: one Lloyd update).
    let dropped = drop_caches();
    reset_peak();
    let t = Instant::now();
    let p = rask::with_scheduler(&s, || rask::estimators::cluster::k_means::lloyd_step(&x, &centres, 8))
        .expect("Lloyd step");
    let secs = t.elapsed().as_secs_f64();
    let peak = peak_rss_bytes().unwrap_or(0);
    println!(
        "out_of_core/lloyd_k8   {:.1} s, {:.2} GB/s = {:.0}% of the disk, peak RSS {:.0} MB, page cache dropped: {dropped}; counts {:?}",
        secs,
        gb(total as u64) / secs,
        total / secs / disk * 100.0,
        peak as f64 / 1e6,
        p.counts
    );
    let budget = 1e9;
    println!(
        "out_of_core/budget     peak RSS within 1 GB while streaming {:.1} GB: {}",
        gb(total as u64),
        if (peak as f64) < budget { "yes" } else { "NO" }
    );
}
