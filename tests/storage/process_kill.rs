//! A child process (this test binary, re-executed in child mode) collects events
//! from several threads on the real file system and reports every acknowledged seq
//! and a content hash through a pipe; the parent SIGKILLs it at a pseudo-random
//! moment, reopens the store, and checks that every acknowledged event is present
//! and byte-identical and that `verify()` is clean — in every durability mode,
//! killing the same store again and again. `FIRSTLOG_KILL_RUNS=N` runs N kills.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use firstlog::testing::SplitMix64;
use firstlog::{Durability, Map, NewEvent, Options, Store};

const CHILD_ENV: &str = "FIRSTLOG_KILL_CHILD_DIR";
const MODE_ENV: &str = "FIRSTLOG_KILL_CHILD_MODE";
const RUN_ENV: &str = "FIRSTLOG_KILL_CHILD_RUN";
const THREADS: u64 = 3;

fn durability(mode: &str) -> Durability {
    match mode {
        "buffered" => Durability::Buffered,
        "interval" => Durability::Interval(Duration::from_millis(5)),
        "sync" => Durability::Sync,
        other => panic!("unknown mode {other}"),
    }
}

fn options(mode: &str) -> Options {
    Options::default()
        .segment_bytes(64 << 10)
        .durability(durability(mode))
}

// Event `uid`: everything about it is a function of the uid.
fn name(uid: u64) -> &'static str {
    ["Page Viewed", "Button Clicked"][(uid % 2) as usize]
}
fn profile(uid: u64) -> String {
    format!("user-{}", uid % 13)
}
fn timestamp(uid: u64) -> i64 {
    1_700_000_000_000 + (uid % 1_000_000) as i64
}
fn props(uid: u64) -> Map {
    let mut props = Map::new();
    props.insert("uid", uid);
    props.insert("text", format!("{uid:x}-").repeat((uid % 97) as usize + 1));
    props.insert("half", (uid % 1000) as f64 + 0.5);
    props
}

fn event(key: &str, uid: u64) -> NewEvent {
    NewEvent::new(name(uid), key)
        .profile(profile(uid))
        .timestamp_ms(timestamp(uid))
        .properties(props(uid))
}

/// FNV-1a, stable across processes.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The hash of what an event holds (name, profile, timestamp, properties as JSON).
fn content_hash(name: &str, profile: Option<&str>, ts: i64, properties_json: &str) -> u64 {
    fnv(&format!("{name}|{profile:?}|{ts}|{properties_json}"))
}

/// The hash of event `uid` as the child sent it.
fn sent_hash(uid: u64) -> u64 {
    content_hash(
        name(uid),
        Some(&profile(uid)),
        timestamp(uid),
        &props(uid).to_json(),
    )
}

/// The child: collect forever from several threads, reporting acknowledgements.
/// Runs only when re-executed by the parent (the variable is set).
#[test]
fn process_kill_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mode = std::env::var(MODE_ENV).unwrap();
    let run: u64 = std::env::var(RUN_ENV).unwrap().parse().unwrap();
    let store = Store::open_with(&dir, options(&mode)).unwrap();
    let source = match store.sources().into_iter().next() {
        Some(source) => source,
        None => store.create_source("Kill Test").unwrap(),
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, key) = (&store, source.write_key());
            s.spawn(move || {
                let mut n = 0u64;
                loop {
                    // uid: run, thread, counter: unique across every run of a store.
                    let base = (run << 40) | (t << 32);
                    let acked: Vec<(u64, u64)> = if n % 5 == 4 {
                        let uids: Vec<u64> = (0..1 + n % 17).map(|k| base + n + k).collect();
                        n += uids.len() as u64;
                        let events = uids.iter().map(|&u| event(key, u)).collect();
                        let receipts = store.collect_batch(events).unwrap();
                        uids.iter()
                            .zip(receipts)
                            .map(|(&u, r)| (r.unwrap().seq.unwrap(), u))
                            .collect()
                    } else {
                        let uid = base + n;
                        n += 1;
                        vec![(store.collect(event(key, uid)).unwrap().seq.unwrap(), uid)]
                    };
                    let mut out = std::io::stdout().lock();
                    for (seq, uid) in acked {
                        writeln!(out, "ACK {seq} {uid} {}", sent_hash(uid)).unwrap();
                    }
                    out.flush().unwrap();
                }
            });
        }
    });
}

