//! An exported store read back by DuckDB: every column has the documented
//! type (timestamps in microseconds, adjusted to UTC; the partition columns
//! only in the directory names, and discovered), per-source and per-day counts
//! equal `firstlog counts`, and each row's properties and context, parsed from
//! the JSON text, equal the stored event's exactly (integers beyond 2^53,
//! floats, unicode, escapes, key order).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::duck::{self, ALL};
use crate::support::cli;

/// Payloads whose JSON is hard to keep exact.
fn awkward_payloads(key: &str) -> String {
    let properties = r#"{"z": 1, "a": -9007199254740993, "big": 18446744073709551615,
        "f": 0.1, "e": 1e300, "tiny": 1.5e-7, "neg": -0.5, "uni": "h\u00e9llo \u2713 日本 😀",
        "esc": "quote\" backslash\\ newline\n tab\t nul\u0000", "nested": {"b": [1, 2.5, "x", null, true, {}], "a": []},
        "empty": ""}"#;
    let context = r#"{"locale": "fr-FR", "ip": "203.0.113.9", "page": {"url": "https://example.com/ü?q=1&r=2"}}"#;
    let mut lines = String::new();
    for (i, day) in ["2025-03-03", "2025-03-04", "2025-03-09"]
        .iter()
        .enumerate()
    {
        let line = format!(
            r#"{{"event": "Odd Values Sent", "write_key": "{key}", "profile_id": "odd-{i}",
                "timestamp": "{day}T23:59:59.999Z", "properties": {properties}, "context": {context}}}"#
        );
        lines.push_str(&line.replace('\n', " "));
        lines.push('\n');
    }
    lines.push_str(&format!(
        "{{\"event\": \"Bare\", \"write_key\": \"{key}\", \"timestamp\": \"2025-03-05T00:00:00Z\"}}\n"
    ));
    lines
}

/// A demo store plus the awkward payloads, exported into `root/out` in files
/// of at most 2,500 rows.
fn exported(root: &Path) -> std::path::PathBuf {
    let store = root.join("store");
    cli::ok(&store, &["demo", "--events", "12000"]);
    let sources =
        crate::support::ndjson(&cli::ok(&store, &["source", "list", "--format", "ndjson"]));
    let key = sources[1]["write_key"]
        .as_str()
        .expect("write key")
        .to_owned();
    let out = cli::run_with_input(&store, &["collect"], awkward_payloads(&key).as_bytes());
    assert!(out.status.success(), "{}", cli::describe(&out));
    let out = root.join("out");
    let report = cli::ok(
        &store,
        &[
            "export",
            "--out",
            out.to_str().expect("path"),
            "--rows-per-file",
            "2500",
        ],
    );
    let report: Value = serde_json::from_str(report.trim()).expect("report JSON");
    assert!(report["files_added"].as_u64().unwrap_or(0) > 10, "{report}");
    store
}

#[test]
fn duckdb_reads_the_export_exactly() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = exported(tmp.path());
    if duck::skipped() {
        eprintln!("FIRSTLOG_SKIP_DUCKDB=1: DuckDB checks skipped");
        return;
    }
    check_types(tmp.path());
    check_files(tmp.path());
    check_counts(tmp.path(), &store);
    check_rows(tmp.path(), &store);
}

