//! One export run (EXPORT.md §5): finish what a committed run left, apply the
//! store's lifecycle to the files already exported, write the new events into
//! staged files, then commit by replacing the state file, and only then move
//! the staged files into place.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::layout::{Dirs, PartitionKey};
use super::lifecycle::{Action, Lifecycle, range_query};
use super::merge;
use super::partition::{OpenFile, Partitioner, Stage, Staged};
use super::state::{FileEntry, Manifest, Move, Pending, Selection, State};
use super::{ExportOptions, ExportReport};
use crate::codec::EventRef;
use crate::error::{Error, Result};
use crate::event::SourceId;
use crate::io::{LockGuard, Vfs};
use crate::query::Query;
use crate::store::Store;
use crate::time::format_rfc3339;

/// Runs one export of `store` into `options.out`.
pub(super) fn run(store: &Store, options: &ExportOptions) -> Result<ExportReport> {
    let fs = store.fs();
    let fs = &*fs;
    let store_id = store.store_id_hex();
    let dirs = Dirs::new(&options.out, &store_id);
    let meta_root = dirs.out.join(super::layout::META_DIR);
    for dir in [&dirs.out, &meta_root, &dirs.meta, &dirs.staging, &dirs.runs] {
        fs.create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let _lock = lock(fs, &dirs)?;
    let selection = options.selection();
    let mut state = match State::load(fs, &dirs)? {
        Some(state) => state,
        None => State::new(&store_id, selection.clone()),
    };
    check_state(&state, &store_id, &selection, &dirs)?;
    let mut report = ExportReport {
        recovered: finish_pending(fs, &dirs, &mut state)?,
        ..ExportReport::default()
    };
    clear_staging(fs, &dirs)?;
    let started = store.now_ms();
    let lifecycle = Lifecycle::read(store, &state);
    let through = store.synced_seq();
    let mut stage = Stage::new(fs, &dirs, &store_id, state.next_run, options.limits());
    let mut changes = apply_lifecycle(store, &state, &lifecycle, &mut stage)?;
    if let Some(after) = options.merge_after_ms() {
        merge_closed(
            store,
            &state,
            &lifecycle,
            &mut stage,
            &mut changes,
            started - after,
        )?;
    }
    let from = state.exported_through + 1;
    report.not_exported = lifecycle
        .log_start
        .saturating_sub(from)
        .min(through.saturating_sub(state.exported_through));
    changes.added = export_new(store, &state, &lifecycle, through, &mut stage)?;
    report.from_seq = from;
    report.through_seq = through.max(state.exported_through);
    report.fill(&changes, &state);
    let advanced = through > state.exported_through
        || lifecycle.log_start != state.log_start
        || lifecycle.erasures_through != state.erasures_through;
    state.exported_through = report.through_seq;
    state.log_start = lifecycle.log_start;
    state.erasures_through = lifecycle.erasures_through;
    if changes.is_empty() {
        if advanced {
            state.save(fs, &dirs)?;
        }
        return Ok(report);
    }
    report.run = Some(state.next_run);
    let manifest = changes.manifest(&state, &store_id, format_rfc3339(started), from, through);
    commit(fs, &dirs, &mut state, changes, &manifest)?;
    Ok(report)
}

/// What a run changes.
#[derive(Default)]
pub(super) struct Changes {
    pub added: Vec<Staged>,
    pub rewritten: Vec<Staged>,
    pub deleted: Vec<String>,
    /// Files that replace several small ones (those are in `deleted`).
    pub merged: Vec<Staged>,
    /// How many files the merges replace.
    pub merged_away: usize,
}

impl Changes {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.rewritten.is_empty()
            && self.deleted.is_empty()
            && self.merged.is_empty()
    }

    fn manifest(
        &self,
        state: &State,
        store_id: &str,
        started_at: String,
        from_seq: u64,
        through_seq: u64,
    ) -> Manifest {
        let entries = |s: &[Staged]| s.iter().map(|s| s.entry.clone()).collect::<Vec<_>>();
        Manifest {
            format: super::state::FORMAT.to_owned(),
            version: super::state::VERSION,
            store_id: store_id.to_owned(),
            run: state.next_run,
            started_at,
            from_seq,
            through_seq,
            added: entries(&self.added)
                .into_iter()
                .chain(entries(&self.merged))
                .collect(),
            rewritten: entries(&self.rewritten),
            deleted: self.deleted.clone(),
        }
    }
}

