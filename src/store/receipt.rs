//! What collecting one event did.

use std::sync::Arc;

use crate::event::{NamingWarning, SourceId};

/// What collecting one event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The event's sequence number; `None` when a rule dropped it.
    pub seq: Option<u64>,
    /// The source it was collected for.
    pub source: SourceId,
    /// True when this was a retry of an event already stored (same source and
    /// `message_id` within the dedup window): `seq` is the original's.
    pub duplicate: bool,
    /// The rule that dropped the event, if one did.
    pub dropped_by: Option<String>,
    /// True when the event was not stored because its profile is suppressed
    /// ([`Store::suppress_profile`](crate::Store::suppress_profile)); `seq` is `None`.
    pub suppressed: bool,
    /// Naming-guideline violations of the stored name (policy `Warn`); `None` for
    /// a duplicate (its original's receipt carried them).
    pub naming: Option<Arc<NamingWarning>>,
}
