//! Raw codecs for ndarray blocks: a small header, then the elements little-endian in row-major
//! order. No serde on the data path (decoding 8 MB through serde costs ~35× a copy).

use ndarray::{Array1, Array2};
use rask_core::{CodecError, ValueCodec};

fn read_u64(bytes: &[u8], at: usize, tag: &'static str) -> Result<u64, CodecError> {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("slice of 8 bytes")))
        .ok_or_else(|| CodecError::Decode { tag, message: format!("truncated header: {} bytes", bytes.len()) })
}

fn check_len(bytes: &[u8], header: usize, n: u64, width: usize, tag: &'static str) -> Result<(), CodecError> {
    let want = n.checked_mul(width as u64).and_then(|b| b.checked_add(header as u64));
    if want != Some(bytes.len() as u64) {
        return Err(CodecError::Decode {
            tag,
            message: format!("{} bytes do not hold the {n} elements the header announces", bytes.len()),
        });
    }
    Ok(())
}

macro_rules! array_codecs {
    ($a2:ident, $a1:ident, $t:ty, $tag2:literal, $tag1:literal) => {
        /// Raw codec for a 2-D block: rows (u64), columns (u64), then the elements.
        #[derive(Debug)]
        pub struct $a2;

        impl ValueCodec for $a2 {
            type Value = Array2<$t>;
            const TAG: &'static str = $tag2;

            fn encode(a: &Array2<$t>, out: &mut Vec<u8>) -> Result<(), CodecError> {
                out.reserve(16 + a.len() * std::mem::size_of::<$t>());
                out.extend_from_slice(&(a.nrows() as u64).to_le_bytes());
                out.extend_from_slice(&(a.ncols() as u64).to_le_bytes());
                // `iter` walks in logical row-major order whatever the memory layout.
                for x in a.iter() {
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Ok(())
            }

            fn nbytes(a: &Array2<$t>) -> usize {
                16 + a.len() * std::mem::size_of::<$t>()
            }

            fn decode(bytes: &[u8]) -> Result<Array2<$t>, CodecError> {
                let rows = read_u64(bytes, 0, $tag2)?;
                let cols = read_u64(bytes, 8, $tag2)?;
                let n = rows.checked_mul(cols).ok_or_else(|| CodecError::Decode {
                    tag: $tag2,
                    message: format!("shape {rows} x {cols} overflows"),
                })?;
                check_len(bytes, 16, n, std::mem::size_of::<$t>(), $tag2)?;
                let data: Vec<$t> = bytes[16..]
                    .chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("exact chunk")))
                    .collect();
                Array2::from_shape_vec((rows as usize, cols as usize), data)
                    .map_err(|e| CodecError::Decode { tag: $tag2, message: e.to_string() })
            }
        }

        /// Raw codec for a 1-D array: length (u64), then the elements.
        #[derive(Debug)]
        pub struct $a1;

        impl ValueCodec for $a1 {
            type Value = Array1<$t>;
            const TAG: &'static str = $tag1;

            fn encode(a: &Array1<$t>, out: &mut Vec<u8>) -> Result<(), CodecError> {
                out.reserve(8 + a.len() * std::mem::size_of::<$t>());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for x in a.iter() {
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Ok(())
            }

            fn nbytes(a: &Array1<$t>) -> usize {
                8 + a.len() * std::mem::size_of::<$t>()
            }

            fn decode(bytes: &[u8]) -> Result<Array1<$t>, CodecError> {
                let n = read_u64(bytes, 0, $tag1)?;
                check_len(bytes, 8, n, std::mem::size_of::<$t>(), $tag1)?;
                Ok(bytes[8..]
                    .chunks_exact(std::mem::size_of::<$t>())
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("exact chunk")))
                    .collect())
            }
        }
    };
}

array_codecs!(Array2F64Codec, Array1F64Codec, f64, "ndarray2<f64>", "ndarray1<f64>");
array_codecs!(Array2F32Codec, Array1F32Codec, f32, "ndarray2<f32>", "ndarray1<f32>");
array_codecs!(Array2I64Codec, Array1I64Codec, i64, "ndarray2<i64>", "ndarray1<i64>");

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn round_trips_including_non_standard_layouts() {
        let a = array![[1.0f64, 2.0, 3.0], [4.0, 5.0, f64::NAN]];
        let t = a.clone().reversed_axes(); // column-major view of the data
        for x in [&a, &t] {
            let mut bytes = Vec::new();
            Array2F64Codec::encode(x, &mut bytes).unwrap();
            assert_eq!(Array2F64Codec::nbytes(x), bytes.len());
            let back = Array2F64Codec::decode(&bytes).unwrap();
            assert_eq!(back.shape(), x.shape());
            assert!(back.iter().zip(x.iter()).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
        let v = array![1.5f32, -2.0];
        let mut bytes = Vec::new();
        Array1F32Codec::encode(&v, &mut bytes).unwrap();
        assert_eq!(Array1F32Codec::decode(&bytes).unwrap(), v);
        let empty = Array2::<f32>::zeros((0, 4));
        let mut bytes = Vec::new();
        Array2F32Codec::encode(&empty, &mut bytes).unwrap();
        assert_eq!(Array2F32Codec::decode(&bytes).unwrap().shape(), &[0, 4]);
    }

    #[test]
    fn truncated_or_lying_bytes_are_errors_not_panics() {
        let a = array![[1.0f64, 2.0]];
        let mut bytes = Vec::new();
        Array2F64Codec::encode(&a, &mut bytes).unwrap();
        for cut in 0..bytes.len() {
            assert!(Array2F64Codec::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(Array2F64Codec::decode(&huge).is_err());
        assert!(Array1F64Codec::decode(&[1, 2, 3]).is_err());
    }
}
