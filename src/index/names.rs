//! The name dictionary: the event name behind each name hash. Records and index
//! entries carry only the hash; counts by name need the text. The dictionary is
//! filled from index files' name tables, from names met when collecting, and from
//! the first field of record bodies when an index is rebuilt.

use std::sync::Arc;

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

/// Event names by hash, shared by the log (which writes name tables into index
/// files) and the readers that count by name.
#[derive(Default)]
pub(crate) struct NameDictionary {
    names: RwLock<FxHashMap<u64, Arc<str>>>,
}

impl NameDictionary {
    /// The name behind `hash`, if known.
    pub(crate) fn get(&self, hash: u64) -> Option<Arc<str>> {
        self.names.read().get(&hash).cloned()
    }

    /// True when the name behind `hash` is known.
    pub(crate) fn contains(&self, hash: u64) -> bool {
        self.names.read().contains_key(&hash)
    }

    /// Records the name behind `hash`.
    pub(crate) fn note(&self, hash: u64, name: &str) {
        if self.contains(hash) {
            return;
        }
        self.names
            .write()
            .entry(hash)
            .or_insert_with(|| Arc::from(name));
    }
}
