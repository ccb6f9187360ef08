//! The log: the ordered set of segments, sequence numbers, rolling, durability and
//! group commit. It frames nothing and parses nothing: callers hand it a [`Batch`]
//! of framed records.
//!
//! Concurrency: one writer mutex serialises sequence assignment and the positional
//! write of a batch (the critical section holds no encoding work). Readers never
//! take it: they load an immutable snapshot of the segment list and the published
//! sequence number, and read records below each segment's published end.

mod batch;
mod commit;
mod durability;
mod open;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

pub use batch::Batch;
pub use durability::Durability;
use durability::{Stopper, SyncState};
pub use open::OpenReport;

use crate::error::{Error, Result};
use crate::index::{ActiveIndex, SealedIndex, encode_index_file};
use crate::io::Vfs;
use crate::segment::{RecoveryMode, Segment, index_file_name};
use crate::time::now_ms;

/// The index of one segment: in memory while active, a mapped file once sealed.
pub(crate) enum IndexState {
    Active(ActiveIndex),
    Sealed(SealedIndex),
}

/// A segment and its index.
pub(crate) struct SegmentHandle {
    pub segment: Segment,
    pub index: RwLock<IndexState>,
}

impl SegmentHandle {
    /// The offset and sequence number of the first record with a sequence number
    /// of at least `seq`, found through the index (no scan).
    pub fn locate(&self, seq: u64) -> Option<(usize, u64)> {
        use crate::index::Postings;
        fn first_at_or_after<P: Postings>(p: &P, seq: u64) -> Option<(usize, u64)> {
            let i = p.partition_after(seq.saturating_sub(1));
            (i < p.len()).then(|| {
                let e = p.get(i);
                (e.offset as usize, e.seq)
            })
        }
        let index = self.index.read();
        match &*index {
            IndexState::Active(a) => a
                .summaries()
                .filter_map(|s| {
                    a.source(s.source)
                        .and_then(|(_, p)| first_at_or_after(&p, seq))
                })
                .min_by_key(|&(_, seq)| seq),
            IndexState::Sealed(x) => x
                .summaries()
                .filter_map(|s| {
                    x.source(s.source)
                        .and_then(|(_, p)| first_at_or_after(&p, seq))
                })
                .min_by_key(|&(_, seq)| seq),
        }
    }
}

/// Log settings (validated by the store's options).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogConfig {
    pub segment_bytes: u64,
    pub durability: Durability,
    pub recovery: RecoveryMode,
    /// False for a read-only open: nothing is written, appends are refused.
    pub writable: bool,
}

/// What readers see: the segments and the last published sequence number.
#[derive(Clone)]
pub(crate) struct Snapshot {
    pub segments: Arc<Vec<Arc<SegmentHandle>>>,
    pub visible_seq: u64,
}

struct Writer {
    active: Arc<SegmentHandle>,
    next_seq: u64,
}

/// The sequence numbers an append was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Appended {
    pub first_seq: u64,
    pub last_seq: u64,
}