/// The export directory's lock for this store: one run at a time.
fn lock(fs: &dyn Vfs, dirs: &Dirs) -> Result<LockGuard> {
    fs.try_lock(&dirs.meta)
        .map_err(|e| Error::io(&dirs.meta, e))?
        .ok_or_else(|| Error::InUse {
            path: dirs.meta.clone(),
            what: "export",
        })
}

/// The state must be this store's, and the run must select what the
/// directory was first exported with.
fn check_state(state: &State, store_id: &str, selection: &Selection, dirs: &Dirs) -> Result<()> {
    if state.store_id != store_id {
        return Err(Error::corrupt(
            dirs.state(),
            0,
            format!("the state belongs to store {}", state.store_id),
        ));
    }
    if &state.selection != selection {
        return Err(Error::argument(
            "export",
            format!(
                "{} was first exported with {}; every run into it must select the same \
                 events (export elsewhere for another selection)",
                dirs.out.display(),
                describe(&state.selection)
            ),
        ));
    }
    Ok(())
}

fn describe(selection: &Selection) -> String {
    let mut parts = Vec::new();
    match &selection.sources {
        Some(ids) => parts.push(format!("--source {ids:?}")),
        None => parts.push("every source".to_owned()),
    }
    if let Some(ms) = selection.since_ms {
        parts.push(format!("--since {}", format_rfc3339(ms)));
    }
    if let Some(ms) = selection.until_ms {
        parts.push(format!("--until {}", format_rfc3339(ms)));
    }
    parts.join(" ")
}

