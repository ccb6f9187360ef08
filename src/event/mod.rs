//! The event model: values and objects, the typed builder, the limits every event
//! respects and the checks that enforce them, the draft that rules edit, the
//! naming guideline, and events read back. It knows nothing of bytes on disk or
//! of JSON parsing; the codec and the JSON intake build on it.

mod body;
mod draft;
pub(crate) mod json;
mod limits;
mod naming;
mod new_event;
mod source;
mod stored;
mod validate;
mod value;

pub(crate) use body::BodyOut;
pub use draft::Draft;
pub use limits::Limits;
pub use naming::{NamingPolicy, NamingWarning, Violation, check_event_name};
pub use new_event::NewEvent;
pub use source::SourceId;
pub use stored::Event;
pub(crate) use stored::{Stamp, write_event_head};
pub(crate) use validate::{check_timestamp, validate_head};
pub use value::{Map, Value};
