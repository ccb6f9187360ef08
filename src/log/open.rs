//! Opening a log: sealed segments and their index files (rebuilt when missing or
//! bad), then recovery of the active segment.

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use parking_lot::{Condvar, Mutex, RwLock};

use super::durability::{Stopper, SyncState};
use super::{Durability, IndexState, Log, LogConfig, SegmentHandle, Writer};
use crate::error::{Error, Result};
use crate::index::{
    ActiveIndex, BodyCheck, IndexProblem, SealedIndex, SegmentFacts, encode_index_file,
};
use crate::io::{OpenMode, Vfs};
use crate::record::RecordView;
use crate::record::codec::decode_body;
use crate::segment::scan::{Stop, scan};
use crate::segment::{
    Recovered, Segment, TailRepair, index_file_name, parse_segment_file_name, segment_file_name,
};
use crate::time::now_ms;

/// What opening a store found and repaired. Nothing is repaired silently.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenReport {
    /// The torn tail cut from the active segment, if there was one.
    pub tail_repair: Option<TailRepair>,
    /// Index files that were missing or damaged and were rebuilt, with the reason.
    pub rebuilt_indexes: Vec<(PathBuf, String)>,
    /// Files removed: leftover temporary files, an uninitialised last segment, the
    /// stale index of the active segment.
    pub removed_files: Vec<PathBuf>,
    /// Segments in the log after opening.
    pub segments: usize,
    /// Records in the log after opening.
    pub records: u64,
}

impl OpenReport {
    /// True when opening found nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.tail_repair.is_none()
            && self.rebuilt_indexes.is_empty()
            && self.removed_files.is_empty()
    }
}

/// Collects event names met while scanning, decoding a body only for a hash not
/// seen before.
struct NameCollector<'a> {
    names: &'a mut HashMap<u64, Arc<str>>,
    error: Option<Error>,
    file: &'a Path,
}

impl NameCollector<'_> {
    fn note(&mut self, offset: usize, record: &RecordView<'_>) {
        if self.names.contains_key(&record.header.name_hash) || self.error.is_some() {
            return;
        }
        match decode_body(record.body) {
            Ok(body) => {
                self.names
                    .insert(record.header.name_hash, Arc::from(body.name));
            }
            Err(e) => {
                self.error = Some(Error::corrupt(
                    self.file,
                    offset as u64,
                    format!("record body does not decode: {}", e.0),
                ));
            }
        }
    }
}

