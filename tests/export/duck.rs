//! Queries through DuckDB's Python package, rows back as JSON objects; and
//! the stores the export tests start from.

use std::path::Path;
use std::process::Command;

use crate::support::cli;

const SCRIPT: &str = r#"
import json, sys
try:
    import duckdb
except ImportError:
    print("NO_DUCKDB")
    sys.exit(3)
con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rel = con.sql(sys.argv[1])
cols = rel.columns
for row in rel.fetchall():
    print(json.dumps(dict(zip(cols, row)), default=str, ensure_ascii=False))
"#;

/// True when DuckDB queries are skipped (`FIRSTLOG_SKIP_DUCKDB=1`).
pub fn skipped() -> bool {
    std::env::var("FIRSTLOG_SKIP_DUCKDB").is_ok_and(|v| v == "1")
}

/// Runs `sql` in DuckDB (in `dir`, so relative globs work); the rows as JSON
/// objects. `None` only when skipped on purpose.
pub fn query(dir: &Path, sql: &str) -> Option<Vec<serde_json::Value>> {
    if skipped() {
        return None;
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(sql)
        .current_dir(dir)
        .output()
        .expect("run python3 (needed for the DuckDB checks)");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 from DuckDB");
    assert!(
        !stdout.starts_with("NO_DUCKDB"),
        "DuckDB's Python package is missing: `pip install duckdb` (CI installs it in \
         .ci/run). Set FIRSTLOG_SKIP_DUCKDB=1 to skip the DuckDB checks."
    );
    assert!(
        out.status.success(),
        "DuckDB failed on {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(crate::support::ndjson(&stdout))
}

/// One integer from a single-row, single-column query.
pub fn scalar(dir: &Path, sql: &str) -> Option<i64> {
    let rows = query(dir, sql)?;
    let row = rows.first().expect("one row");
    let value = row
        .as_object()
        .and_then(|o| o.values().next())
        .expect("one column");
    Some(
        value
            .as_i64()
            .unwrap_or_else(|| panic!("{sql}: {value} is not an integer")),
    )
}

/// `read_parquet` of every exported file, with the partition columns.
pub const ALL: &str = "read_parquet('out/**/*.parquet', hive_partitioning = true)";

/// The events of the store in `dir` (all sources, log order) as `tail` prints them.
pub fn stored_events(dir: &Path) -> Vec<serde_json::Value> {
    crate::support::ndjson(&cli::ok(dir, &["tail"]))
}

/// A small linear congruential generator (no dependency; seed printed by tests).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

/// A seed from the clock, printed so a failure can be replayed.
pub fn seed() -> u64 {
    let seed = std::env::var("FIRSTLOG_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    eprintln!("seed {seed} (FIRSTLOG_TEST_SEED={seed} replays it)");
    seed
}
