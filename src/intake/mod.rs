//! Events arriving as JSON: the Firstparty payload and batch requests, parsed
//! with limits in one pass into events that borrow from the request bytes, their
//! objects transcoded straight into the record body encoding.

mod batch;
mod builder;
mod defaults;
mod payload;
mod value;

pub(crate) use batch::split_batch;
pub(crate) use builder::check_built;
pub use builder::{EventBatch, EventWriter, PropertyValue};
pub use defaults::ContextDefaults;
pub(crate) use payload::{RawEvent, parse_event};
