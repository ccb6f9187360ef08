//! `firstlog collect` on NDJSON full of bad lines: every good line is stored (in
//! order, checked against a model through `query`), every bad line is refused
//! with its line number and quarantined, blank lines are skipped; unreadable
//! input exits 1; `--rules` and `rules check` work on real files.

use crate::support::cli::{fails, ok, run_with_input, store_with_sources};
use crate::support::ndjson;
use crate::support::store::temp;
use firstlog::testing::SplitMix64;

const SEED: u64 = 0x5EED_C011;

/// One input line and whether it must be stored.
struct Line {
    text: Vec<u8>,
    good: bool,
}

fn lines(key: &str, n: usize) -> (Vec<Line>, Vec<u64>) {
    let mut rng = SplitMix64::new(SEED);
    let mut out = Vec::new();
    let mut stored_i = Vec::new();
    for i in 0..n as u64 {
        // The last line is valid (a final empty line would not count as a line).
        let kind = if i < 12 {
            i
        } else if i + 1 == n as u64 {
            15
        } else {
            rng.below(16)
        };
        let good = |text: String| Line {
            text: text.into_bytes(),
            good: true,
        };
        let bad = |text: Vec<u8>| Line { text, good: false };
        let valid = format!(
            r#"{{"event":"Page Viewed","write_key":"{key}","profile_id":"p{}","timestamp":{},"properties":{{"i":{i}}}}}"#,
            i % 7,
            1_700_000_000_000u64 + i * 60_000
        );
        let line = match kind {
            0 => bad(format!(r#"{{"event":"Page Viewed","write_key":"{key}""#).into_bytes()),
            1 => bad(b"not json at all".to_vec()),
            2 => bad(vec![0xff, 0xfe, b'{', 0x80]),
            3 => bad(b"[1, 2, 3]".to_vec()),
            4 => bad(format!(r#"{{"write_key":"{key}"}}"#).into_bytes()),
            5 => bad(br#"{"event":"Page Viewed","write_key":"wk_nobody"}"#.to_vec()),
            6 => bad(format!(
                r#"{{"event":"Page Viewed","write_key":"{key}","timestamp":"soon"}}"#
            )
            .into_bytes()),
            7 => bad(format!(
                r#"{{"event":"Page Viewed","write_key":"{key}","properties":{{"blob":"{}"}}}}"#,
                "x".repeat(40_000)
            )
            .into_bytes()),
            8 => bad(
                format!(r#"{{"event":"Page Viewed","write_key":"{key}","userId":"u"}}"#)
                    .into_bytes(),
            ),
            9 => Line {
                text: b"   ".to_vec(),
                good: false,
            },
            10 => Line {
                text: Vec::new(),
                good: false,
            },
            // A CRLF line ending is fine.
            11 => {
                let mut l = good(valid);
                l.text.push(b'\r');
                l
            }
            _ => good(valid),
        };
        if line.good {
            stored_i.push(i);
        }
        out.push(line);
    }
    (out, stored_i)
}

#[test]
fn bad_lines_never_stop_good_ones() {
    let (_tmp, dir) = temp();
    let sources = store_with_sources(&dir, &["Web App"]);
    let (input, stored_i) = lines(&sources[0].1, 3000);
    let mut bytes = Vec::new();
    for (k, line) in input.iter().enumerate() {
        bytes.extend_from_slice(&line.text);
        if k + 1 < input.len() {
            bytes.push(b'\n'); // the last line has no newline
        }
    }
    let file = dir.parent().unwrap().join("events.ndjson");
    std::fs::write(&file, &bytes).unwrap();

    let out = crate::support::cli::run(&dir, &["collect", "--json", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "seed {SEED:#x}: {}",
        crate::support::cli::describe(&out)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let blank = input
        .iter()
        .filter(|l| l.text.trim_ascii().is_empty())
        .count() as u64;
    let bad = input.len() as u64 - stored_i.len() as u64 - blank;
    assert_eq!(
        summary["accepted"],
        stored_i.len() as u64,
        "seed {SEED:#x}: {summary}"
    );
    assert_eq!(summary["rejected"], bad, "seed {SEED:#x}: {summary}");
    assert_eq!(summary["lines"], input.len() as u64);
    // The first rejections are the first bad lines, by number (1-based).
    let first: Vec<u64> = summary["first_rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = input
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.good && !l.text.trim_ascii().is_empty())
        .map(|(k, _)| k as u64 + 1)
        .take(10)
        .collect();
    assert_eq!(first, expected);
    let kinds = &summary["rejected_by_kind"];
    assert!(kinds["event too large"].as_u64() >= Some(1), "{kinds}");
    assert!(kinds["unknown write key"].as_u64() >= Some(1), "{kinds}");
    assert!(kinds["invalid timestamp"].as_u64() >= Some(1), "{kinds}");
    assert!(kinds["invalid userId"].as_u64() >= Some(1), "{kinds}");

    // Every good line is stored, in order, intact.
    let events = ndjson(&ok(&dir, &["query", "--source", "1"]));
    let got: Vec<u64> = events
        .iter()
        .map(|e| e["properties"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, stored_i, "seed {SEED:#x}");
    for e in &events {
        let i = e["properties"]["i"].as_u64().unwrap();
        assert_eq!(e["profile_id"], format!("p{}", i % 7).as_str());
        assert_eq!(e["event"], "Page Viewed");
        assert_eq!(e["source_id"], 1);
    }
    // Refused payloads are in the quarantine.
    let quarantined = std::fs::read_to_string(dir.join("rejected.ndjson")).unwrap();
    assert_eq!(quarantined.lines().count() as u64, bad);

    // The same through standard input gives the same counts (all duplicates-free:
    // no message ids, so they are stored again).
    let out = run_with_input(&dir, &["collect", "--json"], &bytes);
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["accepted"], summary["accepted"]);
    assert_eq!(again["rejected"], summary["rejected"]);

    // The text summary names lines and reasons.
    let out = crate::support::cli::run(&dir, &["collect", file.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("first rejected lines:"), "{text}");
    assert!(text.contains("line 1: invalid event"), "{text}");
    assert!(text.contains("events/s"), "{text}");
}

#[test]
fn unreadable_input_exits_nonzero() {
    let (tmp, dir) = temp();
    store_with_sources(&dir, &["Web App"]);
    let missing = tmp.path().join("missing.ndjson");
    let out = fails(&dir, &["collect", missing.to_str().unwrap()]);
    assert!(out.contains("cannot read"), "{out}");
    // A directory opens but cannot be read.
    let out = fails(&dir, &["collect", tmp.path().to_str().unwrap()]);
    assert!(out.contains("failed"), "{out}");
    // No store there.
    let empty = tmp.path().join("empty.ndjson");
    std::fs::write(&empty, b"").unwrap();
    let out = fails(
        &tmp.path().join("nostore"),
        &["collect", empty.to_str().unwrap()],
    );
    assert!(out.contains("no firstlog store"), "{out}");
    // An empty file is fine.
    let out = ok(&dir, &["collect", "--json", empty.to_str().unwrap()]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(0), Some(0))
    );
    // A missing rules file fails before reading anything.
    let out = fails(
        &dir,
        &[
            "collect",
            "--rules",
            missing.to_str().unwrap(),
            empty.to_str().unwrap(),
        ],
    );
    assert!(out.contains("rules file"), "{out}");
}

#[test]
fn rules_files_check_and_apply() {
    let (tmp, dir) = temp();
    let sources = store_with_sources(&dir, &["Help Desk"]);
    let rules = tmp.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"{"rules": [
            {"type": "hash_property", "key": "email"},
            {"type": "drop_events", "names": ["Heartbeat Sent"]},
            {"type": "require_property", "key": "subject", "name": "needs subject"}
        ]}"#,
    )
    .unwrap();
    let checked = ok(&dir, &["rules", "check", rules.to_str().unwrap()]);
    assert!(checked.contains("3 rules, all valid"), "{checked}");
    assert!(checked.contains("needs subject (all sources)"), "{checked}");

    let toml = tmp.path().join("rules.toml");
    std::fs::write(
        &toml,
        "[[rules]]\ntype = \"remove_property\"\nkey = \"ip\"\nsources = [1]\n",
    )
    .unwrap();
    let checked = ok(&dir, &["rules", "check", toml.to_str().unwrap()]);
    assert!(
        checked.contains("remove_property ip (sources 1)"),
        "{checked}"
    );

    let bad = tmp.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"type": "hash_property", "key": "email"}, {"type": "explode"}]"#,
    )
    .unwrap();
    let out = fails(&dir, &["rules", "check", bad.to_str().unwrap()]);
    assert!(out.contains("rule 1"), "{out}");

    let key = &sources[0].1;
    let input = [
        format!(r#"{{"event":"Agent Assigned","write_key":"{key}","properties":{{"email":" Sally@Example.com ","subject":"billing"}}}}"#),
        format!(r#"{{"event":"Heartbeat Sent","write_key":"{key}","properties":{{"subject":"x"}}}}"#),
        format!(r#"{{"event":"Ticket Created","write_key":"{key}"}}"#),
    ]
    .join("\n");
    let out = run_with_input(
        &dir,
        &["collect", "--json", "--rules", rules.to_str().unwrap()],
        input.as_bytes(),
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["accepted"],
        1,
        "{}",
        crate::support::cli::describe(&out)
    );
    assert_eq!(summary["dropped"]["drop_events"], 1);
    assert_eq!(
        summary["rejected_by_kind"]["rejected by rule \"needs subject\""],
        1
    );
    let events = ndjson(&ok(&dir, &["query", "--source", "1"]));
    assert_eq!(events.len(), 1);
    // sha256("sally@example.com"): trimmed and lower-cased first.
    assert_eq!(
        events[0]["properties"]["email"],
        sha256_hex("sally@example.com").as_str()
    );
}

/// Hex SHA-256, with the crate's own dependency.
fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