pub(crate) struct Log {
    fs: Arc<dyn Vfs>,
    dir: PathBuf,
    store_id: [u8; 16],
    config: LogConfig,
    segments: RwLock<Arc<Vec<Arc<SegmentHandle>>>>,
    writer: Mutex<Writer>,
    visible: AtomicU64,
    names: RwLock<rustc_hash::FxHashMap<u64, Arc<str>>>,
    sync: SyncState,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    closed: AtomicBool,
    tail_lock: Mutex<()>,
    tail_cv: Condvar,
    tail_waiters: AtomicUsize,
    commit: commit::CommitQueue,
    stopper: Arc<Stopper>,
    syncer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Log {
    /// The directory of the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file system.
    pub fn fs(&self) -> &Arc<dyn Vfs> {
        &self.fs
    }

    /// The last published sequence number (0 when empty).
    pub fn visible_seq(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }

    /// The highest durable sequence number.
    pub fn synced_seq(&self) -> u64 {
        self.sync.synced()
    }

    /// What readers see now.
    pub fn snapshot(&self) -> Snapshot {
        // Load the sequence number first: every segment holding a record up to it
        // is already in the list loaded next.
        let visible_seq = self.visible_seq();
        let segments = self.segments.read().clone();
        Snapshot {
            segments,
            visible_seq,
        }
    }

    /// The name behind a name hash, if the log has seen it.
    pub fn name_of(&self, hash: u64) -> Option<Arc<str>> {
        self.names.read().get(&hash).cloned()
    }

    /// Every known event name with its hash.
    pub fn names(&self) -> Vec<(u64, Arc<str>)> {
        self.names
            .read()
            .iter()
            .map(|(h, n)| (*h, n.clone()))
            .collect()
    }

    /// Records the name behind a hash (before appending a record that uses it).
    pub fn note_name(&self, hash: u64, name: &str) {
        if self.names.read().contains_key(&hash) {
            return;
        }
        self.names
            .write()
            .entry(hash)
            .or_insert_with(|| Arc::from(name));
    }

    fn check_writable(&self) -> Result<()> {
        if !self.config.writable {
            return Err(Error::ReadOnly);
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(self.poison_error());
        }
        Ok(())
    }

    fn poison_error(&self) -> Error {
        let cause = self.poison_cause.lock().clone().unwrap_or_default();
        Error::Poisoned { cause }
    }

    /// Refuses every later write: called after any failed write or sync.
    fn poison(&self, error: &Error) {
        let mut cause = self.poison_cause.lock();
        if cause.is_none() {
            *cause = Some(error.to_string());
        }
        self.poisoned.store(true, Ordering::Release);
        drop(cause);
        self.sync.done.notify_all();
    }

    /// Poisons after a failure of the log itself; a record refused before
    /// anything was written (`TooLarge`) leaves the log healthy.
    pub(crate) fn poison_unless_refusal(&self, error: &Error) {
        if !matches!(
            error,
            Error::TooLarge { .. } | Error::Poisoned { .. } | Error::Closed | Error::ReadOnly
        ) {
            self.poison(error);
        }
    }

    /// True after a failed write or sync.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    /// Appends every record of `batch`, giving them contiguous sequence numbers.
    /// The batch is written as one unit (it is atomic across a crash) unless it is
    /// larger than a whole segment, in which case it is written as several units,
    /// each as large as a segment allows. Returns after the durability mode's
    /// promise holds.
    pub fn append(&self, batch: &mut Batch) -> Result<Appended> {
        if batch.is_empty() {
            let seq = self.visible_seq();
            return Ok(Appended {
                first_seq: seq + 1,
                last_seq: seq,
            });
        }
        self.check_writable()?;
        if self.config.durability == Durability::Sync {
            return self.append_durably(batch);
        }
        let appended = self.write_batch(batch)?;
        self.wake_tailers();
        Ok(appended)
    }

    /// Writes one batch under the writer lock (no sync); a failure poisons the log.
    fn write_batch(&self, batch: &mut Batch) -> Result<Appended> {
        let mut writer = self.writer.lock();
        self.check_writable()?;
        self.append_locked(&mut writer, batch)
            .inspect_err(|e| self.poison_unless_refusal(e))
    }

    fn append_locked(&self, writer: &mut Writer, batch: &mut Batch) -> Result<Appended> {
        let first_seq = writer.next_seq;
        let room = Segment::room_for_records(self.config.segment_bytes);
        let n = batch.records.len();
        let mut i = 0;
        while i < n {
            let rest: u64 = batch.records[i..].iter().map(|r| r.len() as u64).sum();
            let free = writer.active.segment.free_bytes();
            if rest <= free {
                self.write_range(writer, batch, i..n)?;
                break;
            }
            let empty = writer.active.segment.record_count() == 0;
            if !empty && rest <= room {
                self.roll_locked(writer)?;
                continue;
            }
            // Larger than what is left here and (or) than a whole segment: write
            // the prefix that fits as one unit, then continue in a new segment.
            let mut j = i;
            let mut used = 0u64;
            while j < n && used + batch.records[j].len() as u64 <= free {
                used += batch.records[j].len() as u64;
                j += 1;
            }
            if j == i {
                if empty {
                    return Err(Error::TooLarge {
                        what: "record",
                        size: batch.records[i].len(),
                        limit: room as usize,
                    });
                }
            } else {
                self.write_range(writer, batch, i..j)?;
                i = j;
            }
            self.roll_locked(writer)?;
        }
        Ok(Appended {
            first_seq,
            last_seq: writer.next_seq - 1,
        })
    }

    /// Writes records `range` of the batch at the end of the active segment and
    /// publishes them.
    fn write_range(
        &self,
        writer: &mut Writer,
        batch: &mut Batch,
        range: std::ops::Range<usize>,
    ) -> Result<()> {
        let first_seq = writer.next_seq;
        batch.seal_range(range.clone(), first_seq);
        let start = batch.records[range.start].start;
        let last = &batch.records[range.end - 1];
        let end = last.start + last.len();
        let segment = &writer.active.segment;
        let at = segment.published_end();
        segment.write_at(&batch.buf[start..end], at)?;
        {
            let mut index = writer.active.index.write();
            if let IndexState::Active(index) = &mut *index {
                for record in &batch.records[range.clone()] {
                    index.add(&record.header, at + (record.start - start), record.len());
                }
            }
        }
        let last_seq = first_seq + range.len() as u64 - 1;
        segment.publish(at + (end - start), last_seq);
        writer.next_seq = last_seq + 1;
        // SeqCst pairs with `wait_for`: either the waiter sees this sequence
        // number, or this thread sees the waiter and notifies it.
        self.visible.store(last_seq, Ordering::SeqCst);
        Ok(())
    }

    fn wake_tailers(&self) {
        if self.tail_waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.tail_lock.lock();
            self.tail_cv.notify_all();
        }
    }

