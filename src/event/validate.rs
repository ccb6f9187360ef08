//! The checks every event passes before it is encoded, whichever way it came in
//! (typed, JSON, or changed by rules).

use super::{BodyOut, Limits, Value};
use crate::error::{Error, Result};
use crate::time::{MAX_MS, MIN_MS};

/// The checks shared by typed events, JSON payloads and drafts after rules: on
/// the body about to be encoded, and the timestamp.
pub(crate) fn validate_body<S: AsRef<str>>(
    body: &BodyOut<'_, S>,
    timestamp_ms: Option<i64>,
    limits: &Limits,
) -> Result<()> {
    validate_name(body.name, limits)?;
    let ids = [
        ("profile_id", body.profile_id),
        ("session_id", body.session_id),
        ("message_id", body.message_id),
    ];
    let maps = [body.properties, body.context];
    for (field, id) in ids {
        if let Some(id) = id {
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
    }
    if let Some(ts) = timestamp_ms {
        check_timestamp(ts)?;
    }
    for (field, map) in ["properties", "context"].into_iter().zip(maps) {
        let mut depth = 1;
        for value in map.values() {
            // Scalars (almost every property) are settled here, without a call.
            match value {
                Value::Array(_) | Value::Object(_) => {
                    depth = depth.max(1 + checked_depth(field, value)?);
                }
                Value::Float(f) if !f.is_finite() => {
                    return Err(Error::invalid(field, "numbers must be finite"));
                }
                _ => {}
            }
        }
        if depth > limits.depth_max {
            return Err(Error::invalid(
                field,
                format!(
                    "nested {depth} levels deep; the limit is {}",
                    limits.depth_max
                ),
            ));
        }
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

/// The nesting depth of a value (a scalar is 0), checking on the way that floats
/// are finite (JSON has no NaN or infinity).
fn checked_depth<S: AsRef<str>>(field: &str, value: &Value<S>) -> Result<usize> {
    match value {
        Value::Float(f) if !f.is_finite() => Err(Error::invalid(field, "numbers must be finite")),
        Value::Array(items) => {
            let mut depth = 0;
            for item in items {
                depth = depth.max(checked_depth(field, item)?);
            }
            Ok(depth + 1)
        }
        Value::Object(map) => {
            let mut depth = 0;
            for item in map.values() {
                depth = depth.max(checked_depth(field, item)?);
            }
            Ok(depth + 1)
        }
        _ => Ok(0),
    }
}
