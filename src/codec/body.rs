//! Record bodies (FORMAT.md §2.3): the event name, the three ids, then the
//! properties and the context as objects. Reading a body ([`BodyView`]) decodes
//! the name and ids and only frames the two objects; they are decoded, searched
//! or written as JSON when asked.

#[cfg(test)]
use super::value;
use super::value::{
    DecodeError, EncodeError, OBJECT, Reader, decode_object_contents, encode_object,
    find_in_object, put_str, write_json_object_contents,
};
use super::varint;
use crate::event::{BodyOut, Map, Value};

/// Appends an optional id: `0` for none, else its byte length plus one, then
/// its bytes.
#[inline]
pub(crate) fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            varint::put_u64(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

/// Appends the name and ids of a body (the part before its objects).
#[inline]
pub(crate) fn put_head(out: &mut Vec<u8>, name: &str, ids: [Option<&str>; 3]) {
    put_str(out, name);
    for id in ids {
        put_opt_str(out, id);
    }
}

/// Appends a whole body. `levels` is the deepest nesting the objects may have
/// (an object of scalars is 1).
pub(crate) fn encode_body<S: AsRef<str>>(
    out: &mut Vec<u8>,
    body: &BodyOut<'_, S>,
    levels: usize,
) -> Result<(), (&'static str, EncodeError)> {
    put_head(
        out,
        body.name,
        [body.profile_id, body.session_id, body.message_id],
    );
    encode_object(out, body.properties, levels).map_err(|e| ("properties", e))?;
    encode_object(out, body.context, levels).map_err(|e| ("context", e))
}

/// The event name a body starts with, without reading further.
pub(crate) fn body_name(body: &[u8]) -> Option<&str> {
    Reader::new(body).str().ok()
}

/// An object inside a body, framed but not decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawObject<'a> {
    /// The object's contents (its entries).
    contents: &'a [u8],
}

impl<'a> RawObject<'a> {
    /// Decodes the object.
    pub(crate) fn decode(&self) -> Result<Map<&'a str>, DecodeError> {
        decode_object_contents(&mut Reader::new(self.contents), 1)
    }

    /// The value of `key`, decoding nothing else.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Value<&'a str>>, DecodeError> {
        find_in_object(&mut Reader::new(self.contents), key, 1)
    }

    /// Appends the object as JSON.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        write_json_object_contents(&mut Reader::new(self.contents), out, 1)
    }

    /// True when the object has no entry.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.contents.is_empty()
    }
}

/// A body read in place: name and ids decoded, objects framed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyView<'a> {
    pub(crate) name: &'a str,
    pub(crate) profile_id: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) message_id: Option<&'a str>,
    pub(crate) properties: RawObject<'a>,
    pub(crate) context: RawObject<'a>,
}

/// Reads the head of a body and frames its two objects. Every byte must belong
/// to them; the objects' contents are checked when they are decoded.
pub(crate) fn view_body(bytes: &[u8]) -> Result<BodyView<'_>, DecodeError> {
    let mut r = Reader::new(bytes);
    let name = r.str()?;
    let profile_id = opt_str(&mut r)?;
    let session_id = opt_str(&mut r)?;
    let message_id = opt_str(&mut r)?;
    let properties = object(&mut r)?;
    let context = object(&mut r)?;
    if !r.at_end() {
        return r.fail("bytes after the body");
    }
    Ok(BodyView {
        name,
        profile_id,
        session_id,
        message_id,
        properties,
        context,
    })
}

fn opt_str<'a>(r: &mut Reader<'a>) -> Result<Option<&'a str>, DecodeError> {
    let at = r.pos;
    let n = r.uvarint()?;
    if n == 0 {
        return Ok(None);
    }
    let bytes = r.take(usize::try_from(n - 1).unwrap_or(usize::MAX))?;
    std::str::from_utf8(bytes)
        .map(Some)
        .map_err(|_| DecodeError {
            reason: "an id is not UTF-8",
            at,
        })
}

fn object<'a>(r: &mut Reader<'a>) -> Result<RawObject<'a>, DecodeError> {
    if r.byte()? != OBJECT {
        return r.fail("properties and context must be objects");
    }
    let contents = r.contents()?;
    Ok(RawObject {
        contents: &contents.bytes[contents.pos..],
    })
}

/// Decodes a whole encoded object (its tag, length and entries), as the JSON
/// intake writes `properties` and `context`.
pub(crate) fn decode_object(bytes: &[u8]) -> Result<Map<&str>, DecodeError> {
    let mut r = Reader::new(bytes);
    let object = object(&mut r)?;
    if !r.at_end() {
        return r.fail("bytes after the object");
    }
    object.decode()
}

