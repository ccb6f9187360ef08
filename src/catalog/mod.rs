//! The catalog: the workspace's sources and their write keys, persisted atomically
//! (temp file, fsync, rename, directory fsync). See FORMAT.md, "Catalog".
//!
//! Lookups by write key are one hash-map probe on an immutable snapshot, so the
//! collection path never waits for catalog changes.

mod data;
mod file;
mod lifecycle;
mod v1;

pub(crate) use data::{CatalogData, StoredErasure, StoredRetention, StoredState};
pub(crate) use file::read as read_catalog;
pub(crate) use lifecycle::NewErasure;

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::event::{NamingPolicy, SourceId};
use crate::io::Vfs;
use crate::time::now_ms;

/// The name of the catalog file inside a store directory.
pub(crate) const CATALOG_FILE: &str = "catalog";
/// The longest source name accepted, in bytes.
pub(crate) const SOURCE_NAME_BYTES_MAX: usize = 200;

/// A source: one place events come from (a website, a help desk, an app).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    id: SourceId,
    name: String,
    write_key: String,
    enabled: bool,
    created_ms: i64,
    naming: Option<NamingPolicy>,
    /// How long this source's events are kept (ms), when it overrides the store.
    max_age_ms: Option<u64>,
    /// The web origins allowed to send to it; empty for any.
    allowed_origins: Vec<String>,
}

impl Source {
    /// The stable id.
    pub fn id(&self) -> SourceId {
        self.id
    }
    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The current write key (public: it ships inside web pages and apps).
    pub fn write_key(&self) -> &str {
        &self.write_key
    }
    /// False when collection for this source is switched off.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// When the source was created (ms since the Unix epoch).
    pub fn created_ms(&self) -> i64 {
        self.created_ms
    }
    /// The naming policy of this source, when it overrides the store's.
    pub fn naming_policy(&self) -> Option<NamingPolicy> {
        self.naming
    }
    /// How long this source's events are kept, when it has its own maximum age.
    pub fn max_age(&self) -> Option<std::time::Duration> {
        self.max_age_ms.map(std::time::Duration::from_millis)
    }
    /// The web origins allowed to send events to this source (empty: any).
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }
}

/// An immutable view of the catalog.
pub(crate) struct CatalogState {
    pub data: CatalogData,
    by_key: FxHashMap<String, usize>,
    by_id: FxHashMap<SourceId, usize>,
    /// Suppressed profile ids, to their position in `data.suppressions`.
    suppressed: FxHashMap<String, usize>,
}

impl CatalogState {
    fn new(data: CatalogData) -> Self {
        let by_key = data
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.write_key.clone(), i))
            .collect();
        let by_id = data
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let suppressed = data
            .suppressions
            .iter()
            .enumerate()
            .map(|(i, s)| (s.profile_id.clone(), i))
            .collect();
        CatalogState {
            data,
            by_key,
            by_id,
            suppressed,
        }
    }

    /// True when an event of `source` with these ids must not be stored: its
    /// profile id or anonymous id is suppressed in that source.
    pub(crate) fn is_suppressed(
        &self,
        source: SourceId,
        profile_id: Option<&str>,
        anonymous_id: Option<&str>,
    ) -> bool {
        if self.suppressed.is_empty() {
            return false;
        }
        [profile_id, anonymous_id].into_iter().flatten().any(|id| {
            self.suppressed.get(id).is_some_and(|&i| {
                let sources = &self.data.suppressions[i].sources;
                sources.is_empty() || sources.contains(&source)
            })
        })
    }

    /// The source with this write key.
    pub(crate) fn by_key(&self, key: &str) -> Option<&Source> {
        self.by_key.get(key).map(|&i| &self.data.sources[i])
    }

    /// The source with this id.
    pub(crate) fn by_id(&self, id: SourceId) -> Option<&Source> {
        self.by_id.get(&id).map(|&i| &self.data.sources[i])
    }

    /// The naming policy in force for `source`.
    pub(crate) fn naming_for(&self, source: &Source) -> NamingPolicy {
        source.naming.unwrap_or(self.data.naming)
    }
}

/// The catalog of a store.
pub(crate) struct Catalog {
    fs: Arc<dyn Vfs>,
    dir: PathBuf,
    state: RwLock<Arc<CatalogState>>,
    writer: Mutex<()>,
    writable: bool,
    /// The file on disk is version 1: rewritten by [`Catalog::finish_upgrade`].
    from_v1: std::sync::atomic::AtomicBool,
}

impl Catalog {
    /// Opens the catalog of `dir`, creating an empty one (with a fresh store id)
    /// when the directory has none.
    /// A read-only catalog (`writable: false`) must exist and refuses changes.
    pub(crate) fn open(
        fs: Arc<dyn Vfs>,
        dir: &Path,
        default_naming: NamingPolicy,
        writable: bool,
    ) -> Result<Catalog> {
        let path = dir.join(CATALOG_FILE);
        let (data, from_v1) = if fs.exists(&path) {
            file::read(&*fs, &path)?
        } else if !writable {
            return Err(Error::NotAStore {
                path: dir.to_path_buf(),
            });
        } else {
            let data = CatalogData::new(random_bytes::<16>()?, default_naming);
            file::write(&*fs, dir, &data)?;
            (data, false)
        };
        Ok(Catalog {
            fs,
            dir: dir.to_path_buf(),
            state: RwLock::new(Arc::new(CatalogState::new(data))),
            writer: Mutex::new(()),
            writable,
            from_v1: std::sync::atomic::AtomicBool::new(from_v1),
        })
    }

