//! One writer per store directory: a second `Store::open` of the same directory, in
//! this process or in another one, gets `Error::Locked` naming the path; the lock
//! is released when the first store is dropped (or its process dies, even by
//! SIGKILL), after which opening works and sees what the first writer acknowledged.
//!
//! The other process is this test binary itself, started with `CHILD_ENV` set: the
//! `child_process_entry` test then acts as the child and reports on stdout.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use firstlog::{Durability, Error, NewEvent, Options, Store};

const CHILD_ENV: &str = "FIRSTLOG_LOCK_TEST_CHILD";
const DIR_ENV: &str = "FIRSTLOG_LOCK_TEST_DIR";

fn options() -> Options {
    Options::default().durability(Durability::Sync)
}

/// What one open attempt gave, as one word.
fn outcome(result: &Result<Store, Error>) -> String {
    match result {
        Ok(_) => "ok".to_owned(),
        Err(Error::Locked { path }) => format!("locked {}", path.display()),
        Err(e) => format!("error {e}"),
    }
}

fn assert_locked(result: Result<Store, Error>, dir: &Path) {
    match result {
        Err(e @ Error::Locked { .. }) => {
            let Error::Locked { path } = &e else {
                unreachable!()
            };
            assert_eq!(path, dir);
            let message = e.to_string();
            assert!(
                message.contains(&dir.display().to_string()),
                "the message names the path: {message}"
            );
        }
        other => panic!("expected Locked, got {}", outcome(&other)),
    }
}

#[test]
fn second_open_in_the_same_process_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open_with(dir.path(), options()).unwrap();
    let source = first.create_source("Web App").unwrap();
    first
        .collect(NewEvent::new("Page Viewed", source.write_key()))
        .unwrap();

    assert_locked(Store::open_with(dir.path(), options()), dir.path());
    // Also when reached by another spelling of the same directory.
    let other_spelling = dir.path().join(".");
    assert!(matches!(
        Store::open_with(&other_spelling, options()),
        Err(Error::Locked { .. })
    ));

    // A clone shares the lock; closing does not release it while a clone lives.
    let clone = first.clone();
    drop(first);
    assert_locked(Store::open_with(dir.path(), options()), dir.path());
    clone.close().unwrap();
    assert_locked(Store::open_with(dir.path(), options()), dir.path());
    drop(clone);

    // Dropped: the next open works and sees the event.
    let second = Store::open_with(dir.path(), options()).unwrap();
    assert_eq!(second.last_seq(), 1);
    assert_eq!(second.query(source.id()).count().unwrap(), 1);
    // And while it is open, it holds the lock in turn.
    assert_locked(Store::open_with(dir.path(), options()), dir.path());
}

#[test]
fn a_failed_open_leaves_the_first_store_working() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open_with(dir.path(), options()).unwrap();
    let source = first.create_source("Help Desk").unwrap();
    for _ in 0..3 {
        assert!(matches!(
            Store::open_with(dir.path(), options()),
            Err(Error::Locked { .. })
        ));
        first
            .collect(NewEvent::new("Ticket Opened", source.write_key()))
            .unwrap();
    }
    assert_eq!(first.last_seq(), 3);
    assert!(first.verify().unwrap().is_clean());
}

/// Starts this test binary as a child in `mode` on `dir`.
fn spawn_child(mode: &str, dir: &Path) -> (Child, BufReader<ChildStdout>) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "store_locking::child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env(DIR_ENV, dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// Reads the child's stdout up to its next `CHILD: ` line.
fn child_line(reader: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the child ended without reporting");
        // The harness may print `test child_process_entry ... ` on the same line.
        if let Some(at) = line.find("CHILD: ") {
            return line[at + "CHILD: ".len()..].trim_end().to_owned();
        }
    }
}

/// The child: `try` opens the store and reports the outcome (writing one event
/// when it got the store); `hold` opens it, writes one event (Sync: it is durable
/// when acknowledged), reports `held`, and waits until stdin closes or it is killed.
#[test]
fn child_process_entry() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return; // Not a child: nothing to do.
    };
    let dir = std::env::var(DIR_ENV).unwrap();
    let result = Store::open_with(&dir, options());
    if let Ok(store) = &result {
        let key = store.sources()[0].write_key().to_owned();
        let seq = store
            .collect(NewEvent::new("Child Wrote", &key).property("mode", mode.as_str()))
            .unwrap()
            .seq;
        assert!(seq.is_some());
    }
    println!("CHILD: {}", outcome(&result));
    if mode == "hold" {
        println!("CHILD: held");
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
    }
}

#[test]
fn another_process_gets_locked_until_the_writer_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_with(dir.path(), options()).unwrap();
    let source = store.create_source("Android Application").unwrap();

    let (mut child, mut out) = spawn_child("try", dir.path());
    let said = child_line(&mut out);
    assert!(child.wait().unwrap().success());
    assert_eq!(said, format!("locked {}", dir.path().display()));

    drop(store);
    let (mut child, mut out) = spawn_child("try", dir.path());
    let said = child_line(&mut out);
    assert!(child.wait().unwrap().success());
    assert_eq!(said, "ok");

    // The child closed the store when it exited; its event is there.
    let store = Store::open_with(dir.path(), options()).unwrap();
    let events: Vec<_> = store
        .query(source.id())
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].name(), "Child Wrote");
}

#[test]
fn a_killed_writer_process_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open_with(dir.path(), options()).unwrap();
        store.create_source("iOS Application").unwrap();
    }
    let (mut child, mut out) = spawn_child("hold", dir.path());
    assert_eq!(child_line(&mut out), "ok");
    assert_eq!(child_line(&mut out), "held");

    // While the child holds the store, this process cannot open it.
    assert_locked(Store::open_with(dir.path(), options()), dir.path());

    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    // The OS released the lock with the process; the acknowledged event survived
    // the kill (recovery finds it in the unclosed active segment).
    let store = Store::open_with(dir.path(), options()).unwrap();
    assert_eq!(store.last_seq(), 1);
    let event = store.read_from(1).next().unwrap().unwrap();
    assert_eq!(event.name(), "Child Wrote");
    assert!(store.verify().unwrap().is_clean());
}
