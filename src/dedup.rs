//! The duplicate window: a retried event (same source and `message_id`, received
//! within the window) is stored once, and the retry gets the original's receipt.
//!
//! Entries are keyed by source and the 32-bit message hash stored in record
//! headers; a hit is confirmed by comparing the full message id of the original
//! record, so hash collisions never merge different events. Concurrent collectors
//! of the same message id are serialised by a pending claim: the second waits for
//! the first's append and then sees it as a duplicate. The window is rebuilt from
//! the log's recent segments (their index files) on open.

use std::collections::{HashMap, VecDeque};

use parking_lot::{Condvar, Mutex};

/// What a claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// No earlier event: the caller must append, then `resolve`.
    New,
    /// An earlier stored event with this message id.
    Stored(u64),
    /// An earlier event of the same batch (same owner) with this message id.
    SameBatch,
    /// Another call is collecting this message id right now, and this call could
    /// not wait for it (it holds pending claims of its own, or the wait timed out).
    InFlight,
}

/// The longest a claim waits for another call's pending copy of its message id.
const CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

enum Entry {
    Pending { message_id: String, owner: u64 },
    Stored { seq: u64, received_ms: i64 },
}

#[derive(Default)]
struct Inner {
    slots: HashMap<(u32, u32), Vec<Entry>>,
    /// Stored entries in receive order, for expiry: (received, source, hash, seq).
    order: VecDeque<(i64, u32, u32, u64)>,
}

pub(crate) struct DedupWindow {
    window_ms: i64,
    capacity: usize,
    inner: Mutex<Inner>,
    resolved: Condvar,
}

impl DedupWindow {
    pub(crate) fn new(window_ms: i64, capacity: usize) -> Self {
        DedupWindow {
            window_ms,
            capacity,
            inner: Mutex::new(Inner::default()),
            resolved: Condvar::new(),
        }
    }

    /// The number of stored message ids remembered.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().order.len()
    }

    /// Claims (source, message id) for `owner` (one collect call). `same_message`
    /// tells whether the stored record `seq` has exactly this message id.
    ///
    /// A call that already holds pending claims never waits for another's (two
    /// batches holding each other's ids would wait forever): it gets `InFlight`.
    /// A call that holds none waits at most `CLAIM_WAIT`, and no one waits for it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn claim(
        &self,
        source: u32,
        hash: u32,
        message_id: &str,
        owner: u64,
        holds_claims: bool,
        now_ms: i64,
        same_message: &dyn Fn(u64) -> bool,
    ) -> Claim {
        let mut inner = self.inner.lock();
        self.expire(&mut inner, now_ms);
        let oldest = now_ms.saturating_sub(self.window_ms);
        loop {
            let mut wait = false;
            if let Some(entries) = inner.slots.get(&(source, hash)) {
                for entry in entries {
                    match entry {
                        Entry::Stored { seq, received_ms }
                            if *received_ms >= oldest && same_message(*seq) =>
                        {
                            return Claim::Stored(*seq);
                        }
                        Entry::Pending {
                            message_id: m,
                            owner: o,
                        } if m == message_id => {
                            if *o == owner {
                                return Claim::SameBatch;
                            }
                            wait = true;
                        }
                        _ => {}
                    }
                }
            }
            if !wait {
                break;
            }
            if holds_claims || self.resolved.wait_for(&mut inner, CLAIM_WAIT).timed_out() {
                return Claim::InFlight;
            }
        }
        inner
            .slots
            .entry((source, hash))
            .or_default()
            .push(Entry::Pending {
                message_id: message_id.to_owned(),
                owner,
            });
        Claim::New
    }

    /// Settles a pending claim: `Some(seq)` once stored, `None` when the event was
    /// not stored after all.
    pub(crate) fn resolve(
        &self,
        source: u32,
        hash: u32,
        message_id: &str,
        owner: u64,
        stored: Option<(u64, i64)>,
    ) {
        let mut inner = self.inner.lock();
        if let Some(entries) = inner.slots.get_mut(&(source, hash)) {
            let at = entries.iter().position(
                |e| matches!(e, Entry::Pending { message_id: m, owner: o } if m == message_id && *o == owner),
            );
            if let Some(at) = at {
                match stored {
                    Some((seq, received_ms)) => entries[at] = Entry::Stored { seq, received_ms },
                    None => {
                        entries.swap_remove(at);
                    }
                }
            }
            if entries.is_empty() {
                inner.slots.remove(&(source, hash));
            }
        }
        if let Some((seq, received)) = stored {
            inner.order.push_back((received, source, hash, seq));
            self.expire(&mut inner, received);
        }
        drop(inner);
        self.resolved.notify_all();
    }

    /// Remembers a stored record found when the log was opened.
    pub(crate) fn remember(&self, source: u32, hash: u32, seq: u64, received_ms: i64, now_ms: i64) {
        if received_ms < now_ms.saturating_sub(self.window_ms) {
            return;
        }
        let mut inner = self.inner.lock();
        inner
            .slots
            .entry((source, hash))
            .or_default()
            .push(Entry::Stored { seq, received_ms });
        inner.order.push_back((received_ms, source, hash, seq));
        self.expire(&mut inner, now_ms);
    }

    /// Forgets the stored record `seq` (compaction removed it).
    pub(crate) fn forget(&self, source: u32, hash: u32, seq: u64) {
        let mut inner = self.inner.lock();
        if let Some(entries) = inner.slots.get_mut(&(source, hash)) {
            entries.retain(|e| !matches!(e, Entry::Stored { seq: s, .. } if *s == seq));
            if entries.is_empty() {
                inner.slots.remove(&(source, hash));
            }
        }
    }

    fn expire(&self, inner: &mut Inner, now_ms: i64) {
        let oldest = now_ms.saturating_sub(self.window_ms);
        while let Some(&(received, source, hash, seq)) = inner.order.front() {
            if received >= oldest && inner.order.len() <= self.capacity {
                break;
            }
            inner.order.pop_front();
            if let Some(entries) = inner.slots.get_mut(&(source, hash)) {
                entries.retain(|e| !matches!(e, Entry::Stored { seq: s, .. } if *s == seq));
                if entries.is_empty() {
                    inner.slots.remove(&(source, hash));
                }
            }
        }
    }
}
