//! `init` and `source create|list|rotate-key|disable|enable|set-origins|snippet`.

use std::path::Path;
use std::process::ExitCode;

use crate::common::{self, CmdResult, with_stdout};
use crate::output::{Table, source_json, thousands, time_or_dash};
use crate::{Format, SourceCommand};

/// `init`: creates (or opens) the store and says what it holds.
pub fn init(dir: &Path, segment_mib: Option<u64>) -> CmdResult {
    let existed = firstlog::Store::exists(dir);
    let mut options = firstlog::Options::default();
    if let Some(mib) = segment_mib {
        options = options.segment_bytes(mib << 20);
    }
    let store = firstlog::Store::open_with(dir, options)?;
    if let Some(mib) = segment_mib {
        store.set_segment_bytes(mib << 20)?;
    }
    let stats = store.stats();
    let segment_bytes = store
        .segment_bytes()
        .unwrap_or(firstlog::Options::SEGMENT_BYTES_DEFAULT);
    let report = store.open_report().clone();
    store.close()?;
    let path = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    with_stdout(|out| {
        let verb = if existed { "opened" } else { "created" };
        writeln!(
            out,
            "{verb} store {}: {} sources, {} events in {} segments of {}",
            path.display(),
            stats.sources.len(),
            thousands(stats.events),
            stats.segments,
            crate::output::bytes(segment_bytes)
        )?;
        if !report.is_clean() {
            writeln!(out, "repairs on open: {report:?}")?;
        }
        if stats.sources.is_empty() {
            writeln!(
                out,
                "next: firstlog --data {} source create \"Web App\"",
                common::shell_quote(&dir.display().to_string())
            )?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `source ...`.
pub fn run(dir: &Path, command: SourceCommand) -> CmdResult {
    match command {
        SourceCommand::List(args) => return list(dir, args.format),
        SourceCommand::Create { name } => {
            let store = common::open(dir)?;
            let source = store.create_source(&name)?;
            store.close()?;
            print_json(&source_json(&source))?;
        }
        SourceCommand::RotateKey { id } => {
            let store = common::open_existing(dir)?;
            let id = common::source_id(&store, id)?;
            let source = store.rotate_write_key(id)?;
            store.close()?;
            print_json(&source_json(&source))?;
        }
        SourceCommand::Disable { id } | SourceCommand::Enable { id } => {
            let enable = matches!(command, SourceCommand::Enable { .. });
            let store = common::open_existing(dir)?;
            let id = common::source_id(&store, id)?;
            let source = if enable {
                store.enable_source(id)?
            } else {
                store.disable_source(id)?
            };
            store.close()?;
            print_json(&source_json(&source))?;
        }
        SourceCommand::SetOrigins { id, origins } => {
            let store = common::open_existing(dir)?;
            let id = common::source_id(&store, id)?;
            let source = store.set_allowed_origins(id, origins)?;
            store.close()?;
            print_json(&source_json(&source))?;
        }
        SourceCommand::Snippet {
            id,
            host,
            path_prefix,
        } => {
            let store = common::open_reader(dir)?;
            let id = common::source_id(&store, id)?;
            let key = store.source(id).map(|s| s.write_key().to_owned());
            let snippet = firstlog::http::snippet(&key.unwrap_or_default(), &host, &path_prefix);
            with_stdout(|out| write!(out, "{snippet}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &serde_json::Value) -> Result<(), common::Failure> {
    with_stdout(|out| writeln!(out, "{value}"))
}

fn list(dir: &Path, format: Format) -> CmdResult {
    let store = common::open_reader(dir)?;
    let stats = store.stats();
    let sources = store.sources();
    drop(store);
    let events_of = |id| {
        stats
            .sources
            .iter()
            .find(|s| s.source == id)
            .map_or(0, |s| s.events)
    };
    with_stdout(|out| match format {
        Format::Ndjson => {
            for source in &sources {
                let mut json = source_json(source);
                json["events"] = events_of(source.id()).into();
                writeln!(out, "{json}")?;
            }
            Ok(())
        }
        Format::Table => {
            let mut table =
                Table::new(&["id", "name", "write key", "enabled", ">events", "created"]);
            for s in &sources {
                table.row(vec![
                    s.id().to_string(),
                    s.name().to_owned(),
                    s.write_key().to_owned(),
                    if s.is_enabled() { "yes" } else { "no" }.to_owned(),
                    thousands(events_of(s.id())),
                    time_or_dash(Some(s.created_ms())),
                ]);
            }
            table.write(out, "")
        }
    })?;
    Ok(ExitCode::SUCCESS)
}
