//! Size limits that every generator, loader and chunking checks before it builds a graph, so an
//! oversized request is refused with an error that names its parameters, never an abort.
//!
//! Two numbers are checked, both before anything is allocated:
//!
//! - **the block count** ([`Limits::max_blocks`], default 1,000,000): a collection's chunk
//!   metadata and its graph hold one entry per block, so `10^12` rows in blocks of 100 would
//!   need `10^10` of each (an 80 GB allocation) before any data exists;
//! - **the bytes of one block** ([`Limits::max_block_bytes`], default a quarter of the machine's
//!   memory): a block is made by one task in one allocation, and an allocation that fails aborts
//!   the process, where no error handling can catch it.
//!
//! The limits in force are [`Limits::current`]: those set with [`Limits::set_current`] if any,
//! else the defaults with the environment variables [`MAX_BLOCKS_VAR`] (`RASK_MAX_BLOCKS`) and
//! [`MAX_BLOCK_BYTES_VAR`] (`RASK_MAX_BLOCK_BYTES`) applied. A malformed variable is an error,
//! never ignored. Block tasks check again when they run, against the limits of the process that
//! runs them, so a worker with less memory refuses a block it cannot hold.
//!
//! ```
//! use rask_ml::chunked::Limits;
//!
//! let limits = Limits { max_blocks: 10, max_block_bytes: 1 << 20 };
//! // 1,000 rows in blocks of 10 rows are 100 blocks: more than 10.
//! let err = limits.check_regular("example", 1_000, 10, "n_rows = 1000, chunk_rows = 10").unwrap_err();
//! assert!(err.to_string().contains("100 blocks of 10 rows"));
//! // One block of 1,000 rows × 200 columns of f64 is 1,600,000 bytes: more than 1 MiB.
//! assert!(limits.check_block_bytes("example", 1_000, 200, 8, "chunk_rows = 1000").is_err());
//! assert!(limits.check_block_bytes("example", 100, 200, 8, "chunk_rows = 100").is_ok());
//! ```

use std::sync::{OnceLock, RwLock};

use crate::error::{MlError, Result};

/// The environment variable that sets [`Limits::max_blocks`]: a whole number, at least 1.
pub const MAX_BLOCKS_VAR: &str = "RASK_MAX_BLOCKS";

/// The environment variable that sets [`Limits::max_block_bytes`]: a whole number of bytes, at
/// least 1, optionally followed by `K`, `M`, `G` or `T` (powers of 1024: `8G` is 8 GiB).
pub const MAX_BLOCK_BYTES_VAR: &str = "RASK_MAX_BLOCK_BYTES";

/// The block-size limit when the machine's memory cannot be read: 4 GiB.
pub const FALLBACK_MAX_BLOCK_BYTES: u64 = 4 << 30;

/// The largest requests a generator, loader or chunking accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most blocks one collection may have (default [`Limits::DEFAULT_MAX_BLOCKS`]).
    pub max_blocks: u64,
    /// The most bytes one block may hold (rows × columns × element size; default a quarter of
    /// the machine's memory, see [`Limits::default_max_block_bytes`]).
    pub max_block_bytes: u64,
}

static CURRENT: RwLock<Option<Limits>> = RwLock::new(None);

impl Default for Limits {
    /// The defaults, without looking at the environment.
    fn default() -> Self {
        Limits { max_blocks: Self::DEFAULT_MAX_BLOCKS, max_block_bytes: Self::default_max_block_bytes() }
    }
}

impl Limits {
    /// The default block-count limit: one million blocks.
    pub const DEFAULT_MAX_BLOCKS: u64 = 1_000_000;

    /// The default block-size limit: a quarter of the machine's memory (on Linux the smaller of
    /// `MemTotal` in `/proc/meminfo` and the cgroup v2 `memory.max`), or
    /// [`FALLBACK_MAX_BLOCK_BYTES`] where neither can be read.
    pub fn default_max_block_bytes() -> u64 {
        physical_memory().map_or(FALLBACK_MAX_BLOCK_BYTES, |m| (m / 4).max(1))
    }

