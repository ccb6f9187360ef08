//! The export state (EXPORT.md §2): what one store has exported into a
//! directory, the files that hold it, and the moves and deletions of a run
//! that committed but has not finished. Written whole with the temp-file
//! protocol, so after a crash it is the old or the new one.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::Dirs;
use crate::error::{Error, Result};
use crate::io::{OpenMode, Vfs, write_atomic};

/// The `format` field of the state and manifest files.
pub(super) const FORMAT: &str = "firstlog-export";
/// The version of the state and manifest files this build reads and writes.
pub(super) const VERSION: u32 = 1;

/// Which events an export directory holds: fixed by its first run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Selection {
    /// Source ids; `None`: every source, those created later too.
    pub sources: Option<Vec<u32>>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

/// One exported file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileEntry {
    /// Relative to the export directory.
    pub path: String,
    pub source_id: u32,
    /// Days since the Unix epoch (the `date=` partition).
    pub day: i64,
    /// The sequence range the file was first written for (its name); its
    /// rows lie inside it.
    pub first_seq: u64,
    pub last_seq: u64,
    pub rows: u64,
    pub bytes: u64,
    pub min_received_ms: i64,
    pub max_received_ms: i64,
    /// The run that last wrote it.
    pub run: u64,
}

/// A staged file to rename into place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Move {
    /// The file's name in the staging directory.
    pub staged: String,
    /// Its path relative to the export directory.
    pub path: String,
}

/// What a committed run still has to do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Pending {
    pub run: u64,
    pub moves: Vec<Move>,
    /// Paths relative to the export directory.
    pub deletes: Vec<String>,
}

/// The state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct State {
    pub format: String,
    pub version: u32,
    pub store_id: String,
    pub selection: Selection,
    /// The number the next run gets.
    pub next_run: u64,
    /// Every event up to this sequence number has been considered.
    pub exported_through: u64,
    /// The store's log start when last applied.
    pub log_start: u64,
    /// The highest erasure request id whose events were removed.
    pub erasures_through: u64,
    pub files: Vec<FileEntry>,
    /// A committed run's moves and deletions not yet known to be done.
    pub pending: Option<Pending>,
}

impl State {
    /// The state of an export that has not run yet.
    pub(super) fn new(store_id: &str, selection: Selection) -> State {
        State {
            format: FORMAT.to_owned(),
            version: VERSION,
            store_id: store_id.to_owned(),
            selection,
            next_run: 1,
            exported_through: 0,
            log_start: 1,
            erasures_through: 0,
            files: Vec::new(),
            pending: None,
        }
    }

    /// Reads the state of `dirs`, `None` when there is none yet.
    pub(super) fn load(fs: &dyn Vfs, dirs: &Dirs) -> Result<Option<State>> {
        let path = dirs.state();
        if !fs.exists(&path) {
            return Ok(None);
        }
        let bytes = read(fs, &path)?;
        let state: State = parse(&path, &bytes)?;
        if state.format != FORMAT {
            return Err(Error::corrupt(&path, 0, "not a firstlog export state"));
        }
        if state.version != VERSION {
            return Err(Error::UnsupportedVersion {
                file: path,
                found: state.version,
                supported: VERSION,
            });
        }
        Ok(Some(state))
    }

    /// Replaces the state file (temp file, fdatasync, rename, directory fsync).
    pub(super) fn save(&self, fs: &dyn Vfs, dirs: &Dirs) -> Result<()> {
        let bytes = to_json(self, &dirs.state())?;
        write_atomic(fs, &dirs.meta, &dirs.state(), &bytes)
    }
}

/// A run's manifest: what it wrote, rewrote and deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub format: String,
    pub version: u32,
    pub store_id: String,
    pub run: u64,
    pub started_at: String,
    /// The sequence range of new events the run considered.
    pub from_seq: u64,
    pub through_seq: u64,
    /// New files.
    pub added: Vec<FileEntry>,
    /// Files written again (erasure, retention): same path, fewer rows.
    pub rewritten: Vec<FileEntry>,
    /// Files removed (every row erased or expired).
    pub deleted: Vec<String>,
}

impl Manifest {
    pub(super) fn save(&self, fs: &dyn Vfs, dirs: &Dirs) -> Result<()> {
        let path = dirs.manifest(self.run);
        let bytes = to_json(self, &path)?;
        write_atomic(fs, &dirs.runs, &path, &bytes)
    }
}

fn read(fs: &dyn Vfs, path: &Path) -> Result<Vec<u8>> {
    fs.open(path, OpenMode::ReadOnly)
        .and_then(|f| f.read_all())
        .map_err(|e| Error::io(path, e))
}

fn parse<T: for<'de> Deserialize<'de>>(path: &Path, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::corrupt(
            path,
            u64::try_from(e.column()).unwrap_or(0),
            format!("not a valid export state: {e}"),
        )
    })
}

fn to_json<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::Export {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
