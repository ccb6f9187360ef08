//! Splitting a run's events into partition files: one file per partition
//! (source, UTC day) open at a time, rows handed to the Parquet writer in
//! batches, a file finished when it reaches its row limit, and the largest
//! one finished early when the run holds too much memory.

use std::collections::HashMap;

use arrow_schema::SchemaRef;

use super::columns::{Rows, schema};
use super::file::{Encoding, StagedFile};
use super::layout::{Dirs, PartitionKey, staged_name};
use super::state::FileEntry;
use crate::codec::EventRef;
use crate::error::Result;
use crate::io::Vfs;

/// Rows handed to the Parquet writer at a time.
const BATCH_ROWS: usize = 8192;
/// Partition files open at once; the least recently used is finished first.
const OPEN_FILES_MAX: usize = 32;
/// Memory a run may hold in rows and row groups in progress.
const MEMORY_BYTES_MAX: usize = 256 << 20;

/// What a file holds so far.
#[derive(Clone, Copy, Debug)]
struct Span {
    first_seq: u64,
    last_seq: u64,
    rows: u64,
    min_received_ms: i64,
    max_received_ms: i64,
}

impl Span {
    fn of(event: &EventRef<'_>) -> Span {
        Span {
            first_seq: event.seq(),
            last_seq: event.seq(),
            rows: 0,
            min_received_ms: event.received_at(),
            max_received_ms: event.received_at(),
        }
    }

    fn add(&mut self, event: &EventRef<'_>) {
        self.first_seq = self.first_seq.min(event.seq());
        self.last_seq = self.last_seq.max(event.seq());
        self.rows += 1;
        self.min_received_ms = self.min_received_ms.min(event.received_at());
        self.max_received_ms = self.max_received_ms.max(event.received_at());
    }
}

/// A finished file in the staging directory, and the entry it will have once
/// moved into place.
#[derive(Clone, Debug)]
pub(super) struct Staged {
    pub staged: String,
    pub entry: FileEntry,
}

/// How the run writes files.
#[derive(Clone, Copy, Debug)]
pub(super) struct FileLimits {
    pub rows_per_file: u64,
    pub encoding: Encoding,
}

/// The context every file of a run shares.
pub(super) struct Stage<'a> {
    pub fs: &'a dyn Vfs,
    pub dirs: &'a Dirs,
    pub store_id: &'a str,
    pub run: u64,
    pub limits: FileLimits,
    schema: SchemaRef,
    next: usize,
}

impl<'a> Stage<'a> {
    pub(super) fn new(
        fs: &'a dyn Vfs,
        dirs: &'a Dirs,
        store_id: &'a str,
        run: u64,
        limits: FileLimits,
    ) -> Stage<'a> {
        Stage {
            fs,
            dirs,
            store_id,
            run,
            limits,
            schema: schema(),
            next: 0,
        }
    }

    /// Starts the next staged file.
    fn create(&mut self) -> Result<(String, StagedFile)> {
        self.next += 1;
        let name = staged_name(self.run, self.next);
        let file = StagedFile::create(
            self.fs,
            self.dirs.staging.join(&name),
            &self.schema,
            self.limits.encoding,
        )?;
        Ok((name, file))
    }
}

/// One partition file being written.
pub(super) struct OpenFile {
    key: PartitionKey,
    staged: String,
    file: StagedFile,
    rows: Rows,
    span: Span,
    /// The path of the file this one replaces (a rewrite keeps its name).
    replaces: Option<String>,
    last_used: u64,
}

impl OpenFile {
    /// Starts a file whose first event is `event`.
    pub(super) fn start(
        stage: &mut Stage<'_>,
        key: PartitionKey,
        event: &EventRef<'_>,
        replaces: Option<String>,
    ) -> Result<OpenFile> {
        let (staged, file) = stage.create()?;
        Ok(OpenFile {
            key,
            staged,
            file,
            rows: Rows::new(),
            span: Span::of(event),
            replaces,
            last_used: 0,
        })
    }

