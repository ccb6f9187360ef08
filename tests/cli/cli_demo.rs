//! `firstlog demo` end to end: it makes a fresh temporary store by default, prints
//! every section of its summary, leaves a store whose contents match what it
//! printed (five sources, hashed emails, no heartbeats), is deterministic for a
//! seed, and refuses a non-empty `--data` directory.

use std::process::Command;

use crate::support::cli::{bin, describe, fails, ok};
use crate::support::ndjson;

fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} not in {text}"));
    text[at + label.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?}"))
}

fn per_source(dir: &std::path::Path) -> Vec<(String, u64)> {
    let stats: serde_json::Value =
        serde_json::from_str(&ok(dir, &["stats", "--format", "ndjson"])).unwrap();
    stats["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["events"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn demo_prints_its_summary_and_leaves_a_matching_store() {
    let tmp = tempfile::tempdir().unwrap();
    // Default: a fresh directory under TMPDIR.
    let out = Command::new(bin())
        .env("TMPDIR", tmp.path())
        .env_remove("FIRSTLOG_DATA")
        .args(["demo", "--events", "6000"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let made: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let dir = made[0].clone();
    assert!(
        dir.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("firstlog-demo-")
    );
    assert!(
        text.contains(&dir.display().to_string()),
        "the demo says where the store is: {text}"
    );
    for section in [
        "== collection",
        "events/s",
        "MiB/s",
        "== events per source",
        "== top events per day",
        "== naming warnings",
        "\"Cart-Abandoned\"",
        "\"Cart Abandoned\"",
        "\"form submitted\"",
        "\"Form Submitted\"",
        "\"Product 126\"",
        "== rejected payloads",
        "unknown write key",
        "invalid timestamp",
        "== sample query",
        "== explore the store it left behind",
        "query --source 2 --name 'Agent Assigned'",
    ] {
        assert!(
            text.contains(section),
            "{section:?} missing from the demo's output:\n{text}"
        );
    }

    // The store holds what the summary says.
    let stored = number_after(&text, "  stored");
    let sources = per_source(&dir);
    let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "www Marketing Page",
            "Help Desk",
            "Web App",
            "iOS App",
            "Android App"
        ]
    );
    assert_eq!(sources.iter().map(|(_, n)| n).sum::<u64>(), stored);
    let rejected = number_after(&text, "== rejected payloads:");
    assert!(rejected > 0 && rejected < 100, "{rejected}");
    let quarantined = std::fs::read_to_string(dir.join("rejected.ndjson")).unwrap();
    assert_eq!(quarantined.lines().count() as u64, rejected);

    // Rules ran: emails are hashed, heartbeats dropped.
    let assigned = ndjson(&ok(
        &dir,
        &["query", "--source", "2", "--name", "Agent Assigned"],
    ));
    assert!(!assigned.is_empty());
    for e in &assigned {
        let email = e["properties"]["email"].as_str().unwrap();
        assert!(
            email.len() == 64 && email.bytes().all(|b| b.is_ascii_hexdigit()),
            "{email}"
        );
    }
    for source in ["1", "4", "5"] {
        let beats = ndjson(&ok(
            &dir,
            &["query", "--source", source, "--name", "Heartbeat Sent"],
        ));
        assert!(
            beats.is_empty(),
            "heartbeats must be dropped by the demo's rule"
        );
    }
    assert!(ok(&dir, &["verify"]).contains("ok: no problems found"));

    // The same seed gives the same store.
    let again = tmp.path().join("again");
    let out = ok(&again, &["demo", "--events", "6000"]);
    assert_eq!(number_after(&out, "  stored"), stored);
    assert_eq!(per_source(&again), sources);
    // ...and a non-empty directory is refused.
    let refused = fails(&again, &["demo", "--events", "10"]);
    assert!(refused.contains("not empty"), "{refused}");
}

/// The demo prints each naming warning with its suggested fix; a suggestion must
/// itself follow the guideline, or there should be none.
#[test]
fn suggested_fixes_follow_the_guideline() {
    use firstlog::check_event_name;
    for name in [
        "form submitted",
        "Cart-Abandoned",
        "Product 126",
        "Button clicked",
        "Newsletter Signup",
    ] {
        let warning = check_event_name(name).expect("breaks the guideline");
        if let Some(s) = &warning.suggestion {
            assert!(
                check_event_name(s).is_none(),
                "{name:?} -> suggested {s:?}, which breaks the guideline: {:?}",
                check_event_name(s)
            );
        }
    }
}