    /// Seals the active segment and starts a new one (if the active one holds any
    /// record).
    pub fn roll(&self) -> Result<()> {
        self.check_writable()?;
        let mut writer = self.writer.lock();
        self.check_writable()?;
        if writer.active.segment.record_count() == 0 {
            return Ok(());
        }
        self.roll_locked(&mut writer)
            .inspect_err(|e| self.poison(e))
    }

    fn roll_locked(&self, writer: &mut Writer) -> Result<()> {
        let old = writer.active.clone();
        let now = now_ms();
        let trailer = old.segment.seal(now)?;
        let sealed_index = self.write_index(&old, trailer_facts(&trailer))?;
        *old.index.write() = IndexState::Sealed(sealed_index);
        self.sync.mark(trailer.last_seq);
        let segment = Segment::create(
            &*self.fs,
            &self.dir,
            writer.next_seq,
            self.config.segment_bytes,
            self.store_id,
            now,
        )?;
        let handle = Arc::new(SegmentHandle {
            segment,
            index: RwLock::new(IndexState::Active(ActiveIndex::new())),
        });
        {
            let mut segments = self.segments.write();
            let mut list = Vec::with_capacity(segments.len() + 1);
            list.extend(segments.iter().cloned());
            list.push(handle.clone());
            *segments = Arc::new(list);
        }
        writer.active = handle;
        Ok(())
    }

    /// Writes the index file of a just-sealed segment (temp file, fsync, rename,
    /// directory fsync) and maps it.
    fn write_index(
        &self,
        handle: &SegmentHandle,
        facts: crate::index::SegmentFacts,
    ) -> Result<SealedIndex> {
        let bytes = {
            let index = handle.index.read();
            match &*index {
                IndexState::Active(active) => encode_index_file(active, facts, |h| self.name_of(h)),
                IndexState::Sealed(_) => {
                    return Err(Error::corrupt(
                        handle.segment.path(),
                        0,
                        "segment sealed twice",
                    ));
                }
            }
        };
        let path = self.dir.join(index_file_name(handle.segment.first_seq()));
        open::write_index_file(&*self.fs, &self.dir, &path, &bytes, facts)
    }

