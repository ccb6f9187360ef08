//! Record bodies as bytes, and back (FORMAT.md §2.3).
//!
//! Version 2 bodies are written by hand, field by field, into the caller's batch
//! buffer: varints for lengths and integers, a one-byte tag per value, and byte
//! lengths on arrays and objects so that reads can skip, search, or write them as
//! JSON without decoding ([`body`], [`value`]). There is no intermediate tree:
//! typed events, drafts and JSON payloads are encoded straight from what the
//! caller holds.
//!
//! bincode is named only in [`bincode`]: the catalog's encoding and the reading of
//! version-1 bodies for the upgrade of old stores.

mod bincode;
mod body;
mod event_ref;
mod v1_value;
pub(crate) mod value;
pub(crate) mod varint;

pub(crate) use bincode::{CodecError, decode_owned, decode_v1_body, encode_into};
pub(crate) use body::{body_name, check_body, decode_object, encode_body, put_head};
pub use event_ref::EventRef;
pub(crate) use event_ref::decode_event;