    /// The defaults with [`MAX_BLOCKS_VAR`] and [`MAX_BLOCK_BYTES_VAR`] applied where set; a
    /// value that is not a whole number of at least 1 is an error naming the variable.
    pub fn from_env() -> Result<Limits> {
        Self::from_vars(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// [`Limits::from_env`] with the variables read through `var` (for tests and embedders).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Limits> {
        let mut limits = Limits::default();
        if let Some(v) = var(MAX_BLOCKS_VAR) {
            limits.max_blocks = parse_count(MAX_BLOCKS_VAR, &v, false)?;
        }
        if let Some(v) = var(MAX_BLOCK_BYTES_VAR) {
            limits.max_block_bytes = parse_count(MAX_BLOCK_BYTES_VAR, &v, true)?;
        }
        Ok(limits)
    }

    /// The limits in force in this process: those given to [`Limits::set_current`], else
    /// [`Limits::from_env`].
    pub fn current() -> Result<Limits> {
        match *CURRENT.read().unwrap_or_else(|e| e.into_inner()) {
            Some(limits) => Ok(limits),
            None => Self::from_env(),
        }
    }

    /// Sets the limits of this process (`None`: back to the environment and the defaults).
    /// They apply to every graph built afterwards and to every block task this process runs.
    pub fn set_current(limits: Option<Limits>) {
        *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    /// Refuses `n_rows` rows in blocks of `chunk_rows` (the last one shorter) when `chunk_rows`
    /// is 0 or the blocks are more than [`Limits::max_blocks`]. `what` names the entry point and
    /// `params` its parameters (`"n_samples = …, chunk_rows = …"`), for the message.
    pub fn check_regular(&self, what: &str, n_rows: u64, chunk_rows: u64, params: &str) -> Result<()> {
        if chunk_rows == 0 {
            return Err(MlError::InvalidParameter {
                name: "chunk_rows",
                message: format!("{what}: must be at least 1, got 0 ({params})"),
            });
        }
        self.check_blocks(what, n_blocks(n_rows, chunk_rows), chunk_rows.min(n_rows), params)
    }

    /// Refuses `n_blocks` blocks (of up to `block_rows` rows, for the message) when they are
    /// more than [`Limits::max_blocks`].
    pub fn check_blocks(&self, what: &str, n_blocks: u64, block_rows: u64, params: &str) -> Result<()> {
        if n_blocks > self.max_blocks {
            return Err(MlError::TooManyBlocks {
                what: what.to_string(),
                n_blocks,
                block_rows,
                params: params.to_string(),
                limit: self.max_blocks,
            });
        }
        Ok(())
    }

    /// Refuses a block of `rows` rows × `n_cols` columns of `elem_bytes`-byte elements when it
    /// holds more than [`Limits::max_block_bytes`] (or when the product overflows `u64`).
    pub fn check_block_bytes(&self, what: &str, rows: u64, n_cols: u64, elem_bytes: u64, params: &str) -> Result<()> {
        let bytes = rows.checked_mul(n_cols).and_then(|c| c.checked_mul(elem_bytes));
        if bytes.is_none_or(|b| b > self.max_block_bytes) {
            return Err(MlError::BlockTooLarge {
                what: what.to_string(),
                rows,
                n_cols,
                elem_bytes,
                bytes,
                params: params.to_string(),
                limit: self.max_block_bytes,
            });
        }
        Ok(())
    }
}

/// Blocks of `chunk_rows` rows (at least 1) that cover `n_rows` rows.
pub(crate) fn n_blocks(n_rows: u64, chunk_rows: u64) -> u64 {
    n_rows.div_ceil(chunk_rows.max(1))
}

/// A whole number of at least 1, with a binary unit suffix where `units` allows.
fn parse_count(name: &'static str, value: &str, units: bool) -> Result<u64> {
    let bad = |why: &str| MlError::InvalidParameter {
        name,
        message: format!(
            "'{value}' {why}; expected a whole number of at least 1{}",
            if units { ", optionally followed by K, M, G or T (powers of 1024)" } else { "" }
        ),
    };
    let v = value.trim();
    let (digits, shift) = match v.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') if units => (&v[..v.len() - 1], 10),
        Some('M') if units => (&v[..v.len() - 1], 20),
        Some('G') if units => (&v[..v.len() - 1], 30),
        Some('T') if units => (&v[..v.len() - 1], 40),
        _ => (v, 0),
    };
    let n: u64 = digits.trim().parse().map_err(|_| bad("is not a whole number"))?;
    let n = n.checked_mul(1u64 << shift).ok_or_else(|| bad("does not fit in 64 bits"))?;
    if n == 0 {
        return Err(bad("is 0"));
    }
    Ok(n)
}

/// The machine's memory in bytes, read once: on Linux the smaller of `MemTotal` and the cgroup
/// v2 memory limit; `None` elsewhere or when neither can be read.
fn physical_memory() -> Option<u64> {
    static MEMORY: OnceLock<Option<u64>> = OnceLock::new();
    *MEMORY.get_or_init(|| {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| parse_meminfo(&s));
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse().ok());
        match (total, cgroup) {
            (Some(t), Some(c)) => Some(u64::min(t, c)),
            (t, c) => t.or(c),
        }
    })
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn environment_variables_set_the_limits() {
        let l = Limits::from_vars(vars(&[(MAX_BLOCKS_VAR, "42"), (MAX_BLOCK_BYTES_VAR, "3M")])).unwrap();
        assert_eq!(l, Limits { max_blocks: 42, max_block_bytes: 3 << 20 });
        let l = Limits::from_vars(vars(&[(MAX_BLOCK_BYTES_VAR, " 1000 ")])).unwrap();
        assert_eq!(l.max_block_bytes, 1000);
        assert_eq!(l.max_blocks, Limits::DEFAULT_MAX_BLOCKS);
        assert_eq!(Limits::from_vars(vars(&[])).unwrap(), Limits::default());
    }

    #[test]
    fn a_malformed_environment_variable_is_an_error_naming_it() {
        for (name, value) in [
            (MAX_BLOCKS_VAR, "lots"),
            (MAX_BLOCKS_VAR, "0"),
            (MAX_BLOCKS_VAR, "-5"),
            (MAX_BLOCKS_VAR, "10K"),
            (MAX_BLOCK_BYTES_VAR, "8 GB"),
            (MAX_BLOCK_BYTES_VAR, ""),
            (MAX_BLOCK_BYTES_VAR, "99999999999T"),
        ] {
            let err = Limits::from_vars(vars(&[(name, value)])).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(name) && text.contains(&format!("'{value}'")), "{text}");
        }
    }

    #[test]
    fn the_default_block_size_is_a_quarter_of_memory() {
        let bytes = Limits::default_max_block_bytes();
        match physical_memory() {
            Some(m) => assert_eq!(bytes, (m / 4).max(1)),
            None => assert_eq!(bytes, FALLBACK_MAX_BLOCK_BYTES),
        }
        assert_eq!(parse_meminfo("MemTotal:       16384 kB\nMemFree: 1 kB\n"), Some(16384 * 1024));
        assert_eq!(parse_meminfo("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn checks_state_the_numbers_and_the_limit() {
        let l = Limits { max_blocks: 1_000_000, max_block_bytes: 1 << 30 };
        let text = l
            .check_regular("make_x", 1_000_000_000_000, 100, "n_samples = 1000000000000, chunk_rows = 100")
            .unwrap_err()
            .to_string();
        assert!(text.contains("10000000000 blocks of 100 rows"), "{text}");
        assert!(text.contains("limit of 1000000") && text.contains(MAX_BLOCKS_VAR), "{text}");
        let text = l.check_regular("make_x", u64::MAX, 1, "n_samples = max").unwrap_err().to_string();
        assert!(text.contains(&format!("{} blocks", u64::MAX)), "{text}");
        assert!(l.check_regular("make_x", 10, 0, "chunk_rows = 0").unwrap_err().to_string().contains("chunk_rows"));
        assert!(l.check_regular("make_x", 1_000_000, 1, "").is_ok());
        let text = l.check_block_bytes("make_x", u64::MAX, 20, 8, "n_samples = max").unwrap_err().to_string();
        assert!(text.contains("overflows") && text.contains(MAX_BLOCK_BYTES_VAR), "{text}");
        let text = l.check_block_bytes("make_x", 1 << 20, 129, 8, "").unwrap_err().to_string();
        assert!(text.contains(&format!("= {} bytes", (1u64 << 20) * 129 * 8)), "{text}");
        assert!(l.check_block_bytes("make_x", 1 << 20, 128, 8, "").is_ok());
    }
}