    /// True when the catalog file is still version 1 (the store needs upgrading).
    pub(crate) fn is_v1(&self) -> bool {
        self.from_v1.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Rewrites a version-1 catalog file as version 2 (after the segments).
    pub(crate) fn finish_upgrade(&self) -> Result<()> {
        if !self.is_v1() {
            return Ok(());
        }
        self.update(|_| Ok(()))?;
        self.from_v1
            .store(false, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// The current view.
    pub(crate) fn state(&self) -> Arc<CatalogState> {
        self.state.read().clone()
    }

    /// Applies `change` to a copy of the data, persists it, then publishes it.
    pub(super) fn update<T>(
        &self,
        change: impl FnOnce(&mut CatalogData) -> Result<T>,
    ) -> Result<T> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        let _guard = self.writer.lock();
        let mut data = self.state.read().data.clone();
        let out = change(&mut data)?;
        file::write(&*self.fs, &self.dir, &data)?;
        *self.state.write() = Arc::new(CatalogState::new(data));
        Ok(out)
    }

    pub(super) fn source_mut(data: &mut CatalogData, id: SourceId) -> Result<&mut Source> {
        data.sources
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(Error::UnknownSource { id: id.0 })
    }

    /// Creates a source with a fresh write key.
    pub(crate) fn create_source(&self, name: &str) -> Result<Source> {
        check_source_name(name)?;
        let write_key = new_write_key()?;
        self.update(|data| {
            let id = SourceId(data.next_source_id);
            data.next_source_id = data
                .next_source_id
                .checked_add(1)
                .ok_or_else(|| Error::argument("source", "no source ids left"))?;
            let source = Source {
                id,
                name: name.to_owned(),
                write_key,
                enabled: true,
                created_ms: now_ms(),
                naming: None,
                max_age_ms: None,
                allowed_origins: Vec::new(),
            };
            data.sources.push(source.clone());
            Ok(source)
        })
    }

    /// Renames a source.
    pub(crate) fn rename_source(&self, id: SourceId, name: &str) -> Result<Source> {
        check_source_name(name)?;
        self.update(|data| {
            let source = Self::source_mut(data, id)?;
            source.name = name.to_owned();
            Ok(source.clone())
        })
    }

    /// Gives a source a new write key; the old one stops working at once.
    pub(crate) fn rotate_write_key(&self, id: SourceId) -> Result<Source> {
        let write_key = new_write_key()?;
        self.update(|data| {
            let source = Self::source_mut(data, id)?;
            source.write_key = write_key;
            Ok(source.clone())
        })
    }

    /// Enables or disables collection for a source.
    pub(crate) fn set_enabled(&self, id: SourceId, enabled: bool) -> Result<Source> {
        self.update(|data| {
            let source = Self::source_mut(data, id)?;
            source.enabled = enabled;
            Ok(source.clone())
        })
    }

    /// Sets the web origins allowed to send to a source (empty: any origin). Each
    /// must be `scheme://host[:port]`, as browsers send it in `Origin`.
    pub(crate) fn set_allowed_origins(&self, id: SourceId, origins: Vec<String>) -> Result<Source> {
        for origin in &origins {
            check_origin(origin)?;
        }
        self.update(|data| {
            let source = Self::source_mut(data, id)?;
            source.allowed_origins = origins;
            Ok(source.clone())
        })
    }

    /// Sets the naming policy of one source (`Some(id)`) or the store default.
    /// `policy: None` on a source removes its override.
    pub(crate) fn set_naming(
        &self,
        id: Option<SourceId>,
        policy: Option<NamingPolicy>,
    ) -> Result<()> {
        self.update(|data| {
            match id {
                Some(id) => Self::source_mut(data, id)?.naming = policy,
                None => data.naming = policy.unwrap_or_default(),
            }
            Ok(())
        })
    }
}

/// An origin as browsers send it: `http` or `https`, a host, maybe a port; no
/// path, no trailing slash.
fn check_origin(origin: &str) -> Result<()> {
    let bad = |why: &str| Error::argument("origin", format!("{origin:?}: {why}"));
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| bad("must start with https:// or http://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) || origin.len() > 255 {
        return Err(bad("must be scheme://host[:port], with no path"));
    }
    Ok(())
}

fn check_source_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::argument("name", "a source name must not be empty"));
    }
    if name.len() > SOURCE_NAME_BYTES_MAX {
        return Err(Error::argument(
            "name",
            format!("longer than {SOURCE_NAME_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::io("the OS random source", std::io::Error::other(e.to_string())))?;
    Ok(bytes)
}

/// A write key: `wk_` and 160 random bits from the OS, as 32 base-32 characters.
fn new_write_key() -> Result<String> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let bytes = random_bytes::<20>()?;
    let mut key = String::with_capacity(35);
    key.push_str("wk_");
    let mut bits = 0u32;
    let mut acc = 0u32;
    for b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            key.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_keys_are_long_printable_and_distinct() {
        let a = new_write_key().unwrap();
        let b = new_write_key().unwrap();
        assert_eq!(a.len(), 35);
        assert!(a.starts_with("wk_") && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
        assert_ne!(a, b);
    }
}
