//! Opening a log: list the segment files, open every sealed segment with its
//! index file (rebuilt when missing or bad), recover the last segment, then
//! assemble the log. Each step is a method of [`Opening`], which carries what the
//! steps found so far.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use parking_lot::{Condvar, Mutex, RwLock};

use super::durability::{Stopper, SyncState};
use super::space::NewSegment;
use super::{Durability, Log, LogConfig, SegmentHandle, Writer};
use crate::codec::body_name;
use crate::error::{Error, Result};
use crate::index::{
    ActiveIndex, BodyCheck, IndexProblem, NameDictionary, SealedIndex, SegmentFacts, SegmentIndex,
    encode_index_file,
};
use crate::io::{OpenMode, Vfs};
use crate::record::RecordView;
use crate::segment::scan::{Stop, scan};
use crate::segment::{
    Recovered, Recovery, Segment, TailRepair, index_file_name, parse_segment_file_name,
    segment_file_name,
};

/// What opening a store found and repaired. Nothing is repaired silently.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// The torn tail cut from the active segment, if there was one.
    pub tail_repair: Option<TailRepair>,
    /// Index files that were missing or damaged and were rebuilt, with the reason.
    pub rebuilt_indexes: Vec<(PathBuf, String)>,
    /// Files removed: leftover temporary files, an uninitialised last segment, the
    /// stale index of the active segment, segments (and their indexes) wholly
    /// below the log start that a deletion left behind (FORMAT.md §2.7).
    pub removed_files: Vec<PathBuf>,
    /// Version-1 segment files rewritten in version 2 (FORMAT.md §8): the store
    /// was written by an older firstlog and is upgraded in place.
    pub upgraded_files: Vec<PathBuf>,
    /// Segments in the log after opening.
    pub segments: usize,
    /// Records in the log after opening.
    pub records: u64,
}

impl OpenReport {
    /// Adds what an earlier step of opening (the upgrade) reported.
    pub(crate) fn absorb(&mut self, earlier: OpenReport) {
        self.upgraded_files.extend(earlier.upgraded_files);
        self.removed_files.extend(earlier.removed_files);
        if self.tail_repair.is_none() {
            self.tail_repair = earlier.tail_repair;
        }
    }

    /// True when opening found nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.tail_repair.is_none()
            && self.rebuilt_indexes.is_empty()
            && self.removed_files.is_empty()
            && self.upgraded_files.is_empty()
    }
}

/// Notes the event name of a record in the dictionary (its body starts with it).
fn note_name(
    names: &NameDictionary,
    file: &Path,
    offset: usize,
    record: &RecordView<'_>,
) -> Result<()> {
    if names.contains(record.header.name_hash) {
        return Ok(());
    }
    match body_name(record.body) {
        Some(name) => {
            names.note(record.header.name_hash, name);
            Ok(())
        }
        None => Err(Error::corrupt(
            file,
            offset as u64,
            "record body does not start with an event name",
        )),
    }
}

/// A log being opened: the steps' shared state.
struct Opening {
    fs: Arc<dyn Vfs>,
    dir: PathBuf,
    store_id: [u8; 16],
    config: LogConfig,
    names: Arc<NameDictionary>,
    report: OpenReport,
    handles: Vec<Arc<SegmentHandle>>,
    /// The sequence number the next segment must start at (`None` before the first).
    next_seq: Option<u64>,
}

impl Log {
    /// Opens (or creates) the log in `dir`. The caller holds the directory lock.
    pub(crate) fn open(
        fs: Arc<dyn Vfs>,
        dir: &Path,
        store_id: [u8; 16],
        config: LogConfig,
        names: Arc<NameDictionary>,
    ) -> Result<(Arc<Log>, OpenReport)> {
        let mut opening = Opening {
            fs,
            dir: dir.to_path_buf(),
            store_id,
            config,
            names,
            report: OpenReport::default(),
            handles: Vec::new(),
            next_seq: None,
        };
        let firsts = opening.list_segments()?;
        let firsts = opening.drop_garbage(firsts)?;
        let mut active = None;
        for (i, &first) in firsts.iter().enumerate() {
            opening.check_continuity(first)?;
            if i + 1 < firsts.len() {
                let segment = Segment::open_sealed(
                    &*opening.fs,
                    &opening.segment_path(first),
                    first,
                    store_id,
                )?;
                opening.add_sealed(segment)?;
            } else {
                active = opening.recover_last(first)?;
            }
        }
        let active = match active {
            Some(active) => active,
            None => opening.stand_in_active()?,
        };
        opening.finish(active)
    }
}