/// One kill: start the child on `dir`, kill it after `after` acknowledgements,
/// return every acknowledgement it printed: seq -> (uid, hash).
fn run_child(dir: &Path, mode: &str, run: u64, after: usize) -> BTreeMap<u64, (u64, u64)> {
    let stderr_path = dir.with_extension(format!("stderr-{run}"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "process_kill::process_kill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .env(MODE_ENV, mode)
        .env(RUN_ENV, run.to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = BTreeMap::new();
    let parse = |line: &str, acked: &mut BTreeMap<u64, (u64, u64)>| {
        let Some(rest) = line.strip_prefix("ACK ") else {
            return;
        };
        let v: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap()).collect();
        assert!(
            acked.insert(v[0], (v[1], v[2])).is_none(),
            "seq {} acked twice",
            v[0]
        );
    };
    while acked.len() < after {
        match lines.next() {
            Some(line) => parse(&line.unwrap(), &mut acked),
            None => {
                let status = child.wait().unwrap();
                let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!(
                    "the child ended by itself ({status}) after {} acks:\n{stderr}",
                    acked.len()
                );
            }
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    // Acknowledgements already in the pipe were made before the kill: they count.
    for line in lines {
        match line {
            Ok(line) => parse(&line, &mut acked),
            Err(_) => break, // a line cut by the kill
        }
    }
    acked
}

/// Reopens after a kill and checks every acknowledged event; returns how many were
/// checked and whether opening had to cut a torn tail.
fn check(dir: &Path, mode: &str, acked: &BTreeMap<u64, (u64, u64)>, what: &str) -> (u64, bool) {
    let store =
        Store::open_with(dir, options(mode)).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
    let last = store.last_seq();
    let repaired = store.open_report().tail_repair.is_some();
    let mut checked = 0;
    let mut reader = store.read_from(1);
    let mut expected_seq = 1;
    for e in &mut reader {
        let e = e.unwrap_or_else(|e| panic!("{what}: reading: {e}"));
        assert_eq!(e.seq(), expected_seq, "{what}: gap");
        expected_seq += 1;
        let uid = e.properties().get("uid").and_then(|v| v.as_i64()).unwrap() as u64;
        let hash = content_hash(
            e.name(),
            e.profile_id(),
            e.timestamp(),
            &e.properties().to_json(),
        );
        // Every event, acknowledged or not, is one the child sent, intact.
        assert_eq!(
            hash,
            sent_hash(uid),
            "{what}: seq {} holds a damaged event",
            e.seq()
        );
        if let Some(&(acked_uid, acked_hash)) = acked.get(&e.seq()) {
            assert_eq!(
                (uid, hash),
                (acked_uid, acked_hash),
                "{what}: seq {} changed",
                e.seq()
            );
            checked += 1;
        }
    }
    assert_eq!(expected_seq - 1, last, "{what}");
    let lost: Vec<_> = acked.keys().filter(|&&s| s > last).collect();
    assert!(
        lost.is_empty(),
        "{what}: acknowledged seqs lost after the kill: {lost:?}"
    );
    assert_eq!(checked, acked.len() as u64, "{what}");
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{what}: {:?}", report.problems);
    (checked, repaired)
}

fn runs() -> u64 {
    std::env::var("FIRSTLOG_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9)
}

#[test]
fn sigkill_loses_no_acknowledged_event() {
    let seed = std::env::var("FIRSTLOG_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00C0_FFEE);
    let runs = runs();
    let root = tempfile::tempdir().unwrap();
    let modes = ["buffered", "interval", "sync"];
    // All acknowledgements so far, per store (each mode kills one store repeatedly).
    let mut acked: Vec<BTreeMap<u64, (u64, u64)>> = vec![BTreeMap::new(); modes.len()];
    let mut rng = SplitMix64::new(seed);
    let mut total = 0;
    let mut repairs = 0;
    for run in 0..runs {
        let m = (run % modes.len() as u64) as usize;
        let mode = modes[m];
        let dir: PathBuf = root.path().join(mode);
        let after = 1 + rng.below(if mode == "sync" { 150 } else { 600 }) as usize;
        let what = format!("run {run} ({mode}, kill after {after} acks, seed {seed})");
        let new = run_child(&dir, mode, run + 1, after);
        for (seq, v) in new {
            assert!(
                acked[m].insert(seq, v).is_none(),
                "{what}: seq {seq} reused"
            );
        }
        let (checked, repaired) = check(&dir, mode, &acked[m], &what);
        total += checked;
        repairs += u64::from(repaired);
    }
    let events: usize = acked.iter().map(BTreeMap::len).sum();
    println!(
        "kill runs: {runs} (seed {seed}); {events} acknowledged events, {total} event checks \
         across reopens, {repairs} reopens cut a torn tail"
    );
}
