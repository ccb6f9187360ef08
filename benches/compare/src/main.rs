//! firstlog against what an application would use instead (SQLite, fjall, a
//! hand-written log file), each used the way its users use it, on the
//! application's own events. See README.md for the rules.
//!
//! `cargo run --release` (N = 1,000,000 events; `N=200000 cargo run --release`
//! for another size). The parent re-executes this binary once per engine and
//! phase (`--engine NAME --phase ingest|durable --n N --dir DIR`), in turn, and
//! prints one Markdown table.

mod workload;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use firstlog::{Durability, NewEvent, Options, Source, Store};
use serde::Serialize;

use workload::{
    AppEvent, ContextFromJson, ContextJson, ParsedPayload, PropsFromJson, PropsJson, SOURCES,
    Workload, add_to_batch, firstparty_batch_json, from_ref, from_stored, to_new_event,
};

/// Events per batch of typed ingest (one transaction, write batch, call).
const INGEST_BATCH: usize = 1000;
/// Payloads per JSON batch request.
const JSON_BATCH: usize = 100;
/// Events per durable batch (one fdatasync each).
const DURABLE_BATCH: usize = 100;
/// The source queried: index 3 of 16, 7.4 % of the events.
const QUERY_SOURCE: u16 = 3;
/// Timed repetitions of each query in a child (the best counts).
const QUERY_RUNS: usize = 2;
/// Rounds of the ingest children and of the durable children (the best counts).
const INGEST_ROUNDS: usize = 3;
const DURABLE_ROUNDS: usize = 5;

const ENGINES_INGEST: [&str; 8] = [
    "firstlog",
    "firstlog-newevent",
    "firstlog-prebuilt",
    "firstlog-json",
    "sqlite",
    "sqlite-json",
    "fjall",
    "naive",
];
const ENGINES_DURABLE: [&str; 5] = ["firstlog", "raw", "sqlite", "fjall", "naive"];

fn bincode_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

// ---------------------------------------------------------------------------
// Child processes report `RESULT <key> <value>` lines on stdout.

fn report(key: &str, value: f64) {
    println!("RESULT {key} {value}");
    let _ = std::io::stdout().flush();
}

/// The write keys of the peers: the shape of firstlog's (`wk_` and 32 characters).
fn peer_keys() -> Vec<String> {
    (0..SOURCES).map(|k| format!("wk_{k:032}")).collect()
}

/// Allocated bytes of the files under `dir` (like `du`).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        total += if meta.is_dir() {
            disk_bytes(&entry.path())
        } else {
            meta.blocks() * 512
        };
    }
    total
}

