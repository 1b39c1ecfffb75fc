//! Type-erased task results and the codec table that turns them into bytes and back.
//!
//! Locally a [`Value`] is an `Arc` around any `Send + Sync` type: passing a result from one task
//! to the next is a reference-count increment, never a copy.
//! A value can leave the process only if its type has a [`Codec`] in the [`Registry`](crate::Registry):
//! the codec's stable `tag` names the type on the wire, so two processes agree on what bytes mean
//! without sharing Rust `TypeId`s.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A type-erased, cheaply clonable task result.
#[derive(Clone)]
pub struct Value {
    inner: Arc<dyn Any + Send + Sync>,
    type_name: &'static str,
}

impl Value {
    /// Wraps a value.
    pub fn new<T: Any + Send + Sync>(value: T) -> Self {
        Value { inner: Arc::new(value), type_name: std::any::type_name::<T>() }
    }

    /// Wraps a value that is already shared.
    pub fn from_arc<T: Any + Send + Sync>(value: Arc<T>) -> Self {
        Value { inner: value, type_name: std::any::type_name::<T>() }
    }

    /// The Rust type name of the wrapped value (for error messages).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The `TypeId` of the wrapped value.
    pub fn type_id(&self) -> TypeId {
        (*self.inner).type_id()
    }

    /// A reference to the wrapped value, if it is a `T`.
    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        self.inner.downcast_ref::<T>()
    }

    /// A reference to the wrapped value, or an error naming the expected and actual types.
    pub fn get<T: Any>(&self) -> Result<&T, ValueTypeError> {
        self.inner
            .downcast_ref::<T>()
            .ok_or(ValueTypeError { expected: std::any::type_name::<T>(), actual: self.type_name })
    }

    /// The shared wrapped value, if it is a `T`.
    pub fn downcast_arc<T: Any + Send + Sync>(&self) -> Result<Arc<T>, ValueTypeError> {
        self.inner
            .clone()
            .downcast::<T>()
            .map_err(|_| ValueTypeError { expected: std::any::type_name::<T>(), actual: self.type_name })
    }

    /// Takes the wrapped value out, cloning it only if it is still shared.
    pub fn take<T: Any + Send + Sync + Clone>(self) -> Result<T, ValueTypeError> {
        let actual = self.type_name;
        // Move our reference into the downcast (no extra strong count), so a unique value
        // is moved out rather than copied.
        let arc =
            self.inner.downcast::<T>().map_err(|_| ValueTypeError { expected: std::any::type_name::<T>(), actual })?;
        Ok(Arc::try_unwrap(arc).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Whether two values are the same allocation.
    pub fn ptr_eq(&self, other: &Value) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value<{}>", self.type_name)
    }
}

/// A value was not of the type a task or caller expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a value of type `{expected}`, found `{actual}`")]
pub struct ValueTypeError {
    /// The type that was asked for.
    pub expected: &'static str,
    /// The type that was there.
    pub actual: &'static str,
}

/// Encoding or decoding a value failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The value could not be encoded.
    #[error("cannot encode a `{tag}` value: {message}")]
    Encode {
        /// The codec's tag for hand-written codecs; the Rust type name for serde codecs.
        tag: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The bytes are not a valid encoding.
    #[error("cannot decode a `{tag}` value: {message}")]
    Decode {
        /// The codec's tag for hand-written codecs; the Rust type name for serde codecs.
        tag: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The codec was handed a value of another type.
    #[error(transparent)]
    Type(#[from] ValueTypeError),
}

/// A codec implemented by hand, for types whose bytes should not go through serde
/// (large numeric buffers are written raw: decoding 8 MB through serde costs ~35× a memcpy).
///
/// Implement it on a local zero-sized type, then list `Codec::of::<ThatType>()` in the crate's `CODECS`.
pub trait ValueCodec: 'static {
    /// The type this codec handles.
    type Value: Any + Send + Sync;
    /// The stable name of the type on the wire. Never change it once released.
    const TAG: &'static str;
    /// Appends the encoding of `value` to `out`.
    fn encode(value: &Self::Value, out: &mut Vec<u8>) -> Result<(), CodecError>;
    /// Decodes one value from exactly `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self::Value, CodecError>;
    /// The length of `value`'s encoding, in bytes. Memory accounting on distributed workers asks
    /// it for every result, so override it when it can be known without encoding (the default
    /// encodes into a scratch buffer).
    fn nbytes(value: &Self::Value) -> usize {
        let mut out = Vec::new();
        Self::encode(value, &mut out).map(|()| out.len()).unwrap_or(0)
    }
}

/// One entry of the codec table: how to turn values of one type into bytes and back.
#[derive(Clone, Copy)]
pub struct Codec {
    /// The stable wire name of the type.
    pub tag: &'static str,
    type_id: fn() -> TypeId,
    type_name: fn() -> &'static str,
    encode: fn(&Value, &mut Vec<u8>) -> Result<(), CodecError>,
    decode: fn(&[u8]) -> Result<Value, CodecError>,
    nbytes: fn(&Value) -> Result<usize, CodecError>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec").field("tag", &self.tag).field("type", &(self.type_name)()).finish()
    }
}

