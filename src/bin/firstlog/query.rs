//! `query` and `counts`: the library's query builder and index-only counts.

use std::io::{self, IsTerminal};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

use firstlog::time::format_rfc3339;
use firstlog::{Bucket, Query, Store};

use crate::common::{self, CmdResult, Failure, parse_time_arg, with_stdout};
use crate::output::{Table, ellipsize, thousands};
use crate::{By, CountsArgs, Format, QueryArgs};

/// The filters shared by `query` and `counts`.
fn filtered<'s>(
    store: &'s Store,
    source: u32,
    since: Option<&str>,
    until: Option<&str>,
    names: &[String],
) -> Result<Query<'s>, Failure> {
    let id = common::source_id(store, source)?;
    let mut query = store.query(id);
    if let Some(ms) = parse_time_arg("since", since)? {
        query = query.since(ms);
    }
    if let Some(ms) = parse_time_arg("until", until)? {
        query = query.until(ms);
    }
    for name in names {
        query = query.name(name);
    }
    Ok(query)
}

/// `query`.
pub fn run_query(dir: &Path, args: &QueryArgs) -> CmdResult {
    let store = common::open_reader(dir)?;
    let mut query = filtered(
        &store,
        args.source,
        args.since.as_deref(),
        args.until.as_deref(),
        &args.names,
    )?;
    if let Some(p) = &args.profile {
        query = query.profile(p);
    }
    if let Some(seq) = args.after {
        query = query.after(seq);
    }
    if let Some(n) = args.limit {
        query = query.limit(n);
    }
    if args.desc {
        query = query.descending();
    }
    let mut printed = 0usize;
    let mut last_seq = None;
    let mut failure = None;
    with_stdout(|out| {
        let mut table = Table::new(&[">seq", "timestamp", "event", "profile", "properties"]);
        let mut line = Vec::with_capacity(1024);
        let walked = query.for_each(|event| {
            printed += 1;
            last_seq = Some(event.seq());
            let written = match args.format {
                Format::Ndjson => {
                    line.clear();
                    event.write_json(&mut line);
                    line.push(b'\n');
                    out.write_all(&line)
                }
                Format::Table => {
                    table.row(vec![
                        event.seq().to_string(),
                        format_rfc3339(event.timestamp()),
                        event.name().to_owned(),
                        event.profile_id().unwrap_or("-").to_owned(),
                        ellipsize(&event.properties().to_json(), 80),
                    ]);
                    Ok(())
                }
            };
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = failure.take() {
            return Err(e);
        }
        if let Err(e) = walked {
            // Printed below, after what was read so far.
            failure = Some(io::Error::other(e.to_string()));
        }
        if args.format == Format::Table {
            table.write(out, "")?;
        }
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(Failure(format!("query failed: {e}")));
    }
    if args.limit.is_some_and(|l| printed == l)
        && io::stderr().is_terminal()
        && let Some(seq) = last_seq
    {
        eprintln!("(limit reached; next page: --after {seq})");
    }
    Ok(ExitCode::SUCCESS)
}

/// `counts`.
pub fn run_counts(dir: &Path, args: &CountsArgs) -> CmdResult {
    let store = common::open_reader(dir)?;
    let query = filtered(
        &store,
        args.source,
        args.since.as_deref(),
        args.until.as_deref(),
        &args.names,
    )?;
    let total = query.count()?;
    let profiles = query.distinct_profiles()?;
    match args.by {
        By::Name => {
            let names = query.count_by_name()?;
            let mut rows = Vec::with_capacity(names.len());
            for n in &names {
                let distinct = query.clone().name(&n.name).distinct_profiles()?;
                rows.push((n.name.clone(), n.events, distinct));
            }
            with_stdout(|out| match args.format {
                Format::Ndjson => {
                    for (name, events, profiles) in &rows {
                        let json = serde_json::json!({"name": name, "events": events, "profiles": profiles});
                        writeln!(out, "{json}")?;
                    }
                    Ok(())
                }
                Format::Table => {
                    let mut table = Table::new(&[">events", ">profiles", "name"]);
                    for (name, events, profiles) in &rows {
                        table.row(vec![thousands(*events), thousands(*profiles), name.clone()]);
                    }
                    table.write(out, "")?;
                    writeln!(
                        out,
                        "total: {} events, {} distinct profiles",
                        thousands(total),
                        thousands(profiles)
                    )
                }
            })?;
        }
        By::Hour | By::Day => {
            let bucket = if args.by == By::Hour {
                Bucket::Hour
            } else {
                Bucket::Day
            };
            let buckets = query.count_by_bucket(bucket)?;
            with_stdout(|out| match args.format {
                Format::Ndjson => {
                    for b in &buckets {
                        let json = serde_json::json!({
                            "start": format_rfc3339(b.start_ms), "events": b.events, "profiles": b.profiles,
                        });
                        writeln!(out, "{json}")?;
                    }
                    Ok(())
                }
                Format::Table => {
                    let mut table = Table::new(&["start", ">events", ">profiles"]);
                    for b in &buckets {
                        let mut start = format_rfc3339(b.start_ms);
                        if bucket == Bucket::Day {
                            start.truncate(10);
                        } else {
                            start.truncate(16);
                        }
                        table.row(vec![start, thousands(b.events), thousands(b.profiles)]);
                    }
                    table.write(out, "")?;
                    writeln!(
                        out,
                        "total: {} events, {} distinct profiles",
                        thousands(total),
                        thousands(profiles)
                    )
                }
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
