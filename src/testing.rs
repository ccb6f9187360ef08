//! What the test suite and the fuzz targets need from the inside (feature
//! `testing`): file systems that fail on purpose or simulate a power loss, the
//! record framing, and the deterministic random numbers the tests share.
//!
//! Not for production code and outside any stability promise: these are the
//! storage engine's internals, exposed so that its tests can attack them.
//!
//! ```
//! use std::sync::Arc;
//! use firstlog::testing::{CrashMode, MemFs};
//! use firstlog::{NewEvent, Options, Store};
//!
//! let fs = MemFs::new();
//! let store = Store::open_with("/store", Options::default().fs(Arc::new(fs.clone())))?;
//! let site = store.create_source("www Marketing Page")?;
//! store.collect(NewEvent::new("Page Viewed", site.write_key()))?;
//! store.sync()?;
//! // The disk as a power loss now would leave it: what was synced survives.
//! let after = fs.crash(CrashMode::DropAll, 7);
//! drop(store);
//! let reopened = Store::open_with("/store", Options::default().fs(Arc::new(after)))?;
//! assert_eq!(reopened.last_seq(), 1);
//! # Ok::<(), firstlog::Error>(())
//! ```

pub use crate::io::{
    CrashMode, FaultPlan, FaultyFs, LockGuard, Map as FileMap, MemFs, OpenMode, RealFs, VFile, Vfs,
};
pub use crate::record::{
    ALIGN, BODY_BYTES_MAX, FLAG_END_OF_BATCH, FLAG_HAS_MESSAGE_ID, FLAG_HAS_PROFILE, HEADER_BYTES,
    RecordHeader, RecordView, message_hash, name_hash, padded_len, profile_hash, read_record,
};
pub use crate::rng::SplitMix64;
pub use crate::time::{Clock, MAX_MS, MIN_MS, ManualClock, now_ms};
