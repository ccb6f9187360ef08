//! Group commit across requests. Single-event requests (`/events/track`,
//! `/v1/track` and the other Segment calls) do not each take a blocking thread
//! and a store call: they queue here, and one blocking worker collects
//! everything queued as one batch (one write, and under `Durability::Sync` one
//! fdatasync), hands each request its own outcome, and goes on with what
//! queued meanwhile. Concurrent clients so share the costs a lone request pays
//! alone (thread hand-offs, the fdatasync); a lone client loses nothing (its
//! group is itself).
//!
//! Each request still gets exactly the outcome it would get alone: its own
//! receipt or error, its refused payload quarantined. A group is written as
//! one atomic unit, and acknowledged only once it is durable.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::StatusCode;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::collect::refused;
use super::error::ApiError;
use crate::{ContextDefaults, NewEvent, Receipt, Store};

/// The most requests collected in one group.
const GROUP_MAX: usize = 512;
/// Workers collecting at once: while one waits for its fdatasync, another
/// prepares and writes the next group (the store's own group commit then
/// shares the syncs of concurrent workers).
const WORKERS_MAX: usize = 2;

/// A request's event, ready to collect.
pub(crate) enum Prepared {
    /// A typed event (Segment calls), with the payload quarantined if refused.
    Event(NewEvent, Bytes),
    /// A Firstparty JSON payload, with the request's User-Agent and client IP
    /// for the context fields it does not set.
    Json(Bytes, ClientContext),
}

/// What a request adds to its event's context (`userAgent`, `ip`) when the
/// payload has none.
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientContext {
    pub(crate) user_agent: Option<String>,
    pub(crate) ip: Option<String>,
}

impl ClientContext {
    fn defaults(&self) -> ContextDefaults<'_> {
        ContextDefaults {
            user_agent: self.user_agent.as_deref(),
            ip: self.ip.as_deref(),
        }
    }
}

/// Turns a request into its event, on the worker (parsing is CPU work).
pub(crate) type Prepare = Box<dyn FnOnce(&Store) -> Result<Prepared, ApiError> + Send>;

type Outcome = Result<Receipt, ApiError>;
type Waiting = (Prepare, oneshot::Sender<Outcome>);

/// The queue of single-event requests and its worker.
pub(crate) struct Ingest {
    store: Store,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    waiting: Vec<Waiting>,
    /// Workers collecting (each takes what is queued when it is free).
    workers: usize,
}

/// Counts a worker out if it ends by a panic, so later requests start new
/// ones.
struct DrainGuard<'a>(&'a Ingest);

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.queue.lock().workers -= 1;
        }
    }
}

impl Ingest {
    pub(crate) fn new(store: Store) -> Arc<Ingest> {
        Arc::new(Ingest {
            store,
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Collects the event `prepare` makes, in the next group.
    pub(crate) async fn submit(self: &Arc<Self>, prepare: Prepare) -> Outcome {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock();
            queue.waiting.push((prepare, tx));
            let start = queue.workers < WORKERS_MAX;
            queue.workers += usize::from(start);
            start
        };
        if start {
            let ingest = self.clone();
            tokio::task::spawn_blocking(move || ingest.drain());
        }
        rx.await.unwrap_or_else(|_| {
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the collecting worker stopped before answering",
            ))
        })
    }

    /// Collects groups until the queue is empty.
    fn drain(&self) {
        let _guard = DrainGuard(self);
        loop {
            let group: Vec<Waiting> = {
                let mut queue = self.queue.lock();
                if queue.waiting.is_empty() {
                    queue.workers -= 1;
                    return;
                }
                let take = queue.waiting.len().min(GROUP_MAX);
                queue.waiting.drain(..take).collect()
            };
            self.commit(group);
        }
    }

    /// Prepares every request of a group, collects the events in at most two
    /// store calls (typed, JSON) and answers each request.
    fn commit(&self, group: Vec<Waiting>) {
        let store = &self.store;
        let mut events = Vec::new();
        let mut event_slots = Vec::new();
        let mut json = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        for (prepare, reply) in group {
            match prepare(store) {
                Ok(Prepared::Event(event, payload)) => {
                    event_slots.push((answers.len(), payload));
                    events.push(event);
                }
                Ok(Prepared::Json(bytes, client)) => json.push((answers.len(), bytes, client)),
                Err(e) => {
                    let _ = reply.send(Err(e));
                    continue;
                }
            }
            answers.push(Some(reply));
        }
        let mut outcomes: Vec<Option<Outcome>> = (0..answers.len()).map(|_| None).collect();
        self.collect_events(events, event_slots, &mut outcomes);
        self.collect_json(json, &mut outcomes);
        for (reply, outcome) in answers.into_iter().zip(outcomes) {
            if let (Some(reply), Some(outcome)) = (reply, outcome) {
                let _ = reply.send(outcome);
            }
        }
    }

    fn collect_events(
        &self,
        events: Vec<NewEvent>,
        slots: Vec<(usize, Bytes)>,
        outcomes: &mut [Option<Outcome>],
    ) {
        if events.is_empty() {
            return;
        }
        let store = &self.store;
        match store.collect_batch(events) {
            Ok(results) => {
                for ((slot, payload), result) in slots.into_iter().zip(results) {
                    outcomes[slot] = Some(result.map_err(|e| refused(store, &payload, e)));
                }
            }
            Err(e) => {
                for (slot, _) in slots {
                    outcomes[slot] = Some(Err(ApiError::of(&e)));
                }
            }
        }
    }

    /// Firstparty payloads, collected in one call, each with its request's
    /// context defaults.
    fn collect_json(
        &self,
        payloads: Vec<(usize, Bytes, ClientContext)>,
        outcomes: &mut [Option<Outcome>],
    ) {
        if payloads.is_empty() {
            return;
        }
        let calls: Vec<(&[u8], ContextDefaults<'_>)> = payloads
            .iter()
            .map(|(_, bytes, client)| (bytes.as_ref(), client.defaults()))
            .collect();
        match self.store.collect_json_payloads(&calls) {
            Ok(results) => {
                for ((slot, _, _), result) in payloads.iter().zip(results) {
                    outcomes[*slot] = Some(result.map_err(ApiError::from));
                }
            }
            Err(e) => {
                for (slot, _, _) in &payloads {
                    outcomes[*slot] = Some(Err(ApiError::of(&e)));
                }
            }
        }
    }
}
