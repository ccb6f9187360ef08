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

    /// The store was written by an older version of firstlog (format version
    /// `found`). Opening it for writing upgrades it in place (FORMAT.md §8); a
    /// read-only open cannot.
    #[error(
        "{path} is in format version {found}; open the store for writing once (for example \
         `firstlog init`) to upgrade it"
    )]
    UpgradeNeeded {
        /// The file that needs the upgrade.
        path: PathBuf,
        /// Its format version.
        found: u32,
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

    /// The disk has no room for a new segment, even a reduced one. Nothing of
    /// the refused batch was written (unless it was larger than the segment it
    /// started in: such a batch is written in parts, and the parts before the
    /// refusal are stored; FORMAT.md §2), the store is not poisoned, and
    /// writes resume once space is freed (each append, and
    /// [`Store::check_writable`](crate::Store::check_writable), tries again).
    #[error(
        "no space left in {dir} for a new segment: at least {needed} bytes are needed; free \
         space (or use smaller segments) and writes resume"
    )]
    DiskFull {
        /// The store directory.
        dir: PathBuf,
        /// The smallest segment the store would start.
        needed: u64,
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

    /// No erasure request has this id.
    #[error("no erasure request with id {id}")]
    UnknownErasure {
        /// The id that was asked for.
        id: u64,
    },

    /// A read asked for sequence numbers that retention already deleted: the log
    /// now starts at `log_start` (read from there, or from 0 for "the start").
    #[error("sequence number {requested} is below the log start {log_start}: retention deleted it")]
    BelowLogStart {
        /// The sequence number asked for.
        requested: u64,
        /// The lowest sequence number the store still holds.
        log_start: u64,
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

    /// Another process (or another call in this process) is using this
    /// directory: an export directory's state, or a tail consumer's offset.
    #[error("{path} is in use by another {what}")]
    InUse {
        /// The directory (or the consumer's offset file).
        path: PathBuf,
        /// What uses it (`export`, `consumer`).
        what: &'static str,
    },

    /// Writing a Parquet file failed for a reason other than I/O (the encoder
    /// refused the data). Nothing of the run was made visible.
    #[error("export to {path} failed: {reason}")]
    Export {
        /// The file being written.
        path: PathBuf,
        /// What the encoder said.
        reason: String,
    },

    /// The directory holds no firstlog store (and the call does not create one).
    #[error("no firstlog store in {path}")]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
}

/// What kind of failure an [`Error`] is: what the caller can do about it. Every
/// variant has exactly one kind ([`Error::kind`]), so callers (the HTTP collector's
/// status codes, the log's decision to refuse further writes) match on kinds
/// exhaustively instead of listing variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input (an event, an argument, a rules file) is not acceptable; sending
    /// it again will fail again. Nothing was written.
    InvalidInput,
    /// The input is over a size limit. Nothing was written.
    TooLarge,
    /// The caller is not known: an unknown or rotated write key.
    Unauthorized,
    /// The caller is known but not allowed: a disabled source.
    Forbidden,
    /// What was asked for does not exist: a source, a store.
    NotFound,
    /// A rule refused the event.
    Rejected,
    /// Code outside the store failed: a rule panicked. The store is unaffected.
    Internal,
    /// A transient conflict: the same call can succeed a moment later.
    RetryLater,
    /// The store does not take writes now (closed, read-only, locked, or refusing
    /// writes after an I/O failure until it is reopened).
    Unavailable,
    /// Bytes on disk are damaged or of an unknown version.
    Corrupt,
    /// An operating-system I/O call failed.
    Io,
}

impl ErrorKind {
    /// True for failures of the storage itself (I/O, damage): after such a failure
    /// in the middle of a write, the state of unsynced data is unknown, so the log
    /// refuses further writes until it is reopened.
    pub fn is_storage_failure(self) -> bool {
        match self {
            ErrorKind::Io | ErrorKind::Corrupt => true,
            ErrorKind::InvalidInput
            | ErrorKind::TooLarge
            | ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::NotFound
            | ErrorKind::Rejected
            | ErrorKind::Internal
            | ErrorKind::RetryLater
            | ErrorKind::Unavailable => false,
        }
    }
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for an I/O error saying the disk (or the user's quota) is full.
    pub(crate) fn is_out_of_space(&self) -> bool {
        matches!(self, Error::Io { source, .. } if io_out_of_space(source))
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

    /// What kind of failure this is (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::Corrupt { .. } | Error::UnsupportedVersion { .. } => ErrorKind::Corrupt,
            Error::Locked { .. }
            | Error::Poisoned { .. }
            | Error::DiskFull { .. }
            | Error::Closed
            | Error::ReadOnly
            | Error::InUse { .. }
            | Error::UpgradeNeeded { .. } => ErrorKind::Unavailable,
            Error::InvalidEvent { .. }
            | Error::InvalidArgument { .. }
            | Error::NamingViolation { .. }
            | Error::InvalidRules(_) => ErrorKind::InvalidInput,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::UnknownWriteKey => ErrorKind::Unauthorized,
            Error::SourceDisabled { .. } => ErrorKind::Forbidden,
            Error::UnknownSource { .. }
            | Error::NotAStore { .. }
            | Error::UnknownErasure { .. }
            | Error::BelowLogStart { .. } => ErrorKind::NotFound,
            Error::InFlight { .. } => ErrorKind::RetryLater,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::RulePanicked { .. } | Error::Export { .. } => ErrorKind::Internal,
        }
    }

    /// A short, stable, machine-readable name of the variant (`invalid_event`,
    /// `unknown_write_key`, ...): the `error` code of the HTTP collector.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::Corrupt { .. } | Error::UnsupportedVersion { .. } => {
                "store_error"
            }
            Error::Locked { .. } | Error::Poisoned { .. } | Error::Closed | Error::ReadOnly => {
                "store_unavailable"
            }
            Error::UpgradeNeeded { .. } => "upgrade_needed",
            Error::DiskFull { .. } => "disk_full",
            Error::InUse { .. } => "in_use",
            Error::Export { .. } => "export_failed",
            Error::InvalidEvent { .. } => "invalid_event",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::NamingViolation { .. } => "naming_violation",
            Error::InvalidRules(_) => "invalid_rules",
            Error::TooLarge { .. } => "too_large",
            Error::UnknownWriteKey => "unknown_write_key",
            Error::SourceDisabled { .. } => "source_disabled",
            Error::UnknownSource { .. } => "unknown_source",
            Error::NotAStore { .. } => "not_a_store",
            Error::UnknownErasure { .. } => "unknown_erasure",
            Error::BelowLogStart { .. } => "below_log_start",
            Error::InFlight { .. } => "retry_later",
            Error::Rejected { .. } => "rejected_by_rule",
            Error::RulePanicked { .. } => "rule_panicked",
        }
    }

    /// The offending field of an invalid event, argument or size, if one is named.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidEvent { field, .. } => Some(field),
            Error::InvalidArgument { name, .. } => Some(name),
            Error::NamingViolation { .. } => Some("event"),
            Error::TooLarge { what, .. } => Some(what),
            _ => None,
        }
    }
}

/// ENOSPC or EDQUOT.
pub(crate) fn io_out_of_space(e: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}
