//! One Parquet file being written into the staging directory: ZSTD, statistics
//! on every column, row groups of a bounded row count, written through the
//! store's file seam and fdatasynced when finished.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parking_lot::Mutex;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::io::{OpenMode, VFile, Vfs};

/// How the files are encoded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Encoding {
    pub rows_per_group: usize,
    pub zstd_level: i32,
}

/// Columns whose values rarely repeat: dictionary encoding would only cost.
const NO_DICTIONARY: [&str; 5] = [
    "seq",
    "message_id",
    "properties",
    "timestamp",
    "received_at",
];

fn properties(encoding: Encoding, path: &Path) -> Result<WriterProperties> {
    let level = ZstdLevel::try_new(encoding.zstd_level).map_err(|e| failed(path, e))?;
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(encoding.rows_per_group.max(1)))
        .set_created_by(format!("firstlog {}", env!("CARGO_PKG_VERSION")));
    for column in NO_DICTIONARY {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    Ok(builder.build())
}

/// Writes to a file of the seam at increasing offsets, keeping the first I/O
/// error (the Parquet writer only passes its text on).
struct Sink {
    file: Arc<dyn VFile>,
    at: u64,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.write_all_at(buf, self.at) {
            Ok(()) => {
                self.at += buf.len() as u64;
                Ok(buf.len())
            }
            Err(e) => {
                let reported = io::Error::new(e.kind(), e.to_string());
                self.error.lock().get_or_insert(e);
                Err(reported)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A Parquet file being written.
pub(super) struct StagedFile {
    path: PathBuf,
    file: Arc<dyn VFile>,
    writer: ArrowWriter<BufWriter<Sink>>,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl StagedFile {
    /// Creates `path` (replacing a leftover of the same name).
    pub(super) fn create(
        fs: &dyn Vfs,
        path: PathBuf,
        schema: &SchemaRef,
        encoding: Encoding,
    ) -> Result<StagedFile> {
        let file = fs
            .open(&path, OpenMode::CreateTruncate)
            .map_err(|e| Error::io(&path, e))?;
        let error = Arc::new(Mutex::new(None));
        let sink = Sink {
            file: file.clone(),
            at: 0,
            error: error.clone(),
        };
        let props = properties(encoding, &path)?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, sink),
            schema.clone(),
            Some(props),
        )
        .map_err(|e| failed(&path, e))?;
        Ok(StagedFile {
            path,
            file,
            writer,
            error,
        })
    }

    /// Appends a batch of rows.
    pub(super) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let result = self.writer.write(batch);
        result.map_err(|e| self.error(e))
    }

    /// Bytes held in memory for the row group in progress.
    pub(super) fn buffered_bytes(&self) -> usize {
        self.writer.in_progress_size()
    }

    /// Writes the footer and fdatasyncs; returns the file's length.
    pub(super) fn finish(mut self) -> Result<u64> {
        let result = self.writer.finish();
        result.map_err(|e| self.error(e))?;
        let flushed = self.writer.inner_mut().flush();
        flushed.map_err(|e| Error::io(&self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| Error::io(&self.path, e))?;
        self.file.len().map_err(|e| Error::io(&self.path, e))
    }

    /// The error to report for a failed write: the I/O error below it if
    /// there was one.
    fn error(&self, e: ParquetError) -> Error {
        match self.error.lock().take() {
            Some(io) => Error::io(&self.path, io),
            None => failed(&self.path, e),
        }
    }
}

fn failed(path: &Path, e: ParquetError) -> Error {
    Error::Export {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
