//! A child process (this test binary, re-executed in child mode) erases a
//! profile (`erase_profile`, then `maintain()`) in a store of many 64 KiB
//! segments on the real file system; the parent SIGKILLs it at pseudo-random
//! moments, before the request is durable, while it is pending, while the
//! compaction runs. After each kill the store opens, hides the profile's events
//! at once, and a pass finishes the request; then no file of the store holds a
//! byte of the profile id, its anonymous id or the marker its events carry, and
//! every other event is as it was (same sequence number, same JSON).
//! `FIRSTLOG_LIFECYCLE_KILL_RUNS=N` runs N kills.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use firstlog::testing::SplitMix64;
use firstlog::{ErasureState, NewEvent, Scope, Store};

use crate::support::store::{T0, events_json, options};

const CHILD_ENV: &str = "FIRSTLOG_LIFECYCLE_KILL_DIR";
/// The erased profile, the anonymous id it had before identifying, and the
/// marker only its events carry.
const VICTIM: &str = "profile-7";
const ANONYMOUS: &str = "anon-7f3e21";
const MARKER: &str = "MARKER-5f2a9c41";
/// Events in the store: about 25 segments of 64 KiB.
const EVENTS: u64 = 2500;

/// Event `i`: one of ten profiles (every 10th is the victim's, a third of those
/// with its anonymous id; every 29th is sent by the anonymous id alone).
fn event(key: &str, i: u64) -> NewEvent {
    let profile = if i.is_multiple_of(29) {
        ANONYMOUS.to_owned()
    } else {
        format!("profile-{}", i % 10)
    };
    let mut e = NewEvent::new(
        ["Page Viewed", "Signed Up", "Report Exported"][(i % 3) as usize],
        key,
    )
    .profile(&profile)
    .timestamp_ms(T0 + i as i64 * 1000)
    .property("n", i)
    .property("path", format!("/docs/page-{}", i % 113))
    .property("text", "lorem ipsum ".repeat(30 + (i % 17) as usize));
    if profile == VICTIM || profile == ANONYMOUS {
        e = e.property("secret", MARKER);
        if i.is_multiple_of(3) && profile == VICTIM {
            e = e.context_field("anonymous_id", ANONYMOUS);
        }
    }
    e
}

fn is_victims(json: &str) -> bool {
    json.contains(VICTIM) || json.contains(ANONYMOUS) || json.contains(MARKER)
}

/// The child: open the store, erase the victim, run a pass, reporting each step.
/// Runs only when re-executed by the parent (the variable is set).
#[test]
fn lifecycle_kill_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    let store = Store::open_with(&dir, options()).unwrap();
    say("OPEN".into());
    let request = store.erase_profile(VICTIM, Scope::All).unwrap();
    say(format!("ASKED {}", request.id));
    let start = Instant::now();
    let report = store.maintain().unwrap();
    assert_eq!(report.finished_erasures, vec![request.id]);
    say(format!("DONE {}", start.elapsed().as_micros()));
}

/// What one child run printed before it was killed (or ended).
#[derive(Debug, Default)]
struct ChildRun {
    asked: bool,
    /// The pass finished, in this many µs.
    done: Option<u64>,
}

/// Runs the child on `dir`; kills it `delay` after it printed `after` ("OPEN"
/// or "ASKED"); `None` lets it finish.
fn run_child(dir: &Path, kill: Option<(&str, Duration)>) -> ChildRun {
    let stderr_path = dir.with_extension("stderr");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "lifecycle_kill::lifecycle_kill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut run = ChildRun::default();
    // libtest's "test NAME ... " may start the child's first line.
    let word = |line: &str| line.rsplit("... ").next().unwrap_or_default().to_owned();
    let note = |line: &str, run: &mut ChildRun| {
        let line = word(line);
        if line.starts_with("ASKED") {
            run.asked = true;
        } else if let Some(us) = line.strip_prefix("DONE ") {
            run.done = Some(us.parse().unwrap());
        }
    };
    if let Some((after, delay)) = kill {
        loop {
            let Some(Ok(line)) = lines.next() else {
                let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("the child ended before {after}: {stderr}");
            };
            note(&line, &mut run);
            if word(&line).starts_with(after) {
                break;
            }
        }
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL on Unix
    }
    let status = child.wait().unwrap();
    // Lines already in the pipe were printed before the kill.
    for line in lines.map_while(Result::ok) {
        note(&line, &mut run);
    }
    if kill.is_none() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        assert!(status.success(), "the child failed: {stderr}");
    }
    run
}

