//! # firstlog
//!
//! An embedded storage engine for first-party analytics events. Events (a name, a
//! write key naming the source, properties, context, a profile and a time) are
//! collected, run through rules, frozen, and appended to segmented, checksummed
//! log files; a per-source index makes "events of source S" cost what the answer
//! costs.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! use firstlog::{NewEvent, Store};
//!
//! let store = Store::open(dir.path())?;
//! let help_desk = store.create_source("Help Desk")?;
//!
//! // The seed's two example payloads, as JSON...
//! let signup = format!(r#"{{"event": "Newsletter Signup", "write_key": "{}"}}"#, help_desk.write_key());
//! store.collect_json(signup.as_bytes())?;
//! let assigned = format!(r#"{{
//!     "event": "Agent Assigned", "write_key": "{}",
//!     "properties": {{"email": "", "display_name": "Sally",
//!                     "initiated_from": "Chat Widget", "subject": "Help with my billing"}}
//! }}"#, help_desk.write_key());
//! store.collect_json(assigned.as_bytes())?;
//!
//! // ...or typed.
//! store.collect(NewEvent::new("Ticket Closed", help_desk.write_key()).profile("user-7"))?;
//!
//! let events: Vec<_> = store.query(help_desk.id()).iter().collect::<Result<_, _>>()?;
//! assert_eq!(events.len(), 3);
//! assert_eq!(events[1].name(), "Agent Assigned");
//! assert_eq!(events[1].properties().get("display_name").and_then(|v| v.as_str()), Some("Sally"));
//! # Ok::<(), firstlog::Error>(())
//! ```
//!
//! See `FORMAT.md` for every byte on disk, `README.md` for the guarantees of
//! each [`Durability`] mode, and `ARCHITECTURE.md` for how the code is laid out.
//!
//! # Features
//!
//! - `http`: [`http`], the HTTP collector as a library (an axum `Router` to mount
//!   in your own server, and a hardened server to run it on its own).
//! - `cli`: the `firstlog` command (implies `http`, `parquet` and `toml`).
//! - `parquet`: [`Store::export_parquet`] and [`Exporter`], the events as
//!   Parquet files for DuckDB, Spark and Trino (`EXPORT.md`).
//! - `toml`: declarative rules from TOML files (JSON is always supported).
//! - `testing`: [`testing`], the in-memory and fault-injecting file systems and
//!   record internals that the test suite and the fuzz targets use. Not for
//!   production code; no stability promise.

#![deny(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod catalog;
mod codec;
mod consumer;
mod dedup;
mod error;
mod event;
#[cfg(feature = "parquet")]
mod export;
mod index;
mod intake;
mod io;
mod lifecycle;
mod log;
mod quarantine;
mod query;
mod record;
#[cfg(any(test, feature = "testing"))]
mod rng;
mod rules;
mod segment;
mod store;
mod time;

#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "testing")]
pub mod testing;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use catalog::Source;
pub use codec::EventRef;
pub use consumer::Consumer;
pub use error::{Error, ErrorKind, Result};
pub use event::{
    Draft, Event, Limits, Map, NamingPolicy, NamingWarning, NewEvent, SourceId, Value, Violation,
    check_event_name,
};
#[cfg(feature = "parquet")]
pub use export::{ExportLoop, ExportOptions, ExportReport, Exporter};
pub use intake::{ContextDefaults, EventBatch, EventWriter, PropertyValue};
pub use lifecycle::{BytesByAge, Erasure, ErasureState, MaintenanceReport, Retention, Suppression};
pub use log::{Durability, OpenReport};
pub use quarantine::Rejection;
pub use query::{
    Bucket, BucketCount, CountBy, CountGroup, Counts, LogReader, NameCount, Query, QueryIter,
    QueryStats,
};
#[cfg(feature = "toml")]
pub use rules::parse_rules_toml;
pub use rules::{FnRule, Rule, RuleSpec, Scope, Verdict, load_rules_file, parse_rules_json};
pub use segment::{RecoveryMode, TailRepair};
pub use store::{Options, Problem, Readiness, Receipt, SourceStats, Stats, Store, VerifyReport};
pub use time::{format_rfc3339, parse_rfc3339, parse_time};
