//! Helpers shared by the test binaries (`tests/storage`, `tests/http`,
//! `tests/cli`): stores on real and in-memory disks, the standard test events,
//! HTTP clients, and the `firstlog` binary. Each test binary includes this module
//! with `#[path = "../support/mod.rs"] mod support;`.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of this module"
)]

#[cfg(feature = "cli")]
pub mod cli;
pub mod fs;
#[cfg(feature = "http")]
pub mod http;
pub mod lifecycle;
pub mod records;
pub mod store;

/// Parses NDJSON text.
pub fn ndjson(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}
