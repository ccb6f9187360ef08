//! Named consumer offsets (FORMAT.md §9): where a consumer of the log (a
//! `firstlog tail --consumer NAME` shipping events to a broker) resumes. Each
//! consumer has a directory `consumers/NAME/` in the store directory with its
//! own lock and a 32-byte offset file replaced atomically, so a consumer
//! beside a live writer (which owns the catalog) can keep its position in the
//! store without taking the writer's lock.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::io::{LockGuard, OpenMode, Vfs, write_atomic};

/// The directory of every consumer, in the store directory.
pub(crate) const CONSUMERS_DIR: &str = "consumers";
/// A consumer's offset file, in its directory.
const OFFSET_FILE: &str = "offset";
const MAGIC: &[u8; 8] = b"FLOGCSR\0";
const VERSION: u32 = 1;
/// magic, version, next_seq, committed_ms, crc.
const OFFSET_BYTES: usize = 32;
/// The longest consumer name.
const NAME_BYTES_MAX: usize = 64;

/// A named consumer's position in the log: the sequence number it reads next.
/// Held by one [`Consumer`] at a time (a second gets [`Error::InUse`]); the
/// position survives restarts. Get one with
/// [`Store::consumer`](crate::Store::consumer).
///
/// At least once: read from [`offset`](Consumer::offset), hand the events on,
/// and [`commit`](Consumer::commit) the next sequence number only once they
/// are delivered (flushed); a crash in between delivers them again.
pub struct Consumer {
    fs: Arc<dyn Vfs>,
    dir: PathBuf,
    name: String,
    next_seq: u64,
    _lock: LockGuard,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("name", &self.name)
            .field("next_seq", &self.next_seq)
            .finish()
    }
}

impl Consumer {
    /// Opens (creating if new) the consumer `name` of the store in `store_dir`.
    pub(crate) fn open(fs: Arc<dyn Vfs>, store_dir: &Path, name: &str) -> Result<Consumer> {
        check_name(name)?;
        let parent = store_dir.join(CONSUMERS_DIR);
        let dir = parent.join(name);
        for (level, above) in [(&parent, store_dir), (&dir, parent.as_path())] {
            if !fs.exists(level) {
                // The new directory's entry is made durable, or a power loss
                // could forget the consumer (and deliver everything again).
                fs.create_dir_all(level).map_err(|e| Error::io(level, e))?;
                fs.sync_dir(above).map_err(|e| Error::io(above, e))?;
            }
        }
        let lock = fs
            .try_lock(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .ok_or_else(|| Error::InUse {
                path: dir.clone(),
                what: "consumer",
            })?;
        let path = dir.join(OFFSET_FILE);
        let next_seq = if fs.exists(&path) {
            let bytes = fs
                .open(&path, OpenMode::ReadOnly)
                .and_then(|f| f.read_all())
                .map_err(|e| Error::io(&path, e))?;
            decode(&path, &bytes)?
        } else {
            0
        };
        Ok(Consumer {
            fs,
            dir,
            name: name.to_owned(),
            next_seq,
            _lock: lock,
        })
    }

    /// The consumer's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sequence number to read next: 0 for a new consumer (read from
    /// wherever the log starts).
    pub fn offset(&self) -> u64 {
        self.next_seq
    }

    /// Records that every event before `next_seq` was delivered. Durable when
    /// it returns (temp file, fdatasync, rename, directory fsync).
    pub fn commit(&mut self, next_seq: u64) -> Result<()> {
        if next_seq == self.next_seq {
            return Ok(());
        }
        let path = self.dir.join(OFFSET_FILE);
        let bytes = encode(next_seq, crate::time::now_ms());
        write_atomic(&*self.fs, &self.dir, &path, &bytes)?;
        self.next_seq = next_seq;
        Ok(())
    }
}

/// Names are 1 to 64 bytes of ASCII letters, digits, `_`, `-` and `.`, not
/// starting with `.`: safe as a directory name everywhere.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        return Ok(());
    }
    Err(Error::argument(
        "consumer",
        format!(
            "{name:?}: a consumer name is 1 to {NAME_BYTES_MAX} letters, digits, '_', '-' \
             or '.', not starting with '.'"
        ),
    ))
}

fn encode(next_seq: u64, now_ms: i64) -> [u8; OFFSET_BYTES] {
    let mut b = [0u8; OFFSET_BYTES];
    b[0..8].copy_from_slice(MAGIC);
    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
    b[12..20].copy_from_slice(&next_seq.to_le_bytes());
    b[20..28].copy_from_slice(&now_ms.to_le_bytes());
    let crc = crc32fast::hash(&b[0..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode(path: &Path, b: &[u8]) -> Result<u64> {
    let field = |at: usize| -> [u8; 8] {
        let mut out = [0u8; 8];
        out.copy_from_slice(&b[at..at + 8]);
        out
    };
    if b.len() != OFFSET_BYTES || &b[0..8] != MAGIC {
        return Err(Error::corrupt(path, 0, "not a consumer offset file"));
    }
    let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    if version != VERSION {
        return Err(Error::UnsupportedVersion {
            file: path.to_path_buf(),
            found: version,
            supported: VERSION,
        });
    }
    let crc = u32::from_le_bytes([b[28], b[29], b[30], b[31]]);
    if crc != crc32fast::hash(&b[0..28]) {
        return Err(Error::corrupt(
            path,
            28,
            "consumer offset checksum mismatch",
        ));
    }
    Ok(u64::from_le_bytes(field(12)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of FORMAT.md §9's example.
    #[test]
    fn offset_file_golden() {
        let bytes = encode(1234, 1_700_000_000_000);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "464c4f474353520001000000d2040000000000000068e5cf8b0100006dd9f8c6"
        );
        assert_eq!(decode(Path::new("x"), &bytes).ok(), Some(1234));
        let mut bad = bytes;
        bad[13] ^= 1;
        assert!(decode(Path::new("x"), &bad).is_err_and(|e| e.is_corruption()));
    }

    #[test]
    fn names_are_checked() {
        for bad in ["", ".hidden", "a/b", "ü", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["kafka", "vector-1", "a.b_c"] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }
}
