//! The Parquet export read back by DuckDB (types, counts, exact JSON, partition
//! discovery), killed at random moments and run again (exactly once), run
//! incrementally beside collection and the store's lifecycle, run by `serve`;
//! and `firstlog tail --consumer` restarted mid-stream (at least once, in order).
//!
//! DuckDB is the Python package `duckdb` (`pip install duckdb`; `.ci/run`
//! installs it). Without it these tests fail, unless `FIRSTLOG_SKIP_DUCKDB=1`
//! is set, which skips only the DuckDB queries.

#[path = "../support/mod.rs"]
mod support;

mod duck;
mod export_crash;
mod export_duckdb;
mod export_faults;
mod export_lifecycle;
mod serve_export;
mod tail_consumer;
