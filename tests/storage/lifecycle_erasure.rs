//! Erasure of a profile (README "Data lifecycle", FORMAT.md §2.6): hidden from
//! every read once asked, then removed from every file by compaction, on both
//! disks; other profiles' events keep their sequence numbers and bytes.

use std::collections::BTreeMap;

use firstlog::{ErasureState, NewEvent, Scope, Store};

use crate::support::store::{Disk, event, events_json, options, sources};

/// A marker only the erased profile's events carry.
const MARKER: &str = "secret-marker-7f3a9c";

/// Events of five profiles over several segments; `user-3`'s carry the marker,
/// and `anon-3` (the same person before identifying) has events of its own.
fn fill(store: &Store, key: &str, n: u64) {
    let mut events = Vec::new();
    for i in 0..n {
        let mut e = event(key, i);
        if i % 5 == 3 {
            e = e
                .property("note", MARKER)
                .context_field("anonymous_id", "anon-3");
        }
        events.push(e);
        if i % 7 == 0 {
            events.push(NewEvent::new("Page Viewed", key).profile("anon-3"));
        }
    }
    for chunk in events.chunks(50) {
        for r in store.collect_batch_from(chunk).unwrap() {
            r.unwrap();
        }
    }
}

fn is_erased(json: &str) -> bool {
    json.contains("\"user-3\"") || json.contains("\"anon-3\"")
}

/// The store's files that contain `needle`.
fn files_containing(disk: &Disk, needle: &str) -> Vec<String> {
    disk.files()
        .into_iter()
        .filter(|name| {
            let bytes = disk.read(name);
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .collect()
}

#[test]
fn an_erased_profile_is_hidden_at_once_and_gone_from_every_file_when_done() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let [app] = sources(&store, &["App"]).try_into().unwrap();
        fill(&store, app.write_key(), 2000);
        // A refused payload naming the profile, kept in the quarantine.
        let refused = format!(
            r#"{{"event":"","write_key":"{}","profile_id":"user-3"}}"#,
            app.write_key()
        );
        assert!(store.collect_json(refused.as_bytes()).is_err());
        assert_eq!(store.rejected(10).len(), 1);
        store.sync().unwrap();
        let before = events_json(&store);
        assert!(store.stats().sealed_segments >= 3, "several segments");
        assert!(!files_containing(&disk, MARKER).is_empty());
        assert!(files_containing(&disk, "user-3").contains(&"rejected.ndjson".to_owned()));

        let request = store.erase_profile("user-3", Scope::All).unwrap();
        assert_eq!(request.profile_id.as_deref(), Some("user-3"));
        assert!(matches!(
            request.state,
            ErasureState::Pending | ErasureState::Running
        ));
        // Hidden from every read at once, before any compaction.
        let visible = events_json(&store);
        let kept: BTreeMap<u64, String> = before
            .iter()
            .filter(|(_, json)| !is_erased(json))
            .map(|(s, j)| (*s, j.clone()))
            .collect();
        assert!(kept.len() < before.len());
        assert_eq!(
            visible,
            kept,
            "{}: read_from hides the profile",
            disk.name()
        );
        let query = store.query(app.id());
        assert_eq!(query.count().unwrap(), kept.len() as u64);
        assert_eq!(store.query(app.id()).profile("user-3").count().unwrap(), 0);
        assert_eq!(store.query(app.id()).profile("anon-3").iter().count(), 0);
        let by_profile = query.distinct_profiles().unwrap();
        assert_eq!(by_profile, 4, "user-0..4 without user-3; anon-3 erased");

        let report = store.maintain().unwrap();
        assert_eq!(report.finished_erasures, vec![request.id]);
        let done = store.erasure(request.id).unwrap();
        assert_eq!(done.state, ErasureState::Done, "{}", disk.name());
        assert_eq!(done.profile_id, None, "a finished request forgets the id");
        assert_eq!(done.removed_events, (before.len() - kept.len()) as u64);
        assert!(done.finished_ms.is_some() && done.removed_bytes > 0);

        // Other events keep their sequence numbers and their bytes.
        assert_eq!(events_json(&store), kept);
        assert_eq!(store.verify().unwrap().problems, vec![]);
        assert_eq!(
            store.rejected(10).len(),
            0,
            "its refused payload is gone too"
        );
        store.close().unwrap();
        drop(store);
        for needle in ["user-3", "anon-3", MARKER] {
            assert_eq!(
                files_containing(&disk, needle),
                Vec::<String>::new(),
                "{}: {needle} left on disk",
                disk.name()
            );
        }
        let store = disk.open(options());
        assert_eq!(events_json(&store), kept, "{}: after reopen", disk.name());
        assert_eq!(store.verify().unwrap().problems, vec![]);
    }
}

