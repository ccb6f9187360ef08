//! `firstlog tail --follow --consumer NAME` beside a live writer (the test
//! process holds the store and keeps collecting), killed (SIGKILL) at random
//! points and restarted: over all runs every event is delivered, each run
//! delivers in log order and none twice, and a restart resumes at or before
//! the first event the previous run did not deliver (at least once).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use firstlog::{Durability, NewEvent, Options, Store};

use crate::duck::{self, Lcg};
use crate::support::cli;

const EVENTS: u64 = 3000;

/// A running `tail`, its lines arriving on a channel.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    fn start(store: &Path, args: &[&str]) -> Tail {
        let mut all = vec!["tail"];
        all.extend_from_slice(args);
        let mut child = cli::command(store, &all)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tail");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Tail { child, lines }
    }

    /// The next event's sequence number, waiting up to 30 s.
    fn next_seq(&self) -> Option<u64> {
        let line = self.lines.recv_timeout(Duration::from_secs(30)).ok()?;
        let event: serde_json::Value = serde_json::from_str(&line).expect("NDJSON line");
        event["seq"].as_u64()
    }

    /// Kills the process; returns the sequence numbers it had already written
    /// to the pipe (the reader downstream, like `kcat`, lives on and reads them).
    fn kill(mut self) -> Vec<u64> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(30)) {
            let event: serde_json::Value = serde_json::from_str(&line).expect("NDJSON line");
            rest.extend(event["seq"].as_u64());
        }
        rest
    }
}

#[test]
fn a_restarted_consumer_delivers_every_event_in_order() {
    let mut rng = Lcg(duck::seed());
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("store");
    cli::store_with_sources(&path, &["Web"]);
    // The test process is the live writer; tail runs beside it, read-only.
    let store = Store::open_with(
        &path,
        Options::default().durability(Durability::Interval(Duration::from_millis(20))),
    )
    .expect("open writer");
    let key = store.sources()[0].write_key().to_owned();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..EVENTS / 50 {
                let batch = (0..50)
                    .map(|j| NewEvent::new("Page Viewed", key.as_str()).property("n", i * 50 + j))
                    .collect();
                store.collect_batch(batch).expect("collect");
                std::thread::sleep(Duration::from_millis(15));
            }
            store.sync().expect("sync");
        })
    };
    let mut delivered = vec![0u32; EVENTS as usize + 1];
    let mut previous_last = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    for run in 0.. {
        assert!(Instant::now() < deadline, "the consumer did not catch up");
        let tail = Tail::start(
            &path,
            &["--follow", "--consumer", "kafka", "--poll-ms", "200"],
        );
        let take = if run < 6 {
            1 + rng.next(EVENTS / 3)
        } else {
            u64::MAX
        };
        let mut last = None;
        let mut receive = |seq: u64, last: &mut Option<u64>| {
            match *last {
                None => assert!(
                    seq <= previous_last + 1,
                    "run {run} resumed at {seq}, after {previous_last}: an event was skipped"
                ),
                Some(l) => assert_eq!(seq, l + 1, "run {run}: in order, none twice"),
            }
            delivered[seq as usize] += 1;
            *last = Some(seq);
        };
        for _ in 0..take {
            let Some(seq) = tail.next_seq() else { break };
            receive(seq, &mut last);
            if seq == EVENTS {
                break;
            }
        }
        for seq in tail.kill() {
            receive(seq, &mut last);
        }
        previous_last = last.unwrap_or(previous_last);
        if previous_last == EVENTS {
            break;
        }
    }
    writer.join().expect("writer");
    let missing: Vec<usize> = (1..=EVENTS as usize)
        .filter(|&s| delivered[s] == 0)
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    // A new run after the last commit has nothing left before the end.
    let out = cli::ok(&path, &["tail", "--consumer", "kafka"]);
    assert!(
        out.lines().count() < EVENTS as usize,
        "the offset was committed"
    );
}

#[test]
fn consumers_are_exclusive_and_resume_where_they_committed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("store");
    let sources = cli::store_with_sources(&path, &["Web", "Desk"]);
    let payloads: String = (0..20)
        .map(|i| {
            format!(
                "{{\"event\": \"Page Viewed\", \"write_key\": \"{}\"}}\n",
                sources[i % 2].1
            )
        })
        .collect();
    cli::run_with_input(&path, &["collect"], payloads.as_bytes());
    let first = crate::support::ndjson(&cli::ok(
        &path,
        &["tail", "--consumer", "etl", "--source", "2"],
    ));
    assert_eq!(first.len(), 10);
    assert!(first.iter().all(|e| e["source_id"] == 2));
    assert_eq!(
        cli::ok(&path, &["tail", "--consumer", "etl"]),
        "",
        "resumes after the last event"
    );
    assert_eq!(
        cli::ok(&path, &["tail", "--consumer", "other"])
            .lines()
            .count(),
        20
    );
    assert_eq!(cli::ok(&path, &["tail", "--from", "15"]).lines().count(), 6);
    let bad = cli::fails(&path, &["tail", "--consumer", "../x"]);
    assert!(bad.contains("consumer name"), "{bad}");
    // Held by a running tail, the consumer refuses a second one.
    let store = Store::open_read_only(&path).expect("open");
    let held = store.consumer("etl").expect("consumer");
    let busy = cli::fails(&path, &["tail", "--consumer", "etl"]);
    assert!(busy.contains("in use"), "{busy}");
    drop(held);
}