impl Codec {
    /// A codec that encodes `T` with MessagePack through serde.
    pub const fn serde<T: Serialize + DeserializeOwned + Any + Send + Sync>(tag: &'static str) -> Self {
        Codec {
            tag,
            type_id: TypeId::of::<T>,
            type_name: std::any::type_name::<T>,
            encode: encode_serde::<T>,
            decode: decode_serde::<T>,
            nbytes: nbytes_serde::<T>,
        }
    }

    /// A codec from a hand-written [`ValueCodec`].
    pub const fn of<C: ValueCodec>() -> Self {
        Codec {
            tag: C::TAG,
            type_id: TypeId::of::<C::Value>,
            type_name: std::any::type_name::<C::Value>,
            encode: encode_with::<C>,
            decode: decode_with::<C>,
            nbytes: nbytes_with::<C>,
        }
    }

    /// The `TypeId` of the type this codec handles.
    pub fn type_id(&self) -> TypeId {
        (self.type_id)()
    }

    /// The Rust name of the type this codec handles.
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    /// Appends the encoding of `value` to `out`.
    pub fn encode(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
        (self.encode)(value, out)
    }

    /// Decodes one value.
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, CodecError> {
        (self.decode)(bytes)
    }

    /// The length of `value`'s encoding: what it costs to hold it, spill it or send it.
    /// Serde codecs count the bytes of their encoding without allocating it.
    pub fn nbytes(&self, value: &Value) -> Result<usize, CodecError> {
        (self.nbytes)(value)
    }
}

/// An `io::Write` that only counts.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn nbytes_serde<T: Serialize + Any>(value: &Value) -> Result<usize, CodecError> {
    let v = value.get::<T>()?;
    let mut counter = Counter(0);
    rmp_serde::encode::write_named(&mut counter, v)
        .map_err(|e| CodecError::Encode { tag: std::any::type_name::<T>(), message: e.to_string() })?;
    Ok(counter.0)
}

fn nbytes_with<C: ValueCodec>(value: &Value) -> Result<usize, CodecError> {
    Ok(C::nbytes(value.get::<C::Value>()?))
}

fn encode_serde<T: Serialize + Any>(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let v = value.get::<T>()?;
    rmp_serde::encode::write_named(out, v)
        .map_err(|e| CodecError::Encode { tag: std::any::type_name::<T>(), message: e.to_string() })
}

fn decode_serde<T: DeserializeOwned + Any + Send + Sync>(bytes: &[u8]) -> Result<Value, CodecError> {
    rmp_serde::from_slice::<T>(bytes)
        .map(Value::new)
        .map_err(|e| CodecError::Decode { tag: std::any::type_name::<T>(), message: e.to_string() })
}

fn encode_with<C: ValueCodec>(value: &Value, out: &mut Vec<u8>) -> Result<(), CodecError> {
    C::encode(value.get::<C::Value>()?, out)
}

fn decode_with<C: ValueCodec>(bytes: &[u8]) -> Result<Value, CodecError> {
    C::decode(bytes).map(Value::new)
}