/// FNV-1a over the bincode encoding of each event: the checksum of a query's
/// decoded output, the same for every engine that returns the same events.
fn checksum(events: &[AppEvent]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = Vec::new();
    for e in events {
        buf.clear();
        bincode::serde::encode_into_std_write(e, &mut buf, bincode_config()).expect("encode");
        for &b in &buf {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// One NDJSON output line for engines without a JSON writer of their own (fjall,
/// the naive log): the fields of firstlog's `Event::write_json`, in its order,
/// but `received_at` (which only firstlog records).
fn write_output_json(e: &AppEvent, seq: u64, out: &mut Vec<u8>) {
    #[derive(Serialize)]
    struct Line<'a> {
        seq: u64,
        event: &'a str,
        source_id: u16,
        profile_id: Option<&'a str>,
        session_id: Option<&'a str>,
        timestamp: String,
        message_id: Option<&'a str>,
        properties: PropsJson<'a>,
        context: ContextJson<'a>,
    }
    let line = Line {
        seq,
        event: &e.name,
        source_id: e.source,
        profile_id: e.user_id.as_deref(),
        session_id: e.session_id.as_deref(),
        timestamp: firstlog::format_rfc3339(e.timestamp_ms),
        message_id: e.message_id.as_deref(),
        properties: PropsJson(&e.properties),
        context: ContextJson::new(&e.context),
    };
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
}

/// Checks NDJSON output against the expected events: one line each, in order,
/// with the same name, profile, time, properties and context.
fn check_ndjson(out: &[u8], expected: &[AppEvent]) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Line {
        event: String,
        profile_id: Option<String>,
        timestamp: String,
        properties: PropsFromJson,
        context: ContextFromJson,
    }
    let lines: Vec<&[u8]> = out
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != expected.len() {
        return Err(format!(
            "{} lines, {} expected",
            lines.len(),
            expected.len()
        ));
    }
    for (i, (line, e)) in lines.iter().zip(expected).enumerate() {
        let l: Line = serde_json::from_slice(line).map_err(|err| format!("line {i}: {err}"))?;
        if l.event != e.name
            || l.profile_id != e.user_id
            || l.timestamp != firstlog::format_rfc3339(e.timestamp_ms)
            || l.properties.0 != e.properties
            || l.context.0 != e.context
        {
            return Err(format!(
                "line {i} differs: {}",
                String::from_utf8_lossy(line)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// What every engine offers once ingested.

trait Stored {
    /// Events per source (by the engine's own means; not timed).
    fn counts(&mut self) -> Vec<u64>;
    /// Every event of `source`, in order, decoded into the application's struct.
    fn query(&mut self, source: u16) -> Vec<AppEvent>;
    /// Another way to read the same (firstlog: owned `iter()`).
    fn query_alt(&mut self, _source: u16) -> Option<Vec<AppEvent>> {
        None
    }
    /// Every event of `source` as NDJSON into `out`.
    fn ndjson(&mut self, source: u16, out: &mut Vec<u8>);
    /// Closes cleanly.
    fn close(self: Box<Self>);
}

// --- firstlog

struct Firstlog {
    store: Store,
    sources: Vec<Source>,
    keys: Vec<String>,
}

impl Firstlog {
    fn open(dir: &Path, durability: Durability) -> Firstlog {
        let store = Store::open_with(dir, Options::default().durability(durability)).expect("open");
        let sources: Vec<Source> = (0..SOURCES)
            .map(|k| store.create_source(&format!("Source {k}")).expect("source"))
            .collect();
        let keys = sources.iter().map(|s| s.write_key().to_owned()).collect();
        Firstlog {
            store,
            sources,
            keys,
        }
    }

    fn check(outcomes: Vec<firstlog::Result<firstlog::Receipt>>) {
        for outcome in outcomes {
            outcome.expect("firstlog accepts the event");
        }
    }
}

impl Stored for Firstlog {
    fn counts(&mut self) -> Vec<u64> {
        self.sources
            .iter()
            .map(|s| self.store.query(s.id()).count().expect("count"))
            .collect()
    }
    fn query(&mut self, source: u16) -> Vec<AppEvent> {
        let mut out = Vec::new();
        self.store
            .query(self.sources[usize::from(source)].id())
            .for_each(|e| {
                out.push(from_ref(e, source).expect("decode"));
                ControlFlow::Continue(())
            })
            .expect("query");
        out
    }
    fn query_alt(&mut self, source: u16) -> Option<Vec<AppEvent>> {
        let q = self.store.query(self.sources[usize::from(source)].id());
        Some(
            q.iter()
                .map(|e| from_stored(&e.expect("query"), source))
                .collect(),
        )
    }
    fn ndjson(&mut self, source: u16, out: &mut Vec<u8>) {
        self.store
            .query(self.sources[usize::from(source)].id())
            .for_each(|e| {
                e.write_json(out).expect("write JSON");
                out.push(b'\n');
                ControlFlow::Continue(())
            })
            .expect("query");
    }
    fn close(self: Box<Self>) {
        self.store.close().expect("close");
    }
}

// --- SQLite

struct Sqlite {
    conn: rusqlite::Connection,
}

const SQLITE_INSERT: &str = "INSERT INTO events \
    (source, name, user_id, session_id, message_id, ts, properties, context) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

impl Sqlite {
    /// WAL; `synchronous=NORMAL`, or `FULL` (the WAL synced at every commit).
    fn open(dir: &Path, synchronous: &str) -> Sqlite {
        std::fs::create_dir_all(dir).expect("create dir");
        let conn = rusqlite::Connection::open(dir.join("events.db")).expect("sqlite open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .expect("WAL");
        assert_eq!(mode, "wal");
        conn.pragma_update(None, "synchronous", synchronous)
            .expect("synchronous");
        conn.execute_batch(
            "CREATE TABLE events (
                 seq INTEGER PRIMARY KEY,
                 source INTEGER,
                 name TEXT,
                 user_id TEXT,
                 session_id TEXT,
                 message_id TEXT,
                 ts INTEGER,
                 properties TEXT,
                 context TEXT
             );
             CREATE INDEX events_source ON events (source, seq);",
        )
        .expect("schema");
        Sqlite { conn }
    }

    /// One transaction, a cached prepared INSERT, properties and context as JSON.
    fn insert(&mut self, batch: &[AppEvent]) {
        let tx = self.conn.transaction().expect("begin");
        {
            let mut insert = tx.prepare_cached(SQLITE_INSERT).expect("prepare");
            for e in batch {
                let properties = serde_json::to_string(&PropsJson(&e.properties)).expect("json");
                let context = serde_json::to_string(&ContextJson::new(&e.context)).expect("json");
                insert
                    .execute(rusqlite::params![
                        e.source,
                        e.name,
                        e.user_id,
                        e.session_id,
                        e.message_id,
                        e.timestamp_ms,
                        properties,
                        context
                    ])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }

    /// Everything on disk: with `synchronous=NORMAL` a checkpoint syncs the WAL,
    /// then the database.
    fn sync(&mut self) {
        self.conn
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
            .expect("checkpoint");
    }
}

impl Stored for Sqlite {
    fn counts(&mut self) -> Vec<u64> {
        let mut counts = vec![0; SOURCES];
        let mut st = self
            .conn
            .prepare("SELECT source, count(*) FROM events GROUP BY source")
            .expect("prepare");
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .expect("count");
        for row in rows {
            let (source, n) = row.expect("row");
            counts[source as usize] = n as u64;
        }
        counts
    }
    fn query(&mut self, source: u16) -> Vec<AppEvent> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, user_id, session_id, message_id, ts, properties, context \
                 FROM events WHERE source = ?1 ORDER BY seq",
            )
            .expect("prepare");
        let mut rows = st.query([source]).expect("query");
        let mut out = Vec::new();
        while let Some(row) = rows.next().expect("row") {
            let properties: PropsFromJson =
                serde_json::from_str(row.get_ref(5).and_then(|v| Ok(v.as_str()?)).expect("text"))
                    .expect("properties JSON");
            let context: ContextFromJson =
                serde_json::from_str(row.get_ref(6).and_then(|v| Ok(v.as_str()?)).expect("text"))
                    .expect("context JSON");
            out.push(AppEvent {
                source,
                name: row.get(0).expect("name"),
                user_id: row.get(1).expect("user_id"),
                session_id: row.get(2).expect("session_id"),
                message_id: row.get(3).expect("message_id"),
                timestamp_ms: row.get(4).expect("ts"),
                properties: properties.0,
                context: context.0,
            });
        }
        out
    }
    fn ndjson(&mut self, source: u16, out: &mut Vec<u8>) {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT json_object('seq', seq, 'event', name, 'source_id', source, \
                 'profile_id', user_id, 'session_id', session_id, \
                 'timestamp', strftime('%Y-%m-%dT%H:%M:%S', ts / 1000, 'unixepoch') \
                     || printf('.%03dZ', ts % 1000), \
                 'message_id', message_id, \
                 'properties', json(properties), 'context', json(context)) \
                 FROM events WHERE source = ?1 ORDER BY seq",
            )
            .expect("prepare");
        let mut rows = st.query([source]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            let line = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).expect("text");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
    fn close(self: Box<Self>) {
        self.conn.close().map_err(|(_, e)| e).expect("close");
    }
}

// --- fjall

struct Fjall {
    db: fjall::Database,
    events: fjall::Keyspace,
    seq: u64,
    buf: Vec<u8>,
}

impl Fjall {
    /// Default settings; one keyspace, key = source (u16 BE) ++ seq (u64 BE),
    /// value = the bincode (serde) encoding of the struct.
    fn open(dir: &Path) -> Fjall {
        let db = fjall::Database::builder(dir).open().expect("fjall open");
        let events = db
            .keyspace("events", fjall::KeyspaceCreateOptions::default)
            .expect("keyspace");
        Fjall {
            db,
            events,
            seq: 0,
            buf: Vec::with_capacity(4096),
        }
    }

    fn insert(&mut self, batch: &[AppEvent]) {
        let mut write = self.db.batch();
        for e in batch {
            self.seq += 1;
            self.buf.clear();
            bincode::serde::encode_into_std_write(e, &mut self.buf, bincode_config())
                .expect("encode");
            let mut key = [0u8; 10];
            key[..2].copy_from_slice(&e.source.to_be_bytes());
            key[2..].copy_from_slice(&self.seq.to_be_bytes());
            write.insert(&self.events, &key[..], &self.buf[..]);
        }
        write.commit().expect("commit");
    }

    fn persist(&mut self, mode: fjall::PersistMode) {
        self.db.persist(mode).expect("persist");
    }
}

impl Stored for Fjall {
    fn counts(&mut self) -> Vec<u64> {
        (0..SOURCES as u16)
            .map(|k| {
                let mut n = 0;
                for item in self.events.prefix(k.to_be_bytes()) {
                    item.key().expect("read");
                    n += 1;
                }
                n
            })
            .collect()
    }
    fn query(&mut self, source: u16) -> Vec<AppEvent> {
        let mut out = Vec::new();
        for item in self.events.prefix(source.to_be_bytes()) {
            let (_, value) = item.into_inner().expect("read");
            let (e, _) = bincode::serde::decode_from_slice::<AppEvent, _>(&value, bincode_config())
                .expect("decode");
            out.push(e);
        }
        out
    }
    fn ndjson(&mut self, source: u16, out: &mut Vec<u8>) {
        for item in self.events.prefix(source.to_be_bytes()) {
            let (key, value) = item.into_inner().expect("read");
            let seq = u64::from_be_bytes(key[2..10].try_into().expect("key"));
            let (e, _) = bincode::serde::decode_from_slice::<AppEvent, _>(&value, bincode_config())
                .expect("decode");
            write_output_json(&e, seq, out);
        }
    }
    fn close(self: Box<Self>) {
        let Fjall { db, events, .. } = *self;
        drop(events);
        db.persist(fjall::PersistMode::SyncAll).expect("persist");
    }
}

// --- the naive log: one file, [u32 length][u32 crc32][bincode] per event

struct Naive {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    buf: Vec<u8>,
}

impl Naive {
    fn open(dir: &Path) -> Naive {
        std::fs::create_dir_all(dir).expect("create dir");
        let path = dir.join("events.log");
        let file = File::create(&path).expect("create");
        Naive {
            path,
            out: Some(BufWriter::new(file)),
            buf: Vec::with_capacity(4096),
        }
    }

    fn append(&mut self, batch: &[AppEvent]) {
        let out = self.out.as_mut().expect("open for writing");
        for e in batch {
            self.buf.clear();
            bincode::serde::encode_into_std_write(e, &mut self.buf, bincode_config())
                .expect("encode");
            out.write_all(&(self.buf.len() as u32).to_le_bytes())
                .expect("write");
            out.write_all(&crc32fast::hash(&self.buf).to_le_bytes())
                .expect("write");
            out.write_all(&self.buf).expect("write");
        }
    }

    /// Flushes the buffer, then fdatasyncs the file.
    fn sync(&mut self) {
        let out = self.out.as_mut().expect("open for writing");
        out.flush().expect("flush");
        out.get_ref().sync_data().expect("fdatasync");
    }

    /// Reads every record in order (checking its CRC), decodes it, hands it to `f`
    /// with its position (1-based).
    fn scan(&mut self, mut f: impl FnMut(u64, AppEvent)) {
        if let Some(mut out) = self.out.take() {
            out.flush().expect("flush");
        }
        let mut file = BufReader::new(File::open(&self.path).expect("open"));
        let mut header = [0u8; 8];
        let mut seq = 0;
        loop {
            match file.read_exact(&mut header) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => panic!("read: {e}"),
            }
            let len = u32::from_le_bytes(header[..4].try_into().expect("4")) as usize;
            let crc = u32::from_le_bytes(header[4..].try_into().expect("4"));
            self.buf.resize(len, 0);
            file.read_exact(&mut self.buf).expect("read");
            assert_eq!(crc32fast::hash(&self.buf), crc, "record {seq} damaged");
            let (e, _) =
                bincode::serde::decode_from_slice::<AppEvent, _>(&self.buf, bincode_config())
                    .expect("decode");
            seq += 1;
            f(seq, e);
        }
    }
}

impl Stored for Naive {
    fn counts(&mut self) -> Vec<u64> {
        let mut counts = vec![0; SOURCES];
        self.scan(|_, e| counts[usize::from(e.source)] += 1);
        counts
    }
    fn query(&mut self, source: u16) -> Vec<AppEvent> {
        let mut out = Vec::new();
        self.scan(|_, e| {
            if e.source == source {
                out.push(e);
            }
        });
        out
    }
    fn ndjson(&mut self, source: u16, out: &mut Vec<u8>) {
        self.scan(|seq, e| {
            if e.source == source {
                write_output_json(&e, seq, out);
            }
        });
    }
    fn close(mut self: Box<Self>) {
        if let Some(mut out) = self.out.take() {
            out.flush().expect("flush");
        }
    }
}

// ---------------------------------------------------------------------------
// The ingest child: ingest (timed), then counts, queries and NDJSON.

struct Ingested {
    /// The ingest calls and the final sync.
    total: Duration,
    /// The ingest calls only.
    calls: Duration,
    /// Bytes handed to the engine (JSON bodies), when it ingests bytes.
    input_bytes: u64,
    stored: Box<dyn Stored>,
}

/// JSON batch bodies of `JSON_BATCH` payloads (built before timing).
fn json_bodies(events: &[AppEvent], keys: &[String]) -> Vec<Vec<u8>> {
    events
        .chunks(JSON_BATCH)
        .map(|chunk| {
            let mut body = Vec::with_capacity(chunk.len() * 520);
            firstparty_batch_json(chunk, keys, &mut body);
            body
        })
        .collect()
}

fn ingest(engine: &str, dir: &Path, events: &[AppEvent]) -> Ingested {
    match engine {
        "firstlog" => {
            // firstlog's fastest typed path: each event added to an EventBatch
            // from the struct (strings borrowed, fields encoded as given).
            let fl = Firstlog::open(dir, Durability::default());
            let keys = &fl.keys;
            let mut batch = firstlog::EventBatch::new();
            let t0 = Instant::now();
            for chunk in events.chunks(INGEST_BATCH) {
                for e in chunk {
                    add_to_batch(&mut batch, e, &keys[usize::from(e.source)]);
                }
                Firstlog::check(fl.store.collect_event_batch(&mut batch).expect("collect"));
            }
            let calls = t0.elapsed();
            fl.store.sync().expect("sync");
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes: 0,
                stored: Box::new(fl),
            }
        }
        "firstlog-newevent" | "firstlog-from" | "firstlog-prebuilt" => {
            // firstlog-newevent: collect_batch(Vec<NewEvent>), the conversion timed;
            // firstlog-from: the same with collect_batch_from(&[NewEvent]) (not in
            // the default run: it measured the same); firstlog-prebuilt: a
            // diagnostic, conversion and drop of the NewEvents not timed.
            let fl = Firstlog::open(dir, Durability::default());
            let keys = &fl.keys;
            let convert = |chunk: &[AppEvent]| -> Vec<NewEvent> {
                chunk
                    .iter()
                    .map(|e| to_new_event(e, &keys[usize::from(e.source)]))
                    .collect()
            };
            let mut calls = Duration::ZERO;
            let t0 = Instant::now();
            for chunk in events.chunks(INGEST_BATCH) {
                match engine {
                    "firstlog-newevent" => {
                        Firstlog::check(fl.store.collect_batch(convert(chunk)).expect("collect"))
                    }
                    "firstlog-from" => {
                        let batch = convert(chunk);
                        Firstlog::check(fl.store.collect_batch_from(&batch).expect("collect"));
                    }
                    _ => {
                        // Diagnostic: the conversion is not timed.
                        let batch = convert(chunk);
                        let t = Instant::now();
                        Firstlog::check(fl.store.collect_batch_from(&batch).expect("collect"));
                        calls += t.elapsed();
                    }
                }
            }
            if engine != "firstlog-prebuilt" {
                calls = t0.elapsed();
            }
            let t = Instant::now();
            fl.store.sync().expect("sync");
            let total = calls + t.elapsed();
            Ingested {
                total,
                calls,
                input_bytes: 0,
                stored: Box::new(fl),
            }
        }
        "firstlog-json" => {
            let fl = Firstlog::open(dir, Durability::default());
            let bodies = json_bodies(events, &fl.keys);
            let input_bytes = bodies.iter().map(|b| b.len() as u64).sum();
            let t0 = Instant::now();
            for body in &bodies {
                Firstlog::check(fl.store.collect_batch_json(body).expect("collect"));
            }
            let calls = t0.elapsed();
            fl.store.sync().expect("sync");
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes,
                stored: Box::new(fl),
            }
        }
        "sqlite" => {
            let mut db = Sqlite::open(dir, "NORMAL");
            let t0 = Instant::now();
            for chunk in events.chunks(INGEST_BATCH) {
                db.insert(chunk);
            }
            let calls = t0.elapsed();
            db.sync();
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes: 0,
                stored: Box::new(db),
            }
        }
        "sqlite-json" => {
            // What a server without firstlog does with the same request bodies:
            // parse them into the application's struct, resolve the write key,
            // insert (a transaction per request).
            let mut db = Sqlite::open(dir, "NORMAL");
            let keys = peer_keys();
            let bodies = json_bodies(events, &keys);
            let input_bytes = bodies.iter().map(|b| b.len() as u64).sum();
            let by_key: HashMap<String, u16> = keys
                .iter()
                .enumerate()
                .map(|(k, key)| (key.clone(), k as u16))
                .collect();
            let t0 = Instant::now();
            for body in &bodies {
                let payloads: Vec<ParsedPayload> = serde_json::from_slice(body).expect("JSON");
                let batch: Vec<AppEvent> = payloads
                    .into_iter()
                    .map(|p| {
                        let source = by_key[p.write_key.as_str()];
                        p.into_app_event(source)
                    })
                    .collect();
                db.insert(&batch);
            }
            let calls = t0.elapsed();
            db.sync();
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes,
                stored: Box::new(db),
            }
        }
        "fjall" => {
            let mut db = Fjall::open(dir);
            let t0 = Instant::now();
            for chunk in events.chunks(INGEST_BATCH) {
                db.insert(chunk);
            }
            let calls = t0.elapsed();
            db.persist(fjall::PersistMode::SyncAll);
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes: 0,
                stored: Box::new(db),
            }
        }
        "naive" => {
            let mut db = Naive::open(dir);
            let t0 = Instant::now();
            for chunk in events.chunks(INGEST_BATCH) {
                db.append(chunk);
            }
            db.out.as_mut().expect("open").flush().expect("flush");
            let calls = t0.elapsed();
            db.sync();
            Ingested {
                total: t0.elapsed(),
                calls,
                input_bytes: 0,
                stored: Box::new(db),
            }
        }
        other => panic!("unknown ingest engine {other}"),
    }
}