impl Opening {
    fn segment_path(&self, first: u64) -> PathBuf {
        self.dir.join(segment_file_name(first))
    }

    /// The first sequence numbers of the segment files, in order; removes leftover
    /// temporary files (writable opens only).
    fn list_segments(&mut self) -> Result<Vec<u64>> {
        let dir = &self.dir;
        let mut firsts = Vec::new();
        for name in self.fs.list(dir).map_err(|e| Error::io(dir, e))? {
            if let Some(first) = parse_segment_file_name(&name) {
                firsts.push(first);
            } else if name.ends_with(".tmp") && self.config.writable {
                let path = dir.join(&name);
                self.fs.remove(&path).map_err(|e| Error::io(&path, e))?;
                self.report.removed_files.push(path);
            }
        }
        firsts.sort_unstable();
        Ok(firsts)
    }

    /// Removes the segments wholly below the log start (a deletion made the new
    /// start durable, then died before unlinking them: FORMAT.md §2.7) and
    /// returns the others. A segment is wholly below the start when the next
    /// one starts at or below it.
    fn drop_garbage(&mut self, firsts: Vec<u64>) -> Result<Vec<u64>> {
        let start = self.config.log_start;
        let keep_from = firsts
            .iter()
            .rposition(|&first| first <= start)
            .unwrap_or(0);
        if keep_from > 0 && !self.config.writable {
            // A reader does not delete: it skips them.
            return Ok(firsts[keep_from..].to_vec());
        }
        for &first in &firsts[..keep_from] {
            let index = self.dir.join(index_file_name(first));
            if self.fs.exists(&index) {
                self.fs.remove(&index).map_err(|e| Error::io(&index, e))?;
                self.report.removed_files.push(index);
            }
            self.remove_segment_file(&self.segment_path(first))?;
        }
        // The first remaining segment must hold the log start.
        if let Some(&first) = firsts.get(keep_from) {
            self.next_seq = Some(first.min(start));
        }
        Ok(firsts[keep_from..].to_vec())
    }

