//! `firstlog export` killed (SIGKILL) at random moments while collection goes
//! on between the runs, then run to the end: every event is in the export
//! exactly once (DuckDB counts rows and distinct sequence numbers), no staged
//! file is visible to readers, and an interrupted run's committed files are
//! moved into place by the next.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::duck::{self, ALL, Lcg};
use crate::support::cli;

/// `count` payloads for the source with write key `key`, days apart.
fn payloads(key: &str, round: u64, count: u64) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"event\": \"Page Viewed\", \"write_key\": \"{key}\", \"profile_id\": \"p{}\", \
                 \"timestamp\": \"2025-03-{:02}T{:02}:00:00Z\", \"properties\": {{\"round\": {round}, \"i\": {i}}}}}\n",
                i % 97,
                1 + (round + i) % 9,
                i % 24
            )
        })
        .collect()
}

fn export_args(out: &Path) -> Vec<String> {
    [
        "export",
        "--out",
        out.to_str().unwrap_or(""),
        "--rows-per-file",
        "700",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Starts an export and kills it after `after`; true when it was killed
/// before it ended by itself.
fn export_killed_after(store: &Path, out: &Path, after: Duration) -> bool {
    let args = export_args(out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = cli::command(store, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn export");
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    true
}

#[test]
fn killed_exports_leave_every_event_exactly_once() {
    let mut rng = Lcg(duck::seed());
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let out = tmp.path().join("out");
    let sources = cli::store_with_sources(&store, &["Web", "Help Desk"]);
    // How long an uninterrupted run of one round takes here, to aim the kills.
    let collect = |round: u64| {
        for (_, key) in &sources {
            let input = payloads(key, round, 1500);
            let done = cli::run_with_input(&store, &["collect"], input.as_bytes());
            assert!(done.status.success(), "{}", cli::describe(&done));
        }
    };
    collect(0);
    let started = Instant::now();
    assert!(!export_killed_after(&store, &out, Duration::from_secs(600)));
    let run_ms = started.elapsed().as_millis() as u64;
    let mut killed = 0;
    for round in 1..=10 {
        collect(round);
        for _ in 0..2 {
            let after = Duration::from_millis(rng.next(run_ms * 2 + 1));
            killed += u32::from(export_killed_after(&store, &out, after));
        }
    }
    assert!(killed >= 5, "only {killed} runs were interrupted");
    cli::ok(
        &store,
        &export_args(&out)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let stored = duck::stored_events(&store).len() as i64;
    assert_eq!(stored, 11 * 3000);
    let Some(rows) = duck::scalar(tmp.path(), &format!("SELECT count(*) FROM {ALL}")) else {
        return;
    };
    let distinct = duck::scalar(
        tmp.path(),
        &format!("SELECT count(DISTINCT seq) FROM {ALL}"),
    );
    assert_eq!(
        (rows, distinct),
        (stored, Some(stored)),
        "every event exactly once"
    );
    let staged = duck::scalar(
        tmp.path(),
        "SELECT count(*) FROM glob('out/**/*.parquet') WHERE file LIKE '%staging%'",
    );
    assert_eq!(staged, Some(0), "no staged file is visible to readers");
}