fn copy_store(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The files of `dir` that contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let needle = needle.as_bytes();
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let hit = bytes
            .windows(needle.len())
            .any(|w| w[0] == needle[0] && w == needle);
        if hit {
            found.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    found
}

/// How a kill left the request, as the reopened store shows it.
#[derive(Debug, Default)]
struct Tally {
    /// Killed before the request was durable: the store holds none.
    before_request: u64,
    /// Killed with the request pending, running or failed: unfinished.
    interrupted: u64,
    /// Of those, killed after compaction had rewritten some segments.
    mid_compaction: u64,
    /// The pass had finished.
    finished: u64,
}

/// Reopens after a kill, finishes the erasure, and checks every file and event.
/// What the child said it did before the kill is durable.
fn check_after_kill(
    dir: &Path,
    kept: &BTreeMap<u64, String>,
    child: &ChildRun,
    tally: &mut Tally,
    what: &str,
) {
    let store = Store::open_with(dir, options()).unwrap_or_else(|e| panic!("{what}: reopen: {e}"));
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{what}: {:?}", report.problems);
    let request = match store.erasures().as_slice() {
        [] => {
            assert!(
                !child.asked,
                "{what}: the request was acknowledged, and lost"
            );
            tally.before_request += 1;
            store.erase_profile(VICTIM, Scope::All).unwrap()
        }
        [request] => {
            if request.is_done() {
                tally.finished += 1;
            } else {
                assert!(
                    child.done.is_none(),
                    "{what}: the pass finished, and {request:?}"
                );
                if request.removed_events > 0 {
                    tally.mid_compaction += 1;
                }
                tally.interrupted += 1;
                assert!(
                    matches!(
                        request.state,
                        ErasureState::Pending | ErasureState::Running | ErasureState::Failed { .. }
                    ),
                    "{what}: {request:?}"
                );
            }
            request.clone()
        }
        more => panic!("{what}: one erasure asked, the store holds {more:?}"),
    };
    // Hidden at once, whatever the compaction got to.
    assert_eq!(&events_json(&store), kept, "{what}: before the pass");
    store.maintain().unwrap();
    let done = store.erasure(request.id).unwrap();
    assert!(done.is_done(), "{what}: {done:?}");
    assert_eq!(done.profile_id, None);
    assert_eq!(&events_json(&store), kept, "{what}: after the pass");
    let report = store.verify().unwrap();
    assert!(report.is_clean(), "{what}: {:?}", report.problems);
    store.close().unwrap();
    drop(store);
    for needle in [VICTIM, ANONYMOUS, MARKER] {
        assert_eq!(
            files_containing(dir, needle),
            Vec::<String>::new(),
            "{what}: {needle} left on disk"
        );
    }
    let store = Store::open_with(dir, options()).unwrap();
    assert_eq!(&events_json(&store), kept, "{what}: after reopening");
}

#[test]
fn sigkill_mid_erasure_leaves_no_byte_of_the_profile() {
    let runs: u64 = std::env::var("FIRSTLOG_LIFECYCLE_KILL_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let seed: u64 = std::env::var("FIRSTLOG_LIFECYCLE_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED_0E7A);
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("template");
    let before = {
        let store = Store::open_with(&template, options()).unwrap();
        let keys: Vec<String> = ["Web", "App"]
            .iter()
            .map(|n| store.create_source(n).unwrap().write_key().to_owned())
            .collect();
        let events: Vec<NewEvent> = (0..EVENTS)
            .map(|i| event(&keys[(i % 2) as usize], i))
            .collect();
        for chunk in events.chunks(200) {
            for r in store.collect_batch_from(chunk).unwrap() {
                r.unwrap();
            }
        }
        let stats = store.stats();
        assert!(stats.sealed_segments >= 20, "{stats:?}");
        let before = events_json(&store);
        store.close().unwrap();
        before
    };
    assert_eq!(before.len() as u64, EVENTS);
    let kept: BTreeMap<u64, String> = before
        .iter()
        .filter(|(_, json)| !is_victims(json))
        .map(|(seq, json)| (*seq, json.clone()))
        .collect();
    assert!(kept.len() < before.len() && kept.len() > before.len() / 2);
    for needle in [VICTIM, ANONYMOUS, MARKER] {
        assert!(!files_containing(&template, needle).is_empty());
    }

    // How long the pass takes here, undisturbed: the kills are spread over it.
    let calibration = root.path().join("calibration");
    copy_store(&template, &calibration);
    let pass = run_child(&calibration, None);
    let pass_us = pass.done.expect("the undisturbed child finishes");
    check_after_kill(
        &calibration,
        &kept,
        &pass,
        &mut Tally::default(),
        "undisturbed run",
    );

    let mut rng = SplitMix64::new(seed);
    let mut tally = Tally::default();
    for run in 0..runs {
        let dir = root.path().join(format!("run-{run}"));
        copy_store(&template, &dir);
        // Every fourth kill comes soon after the store opened (maybe before the
        // request is durable), every fourth early in the pass (the pass may run
        // faster than it did undisturbed), the others anywhere in it.
        let (after, delay_us) = match run % 4 {
            0 => ("OPEN", rng.below(2_000)),
            1 => ("ASKED", rng.below(pass_us / 10 + 1)),
            _ => ("ASKED", rng.below(pass_us + 1)),
        };
        let delay = Duration::from_micros(delay_us);
        let what = format!("run {run} (killed {delay:?} after {after}; seed {seed})");
        let child = run_child(&dir, Some((after, delay)));
        check_after_kill(&dir, &kept, &child, &mut tally, &what);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "lifecycle kills: {runs} runs (seed {seed}), an undisturbed pass takes {pass_us} µs; \
         {tally:?}"
    );
    assert!(
        tally.interrupted > 0,
        "no kill interrupted an erasure ({tally:?}, a pass takes {pass_us} µs)"
    );
}
