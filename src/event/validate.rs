//! The checks every event passes before it is encoded, whichever way it came in
//! (typed, JSON, or changed by rules). The nesting depth and the finiteness of
//! numbers in `properties` and `context` are checked by the encoder, as it
//! writes them.

use super::Limits;
use crate::error::{Error, Result};
use crate::time::{MAX_MS, MIN_MS};

/// Checks the name, the three ids (`profile_id`, `session_id`, `message_id`)
/// and the timestamp of an event.
pub(crate) fn validate_head(
    name: &str,
    ids: [Option<&str>; 3],
    timestamp_ms: Option<i64>,
    limits: &Limits,
) -> Result<()> {
    validate_name(name, limits)?;
    for (field, id) in ["profile_id", "session_id", "message_id"]
        .into_iter()
        .zip(ids)
    {
        let Some(id) = id else { continue };
        if id.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if id.len() > limits.id_bytes_max {
            return Err(Error::invalid(
                field,
                format!("longer than {} bytes", limits.id_bytes_max),
            ));
        }
    }
    if let Some(ts) = timestamp_ms {
        check_timestamp(ts)?;
    }
    Ok(())
}

/// Checks an event name: non-empty and not too long.
pub(crate) fn validate_name(name: &str, limits: &Limits) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("event", "must not be empty"));
    }
    if name.len() > limits.name_bytes_max {
        return Err(Error::invalid(
            "event",
            format!(
                "name is {} bytes; the limit is {}",
                name.len(),
                limits.name_bytes_max
            ),
        ));
    }
    Ok(())
}

/// Checks that a timestamp is between years 1 and 9999.
pub(crate) fn check_timestamp(ms: i64) -> Result<()> {
    if !(MIN_MS..=MAX_MS).contains(&ms) {
        return Err(Error::invalid("timestamp", "outside years 0001 to 9999"));
    }
    Ok(())
}