    /// Makes every record appended so far durable. Concurrent callers share one
    /// fdatasync (group commit).
    pub fn sync(&self) -> Result<()> {
        if !self.config.writable {
            return Ok(());
        }
        self.sync_through(self.visible_seq())
    }

    /// Returns once every record up to `seq` is durable.
    pub fn sync_through(&self, seq: u64) -> Result<()> {
        let mut inner = self.sync.inner.lock();
        loop {
            if self.poisoned.load(Ordering::Acquire) {
                return Err(self.poison_error());
            }
            if inner.synced_seq >= seq {
                return Ok(());
            }
            if inner.in_progress {
                self.sync.done.wait(&mut inner);
                continue;
            }
            inner.in_progress = true;
            drop(inner);
            // Lead a sync: everything written so far is in the active segment or in
            // sealed segments (synced when sealed).
            let (target, active) = {
                let writer = self.writer.lock();
                (writer.next_seq - 1, writer.active.clone())
            };
            let result = active.segment.sync();
            inner = self.sync.inner.lock();
            inner.in_progress = false;
            match result {
                Ok(()) => {
                    inner.synced_seq = inner.synced_seq.max(target);
                    self.sync.done.notify_all();
                }
                Err(e) => {
                    drop(inner);
                    self.poison(&e);
                    return Err(e);
                }
            }
        }
    }

    /// Blocks until a record with sequence number `seq` or higher is published or
    /// `timeout` passes; returns the last published sequence number.
    pub fn wait_for(&self, seq: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now().checked_add(timeout);
        self.tail_waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.tail_lock.lock();
        while self.visible.load(Ordering::SeqCst) < seq && !self.closed.load(Ordering::Acquire) {
            match deadline {
                Some(deadline) => {
                    if self.tail_cv.wait_until(&mut guard, deadline).timed_out() {
                        break;
                    }
                }
                None => self.tail_cv.wait(&mut guard),
            }
        }
        drop(guard);
        self.tail_waiters.fetch_sub(1, Ordering::AcqRel);
        self.visible_seq()
    }

    /// Syncs, trims the active segment's reserved space, and refuses later writes.
    pub fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.stopper.stop();
        if let Some(handle) = self.syncer.lock().take() {
            // The sync thread can itself drop the last handle of the log.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
        {
            let _guard = self.tail_lock.lock();
            self.tail_cv.notify_all();
        }
        if self.is_poisoned() {
            return Err(self.poison_error());
        }
        if !self.config.writable {
            return Ok(());
        }
        let writer = self.writer.lock();
        let result = writer
            .active
            .segment
            .sync()
            .and_then(|()| writer.active.segment.trim());
        if let Err(e) = &result {
            self.poison(e);
        } else {
            self.sync.mark(writer.next_seq - 1);
        }
        result
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Starts the background sync thread of `Durability::Interval`.
    fn start_interval_sync(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        let stopper = self.stopper.clone();
        let spawned = std::thread::Builder::new()
            .name("firstlog-sync".into())
            .spawn(move || {
                while !stopper.sleep(every) {
                    let Some(log) = weak.upgrade() else { return };
                    if log.is_poisoned() || log.is_closed() {
                        return;
                    }
                    if log.visible_seq() > log.synced_seq() {
                        // A failure poisons the log; appenders will see it.
                        let _ = log.sync();
                    }
                }
            });
        if let Ok(handle) = spawned {
            *self.syncer.lock() = Some(handle);
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        if !self.is_closed() {
            let _ = self.close();
        }
    }
}

fn trailer_facts(t: &crate::segment::format::Trailer) -> crate::index::SegmentFacts {
    crate::index::SegmentFacts {
        first_seq: t.first_seq,
        last_seq: t.last_seq,
        record_count: t.record_count,
        data_end: t.data_end,
    }
}
