//! What the catalog persists (FORMAT.md §5): the sources, the store's policies,
//! the log start, and the lifecycle requests. Version 1's layout is in
//! [`super::v1`], read only to upgrade.

use serde::{Deserialize, Serialize};

use super::Source;
use crate::event::{NamingPolicy, SourceId};

/// Everything the catalog persists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct CatalogData {
    pub(crate) store_id: [u8; 16],
    pub(crate) next_source_id: u32,
    pub(crate) naming: NamingPolicy,
    pub(crate) sources: Vec<Source>,
    /// The lowest sequence number the store still holds: records below it were
    /// deleted by retention (FORMAT.md §2.7). 1 for a store that deleted none.
    pub(crate) log_start: u64,
    pub(crate) retention: StoredRetention,
    /// The id the next erasure request gets.
    pub(crate) next_request: u64,
    pub(crate) erasures: Vec<StoredErasure>,
    pub(crate) suppressions: Vec<StoredSuppression>,
    /// The store's segment size, when it has its own (`firstlog init
    /// --segment-mib`); else each open's options decide.
    pub(crate) segment_bytes: Option<u64>,
}

/// The store's retention policy, in milliseconds and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredRetention {
    pub(crate) max_age_ms: Option<u64>,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) roll_interval_ms: Option<u64>,
}

/// Where an erasure request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredState {
    Pending,
    Running,
    Done,
    Failed,
}

/// An erasure request, as the catalog keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredErasure {
    pub(crate) id: u64,
    /// The profile id, then the anonymous ids seen with it: what is erased.
    /// Emptied once the request is done (the ids are personal data).
    pub(crate) ids: Vec<String>,
    /// The sources it covers; empty for all.
    pub(crate) sources: Vec<SourceId>,
    /// Events up to this sequence number are erased (later ones are new data).
    pub(crate) up_to_seq: u64,
    pub(crate) suppress: bool,
    pub(crate) state: StoredState,
    pub(crate) asked_ms: i64,
    pub(crate) finished_ms: Option<i64>,
    pub(crate) removed_events: u64,
    pub(crate) removed_bytes: u64,
    pub(crate) failure: Option<String>,
}

/// A suppression: events of this profile (in these sources; all when empty)
/// are not stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSuppression {
    pub(crate) profile_id: String,
    pub(crate) sources: Vec<SourceId>,
    pub(crate) since_ms: i64,
}

impl CatalogData {
    /// A new store's catalog.
    pub(crate) fn new(store_id: [u8; 16], naming: NamingPolicy) -> CatalogData {
        CatalogData {
            store_id,
            next_source_id: 1,
            naming,
            sources: Vec::new(),
            log_start: 1,
            retention: StoredRetention::default(),
            next_request: 1,
            erasures: Vec::new(),
            suppressions: Vec::new(),
            segment_bytes: None,
        }
    }
}
