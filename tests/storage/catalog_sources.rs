//! The catalog of sources: create, list, look up by id and write key, rename,
//! rotate (old key refused), disable/enable; write keys are long, printable and
//! distinct; the catalog survives a reopen and its atomic write never leaves an
//! unreadable catalog, whatever a crash or a failed write does to it.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use crate::support::store::{mem_store, options};
use firstlog::testing::{CrashMode, FaultPlan, FaultyFs, MemFs};
use firstlog::{Error, NewEvent, Source, Store};

const CRASH_MODES: [CrashMode; 4] = [
    CrashMode::KeepAll,
    CrashMode::DropAll,
    CrashMode::Torn,
    CrashMode::Chaos,
];

fn names(store: &Store) -> Vec<String> {
    store
        .sources()
        .iter()
        .map(|s| s.name().to_owned())
        .collect()
}

#[test]
fn create_list_and_look_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.sources().is_empty());
    let created: Vec<Source> = [
        "www Marketing Page",
        "Help Desk",
        "Web Application",
        "IoS Application",
        "Android Application",
    ]
    .iter()
    .map(|n| store.create_source(n).unwrap())
    .collect();

    // Listed in creation order, equal to what create returned.
    assert_eq!(store.sources(), created);
    let ids: HashSet<_> = created.iter().map(|s| s.id()).collect();
    assert_eq!(ids.len(), created.len(), "ids are distinct");
    for s in &created {
        assert!(s.is_enabled());
        assert_eq!(store.source(s.id()).as_ref(), Some(s));
        assert_eq!(store.source_by_write_key(s.write_key()).as_ref(), Some(s));
        // The key really routes events to this source.
        let r = store
            .collect(NewEvent::new("Page Viewed", s.write_key()))
            .unwrap();
        assert_eq!(r.source, s.id());
    }
    assert_eq!(store.source_by_write_key("wk_not_a_key"), None);
    assert_eq!(store.source_by_write_key(""), None);
    let unknown = firstlog::SourceId(9999);
    assert_eq!(store.source(unknown), None);
    assert!(matches!(
        store.rename_source(unknown, "x"),
        Err(Error::UnknownSource { id: 9999 })
    ));
    assert!(matches!(
        store.rotate_write_key(unknown),
        Err(Error::UnknownSource { id: 9999 })
    ));
    assert!(matches!(
        store.disable_source(unknown),
        Err(Error::UnknownSource { id: 9999 })
    ));
    // Every source got exactly its own events.
    for s in &created {
        assert_eq!(store.query(s.id()).count().unwrap(), 1);
    }
}