    /// Adds an event; hands a full batch to the writer.
    pub(super) fn push(
        &mut self,
        stage: &Stage<'_>,
        event: &EventRef<'_>,
        source: &str,
    ) -> Result<()> {
        self.rows.push(event, source)?;
        self.span.add(event);
        if self.rows.len() >= BATCH_ROWS {
            self.flush_rows(stage)?;
        }
        Ok(())
    }

    fn flush_rows(&mut self, stage: &Stage<'_>) -> Result<()> {
        if self.rows.len() == 0 {
            return Ok(());
        }
        let batch = self.rows.finish(&stage.schema)?;
        self.file.write(&batch)
    }

    fn memory(&self) -> usize {
        self.rows.bytes() + self.file.buffered_bytes()
    }

    fn full(&self, limits: &FileLimits) -> bool {
        self.span.rows >= limits.rows_per_file
    }

    /// Writes the rest, the footer, and syncs.
    pub(super) fn finish(mut self, stage: &Stage<'_>) -> Result<Staged> {
        self.flush_rows(stage)?;
        let bytes = self.file.finish()?;
        let path = self.replaces.take().unwrap_or_else(|| {
            self.key
                .file(stage.store_id, self.span.first_seq, self.span.last_seq)
        });
        Ok(Staged {
            staged: self.staged,
            entry: FileEntry {
                path,
                source_id: self.key.source,
                day: self.key.day,
                first_seq: self.span.first_seq,
                last_seq: self.span.last_seq,
                rows: self.span.rows,
                bytes,
                min_received_ms: self.span.min_received_ms,
                max_received_ms: self.span.max_received_ms,
                run: stage.run,
            },
        })
    }
}

/// The new events of a run, split into partition files.
pub(super) struct Partitioner {
    open: HashMap<PartitionKey, OpenFile>,
    tick: u64,
    done: Vec<Staged>,
}

impl Partitioner {
    pub(super) fn new() -> Partitioner {
        Partitioner {
            open: HashMap::new(),
            tick: 0,
            done: Vec::new(),
        }
    }

    /// Adds `event` of the source named `source` to its partition's file.
    pub(super) fn push(
        &mut self,
        stage: &mut Stage<'_>,
        event: &EventRef<'_>,
        source: &str,
    ) -> Result<()> {
        let key = PartitionKey::of(event.source().0, event.timestamp());
        self.tick += 1;
        if !self.open.contains_key(&key) {
            if self.open.len() >= OPEN_FILES_MAX {
                self.finish_where(stage, |f| f.last_used)?;
            }
            let file = OpenFile::start(stage, key, event, None)?;
            self.open.insert(key, file);
        }
        let Some(file) = self.open.get_mut(&key) else {
            return Ok(());
        };
        file.last_used = self.tick;
        let flushed = file.rows.len() + 1 >= BATCH_ROWS;
        file.push(stage, event, source)?;
        if file.full(&stage.limits) {
            self.finish_key(stage, key)?;
        } else if flushed && self.memory() > MEMORY_BYTES_MAX {
            // Finish the file that holds the most (a smaller file, less memory).
            self.finish_where(stage, |f| u64::MAX - f.memory() as u64)?;
        }
        Ok(())
    }

    fn memory(&self) -> usize {
        self.open.values().map(OpenFile::memory).sum()
    }

    /// Finishes the open file with the lowest `rank`.
    fn finish_where(&mut self, stage: &Stage<'_>, rank: impl Fn(&OpenFile) -> u64) -> Result<()> {
        let key = self
            .open
            .iter()
            .min_by_key(|(_, f)| rank(f))
            .map(|(k, _)| *k);
        match key {
            Some(key) => self.finish_key(stage, key),
            None => Ok(()),
        }
    }

    fn finish_key(&mut self, stage: &Stage<'_>, key: PartitionKey) -> Result<()> {
        if let Some(file) = self.open.remove(&key) {
            self.done.push(file.finish(stage)?);
        }
        Ok(())
    }

    /// Finishes every open file; returns every file written.
    pub(super) fn finish(mut self, stage: &Stage<'_>) -> Result<Vec<Staged>> {
        let mut keys: Vec<PartitionKey> = self.open.keys().copied().collect();
        keys.sort();
        for key in keys {
            self.finish_key(stage, key)?;
        }
        Ok(self.done)
    }
}
