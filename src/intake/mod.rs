//! Events arriving as JSON: the Firstparty payload and batch requests, parsed
//! with limits into events that borrow from the request bytes.

mod json;

pub(crate) use json::{RawEvent, parse_event, split_batch};
