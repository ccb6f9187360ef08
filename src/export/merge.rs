//! Merging the small files of closed days (EXPORT.md §4.1): a run every few
//! minutes writes a file per partition it touches, so a day's partition
//! collects many small files; once the day is over (by the store's clock, less
//! a grace period for late events) its files are read from the store again as
//! one and replaced, keeping files within `rows_per_file`.

use std::collections::{BTreeMap, HashSet};

use super::layout::DAY_MS;
use super::lifecycle::Lifecycle;
use super::partition::{Stage, Staged};
use super::run::stage_range;
use super::state::{FileEntry, State};
use crate::error::Result;
use crate::store::Store;

/// Files of one partition read as one new file.
pub(super) struct Merge {
    pub staged: Staged,
    /// The paths of the files it replaces.
    pub replaces: Vec<String>,
}

/// Groups of two or more consecutive files (by sequence range) of each closed
/// partition, at most `rows_per_file` rows together, none of them in `skip`.
/// A partition is closed when its day ended before `closed_before_ms`.
pub(super) fn groups(
    state: &State,
    skip: &HashSet<&str>,
    closed_before_ms: i64,
    rows_per_file: u64,
) -> Vec<Vec<FileEntry>> {
    let mut partitions: BTreeMap<(u32, i64), Vec<&FileEntry>> = BTreeMap::new();
    for file in &state.files {
        let day_end = file.day.saturating_add(1).saturating_mul(DAY_MS);
        if day_end <= closed_before_ms {
            partitions
                .entry((file.source_id, file.day))
                .or_default()
                .push(file);
        }
    }
    let mut out = Vec::new();
    for mut files in partitions.into_values() {
        files.sort_by_key(|f| f.first_seq);
        let mut group: Vec<FileEntry> = Vec::new();
        let mut rows = 0;
        for file in files {
            // A merged file reads the whole sequence range of its group, so a
            // group never spans a file that is not in it.
            let skipped = skip.contains(file.path.as_str());
            if skipped || rows + file.rows > rows_per_file {
                push_group(&mut out, std::mem::take(&mut group));
                rows = 0;
            }
            if !skipped {
                rows += file.rows;
                group.push(file.clone());
            }
        }
        push_group(&mut out, group);
    }
    out
}

fn push_group(out: &mut Vec<Vec<FileEntry>>, group: Vec<FileEntry>) {
    if group.len() >= 2 {
        out.push(group);
    }
}

/// Writes the events of `group` (same partition, consecutive files) as one
/// staged file; `None` when the store shows none of them any more.
pub(super) fn merge(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    stage: &mut Stage<'_>,
    group: &[FileEntry],
) -> Result<Option<Merge>> {
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return Ok(None);
    };
    let span = FileEntry {
        last_seq: last.last_seq,
        ..first.clone()
    };
    let Some(staged) = stage_range(store, state, lifecycle, stage, &span, false)? else {
        return Ok(None);
    };
    Ok(Some(Merge {
        staged,
        replaces: group.iter().map(|f| f.path.clone()).collect(),
    }))
}