/// With `COMPARE_VERBOSE` set, children say on stderr where their time goes.
fn phase(engine: &str, what: &str, since: Instant) {
    if std::env::var_os("COMPARE_VERBOSE").is_some() {
        eprintln!(
            "  {engine}: {what} at {:.2} s",
            since.elapsed().as_secs_f64()
        );
    }
}

fn child_ingest(engine: &str, n: u64, dir: &Path) {
    let started = Instant::now();
    let events: Vec<AppEvent> = Workload::standard(n).collect();
    phase(engine, "generated", started);
    let expected: Vec<AppEvent> = events
        .iter()
        .filter(|e| e.source == QUERY_SOURCE)
        .cloned()
        .collect();
    let Ingested {
        total,
        calls,
        input_bytes,
        mut stored,
    } = ingest(engine, dir, &events);
    phase(engine, "ingested", started);
    report("ingest_s", total.as_secs_f64());
    report("ingest_calls_s", calls.as_secs_f64());
    report("ingest_events", events.len() as f64);
    if input_bytes > 0 {
        report("ingest_input_bytes", input_bytes as f64);
    }
    // Freed before reading, as an application's heap would be: kept alive (or
    // leaked), the next allocations all grow the heap and fault in fresh pages,
    // which made every engine's queries up to 2x slower.
    drop(events);

    for (k, count) in stored.counts().iter().enumerate() {
        report(&format!("count_{k}"), *count as f64);
    }

    // The stores of the extra ingest paths hold what the main ones hold: one
    // query checks them, the reads are timed on the main ones. The naive log's
    // reads are full scans, stable: one run each.
    let runs = match engine {
        "firstlog-newevent" | "firstlog-prebuilt" | "firstlog-json" | "sqlite-json" => 1,
        "naive" => 1,
        _ => QUERY_RUNS,
    };
    let timed_reads = !matches!(
        engine,
        "firstlog-newevent" | "firstlog-prebuilt" | "firstlog-json" | "sqlite-json"
    );

    // Decoded query: the best of a few runs; the output is checked each time.
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t0 = Instant::now();
        let out = stored.query(QUERY_SOURCE);
        best = best.min(t0.elapsed());
        assert!(out == expected, "{engine}: the query returned other events");
        report("query_events", out.len() as f64);
        report("query_checksum", (checksum(&out) & ((1 << 52) - 1)) as f64);
    }
    phase(engine, "counted and queried", started);
    if !timed_reads {
        stored.close();
        return;
    }
    report("query_s", best.as_secs_f64());
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t0 = Instant::now();
        let Some(out) = stored.query_alt(QUERY_SOURCE) else {
            break;
        };
        best = best.min(t0.elapsed());
        assert!(out == expected, "{engine}: query_alt returned other events");
    }
    if best < Duration::MAX {
        report("query_alt_s", best.as_secs_f64());
    }

    // NDJSON output of the same source.
    let mut best = Duration::MAX;
    let mut out = Vec::new();
    for _ in 0..runs {
        out = Vec::new();
        let t0 = Instant::now();
        stored.ndjson(QUERY_SOURCE, &mut out);
        best = best.min(t0.elapsed());
    }
    if let Err(why) = check_ndjson(&out, &expected) {
        panic!("{engine}: NDJSON output wrong: {why}");
    }
    report("ndjson_s", best.as_secs_f64());
    report("ndjson_bytes", out.len() as f64);
    report("ndjson_lines", expected.len() as f64);
    phase(engine, "wrote NDJSON", started);

    stored.close();
    report("disk_bytes", disk_bytes(dir) as f64);
}

