//! The body codec: the only module that names bincode.
//!
//! Bodies (and the catalog) are encoded with bincode 2's serde API under one
//! configuration, [`CONFIG`]: little-endian, variable-length integers, and a size
//! limit of [`BODY_BYTES_MAX`](super::BODY_BYTES_MAX) so that no length read from
//! disk can make the decoder allocate without bound. FORMAT.md, "Record body",
//! spells the resulting bytes out; golden tests pin them.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use bincode::enc::write::Writer;
use bincode::error::EncodeError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod value;

use std::path::Path;

use crate::error::{Error, Result};
use crate::event::{EventRef, Map, SourceId};
use crate::record::{BODY_BYTES_MAX, RecordView};

/// The one bincode configuration, used for every encode and decode.
pub(crate) const CONFIG: Configuration<LittleEndian, Varint, Limit<BODY_BYTES_MAX>> =
    bincode::config::standard().with_limit::<BODY_BYTES_MAX>();

/// A decoded body, borrowing every string from the record bytes.
#[derive(Debug, Deserialize)]
pub(crate) struct BodyView<'a> {
    pub name: &'a str,
    pub profile_id: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub message_id: Option<&'a str>,
    #[serde(borrow)]
    pub properties: Map<&'a str>,
    #[serde(borrow)]
    pub context: Map<&'a str>,
}

/// Decodes the event in a CRC-checked record (found in `file` at `offset`, for
/// the error when its body does not decode).
pub(crate) fn decode_event<'a>(
    record: &RecordView<'a>,
    file: &Path,
    offset: u64,
) -> Result<EventRef<'a>> {
    let body = decode_body(record.body).map_err(|e| {
        Error::corrupt(
            file,
            offset,
            format!("record body does not decode: {}", e.0),
        )
    })?;
    let h = &record.header;
    Ok(EventRef::from_parts(
        h.seq,
        SourceId(h.source),
        h.timestamp_ms,
        h.received_ms,
        body.name,
        [body.profile_id, body.session_id, body.message_id],
        body.properties,
        body.context,
    ))
}

/// Why bytes could not be encoded or decoded.
#[derive(Debug)]
pub(crate) struct CodecError(pub String);

struct VecWriter<'a>(&'a mut Vec<u8>);

impl Writer for VecWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the encoding of `value` to `out`; returns the number of bytes added.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<usize, CodecError> {
    let before = out.len();
    bincode::serde::encode_into_writer(value, VecWriter(out), CONFIG)
        .map_err(|e| CodecError(e.to_string()))?;
    Ok(out.len() - before)
}

/// Decodes a body; every byte must be consumed.
pub(crate) fn decode_body(bytes: &[u8]) -> Result<BodyView<'_>, CodecError> {
    let (body, used) = bincode::serde::borrow_decode_from_slice::<BodyView<'_>, _>(bytes, CONFIG)
        .map_err(|e| CodecError(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError(format!(
            "{} trailing bytes after the body",
            bytes.len() - used
        )));
    }
    Ok(body)
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
