//! `query` and `counts`: the library's query builder and index-only counts.

use std::io::{self, IsTerminal};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

use firstlog::format_rfc3339;
use firstlog::{CountBy, Counts, Query, Store};

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
    let query = query_of(&store, args)?;
    let mut page = Page::default();
    let mut failure = None;
    with_stdout(|out| {
        let walked = page.print(&query, args.format, out)?;
        // A read error is reported after what was read so far.
        failure = walked.err();
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(Failure(format!("query failed: {e}")));
    }
    if args.limit.is_some_and(|l| page.printed == l)
        && io::stderr().is_terminal()
        && let Some(seq) = page.last_seq
    {
        eprintln!("(limit reached; next page: --after {seq})");
    }
    Ok(ExitCode::SUCCESS)
}

/// The query the arguments describe.
fn query_of<'s>(store: &'s Store, args: &QueryArgs) -> Result<Query<'s>, Failure> {
    let mut query = filtered(
        store,
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
    Ok(query)
}

/// What a page of output printed.
#[derive(Default)]
struct Page {
    printed: usize,
    last_seq: Option<u64>,
}

impl Page {
    /// Prints the query's events; the outer error is the output's, the inner one
    /// the store's.
    fn print(
        &mut self,
        query: &Query<'_>,
        format: Format,
        out: &mut dyn io::Write,
    ) -> io::Result<Result<(), firstlog::Error>> {
        let mut table = Table::new(&[">seq", "timestamp", "event", "profile", "properties"]);
        let mut line = Vec::with_capacity(1024);
        let mut written = Ok(());
        let mut unreadable = None;
        let walked = query.for_each(|event| {
            let properties = match format {
                Format::Ndjson => {
                    line.clear();
                    event.write_json(&mut line).map(|()| String::new())
                }
                Format::Table => event.properties().map(|p| ellipsize(&p.to_json(), 80)),
            };
            let properties = match properties {
                Ok(p) => p,
                Err(e) => {
                    unreadable = Some(e);
                    return ControlFlow::Break(());
                }
            };
            self.printed += 1;
            self.last_seq = Some(event.seq());
            written = match format {
                Format::Ndjson => {
                    line.push(b'\n');
                    out.write_all(&line)
                }
                Format::Table => {
                    table.row(vec![
                        event.seq().to_string(),
                        format_rfc3339(event.timestamp()),
                        event.name().to_owned(),
                        event.profile_id().unwrap_or("-").to_owned(),
                        properties,
                    ]);
                    Ok(())
                }
            };
            if written.is_ok() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
        written?;
        if format == Format::Table {
            table.write(out, "")?;
        }
        Ok(match unreadable {
            Some(e) => Err(e),
            None => walked.map(|_| ()),
        })
    }
}

/// `counts`: the library's [`Counts`](firstlog::Counts), as a table or NDJSON
/// (one group per line).
pub fn run_counts(dir: &Path, args: &CountsArgs) -> CmdResult {
    let store = common::open_reader(dir)?;
    let query = filtered(
        &store,
        args.source,
        args.since.as_deref(),
        args.until.as_deref(),
        &args.names,
    )?;
    let by = match args.by {
        By::Name => CountBy::Name,
        By::Hour => CountBy::Hour,
        By::Day => CountBy::Day,
    };
    let counts = query.counts(by)?;
    with_stdout(|out| match args.format {
        Format::Ndjson => {
            for group in &counts.groups {
                writeln!(out, "{}", serde_json::to_string(group).unwrap_or_default())?;
            }
            Ok(())
        }
        Format::Table => write_counts_table(out, &counts),
    })?;
    Ok(ExitCode::SUCCESS)
}

fn write_counts_table(out: &mut dyn io::Write, counts: &Counts) -> io::Result<()> {
    let first = if counts.by == CountBy::Name {
        "name"
    } else {
        "start"
    };
    let mut table = Table::new(&[first, ">events", ">profiles"]);
    for g in &counts.groups {
        let label = match (&g.name, g.start_ms) {
            (Some(name), _) => name.clone(),
            (None, Some(ms)) => {
                let mut start = format_rfc3339(ms);
                start.truncate(if counts.by == CountBy::Day { 10 } else { 16 });
                start
            }
            (None, None) => String::new(),
        };
        table.row(vec![label, thousands(g.events), thousands(g.profiles)]);
    }
    table.write(out, "")?;
    writeln!(
        out,
        "total: {} events, {} distinct profiles",
        thousands(counts.events),
        thousands(counts.profiles)
    )
}
