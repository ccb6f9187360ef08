//! The one public error type of firstlog.
//!
//! Every fallible operation returns [`Result<T>`]. Variants are precise enough to
//! `match` on: corruption names the file and byte offset, invalid input names the
//! field, I/O names the path it was acting on.

use std::io;
use std::path::PathBuf;

/// The result type of every fallible firstlog operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in firstlog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O call failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory the failed call acted on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Bytes on disk are not what firstlog wrote: a checksum mismatch, an impossible
    /// length, a sequence gap. Opening never silently discards such data.
    #[error("corruption in {file} at byte offset {offset}: {reason}")]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the first damaged structure in that file.
        offset: u64,
        /// What check failed.
        reason: String,
    },

    /// A file carries a format version this build does not understand.
    #[error("{file} has format version {found}; this build reads version {supported}")]
    UnsupportedVersion {
        /// The file with the unknown version.
        file: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The version this build reads and writes.
        supported: u32,
    },

    /// Another process (or another `Store` in this process) holds the store's lock.
    #[error("the store at {path} is locked by another writer")]
    Locked {
        /// The store directory.
        path: PathBuf,
    },

    /// An earlier write or fsync failed. Retrying could report success for data the
    /// kernel already dropped, so the store refuses all appends until it is reopened
    /// (which recovers from what is really on disk).
    #[error("the store refuses writes after an earlier I/O failure ({cause}); reopen it")]
    Poisoned {
        /// A description of the original failure.
        cause: String,
    },

    /// The store has been closed.
    #[error("the store is closed")]
    Closed,

    /// The store was opened read-only ([`Store::open_read_only`](crate::Store::open_read_only)).
    #[error("the store is open read-only")]
    ReadOnly,

    /// An event (or batch) is not acceptable. Nothing was written.
    #[error("invalid event: {field}: {reason}")]
    InvalidEvent {
        /// The offending field, as a dotted path (`event`, `properties.email`, `timestamp`).
        field: String,
        /// Why it was refused.
        reason: String,
    },

    /// An argument or option is out of its allowed range.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument {
        /// The argument or option name.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A payload or batch exceeds a configured size limit.
    #[error("{what} is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What was too large (`event`, `batch`).
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// No source has this write key (it never existed, or it was rotated away).
    #[error("unknown write key")]
    UnknownWriteKey,

    /// The source exists but is disabled.
    #[error("source {id} is disabled")]
    SourceDisabled {
        /// The disabled source.
        id: u32,
    },

    /// No source has this id.
    #[error("no source with id {id}")]
    UnknownSource {
        /// The id that was asked for.
        id: u32,
    },

    /// Another call is collecting an event with the same `message_id` (and source)
    /// right now; retry once it has finished (the retry is then a duplicate).
    #[error("an event with message_id {message_id:?} is being collected by another call; retry")]
    InFlight {
        /// The message id.
        message_id: String,
    },

    /// A rule rejected the event.
    #[error("rule {rule:?} rejected the event: {reason}")]
    Rejected {
        /// The rule's name.
        rule: String,
        /// The reason the rule gave.
        reason: String,
    },

    /// A rule panicked; the event was rejected and the store is unaffected.
    #[error("rule {rule:?} panicked: {message}")]
    RulePanicked {
        /// The rule's name.
        rule: String,
        /// The panic message, when it was a string.
        message: String,
    },

    /// The event name breaks the naming guideline and the policy is `Enforce`.
    #[error("event name {name:?} breaks the naming guideline: {violations}")]
    NamingViolation {
        /// The offending name.
        name: String,
        /// The violations, separated by `; `.
        violations: String,
    },

    /// A rules file is not valid.
    #[error("invalid rules: {0}")]
    InvalidRules(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A corruption error at `offset` of `file`.
    pub(crate) fn corrupt(
        file: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corrupt {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// An invalid-event error for `field`.
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidEvent {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An invalid-argument error for `name`.
    pub(crate) fn argument(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// True for [`Error::Corrupt`].
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corrupt { .. })
    }
}
