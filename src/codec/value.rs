//! Values in record bodies (FORMAT.md §2.3): a one-byte tag, then the payload.
//! Arrays and objects carry the byte length of their contents, so a reader can
//! skip them without decoding: reads decode `properties` and `context` only when
//! asked, and write them out as JSON straight from these bytes.

use std::collections::HashSet;

use super::varint;
use crate::event::json::{write_f64, write_i64, write_str, write_u64};
use crate::event::{Limits, Map, Value};

pub(crate) const NULL: u8 = 0;
pub(crate) const FALSE: u8 = 1;
pub(crate) const TRUE: u8 = 2;
pub(crate) const INT: u8 = 3;
pub(crate) const UINT: u8 = 4;
pub(crate) const FLOAT: u8 = 5;
pub(crate) const STRING: u8 = 6;
pub(crate) const ARRAY: u8 = 7;
pub(crate) const OBJECT: u8 = 8;

/// The deepest nesting a stored value may have: containers entered, counting a
/// body's own properties and context objects.
pub(crate) const DEPTH_MAX: usize = Limits::DEPTH_CEILING + 1;

/// Why a value could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// A float that is NaN or infinite (JSON has neither).
    NotFinite,
    /// Nested deeper than the limit allows.
    TooDeep,
    /// An object given with the same key twice.
    DuplicateKey,
}

/// Why stored bytes could not be decoded: what was wrong, and where (an offset
/// within the body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) reason: &'static str,
    pub(crate) at: usize,
}

/// Appends a string: its byte length as a varint, then its UTF-8 bytes.
#[inline]
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    varint::put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Starts a container: its tag and a length to be filled by [`end`]. Returns
/// where the length goes.
#[inline]
pub(crate) fn begin(out: &mut Vec<u8>, tag: u8) -> usize {
    out.push(tag);
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    at
}

/// Ends a container started with [`begin`]: its contents' byte length.
#[inline]
pub(crate) fn end(out: &mut [u8], at: usize) {
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends an integer value.
#[inline]
pub(crate) fn put_int(out: &mut Vec<u8>, n: i64) {
    out.push(INT);
    varint::put_i64(out, n);
}

/// Appends an integer value above `i64::MAX` (smaller ones are [`put_int`]).
#[inline]
pub(crate) fn put_uint(out: &mut Vec<u8>, n: u64) {
    match i64::try_from(n) {
        Ok(n) => put_int(out, n),
        Err(_) => {
            out.push(UINT);
            varint::put_u64(out, n);
        }
    }
}

/// Appends a float value; refuses NaN and infinities.
#[inline]
pub(crate) fn put_float(out: &mut Vec<u8>, f: f64) -> Result<(), EncodeError> {
    if !f.is_finite() {
        return Err(EncodeError::NotFinite);
    }
    out.push(FLOAT);
    out.extend_from_slice(&f.to_le_bytes());
    Ok(())
}

/// Appends a string value.
#[inline]
pub(crate) fn put_string(out: &mut Vec<u8>, s: &str) {
    out.push(STRING);
    put_str(out, s);
}

/// Appends a value. `levels` is how many container levels may still be entered
/// (a container needs at least one).
pub(crate) fn encode_value<S: AsRef<str>>(
    out: &mut Vec<u8>,
    value: &Value<S>,
    levels: usize,
) -> Result<(), EncodeError> {
    match value {
        Value::Array(items) => {
            if levels == 0 {
                return Err(EncodeError::TooDeep);
            }
            let at = begin(out, ARRAY);
            for item in items {
                encode_value(out, item, levels - 1)?;
            }
            end(out, at);
            Ok(())
        }
        Value::Object(map) => encode_object(out, map, levels),
        Value::Null => {
            out.push(NULL);
            Ok(())
        }
        Value::Bool(b) => {
            out.push(if *b { TRUE } else { FALSE });
            Ok(())
        }
        Value::Int(n) => {
            put_int(out, *n);
            Ok(())
        }
        Value::UInt(n) => {
            put_uint(out, *n);
            Ok(())
        }
        Value::Float(f) => put_float(out, *f),
        Value::String(s) => {
            put_string(out, s.as_ref());
            Ok(())
        }
    }
}

/// Appends an object (keys are unique: `Map` guarantees it).
pub(crate) fn encode_object<S: AsRef<str>>(
    out: &mut Vec<u8>,
    map: &Map<S>,
    levels: usize,
) -> Result<(), EncodeError> {
    if levels == 0 {
        return Err(EncodeError::TooDeep);
    }
    let at = begin(out, OBJECT);
    for (key, value) in map.iter() {
        put_str(out, key);
        encode_value(out, value, levels - 1)?;
    }
    end(out, at);
    Ok(())
}

/// A cursor over stored bytes.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    pub(crate) fn fail<T>(&self, reason: &'static str) -> Result<T, DecodeError> {
        Err(DecodeError {
            reason,
            at: self.pos,
        })
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub(crate) fn byte(&mut self) -> Result<u8, DecodeError> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => self.fail("the value ends early"),
        }
    }

    pub(crate) fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let at = self.pos;
        varint::read_u64(self.bytes, &mut self.pos).ok_or(DecodeError {
            reason: "a bad varint",
            at,
        })
    }

    fn ivarint(&mut self) -> Result<i64, DecodeError> {
        let at = self.pos;
        varint::read_i64(self.bytes, &mut self.pos).ok_or(DecodeError {
            reason: "a bad varint",
            at,
        })
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let out = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(out)
            }
            None => self.fail("a length runs past the end of the body"),
        }
    }

    /// A varint length, then that many bytes of UTF-8.
    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        let len = self.uvarint()?;
        let at = self.pos;
        let bytes = self.take(usize::try_from(len).unwrap_or(usize::MAX))?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError {
            reason: "a string is not UTF-8",
            at,
        })
    }

    /// A container's contents (after its tag): a reader over exactly them.
    pub(crate) fn contents(&mut self) -> Result<Reader<'a>, DecodeError> {
        let len = self.take(4)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let start = self.pos;
        let bytes = self.take(len)?;
        Ok(Reader {
            bytes: &self.bytes[..start + bytes.len()],
            pos: start,
        })
    }
}

