//! `stats`, `verify` and `rules check`.

use std::path::Path;
use std::process::ExitCode;

use firstlog::{Error, Scope};

use crate::Format;
use crate::common::{self, CmdResult, Failure, with_stdout};
use crate::output::{Table, bytes, thousands, time_or_dash};

/// `stats`.
pub fn stats(dir: &Path, format: Format) -> CmdResult {
    let store = common::open_reader(dir)?;
    let stats = store.stats();
    let segment_bytes = store
        .segment_bytes()
        .unwrap_or(firstlog::Options::SEGMENT_BYTES_DEFAULT);
    drop(store);
    with_stdout(|out| {
        if format == Format::Ndjson {
            return writeln!(out, "{}", serde_json::to_string(&stats).unwrap_or_default());
        }
        writeln!(out, "store {}", dir.display())?;
        writeln!(
            out,
            "  {} events, {} in {} segments ({} sealed); last seq {}, synced up to {}",
            thousands(stats.events),
            bytes(stats.bytes),
            stats.segments,
            stats.sealed_segments,
            stats.last_seq,
            stats.synced_seq
        )?;
        writeln!(
            out,
            "  log start {}; {} pending erasures; {} suppressed profiles",
            stats.log_start, stats.pending_erasures, stats.suppressed_profiles
        )?;
        if let Some(error) = &stats.maintenance_error {
            writeln!(out, "  last maintenance pass failed: {error}")?;
        }
        if let Some(free) = stats.disk_free_bytes {
            writeln!(out, "  {}", disk_line(free, segment_bytes))?;
        }
        let mut table = Table::new(&[
            "id",
            "source",
            ">events",
            ">bytes",
            "first event",
            "last event",
        ]);
        for s in &stats.sources {
            table.row(vec![
                s.source.to_string(),
                s.name.clone(),
                thousands(s.events),
                bytes(s.bytes),
                time_or_dash(s.first_timestamp_ms),
                time_or_dash(s.last_timestamp_ms),
            ]);
        }
        table.write(out, "  ")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What the free space means for a writer, which reserves a segment at a time
/// (smaller ones, down to 256 KiB, when space is short).
fn disk_line(free: u64, segment_bytes: u64) -> String {
    let smallest = segment_bytes.min(256 << 10);
    let state = if free >= segment_bytes {
        "room for new segments".to_owned()
    } else if free >= smallest {
        format!(
            "short: new segments are smaller than {}",
            bytes(segment_bytes)
        )
    } else {
        format!(
            "full: a writer refuses events (disk_full) once its segment is full; free at least {}",
            bytes(smallest)
        )
    };
    format!(
        "disk: {} free, segments of {}: {state}",
        bytes(free),
        bytes(segment_bytes)
    )
}

/// `verify`: exit status 1 when anything is damaged. It writes nothing (a
/// read-only open: it works beside `serve`, and on a full disk); what a
/// writable open would repair is reported.
pub fn verify(dir: &Path) -> CmdResult {
    let store = common::open_reader(dir)?;
    let report = store.verify();
    let repairs = store.open_report().clone();
    drop(store);
    let report = match report {
        Ok(report) => report,
        Err(e @ Error::Corrupt { .. }) => {
            return Err(Failure(format!("damaged: {e}")));
        }
        Err(e) => return Err(e.into()),
    };
    with_stdout(|out| {
        if let Some(cut) = &repairs.tail_repair {
            writeln!(
                out,
                "note: a torn tail of {} bytes in {} from byte {} ({}): not acknowledged \
                 data; the next writable open cuts it",
                cut.dropped_bytes,
                cut.file.display(),
                cut.offset,
                cut.reason
            )?;
        }
        for (file, why) in &repairs.rebuilt_indexes {
            writeln!(
                out,
                "note: {} is damaged ({why}): rebuilt in memory to check; the next writable \
                 open rewrites it",
                file.display()
            )?;
        }
        writeln!(
            out,
            "checked {} segments, {} records ({}), {} index files, the catalog",
            report.segments,
            thousands(report.records),
            bytes(report.bytes),
            report.index_files
        )?;
        if report.is_clean() {
            writeln!(out, "ok: no problems found")
        } else {
            for p in &report.problems {
                writeln!(
                    out,
                    "PROBLEM: {} at byte {}: {}",
                    p.file.display(),
                    p.offset,
                    p.reason
                )?;
            }
            writeln!(out, "{} problems found", report.problems.len())
        }
    })?;
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `rules check FILE`.
pub fn rules_check(file: &Path) -> CmdResult {
    let rules =
        firstlog::load_rules_file(file).map_err(|e| Failure(format!("{}: {e}", file.display())))?;
    with_stdout(|out| {
        writeln!(out, "{}: {} rules, all valid", file.display(), rules.len())?;
        for (i, (scope, rule)) in rules.iter().enumerate() {
            let scope = match scope {
                Scope::All => "all sources".to_owned(),
                Scope::Sources(ids) => {
                    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
                    format!("sources {}", ids.join(", "))
                }
            };
            writeln!(out, "  {}. {} ({scope})", i + 1, rule.name())?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
