//! The upgrade of version-1 segments (FORMAT.md §8): each is rewritten as a
//! sealed version-2 segment with the same sequence numbers and the same events,
//! under a temporary name swapped in atomically, so a crash at any point leaves
//! either the old file or the new one (and the next open goes on).

use std::path::Path;

use super::format::{SEGMENT_VERSION_V1, SegmentHeader, TRAILER_BYTES, Trailer};
use super::rewrite::SealedImage;
use super::scan::{self, Layout, Stop};
use super::{Segment, TailRepair, index_file_name};
use crate::codec::{self, CodecError};
use crate::error::{Error, Result};
use crate::event::{BodyOut, Limits};
use crate::io::{OpenMode, Vfs, temp_path};
use crate::record::{Framing, RecordHeader, RecordView, profile_hash};

/// What upgrading one segment did.
pub(crate) enum Upgraded {
    /// The file was already version 2.
    Current,
    /// The file was rewritten; for the last segment, what was cut from its tail.
    Rewritten(Option<TailRepair>),
    /// The last segment held no record (or was never initialised): removed.
    Removed,
}

/// Upgrades the segment file `path` (first sequence number `first_seq`) if it is
/// version 1. `last` says whether it is the log's last segment (the only one that
/// may be unsealed, with a torn tail to cut).
pub(crate) fn upgrade_segment(
    fs: &dyn Vfs,
    dir: &Path,
    path: &Path,
    first_seq: u64,
    store_id: [u8; 16],
    last: bool,
) -> Result<Upgraded> {
    let io = |e| Error::io(path, e);
    let file = fs.open(path, OpenMode::ReadOnly).map_err(io)?;
    let len = file.len().map_err(io)?;
    // A header that is not version 1 (current, zeroed, damaged) is for the
    // normal open to judge.
    let Ok(Some(header)) = Segment::read_header(&*file, path, len) else {
        return Ok(Upgraded::Current);
    };
    if header.version != SEGMENT_VERSION_V1 {
        return Ok(Upgraded::Current);
    }
    Segment::check_identity(&header, path, first_seq, store_id)?;
    let bytes = file.read_all().map_err(io)?;
    drop(file);
    let (data, repair) = v1_records(&bytes, path, first_seq, last)?;
    let mut records = Vec::new();
    let found = scan::scan(data, v1_layout(first_seq), |offset, record| {
        records.push((offset, *record));
    });
    debug_assert_eq!(found.stop, Stop::Clean, "v1_records checked the data");
    if records.is_empty() {
        if !last {
            return Err(Error::corrupt(path, 0, "a sealed segment without records"));
        }
        remove_with_index(fs, dir, path, first_seq)?;
        return Ok(Upgraded::Removed);
    }
    let rewritten = rewrite(&header, &records, path)?;
    replace(fs, dir, path, first_seq, &rewritten)?;
    Ok(Upgraded::Rewritten(repair))
}

fn v1_layout(first_seq: u64) -> Layout {
    Layout {
        framing: Framing::V1,
        first_seq,
        gaps: false,
    }
}

/// The bytes of a version-1 segment that hold complete records: up to its seal
/// trailer, or (the last, unsealed segment) up to its last complete batch, its
/// torn tail judged as recovery judges one (FORMAT.md §2.5).
fn v1_records<'a>(
    bytes: &'a [u8],
    path: &Path,
    first_seq: u64,
    last: bool,
) -> Result<(&'a [u8], Option<TailRepair>)> {
    let trailer = bytes
        .len()
        .checked_sub(TRAILER_BYTES)
        .and_then(|at| Trailer::decode(&bytes[at..]).filter(|t| t.data_end == at as u64));
    let found = |data: &[u8]| scan::scan(data, v1_layout(first_seq), |_, _| {});
    if let Some(trailer) = trailer {
        let data = &bytes[..trailer.data_end as usize];
        let scanned = found(data);
        if let Stop::Damaged { offset, reason } = scanned.stop {
            return Err(Error::corrupt(path, offset as u64, reason));
        }
        if scanned.end != data.len() || scanned.last_seq != trailer.last_seq {
            return Err(Error::corrupt(
                path,
                scanned.end as u64,
                "records end before the seal trailer says they do",
            ));
        }
        return Ok((data, None));
    }
    if !last {
        return Err(Error::corrupt(
            path,
            bytes.len().saturating_sub(TRAILER_BYTES) as u64,
            "a segment that is not the last has no valid seal trailer (truncated or damaged)",
        ));
    }
    let scanned = found(bytes);
    let garbage_end = scan::nonzero_end(bytes, scanned.end);
    let repair = match garbage_end {
        None => None,
        Some(garbage_end) => {
            let at = match scanned.stop {
                Stop::Damaged { offset, .. } => offset,
                Stop::Clean => scanned.valid_end,
            };
            let next = scanned.last_seq.wrapping_add(1);
            if scan::find_valid_record(bytes, at, next, Framing::V1).is_some() {
                return Err(Error::corrupt(
                    path,
                    at as u64,
                    "damage followed by valid records in a version-1 segment (not a torn tail)",
                ));
            }
            Some(TailRepair {
                file: path.to_path_buf(),
                offset: scanned.end as u64,
                dropped_bytes: (garbage_end - scanned.end) as u64,
                reason: "torn tail of a version-1 segment, cut when upgrading it".to_owned(),
            })
        }
    };
    Ok((&bytes[..scanned.end], repair))
}