// ---------------------------------------------------------------------------
// The durable child: N/10 events, one fdatasync per batch of 100.

fn child_durable(engine: &str, n: u64, dir: &Path) {
    if engine == "raw" {
        return child_raw(dir);
    }
    let events: Vec<AppEvent> = Workload::standard(n).collect();
    let batches = events.chunks(DURABLE_BATCH);
    let (elapsed, counts) = match engine {
        "firstlog" => {
            let mut fl = Firstlog::open(dir, Durability::Sync);
            let mut batch = firstlog::EventBatch::new();
            let t0 = Instant::now();
            for chunk in batches {
                for e in chunk {
                    add_to_batch(&mut batch, e, &fl.keys[usize::from(e.source)]);
                }
                Firstlog::check(fl.store.collect_event_batch(&mut batch).expect("collect"));
            }
            let elapsed = t0.elapsed();
            let counts = fl.counts();
            Box::new(fl).close();
            (elapsed, counts)
        }
        "sqlite" => {
            let mut db = Sqlite::open(dir, "FULL");
            let t0 = Instant::now();
            for chunk in batches {
                db.insert(chunk);
            }
            let elapsed = t0.elapsed();
            let counts = db.counts();
            Box::new(db).close();
            (elapsed, counts)
        }
        "fjall" => {
            let mut db = Fjall::open(dir);
            let t0 = Instant::now();
            for chunk in batches {
                db.insert(chunk);
                db.persist(fjall::PersistMode::SyncData);
            }
            let elapsed = t0.elapsed();
            let counts = db.counts();
            Box::new(db).close();
            (elapsed, counts)
        }
        "naive" => {
            let mut db = Naive::open(dir);
            let t0 = Instant::now();
            for chunk in batches {
                db.append(chunk);
                db.sync();
            }
            let elapsed = t0.elapsed();
            let counts = db.counts();
            Box::new(db).close();
            (elapsed, counts)
        }
        other => panic!("unknown durable engine {other}"),
    };
    report("durable_s", elapsed.as_secs_f64());
    report("durable_events", events.len() as f64);
    report("durable_stored", counts.iter().sum::<u64>() as f64);
}

