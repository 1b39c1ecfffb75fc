//! How the process's allocator treats freed memory.
//!
//! Rask's block tasks allocate their outputs fresh: a prediction over 500,000 rows is a new 4 MB
//! array, a transformed block a new 80 MB one. glibc's malloc (the system allocator on Linux)
//! serves requests over 128 KiB from fresh mappings and gives freed memory at the top of its
//! heaps back to the kernel, so a process that predicts, frees and predicts again touches new
//! pages every time, and each first touch of a 4 KiB page is a page fault: about 1.7 µs on a
//! virtual machine. On `ParallelPostFit(LogisticRegression).predict` over 10,000,000 × 20 that
//! is a fifth to a half of the time (see the README's bring-your-own-model figures).
//!
//! [`retain_freed_memory`] makes glibc keep what it has: allocations up to 32 MiB come from
//! its heaps, freed memory stays there for the next allocation until more than 64 MiB of it is
//! free at the top of a heap (the ceiling glibc's own adaptive threshold reaches once a program
//! has freed large blocks, set from the start), and heaps grow 64 MiB at a time. So each of
//! malloc's heaps (about one per thread that allocates) keeps at most about 128 MiB it does not
//! use; a process's resident memory stays nearer its peak instead of falling back after each
//! computation, which is what a batch-prediction job, a sweep or a worker wants. Under a tight
//! hard memory limit (a container, SLURM's `--mem`) with many threads, `RASK_MALLOC=default`
//! gives that margin back.
//!
//! The `rask` command (every subcommand, its workers included) calls it first thing; a library
//! never changes process-wide settings on its own, so an application that wants the same calls
//! it at the start of `main`.
//!
//! `RASK_MALLOC=default` leaves glibc's defaults in place; `RASK_MALLOC=retain` (or no value) is
//! the tuning above. Other allocators (musl, macOS, Windows, or a `#[global_allocator]` of the
//! application's own) are left alone.

use std::fmt;

/// The environment variable that chooses the policy: `retain` (the default) or `default`.
pub const RASK_MALLOC: &str = "RASK_MALLOC";

/// What [`retain_freed_memory`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllocatorPolicy {
    /// glibc's malloc keeps freed memory (the settings of the [module](self)).
    Retain,
    /// `RASK_MALLOC=default`: glibc's own settings, unchanged.
    GlibcDefault,
    /// Not glibc on Linux: nothing to change.
    Unsupported,
}

impl fmt::Display for AllocatorPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocatorPolicy::Retain => "glibc malloc keeps freed memory (RASK_MALLOC=retain)",
            AllocatorPolicy::GlibcDefault => "glibc malloc's defaults (RASK_MALLOC=default)",
            AllocatorPolicy::Unsupported => "the platform's allocator, unchanged",
        })
    }
}

/// Why the allocator could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// `RASK_MALLOC` holds something else than `retain` or `default`.
    #[error(
        "RASK_MALLOC={0:?} is not a policy: use `retain` (keep freed memory, the default) or `default` (glibc's own)"
    )]
    UnknownPolicy(String),
    /// glibc refused a setting.
    #[error("glibc's mallopt refused {0}")]
    Refused(&'static str),
}

/// Whether `RASK_MALLOC`'s value asks for the tuning (`None`: unset).
fn wants_retain(value: Option<&str>) -> Result<bool, MemoryError> {
    match value.map(str::trim) {
        None | Some("") | Some("retain") => Ok(true),
        Some("default") => Ok(false),
        Some(other) => Err(MemoryError::UnknownPolicy(other.to_string())),
    }
}

/// Sets glibc's malloc to keep freed memory, unless `RASK_MALLOC=default`; see the
/// [module](self). Call it at the start of `main`, before threads allocate much; calling it
/// again is harmless.
pub fn retain_freed_memory() -> Result<AllocatorPolicy, MemoryError> {
    let value = std::env::var(RASK_MALLOC).ok();
    if !wants_retain(value.as_deref())? {
        return Ok(AllocatorPolicy::GlibcDefault);
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> Result<AllocatorPolicy, MemoryError> {
    const MIB: libc::c_int = 1 << 20;
    for (param, value, what) in [
        // The largest threshold glibc accepts on 64-bit systems: below it, blocks come from the
        // heaps and are reused; above it they are mapped and unmapped as before.
        (libc::M_MMAP_THRESHOLD, 32 * MIB, "M_MMAP_THRESHOLD = 32 MiB"),
        // Without the pad, the threshold alone gave no gain (ParallelPostFit's predict, 10^7 rows:
        // 1.25x a read pass against 0.97-1.02x with it; 1 GiB instead of 64 MiB: 0.91-0.92x).
        (libc::M_TRIM_THRESHOLD, 64 * MIB, "M_TRIM_THRESHOLD = 64 MiB"),
        (libc::M_TOP_PAD, 64 * MIB, "M_TOP_PAD = 64 MiB"),
    ] {
        // SAFETY: `mallopt` takes two plain integers and changes only malloc's own parameters,
        // under malloc's lock; any thread may call it at any time.
        if unsafe { libc::mallopt(param, value) } != 1 {
            return Err(MemoryError::Refused(what));
        }
    }
    Ok(AllocatorPolicy::Retain)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> Result<AllocatorPolicy, MemoryError> {
    Ok(AllocatorPolicy::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_is_read_from_its_variable_and_a_typo_is_an_error() {
        assert!(wants_retain(None).unwrap());
        assert!(wants_retain(Some("retain")).unwrap());
        assert!(wants_retain(Some(" retain ")).unwrap());
        assert!(wants_retain(Some("")).unwrap());
        assert!(!wants_retain(Some("default")).unwrap());
        let e = wants_retain(Some("glibc")).unwrap_err();
        assert_eq!(e, MemoryError::UnknownPolicy("glibc".into()));
        assert!(e.to_string().contains("use `retain`"), "{e}");
    }

    #[test]
    fn glibc_accepts_the_settings_and_again_on_a_second_call() {
        // The test binary runs on the platform's allocator: glibc on Linux (CI), where every
        // setting must be accepted; elsewhere nothing changes.
        for _ in 0..2 {
            let got = apply().unwrap();
            if cfg!(all(target_os = "linux", target_env = "gnu")) {
                assert_eq!(got, AllocatorPolicy::Retain);
            } else {
                assert_eq!(got, AllocatorPolicy::Unsupported);
            }
        }
        // Memory still allocates and frees as before, around the threshold too.
        for size in [1 << 10, (32 << 20) - 64, 32 << 20, 40 << 20] {
            let v = vec![7u8; size];
            assert_eq!(v[size - 1], 7);
        }
    }
}
