//! Opening a store written by version 1 of firstlog: every version-1 segment is
//! rewritten in version 2 (oldest first), then the catalog. Each file is swapped
//! atomically, so an upgrade interrupted at any point is taken up again by the
//! next open (FORMAT.md §8).

use std::path::Path;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::io::Vfs;
use crate::log::OpenReport;
use crate::segment::{Upgraded, parse_segment_file_name, segment_file_name, upgrade_segment};

/// Upgrades what is still version 1 in `dir`; reports what it did in `report`.
pub(super) fn upgrade_store(
    fs: &dyn Vfs,
    dir: &Path,
    catalog: &Catalog,
    report: &mut OpenReport,
) -> Result<()> {
    let store_id = catalog.state().data.store_id;
    let mut firsts: Vec<u64> = fs
        .list(dir)
        .map_err(|e| Error::io(dir, e))?
        .iter()
        .filter_map(|name| parse_segment_file_name(name))
        .collect();
    firsts.sort_unstable();
    for (i, &first) in firsts.iter().enumerate() {
        let path = dir.join(segment_file_name(first));
        let last = i + 1 == firsts.len();
        match upgrade_segment(fs, dir, &path, first, store_id, last)? {
            Upgraded::Current => {}
            Upgraded::Rewritten(repair) => {
                report.upgraded_files.push(path);
                if repair.is_some() {
                    report.tail_repair = repair;
                }
            }
            Upgraded::Removed => report.removed_files.push(path),
        }
    }
    catalog.finish_upgrade()
}
