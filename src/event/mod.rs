//! The event model: values, the typed builder, JSON intake, the naming guideline,
//! and events read back.

pub(crate) mod json;
mod naming;
mod new_event;
mod stored;
mod value;
mod value_decode;

pub use naming::{NamingPolicy, NamingWarning, Violation, check_event_name};
pub use new_event::{Draft, Limits, NewEvent};
pub use stored::{Event, EventRef};
pub use value::{Map, Value};