/// A write unit: segment index, start and end offsets.
type WriteUnit = (usize, usize, usize);

/// The byte ranges of firstlog's atomic write units in its segment files, read
/// with FORMAT.md: a 64-byte segment header (`FLOGSEG\0`, version at 8), records
/// from offset 64, each a record header (64 bytes in version 1, 72 in version
/// 2; `FLRC`, body_len at 4, flags at 20, bit 0 = end of batch) and the body,
/// padded to 8 bytes. Returns the units and the number of records, or None when
/// the files do not parse that way (then the caller splits the data evenly).
fn firstlog_write_units(segments: &[Vec<u8>]) -> Option<(Vec<WriteUnit>, u64)> {
    let mut units = Vec::new();
    let mut records = 0;
    for (i, seg) in segments.iter().enumerate() {
        if seg.len() < 64 || &seg[..8] != b"FLOGSEG\0" {
            return None;
        }
        let header = match u32::from_le_bytes(seg[8..12].try_into().ok()?) {
            1 => 64,
            2 => 72,
            _ => return None,
        };
        let mut off = 64;
        let mut start = off;
        while off + header <= seg.len() && &seg[off..off + 4] == b"FLRC" {
            let body_len = u32::from_le_bytes(seg[off + 4..off + 8].try_into().ok()?) as usize;
            let flags = u16::from_le_bytes(seg[off + 20..off + 22].try_into().ok()?);
            off += (header + body_len).div_ceil(8) * 8;
            records += 1;
            if flags & 1 != 0 {
                units.push((i, start, off));
                start = off;
            }
        }
    }
    (!units.is_empty()).then_some((units, records))
}

