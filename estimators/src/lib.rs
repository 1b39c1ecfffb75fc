//! See the crate description; the contents arrive with their issues.
//!
//! Until then this crate registers no ops and no codecs, and the lists below are empty so the
//! `rask` registry already has its final shape.

use rask_core::{Codec, OpEntry};

/// The ops this crate registers.
pub const OPS: &[OpEntry] = &[];

/// The value codecs this crate registers.
pub const CODECS: &[Codec] = &[];
