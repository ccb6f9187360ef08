//! The only file that names bincode: the catalog's encoding (serde, one
//! configuration) and the decoding of version-1 record bodies, which a store
//! written by version 1 holds until it is upgraded (FORMAT.md §8).

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::enc::write::Writer;
use bincode::error::EncodeError;
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::v1_value::V1Map;
use crate::event::Map;
use crate::record::BODY_BYTES_MAX;

/// The one bincode configuration: little-endian, variable-length integers, and a
/// size limit so that no length read from disk can make the decoder allocate
/// without bound.
const CONFIG: Configuration<LittleEndian, Varint, Limit<BODY_BYTES_MAX>> =
    bincode::config::standard().with_limit::<BODY_BYTES_MAX>();

/// Why bytes could not be encoded or decoded.
#[derive(Debug)]
pub(crate) struct CodecError(pub(crate) String);

struct VecWriter<'a>(&'a mut Vec<u8>);

impl Writer for VecWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the encoding of `value` (the catalog) to `out`.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serde::encode_into_writer(value, VecWriter(out), CONFIG)
        .map_err(|e| CodecError(e.to_string()))
}

/// Decodes an owned value (the catalog); every byte must be consumed.
pub(crate) fn decode_owned<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice::<T, _>(bytes, CONFIG)
        .map_err(|e| CodecError(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError(format!(
            "{} trailing bytes after the value",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// A version-1 record body, decoded (strings borrowed from the record).
#[derive(Debug, Deserialize)]
pub(crate) struct V1Body<'a> {
    pub(crate) name: &'a str,
    pub(crate) profile_id: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) message_id: Option<&'a str>,
    #[serde(borrow)]
    properties: V1Map<'a>,
    #[serde(borrow)]
    context: V1Map<'a>,
}

impl<'a> V1Body<'a> {
    /// The properties and the context.
    pub(crate) fn objects(self) -> (Map<&'a str>, Map<&'a str>) {
        (self.properties.0, self.context.0)
    }
}

/// Decodes a version-1 body (FORMAT.md §8.2); every byte must be consumed.
pub(crate) fn decode_v1_body(bytes: &[u8]) -> Result<V1Body<'_>, CodecError> {
    let (body, used) = bincode::serde::borrow_decode_from_slice::<V1Body<'_>, _>(bytes, CONFIG)
        .map_err(|e| CodecError(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError(format!(
            "{} trailing bytes after the body",
            bytes.len() - used
        )));
    }
    Ok(body)
}
