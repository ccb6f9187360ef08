//! The catalog file (FORMAT.md, "Catalog").

use std::path::Path;

use super::v1::CatalogV1;
use super::{CATALOG_FILE, CatalogData};
use crate::codec::{decode_owned, encode_into};
use crate::error::{Error, Result};
use crate::io::{OpenMode, Vfs, write_atomic};
use crate::record::u32_at;

/// The catalog file starts with these 8 bytes.
pub(super) const CATALOG_MAGIC: [u8; 8] = *b"FLOGCAT\0";
/// The catalog format version this build writes (version 1 is read and
/// upgraded).
pub(super) const CATALOG_VERSION: u32 = 2;
/// The version of catalogs written by version 1 of firstlog.
const CATALOG_VERSION_V1: u32 = 1;
const HEADER_BYTES: usize = 24;
/// The largest catalog body: the codec's limit, so what is written can be read.
const BODY_BYTES_MAX: usize = crate::record::BODY_BYTES_MAX;

/// Reads and checks the catalog file; also says whether it is version 1 (to be
/// rewritten as version 2 by a writer).
pub(crate) fn read(fs: &dyn Vfs, path: &Path) -> Result<(CatalogData, bool)> {
    let file = fs
        .open(path, OpenMode::ReadOnly)
        .map_err(|e| Error::io(path, e))?;
    let bytes = file.read_all().map_err(|e| Error::io(path, e))?;
    let Some(h) = bytes.get(..HEADER_BYTES) else {
        return Err(Error::corrupt(path, 0, "catalog shorter than its header"));
    };
    if h[..8] != CATALOG_MAGIC {
        return Err(Error::corrupt(path, 0, "bad catalog magic"));
    }
    if crc32fast::hash(&h[..20]) != u32_at(h, 20) {
        return Err(Error::corrupt(path, 20, "catalog header CRC mismatch"));
    }
    let version = u32_at(h, 8);
    if version != CATALOG_VERSION && version != CATALOG_VERSION_V1 {
        return Err(Error::UnsupportedVersion {
            file: path.to_path_buf(),
            found: version,
            supported: CATALOG_VERSION,
        });
    }
    let len = u32_at(h, 12) as usize;
    if len > BODY_BYTES_MAX || bytes.len() != HEADER_BYTES + len {
        return Err(Error::corrupt(
            path,
            12,
            "catalog length does not match the file",
        ));
    }
    let body = &bytes[HEADER_BYTES..];
    if crc32fast::hash(body) != u32_at(h, 16) {
        return Err(Error::corrupt(
            path,
            HEADER_BYTES as u64,
            "catalog body CRC mismatch",
        ));
    }
    let damaged = |e: crate::codec::CodecError| {
        Error::corrupt(path, HEADER_BYTES as u64, format!("catalog body: {}", e.0))
    };
    if version == CATALOG_VERSION_V1 {
        let old: CatalogV1 = decode_owned(body).map_err(damaged)?;
        return Ok((old.upgrade(), true));
    }
    Ok((decode_owned(body).map_err(damaged)?, false))
}

/// Writes the catalog atomically: temp file, fsync, rename, directory fsync.
pub(super) fn write(fs: &dyn Vfs, dir: &Path, data: &CatalogData) -> Result<()> {
    let bytes = encode(data)?;
    write_atomic(fs, dir, &dir.join(CATALOG_FILE), &bytes)
}

/// The bytes of the catalog file (FORMAT.md §5).
fn encode(data: &CatalogData) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; HEADER_BYTES];
    encode_into(data, &mut bytes).map_err(|e| Error::argument("catalog", e.0))?;
    let len = bytes.len() - HEADER_BYTES;
    if len > BODY_BYTES_MAX {
        return Err(Error::argument(
            "catalog",
            format!("{len} bytes encoded, over the limit of {BODY_BYTES_MAX}: too many sources"),
        ));
    }
    let crc = crc32fast::hash(&bytes[HEADER_BYTES..]);
    bytes[..8].copy_from_slice(&CATALOG_MAGIC);
    bytes[8..12].copy_from_slice(&CATALOG_VERSION.to_le_bytes());
    bytes[12..16].copy_from_slice(&(len as u32).to_le_bytes());
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    let header_crc = crc32fast::hash(&bytes[..20]);
    bytes[20..24].copy_from_slice(&header_crc.to_le_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::data::{StoredErasure, StoredRetention, StoredState, StoredSuppression};
    use super::super::{CatalogData, Source};
    use super::*;
    use crate::event::{NamingPolicy, SourceId};

    /// Every field of the catalog, with values whose bytes are easy to find.
    fn sample() -> CatalogData {
        let mut data = CatalogData::new([0xAB; 16], NamingPolicy::Warn);
        data.next_source_id = 2;
        data.sources.push(Source {
            id: SourceId(1),
            name: "Web".into(),
            write_key: "wk_x".into(),
            enabled: true,
            created_ms: -1,
            naming: Some(NamingPolicy::Enforce),
            max_age_ms: Some(300),
            allowed_origins: vec!["https://a.b".into()],
        });
        data.log_start = 7;
        data.retention = StoredRetention {
            max_age_ms: Some(1),
            max_bytes: None,
            roll_interval_ms: Some(251),
        };
        data.next_request = 3;
        data.erasures.push(StoredErasure {
            id: 2,
            ids: vec!["u".into()],
            sources: vec![],
            up_to_seq: 9,
            suppress: true,
            state: StoredState::Failed,
            asked_ms: 1,
            finished_ms: None,
            removed_events: 0,
            removed_bytes: 0,
            failure: Some("e".into()),
        });
        data.suppressions.push(StoredSuppression {
            profile_id: "u".into(),
            sources: vec![SourceId(1)],
            since_ms: 2,
        });
        data.segment_bytes = Some(65536);
        data
    }

    /// The bytes FORMAT.md §5 describes, pinned: a change here is a format change.
    #[test]
    fn golden_catalog_bytes() {
        let bytes = encode(&sample()).unwrap();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex, GOLDEN,
            "catalog bytes changed: update FORMAT.md §5 and the version"
        );
        let (back, from_v1) = decode_for_test(&bytes);
        assert_eq!(back, sample());
        assert!(!from_v1);
    }

    fn decode_for_test(bytes: &[u8]) -> (CatalogData, bool) {
        let fs = crate::io::MemFs::new();
        let dir = Path::new("/c");
        fs.create_dir_all(dir).unwrap();
        write_atomic(&fs, dir, &dir.join(CATALOG_FILE), bytes).unwrap();
        read(&fs, &dir.join(CATALOG_FILE)).unwrap()
    }

    const GOLDEN: &str = concat!(
        "464c4f474341540002000000570000000db05304aeb9ef7a",
        "abababababababababababababababab",
        "020101010357656204776b5f780101010201fb2c01010b68747470733a2f2f612e62",
        "0701010001fbfb0003",
        "0102010175000901030200000001016501",
        "017501010401",
        "fc00000100",
    );
}
