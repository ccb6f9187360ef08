//! Parquet export (feature `parquet`; EXPORT.md specifies the directory): a
//! store's events as Parquet files partitioned `source_id=N/date=YYYY-MM-DD/`,
//! which DuckDB, Spark, Trino and ClickHouse read as they are.
//!
//! An export is incremental (each run writes what is new since the last),
//! crash-safe (files are staged, the state file is the commit point, files
//! are renamed into place after it; a killed run leaves every event exactly
//! once after the next), and follows the store's lifecycle (files holding
//! erased or expired events are written again or deleted).
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # let out = tempfile::tempdir().unwrap();
//! use firstlog::{ExportOptions, NewEvent, Store};
//! let store = Store::open(dir.path())?;
//! let web = store.create_source("Web App")?;
//! store.collect(NewEvent::new("Form Submitted", web.write_key()).timestamp_ms(1_700_000_000_000))?;
//! store.sync()?; // a run exports what is durable
//! let report = store.export_parquet(&ExportOptions::new(out.path()))?;
//! assert_eq!((report.rows, report.files_added), (1, 1));
//! assert_eq!(store.export_parquet(&ExportOptions::new(out.path()))?.rows, 0); // nothing new
//! # Ok::<(), firstlog::Error>(())
//! ```

mod columns;
mod file;
mod follow;
mod layout;
mod lifecycle;
mod merge;
mod partition;
mod run;
mod state;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

pub use follow::{ExportLoop, Exporter};

use crate::error::Result;
use crate::event::SourceId;
use crate::store::Store;
use file::Encoding;
use partition::FileLimits;
use state::Selection;

/// What to export, and how. See [`Store::export_parquet`].
#[derive(Clone, Debug)]
pub struct ExportOptions {
    out: PathBuf,
    sources: Option<Vec<u32>>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    rows_per_file: u64,
    rows_per_group: usize,
    zstd_level: i32,
    merge_after: Option<Duration>,
}

impl ExportOptions {
    /// Rows per row group by default.
    pub const ROWS_PER_GROUP_DEFAULT: usize = 128 * 1024;
    /// Rows per file by default (8 row groups).
    pub const ROWS_PER_FILE_DEFAULT: u64 = 1 << 20;
    /// How long after a day ends its small files are merged, by default.
    pub const MERGE_AFTER_DEFAULT: Duration = Duration::from_secs(24 * 3600);

    /// Exports every source's events into the directory `out`.
    pub fn new(out: impl Into<PathBuf>) -> ExportOptions {
        ExportOptions {
            out: out.into(),
            sources: None,
            since_ms: None,
            until_ms: None,
            rows_per_file: Self::ROWS_PER_FILE_DEFAULT,
            rows_per_group: Self::ROWS_PER_GROUP_DEFAULT,
            zstd_level: 3,
            merge_after: Some(Self::MERGE_AFTER_DEFAULT),
        }
    }

    /// Only this source (repeat for several). An export directory keeps the
    /// selection of its first run: later runs must ask for the same.
    pub fn source(mut self, id: SourceId) -> Self {
        let sources = self.sources.get_or_insert_with(Vec::new);
        if !sources.contains(&id.0) {
            sources.push(id.0);
            sources.sort_unstable();
        }
        self
    }

    /// Only events whose timestamp is at or after `ms`.
    pub fn since(mut self, ms: i64) -> Self {
        self.since_ms = Some(ms);
        self
    }

    /// Only events whose timestamp is before `ms`.
    pub fn until(mut self, ms: i64) -> Self {
        self.until_ms = Some(ms);
        self
    }

    /// At most `rows` rows per file (at least 1).
    pub fn rows_per_file(mut self, rows: u64) -> Self {
        self.rows_per_file = rows.max(1);
        self
    }

    /// At most `rows` rows per row group (at least 1).
    pub fn rows_per_group(mut self, rows: usize) -> Self {
        self.rows_per_group = rows.max(1);
        self
    }

