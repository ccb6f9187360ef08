//! `export`: the store's events as Parquet files partitioned
//! `source_id=N/date=YYYY-MM-DD/` (the library's `Store::export_parquet`;
//! EXPORT.md), once or every interval; and the export loop `serve` runs.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use firstlog::{ExportLoop, ExportOptions, ExportReport, Exporter, SourceId, Store};

use crate::ExportArgs;
use crate::common::{self, CmdResult, Failure, parse_time_arg};
use crate::units::parse_duration;

/// The options of an `export` command line.
fn options(args: &ExportArgs) -> Result<ExportOptions, Failure> {
    let merge_after = match args.merge_after.as_str() {
        "never" => None,
        text => Some(parse_duration(text).map_err(|e| Failure(format!("--merge-after {e}")))?),
    };
    let mut options = ExportOptions::new(&args.out)
        .rows_per_file(args.rows_per_file)
        .merge_after(merge_after);
    for &id in &args.sources {
        options = options.source(SourceId(id));
    }
    if let Some(ms) = parse_time_arg("since", args.since.as_deref())? {
        options = options.since(ms);
    }
    if let Some(ms) = parse_time_arg("until", args.until.as_deref())? {
        options = options.until(ms);
    }
    Ok(options)
}

/// `export`: opens the store read-only (so it works beside `serve`), runs
/// once, or with `--follow` every `--every` until stopped (a run interrupted
/// by the signal is finished or discarded by the next one).
pub fn run(dir: &Path, args: &ExportArgs) -> CmdResult {
    let store = common::open_reader(dir)?;
    if !args.follow {
        let report = store.export_parquet(&options(args)?)?;
        print_report(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    drop(store);
    let exporter = Exporter::read_only(dir, options(args)?);
    let every = parse_duration(&args.every).map_err(|e| Failure(format!("--every {e}")))?;
    let (_keep, stop) = std::sync::mpsc::channel::<()>();
    let mut failure = None;
    exporter.run_every(every, &stop, |report| match report {
        Ok(report) => {
            if let Err(e) = print_report(&report) {
                failure = Some(e);
            }
        }
        Err(e) => eprintln!("firstlog export: {e}; retrying in {}", args.every),
    });
    failure.map_or(Ok(ExitCode::SUCCESS), Err)
}

/// One JSON line on stdout per run, a sentence on stderr.
fn print_report(report: &ExportReport) -> Result<(), Failure> {
    let line = serde_json::to_string(report).map_err(|e| Failure(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    eprintln!(
        "firstlog export: {} rows in {} new files (through seq {}); {} files rewritten, {} \
         deleted, {} small files merged",
        report.rows,
        report.files_added,
        report.through_seq,
        report.files_rewritten,
        report.files_deleted,
        report.files_merged
    );
    if report.not_exported > 0 {
        eprintln!(
            "firstlog export: warning: {} events were deleted by retention before any export \
             run read them",
            report.not_exported
        );
    }
    Ok(())
}

/// `serve --export-dir DIR --export-every INTERVAL`: the export loop on a
/// thread of the server's process, from the server's own store.
pub fn start_for_serve(
    store: &Store,
    dir: Option<&Path>,
    every: &str,
) -> Result<Option<ExportLoop>, Failure> {
    let Some(out) = dir else {
        return Ok(None);
    };
    let interval: Duration =
        parse_duration(every).map_err(|e| Failure(format!("--export-every {e}")))?;
    let exporter = Exporter::new(store.clone(), ExportOptions::new(out));
    Ok(Some(exporter.spawn_every(
        interval,
        |report| match report {
            Ok(r) if r.run.is_some() => eprintln!(
                "firstlog serve: export run {}: {} rows, {} files rewritten, {} deleted, {} \
                 merged",
                r.run.unwrap_or(0),
                r.rows,
                r.files_rewritten,
                r.files_deleted,
                r.files_merged
            ),
            Ok(_) => {}
            Err(e) => {
                eprintln!("firstlog serve: export failed: {e}; retrying at the next interval")
            }
        },
    )))
}
