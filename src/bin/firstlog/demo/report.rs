//! What the demo prints after collecting: rate, per-source counts, top events per
//! day, naming warnings, rejected payloads, a sample query, and commands to go on.

use std::collections::HashMap;
use std::io::{self, Write};
use std::ops::ControlFlow;

use firstlog::format_rfc3339;
use firstlog::{Error, Store};

use super::Run;
use super::generate::WEEK_START_MS;
use crate::common::shell_quote;
use crate::output::{Table, bytes, ellipsize, per_second, thousands};
use crate::tally::Tally;

const DAY_MS: i64 = 86_400_000;
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn other(e: Error) -> io::Error {
    io::Error::other(e.to_string())
}

/// Prints the whole report to stdout.
pub fn print(store: &Store, tally: &Tally, run: &Run) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let out: &mut dyn Write = &mut out;
    collection(out, tally, run)?;
    per_source(out, store, run)?;
    per_day(out, store, run)?;
    naming(out, tally)?;
    rejected(out, store, tally)?;
    sample(out, store, run)?;
    next_steps(out, run)?;
    out.flush()
}

fn collection(out: &mut dyn Write, tally: &Tally, run: &Run) -> io::Result<()> {
    let busy = run.busy.as_secs_f64();
    writeln!(
        out,
        "== collection (JSON payloads, batches of up to 2,000, through 3 rules)"
    )?;
    writeln!(
        out,
        "  {} payloads, {} of JSON, collected in {:.2} s of store time: {} events/s, {}/s",
        thousands(run.payloads),
        bytes(run.json_bytes),
        busy,
        thousands(per_second(run.payloads as f64, busy).round() as u64),
        bytes(per_second(run.json_bytes as f64, busy) as u64),
    )?;
    writeln!(
        out,
        "  (wall time {:.2} s with the generator running on another thread; synced to disk at the end)",
        run.wall.as_secs_f64()
    )?;
    let dropped: Vec<String> = tally
        .dropped
        .iter()
        .map(|(rule, n)| format!("{} by {rule:?}", thousands(*n)))
        .collect();
    writeln!(
        out,
        "  stored {} · duplicates (client retries, same message_id) {} · dropped {} · rejected {}",
        thousands(tally.accepted),
        thousands(tally.duplicates),
        if dropped.is_empty() {
            "0".to_owned()
        } else {
            dropped.join(", ")
        },
        thousands(tally.rejected),
    )?;
    writeln!(
        out,
        "  rules (the same JSON works as a file for `collect --rules` and `serve --rules`):"
    )?;
    for rule in super::RULES_JSON
        .lines()
        .filter(|l| l.trim_start().starts_with("{\"type"))
    {
        writeln!(out, "    {}", rule.trim().trim_end_matches(','))?;
    }
    writeln!(out)
}

fn per_source(out: &mut dyn Write, store: &Store, run: &Run) -> io::Result<()> {
    writeln!(
        out,
        "== events per source (from the per-source index; nothing decoded)"
    )?;
    let stats = store.stats();
    let mut table = Table::new(&[
        "id",
        "source",
        ">events",
        ">profiles",
        ">bytes",
        "top event",
    ]);
    for source in &run.sources {
        let query = store.query(source.id());
        let events = query.count().map_err(other)?;
        let profiles = query.distinct_profiles().map_err(other)?;
        let top = query.count_by_name().map_err(other)?;
        let bytes_of = stats
            .sources
            .iter()
            .find(|s| s.source == source.id())
            .map_or(0, |s| s.bytes);
        table.row(vec![
            source.id().to_string(),
            source.name().to_owned(),
            thousands(events),
            thousands(profiles),
            bytes(bytes_of),
            top.first().map_or_else(
                || "-".to_owned(),
                |t| format!("{} ({})", t.name, thousands(t.events)),
            ),
        ]);
    }
    table.write(out, "  ")?;
    writeln!(
        out,
        "  store: {} events in {} segment files, {} on disk\n",
        thousands(stats.events),
        stats.segments,
        bytes(stats.bytes)
    )
}