/// Decodes one value. `depth` is the number of containers entered so far.
pub(crate) fn decode_value<'a>(
    r: &mut Reader<'a>,
    depth: usize,
) -> Result<Value<&'a str>, DecodeError> {
    let tag = r.byte()?;
    Ok(match tag {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        INT => Value::Int(r.ivarint()?),
        UINT => Value::UInt(r.uvarint()?),
        FLOAT => {
            let b = r.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Value::Float(f64::from_le_bytes(a))
        }
        STRING => Value::String(r.str()?),
        ARRAY => {
            let mut inner = enter(r, depth)?;
            let mut items = Vec::new();
            while !inner.at_end() {
                items.push(decode_value(&mut inner, depth + 1)?);
            }
            Value::Array(items)
        }
        OBJECT => Value::Object(decode_object_contents(&mut enter(r, depth)?, depth + 1)?),
        _ => return r.fail("an unknown value tag"),
    })
}

/// The contents of a container about to be entered at `depth`.
fn enter<'a>(r: &mut Reader<'a>, depth: usize) -> Result<Reader<'a>, DecodeError> {
    if depth >= DEPTH_MAX {
        return r.fail("values nest too deep");
    }
    r.contents()
}

/// Decodes the entries of an object whose contents `r` reads.
pub(crate) fn decode_object_contents<'a>(
    r: &mut Reader<'a>,
    depth: usize,
) -> Result<Map<&'a str>, DecodeError> {
    let mut entries = Vec::new();
    while !r.at_end() {
        let key = r.str()?;
        let value = decode_value(r, depth)?;
        entries.push((key, value));
    }
    Map::from_unique_entries(entries).ok_or(DecodeError {
        reason: "an object repeats a key",
        at: r.pos,
    })
}

/// Keys met in one object, to refuse a repeated one.
#[derive(Default)]
struct Keys<'a> {
    few: Vec<&'a str>,
    many: Option<HashSet<&'a str>>,
}

impl<'a> Keys<'a> {
    /// False when `key` was met before.
    fn insert(&mut self, key: &'a str) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        self.few.push(key);
        if self.few.len() > 16 {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// Writes the value at `r` as JSON to `out`, straight from the bytes (checking
/// them as `decode_value` does).
pub(crate) fn write_json_value(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DecodeError> {
    let tag = r.byte()?;
    match tag {
        NULL => out.extend_from_slice(b"null"),
        FALSE => out.extend_from_slice(b"false"),
        TRUE => out.extend_from_slice(b"true"),
        INT => write_i64(out, r.ivarint()?),
        UINT => write_u64(out, r.uvarint()?),
        FLOAT => {
            let b = r.take(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            write_f64(out, f64::from_le_bytes(a));
        }
        STRING => write_str(out, r.str()?),
        ARRAY => {
            let mut inner = enter(r, depth)?;
            out.push(b'[');
            let mut first = true;
            while !inner.at_end() {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_json_value(&mut inner, out, depth + 1)?;
            }
            out.push(b']');
        }
        OBJECT => write_json_object_contents(&mut enter(r, depth)?, out, depth + 1)?,
        _ => return r.fail("an unknown value tag"),
    }
    Ok(())
}

/// Writes the entries of an object whose contents `r` reads, as a JSON object.
pub(crate) fn write_json_object_contents(
    r: &mut Reader<'_>,
    out: &mut Vec<u8>,
    depth: usize,
) -> Result<(), DecodeError> {
    out.push(b'{');
    let mut keys = Keys::default();
    let mut first = true;
    while !r.at_end() {
        let at = r.pos;
        let key = r.str()?;
        if !keys.insert(key) {
            return Err(DecodeError {
                reason: "an object repeats a key",
                at,
            });
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(out, key);
        out.push(b':');
        write_json_value(r, out, depth)?;
    }
    out.push(b'}');
    Ok(())
}

/// The value of `key` in an object whose contents `r` reads, decoding nothing
/// else (other values are skipped by their lengths).
pub(crate) fn find_in_object<'a>(
    r: &mut Reader<'a>,
    key: &str,
    depth: usize,
) -> Result<Option<Value<&'a str>>, DecodeError> {
    while !r.at_end() {
        let k = r.str()?;
        if k == key {
            return decode_value(r, depth).map(Some);
        }
        skip_value(r)?;
    }
    Ok(None)
}

/// Moves past one value without decoding it (containers by their length).
pub(crate) fn skip_value(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match r.byte()? {
        NULL | FALSE | TRUE => {}
        INT => {
            r.ivarint()?;
        }
        UINT => {
            r.uvarint()?;
        }
        FLOAT => {
            r.take(8)?;
        }
        STRING => {
            let len = r.uvarint()?;
            r.take(usize::try_from(len).unwrap_or(usize::MAX))?;
        }
        ARRAY | OBJECT => {
            r.contents()?;
        }
        _ => return r.fail("an unknown value tag"),
    }
    Ok(())
}
