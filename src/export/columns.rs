//! The export's columns (EXPORT.md §3): the Arrow schema and the builders that
//! turn stored events into record batches, JSON written straight from the
//! stored bytes.

use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMicrosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::codec::EventRef;
use crate::error::{Error, Result};

/// The time zone of both timestamp columns.
const UTC: &str = "UTC";

/// The schema of every exported file. The partition columns (`source_id`,
/// `date`) live in the directory names only.
pub(super) fn schema() -> SchemaRef {
    let micros = || DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()));
    Arc::new(Schema::new(vec![
        Field::new("seq", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
        Field::new("profile_id", DataType::Utf8, true),
        Field::new("session_id", DataType::Utf8, true),
        Field::new("message_id", DataType::Utf8, true),
        Field::new("timestamp", micros(), false),
        Field::new("received_at", micros(), false),
        Field::new("properties", DataType::Utf8, false),
        Field::new("context", DataType::Utf8, false),
    ]))
}

/// Rows not yet handed to the Parquet writer.
pub(super) struct Rows {
    seq: Int64Builder,
    source: StringBuilder,
    event: StringBuilder,
    profile_id: StringBuilder,
    session_id: StringBuilder,
    message_id: StringBuilder,
    timestamp: TimestampMicrosecondBuilder,
    received_at: TimestampMicrosecondBuilder,
    properties: StringBuilder,
    context: StringBuilder,
    /// JSON of the event being added.
    scratch: Vec<u8>,
    len: usize,
    /// Bytes of strings added (a memory estimate).
    bytes: usize,
}

impl Rows {
    pub(super) fn new() -> Rows {
        let micros = || TimestampMicrosecondBuilder::new().with_timezone(UTC);
        Rows {
            seq: Int64Builder::new(),
            source: StringBuilder::new(),
            event: StringBuilder::new(),
            profile_id: StringBuilder::new(),
            session_id: StringBuilder::new(),
            message_id: StringBuilder::new(),
            timestamp: micros(),
            received_at: micros(),
            properties: StringBuilder::new(),
            context: StringBuilder::new(),
            scratch: Vec::with_capacity(1024),
            len: 0,
            bytes: 0,
        }
    }

    /// Rows held.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// About how many bytes of memory the rows take.
    pub(super) fn bytes(&self) -> usize {
        self.bytes + self.len * 64
    }

    /// Adds `event` of the source named `source`. On error nothing was added.
    pub(super) fn push(&mut self, event: &EventRef<'_>, source: &str) -> Result<()> {
        self.scratch.clear();
        event.write_properties_json(&mut self.scratch)?;
        let split = self.scratch.len();
        event.write_context_json(&mut self.scratch)?;
        let (properties, context) = self.scratch.split_at(split);
        let properties = utf8(properties, event)?;
        let context = utf8(context, event)?;
        self.seq
            .append_value(i64::try_from(event.seq()).unwrap_or(i64::MAX));
        self.source.append_value(source);
        self.event.append_value(event.name());
        self.profile_id.append_option(event.profile_id());
        self.session_id.append_option(event.session_id());
        self.message_id.append_option(event.message_id());
        self.timestamp.append_value(micros(event.timestamp()));
        self.received_at.append_value(micros(event.received_at()));
        self.properties.append_value(properties);
        self.context.append_value(context);
        self.len += 1;
        self.bytes += self.scratch.len() + event.name().len() + source.len();
        Ok(())
    }

    /// The rows as a record batch; the builders start empty again.
    pub(super) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.seq.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.event.finish()),
            Arc::new(self.profile_id.finish()),
            Arc::new(self.session_id.finish()),
            Arc::new(self.message_id.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.received_at.finish()),
            Arc::new(self.properties.finish()),
            Arc::new(self.context.finish()),
        ];
        self.len = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::Export {
            path: std::path::PathBuf::new(),
            reason: e.to_string(),
        })
    }
}

/// Milliseconds as microseconds (saturating: stored times are far inside the
/// range).
fn micros(ms: i64) -> i64 {
    ms.saturating_mul(1000)
}

/// JSON firstlog wrote from stored strings, which are UTF-8: anything else is
/// a damaged record.
fn utf8<'a>(bytes: &'a [u8], event: &EventRef<'_>) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| Error::Export {
        path: std::path::PathBuf::new(),
        reason: format!("event {} does not write as UTF-8 JSON", event.seq()),
    })
}