/// Finishes a committed run: moves its staged files into place and deletes
/// what it deleted (each step idempotent), syncs the directories, and clears
/// `pending`. True when there was such a run.
fn finish_pending(fs: &dyn Vfs, dirs: &Dirs, state: &mut State) -> Result<bool> {
    let Some(pending) = state.pending.clone() else {
        return Ok(false);
    };
    let mut touched = BTreeSet::new();
    // Deletions first: a reader in between misses rows (as before a run), and
    // never sees a merged file beside the files it replaces.
    for path in &pending.deletes {
        let target = dirs.resolve(path);
        if fs.exists(&target) {
            fs.remove(&target).map_err(|e| Error::io(&target, e))?;
        }
        touched.insert(parent_of(&target));
    }
    for m in &pending.moves {
        let target = dirs.resolve(&m.path);
        let staged = dirs.staging.join(&m.staged);
        let parent = parent_of(&target);
        create_dir(fs, dirs, &parent, &mut touched)?;
        if fs.exists(&staged) {
            fs.rename(&staged, &target)
                .map_err(|e| Error::io(&target, e))?;
        } else if !fs.exists(&target) {
            return Err(Error::corrupt(
                dirs.state(),
                0,
                format!("run {} lost its staged file {}", pending.run, m.staged),
            ));
        }
        touched.insert(parent);
    }
    for dir in &touched {
        fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    }
    state.pending = None;
    state.save(fs, dirs)?;
    Ok(true)
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Creates `dir` (a partition directory) and its parents below the export
/// directory, remembering each to sync.
fn create_dir(
    fs: &dyn Vfs,
    dirs: &Dirs,
    dir: &Path,
    touched: &mut BTreeSet<PathBuf>,
) -> Result<()> {
    if fs.exists(dir) {
        return Ok(());
    }
    // Each level on its own (a file system's create_dir_all may not create
    // parents), each parent synced later so the new entries are durable.
    let mut levels = vec![dir.to_path_buf()];
    let mut at = dir.parent();
    while let Some(parent) = at.filter(|p| p.starts_with(&dirs.out) && *p != dirs.out) {
        levels.push(parent.to_path_buf());
        at = parent.parent();
    }
    for level in levels.iter().rev() {
        fs.create_dir_all(level).map_err(|e| Error::io(level, e))?;
        if let Some(parent) = level.parent() {
            touched.insert(parent.to_path_buf());
        }
    }
    Ok(())
}

/// Removes what an uncommitted run left in the staging directory.
fn clear_staging(fs: &dyn Vfs, dirs: &Dirs) -> Result<()> {
    let names = fs
        .list(&dirs.staging)
        .map_err(|e| Error::io(&dirs.staging, e))?;
    for name in names {
        let path = dirs.staging.join(name);
        fs.remove(&path).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Deletes or rewrites the exported files the store's lifecycle touched.
fn apply_lifecycle(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    stage: &mut Stage<'_>,
) -> Result<Changes> {
    let mut changes = Changes::default();
    for file in &state.files {
        match lifecycle.action(store, &state.selection, file)? {
            None => {}
            Some(Action::Delete) => changes.deleted.push(file.path.clone()),
            Some(Action::Rewrite) => match rewrite(store, state, lifecycle, stage, file)? {
                Some(staged) => changes.rewritten.push(staged),
                None => changes.deleted.push(file.path.clone()),
            },
        }
    }
    Ok(changes)
}

/// Writes `file` again from what the store shows of its range now; `None`
/// when nothing is left.
fn rewrite(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    stage: &mut Stage<'_>,
    file: &FileEntry,
) -> Result<Option<Staged>> {
    let Some(mut staged) = stage_range(store, state, lifecycle, stage, file, true)? else {
        return Ok(None);
    };
    // The file keeps its name, so its recorded range stays the one it names.
    staged.entry.first_seq = file.first_seq;
    staged.entry.last_seq = file.last_seq;
    Ok(Some(staged))
}

/// Writes what the store shows now of `span`'s partition and sequence range
/// as one staged file (replacing `span`'s file, under its name, when
/// `replace`); `None` when nothing is left.
pub(super) fn stage_range(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    stage: &mut Stage<'_>,
    span: &FileEntry,
    replace: bool,
) -> Result<Option<Staged>> {
    let key = PartitionKey {
        source: span.source_id,
        day: span.day,
    };
    let name = source_name(store, span.source_id);
    let replaces = replace.then(|| span.path.clone());
    let mut open: Option<OpenFile> = None;
    let query = range_query(store, &state.selection, span);
    each_event(&query, lifecycle, |event| {
        if open.is_none() {
            open = Some(OpenFile::start(stage, key, event, replaces.clone())?);
        }
        match open.as_mut() {
            Some(f) => f.push(stage, event, &name),
            None => Ok(()),
        }
    })?;
    open.map(|open| open.finish(stage)).transpose()
}

/// Writes the events after `state.exported_through`, up to `through`.
fn export_new(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    through: u64,
    stage: &mut Stage<'_>,
) -> Result<Vec<Staged>> {
    let mut partitioner = Partitioner::new();
    if through <= state.exported_through {
        return Ok(Vec::new());
    }
    let names: HashMap<u32, String> = store
        .sources()
        .iter()
        .map(|s| (s.id().0, s.name().to_owned()))
        .collect();
    for source in selected(store, &state.selection)? {
        let mut query = store
            .query(source)
            .after(state.exported_through)
            .through(through);
        if let Some(ms) = state.selection.since_ms {
            query = query.since(ms);
        }
        if let Some(ms) = state.selection.until_ms {
            query = query.until(ms);
        }
        let name = names.get(&source.0).map_or("", String::as_str);
        each_event(&query, lifecycle, |event| {
            partitioner.push(stage, event, name)
        })?;
    }
    partitioner.finish(stage)
}

/// The sources a selection names (checked), or every source.
fn selected(store: &Store, selection: &Selection) -> Result<Vec<SourceId>> {
    match &selection.sources {
        None => Ok(store.sources().iter().map(|s| s.id()).collect()),
        Some(ids) => ids
            .iter()
            .map(|&id| {
                store
                    .source(SourceId(id))
                    .map(|s| s.id())
                    .ok_or(Error::UnknownSource { id })
            })
            .collect(),
    }
}

fn source_name(store: &Store, id: u32) -> String {
    store
        .source(SourceId(id))
        .map(|s| s.name().to_owned())
        .unwrap_or_default()
}

/// Merges the small files of partitions closed before `closed_before_ms`
/// that this run's lifecycle left alone.
fn merge_closed(
    store: &Store,
    state: &State,
    lifecycle: &Lifecycle,
    stage: &mut Stage<'_>,
    changes: &mut Changes,
    closed_before_ms: i64,
) -> Result<()> {
    let touched: Vec<String> = changes
        .rewritten
        .iter()
        .map(|s| s.entry.path.clone())
        .chain(changes.deleted.iter().cloned())
        .collect();
    let skip: HashSet<&str> = touched.iter().map(String::as_str).collect();
    let rows_per_file = stage.limits.rows_per_file;
    for group in merge::groups(state, &skip, closed_before_ms, rows_per_file) {
        let replaced = group.iter().map(|f| f.path.clone());
        match merge::merge(store, state, lifecycle, stage, &group)? {
            Some(m) => {
                // A replaced file of the same name (the others' rows are gone
                // from the store) is rewritten by the rename, not deleted: a
                // deletion of it, redone after a crash, would remove the
                // merged file, and a manifest reader must see it replaced.
                let own = m.staged.entry.path.as_str();
                let gone: Vec<String> = m
                    .replaces
                    .iter()
                    .filter(|p| p.as_str() != own)
                    .cloned()
                    .collect();
                changes.merged_away += gone.len();
                if gone.len() < m.replaces.len() {
                    changes.rewritten.push(m.staged);
                } else {
                    changes.merged.push(m.staged);
                }
                changes.deleted.extend(gone);
            }
            None => changes.deleted.extend(replaced),
        }
    }
    Ok(())
}

/// Calls `f` with each event of `query` that has not expired under its
/// source's maximum age, stopping at the first error.
fn each_event(
    query: &Query<'_>,
    lifecycle: &Lifecycle,
    mut f: impl FnMut(&EventRef<'_>) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    query.for_each(|event| {
        if lifecycle.expired(event.source().0, event.received_at()) {
            return ControlFlow::Continue(());
        }
        match f(event) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    failure.map_or(Ok(()), Err)
}

/// Commits a run: its manifest, then the state listing its files and its
/// pending moves (the commit point), then the moves themselves.
fn commit(
    fs: &dyn Vfs,
    dirs: &Dirs,
    state: &mut State,
    changes: Changes,
    manifest: &Manifest,
) -> Result<()> {
    fs.sync_dir(&dirs.staging)
        .map_err(|e| Error::io(&dirs.staging, e))?;
    manifest.save(fs, dirs)?;
    let mut pending = Pending {
        run: state.next_run,
        ..Pending::default()
    };
    let deleted: HashSet<&str> = changes.deleted.iter().map(String::as_str).collect();
    state.files.retain(|f| !deleted.contains(f.path.as_str()));
    let mut at: HashMap<String, usize> = state
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    let staged_files = changes.rewritten.into_iter().chain(changes.merged);
    for staged in staged_files.chain(changes.added) {
        pending.moves.push(Move {
            staged: staged.staged,
            path: staged.entry.path.clone(),
        });
        match at.get(&staged.entry.path) {
            Some(&i) => state.files[i] = staged.entry,
            None => {
                at.insert(staged.entry.path.clone(), state.files.len());
                state.files.push(staged.entry);
            }
        }
    }
    pending.deletes = changes.deleted;
    state.next_run += 1;
    state.pending = Some(pending);
    state.save(fs, dirs)?;
    finish_pending(fs, dirs, state).map(|_| ())
}
