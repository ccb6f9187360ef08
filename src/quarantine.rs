//! The quarantine: JSON payloads that collection turned away, kept with their
//! reason in a bounded file (`rejected.ndjson`, rotated to `rejected.ndjson.1`
//! when full) so a user can see what was refused instead of losing it silently.
//! Best effort: it is written through the page cache and never synced, and a
//! failure to write it never fails collection.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::io::{OpenMode, VFile, Vfs};

/// The quarantine file's name inside a store directory.
pub(crate) const QUARANTINE_FILE: &str = "rejected.ndjson";

/// A payload that was turned away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// When it was refused (ms since the Unix epoch).
    pub received_ms: i64,
    /// Why, as the error said it.
    pub reason: String,
    /// The payload as received (lossy UTF-8, cut at the event size limit).
    pub payload: String,
}

pub(crate) struct Quarantine {
    fs: Arc<dyn Vfs>,
    path: PathBuf,
    bytes_max: u64,
    state: Mutex<Option<(Arc<dyn VFile>, u64)>>,
}

impl Quarantine {
    pub(crate) fn new(fs: Arc<dyn Vfs>, dir: &Path, bytes_max: u64) -> Self {
        Quarantine {
            fs,
            path: dir.join(QUARANTINE_FILE),
            bytes_max,
            state: Mutex::new(None),
        }
    }

    fn rotated(&self) -> PathBuf {
        self.path.with_extension("ndjson.1")
    }

    /// Records a refused payload.
    pub(crate) fn record(&self, payload: &[u8], reason: &str, received_ms: i64, cut_at: usize) {
        if self.bytes_max == 0 {
            return;
        }
        let cut = &payload[..payload.len().min(cut_at)];
        let entry = Rejection {
            received_ms,
            reason: reason.to_owned(),
            payload: String::from_utf8_lossy(cut).into_owned(),
        };
        let Ok(mut line) = serde_json::to_vec(&entry) else {
            return;
        };
        line.push(b'\n');
        let mut state = self.state.lock();
        // Failures here are deliberately ignored: the quarantine is best effort.
        let _ = self.append(&mut state, &line);
    }

    fn append(
        &self,
        state: &mut Option<(Arc<dyn VFile>, u64)>,
        line: &[u8],
    ) -> std::io::Result<()> {
        if state.is_none() {
            let file = if self.fs.exists(&self.path) {
                self.fs.open(&self.path, OpenMode::ReadWrite)?
            } else {
                self.fs.open(&self.path, OpenMode::CreateNew)?
            };
            let len = file.len()?;
            *state = Some((file, len));
        }
        if let Some((_, len)) = state.as_ref()
            && len + line.len() as u64 > self.bytes_max / 2
        {
            *state = None;
            self.fs.rename(&self.path, &self.rotated())?;
            let file = self.fs.open(&self.path, OpenMode::CreateNew)?;
            *state = Some((file, 0));
        }
        if let Some((file, len)) = state.as_mut() {
            file.write_all_at(line, *len)?;
            *len += line.len() as u64;
        }
        Ok(())
    }

    /// Removes every line whose payload contains one of `ids` anywhere (a refused
    /// payload need not be valid JSON, so the match is on the text, erring on the
    /// side of removing), rewriting each quarantine file atomically: an erasure
    /// leaves no payload of the erased profile behind (FORMAT.md §2.6). Returns
    /// the lines removed.
    pub(crate) fn scrub(&self, ids: &[String]) -> crate::error::Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        // Both as given and as escaped inside a JSON string.
        let quoted: Vec<String> = ids
            .iter()
            .filter(|id| !id.is_empty())
            .flat_map(|id| {
                let escaped = serde_json::to_string(id).unwrap_or_default();
                let inner = escaped
                    .strip_prefix('"')
                    .and_then(|e| e.strip_suffix('"'))
                    .unwrap_or_default()
                    .to_owned();
                [id.clone(), inner]
            })
            .filter(|s| !s.is_empty())
            .collect();
        let names = |line: &[u8]| {
            let raw = String::from_utf8_lossy(line);
            let payload = serde_json::from_slice::<Rejection>(line)
                .map(|r| r.payload)
                .unwrap_or_default();
            quoted
                .iter()
                .any(|q| raw.contains(q.as_str()) || payload.contains(q.as_str()))
        };
        let mut state = self.state.lock();
        // The open file is about to be replaced: reopen it on the next append.
        *state = None;
        let mut removed = 0;
        for path in [self.rotated(), self.path.clone()] {
            if !self.fs.exists(&path) {
                continue;
            }
            let io = |e| crate::error::Error::io(&path, e);
            let bytes = self.fs.open(&path, OpenMode::ReadOnly).map_err(io)?;
            let bytes = bytes.read_all().map_err(io)?;
            let mut kept = Vec::with_capacity(bytes.len());
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                if names(line.strip_suffix(b"\n").unwrap_or(line)) {
                    removed += 1;
                } else {
                    kept.extend_from_slice(line);
                }
            }
            if kept.len() != bytes.len() {
                let dir = path.parent().unwrap_or(Path::new("."));
                crate::io::write_atomic(&*self.fs, dir, &path, &kept)?;
            }
        }
        Ok(removed)
    }

    /// The most recent refused payloads, newest last, at most `limit`.
    pub(crate) fn recent(&self, limit: usize) -> Vec<Rejection> {
        let _state = self.state.lock();
        let mut all = Vec::new();
        for path in [self.rotated(), self.path.clone()] {
            let Ok(file) = self.fs.open(&path, OpenMode::ReadOnly) else {
                continue;
            };
            let Ok(bytes) = file.read_all() else { continue };
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                if let Ok(entry) = serde_json::from_slice::<Rejection>(line) {
                    all.push(entry);
                }
            }
        }
        let skip = all.len().saturating_sub(limit);
        all.split_off(skip)
    }
}
