//! The lifecycle commands as a user types them: `init --segment-mib`,
//! `retention show|set|apply`, `erase`, `erasures`, `suppress`, `unsuppress`.

use crate::support::cli::{fails, ok, run, run_with_input, store_with_sources};

/// NDJSON payloads of 20 profiles, alternating between two write keys;
/// `user-7`'s carry a marker.
fn payloads(keys: &[String], n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let marker = if i % 20 == 7 {
            ",\"note\":\"MARK-42\""
        } else {
            ""
        };
        out.push_str(&format!(
            "{{\"event\":\"Page Viewed\",\"write_key\":\"{}\",\"profile_id\":\"user-{}\",\"properties\":{{\"i\":{i},\"pad\":\"{}\"{marker}}}}}\n",
            keys[i % 2],
            i % 20,
            "x".repeat(200)
        ));
    }
    out
}

fn files_containing(dir: &std::path::Path, needle: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn init_keeps_the_segment_size_for_later_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let out = ok(&dir, &["init", "--segment-mib", "1"]);
    assert!(out.contains("segments of 1.0 MiB"), "{out}");
    let sources = store_with_sources(&dir, &["Web", "Desk"]);
    let keys: Vec<String> = sources.into_iter().map(|(_, k)| k).collect();
    let out = run_with_input(&dir, &["collect"], payloads(&keys, 12_000).as_bytes());
    assert!(out.status.success());
    let segments = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref()))
        .count();
    assert!(segments >= 3, "1 MiB segments: {segments}");
    let usage = run(&dir, &["init", "--segment-mib", "0"]);
    assert_eq!(usage.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&usage.stderr).contains("segment-mib"));
}

#[test]
fn retention_set_show_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    ok(&dir, &["init", "--segment-mib", "1"]);
    let keys: Vec<String> = store_with_sources(&dir, &["Web", "Desk"])
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    run_with_input(&dir, &["collect"], payloads(&keys, 12_000).as_bytes());
    let shown = ok(
        &dir,
        &[
            "retention",
            "set",
            "--max-age",
            "30d",
            "--max-bytes",
            "2MiB",
        ],
    );
    assert!(
        shown.contains("max age 30d, max size 2.0 MiB, roll interval 1d"),
        "{shown}"
    );
    let shown = ok(
        &dir,
        &["retention", "set", "--source", "2", "--max-age", "2w"],
    );
    assert!(
        shown.contains("Desk       2w") || shown.contains("2w"),
        "{shown}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["retention", "apply"])).unwrap();
    assert!(
        report["deleted_segments"].as_u64().unwrap() >= 1,
        "{report}"
    );
    let start = report["log_start"].as_u64().unwrap();
    assert!(start > 1);
    let show: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["retention", "show", "--format", "ndjson"])).unwrap();
    assert_eq!(show["log_start"], start);
    assert_eq!(show["max_age"], "30d");
    assert_eq!(show["sources"][1]["max_age"], "2w");
    let cleared = ok(&dir, &["retention", "set", "--max-bytes", "none"]);
    assert!(cleared.contains("max size none"), "{cleared}");
    assert!(fails(&dir, &["retention", "set", "--max-age", "30"]).contains("unit"));
    assert!(ok(&dir, &["verify"]).contains("no problems"));
}

#[test]
fn erase_waits_until_done_and_leaves_no_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    ok(&dir, &["init", "--segment-mib", "1"]);
    let keys: Vec<String> = store_with_sources(&dir, &["Web", "Desk"])
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    run_with_input(&dir, &["collect"], payloads(&keys, 8_000).as_bytes());
    assert!(!files_containing(&dir, "MARK-42").is_empty());
    let out = ok(&dir, &["erase", "--profile", "user-7"]);
    let request: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(request["state"], "done", "{request}");
    assert_eq!(request["removed_events"], 400);
    assert_eq!(request["profile_id"], serde_json::Value::Null);
    for needle in ["MARK-42", "user-7\""] {
        assert_eq!(
            files_containing(&dir, needle),
            Vec::<String>::new(),
            "{needle}"
        );
    }
    let listed = ok(&dir, &["erasures"]);
    assert!(
        listed.contains("done") && listed.contains("400"),
        "{listed}"
    );
    let q = ok(&dir, &["query", "--source", "1", "--profile", "user-7"]);
    assert_eq!(q.trim(), "");
    assert!(ok(&dir, &["verify"]).contains("no problems"));
}

#[test]
fn suppress_then_unsuppress() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let keys: Vec<String> = store_with_sources(&dir, &["Web"])
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    let one = format!(
        "{{\"event\":\"Page Viewed\",\"write_key\":\"{}\",\"profile_id\":\"spammer\"}}\n",
        keys[0]
    );
    let s: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["suppress", "--profile", "spammer"])).unwrap();
    assert_eq!(s["profile_id"], "spammer");
    let out = run_with_input(&dir, &["collect", "--json"], one.as_bytes());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["accepted"].as_u64(), summary["suppressed"].as_u64()),
        (Some(0), Some(1)),
        "{summary}"
    );
    let u: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["unsuppress", "--profile", "spammer"])).unwrap();
    assert_eq!(u["unsuppressed"], true);
    let out = run_with_input(&dir, &["collect", "--json"], one.as_bytes());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 1, "{summary}");
    // An erasure with --suppress leaves the suppression standing.
    let out = ok(&dir, &["erase", "--profile", "spammer", "--suppress"]);
    assert!(out.contains("\"suppress\":true"), "{out}");
    let out = run_with_input(&dir, &["collect", "--json"], one.as_bytes());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["accepted"].as_u64(), summary["suppressed"].as_u64()),
        (Some(0), Some(1)),
        "{summary}"
    );
}
