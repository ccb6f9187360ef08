//! JSON-like values that keep what JSON said: integers stay integers, floats stay
//! floats, and object keys keep their order.
//!
//! [`Value`] and [`Map`] are generic over the string type: `Value` (the default,
//! `Value<String>`) owns its strings and is what you build events and write rules
//! with; `Value<&str>` borrows them straight from a stored record (no allocation per
//! string) and is what zero-copy reads hand out.

/// A JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<S = String> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX` (and at most `u64::MAX`).
    UInt(u64),
    /// Any other number: a finite IEEE-754 double.
    Float(f64),
    /// A string.
    String(S),
    /// An array.
    Array(Vec<Value<S>>),
    /// An object, its keys in the order they were given.
    Object(Map<S>),
}

/// A JSON object: keys in insertion order, each key at most once.
#[derive(Clone, Debug, PartialEq)]
pub struct Map<S = String> {
    entries: Vec<(S, Value<S>)>,
}

impl<S> Default for Map<S> {
    fn default() -> Self {
        Map {
            entries: Vec::new(),
        }
    }
}

impl<S: AsRef<str>> Value<S> {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_ref()),
            _ => None,
        }
    }

    /// The integer, if this is an integer that fits `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(n) => Some(n),
            Value::UInt(n) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    /// The number as a double, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(n) => Some(n as f64),
            Value::UInt(n) => Some(n as f64),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The object, if this is an object.
    pub fn as_object(&self) -> Option<&Map<S>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The JSON type name (`"string"`, `"object"`, ...), for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// An owned copy.
    pub fn to_owned_value(&self) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(*b),
            Value::Int(n) => Value::Int(*n),
            Value::UInt(n) => Value::UInt(*n),
            Value::Float(f) => Value::Float(*f),
            Value::String(s) => Value::String(s.as_ref().to_owned()),
            Value::Array(items) => Value::Array(items.iter().map(Value::to_owned_value).collect()),
            Value::Object(map) => Value::Object(map.to_owned_map()),
        }
    }

    /// How deeply arrays and objects nest inside this value (a scalar is 0).
    pub fn depth(&self) -> usize {
        match self {
            Value::Array(items) => 1 + items.iter().map(Value::depth).max().unwrap_or(0),
            Value::Object(map) => 1 + map.values().map(Value::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

impl<S: AsRef<str>> Map<S> {
    /// An empty object.
    pub fn new() -> Self {
        Map {
            entries: Vec::new(),
        }
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value<S>> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    /// True when `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// The keys and values, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value<S>)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    /// The values, in order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value<S>> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// An owned copy.
    pub fn to_owned_map(&self) -> Map {
        Map {
            entries: self
                .entries
                .iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.to_owned_value()))
                .collect(),
        }
    }

    /// Removes `key`, keeping the order of the others. Returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value<S>> {
        self.position(key).map(|i| self.entries.remove(i).1)
    }

    /// Appends without checking for an existing key: callers guarantee uniqueness.
    pub(crate) fn push_unique(&mut self, key: S, value: Value<S>) {
        self.entries.push((key, value));
    }

    /// A map of these entries, unless two of them share a key.
    pub(crate) fn from_unique_entries(entries: Vec<(S, Value<S>)>) -> Option<Map<S>> {
        let duplicate = if entries.len() <= 16 {
            entries
                .iter()
                .enumerate()
                .any(|(i, (k, _))| entries[..i].iter().any(|(p, _)| p.as_ref() == k.as_ref()))
        } else {
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            !entries.iter().all(|(k, _)| seen.insert(k.as_ref()))
        };
        (!duplicate).then_some(Map { entries })
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k.as_ref() == key)
    }
}

impl Map {
    /// Sets `key` to `value`: in place if the key exists, else at the end. Returns
    /// the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        match self.position(&key) {
            Some(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Renames `from` to `to` in place (replacing any existing `to`). Returns false
    /// when `from` is absent.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        if self.position(from).is_none() {
            return false;
        }
        if from == to {
            return true;
        }
        if let Some(j) = self.position(to) {
            self.entries.remove(j);
        }
        match self.position(from) {
            Some(i) => {
                self.entries[i].0 = to.to_owned();
                true
            }
            None => false,
        }
    }

    /// A mutable reference to the value of `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        match i64::try_from(n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(n),
        }
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Object(m)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::Array(items.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