/// The version-2 file of these version-1 records: a sealed segment (header,
/// records with re-encoded bodies, seal trailer).
fn rewrite(
    old: &SegmentHeader,
    records: &[(usize, RecordView<'_>)],
    path: &Path,
) -> Result<Vec<u8>> {
    let mut image = SealedImage::new(records.len() * 256);
    let mut last_seq = old.first_seq.wrapping_sub(1);
    let mut body = Vec::new();
    for (offset, record) in records {
        body.clear();
        let anonymous_hash = upgrade_body(record.body, &mut body).map_err(|e| {
            Error::corrupt(
                path,
                *offset as u64,
                format!("record body does not decode: {}", e.0),
            )
        })?;
        let header = RecordHeader {
            anonymous_hash,
            ..record.header
        };
        image.push(&header, &body);
        last_seq = record.header.seq;
    }
    let (bytes, _) = image.finish(old, 0, last_seq, crate::time::now_ms());
    Ok(bytes)
}

/// Re-encodes a version-1 body as version 2; returns the anonymous id's hash.
fn upgrade_body(v1: &[u8], out: &mut Vec<u8>) -> Result<u64, CodecError> {
    let body = codec::decode_v1_body(v1)?;
    let (name, ids) = (
        body.name,
        [body.profile_id, body.session_id, body.message_id],
    );
    let (properties, context) = body.objects();
    let parts = BodyOut {
        name,
        profile_id: ids[0],
        session_id: ids[1],
        message_id: ids[2],
        properties: &properties,
        context: &context,
    };
    let anonymous_hash = profile_hash(parts.anonymous_id());
    // Version 1 nested at most `DEPTH_CEILING` levels below the body's objects.
    codec::encode_body(out, &parts, Limits::DEPTH_CEILING + 1)
        .map_err(|(field, e)| CodecError(format!("{field}: {e:?}")))?;
    Ok(anonymous_hash)
}

/// Swaps the rewritten segment in (temporary file, fdatasync, rename), removes
/// the segment's old index file, and fsyncs the directory.
fn replace(fs: &dyn Vfs, dir: &Path, path: &Path, first_seq: u64, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let file = fs
        .open(&tmp, OpenMode::CreateTruncate)
        .map_err(|e| Error::io(&tmp, e))?;
    file.write_all_at(bytes, 0)
        .map_err(|e| Error::io(&tmp, e))?;
    file.sync_data().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    fs.rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    remove_index(fs, dir, first_seq)?;
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))
}

fn remove_with_index(fs: &dyn Vfs, dir: &Path, path: &Path, first_seq: u64) -> Result<()> {
    fs.remove(path).map_err(|e| Error::io(path, e))?;
    remove_index(fs, dir, first_seq)?;
    fs.sync_dir(dir).map_err(|e| Error::io(dir, e))
}

fn remove_index(fs: &dyn Vfs, dir: &Path, first_seq: u64) -> Result<()> {
    let index = dir.join(index_file_name(first_seq));
    if fs.exists(&index) {
        fs.remove(&index).map_err(|e| Error::io(&index, e))?;
    }
    Ok(())
}
