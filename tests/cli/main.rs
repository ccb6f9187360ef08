//! End-to-end tests of the `firstlog` binary: commands, exit statuses, output, and `serve` as a process (signals, shutdown).

#[path = "../support/mod.rs"]
mod support;

mod browser_clients;
mod cli_collect_bad_input;
mod cli_demo;
mod cli_lifecycle;
mod cli_query_counts;
mod cli_sources;
mod cli_verify_corruption;
mod serve_process;
mod server_shutdown;