fn per_day(out: &mut dyn Write, store: &Store, run: &Run) -> io::Result<()> {
    writeln!(out, "== top events per day (all sources, UTC)")?;
    let mut table = Table::new(&["day", ">events", "top events"]);
    for day in 0..7i64 {
        let since = WEEK_START_MS + day * DAY_MS;
        let mut by_name: HashMap<String, u64> = HashMap::new();
        for source in &run.sources {
            let counts = store
                .query(source.id())
                .since(since)
                .until(since + DAY_MS)
                .count_by_name()
                .map_err(other)?;
            for c in counts {
                *by_name.entry(c.name).or_default() += c.events;
            }
        }
        let total: u64 = by_name.values().sum();
        let mut names: Vec<(String, u64)> = by_name.into_iter().collect();
        names.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let top: Vec<String> = names
            .iter()
            .take(3)
            .map(|(name, n)| format!("{name} {}", thousands(*n)))
            .collect();
        let mut date = format_rfc3339(since);
        date.truncate(10);
        table.row(vec![
            format!("{} {date}", WEEKDAYS[day as usize]),
            thousands(total),
            top.join(" · "),
        ]);
    }
    table.write(out, "  ")?;
    writeln!(out)
}

fn naming(out: &mut dyn Write, tally: &Tally) -> io::Result<()> {
    writeln!(
        out,
        "== naming warnings (guideline: Noun + past-tense Verb, Title Case, A-Z, single spaces)"
    )?;
    if tally.naming.is_empty() {
        writeln!(out, "  none")?;
    } else {
        tally.write_naming(out, "  ")?;
        writeln!(
            out,
            "  (stored anyway: the store's naming policy is `warn`; `enforce` would refuse them)"
        )?;
    }
    writeln!(out)
}

fn rejected(out: &mut dyn Write, store: &Store, tally: &Tally) -> io::Result<()> {
    writeln!(
        out,
        "== rejected payloads: {} (kept with their reason in {}/rejected.ndjson)",
        thousands(tally.rejected),
        store.path().display()
    )?;
    if tally.rejected > 0 {
        tally.write_rejection_kinds(out, "  ")?;
    }
    writeln!(out)
}

fn sample(out: &mut dyn Write, store: &Store, run: &Run) -> io::Result<()> {
    let Some(help_desk) = run.sources.get(1) else {
        return Ok(());
    };
    writeln!(
        out,
        "== sample query: the 2 latest \"Agent Assigned\" events of {} (email hashed by a rule)",
        help_desk.name()
    )?;
    let mut cards = Vec::new();
    store
        .query(help_desk.id())
        .name("Agent Assigned")
        .descending()
        .limit(2)
        .for_each(|e| {
            let json = |m: firstlog::Result<firstlog::Map<&str>>| {
                m.map_or_else(|err| format!("({err})"), |m| m.to_json())
            };
            cards.push(format!(
                "  seq {} · {} · profile {} · session {}\n    properties {}\n    context    {}",
                e.seq(),
                format_rfc3339(e.timestamp()),
                e.profile_id().unwrap_or("-"),
                e.session_id().unwrap_or("-"),
                json(e.properties()),
                ellipsize(&json(e.context()), 160),
            ));
            ControlFlow::Continue(())
        })
        .map_err(other)?;
    for card in cards {
        writeln!(out, "{card}")?;
    }
    writeln!(out)
}

fn next_steps(out: &mut dyn Write, run: &Run) -> io::Result<()> {
    let exe = command_path();
    let data = shell_quote(&run.dir.display().to_string());
    let fl = format!("{exe} --data {data}");
    writeln!(out, "== explore the store it left behind")?;
    let source = |i: usize| run.sources.get(i).map_or(1, |s| s.id().0);
    let lines = [
        format!("{fl} source list"),
        format!(
            "{fl} query --source {} --name 'Agent Assigned' --limit 3",
            source(1)
        ),
        format!(
            "{fl} query --source {} --since 2025-03-08 --until 2025-03-09 --limit 5 --format table",
            source(3)
        ),
        format!("{fl} counts --source {} --by day", source(0)),
        format!("{fl} counts --source {} --by name", source(2)),
        format!("{fl} stats"),
        format!("{fl} verify"),
        format!("{fl} serve --addr 127.0.0.1:8080 --read-token change-me"),
        format!("rm -rf {data}    # when done"),
    ];
    for line in lines {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// How to run this binary again: a path relative to the current directory when
/// it is below it (`./target/release/firstlog`), else the absolute path.
fn command_path() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "firstlog".to_owned();
    };
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = exe.strip_prefix(&cwd)
    {
        return shell_quote(&format!("./{}", rel.display()));
    }
    shell_quote(&exe.display().to_string())
}
