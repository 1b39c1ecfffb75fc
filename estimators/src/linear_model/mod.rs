//! linear model estimators.

use rask_core::{Codec, OpEntry};

/// The ops this module registers.
pub const OPS: &[OpEntry] = &[];

/// The value codecs this module registers.
pub const CODECS: &[Codec] = &[];
