//! `tail`: every source's events in log order as NDJSON (one object per line,
//! the shape of `query`), for piping into a broker. With `--consumer NAME` it
//! resumes where that consumer's last committed offset points, and commits a
//! new offset only after the lines before it were flushed to standard output:
//! every event at least once across restarts, in order, none twice within one
//! run. With `--follow` it waits for new events (the store directory watched
//! with inotify, the store reopened read-only when it changes).

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use firstlog::{Consumer, Error, Store};

use crate::TailArgs;
use crate::common::{self, CmdResult, Failure};
use crate::watch::DirWatch;

/// Events written between two offset commits.
const COMMIT_EVERY: u64 = 10_000;

/// Where the output stands.
struct Output {
    out: BufWriter<io::StdoutLock<'static>>,
    consumer: Option<Consumer>,
    sources: BTreeSet<u32>,
    line: Vec<u8>,
    /// Events written since the last commit.
    uncommitted: u64,
}

impl Output {
    /// Flushes standard output, then records `next_seq` as the consumer's
    /// offset. False when the reader of standard output has gone.
    fn commit(&mut self, next_seq: u64) -> Result<bool, Failure> {
        match self.out.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(false),
            Err(e) => return Err(Failure(format!("cannot write the output: {e}"))),
        }
        if let Some(consumer) = &mut self.consumer {
            consumer.commit(next_seq)?;
        }
        self.uncommitted = 0;
        Ok(true)
    }

    /// Writes one event; false when the reader of standard output has gone.
    fn write(&mut self, event: &firstlog::Event) -> Result<bool, Failure> {
        self.line.clear();
        event.write_json(&mut self.line);
        self.line.push(b'\n');
        match self.out.write_all(&self.line) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(Failure(format!("cannot write the output: {e}"))),
        }
    }
}

/// `tail`.
pub fn run(dir: &Path, args: &TailArgs) -> CmdResult {
    let mut store = common::open_reader(dir)?;
    let consumer = args
        .consumer
        .as_deref()
        .map(|name| store.consumer(name))
        .transpose()?;
    let mut next = args
        .from
        .or_else(|| consumer.as_ref().map(Consumer::offset))
        .unwrap_or(0);
    let mut output = Output {
        out: BufWriter::with_capacity(64 << 10, io::stdout().lock()),
        consumer,
        sources: args.sources.iter().copied().collect(),
        line: Vec::with_capacity(1024),
        uncommitted: 0,
    };
    let watch = args.follow.then(|| DirWatch::new(dir));
    let poll = Duration::from_millis(args.poll_ms.max(10));
    loop {
        let Some(after) = drain(&store, next, &mut output)? else {
            return Ok(ExitCode::SUCCESS);
        };
        next = after;
        if !output.commit(next)? {
            return Ok(ExitCode::SUCCESS);
        }
        let Some(watch) = &watch else {
            return Ok(ExitCode::SUCCESS);
        };
        watch.wait(poll);
        store = reopen(dir, poll)?;
    }
}

/// Opens the store read-only again to see what the writer committed since;
/// a failure (the writer in the middle of creating a segment, say) is retried
/// a few times before it ends the command.
fn reopen(dir: &Path, pause: Duration) -> Result<Store, Failure> {
    const ATTEMPTS: u32 = 5;
    let mut attempt = 1;
    loop {
        match Store::open_read_only(dir) {
            Ok(store) => return Ok(store),
            Err(e) if attempt < ATTEMPTS => {
                eprintln!("firstlog tail: reopening the store failed ({e}); retrying");
                std::thread::sleep(pause);
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Writes every event from `next` on that the store shows; returns where to
/// continue, `None` when standard output has gone.
fn drain(store: &Store, next: u64, output: &mut Output) -> Result<Option<u64>, Failure> {
    let mut reader = store.read_from(next);
    loop {
        let event = match reader.next() {
            None => return Ok(Some(reader.next_seq().max(next))),
            Some(Ok(event)) => event,
            Some(Err(Error::BelowLogStart {
                requested,
                log_start,
            })) => {
                eprintln!(
                    "firstlog tail: warning: events {requested} to {} were deleted by retention \
                     before they were read; continuing at {log_start}",
                    log_start.saturating_sub(1)
                );
                reader = store.read_from(log_start);
                continue;
            }
            Some(Err(e)) => return Err(e.into()),
        };
        let wanted = output.sources.is_empty() || output.sources.contains(&event.source().0);
        if wanted && !output.write(&event)? {
            return Ok(None);
        }
        output.uncommitted += 1;
        if output.uncommitted >= COMMIT_EVERY && !output.commit(event.seq() + 1)? {
            return Ok(None);
        }
    }
}