macro_rules! raw_vec_codec {
    ($name:ident, $t:ty, $tag:literal) => {
        /// Raw little-endian codec for a vector of numbers.
        #[derive(Debug)]
        pub struct $name;

        impl ValueCodec for $name {
            type Value = Vec<$t>;
            const TAG: &'static str = $tag;

            fn encode(value: &Vec<$t>, out: &mut Vec<u8>) -> Result<(), CodecError> {
                out.reserve(value.len() * std::mem::size_of::<$t>());
                for x in value {
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Ok(())
            }

            fn nbytes(value: &Vec<$t>) -> usize {
                value.len() * std::mem::size_of::<$t>()
            }

            fn decode(bytes: &[u8]) -> Result<Vec<$t>, CodecError> {
                const W: usize = std::mem::size_of::<$t>();
                if bytes.len() % W != 0 {
                    return Err(CodecError::Decode {
                        tag: $tag,
                        message: format!("{} bytes is not a whole number of {W}-byte elements", bytes.len()),
                    });
                }
                Ok(bytes
                    .chunks_exact(W)
                    .map(|c| {
                        let mut a = [0u8; W];
                        a.copy_from_slice(c);
                        <$t>::from_le_bytes(a)
                    })
                    .collect())
            }
        }
    };
}

raw_vec_codec!(VecF64Codec, f64, "vec<f64>");
raw_vec_codec!(VecF32Codec, f32, "vec<f32>");
raw_vec_codec!(VecI64Codec, i64, "vec<i64>");
raw_vec_codec!(VecU64Codec, u64, "vec<u64>");

/// Raw codec for a byte vector.
#[derive(Debug)]
pub struct BytesCodec;

impl ValueCodec for BytesCodec {
    type Value = Vec<u8>;
    const TAG: &'static str = "bytes";

    fn encode(value: &Vec<u8>, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(value);
        Ok(())
    }

    fn decode(bytes: &[u8]) -> Result<Vec<u8>, CodecError> {
        Ok(bytes.to_vec())
    }

    fn nbytes(value: &Vec<u8>) -> usize {
        value.len()
    }
}

/// The codecs `rask-core` provides for plain Rust types.
pub const CODECS: &[Codec] = &[
    Codec::serde::<()>("unit"),
    Codec::serde::<bool>("bool"),
    Codec::serde::<i32>("i32"),
    Codec::serde::<i64>("i64"),
    Codec::serde::<u32>("u32"),
    Codec::serde::<u64>("u64"),
    Codec::serde::<usize>("usize"),
    Codec::serde::<f32>("f32"),
    Codec::serde::<f64>("f64"),
    Codec::serde::<String>("string"),
    Codec::serde::<Vec<String>>("vec<string>"),
    Codec::serde::<Vec<usize>>("vec<usize>"),
    Codec::serde::<(f64, u64)>("(f64,u64)"),
    Codec::of::<VecF64Codec>(),
    Codec::of::<VecF32Codec>(),
    Codec::of::<VecI64Codec>(),
    Codec::of::<VecU64Codec>(),
    Codec::of::<BytesCodec>(),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_codec_round_trips_its_type() {
        let samples: Vec<Value> = vec![
            Value::new(()),
            Value::new(true),
            Value::new(-3i32),
            Value::new(-3i64),
            Value::new(7u32),
            Value::new(7u64),
            Value::new(7usize),
            Value::new(1.5f32),
            Value::new(-2.25f64),
            Value::new(String::from("héllo")),
            Value::new(vec![String::from("a"), String::new()]),
            Value::new(vec![1usize, 2]),
            Value::new((0.5f64, 9u64)),
            Value::new(vec![1.0f64, f64::NAN, -0.0]),
            Value::new(vec![1.0f32, 2.0]),
            Value::new(vec![i64::MIN, 0]),
            Value::new(vec![u64::MAX]),
            Value::new(vec![0u8, 255]),
        ];
        assert_eq!(samples.len(), CODECS.len());
        for (codec, v) in CODECS.iter().zip(&samples) {
            assert_eq!(codec.type_id(), v.type_id(), "sample order must follow CODECS ({})", codec.tag);
            let mut bytes = Vec::new();
            codec.encode(v, &mut bytes).unwrap();
            assert_eq!(codec.nbytes(v).unwrap(), bytes.len(), "codec {} miscounts its bytes", codec.tag);
            let back = codec.decode(&bytes).unwrap();
            let mut again = Vec::new();
            codec.encode(&back, &mut again).unwrap();
            assert_eq!(bytes, again, "codec {} is not a round trip", codec.tag);
        }
    }

    #[test]
    fn raw_codec_rejects_ragged_bytes_and_wrong_types() {
        let c = Codec::of::<VecF64Codec>();
        assert!(matches!(c.decode(&[0u8; 9]), Err(CodecError::Decode { .. })));
        let mut out = Vec::new();
        let err = c.encode(&Value::new(1u8), &mut out).unwrap_err();
        assert!(err.to_string().contains("expected a value of type"), "{err}");
    }

    #[test]
    fn take_moves_a_unique_value_and_clones_a_shared_one() {
        let unique = Value::new(vec![1.0f64; 4]);
        let buffer = unique.get::<Vec<f64>>().unwrap().as_ptr();
        let taken: Vec<f64> = unique.take().unwrap();
        assert_eq!(taken.as_ptr(), buffer, "a unique value must be moved out, not copied");

        let v = Value::new(vec![2.0f64; 4]);
        let shared = v.clone();
        let buffer = v.get::<Vec<f64>>().unwrap().as_ptr();
        let copy: Vec<f64> = v.take().unwrap();
        assert_ne!(copy.as_ptr(), buffer, "a shared value is copied");
        assert_eq!(copy, vec![2.0; 4]);
        assert_eq!(shared.get::<Vec<f64>>().unwrap().as_ptr(), buffer);
        assert!(shared.take::<u8>().is_err());
    }
}