/// Checks a whole body: what `view_body` checks, and every value of both
/// objects (as a full decode would, without allocating).
pub(crate) fn check_body(bytes: &[u8]) -> Result<(), DecodeError> {
    let body = view_body(bytes)?;
    let mut sink = Vec::new();
    for object in [body.properties, body.context] {
        sink.clear();
        object.write_json(&mut sink)?;
    }
    Ok(())
}

#[cfg(test)]
mod golden {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn body_bytes_are_pinned() {
        let mut properties = Map::new();
        properties.insert("n", Value::Int(-1));
        properties.insert("f", Value::Float(1.5));
        properties.insert("big", Value::UInt(u64::MAX));
        properties.insert(
            "list",
            Value::Array(vec![Value::Null, Value::Bool(true), "é".into()]),
        );
        let context = Map::new();
        let body = BodyOut {
            name: "Page Viewed",
            profile_id: Some("u1"),
            session_id: None,
            message_id: None,
            properties: &properties,
            context: &context,
        };
        let mut out = Vec::new();
        encode_body(&mut out, &body, 32).unwrap();
        assert_eq!(
            hex(&out),
            concat!(
                "0b",
                "50616765205669657765",
                "64", // "Page Viewed"
                "03",
                "7531", // profile: Some("u1") (length + 1)
                "00",
                "00", // no session, no message id
                "08",
                "2e000000", // properties: object, 46 bytes
                "01",
                "6e",
                "03",
                "01", // "n": Int(-1), zig-zag 1
                "01",
                "66",
                "05",
                "000000000000f83f", // "f": Float(1.5)
                "03",
                "626967",
                "04",
                "ffffffffffffffffff01", // "big": UInt(u64::MAX)
                "04",
                "6c697374",
                "07",
                "06000000", // "list": array, 6 bytes
                "00",
                "02",
                "06",
                "02",
                "c3a9", // null, true, "é"
                "08",
                "00000000" // context: empty object
            )
        );
        let view = view_body(&out).unwrap();
        assert_eq!(view.name, "Page Viewed");
        assert_eq!(body_name(&out), Some("Page Viewed"));
        assert_eq!(view.profile_id, Some("u1"));
        assert_eq!(view.properties.decode().unwrap().to_owned_map(), properties);
        assert_eq!(
            view.properties.get("big").unwrap(),
            Some(Value::UInt(u64::MAX))
        );
        assert!(view.context.is_empty());
        let mut json = Vec::new();
        view.properties.write_json(&mut json).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), properties.to_json());
        assert!(
            view_body(&[out.as_slice(), &[0]].concat()).is_err(),
            "trailing byte"
        );
        assert!(check_body(&out).is_ok());
    }

    #[test]
    fn refuses_hostile_nesting_without_overflowing_the_stack() {
        // Properties holding an array nested a million levels deep, built by hand.
        let mut out = Vec::new();
        put_head(&mut out, "Nested Thing Happened", [None, None, None]);
        let depth = 1_000_000usize;
        out.push(OBJECT);
        let total = 2 + depth * 5 + 1;
        out.extend_from_slice(&(total as u32).to_le_bytes());
        put_str(&mut out, "x");
        for level in 0..depth {
            out.push(value::ARRAY);
            let inner = (depth - level - 1) * 5 + 1;
            out.extend_from_slice(&(inner as u32).to_le_bytes());
        }
        out.push(value::NULL);
        out.push(OBJECT);
        out.extend_from_slice(&0u32.to_le_bytes());
        let view = view_body(&out).unwrap();
        let err = view.properties.decode().unwrap_err();
        assert!(err.reason.contains("deep"), "{err:?}");
        assert!(view.properties.write_json(&mut Vec::new()).is_err());
        assert!(check_body(&out).is_err());
    }

    #[test]
    fn refuses_repeated_keys() {
        let mut out = Vec::new();
        put_head(&mut out, "A B", [None, None, None]);
        let at = value::begin(&mut out, OBJECT);
        for _ in 0..2 {
            put_str(&mut out, "k");
            value::put_int(&mut out, 1);
        }
        value::end(&mut out, at);
        let at = value::begin(&mut out, OBJECT);
        value::end(&mut out, at);
        let view = view_body(&out).unwrap();
        assert!(view.properties.decode().is_err());
        assert!(view.properties.write_json(&mut Vec::new()).is_err());
    }
}
