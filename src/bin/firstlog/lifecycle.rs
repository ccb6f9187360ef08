//! `retention show|set|apply`, `erase`, `erasures`, `suppress`, `unsuppress`:
//! the data lifecycle (README "Data lifecycle").

use std::path::Path;
use std::process::ExitCode;

use firstlog::{Erasure, ErasureState, Scope, SourceId, Store};
use serde_json::json;

use crate::common::{self, CmdResult, Failure, with_stdout};
use crate::output::{Table, bytes, thousands, time_or_dash};
use crate::units::{format_duration, parse_bytes, parse_duration};
use crate::{EraseArgs, Format, ProfileArgs, RetentionCommand, RetentionSetArgs};

/// `retention ...`.
pub fn retention(dir: &Path, command: RetentionCommand) -> CmdResult {
    match command {
        RetentionCommand::Show(args) => show(dir, args.format),
        RetentionCommand::Set(args) => set(dir, &args),
        RetentionCommand::Apply => apply(dir),
    }
}

fn show(dir: &Path, format: Format) -> CmdResult {
    let store = common::open_reader(dir)?;
    let policy = store.retention();
    let stats = store.stats();
    let sources = store.sources();
    let age = |d: Option<std::time::Duration>| d.map(format_duration);
    if format == Format::Ndjson {
        let value = json!({
            "max_age": age(policy.get_max_age()),
            "max_bytes": policy.get_max_bytes(),
            "roll_interval": format_duration(policy.get_roll_interval()),
            "log_start": stats.log_start,
            "bytes_by_age": stats.bytes_by_age,
            "sources": sources.iter().map(|s| json!({
                "id": s.id(), "name": s.name(), "max_age": age(s.max_age()),
            })).collect::<Vec<_>>(),
        });
        return print_json(&value);
    }
    with_stdout(|out| {
        let or_none = |s: Option<String>| s.unwrap_or_else(|| "none".into());
        writeln!(
            out,
            "store: max age {}, max size {}, roll interval {}",
            or_none(age(policy.get_max_age())),
            or_none(policy.get_max_bytes().map(bytes)),
            format_duration(policy.get_roll_interval())
        )?;
        writeln!(out, "log start: sequence number {}", stats.log_start)?;
        let b = &stats.bytes_by_age;
        writeln!(
            out,
            "bytes by age: <1d {}, 1-7d {}, 7-30d {}, 30-365d {}, older {}",
            bytes(b.under_1_day),
            bytes(b.under_7_days),
            bytes(b.under_30_days),
            bytes(b.under_365_days),
            bytes(b.older)
        )?;
        let mut table = Table::new(&["SOURCE", "NAME", "MAX AGE"]);
        for s in &sources {
            table.row(vec![
                s.id().to_string(),
                s.name().to_owned(),
                or_none(age(s.max_age())),
            ]);
        }
        table.write(out, "")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A `--max-age`/`--max-bytes` value: a size or duration, or `none` to clear.
fn maybe<T>(
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<Option<T>>, Failure> {
    match text {
        None => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(t) => parse(t).map(|v| Some(Some(v))).map_err(Failure),
    }
}

fn set(dir: &Path, args: &RetentionSetArgs) -> CmdResult {
    let max_age = maybe(args.max_age.as_deref(), parse_duration)?;
    let max_bytes = maybe(args.max_bytes.as_deref(), parse_bytes)?;
    let roll = maybe(args.roll_interval.as_deref(), parse_duration)?;
    let store = common::open_existing(dir)?;
    if let Some(id) = args.source {
        let id = common::source_id(&store, id)?;
        if max_bytes.is_some() || roll.is_some() {
            return Err(Failure(
                "--source takes only --max-age (sizes and rolling are the store's)".into(),
            ));
        }
        let Some(age) = max_age else {
            return Err(Failure(
                "--source needs --max-age (a duration, or none)".into(),
            ));
        };
        store.set_source_max_age(id, age)?;
    } else {
        let mut policy = store.retention();
        policy = match max_age {
            Some(Some(age)) => policy.max_age(age),
            Some(None) => policy.no_max_age(),
            None => policy,
        };
        policy = match max_bytes {
            Some(Some(n)) => policy.max_bytes(n),
            Some(None) => policy.no_max_bytes(),
            None => policy,
        };
        if let Some(Some(every)) = roll {
            policy = policy.roll_interval(every);
        }
        store.set_retention(policy)?;
    }
    store.close()?;
    show(dir, Format::Table)
}

fn apply(dir: &Path) -> CmdResult {
    let store = common::open_existing(dir)?;
    let report = store.maintain()?;
    store.close()?;
    print_json(&serde_json::to_value(&report).map_err(|e| Failure(e.to_string()))?)
}

/// The sources of `--source` flags (none: every source).
fn scope(store: &Store, ids: &[u32]) -> Result<Scope, Failure> {
    if ids.is_empty() {
        return Ok(Scope::All);
    }
    let ids: Result<Vec<SourceId>, Failure> =
        ids.iter().map(|&id| common::source_id(store, id)).collect();
    Ok(Scope::Sources(ids?))
}

/// `erase`: asks, then carries the erasure out before returning; prints the
/// request. Exit 0 once it is done.
pub fn erase(dir: &Path, args: &EraseArgs) -> CmdResult {
    let store = common::open_existing(dir)?;
    let scope = scope(&store, &args.sources)?;
    let request = if args.suppress {
        store.erase_and_suppress_profile(&args.profile, scope)?
    } else {
        store.erase_profile(&args.profile, scope)?
    };
    let outcome = store.maintain();
    let request = store.erasure(request.id)?;
    store.close()?;
    print_json(&erasure_json(&request))?;
    outcome?;
    Ok(if request.is_done() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn erasure_json(request: &Erasure) -> serde_json::Value {
    serde_json::to_value(request).unwrap_or_else(|e| json!({ "error": e.to_string() }))
}

/// `erasures`: every request.
pub fn erasures(dir: &Path, format: Format) -> CmdResult {
    let store = common::open_reader(dir)?;
    let all = store.erasures();
    if format == Format::Ndjson {
        with_stdout(|out| {
            for request in &all {
                writeln!(out, "{}", erasure_json(request))?;
            }
            Ok(())
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    with_stdout(|out| {
        if all.is_empty() {
            return writeln!(out, "no erasure requests");
        }
        let mut table = Table::new(&[
            "ID", "STATE", "PROFILE", "SOURCES", "ASKED", "FINISHED", "EVENTS", "BYTES",
        ]);
        for r in &all {
            let state = match &r.state {
                ErasureState::Pending => "pending".to_owned(),
                ErasureState::Running => "running".to_owned(),
                ErasureState::Done => "done".to_owned(),
                ErasureState::Failed { reason } => format!("failed: {reason}"),
            };
            let sources = if r.sources.is_empty() {
                "all".to_owned()
            } else {
                let ids: Vec<String> = r.sources.iter().map(|s| s.to_string()).collect();
                ids.join(",")
            };
            table.row(vec![
                r.id.to_string(),
                state,
                r.profile_id.clone().unwrap_or_else(|| "-".into()),
                sources,
                time_or_dash(Some(r.asked_ms)),
                time_or_dash(r.finished_ms),
                thousands(r.removed_events),
                bytes(r.removed_bytes),
            ]);
        }
        table.write(out, "")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `suppress --profile ID [--source S]...`.
pub fn suppress(dir: &Path, args: &ProfileArgs) -> CmdResult {
    let store = common::open_existing(dir)?;
    let scope = scope(&store, &args.sources)?;
    store.suppress_profile(&args.profile, scope)?;
    let listed = store.suppressions();
    store.close()?;
    let this = listed.iter().find(|s| s.profile_id == args.profile);
    print_json(&serde_json::to_value(this).map_err(|e| Failure(e.to_string()))?)
}

/// `unsuppress --profile ID`.
pub fn unsuppress(dir: &Path, profile: &str) -> CmdResult {
    let store = common::open_existing(dir)?;
    let lifted = store.unsuppress_profile(profile)?;
    store.close()?;
    print_json(&json!({ "profile_id": profile, "unsuppressed": lifted }))
}

fn print_json(value: &serde_json::Value) -> CmdResult {
    with_stdout(|out| writeln!(out, "{value}"))?;
    Ok(ExitCode::SUCCESS)
}