impl Log {
    /// Opens (or creates) the log in `dir`. The caller holds the directory lock.
    pub(crate) fn open(
        fs: Arc<dyn Vfs>,
        dir: &Path,
        store_id: [u8; 16],
        config: LogConfig,
    ) -> Result<(Arc<Log>, OpenReport)> {
        let mut report = OpenReport::default();
        let mut firsts = Vec::new();
        for name in fs.list(dir).map_err(|e| Error::io(dir, e))? {
            if let Some(first) = parse_segment_file_name(&name) {
                firsts.push(first);
            } else if name.ends_with(".tmp") && config.writable {
                let path = dir.join(&name);
                fs.remove(&path).map_err(|e| Error::io(&path, e))?;
                report.removed_files.push(path);
            }
        }
        firsts.sort_unstable();
        let mut names = HashMap::default();
        let mut handles: Vec<Arc<SegmentHandle>> = Vec::new();
        // Version 1 has no retention: the log starts at sequence number 1, so a
        // first segment starting later means the segments before it were lost.
        let mut next_seq: Option<u64> = (!firsts.is_empty()).then_some(1);
        let mut active: Option<Arc<SegmentHandle>> = None;

        let check_continuity = |path: &Path, first: u64, next: Option<u64>| -> Result<()> {
            match next {
                Some(expected) if expected != first => Err(Error::corrupt(
                    path,
                    0,
                    format!(
                        "segment starts at sequence {first}, expected {expected}: records are missing"
                    ),
                )),
                _ => Ok(()),
            }
        };

        let count = firsts.len();
        for (i, &first) in firsts.iter().enumerate() {
            let path = dir.join(segment_file_name(first));
            check_continuity(&path, first, next_seq)?;
            if i + 1 < count {
                let segment = Segment::open_sealed(&*fs, &path, first, store_id)?;
                let handle =
                    load_sealed(&*fs, dir, segment, &mut names, &mut report, config.writable)?;
                next_seq = Some(handle.segment.last_seq() + 1);
                handles.push(handle);
                continue;
            }
            let mut index = ActiveIndex::new();
            let mut collector = NameCollector {
                names: &mut names,
                error: None,
                file: &path,
            };
            let recovered = Segment::recover(
                &*fs,
                &path,
                first,
                store_id,
                config.recovery,
                config.writable,
                |offset, record| {
                    index.add(&record.header, offset, record.header.padded_len());
                    collector.note(offset, record);
                },
            )?;
            if let Some(e) = collector.error {
                return Err(e);
            }
            match recovered {
                // An empty active segment created with another size (the options
                // changed) is replaced, so the configured records fit.
                Recovered::Active(segment, None)
                    if config.writable
                        && segment.record_count() == 0
                        && segment.capacity() != config.segment_bytes =>
                {
                    drop(segment);
                    fs.remove(&path).map_err(|e| Error::io(&path, e))?;
                    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
                    report.removed_files.push(path);
                    next_seq = Some(first);
                }
                Recovered::Active(segment, repair) => {
                    report.tail_repair = repair;
                    let stale = dir.join(index_file_name(first));
                    if config.writable && fs.exists(&stale) {
                        fs.remove(&stale).map_err(|e| Error::io(&stale, e))?;
                        report.removed_files.push(stale);
                    }
                    next_seq = Some(segment.last_seq() + 1);
                    active = Some(Arc::new(SegmentHandle {
                        segment,
                        index: RwLock::new(IndexState::Active(index)),
                    }));
                }
                Recovered::Sealed(segment) => {
                    // The process may have died between writing the trailer and
                    // syncing it: make the sealed segment durable before going on.
                    if config.writable {
                        segment.sync()?;
                    }
                    let handle =
                        load_sealed(&*fs, dir, segment, &mut names, &mut report, config.writable)?;
                    next_seq = Some(handle.segment.last_seq() + 1);
                    handles.push(handle);
                }
                Recovered::Uninitialised if !config.writable => {}
                Recovered::Uninitialised => {
                    fs.remove(&path).map_err(|e| Error::io(&path, e))?;
                    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
                    report.removed_files.push(path);
                }
            }
        }
        let next_seq = next_seq.unwrap_or(1);
        let active = match active {
            Some(active) => active,
            // Read-only: appends are refused, the last segment stands in.
            None if !config.writable => match handles.pop() {
                Some(last) => last,
                None => {
                    return Err(Error::io(
                        dir,
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "no segment files: not a firstlog store (or never opened for writing)",
                        ),
                    ));
                }
            },
            None => Arc::new(SegmentHandle {
                segment: Segment::create(
                    &*fs,
                    dir,
                    next_seq,
                    config.segment_bytes,
                    store_id,
                    now_ms(),
                )?,
                index: RwLock::new(IndexState::Active(ActiveIndex::new())),
            }),
        };
        // What recovery kept may only be in the page cache: make it durable so
        // synced_seq can start at the end of the log.
        if config.writable {
            active.segment.sync()?;
        }
        handles.push(active.clone());
        report.segments = handles.len();
        report.records = handles.iter().map(|h| h.segment.record_count()).sum();
        let visible = next_seq - 1;
        let sync = SyncState::default();
        sync.mark(visible);
        let log = Arc::new(Log {
            fs,
            dir: dir.to_path_buf(),
            store_id,
            config,
            segments: RwLock::new(Arc::new(handles)),
            writer: Mutex::new(Writer { active, next_seq }),
            visible: AtomicU64::new(visible),
            names: RwLock::new(names),
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
        if let (Durability::Interval(every), true) = (config.durability, config.writable) {
            log.start_interval_sync(every);
        }
        Ok((log, report))
    }
}

fn facts_of(segment: &Segment) -> SegmentFacts {
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
    names: &mut HashMap<u64, Arc<str>>,
    report: &mut OpenReport,
    writable: bool,
) -> Result<Arc<SegmentHandle>> {
    let facts = facts_of(&segment);
    let path = dir.join(index_file_name(segment.first_seq()));
    let problem = match try_map_index(fs, &path, facts) {
        Ok(index) => {
            for (hash, name) in index.names() {
                names.entry(hash).or_insert_with(|| Arc::from(name));
            }
            return Ok(Arc::new(SegmentHandle {
                segment,
                index: RwLock::new(IndexState::Sealed(index)),
            }));
        }
        // A failed read is an I/O error, not a reason to rewrite the file.
        Err(IndexProblem::Io(e)) => return Err(Error::io(&path, e)),
        Err(IndexProblem::Invalid(problem)) => problem,
    };
    let active = rebuild_index(&segment, names)?;
    if !writable {
        // A reader does not repair files: it keeps the rebuilt index in memory.
        report.rebuilt_indexes.push((path, problem));
        return Ok(Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(IndexState::Active(active)),
        }));
    }
    let bytes = encode_index_file(&active, facts, |h| names.get(&h).cloned());
    let index = write_index_file(fs, dir, &path, &bytes, facts)?;
    report.rebuilt_indexes.push((path, problem));
    Ok(Arc::new(SegmentHandle {
        segment,
        index: RwLock::new(IndexState::Sealed(index)),
    }))
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
pub(crate) fn rebuild_index(
    segment: &Segment,
    names: &mut HashMap<u64, Arc<str>>,
) -> Result<ActiveIndex> {
    let view = segment.view()?;
    let mut index = ActiveIndex::new();
    let mut collector = NameCollector {
        names,
        error: None,
        file: segment.path(),
    };
    let found = scan(view.bytes(), segment.first_seq(), |offset, record| {
        index.add(&record.header, offset, record.header.padded_len());
        collector.note(offset, record);
    });
    if let Some(e) = collector.error {
        return Err(e);
    }
    if let Stop::Damaged { offset, reason } = found.stop {
        return Err(Error::corrupt(segment.path(), offset as u64, reason));
    }
    if found.end != segment.published_end() || found.last_seq != segment.last_seq() {
        return Err(Error::corrupt(
            segment.path(),
            found.end as u64,
            "records end before the seal trailer says they do",
        ));
    }
    Ok(index)
}

/// Writes an index file atomically (temp, fsync, rename, directory fsync) and maps it.
pub(super) fn write_index_file(
    fs: &dyn Vfs,
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    facts: SegmentFacts,
) -> Result<SealedIndex> {
    let tmp = path.with_extension("idx.tmp");
    let file = fs
        .open(&tmp, OpenMode::CreateTruncate)
        .map_err(|e| Error::io(&tmp, e))?;
    file.write_all_at(bytes, 0)
        .map_err(|e| Error::io(&tmp, e))?;
    file.sync_data().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    fs.rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))?;
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