/// The ceiling of durable ingest: the bytes firstlog's durable run wrote (its
/// segments' data, in `dir`), replayed in the same write units, each write
/// followed by fdatasync. Two files: appended to (each sync also commits the new
/// size), and overwritten in place in a file written and synced beforehand (data
/// only). Reading the bytes is not timed.
fn child_raw(dir: &Path) {
    use std::os::unix::fs::FileExt;
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("firstlog durable store")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    names.sort();
    let segments: Vec<Vec<u8>> = names
        .iter()
        .map(|p| std::fs::read(p).expect("read segment"))
        .collect();
    let chunks: Vec<&[u8]> = match firstlog_write_units(&segments) {
        Some((units, records)) => {
            report("raw_parsed", 1.0);
            report("raw_records", records as f64);
            units.iter().map(|&(s, a, b)| &segments[s][a..b]).collect()
        }
        None => {
            // The format changed: the data of every segment (the trailing zeros
            // of a cleanly closed one cut), split evenly.
            report("raw_parsed", 0.0);
            let data: Vec<&[u8]> = segments
                .iter()
                .map(|s| {
                    let end = s.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
                    &s[64.min(end)..end]
                })
                .collect();
            let total: usize = data.iter().map(|d| d.len()).sum();
            let n_units = std::env::var("RAW_UNITS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000usize);
            let size = total.div_ceil(n_units).max(1);
            data.iter().flat_map(|d| d.chunks(size)).collect()
        }
    };
    let total: usize = chunks.iter().map(|c| c.len()).sum();
    report("raw_units", chunks.len() as f64);
    report("raw_bytes", total as f64);
    let out = dir.join("raw");
    std::fs::create_dir_all(&out).expect("create dir");

    let mut file = File::create(out.join("append.log")).expect("create");
    let t0 = Instant::now();
    for chunk in &chunks {
        file.write_all(chunk).expect("write");
        file.sync_data().expect("fdatasync");
    }
    report("raw_append_s", t0.elapsed().as_secs_f64());
    drop(file);

    let file = File::create(out.join("overwrite.log")).expect("create");
    file.write_all_at(&vec![0u8; total], 0).expect("write");
    file.sync_all().expect("fsync");
    let mut offset = 0u64;
    let t0 = Instant::now();
    for chunk in &chunks {
        file.write_all_at(chunk, offset).expect("pwrite");
        file.sync_data().expect("fdatasync");
        offset += chunk.len() as u64;
    }
    report("raw_overwrite_s", t0.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------
// The parent.

type Results = HashMap<String, f64>;

fn sync_all() {
    let _ = Command::new("sync").status();
}

fn spawn(engine: &str, phase: &str, n: u64, dir: &Path) -> Results {
    sync_all();
    let exe = std::env::current_exe().expect("current exe");
    let t0 = Instant::now();
    let output = Command::new(exe)
        .args(["--engine", engine, "--phase", phase, "--n"])
        .arg(n.to_string())
        .arg("--dir")
        .arg(dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("spawn child");
    assert!(
        output.status.success(),
        "child {engine} {phase} failed: {}",
        output.status
    );
    let mut results = Results::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let mut parts = line.split_whitespace();
        if parts.next() == Some("RESULT")
            && let (Some(key), Some(value)) = (parts.next(), parts.next())
        {
            results.insert(key.to_owned(), value.parse().unwrap_or(f64::NAN));
        }
    }
    eprintln!(
        "compare: {phase:<7} {engine:<17} {:>6.1} s",
        t0.elapsed().as_secs_f64()
    );
    results
}

/// Keeps the best (lowest) time of each `_s` key across rounds; other values
/// are those of the first round.
fn merge(into: &mut Results, round: &Results) {
    for (key, &value) in round {
        let kept = into.entry(key.clone()).or_insert(value);
        if key.ends_with("_s") {
            *kept = kept.min(value);
        }
    }
}

fn get(r: &Results, key: &str) -> f64 {
    r.get(key).copied().unwrap_or(f64::NAN)
}

fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x >= 100.0 {
        let s = format!("{x:.0}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .unwrap_or("unknown CPU")
        .trim()
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{model}, {cores} cores, Linux {}, load average before the run {}",
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// A Markdown table with right-aligned numeric columns.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].chars().count(), 3])
                .max()
                .unwrap_or(3)
        })
        .collect();
    let mut out = String::new();
    let line = |cells: Vec<String>| -> String {
        let mut s = String::from("|");
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                s.push_str(&format!(" {cell}{} |", " ".repeat(pad)));
            } else {
                s.push_str(&format!(" {}{cell} |", " ".repeat(pad)));
            }
        }
        s.push('\n');
        s
    };
    out.push_str(&line(header.iter().map(|h| h.to_string()).collect()));
    let mut sep = String::from("|");
    for (c, w) in widths.iter().enumerate() {
        if c == 0 {
            sep.push_str(&format!(":{}|", "-".repeat(w + 1)));
        } else {
            sep.push_str(&format!("{}:|", "-".repeat(w + 1)));
        }
    }
    out.push_str(&sep);
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

fn parent() {
    let n: u64 = match std::env::var("N") {
        Ok(v) => v
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("N={v:?} is not a number")),
        Err(_) => 1_000_000,
    };
    let n_durable = (n / 10).max(DURABLE_BATCH as u64);
    let rounds = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let ingest_rounds = rounds("INGEST_ROUNDS", INGEST_ROUNDS);
    let durable_rounds = rounds("DURABLE_ROUNDS", DURABLE_ROUNDS);
    let machine = machine();
    let base_parent = std::env::var_os("COMPARE_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&base_parent).expect("create dir");
    let base = tempfile::Builder::new()
        .prefix("compare-data-")
        .tempdir_in(&base_parent)
        .expect("temp dir");
    let started = Instant::now();
    eprintln!(
        "compare: N = {n} events (durable: {n_durable}), data in {}",
        base.path().display()
    );

    // What every engine must return, and the sizes of the input (not timed).
    let mut expected_counts = [0u64; SOURCES];
    let mut expected_query = Vec::new();
    let mut json_bytes = 0u64;
    let mut bincode_bytes = 0u64;
    let mut buf = Vec::new();
    let keys = peer_keys();
    for e in Workload::standard(n) {
        expected_counts[usize::from(e.source)] += 1;
        buf.clear();
        workload::firstparty_json(&e, &keys[usize::from(e.source)], &mut buf);
        json_bytes += buf.len() as u64;
        buf.clear();
        bincode::serde::encode_into_std_write(&e, &mut buf, bincode_config()).expect("encode");
        bincode_bytes += buf.len() as u64;
        if e.source == QUERY_SOURCE {
            expected_query.push(e);
        }
    }
    let json_per_event = json_bytes as f64 / n as f64;
    let expected_checksum = (checksum(&expected_query) & ((1 << 52) - 1)) as f64;
    let mut failures: Vec<String> = Vec::new();

    // Ingest, counts, queries: interleaved rounds, the best time of each counts.
    let mut ingest: HashMap<&str, Results> = HashMap::new();
    for _ in 0..ingest_rounds {
        for engine in ENGINES_INGEST {
            let dir = base.path().join(format!("ingest-{engine}"));
            let r = spawn(engine, "ingest", n, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            for (k, &want) in expected_counts.iter().enumerate() {
                let got = get(&r, &format!("count_{k}"));
                if got != want as f64 {
                    failures.push(format!(
                        "{engine}: source {k} holds {got} events, {want} expected"
                    ));
                }
            }
            if get(&r, "query_checksum") != expected_checksum
                || get(&r, "query_events") != expected_query.len() as f64
            {
                failures.push(format!(
                    "{engine}: query checksum {} over {} events, {} over {} expected",
                    get(&r, "query_checksum"),
                    get(&r, "query_events"),
                    expected_checksum,
                    expected_query.len()
                ));
            }
            merge(ingest.entry(engine).or_default(), &r);
        }
    }

    // Durable ingest: interleaved rounds, the best round of each engine counts;
    // the raw replay runs right after firstlog, on the bytes it wrote.
    let mut durable: HashMap<&str, Results> = HashMap::new();
    let mut durable_rounds_seen: HashMap<&str, Vec<f64>> = HashMap::new();
    for round in 0..durable_rounds {
        let fl_dir = base.path().join(format!("durable-firstlog-{round}"));
        for engine in ENGINES_DURABLE {
            let dir = if engine == "raw" {
                fl_dir.clone()
            } else {
                base.path().join(format!("durable-{engine}-{round}"))
            };
            let r = spawn(engine, "durable", n_durable, &dir);
            if engine != "firstlog" {
                let _ = std::fs::remove_dir_all(&dir);
            }
            if engine == "raw" {
                if get(&r, "raw_parsed") == 1.0 && get(&r, "raw_records") != n_durable as f64 {
                    failures.push(format!(
                        "raw: parsed {} records in firstlog's segments, {n_durable} expected",
                        get(&r, "raw_records")
                    ));
                }
                let best = get(&r, "raw_append_s").min(get(&r, "raw_overwrite_s"));
                durable_rounds_seen
                    .entry(engine)
                    .or_default()
                    .push(n_durable as f64 / best);
            } else {
                if get(&r, "durable_stored") != n_durable as f64 {
                    failures.push(format!(
                        "{engine} durable: {} events stored, {n_durable} expected",
                        get(&r, "durable_stored")
                    ));
                }
                durable_rounds_seen
                    .entry(engine)
                    .or_default()
                    .push(n_durable as f64 / get(&r, "durable_s"));
            }
            merge(durable.entry(engine).or_default(), &r);
        }
    }
    let elapsed = started.elapsed();

    // The table.
    let per_s = |r: &Results, key: &str| -> f64 { get(r, "ingest_events") / get(r, key) };
    let ing = |e: &str| ingest.get(e).cloned().unwrap_or_default();
    let dur = |e: &str| durable.get(e).cloned().unwrap_or_default();
    let q = expected_query.len() as f64;
    let mb = 1e6;

    let typed = |e: &str| per_s(&ing(e), "ingest_s");
    let typed_calls = |e: &str| per_s(&ing(e), "ingest_calls_s");
    let json = |e: &str| per_s(&ing(e), "ingest_s");
    let json_mb = |e: &str| get(&ing(e), "ingest_input_bytes") / get(&ing(e), "ingest_s") / mb;
    let durable_rate = |e: &str| n_durable as f64 / get(&dur(e), "durable_s");
    let raw_append = n_durable as f64 / get(&dur("raw"), "raw_append_s");
    let raw_overwrite = n_durable as f64 / get(&dur("raw"), "raw_overwrite_s");
    let raw = raw_append.max(raw_overwrite);
    let query = |e: &str| q / get(&ing(e), "query_s");
    let query_alt = |e: &str| q / get(&ing(e), "query_alt_s");
    let ndjson = |e: &str| q / get(&ing(e), "ndjson_s");
    let ndjson_mb = |e: &str| get(&ing(e), "ndjson_bytes") / get(&ing(e), "ndjson_s") / mb;
    let disk = |e: &str| get(&ing(e), "disk_bytes") / (1u64 << 20) as f64;

    let row = |name: &str, cells: [f64; 5]| -> Vec<String> {
        let mut r = vec![name.to_owned()];
        r.extend(cells.iter().map(|&c| fmt_num(c)));
        r
    };
    let none = f64::NAN;
    let rows = vec![
        row(
            "typed ingest (firstlog: EventBatch), batches of 1000, then synced (events/s)",
            [
                typed("firstlog"),
                typed("sqlite"),
                typed("fjall"),
                typed("naive"),
                none,
            ],
        ),
        row(
            "typed ingest, batches of 1000, then synced (MB/s of JSON)",
            [
                typed("firstlog") * json_per_event / mb,
                typed("sqlite") * json_per_event / mb,
                typed("fjall") * json_per_event / mb,
                typed("naive") * json_per_event / mb,
                none,
            ],
        ),
        row(
            "typed ingest, the calls alone, before the final sync (events/s)",
            [
                typed_calls("firstlog"),
                typed_calls("sqlite"),
                typed_calls("fjall"),
                typed_calls("naive"),
                none,
            ],
        ),
        row(
            "typed ingest via NewEvent, batches of 1000, then synced (events/s)",
            [typed("firstlog-newevent"), none, none, none, none],
        ),
        row(
            "firstlog alone: NewEvents built untimed, collect_batch_from (events/s)",
            [typed("firstlog-prebuilt"), none, none, none, none],
        ),
        row(
            "JSON ingest, request bodies of 100, then synced (events/s)",
            [json("firstlog-json"), json("sqlite-json"), none, none, none],
        ),
        row(
            "JSON ingest, request bodies of 100, then synced (MB/s of JSON)",
            [
                json_mb("firstlog-json"),
                json_mb("sqlite-json"),
                none,
                none,
                none,
            ],
        ),
        row(
            "durable ingest, fdatasync per 100 (events/s)",
            [
                durable_rate("firstlog"),
                durable_rate("sqlite"),
                durable_rate("fjall"),
                durable_rate("naive"),
                raw,
            ],
        ),
        row(
            "decoded query, source 3 into AppEvents (events/s)",
            [
                query("firstlog"),
                query("sqlite"),
                query("fjall"),
                query("naive"),
                none,
            ],
        ),
        row(
            "decoded query, firstlog via owned iter() (events/s)",
            [query_alt("firstlog"), none, none, none, none],
        ),
        row(
            "NDJSON of source 3 (events/s)",
            [
                ndjson("firstlog"),
                ndjson("sqlite"),
                ndjson("fjall"),
                ndjson("naive"),
                none,
            ],
        ),
        row(
            "NDJSON of source 3 (MB/s written)",
            [
                ndjson_mb("firstlog"),
                ndjson_mb("sqlite"),
                ndjson_mb("fjall"),
                ndjson_mb("naive"),
                none,
            ],
        ),
        row(
            "bytes on disk after ingest (MiB)",
            [
                disk("firstlog"),
                disk("sqlite"),
                disk("fjall"),
                disk("naive"),
                none,
            ],
        ),
    ];

    let ratio = |a: f64, b: f64| -> String {
        let r = a / b;
        if r.is_finite() {
            format!("{r:.2}x")
        } else {
            "n/a".to_owned()
        }
    };
    let pct = |a: f64, b: f64| -> String {
        let r = a / b;
        if r.is_finite() {
            format!("{:.0} %", r * 100.0)
        } else {
            "n/a".to_owned()
        }
    };
    let goal_rows: Vec<Vec<String>> = vec![
        vec![
            "typed ingest vs SQLite".into(),
            ratio(typed("firstlog"), typed("sqlite")),
            ">= 3x".into(),
        ],
        vec![
            "typed ingest vs fjall".into(),
            ratio(typed("firstlog"), typed("fjall")),
            ">= 2.5x".into(),
        ],
        vec![
            "typed ingest vs naive log".into(),
            ratio(typed("firstlog"), typed("naive")),
            ">= 1.5x".into(),
        ],
        vec![
            "typed ingest via NewEvent vs SQLite".into(),
            ratio(typed("firstlog-newevent"), typed("sqlite")),
            "".into(),
        ],
        vec![
            "JSON ingest vs SQLite (same request bodies)".into(),
            ratio(json("firstlog-json"), json("sqlite-json")),
            ">= 2x".into(),
        ],
        vec![
            "JSON ingest vs SQLite typed ingest".into(),
            ratio(json("firstlog-json"), typed("sqlite")),
            "".into(),
        ],
        vec![
            "durable ingest vs SQLite (synchronous=FULL)".into(),
            ratio(durable_rate("firstlog"), durable_rate("sqlite")),
            ">= 1.5x".into(),
        ],
        vec![
            "durable ingest vs raw write+fdatasync (best variant)".into(),
            pct(durable_rate("firstlog"), raw),
            ">= 90 %".into(),
        ],
        vec![
            "durable ingest vs raw, appending variant".into(),
            pct(durable_rate("firstlog"), raw_append),
            "".into(),
        ],
        vec![
            "decoded query vs SQLite".into(),
            ratio(query("firstlog"), query("sqlite")),
            ">= 2x".into(),
        ],
        vec![
            "decoded query vs fjall".into(),
            ratio(query("firstlog"), query("fjall")),
            ">= 2x".into(),
        ],
        vec![
            "NDJSON vs SQLite".into(),
            ratio(ndjson("firstlog"), ndjson("sqlite")),
            ">= 2x".into(),
        ],
    ];

    println!(
        "firstlog vs SQLite vs fjall vs a naive log, on the application's own events: \
         N = {n} ({json_per_event:.0} B of Firstparty JSON, {:.0} B of bincode per event); \
         query source 3 = {} events ({:.1} %); durable: {n_durable} events; best of {ingest_rounds} \
         rounds (durable: {durable_rounds}).\n",
        bincode_bytes as f64 / n as f64,
        expected_query.len(),
        100.0 * q / n as f64
    );
    print!(
        "{}",
        table(
            &[
                "path",
                "firstlog",
                "SQLite",
                "fjall",
                "naive log",
                "raw write+fdatasync"
            ],
            &rows
        )
    );
    println!();
    print!(
        "{}",
        table(&["ratio", "measured", "target (issue 11)"], &goal_rows)
    );
    println!();
    println!("```");
    println!("machine: {machine}");
    println!(
        "raw write+fdatasync of firstlog's bytes: {} events/s appending, {} events/s overwriting a \
         pre-written file; {} write units, {} bytes ({})",
        fmt_num(raw_append),
        fmt_num(raw_overwrite),
        get(&dur("raw"), "raw_units"),
        fmt_num(get(&dur("raw"), "raw_bytes")),
        if get(&dur("raw"), "raw_parsed") == 1.0 {
            "units parsed from the segments per FORMAT.md"
        } else {
            "segments did not parse as FORMAT.md v1: data split evenly"
        }
    );
    let mut line = String::from("durable rounds (events/s):");
    for engine in ENGINES_DURABLE {
        let v: Vec<String> = durable_rounds_seen
            .get(engine)
            .map(|v| v.iter().map(|&x| fmt_num(x)).collect())
            .unwrap_or_default();
        line.push_str(&format!(" {engine} {};", v.join(" / ")));
    }
    println!("{line}");
    println!(
        "calls alone, before the final sync: firstlog prebuilt {} events/s; \
         JSON: firstlog {} events/s, SQLite {} events/s",
        fmt_num(typed_calls("firstlog-prebuilt")),
        fmt_num(typed_calls("firstlog-json")),
        fmt_num(typed_calls("sqlite-json")),
    );
    println!(
        "checks: per-source counts and the query checksum ({expected_checksum}) agree across all \
         engines and rounds: {}; run took {:.0} s",
        if failures.is_empty() { "yes" } else { "NO" },
        elapsed.as_secs_f64()
    );
    println!("```");
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("compare: CHECK FAILED: {f}");
        }
        std::process::exit(1);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    match (arg("--engine"), arg("--phase")) {
        (Some(engine), Some(phase)) => {
            let n: u64 = arg("--n").expect("--n").parse().expect("--n is a number");
            let dir = Path::new(arg("--dir").expect("--dir"));
            match phase {
                "ingest" => child_ingest(engine, n, dir),
                "durable" => child_durable(engine, n, dir),
                other => panic!("unknown phase {other}"),
            }
        }
        _ => parent(),
    }
}