#[test]
fn an_erasure_scoped_to_one_source_leaves_the_others() {
    let disk = Disk::Mem(firstlog::testing::MemFs::new());
    let store = disk.open(options());
    let [web, desk] = sources(&store, &["Web", "Help Desk"]).try_into().unwrap();
    fill(&store, web.write_key(), 300);
    fill(&store, desk.write_key(), 300);
    let desk_before = store.query(desk.id()).profile("user-3").count().unwrap();
    assert!(desk_before > 0);
    store
        .erase_profile("user-3", Scope::Sources(vec![web.id()]))
        .unwrap();
    store.maintain().unwrap();
    assert_eq!(store.query(web.id()).profile("user-3").count().unwrap(), 0);
    assert_eq!(
        store.query(desk.id()).profile("user-3").count().unwrap(),
        desk_before
    );
}

#[test]
fn events_after_the_request_are_new_data_unless_suppressed() {
    let store = crate::support::store::mem_store(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    let key = app.write_key();
    fill(&store, key, 100);
    store.erase_profile("user-3", Scope::All).unwrap();
    let later = store
        .collect(NewEvent::new("Page Viewed", key).profile("user-3"))
        .unwrap();
    assert!(later.seq.is_some() && !later.suppressed);
    store.maintain().unwrap();
    assert_eq!(store.query(app.id()).profile("user-3").count().unwrap(), 1);

    let request = store
        .erase_and_suppress_profile("user-3", Scope::All)
        .unwrap();
    assert!(request.suppress);
    let dropped = store
        .collect(NewEvent::new("Page Viewed", key).profile("user-3"))
        .unwrap();
    assert!(dropped.suppressed && dropped.seq.is_none());
    store.maintain().unwrap();
    assert_eq!(store.query(app.id()).profile("user-3").count().unwrap(), 0);
    assert_eq!(store.suppressions().len(), 1, "the suppression stands");
    assert_eq!(store.stats().suppressed, 1);
}

#[test]
fn a_pending_erasure_survives_reopen_hides_from_readers_and_resumes() {
    for disk in Disk::both() {
        let store = disk.open(options());
        let [app] = sources(&store, &["App"]).try_into().unwrap();
        fill(&store, app.write_key(), 600);
        let request = store.erase_profile("user-3", Scope::All).unwrap();
        // Closed before any compaction ran (the background pass may have run).
        store.close().unwrap();
        drop(store);
        let reader = Store::open_read_only(disk.path());
        if let Ok(reader) = reader {
            assert_eq!(reader.query(app.id()).profile("user-3").count().unwrap(), 0);
            assert!(events_json(&reader).values().all(|j| !is_erased(j)));
        }
        let store = disk.open(options());
        assert!(events_json(&store).values().all(|j| !is_erased(j)));
        store.maintain().unwrap();
        assert!(store.erasure(request.id).unwrap().is_done());
        assert_eq!(store.verify().unwrap().problems, vec![]);
    }
}

#[test]
fn erasing_an_unknown_profile_finishes_with_nothing_removed() {
    let store = crate::support::store::mem_store(options());
    let [app] = sources(&store, &["App"]).try_into().unwrap();
    fill(&store, app.write_key(), 50);
    let request = store.erase_profile("nobody", Scope::All).unwrap();
    store.maintain().unwrap();
    let done = store.erasure(request.id).unwrap();
    assert!(done.is_done());
    assert_eq!((done.removed_events, done.removed_bytes), (0, 0));
    assert!(store.erase_profile("", Scope::All).is_err());
    assert!(store.erasure(999).is_err());
}
