//! `demo`: creates the seed document's five sources in a fresh store, collects a
//! generated week of traffic as JSON through rules (emails hashed, heartbeats
//! dropped), and shows what a user wants to see. The store is left behind to
//! explore with the printed commands.

mod generate;
mod mix;
mod report;

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use clap::Parser;
use firstlog::{Options, Source, Store};
use indicatif::{ProgressBar, ProgressStyle};

use crate::DemoArgs;
use crate::collect::Collector;
use crate::common::{CmdResult, Failure};
use generate::{Generator, SOURCE_NAMES};

/// The demo's rules, as a user would write them in a rules file.
pub const RULES_JSON: &str = r#"{"rules": [
  {"type": "hash_property", "key": "email", "salt": "firstlog-demo"},
  {"type": "hash_property", "key": "invitee_email", "salt": "firstlog-demo"},
  {"type": "drop_events", "name": "drop heartbeats", "names": ["Heartbeat Sent"]}
]}"#;

/// Payloads per chunk handed from the generator thread to the collector.
const CHUNK_LINES: usize = 1000;

/// What the run measured, for the report.
pub struct Run {
    pub dir: PathBuf,
    pub sources: Vec<Source>,
    pub payloads: u64,
    pub json_bytes: u64,
    pub wall: Duration,
    pub busy: Duration,
}

/// `demo`.
pub fn run(data: Option<PathBuf>, args: &DemoArgs) -> CmdResult {
    let dir = match data {
        Some(dir) => {
            check_empty(&dir)?;
            std::fs::create_dir_all(&dir)
                .map_err(|e| Failure(format!("cannot create {}: {e}", dir.display())))?;
            dir
        }
        None => fresh_temp_dir()?,
    };
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    println!(
        "firstlog demo: {} generated payloads into a new store at {}\n",
        crate::output::thousands(args.events),
        dir.display()
    );
    let mut options = Options::default();
    for (scope, rule) in firstlog::parse_rules_json(RULES_JSON)? {
        options = options.rule(scope, rule);
    }
    let store = Store::open_with(&dir, options)?;
    let sources = SOURCE_NAMES
        .iter()
        .map(|name| store.create_source(name))
        .collect::<Result<Vec<_>, _>>()?;
    let (tally, run) = collect(&store, sources, args, dir)?;
    report::print(&store, &tally, &run).map_err(|e| Failure(format!("cannot print: {e}")))?;
    if args.serve {
        return serve(store, &run.dir, &args.addr);
    }
    store.close()?;
    Ok(ExitCode::SUCCESS)
}

/// `demo --serve`: serves the demo's store (its rules still on) with the
/// console and a new random read token, until Ctrl-C.
fn serve(store: Store, dir: &Path, addr: &str) -> CmdResult {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Failure(format!("cannot generate a read token: {e}")))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let args = crate::ServeOnly::try_parse_from(["demo", "--addr", addr, "--read-token", &token])
        .map_err(|e| Failure(format!("demo --serve: {e}")))?
        .serve;
    crate::serve::serve_store(store, dir, &args, Some(&token))
}

/// Generates on a second thread while this one collects.
fn collect(
    store: &Store,
    sources: Vec<Source>,
    args: &DemoArgs,
    dir: PathBuf,
) -> Result<(crate::tally::Tally, Run), Failure> {
    let keys: Vec<String> = sources.iter().map(|s| s.write_key().to_owned()).collect();
    let (tx, rx) = sync_channel::<Vec<u8>>(8);
    let (seed, total) = (args.seed, args.events);
    let generator = std::thread::spawn(move || {
        let mut g = Generator::new(seed, keys, total);
        loop {
            let mut chunk = Vec::with_capacity(CHUNK_LINES * 700);
            let mut n = 0;
            while n < CHUNK_LINES && g.next_line(&mut chunk) {
                chunk.push(b'\n');
                n += 1;
            }
            if n == 0 || tx.send(chunk).is_err() {
                break;
            }
        }
    });
    let progress = if io::stderr().is_terminal() {
        ProgressBar::new(total).with_style(
            ProgressStyle::with_template("collecting [{bar:40}] {pos}/{len} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        )
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut collector = Collector::new(store);
    let (mut payloads, mut json_bytes) = (0u64, 0u64);
    for chunk in rx {
        json_bytes += chunk.len() as u64;
        for line in chunk.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            payloads += 1;
            collector.line(line, payloads)?;
        }
        progress.set_position(payloads);
    }
    collector.flush()?;
    let sync_started = Instant::now();
    store.sync()?;
    collector.busy += sync_started.elapsed();
    let wall = started.elapsed();
    progress.finish_and_clear();
    generator
        .join()
        .map_err(|_| Failure("the demo's generator thread panicked".into()))?;
    let run = Run {
        dir,
        sources,
        payloads,
        json_bytes,
        wall,
        busy: collector.busy,
    };
    Ok((collector.tally, run))
}

/// `--data` must name a new or empty directory: the demo creates its own sources.
fn check_empty(dir: &Path) -> Result<(), Failure> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Failure(format!(
                    "the demo needs a new or empty directory; {} is not empty \
                     (omit --data to use a fresh temporary directory)",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Failure(format!("cannot use {}: {e}", dir.display()))),
    }
}

/// A new directory under the system's temporary directory.
fn fresh_temp_dir() -> Result<PathBuf, Failure> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..100u32 {
        let name = format!(
            "firstlog-demo-{}-{:x}",
            std::process::id(),
            nanos.wrapping_add(attempt)
        );
        let dir = base.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Failure(format!(
                    "cannot create a directory in {}: {e} (pass --data DIR)",
                    base.display()
                )));
            }
        }
    }
    Err(Failure(format!(
        "cannot find a free directory name in {} (pass --data DIR)",
        base.display()
    )))
}
