//! Replacing a whole file atomically: the protocol every rewritten file uses.

use std::path::{Path, PathBuf};

use super::{OpenMode, Vfs};
use crate::error::{Error, Result};

/// The temporary name `write_atomic` writes `path` under: the file name with
/// `.tmp` appended. An interrupted write leaves only such a file, which the next
/// open deletes.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` (in `dir`) with `bytes`: writes a temporary file, fdatasyncs
/// it, renames it over `path`, and fsyncs the directory. After a crash at any
/// point, `path` holds either its old or its new content.
pub(crate) fn write_atomic(fs: &dyn Vfs, dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let file = fs
        .open(&tmp, OpenMode::CreateTruncate)
        .map_err(|e| Error::io(&tmp, e))?;
    let written = file.write_all_at(bytes, 0).and_then(|()| file.sync_data());
    drop(file);
    if let Err(e) = written {
        // Best effort (the next open removes leftovers): a full disk gets the
        // bytes back at once.
        let _ = fs.remove(&tmp);
        return Err(Error::io(&tmp, e));
    }
    fs.rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))
}
