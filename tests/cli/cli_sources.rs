//! `firstlog init` and `source create|list|rotate-key|disable|enable` end to end:
//! the JSON they print, and that a rotated key or a disabled source really stops
//! collection through `collect` while other sources go on.

use crate::support::cli::{fails, ok, run_with_input, store_with_sources};
use crate::support::store::temp;

#[test]
fn source_lifecycle_controls_collection() {
    let (_tmp, dir) = temp();
    let init = ok(&dir, &["init"]);
    assert!(init.contains("created store"), "{init}");
    assert!(ok(&dir, &["init"]).contains("opened store"));

    let sources = store_with_sources(&dir, &["www Marketing Page", "Help Desk"]);
    assert_eq!(sources[0].0, 1);
    assert_eq!(sources[1].0, 2);
    assert_ne!(sources[0].1, sources[1].1);

    // `source list` as NDJSON: both, enabled, with their keys.
    let listed = crate::support::ndjson(&ok(&dir, &["source", "list", "--format", "ndjson"]));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1]["name"], "Help Desk");
    assert_eq!(listed[1]["write_key"], sources[1].1.as_str());
    assert_eq!(listed[1]["enabled"], true);
    let table = ok(&dir, &["source", "list"]);
    assert!(
        table.contains("www Marketing Page") && table.contains(&sources[0].1),
        "{table}"
    );

    // Rotate source 1: a new key, the old one refused.
    let rotated: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["source", "rotate-key", "1"])).unwrap();
    let new_key = rotated["write_key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, sources[0].1);
    // Disable source 2.
    let disabled: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["source", "disable", "2"])).unwrap();
    assert_eq!(disabled["enabled"], false);

    let lines = [
        format!(
            r#"{{"event":"Page Viewed","write_key":"{}"}}"#,
            sources[0].1
        ), // old key
        format!(r#"{{"event":"Page Viewed","write_key":"{new_key}"}}"#),
        format!(
            r#"{{"event":"Ticket Created","write_key":"{}"}}"#,
            sources[1].1
        ), // disabled
    ]
    .join("\n");
    let out = run_with_input(&dir, &["collect", "--json"], lines.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        crate::support::cli::describe(&out)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 1);
    assert_eq!(summary["rejected"], 2);
    assert_eq!(summary["rejected_by_kind"]["unknown write key"], 1);
    assert_eq!(summary["rejected_by_kind"]["source disabled"], 1);
    assert_eq!(summary["first_rejections"][0]["line"], 1);
    assert_eq!(summary["first_rejections"][1]["line"], 3);

    // Enabled again, it collects.
    ok(&dir, &["source", "enable", "2"]);
    let line = format!(
        r#"{{"event":"Ticket Created","write_key":"{}"}}"#,
        sources[1].1
    );
    let out = run_with_input(&dir, &["collect", "--json", "-"], line.as_bytes());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["accepted"],
        1,
        "{}",
        crate::support::cli::describe(&out)
    );

    let listed = crate::support::ndjson(&ok(&dir, &["source", "list", "--format", "ndjson"]));
    assert_eq!(listed[0]["events"], 1);
    assert_eq!(listed[1]["events"], 1);
}

#[test]
fn unknown_ids_and_missing_stores_fail_clearly() {
    let (_tmp, dir) = temp();
    // No store yet: commands that need one say so instead of creating it.
    let out = fails(&dir, &["source", "list"]);
    assert!(out.contains("no firstlog store"), "{out}");
    assert!(!dir.exists(), "a failed command must not create the store");
    store_with_sources(&dir, &["Web App"]);
    let out = fails(&dir, &["source", "rotate-key", "9"]);
    assert!(out.contains("no source with id 9"), "{out}");
    let out = fails(&dir, &["source", "disable", "9"]);
    assert!(out.contains("no source with id 9"), "{out}");
    // Usage errors exit 2.
    let out = crate::support::cli::run(&dir, &["source", "rotate-key", "one"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn set_origins_and_the_tracker_snippet() {
    let (_tmp, dir) = crate::support::store::temp();
    let sources = crate::support::cli::store_with_sources(&dir, &["Web"]);
    let out = crate::support::cli::ok(
        &dir,
        &[
            "source",
            "set-origins",
            "1",
            "https://www.example.com",
            "http://localhost:3000",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["allowed_origins"],
        serde_json::json!(["https://www.example.com", "http://localhost:3000"])
    );
    let bad = crate::support::cli::fails(&dir, &["source", "set-origins", "1", "www.example.com"]);
    assert!(bad.contains("origin"), "{bad}");
    let out = crate::support::cli::ok(&dir, &["source", "set-origins", "1"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["allowed_origins"],
        serde_json::json!([])
    );

    let snippet = crate::support::cli::ok(
        &dir,
        &[
            "source",
            "snippet",
            "1",
            "--host",
            "https://collect.example.com",
            "--path-prefix",
            "/fp",
        ],
    );
    assert!(
        snippet.contains(r#"s.src="https://collect.example.com/fp/js/firstparty.min.js""#),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!(
            r#"fp.load("{}","https://collect.example.com",{{prefix:"/fp"}})"#,
            sources[0].1
        )),
        "{snippet}"
    );
}
