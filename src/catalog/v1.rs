//! The version-1 catalog (FORMAT.md §8.3), read only to upgrade a store written
//! by version 1.

use serde::Deserialize;

use super::Source;
use super::data::CatalogData;
use crate::event::{NamingPolicy, SourceId};

/// The version-1 catalog body.
#[derive(Deserialize)]
pub(super) struct CatalogV1 {
    store_id: [u8; 16],
    next_source_id: u32,
    naming: NamingPolicy,
    sources: Vec<SourceV1>,
}

/// A version-1 source.
#[derive(Deserialize)]
struct SourceV1 {
    id: SourceId,
    name: String,
    write_key: String,
    enabled: bool,
    created_ms: i64,
    naming: Option<NamingPolicy>,
}

impl CatalogV1 {
    /// The same catalog in version 2: no policies, the log starting at 1.
    pub(super) fn upgrade(self) -> CatalogData {
        let mut data = CatalogData::new(self.store_id, self.naming);
        data.next_source_id = self.next_source_id;
        data.sources = self
            .sources
            .into_iter()
            .map(|s| Source {
                id: s.id,
                name: s.name,
                write_key: s.write_key,
                enabled: s.enabled,
                created_ms: s.created_ms,
                naming: s.naming,
                max_age_ms: None,
                allowed_origins: Vec::new(),
            })
            .collect();
        data
    }
}