fn check_types(root: &Path) {
    let rows = duck::query(root, &format!("DESCRIBE SELECT * FROM {ALL}")).expect("duckdb");
    let types: BTreeMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r["column_name"].as_str().unwrap_or("").to_owned(),
                r["column_type"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("seq", "BIGINT"),
        ("source", "VARCHAR"),
        ("event", "VARCHAR"),
        ("profile_id", "VARCHAR"),
        ("session_id", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("timestamp", "TIMESTAMP WITH TIME ZONE"),
        ("received_at", "TIMESTAMP WITH TIME ZONE"),
        ("properties", "VARCHAR"),
        ("context", "VARCHAR"),
        // Discovered from the directory names.
        ("source_id", "BIGINT"),
        ("date", "DATE"),
    ];
    let expected: BTreeMap<String, String> = expected
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    assert_eq!(types, expected);
    // In the files themselves: no partition column; timestamps in µs, UTC.
    let schema = duck::query(
        root,
        "SELECT DISTINCT name, type, converted_type, logical_type, repetition_type \
         FROM parquet_schema('out/**/*.parquet') WHERE name <> 'arrow_schema'",
    )
    .expect("duckdb");
    assert_eq!(schema.len(), 10, "{schema:?}");
    for column in &schema {
        let name = column["name"].as_str().unwrap_or("");
        let nullable = column["repetition_type"] == "OPTIONAL";
        assert_eq!(nullable, name.ends_with("_id"), "{column}");
        if name == "timestamp" || name == "received_at" {
            assert_eq!(column["converted_type"], "TIMESTAMP_MICROS", "{column}");
            let logical = column["logical_type"].as_str().unwrap_or("");
            assert!(logical.contains("isAdjustedToUTC=1"), "{column}");
        }
    }
}

fn check_files(root: &Path) {
    let meta = "parquet_metadata('out/**/*.parquet')";
    let bad_stats = duck::scalar(
        root,
        &format!(
            "SELECT count(*) FROM {meta} WHERE path_in_schema IN \
             ('seq','source','event','timestamp','received_at','properties','context') \
             AND (stats_min_value IS NULL OR stats_max_value IS NULL)"
        ),
    );
    assert_eq!(bad_stats, Some(0), "every column chunk has statistics");
    let codecs =
        duck::query(root, &format!("SELECT DISTINCT compression FROM {meta}")).expect("duckdb");
    assert_eq!(codecs, vec![serde_json::json!({"compression": "ZSTD"})]);
    let biggest = duck::scalar(root, &format!("SELECT max(row_group_num_rows) FROM {meta}"));
    assert!(biggest.is_some_and(|n| n <= 131_072));
    let per_file = duck::scalar(
        root,
        "SELECT max(n) FROM (SELECT filename, count(*) n FROM read_parquet('out/**/*.parquet', filename = true) GROUP BY 1)",
    );
    assert!(
        per_file.is_some_and(|n| n <= 2500),
        "files hold at most --rows-per-file rows"
    );
    let dictionary = duck::scalar(
        root,
        &format!(
            "SELECT count(*) FROM {meta} WHERE path_in_schema = 'event' AND encodings NOT LIKE '%DICTIONARY%'"
        ),
    );
    assert_eq!(
        dictionary,
        Some(0),
        "the event column is dictionary-encoded"
    );
}

fn check_counts(root: &Path, store: &Path) {
    let rows = duck::query(
        root,
        &format!("SELECT source_id, strftime(date, '%Y-%m-%d') AS day, count(*) AS n FROM {ALL} GROUP BY ALL"),
    )
    .expect("duckdb");
    let mut exported = BTreeMap::new();
    for r in rows {
        let key = (
            r["source_id"].as_u64().unwrap_or(0),
            r["day"].as_str().unwrap_or("").to_owned(),
        );
        exported.insert(key, r["n"].as_u64().unwrap_or(0));
    }
    let mut counted = BTreeMap::new();
    for source in 1..=5u64 {
        let text = cli::ok(
            store,
            &[
                "counts",
                "--source",
                &source.to_string(),
                "--by",
                "day",
                "--format",
                "ndjson",
            ],
        );
        for group in crate::support::ndjson(&text) {
            let day = group["start"].as_str().unwrap_or("")[..10].to_owned();
            counted.insert((source, day), group["events"].as_u64().unwrap_or(0));
        }
    }
    assert!(counted.len() > 20);
    assert_eq!(
        exported, counted,
        "per-source, per-day counts equal `firstlog counts`"
    );
}

fn check_rows(root: &Path, store: &Path) {
    let sql = format!(
        "SELECT seq, source, source_id, strftime(date, '%Y-%m-%d') AS day, event, profile_id, session_id, \
         message_id, epoch_ms(timestamp) AS ts, epoch_ms(received_at) AS rx, properties, context \
         FROM {ALL} ORDER BY seq"
    );
    let rows = duck::query(root, &sql).expect("duckdb");
    let events = duck::stored_events(store);
    assert_eq!(rows.len(), events.len(), "one row per stored event");
    let names: BTreeMap<u64, String> =
        crate::support::ndjson(&cli::ok(store, &["source", "list", "--format", "ndjson"]))
            .iter()
            .map(|s| {
                (
                    s["id"].as_u64().unwrap_or(0),
                    s["name"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
    let mut odd = 0;
    for (row, event) in rows.iter().zip(&events) {
        assert_eq!(row["seq"], event["seq"]);
        assert_eq!(row["source_id"], event["source_id"]);
        assert_eq!(
            row["source"].as_str(),
            names
                .get(&event["source_id"].as_u64().unwrap_or(0))
                .map(String::as_str)
        );
        for field in ["event", "profile_id", "session_id", "message_id"] {
            assert_eq!(row[field], event[field], "{field} of seq {}", event["seq"]);
        }
        let time = |v: &Value| firstlog::parse_rfc3339(v.as_str().unwrap_or("")).expect("time");
        assert_eq!(row["ts"].as_i64(), Some(time(&event["timestamp"])));
        assert_eq!(row["rx"].as_i64(), Some(time(&event["received_at"])));
        assert_eq!(
            row["day"].as_str(),
            event["timestamp"].as_str().map(|t| &t[..10])
        );
        for field in ["properties", "context"] {
            let text = row[field].as_str().expect("JSON text");
            let parsed: Value = serde_json::from_str(text).expect("valid JSON");
            // Compared as text after parsing: values, number forms and key order.
            assert_eq!(
                parsed.to_string(),
                event[field].to_string(),
                "{field} of seq {}",
                event["seq"]
            );
        }
        if row["event"] == "Odd Values Sent" {
            odd += 1;
            let p: Value =
                serde_json::from_str(row["properties"].as_str().unwrap_or("")).expect("JSON");
            assert_eq!(p["big"].as_u64(), Some(u64::MAX));
            assert_eq!(p["a"].as_i64(), Some(-9_007_199_254_740_993));
            assert_eq!(p["f"].as_f64(), Some(0.1));
            assert_eq!(p["uni"], "héllo ✓ 日本 😀");
            let keys: Vec<&str> = p
                .as_object()
                .map(|o| o.keys().map(String::as_str).collect())
                .unwrap_or_default();
            assert_eq!(
                keys,
                [
                    "z", "a", "big", "f", "e", "tiny", "neg", "uni", "esc", "nested", "empty"
                ]
            );
        }
    }
    assert_eq!(odd, 3);
}