    /// The ZSTD level (default 3; 1 is faster, 19 smaller).
    pub fn zstd_level(mut self, level: i32) -> Self {
        self.zstd_level = level;
        self
    }

    /// Merge a partition's files into as few as `rows_per_file` allows once
    /// its day has been over for `after` (by the store's clock), so that
    /// frequent runs do not leave many small files; `None`: never. Default
    /// one day (late events still arrive as new files, merged by a later run).
    pub fn merge_after(mut self, after: Option<Duration>) -> Self {
        self.merge_after = after;
        self
    }

    /// The export directory.
    pub fn out(&self) -> &Path {
        &self.out
    }

    fn selection(&self) -> Selection {
        Selection {
            sources: self.sources.clone(),
            since_ms: self.since_ms,
            until_ms: self.until_ms,
        }
    }

    fn merge_after_ms(&self) -> Option<i64> {
        self.merge_after
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }

    fn limits(&self) -> FileLimits {
        FileLimits {
            rows_per_file: self.rows_per_file,
            encoding: Encoding {
                rows_per_group: self.rows_per_group,
                zstd_level: self.zstd_level,
            },
        }
    }
}

/// What one export run did. Serializes as the JSON `firstlog export` prints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExportReport {
    /// The run's number, `None` when it changed no file.
    pub run: Option<u64>,
    /// The first sequence number this run read new events from.
    pub from_seq: u64,
    /// Every event up to here is exported now (the store's synced sequence
    /// number when the run started).
    pub through_seq: u64,
    /// New rows written.
    pub rows: u64,
    /// New files.
    pub files_added: usize,
    /// Files written again without erased or expired events.
    pub files_rewritten: usize,
    /// Files deleted (every row erased or expired, or merged into another).
    pub files_deleted: usize,
    /// Small files of closed days merged into fewer (counted in
    /// `files_deleted`; the files they became in `files_added`).
    pub files_merged: usize,
    /// Rows the rewritten and deleted files no longer hold.
    pub rows_removed: u64,
    /// Bytes of the files written (new and rewritten).
    pub bytes_written: u64,
    /// Sequence numbers that retention deleted from the store before any run
    /// exported them (the export fell behind the store's retention).
    pub not_exported: u64,
    /// An interrupted run's committed files were moved into place first.
    pub recovered: bool,
}

impl ExportReport {
    fn fill(&mut self, changes: &run::Changes, state: &state::State) {
        self.rows = changes.added.iter().map(|s| s.entry.rows).sum();
        self.files_added = changes.added.len() + changes.merged.len();
        self.files_merged = changes.merged_away;
        self.files_rewritten = changes.rewritten.len();
        self.files_deleted = changes.deleted.len();
        let rows: std::collections::HashMap<&str, u64> = state
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.rows))
            .collect();
        let before = |path: &str| rows.get(path).copied().unwrap_or(0);
        let rewritten: u64 = changes
            .rewritten
            .iter()
            .map(|s| before(&s.entry.path).saturating_sub(s.entry.rows))
            .sum();
        let deleted: u64 = changes.deleted.iter().map(|p| before(p)).sum();
        let merged: u64 = changes.merged.iter().map(|s| s.entry.rows).sum();
        self.rows_removed = (rewritten + deleted).saturating_sub(merged);
        self.bytes_written = changes
            .added
            .iter()
            .chain(&changes.rewritten)
            .chain(&changes.merged)
            .map(|s| s.entry.bytes)
            .sum();
    }
}

impl Store {
    /// Exports the events not exported yet into `options.out()` as Parquet
    /// files partitioned `source_id=N/date=YYYY-MM-DD/` (EXPORT.md), and
    /// brings the files exported before in step with the store's erasures and
    /// retention. Exports what is durable (up to `stats().synced_seq`).
    ///
    /// Works on a read-only open (beside a live writer). One run at a time per
    /// store and directory ([`Error::InUse`](crate::Error::InUse) otherwise);
    /// stores with different ids can share a directory.
    pub fn export_parquet(&self, options: &ExportOptions) -> Result<ExportReport> {
        run::run(self, options)
    }
}
