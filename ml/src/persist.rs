//! Model files: stable type tags, a checksum, and a consistency check on load.
//!
//! [`save`] / [`to_bytes`] write a value in an envelope (MessagePack):
//!
//! | field       | format 2 (written now)                               | format 1 (read only)          |
//! |-------------|------------------------------------------------------|-------------------------------|
//! | `magic`     | `"rask-model"`                                       | the same                      |
//! | `format`    | `2`                                                  | `1`                           |
//! | `type_name` | the value's [`Persist::tag`], e.g. `"rask.estimators.logistic/1"` | `std::any::type_name` |
//! | `checksum`  | XXH3-64 of the tag and the body bytes                | absent                        |
//! | `body`      | the value, MessagePack, as bytes                     | the value, inline             |
//!
//! [`load`] / [`from_bytes`] check, in order: the magic, the format, the tag (a file of another
//! type is an error, not garbage), the checksum (a flipped byte is "the model file is corrupt",
//! before the body is decoded), the decoding, and last the model's own [`Persist::validate`]
//! (lengths that agree, finite parameters), so a model that would fail or panic at predict
//! time is refused when it is loaded.
//!
//! Tags are stable names owned by the type, not `std::any::type_name` (which changes when a
//! type moves and is not guaranteed across compiler versions). A fitted model's tag is its
//! [`BlockModel::APPLY_OP`] without `.apply`, and [`BlockModel::PERSIST_VERSION`]: the op name
//! is already a stable registry name. Params types get theirs from [`estimator!`](crate::estimator)
//! and [`model!`](crate::model) (`"<ops>.params/1"`); generic types compose their parameters'
//! tags (`"rask.ml.FittedPipeline/1<…,…>"`).
//!
//! Files of format 1 (written before tags and checksums) still load: their type name is
//! compared with `std::any::type_name` of the requested type, as it was when they were
//! written, and the loaded value is validated like any other.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::error::{MlError, Result};
use crate::traits::BlockModel;

/// A type that can be saved to a model file: a stable, versioned tag and a consistency check.
///
/// Every [`BlockModel`] is `Persist` (its tag comes from [`BlockModel::APPLY_OP`] and its check
/// is [`BlockModel::validate`]); params types get it from [`estimator!`](crate::estimator) and
/// [`model!`](crate::model); implement it by hand for other types, with [`persist!`](crate::persist)
/// for the simple ones.
pub trait Persist: Serialize + DeserializeOwned {
    /// The stable name of the type and the version of its serialised layout, e.g.
    /// `"rask.estimators.logistic/1"`. Bump the version when the layout changes.
    fn tag() -> String;

    /// Checks the internal consistency of a value read from a file: lengths that agree, class
    /// counts, finite parameters. [`load`] and [`from_bytes`] run it, so a model that would
    /// panic or mispredict is refused with a clear error instead.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// Implements [`Persist`] for non-generic types with a fixed tag and no consistency check:
/// `rask_ml::persist!(MySettings => "my_app.settings/1", MyOther => "my_app.other/1");`
#[macro_export]
macro_rules! persist {
    ($($ty:ty => $tag:literal),+ $(,)?) => {
        $(
            impl $crate::persist::Persist for $ty {
                fn tag() -> ::std::string::String {
                    ::std::string::String::from($tag)
                }
            }
        )+
    };
}

impl<M: BlockModel> Persist for M {
    fn tag() -> String {
        format!("{}/{}", M::APPLY_OP.strip_suffix(".apply").unwrap_or(M::APPLY_OP), M::PERSIST_VERSION)
    }

    fn validate(&self) -> Result<()> {
        self.validate_model()
    }
}

impl Persist for () {
    fn tag() -> String {
        "()".into()
    }
}

// --- Consistency checks shared by the models' `validate` ----------------------------------------

/// The error of a model that is not internally consistent.
pub fn invalid_model(model: &str, message: impl Into<String>) -> MlError {
    MlError::InvalidModel { model: model.to_string(), message: message.into() }
}

/// Checks that `what` of `model` has length `expected`.
pub fn check_model_len(model: &str, what: &str, expected: usize, found: usize) -> Result<()> {
    if expected == found {
        Ok(())
    } else {
        Err(invalid_model(model, format!("{what} has length {found}, expected {expected}")))
    }
}

/// Checks that every value of `what` of `model` is finite.
pub fn check_model_finite<'a>(model: &str, what: &str, values: impl IntoIterator<Item = &'a f64>) -> Result<()> {
    match values.into_iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => Err(invalid_model(model, format!("{what} holds a NaN or infinite value (at position {i})"))),
    }
}

/// Checks that a model has at least one feature (`what` names the dimension).
pub fn check_model_nonempty(model: &str, what: &str, n: usize) -> Result<()> {
    if n > 0 {
        Ok(())
    } else {
        Err(invalid_model(model, format!("{what} is 0")))
    }
}

// --- The envelope ------------------------------------------------------------------------------

const MAGIC: &str = "rask-model";
/// The envelope format [`to_bytes`] writes: 2, with a stable tag and a checksum. Format 1 (a
/// Rust type name and no checksum) is still read.
pub const FORMAT: u32 = 2;

