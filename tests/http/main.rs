//! The HTTP collector, served in-process by `firstlog::http` on a loopback port: every endpoint, status and error body.

#[path = "../support/mod.rs"]
mod support;

mod server_clients;
mod server_console;
mod server_cors;
mod server_errors;
mod server_firstparty;
mod server_group_commit;
mod server_limits;
mod server_segment;
