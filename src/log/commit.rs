//! Group commit for `Durability::Sync`.
//!
//! Appenders do not write for themselves: each hands its batch to a queue and
//! waits. The first waiter without a running leader becomes the leader: it takes
//! every queued batch, writes them one after the other (each batch remains its
//! own atomic unit), makes them durable with ONE fdatasync, and hands every
//! appender its result. Batches that arrive while the leader syncs are committed
//! together by the next leader, so durable throughput grows with the number of
//! writers instead of paying one fdatasync per record. (Letting each appender
//! write for itself does not scale: on Linux a write to a page under writeback
//! waits for that writeback, i.e. for the running fdatasync.)

use std::collections::HashMap;

use parking_lot::{Condvar, Mutex};

use super::{Appended, Batch, Log};
use crate::error::{Error, ErrorKind, Result};

#[derive(Default)]
pub(crate) struct CommitQueue {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    next_ticket: u64,
    queue: Vec<(u64, Batch)>,
    results: HashMap<u64, (Result<Appended>, Batch)>,
    leading: bool,
}

impl Log {
    /// Appends `batch` and returns once it is on stable storage, sharing the
    /// fdatasync with every concurrent appender.
    pub(super) fn append_durably(&self, batch: &mut Batch) -> Result<Appended> {
        let queue = &self.commit;
        let mut state = queue.state.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push((ticket, std::mem::take(batch)));
        loop {
            if let Some((result, returned)) = state.results.remove(&ticket) {
                *batch = returned;
                return result;
            }
            if state.leading {
                queue.done.wait(&mut state);
                continue;
            }
            state.leading = true;
            // Appenders just released by the previous sync are on their way back:
            // give them a moment to queue, so this sync covers them too.
            drop(state);
            std::thread::yield_now();
            state = queue.state.lock();
            let work = std::mem::take(&mut state.queue);
            drop(state);
            let finished = self.commit_group(work);
            state = queue.state.lock();
            state.leading = false;
            state.results.extend(finished);
            queue.done.notify_all();
        }
    }

    /// Writes a group of batches and syncs once. Every batch of the group gets an
    /// error if any write or the sync fails: none of them is known to be durable.
    fn commit_group(&self, work: Vec<(u64, Batch)>) -> Vec<(u64, (Result<Appended>, Batch))> {
        let mut written = Vec::with_capacity(work.len());
        let mut failure: Option<Error> = None;
        {
            let mut writer = self.writer.lock();
            for (ticket, mut batch) in work {
                let result = match &failure {
                    Some(e) => Err(copy_error(e)),
                    None => self
                        .check_writable()
                        .and_then(|()| self.append_locked(&mut writer, &mut batch)),
                };
                // A refusal before anything was written (a record `TooLarge`, no
                // room for a new segment: `DiskFull`) fails its own batch only;
                // the batches written before it are synced and acknowledged. Any
                // other failure fails the rest of the group.
                let refused_unwritten = |e: &Error| {
                    e.kind() == ErrorKind::TooLarge || matches!(e, Error::DiskFull { .. })
                };
                if let Err(e) = &result
                    && failure.is_none()
                    && !refused_unwritten(e)
                {
                    self.poison_on_storage_failure(e);
                    failure = Some(copy_error(e));
                }
                written.push((ticket, result, batch));
            }
        }
        self.wake_tailers();
        let last = written
            .iter()
            .filter_map(|(_, r, _)| r.as_ref().ok().map(|a| a.last_seq))
            .max();
        if let (Some(last), None) = (last, &failure)
            && let Err(e) = self.sync_through(last)
        {
            failure = Some(e);
        }
        // The first member of a failed group gets the original error (an I/O
        // error says what happened), the others a copy of its message.
        let mut original = failure;
        let message = original.as_ref().map(copy_error);
        written
            .into_iter()
            .map(|(ticket, result, batch)| {
                let result = match (result, &message) {
                    (Ok(_), Some(copy)) => Err(original.take().unwrap_or_else(|| copy_error(copy))),
                    (result, _) => result,
                };
                (ticket, (result, batch))
            })
            .collect()
    }
}

/// The error to give every member of a failed group.
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Poisoned { cause } => Error::Poisoned {
            cause: cause.clone(),
        },
        Error::Closed => Error::Closed,
        Error::ReadOnly => Error::ReadOnly,
        other => Error::Poisoned {
            cause: other.to_string(),
        },
    }
}
