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
//! See `FORMAT.md` for every byte on disk and `README.md` for the guarantees of
//! each [`Durability`] mode.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod catalog;
mod dedup;
mod error;
pub mod event;
pub mod index;
pub mod io;
pub mod log;
mod quarantine;
pub mod query;
pub mod record;
pub mod rng;
pub mod rules;
pub mod segment;
mod store;
pub mod time;
pub mod workload;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use catalog::{Source, SourceId};
pub use error::{Error, Result};
pub use event::{
    Draft, Event, EventRef, Limits, Map, NamingPolicy, NamingWarning, NewEvent, Value,
};
pub use log::{Durability, OpenReport};
pub use quarantine::Rejection;
pub use query::counts::{Bucket, BucketCount, NameCount};
pub use query::tail::LogReader;
pub use query::{Query, QueryIter, QueryStats};
pub use rules::{Rule, Scope, Verdict};
pub use segment::{RecoveryMode, TailRepair};
pub use store::{Options, Problem, Receipt, SourceStats, Stats, Store, VerifyReport};
