//! Consumers: `read_from(seq)` yields every source's events in log order across
//! segment rolls and a reopen, from any start, and resumes at `next_seq()`;
//! `wait_for(seq, timeout)` returns at once when `seq` is readable, wakes when
//! another thread appends, wakes on close, and otherwise times out, sleeping
//! meanwhile (its thread uses almost no CPU: no busy loop). A tailing consumer
//! built from the two sees every event exactly once, in order.

use std::sync::mpsc;
use std::time::Duration;

use crate::support::store::{Disk, options};
use firstlog::{Event, NewEvent, Source, Store};

fn sources(store: &Store) -> Vec<Source> {
    ["www", "Help Desk", "Web App"]
        .iter()
        .map(|n| store.create_source(n).unwrap())
        .collect()
}

fn event(sources: &[Source], i: u64) -> NewEvent {
    NewEvent::new("Page Viewed", sources[(i % 5 % 3) as usize].write_key())
        .property("i", i)
        .property("pad", "w".repeat((i % 300) as usize))
}

fn index_of(e: &Event) -> u64 {
    e.properties().get("i").and_then(|v| v.as_i64()).unwrap() as u64
}

#[test]
fn read_from_any_start_in_log_order() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let srcs = sources(&store);
        let n = 1200u64;
        for i in 0..n / 2 {
            store.collect(event(&srcs, i)).unwrap();
        }
        store
            .collect_batch((n / 2..n).map(|i| event(&srcs, i)).collect())
            .unwrap();
        let segments = store.stats().segments;
        assert!(segments >= 4, "{segments}");

        let check = |store: &Store| {
            // Segment boundaries are interesting starts: the files are named by them.
            let mut starts = vec![0, 1, 2, n / 2, n - 1, n, n + 1, n + 100];
            for name in disk.files() {
                if let Some(first) = name.strip_suffix(".seg") {
                    let first: u64 = first.parse().unwrap();
                    starts.extend([first.saturating_sub(1), first, first + 1]);
                }
            }
            for start in starts {
                let got: Vec<Event> = store.read_from(start).collect::<Result<_, _>>().unwrap();
                let want: Vec<u64> = (start.max(1)..=n).collect();
                assert_eq!(
                    got.iter().map(Event::seq).collect::<Vec<_>>(),
                    want,
                    "from {start}"
                );
                for e in &got {
                    let i = index_of(e);
                    assert_eq!(e.seq(), i + 1);
                    assert_eq!(e.source(), srcs[(i % 5 % 3) as usize].id());
                }
            }
            // Resume from next_seq after reading part of the log.
            let mut reader = store.read_from(1);
            let head: Vec<u64> = reader
                .by_ref()
                .take(333)
                .map(|e| e.unwrap().seq())
                .collect();
            assert_eq!(reader.next_seq(), 334);
            let tail: Vec<u64> = store
                .read_from(reader.next_seq())
                .map(|e| e.unwrap().seq())
                .collect();
            assert_eq!(
                head.into_iter().chain(tail).collect::<Vec<_>>(),
                (1..=n).collect::<Vec<_>>()
            );
        };
        check(&store);

        // A reader reads what was published when it was made; a new one sees more.
        let reader = store.read_from(n - 1);
        store.collect(event(&srcs, 5000)).unwrap();
        assert_eq!(reader.count(), 2);
        assert_eq!(store.read_from(n - 1).count(), 3);
        store.close().unwrap();
        drop(store);

        let store = disk.open(options());
        assert_eq!(store.last_seq(), n + 1);
        let last = store.read_from(n + 1).next().unwrap().unwrap();
        assert_eq!(index_of(&last), 5000);
        let all: Vec<u64> = store.read_from(1).map(|e| e.unwrap().seq()).collect();
        assert_eq!(all, (1..=n + 1).collect::<Vec<_>>());
    }
}

/// CPU time this thread has used, in nanoseconds (Linux), if known.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[test]
fn wait_for_returns_at_once_or_times_out_without_spinning() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let srcs = sources(&store);
        assert_eq!(store.wait_for(0, Duration::from_secs(60)), 0);
        store.collect(event(&srcs, 0)).unwrap();
        store.collect(event(&srcs, 1)).unwrap();
        // Already readable: no waiting (a 60 s timeout would hang the test).
        assert_eq!(store.wait_for(2, Duration::from_secs(60)), 2);
        assert_eq!(store.wait_for(1, Duration::from_secs(60)), 2);

        // Nothing appended: it times out and says what is readable.
        let before = thread_cpu_ns();
        assert_eq!(store.wait_for(3, Duration::from_millis(500)), 2);
        if let (Some(before), Some(after)) = (before, thread_cpu_ns()) {
            let used_ms = (after - before) / 1_000_000;
            eprintln!("waiting 500 ms used {used_ms} ms of CPU");
            assert!(
                used_ms < 100,
                "wait_for spun: {used_ms} ms of CPU in 500 ms"
            );
        }
    }
}

#[test]
fn wait_for_wakes_when_another_thread_appends() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let srcs = sources(&store);
        let (tx, rx) = mpsc::channel();
        let waiter = {
            let store = store.clone();
            std::thread::spawn(move || {
                tx.send(()).unwrap();
                // A long timeout: returning with seq 1 proves the append woke it.
                store.wait_for(1, Duration::from_secs(120))
            })
        };
        rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        store.collect(event(&srcs, 0)).unwrap();
        assert!(waiter.join().unwrap() >= 1);

        // close() wakes a waiter too.
        let waiter = {
            let store = store.clone();
            std::thread::spawn(move || store.wait_for(1000, Duration::from_secs(120)))
        };
        std::thread::sleep(Duration::from_millis(50));
        store.close().unwrap();
        assert_eq!(waiter.join().unwrap(), 1);
    }
}

#[test]
fn a_tailing_consumer_sees_every_event_once_in_order() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let srcs = sources(&store);
        let total = 1500u64;
        let consumer = {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut next = 1;
                let mut seen = Vec::new();
                let mut wakeups = 0;
                while next <= total {
                    let readable = store.wait_for(next, Duration::from_secs(120));
                    assert!(readable >= next, "timed out waiting for {next}");
                    wakeups += 1;
                    let mut reader = store.read_from(next);
                    for e in reader.by_ref() {
                        let e = e.unwrap();
                        assert_eq!(e.seq(), next);
                        seen.push(index_of(&e));
                        next += 1;
                    }
                    assert_eq!(reader.next_seq(), next);
                }
                (seen, wakeups)
            })
        };
        let mut i = 0;
        while i < total {
            let burst = 1 + i % 37;
            let end = (i + burst).min(total);
            if burst.is_multiple_of(2) {
                store
                    .collect_batch((i..end).map(|k| event(&srcs, k)).collect())
                    .unwrap();
            } else {
                for k in i..end {
                    store.collect(event(&srcs, k)).unwrap();
                }
            }
            i = end;
            if i.is_multiple_of(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let (seen, wakeups) = consumer.join().unwrap();
        assert_eq!(seen, (0..total).collect::<Vec<_>>());
        assert!(store.stats().segments >= 4);
        eprintln!("{total} events tailed in {wakeups} wake-ups");
    }
}