/// Format 2: the body is bytes, so the checksum is verified before anything is decoded.
#[derive(Serialize, Deserialize)]
struct EnvelopeV2 {
    magic: String,
    format: u32,
    /// The tag. The field keeps its format-1 name so that older builds, which read it before
    /// the format, report "format version 2 is not supported" rather than a missing field.
    type_name: String,
    checksum: u64,
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
}

/// Format 1, as written before tags and checksums.
#[derive(Serialize, Deserialize)]
struct EnvelopeV1<T> {
    magic: String,
    format: u32,
    type_name: String,
    body: T,
}

fn checksum(tag: &str, body: &[u8]) -> u64 {
    let mut h = Xxh3::new();
    h.update(&(tag.len() as u64).to_le_bytes());
    h.update(tag.as_bytes());
    h.update(body);
    h.digest()
}

fn encode_err(e: impl std::fmt::Display) -> MlError {
    MlError::ModelFile { path: "<memory>".into(), message: format!("cannot encode: {e}") }
}

/// Serialises params or a fitted model to bytes (MessagePack in a tagged, checksummed envelope).
pub fn to_bytes<T: Persist>(value: &T) -> Result<Vec<u8>> {
    let body = rmp_serde::to_vec_named(value).map_err(encode_err)?;
    let tag = T::tag();
    let env =
        EnvelopeV2 { magic: MAGIC.to_string(), format: FORMAT, checksum: checksum(&tag, &body), type_name: tag, body };
    rmp_serde::to_vec_named(&env).map_err(encode_err)
}

/// The bytes of a format-1 file of `value`, as Rask wrote them before format 2: for tests of
/// the compatibility path.
#[doc(hidden)]
pub fn to_bytes_format1<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let env = EnvelopeV1 {
        magic: MAGIC.to_string(),
        format: 1,
        type_name: std::any::type_name::<T>().to_string(),
        body: value,
    };
    rmp_serde::to_vec_named(&env).map_err(encode_err)
}

/// Deserialises what [`to_bytes`] wrote (or a format-1 file), checking the envelope, the tag,
/// the checksum and the value's [`Persist::validate`].
pub fn from_bytes<T: Persist>(bytes: &[u8]) -> Result<T> {
    from_bytes_at(bytes, "<memory>")
}

fn from_bytes_at<T: Persist>(bytes: &[u8], path: &str) -> Result<T> {
    let err = |message: String| MlError::ModelFile { path: path.to_string(), message };
    #[derive(Deserialize)]
    struct Head {
        magic: String,
        format: u32,
    }
    let head: Head = rmp_serde::from_slice(bytes).map_err(|e| err(format!("not a Rask model file: {e}")))?;
    if head.magic != MAGIC {
        return Err(err("not a Rask model file".into()));
    }
    let value: T = match head.format {
        FORMAT => {
            let env: EnvelopeV2 =
                rmp_serde::from_slice(bytes).map_err(|e| err(format!("the model file is corrupt: {e}")))?;
            let want = T::tag();
            if env.type_name != want {
                return Err(err(format!("holds a `{}`, not a `{want}`", env.type_name)));
            }
            let found = checksum(&env.type_name, &env.body);
            if found != env.checksum {
                return Err(err(format!(
                    "the model file is corrupt: checksum {found:016x} of its contents, expected {:016x}",
                    env.checksum
                )));
            }
            rmp_serde::from_slice(&env.body).map_err(|e| err(format!("cannot decode: {e}")))?
        }
        1 => {
            // Written before stable tags: the type name is the one Rust gave the type then.
            #[derive(Deserialize)]
            struct HeadV1 {
                type_name: String,
            }
            let h: HeadV1 = rmp_serde::from_slice(bytes).map_err(|e| err(format!("not a Rask model file: {e}")))?;
            let want = std::any::type_name::<T>();
            if h.type_name != want {
                return Err(err(format!("holds a `{}`, not a `{want}`", h.type_name)));
            }
            let env: EnvelopeV1<T> = rmp_serde::from_slice(bytes).map_err(|e| err(format!("cannot decode: {e}")))?;
            env.body
        }
        other => {
            return Err(err(format!("format version {other} is not supported (this build reads 1 and {FORMAT})")));
        }
    };
    value.validate().map_err(|e| err(format!("holds an inconsistent model: {e}")))?;
    Ok(value)
}

/// Saves params or a fitted model to `path`.
pub fn save<T: Persist>(value: &T, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = to_bytes(value)?;
    std::fs::write(path, bytes)
        .map_err(|e| MlError::ModelFile { path: path.display().to_string(), message: e.to_string() })
}

/// Loads what [`save`] wrote; the type must match the saved one, the checksum must agree and
/// the model must be consistent ([`Persist::validate`]).
pub fn load<T: Persist>(path: impl AsRef<Path>) -> Result<T> {
    let path = path.as_ref();
    let bytes = std::fs::read(path)
        .map_err(|e| MlError::ModelFile { path: path.display().to_string(), message: e.to_string() })?;
    from_bytes_at(&bytes, &path.display().to_string())
}

/// Bytes of a value for a graph token (a key that is the same for equal values): MessagePack,
/// no envelope. Not a file format.
pub(crate) fn token_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec_named(value).map_err(encode_err)
}
