//! Version-1 stored values (FORMAT.md §8.2: serde's enum encoding through
//! bincode), decoded with a nesting limit for the upgrade of version-1 stores.
//!
//! The derived decoder would recurse once per nesting level with no limit, so a
//! CRC-valid but hostile body of a few megabytes could exhaust the stack. These
//! hand-written seeds decode exactly the derived format (variant index, then
//! payload) and refuse values nested deeper than `Limits::DEPTH_CEILING`, and
//! objects that repeat a key. They are private: `Value`'s public serde impls are
//! the natural JSON ones.

use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, EnumAccess, SeqAccess, Unexpected, VariantAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::event::{Limits, Map, Value};

/// A version-1 object (`properties`, `context`) with borrowed strings.
#[derive(Debug)]
pub(crate) struct V1Map<'a>(pub(crate) Map<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for V1Map<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        MapSeed::<&'a str>::new(1).deserialize(d).map(V1Map)
    }
}

const VARIANTS: &[&str] = &[
    "Null", "Bool", "Int", "UInt", "Float", "String", "Array", "Object",
];

/// The deepest nesting a stored value may have (containers entered, counting the
/// body's own property and context maps).
const DEPTH_MAX: usize = Limits::DEPTH_CEILING + 1;

fn too_deep<E: de::Error>() -> E {
    E::custom(format_args!("values nest deeper than {DEPTH_MAX} levels"))
}

struct ValueSeed<S> {
    depth: usize,
    strings: PhantomData<S>,
}

impl<S> ValueSeed<S> {
    fn new(depth: usize) -> Self {
        ValueSeed {
            depth,
            strings: PhantomData,
        }
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> DeserializeSeed<'de> for ValueSeed<S> {
    type Value = Value<S>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value<S>, D::Error> {
        d.deserialize_enum("Value", VARIANTS, self)
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> Visitor<'de> for ValueSeed<S> {
    type Value = Value<S>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a stored value")
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value<S>, A::Error> {
        let (index, variant): (u32, _) = data.variant()?;
        match index {
            0 => variant.unit_variant().map(|()| Value::Null),
            1 => variant.newtype_variant().map(Value::Bool),
            2 => variant.newtype_variant().map(Value::Int),
            3 => variant.newtype_variant().map(Value::UInt),
            4 => variant.newtype_variant().map(Value::Float),
            5 => variant.newtype_variant().map(Value::String),
            6 => variant
                .newtype_variant_seed(ArraySeed::<S>::new(self.depth + 1))
                .map(Value::Array),
            7 => variant
                .newtype_variant_seed(MapSeed::new(self.depth + 1))
                .map(Value::Object),
            other => Err(de::Error::invalid_value(
                Unexpected::Unsigned(u64::from(other)),
                &"a value variant 0 to 7",
            )),
        }
    }
}

struct ArraySeed<S> {
    depth: usize,
    strings: PhantomData<S>,
}

impl<S> ArraySeed<S> {
    fn new(depth: usize) -> Self {
        ArraySeed {
            depth,
            strings: PhantomData,
        }
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> DeserializeSeed<'de> for ArraySeed<S> {
    type Value = Vec<Value<S>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.depth > DEPTH_MAX {
            return Err(too_deep());
        }
        d.deserialize_seq(self)
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> Visitor<'de> for ArraySeed<S> {
    type Value = Vec<Value<S>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(ValueSeed::new(self.depth))? {
            items.push(item);
        }
        Ok(items)
    }
}

struct MapSeed<S> {
    depth: usize,
    strings: PhantomData<S>,
}

impl<S> MapSeed<S> {
    fn new(depth: usize) -> Self {
        MapSeed {
            depth,
            strings: PhantomData,
        }
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> DeserializeSeed<'de> for MapSeed<S> {
    type Value = Map<S>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Map<S>, D::Error> {
        if self.depth > DEPTH_MAX {
            return Err(too_deep());
        }
        d.deserialize_seq(self)
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> Visitor<'de> for MapSeed<S> {
    type Value = Map<S>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Map<S>, A::Error> {
        let mut entries = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = seq.next_element_seed(EntrySeed::<S>::new(self.depth))? {
            entries.push(entry);
        }
        Map::from_unique_entries(entries)
            .ok_or_else(|| de::Error::custom("an object repeats a key"))
    }
}

/// One `(key, value)` entry of an object.
struct EntrySeed<S> {
    depth: usize,
    strings: PhantomData<S>,
}

impl<S> EntrySeed<S> {
    fn new(depth: usize) -> Self {
        EntrySeed {
            depth,
            strings: PhantomData,
        }
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> DeserializeSeed<'de> for EntrySeed<S> {
    type Value = (S, Value<S>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_tuple(2, self)
    }
}

impl<'de, S: Deserialize<'de> + AsRef<str>> Visitor<'de> for EntrySeed<S> {
    type Value = (S, Value<S>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key and a value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let key: S = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let value = seq
            .next_element_seed(ValueSeed::new(self.depth))?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        Ok((key, value))
    }
}
