//! `collect [FILE|-]`: newline-delimited Firstparty payloads, collected in
//! batches. A line that is not one JSON value is refused on its own (through the
//! store, so it is quarantined with its reason); the other lines of its batch go
//! on. Exit status 1 only when the input cannot be read (or the store fails).

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use firstlog::{Limits, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::value::RawValue;

use crate::CollectArgs;
use crate::common::{self, CmdResult, Failure, with_stdout};
use crate::output::{bytes, per_second, thousands};
use crate::tally::Tally;

/// A batch request is sent when it reaches this many bytes or events (under the
/// store's batch limits).
const BATCH_BYTES_TARGET: usize = 400 << 10;
const BATCH_EVENTS_TARGET: usize = 2000;

/// Collects NDJSON lines in batch requests and adds up the outcomes.
pub struct Collector<'s> {
    store: &'s Store,
    /// The pending batch request: `[l1,l2,...` (closed when sent).
    json: Vec<u8>,
    /// The line numbers of its items.
    lines: Vec<u64>,
    limits: Limits,
    /// The outcomes so far.
    pub tally: Tally,
    /// Time spent inside the store's collect calls.
    pub busy: Duration,
}

impl<'s> Collector<'s> {
    /// A collector for `store` (opened with default limits).
    pub fn new(store: &'s Store) -> Self {
        Collector {
            store,
            json: Vec::with_capacity(BATCH_BYTES_TARGET + (64 << 10)),
            lines: Vec::with_capacity(BATCH_EVENTS_TARGET),
            limits: Limits::default(),
            tally: Tally::default(),
            busy: Duration::ZERO,
        }
    }

    /// Takes one line (line number `number`); blank lines are skipped. Returns
    /// true when a batch was sent.
    pub fn line(&mut self, line: &[u8], number: u64) -> Result<bool, Failure> {
        let text = line.trim_ascii();
        if text.is_empty() {
            return Ok(false);
        }
        let well_formed = text.len() <= self.limits.event_bytes_max
            && serde_json::from_slice::<&RawValue>(text).is_ok();
        if !well_formed {
            // Refused through the store, so the reason is the store's and the
            // payload lands in the quarantine.
            let started = Instant::now();
            let outcome = self.store.collect_json(text);
            self.busy += started.elapsed();
            self.tally.add(&outcome, number);
            return Ok(false);
        }
        self.json
            .push(if self.lines.is_empty() { b'[' } else { b',' });
        self.json.extend_from_slice(text);
        self.lines.push(number);
        if self.json.len() >= BATCH_BYTES_TARGET || self.lines.len() >= BATCH_EVENTS_TARGET {
            self.flush()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Sends the pending batch.
    pub fn flush(&mut self) -> Result<(), Failure> {
        if self.lines.is_empty() {
            return Ok(());
        }
        self.json.push(b']');
        let started = Instant::now();
        let outcomes = self.store.collect_batch_json(&self.json);
        self.busy += started.elapsed();
        for (outcome, line) in outcomes?.iter().zip(&self.lines) {
            self.tally.add(outcome, *line);
        }
        self.json.clear();
        self.lines.clear();
        Ok(())
    }
}

/// `collect`.
pub fn run(dir: &Path, args: &CollectArgs) -> CmdResult {
    let (input, size, label): (Box<dyn Read>, Option<u64>, String) = if args.file == "-" {
        (Box::new(io::stdin().lock()), None, "standard input".into())
    } else {
        let path = Path::new(&args.file);
        let file = File::open(path)
            .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
        let size = file.metadata().ok().map(|m| m.len());
        (Box::new(file), size, path.display().to_string())
    };
    let store = common::open_existing_with(dir, common::write_options(&args.write)?)?;
    let progress = progress_bar(size);
    let started = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut collector = Collector::new(&store);
    let mut line = Vec::with_capacity(4096);
    let (mut number, mut read_bytes) = (0u64, 0u64);
    let mut read_error = None;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => read_bytes += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
        number += 1;
        if collector.line(&line, number)? {
            progress.set_position(size.map_or(number, |_| read_bytes));
        }
    }
    collector.flush()?;
    store.close()?;
    progress.finish_and_clear();
    let tally = collector.tally;
    let elapsed = started.elapsed();
    print_summary(args.json, &label, number, read_bytes, elapsed, &tally)?;
    match read_error {
        Some(e) => Err(Failure(format!(
            "reading {label} failed after line {number}: {e}"
        ))),
        None => Ok(ExitCode::SUCCESS),
    }
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match size {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{spinner} collecting [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} collecting: {pos} lines ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

fn print_summary(
    json: bool,
    label: &str,
    lines: u64,
    read_bytes: u64,
    elapsed: Duration,
    tally: &Tally,
) -> Result<(), Failure> {
    let secs = elapsed.as_secs_f64();
    let handled = tally.accepted
        + tally.duplicates
        + tally.suppressed
        + tally.dropped_total()
        + tally.rejected;
    let rate = per_second(handled as f64, secs);
    with_stdout(|out| {
        if json {
            let mut summary = tally.to_json();
            summary["lines"] = lines.into();
            summary["bytes"] = read_bytes.into();
            summary["seconds"] = secs.into();
            summary["events_per_second"] = rate.round().into();
            return writeln!(out, "{summary}");
        }
        writeln!(
            out,
            "collected {} payloads from {label} in {secs:.2} s ({} events/s, {}/s)",
            thousands(handled),
            thousands(rate.round() as u64),
            bytes(per_second(read_bytes as f64, secs) as u64),
        )?;
        let dropped: Vec<String> = tally
            .dropped
            .iter()
            .map(|(rule, n)| format!("{rule}: {n}"))
            .collect();
        writeln!(out, "  accepted         {:>10}", thousands(tally.accepted))?;
        writeln!(
            out,
            "  duplicates       {:>10}",
            thousands(tally.duplicates)
        )?;
        writeln!(
            out,
            "  dropped by rules {:>10}{}",
            thousands(tally.dropped_total()),
            if dropped.is_empty() {
                String::new()
            } else {
                format!("  ({})", dropped.join(", "))
            }
        )?;
        if tally.suppressed > 0 {
            writeln!(
                out,
                "  suppressed       {:>10}  (profiles suppressed: not stored)",
                thousands(tally.suppressed)
            )?;
        }
        writeln!(out, "  rejected         {:>10}", thousands(tally.rejected))?;
        writeln!(
            out,
            "  naming warnings  {:>10}  (events stored with a name that breaks the guideline)",
            thousands(tally.naming_total())
        )?;
        if !tally.first_rejections.is_empty() {
            writeln!(out, "\nfirst rejected lines:")?;
            for (line, why) in &tally.first_rejections {
                writeln!(out, "  line {line}: {why}")?;
            }
        }
        if !tally.naming.is_empty() {
            writeln!(out, "\nnaming warnings:")?;
            tally.write_naming(out, "  ")?;
        }
        Ok(())
    })
}