#[test]
fn invalid_source_names_are_refused_and_change_nothing() {
    let store = mem_store(options());
    let a = store.create_source("Help Desk").unwrap();
    for bad in ["", "   ", &"x".repeat(201)] {
        assert!(
            matches!(store.create_source(bad), Err(Error::InvalidArgument { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(
                store.rename_source(a.id(), bad),
                Err(Error::InvalidArgument { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(store.sources(), vec![a]);
}

#[test]
fn rename_keeps_id_and_key() {
    let store = mem_store(options());
    let a = store.create_source("Help Desk").unwrap();
    let renamed = store.rename_source(a.id(), "Support Desk").unwrap();
    assert_eq!(renamed.id(), a.id());
    assert_eq!(renamed.write_key(), a.write_key());
    assert_eq!(renamed.name(), "Support Desk");
    assert_eq!(store.source(a.id()).unwrap().name(), "Support Desk");
    assert_eq!(
        store.source_by_write_key(a.write_key()).unwrap().name(),
        "Support Desk"
    );
    store
        .collect(NewEvent::new("Ticket Opened", a.write_key()))
        .unwrap();
}

#[test]
fn rotation_refuses_the_old_key_and_accepts_the_new() {
    let store = mem_store(options());
    let a = store.create_source("Help Desk").unwrap();
    let b = store.create_source("Web Application").unwrap();
    store
        .collect(NewEvent::new("Ticket Opened", a.write_key()))
        .unwrap();
    let rotated = store.rotate_write_key(a.id()).unwrap();
    assert_eq!(rotated.id(), a.id());
    assert_eq!(rotated.name(), a.name());
    assert_ne!(rotated.write_key(), a.write_key());

    let before = store.last_seq();
    assert!(matches!(
        store.collect(NewEvent::new("Ticket Opened", a.write_key())),
        Err(Error::UnknownWriteKey)
    ));
    assert_eq!(store.last_seq(), before, "nothing written for the old key");
    assert_eq!(store.source_by_write_key(a.write_key()), None);
    assert_eq!(
        store.source_by_write_key(rotated.write_key()).as_ref(),
        Some(&rotated)
    );
    let r = store
        .collect(NewEvent::new("Ticket Closed", rotated.write_key()))
        .unwrap();
    assert_eq!(r.source, a.id());
    // The other source is untouched.
    assert_eq!(store.source(b.id()).as_ref(), Some(&b));
    // Events collected under the old key stay readable under the same source.
    let events: Vec<_> = store
        .query(a.id())
        .iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let got: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(got, ["Ticket Opened", "Ticket Closed"]);
}

#[test]
fn disable_refuses_and_enable_resumes() {
    let store = mem_store(options());
    let a = store.create_source("Help Desk").unwrap();
    let b = store.create_source("Web Application").unwrap();
    store
        .collect(NewEvent::new("Ticket Opened", a.write_key()))
        .unwrap();
    let disabled = store.disable_source(a.id()).unwrap();
    assert!(!disabled.is_enabled());
    assert!(!store.source(a.id()).unwrap().is_enabled());
    assert_eq!(
        disabled.write_key(),
        a.write_key(),
        "disabling keeps the key"
    );

    let before = store.last_seq();
    let refused = store.collect(NewEvent::new("Ticket Opened", a.write_key()));
    assert!(
        matches!(refused, Err(Error::SourceDisabled { id }) if id == a.id().0),
        "{refused:?}"
    );
    assert_eq!(store.last_seq(), before);
    // Other sources keep collecting; old events stay readable.
    store
        .collect(NewEvent::new("Page Viewed", b.write_key()))
        .unwrap();
    assert_eq!(store.query(a.id()).count().unwrap(), 1);

    let enabled = store.enable_source(a.id()).unwrap();
    assert!(enabled.is_enabled());
    store
        .collect(NewEvent::new("Ticket Closed", a.write_key()))
        .unwrap();
    assert_eq!(store.query(a.id()).count().unwrap(), 2);
}

#[test]
fn write_keys_are_long_printable_and_distinct() {
    let store = mem_store(options());
    let a = store.create_source("Help Desk").unwrap();
    let mut keys = vec![a.write_key().to_owned()];
    for i in 0..40 {
        keys.push(
            store
                .create_source(&format!("source {i}"))
                .unwrap()
                .write_key()
                .to_owned(),
        );
    }
    for _ in 0..200 {
        keys.push(
            store
                .rotate_write_key(a.id())
                .unwrap()
                .write_key()
                .to_owned(),
        );
    }
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "every key is fresh");
    for k in &keys {
        assert!(
            k.bytes().all(|b| b.is_ascii_graphic()),
            "{k:?} is not printable"
        );
        assert_eq!(k.trim(), k);
    }
    // Entropy estimate, black box: at every character position, count the distinct
    // symbols seen across the keys; a position that never varies carries no bits.
    // log2(distinct symbols) summed over positions bounds the key's randomness from
    // above, so it must reach 128 bits.
    let len = keys.iter().map(String::len).max().unwrap();
    let mut bits = 0.0f64;
    for pos in 0..len {
        let symbols: HashSet<u8> = keys
            .iter()
            .filter_map(|k| k.as_bytes().get(pos))
            .copied()
            .collect();
        bits += (symbols.len() as f64).log2();
    }
    assert!(
        bits >= 128.0,
        "keys carry at most {bits:.1} random bits (e.g. {:?})",
        keys[0]
    );
}

#[test]
fn catalog_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c);
    {
        let store = Store::open(dir.path()).unwrap();
        a = store.create_source("Help Desk").unwrap();
        b = store.create_source("Web Application").unwrap();
        c = store.create_source("Android Application").unwrap();
        store.rename_source(b.id(), "Web App").unwrap();
        store.rotate_write_key(c.id()).unwrap();
        store.disable_source(a.id()).unwrap();
        store.close().unwrap();
    }
    let expected;
    {
        let store = Store::open(dir.path()).unwrap();
        expected = store.sources();
        assert_eq!(
            names(&store),
            ["Help Desk", "Web App", "Android Application"]
        );
        assert!(!store.source(a.id()).unwrap().is_enabled());
        assert_eq!(store.source(b.id()).unwrap().write_key(), b.write_key());
        let c_now = store.source(c.id()).unwrap();
        assert_ne!(c_now.write_key(), c.write_key());
        assert_eq!(store.source_by_write_key(c.write_key()), None);
        assert!(matches!(
            store.collect(NewEvent::new("Page Viewed", c.write_key())),
            Err(Error::UnknownWriteKey)
        ));
        assert!(matches!(
            store.collect(NewEvent::new("Page Viewed", a.write_key())),
            Err(Error::SourceDisabled { .. })
        ));
        store
            .collect(NewEvent::new("Page Viewed", c_now.write_key()))
            .unwrap();
        // A new source after the reopen gets a fresh id.
        let d = store.create_source("IoS Application").unwrap();
        assert!(!expected.iter().any(|s| s.id() == d.id()));
        store.close().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.sources().len(), 4);
    assert_eq!(&store.sources()[..3], &expected[..]);
}

#[test]
fn a_leftover_temp_file_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let a;
    {
        let store = Store::open(dir.path()).unwrap();
        a = store.create_source("Help Desk").unwrap();
        store.close().unwrap();
    }
    let tmp = dir.path().join("catalog.tmp");
    for garbage in [
        Vec::new(),
        b"FLOGCAT\0 half a header".to_vec(),
        vec![0xA5; 5000],
    ] {
        std::fs::write(&tmp, &garbage).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.sources()[0],
            a,
            "the real catalog wins over the temp file"
        );
        let b = store.create_source("Web Application").unwrap();
        store.close().unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.sources().contains(&b));
        store.close().unwrap();
    }
}

/// Opens the store on `fs` and returns its source names, panicking with
/// `context` when the catalog is unreadable.
fn reopen_names(fs: MemFs, context: &str) -> Vec<String> {
    match Store::open_with("/mem", options().fs(Arc::new(fs))) {
        Ok(store) => names(&store),
        Err(e) => panic!("{context}: store does not open after the crash: {e}"),
    }
}

#[test]
fn a_crash_after_each_catalog_change_keeps_it() {
    for mode in CRASH_MODES {
        for seed in 0..8u64 {
            let context = format!("mode {mode:?} seed {seed}");
            let mem = MemFs::new();
            let store = Store::open_with("/mem", options().fs(Arc::new(mem.clone()))).unwrap();
            let a = store.create_source("Help Desk").unwrap();
            assert_eq!(
                reopen_names(mem.crash(mode, seed), &context),
                ["Help Desk"],
                "{context}: create_source returned, so it is durable"
            );
            store.rename_source(a.id(), "Support").unwrap();
            let rotated = store.rotate_write_key(a.id()).unwrap();
            store.disable_source(a.id()).unwrap();
            let crashed = mem.crash(mode, seed);
            let reopened = Store::open_with("/mem", options().fs(Arc::new(crashed))).unwrap();
            let s = reopened.source(a.id()).unwrap();
            assert_eq!(s.name(), "Support", "{context}");
            assert_eq!(s.write_key(), rotated.write_key(), "{context}");
            assert!(!s.is_enabled(), "{context}");
        }
    }
}

#[test]
fn a_crash_in_the_middle_of_a_catalog_write_leaves_old_or_new() {
    // Fail the Nth file operation of create_source (and all after it: the disk is
    // gone), then crash: the catalog must be readable and hold either the old or the
    // new source list; if create_source returned Ok, the new one.
    let mut saw_failure = 0;
    let mut saw_success = 0;
    for n in 1..=12u64 {
        for mode in CRASH_MODES {
            for seed in 0..4u64 {
                let context = format!("failing op +{n}, mode {mode:?}, seed {seed}");
                let mem = MemFs::new();
                let faulty = FaultyFs::new(mem.clone());
                let store =
                    Store::open_with("/mem", options().fs(Arc::new(faulty.clone()))).unwrap();
                store.create_source("Help Desk").unwrap();
                faulty.set_plan(FaultPlan {
                    fail_at: Some(faulty.ops() + n),
                    forever: true,
                });
                let created = store.create_source("Web Application");
                match &created {
                    Ok(_) => saw_success += 1,
                    Err(Error::Io { .. }) => {
                        saw_failure += 1;
                        assert_eq!(
                            names(&store),
                            ["Help Desk"],
                            "{context}: failed change published"
                        );
                    }
                    Err(e) => panic!("{context}: unexpected error {e}"),
                }
                let after = reopen_names(mem.crash(mode, seed), &context);
                if created.is_ok() {
                    assert_eq!(after, ["Help Desk", "Web Application"], "{context}");
                } else {
                    assert!(
                        after == ["Help Desk"] || after == ["Help Desk", "Web Application"],
                        "{context}: {after:?}"
                    );
                }
                drop(store);
            }
        }
    }
    assert!(
        saw_failure > 0 && saw_success > 0,
        "the fault sweep covered the whole write"
    );
}

#[test]
fn the_catalog_file_is_replaced_not_rewritten_in_place() {
    // A reader holding the old catalog file open (a backup tool) keeps seeing the
    // complete old bytes: a change writes a new file and renames it over the old one.
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_source("Help Desk").unwrap();
    let path = dir.path().join("catalog");
    let before = std::fs::read(&path).unwrap();
    let mut old_handle = std::fs::File::open(&path).unwrap();
    store.create_source("Web Application").unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_ne!(before, after);
    let mut through_old = Vec::new();
    old_handle.read_to_end(&mut through_old).unwrap();
    assert_eq!(
        through_old, before,
        "the old file was not modified in place"
    );
    assert!(
        !Path::new(&dir.path().join("catalog.tmp")).exists(),
        "temp file renamed away"
    );
}
