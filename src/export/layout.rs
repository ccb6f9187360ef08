//! Where an export keeps its files (EXPORT.md §1): partition directories and
//! file names, and the directory of one store's state, run manifests and
//! staged files.

use std::path::{Path, PathBuf};

use crate::time::format_date;

/// One day in milliseconds.
pub(super) const DAY_MS: i64 = 86_400_000;

/// The directory of every store's export state; Spark, Trino and Hive skip
/// names that start with `_`, and no file in it ends in `.parquet`.
pub(super) const META_DIR: &str = "_firstlog";

/// The directories of one store's export into `out`.
#[derive(Clone, Debug)]
pub(super) struct Dirs {
    pub out: PathBuf,
    /// `out/_firstlog/<store id>`: the state file and the lock.
    pub meta: PathBuf,
    /// Files written by a run before it commits.
    pub staging: PathBuf,
    /// One manifest per run.
    pub runs: PathBuf,
}

impl Dirs {
    pub(super) fn new(out: &Path, store_id: &str) -> Dirs {
        let meta = out.join(META_DIR).join(store_id);
        Dirs {
            out: out.to_path_buf(),
            staging: meta.join("staging"),
            runs: meta.join("runs"),
            meta,
        }
    }

    /// The state file.
    pub(super) fn state(&self) -> PathBuf {
        self.meta.join("state.json")
    }

    /// The manifest of run `run`.
    pub(super) fn manifest(&self, run: u64) -> PathBuf {
        self.runs.join(format!("{run:010}.json"))
    }

    /// A path relative to `out` (as the state records it), made absolute.
    pub(super) fn resolve(&self, relative: &str) -> PathBuf {
        self.out.join(relative)
    }
}

/// A partition: one source's events of one UTC day (by event timestamp).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct PartitionKey {
    pub source: u32,
    /// Days since the Unix epoch.
    pub day: i64,
}

impl PartitionKey {
    pub(super) fn of(source: u32, timestamp_ms: i64) -> PartitionKey {
        PartitionKey {
            source,
            day: timestamp_ms.div_euclid(DAY_MS),
        }
    }

    /// `YYYY-MM-DD`.
    pub(super) fn date(&self) -> String {
        format_date(self.day.saturating_mul(DAY_MS))
    }

    /// The event-time bounds of the day: `[start, end)` in ms.
    pub(super) fn bounds(&self) -> (i64, i64) {
        let start = self.day.saturating_mul(DAY_MS);
        (start, start.saturating_add(DAY_MS))
    }

    /// `source_id=N/date=YYYY-MM-DD`.
    pub(super) fn dir(&self) -> String {
        format!("source_id={}/date={}", self.source, self.date())
    }

    /// The file holding this partition's events from `first_seq` to
    /// `last_seq` exported from store `store_id`, relative to `out`:
    /// deterministic, so a re-run names a file as the first run did, and
    /// distinct per store, so collectors never collide.
    pub(super) fn file(&self, store_id: &str, first_seq: u64, last_seq: u64) -> String {
        format!(
            "{}/{store_id}-{first_seq:020}-{last_seq:020}.parquet",
            self.dir()
        )
    }
}

/// The name of the `n`th file staged by run `run` (no `.parquet` ending, so
/// no reader's glob ever picks it up).
pub(super) fn staged_name(run: u64, n: usize) -> String {
    format!("{run:010}-{n:06}.parquet.tmp")
}
