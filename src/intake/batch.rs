//! Batch requests split into their items, unparsed.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::event::Limits;

/// The items of a batch request, still unparsed.
pub(crate) struct BatchItems<'a> {
    pub items: Vec<&'a RawValue>,
    pub write_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchObject<'a> {
    #[serde(borrow)]
    batch: Vec<&'a RawValue>,
    #[serde(default)]
    write_key: Option<String>,
}

/// Splits a batch request (`[...]` or `{"batch": [...], "write_key": "..."}`) into
/// its items without parsing them.
pub(crate) fn split_batch<'a>(bytes: &'a [u8], limits: &Limits) -> Result<BatchItems<'a>> {
    if bytes.len() > limits.batch_bytes_max {
        return Err(Error::TooLarge {
            what: "batch",
            size: bytes.len(),
            limit: limits.batch_bytes_max,
        });
    }
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    let parsed = match first {
        Some(b'[') => serde_json::from_slice::<Vec<&RawValue>>(bytes).map(|items| BatchItems {
            items,
            write_key: None,
        }),
        Some(b'{') => serde_json::from_slice::<BatchObject<'_>>(bytes).map(|b| BatchItems {
            items: b.batch,
            write_key: b.write_key,
        }),
        _ => {
            return Err(Error::invalid(
                "json",
                "a batch is a JSON array or an object with a \"batch\" array",
            ));
        }
    };
    let items = parsed.map_err(|e| Error::invalid("batch", e.to_string()))?;
    if items.items.len() > limits.batch_events_max {
        return Err(Error::invalid(
            "batch",
            format!(
                "{} events; the limit is {}",
                items.items.len(),
                limits.batch_events_max
            ),
        ));
    }
    Ok(items)
}