    /// A segment must start right after the previous one ends (the first one at
    /// the log start or below it).
    fn check_continuity(&self, first: u64) -> Result<()> {
        match self.next_seq {
            Some(expected) if expected != first => Err(Error::corrupt(
                self.segment_path(first),
                0,
                format!(
                    "segment starts at sequence {first}, expected {expected}: records are missing"
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Adds a sealed segment with its index (mapped, or rebuilt).
    fn add_sealed(&mut self, segment: Segment) -> Result<()> {
        let handle = load_sealed(
            &*self.fs,
            &self.dir,
            segment,
            &self.names,
            &mut self.report,
            self.config.writable,
        )?;
        self.next_seq = Some(handle.segment.last_seq() + 1);
        self.handles.push(handle);
        Ok(())
    }

    /// Recovers the last segment: usually the active one; possibly sealed (a crash
    /// between sealing and creating the next) or never initialised.
    fn recover_last(&mut self, first: u64) -> Result<Option<Arc<SegmentHandle>>> {
        let path = self.segment_path(first);
        let mut index = ActiveIndex::new();
        let mut named = Ok(());
        let names = &self.names;
        let how = Recovery {
            fs: &*self.fs,
            path: &path,
            first_seq: first,
            store_id: self.store_id,
            mode: self.config.recovery,
            writable: self.config.writable,
        };
        let recovered = Segment::recover(&how, |offset, record| {
            index.add(&record.header, offset, record.header.padded_len());
            if named.is_ok() {
                named = note_name(names, &path, offset, record);
            }
        })?;
        named?;
        match recovered {
            Recovered::Active(segment, repair) => self.adopt_active(segment, repair, index),
            Recovered::Sealed(segment) => {
                // The process may have died between writing the trailer and
                // syncing it: make the sealed segment durable before going on.
                if self.config.writable {
                    segment.sync()?;
                }
                self.add_sealed(segment)?;
                Ok(None)
            }
            Recovered::Uninitialised => {
                if self.config.writable {
                    self.remove_segment_file(&path)?;
                }
                Ok(None)
            }
        }
    }

    /// Takes a recovered active segment (or replaces it when it is empty and
    /// has another size than the configured one: created with another size, or
    /// smaller for a short disk, or left without room by a full one).
    fn adopt_active(
        &mut self,
        segment: Segment,
        repair: Option<TailRepair>,
        index: ActiveIndex,
    ) -> Result<Option<Arc<SegmentHandle>>> {
        let first = segment.first_seq();
        self.report.tail_repair = repair;
        if self.config.writable
            && segment.record_count() == 0
            && segment.capacity() != self.config.segment_bytes
        {
            let path = segment.path().to_path_buf();
            drop(segment);
            self.remove_segment_file(&path)?;
            self.next_seq = Some(first);
            return Ok(None);
        }
        let stale = self.dir.join(index_file_name(first));
        if self.config.writable && self.fs.exists(&stale) {
            self.fs.remove(&stale).map_err(|e| Error::io(&stale, e))?;
            self.report.removed_files.push(stale);
        }
        self.next_seq = Some(segment.last_seq() + 1);
        Ok(Some(Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(SegmentIndex::Active(index)),
        })))
    }

    fn remove_segment_file(&mut self, path: &Path) -> Result<()> {
        self.fs.remove(path).map_err(|e| Error::io(path, e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?;
        self.report.removed_files.push(path.to_path_buf());
        Ok(())
    }

    /// No active segment survived: a writer creates one; a reader lets the last
    /// sealed segment stand in (it refuses appends anyway).
    fn stand_in_active(&mut self) -> Result<Arc<SegmentHandle>> {
        if !self.config.writable {
            return self.handles.pop().ok_or_else(|| Error::NotAStore {
                path: self.dir.clone(),
            });
        }
        let created = NewSegment {
            fs: &*self.fs,
            dir: &self.dir,
            first_seq: self.next_seq.unwrap_or(self.config.log_start),
            capacity: self.config.segment_bytes,
            floor: self.config.min_segment_bytes,
            store_id: self.store_id,
            now_ms: self.config.clock.now_ms(),
        }
        .create_fitting();
        let segment = match created {
            // The disk is full: the last sealed segment stands in, and the
            // first append (or readiness check) with room starts a new one.
            Err(Error::DiskFull { .. }) if !self.handles.is_empty() => {
                return self.handles.pop().ok_or(Error::Closed);
            }
            other => other?,
        };
        Ok(Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(SegmentIndex::Active(ActiveIndex::new())),
        }))
    }

    /// Assembles the log around its active segment.
    fn finish(mut self, active: Arc<SegmentHandle>) -> Result<(Arc<Log>, OpenReport)> {
        // What recovery kept may only be in the page cache: make it durable so
        // synced_seq can start at the end of the log.
        if self.config.writable {
            active.segment.sync()?;
        }
        let next_seq = active.segment.last_seq() + 1;
        self.handles.push(active.clone());
        self.report.segments = self.handles.len();
        self.report.records = self.handles.iter().map(|h| h.segment.record_count()).sum();
        let visible = next_seq - 1;
        let sync = SyncState::default();
        sync.mark(visible);
        let config = self.config;
        let log_start = config.log_start;
        let interval = config.durability;
        let writable = config.writable;
        let log = Arc::new(Log {
            fs: self.fs,
            dir: self.dir,
            store_id: self.store_id,
            config,
            segments: RwLock::new(Arc::new(self.handles)),
            writer: Mutex::new(Writer { active, next_seq }),
            visible: AtomicU64::new(visible),
            log_start: AtomicU64::new(log_start),
            unlink_pending: Mutex::new(Vec::new()),
            hidden: RwLock::new(Arc::default()),
            names: self.names,
            sync,
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            closed: AtomicBool::new(false),
            tail_lock: Mutex::new(()),
            tail_cv: Condvar::new(),
            tail_waiters: AtomicUsize::new(0),
            commit: Default::default(),
            stopper: Arc::new(Stopper::default()),
            syncer: Mutex::new(None),
        });
        if let (Durability::Interval(every), true) = (interval, writable) {
            log.start_interval_sync(every);
        }
        Ok((log, self.report))
    }
}

pub(super) fn facts_of(segment: &Segment) -> SegmentFacts {
    SegmentFacts {
        first_seq: segment.first_seq(),
        last_seq: segment.last_seq(),
        record_count: segment.record_count(),
        data_end: segment.published_end() as u64,
    }
}

/// Maps a sealed segment's index file, rebuilding it when missing or bad.
fn load_sealed(
    fs: &dyn Vfs,
    dir: &Path,
    segment: Segment,
    names: &NameDictionary,
    report: &mut OpenReport,
    writable: bool,
) -> Result<Arc<SegmentHandle>> {
    let facts = facts_of(&segment);
    let path = dir.join(index_file_name(segment.first_seq()));
    let handle = |segment, index| {
        Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(index),
        })
    };
    let problem = match try_map_index(fs, &path, facts) {
        Ok(index) => {
            for (hash, name) in index.names() {
                names.note(hash, name);
            }
            return Ok(handle(segment, SegmentIndex::Sealed(index)));
        }
        // A failed read is an I/O error, not a reason to rewrite the file.
        Err(IndexProblem::Io(e)) => return Err(Error::io(&path, e)),
        Err(IndexProblem::Invalid(problem)) => problem,
    };
    let active = rebuild_index(&segment, names)?;
    report.rebuilt_indexes.push((path.clone(), problem));
    if !writable {
        // A reader does not repair files: it keeps the rebuilt index in memory.
        return Ok(handle(segment, SegmentIndex::Active(active)));
    }
    let bytes = encode_index_file(&active, facts, names);
    match write_index_file(fs, dir, &path, &bytes, facts) {
        Ok(index) => Ok(handle(segment, SegmentIndex::Sealed(index))),
        // A full disk: the rebuilt index serves from memory; a later open
        // with room writes the file.
        Err(e) if e.is_out_of_space() => Ok(handle(segment, SegmentIndex::Active(active))),
        Err(e) => Err(e),
    }
}

fn try_map_index(
    fs: &dyn Vfs,
    path: &Path,
    facts: SegmentFacts,
) -> Result<SealedIndex, IndexProblem> {
    if !fs.exists(path) {
        return Err("index file missing".into());
    }
    let file = fs
        .open(path, OpenMode::ReadOnly)
        .map_err(IndexProblem::Io)?;
    let len = file.len().map_err(IndexProblem::Io)?;
    let map = file.map(len).map_err(IndexProblem::Io)?;
    SealedIndex::open(map, facts, BodyCheck::ReadFile(&*file))
}

/// Rebuilds a sealed segment's index by scanning (and CRC-checking) its records.
/// Any damage is corruption: a sealed segment has no torn tail.
pub(crate) fn rebuild_index(segment: &Segment, names: &NameDictionary) -> Result<ActiveIndex> {
    let view = segment.view()?;
    let mut index = ActiveIndex::new();
    let mut named = Ok(());
    let found = scan(view.bytes(), segment.layout(), |offset, record| {
        index.add(&record.header, offset, record.header.padded_len());
        if named.is_ok() {
            named = note_name(names, segment.path(), offset, record);
        }
    });
    named?;
    if let Stop::Damaged { offset, reason } = found.stop {
        return Err(Error::corrupt(segment.path(), offset as u64, reason));
    }
    let complete = found.records == segment.record_count()
        && (segment.generation() > 0 || found.last_seq == segment.last_seq());
    if found.end != segment.published_end() || !complete {
        return Err(Error::corrupt(
            segment.path(),
            found.end as u64,
            "records end before the seal trailer says they do",
        ));
    }
    Ok(index)
}

/// Writes an index file atomically and maps it.
pub(super) fn write_index_file(
    fs: &dyn Vfs,
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    facts: SegmentFacts,
) -> Result<SealedIndex> {
    crate::io::write_atomic(fs, dir, path, bytes)?;
    let file = fs
        .open(path, OpenMode::ReadOnly)
        .map_err(|e| Error::io(path, e))?;
    let map = file
        .map(bytes.len() as u64)
        .map_err(|e| Error::io(path, e))?;
    SealedIndex::open(map, facts, BodyCheck::JustWritten).map_err(|problem| match problem {
        IndexProblem::Io(e) => Error::io(path, e),
        IndexProblem::Invalid(why) => Error::corrupt(path, 0, why),
    })
}
