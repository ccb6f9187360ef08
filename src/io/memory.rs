//! An in-memory file system with a crash simulator.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::{LockGuard, Map, OpenMode, VFile, Vfs};
use crate::rng::SplitMix64;

/// The sector size of the simulated disk: the unit in which unsynced writes tear.
pub(super) const SECTOR_BYTES: usize = 512;

/// What a simulated crash does to data that was written but not synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashMode {
    /// Every unsynced write reached the disk.
    KeepAll,
    /// No unsynced write reached the disk (files and directory entries revert to
    /// their last synced state).
    DropAll,
    /// The disk wrote unsynced sectors in order and stopped at a random sector,
    /// which may hold garbage: a valid prefix and a torn tail.
    Torn,
    /// Each unsynced sector independently reached the disk, did not, or holds
    /// garbage (SQLite's crash VFS). Directory entries revert or not at random.
    Chaos,
}

/// Files in memory. Cloning gives another handle to the same files.
#[derive(Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
    space: Arc<Space>,
}

/// The simulated disk's size: growing files past it fails with ENOSPC.
#[derive(Default)]
struct Space {
    /// The disk's size in bytes (0: unlimited).
    capacity: AtomicU64,
    /// The bytes of every file.
    used: AtomicU64,
}

impl Space {
    /// Accounts a file going from `from` to `to` bytes; growing past the
    /// capacity fails (nothing changes).
    fn resize(&self, from: usize, to: usize) -> io::Result<()> {
        let (from, to) = (from as u64, to as u64);
        if to <= from {
            // Saturating: a handle still open on a removed file may shrink it.
            let freed = from - to;
            let _ = self
                .used
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                    Some(used.saturating_sub(freed))
                });
            return Ok(());
        }
        let capacity = self.capacity.load(Ordering::Acquire);
        let grown = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                let after = used.checked_add(to - from)?;
                (capacity == 0 || after <= capacity).then_some(after)
            });
        grown.map(|_| ()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on the simulated disk",
            )
        })
    }
}

#[derive(Default)]
struct State {
    files: HashMap<PathBuf, Arc<MemFile>>,
    durable_names: HashMap<PathBuf, Arc<MemFile>>,
    dirs: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
}

#[derive(Default)]
struct MemFile {
    data: RwLock<Vec<u8>>,
    synced: Mutex<Vec<u8>>,
}

impl MemFs {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits the disk to `bytes` (the sum of every file's length; `None`:
    /// unlimited). Growing a file past it fails with ENOSPC; lowering it below
    /// what is used fills the disk.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        // 0 stands for unlimited, so a disk of no bytes is a disk of one.
        let capacity = bytes.map_or(0, |b| b.max(1));
        self.space.capacity.store(capacity, Ordering::Release);
    }

    /// The bytes of every file.
    pub fn used_bytes(&self) -> u64 {
        self.space.used.load(Ordering::Acquire)
    }

    /// The file system as a disk would hold it after a power loss now: synced data
    /// survives, unsynced data fares as `mode` and `seed` decide. The returned file
    /// system is independent of this one (stores still open on this one cannot
    /// affect it).
    pub fn crash(&self, mode: CrashMode, seed: u64) -> MemFs {
        let mut rng = SplitMix64::new(seed);
        let state = self.state.lock();
        let keep_names = match mode {
            CrashMode::KeepAll => true,
            CrashMode::DropAll => false,
            CrashMode::Torn | CrashMode::Chaos => rng.chance(0.5),
        };
        let names = if keep_names {
            &state.files
        } else {
            &state.durable_names
        };
        let mut files = HashMap::new();
        for (path, file) in names {
            let data = file.data.read();
            let synced = file.synced.lock();
            let after = crash_bytes(&synced, &data, mode, &mut rng);
            files.insert(
                path.clone(),
                Arc::new(MemFile {
                    data: RwLock::new(after.clone()),
                    synced: Mutex::new(after),
                }),
            );
        }
        let used: usize = files.values().map(|f| f.data.read().len()).sum();
        let space = Space {
            capacity: AtomicU64::new(self.space.capacity.load(Ordering::Acquire)),
            used: AtomicU64::new(used as u64),
        };
        MemFs {
            state: Arc::new(Mutex::new(State {
                durable_names: files.clone(),
                files,
                dirs: state.dirs.clone(),
                locks: HashSet::new(),
            })),
            space: Arc::new(space),
        }
    }

    /// The current bytes of a file (for tests that damage files on purpose).
    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state.lock();
        state.files.get(path).map(|f| f.data.read().clone())
    }

    /// Replaces the bytes of a file, as if durable (for tests that damage files).
    pub fn write(&self, path: &Path, bytes: Vec<u8>) {
        let mut state = self.state.lock();
        let before = state.files.get(path).map_or(0, |f| f.data.read().len());
        let _ = self.space.resize(before, 0);
        self.space
            .used
            .fetch_add(bytes.len() as u64, Ordering::AcqRel);
        let file = Arc::new(MemFile {
            data: RwLock::new(bytes.clone()),
            synced: Mutex::new(bytes),
        });
        state.files.insert(path.to_path_buf(), file.clone());
        state.durable_names.insert(path.to_path_buf(), file);
    }
}

/// What became of one unsynced sector in a crash.
#[derive(Clone, Copy, PartialEq)]
enum Fate {
    New,
    Old,
    Garbage,
}

/// The content of one file after a crash.
fn crash_bytes(synced: &[u8], current: &[u8], mode: CrashMode, rng: &mut SplitMix64) -> Vec<u8> {
    match mode {
        CrashMode::KeepAll => return current.to_vec(),
        CrashMode::DropAll => return synced.to_vec(),
        CrashMode::Torn | CrashMode::Chaos => {}
    }
    let differing = differing_sectors(synced, current);
    if differing.is_empty() {
        return if rng.chance(0.5) {
            current.to_vec()
        } else {
            synced.to_vec()
        };
    }
    let fates = fates(differing.len(), mode, rng);
    let len = crashed_len(synced, current, &differing, &fates, mode, rng);
    let mut out: Vec<u8> = (0..len)
        .map(|j| synced.get(j).copied().unwrap_or(0))
        .collect();
    for (&i, &fate) in differing.iter().zip(&fates) {
        apply_fate(&mut out, i, fate, synced, current, rng);
    }
    out
}

/// The sectors whose synced and current contents differ.
fn differing_sectors(synced: &[u8], current: &[u8]) -> Vec<usize> {
    let span = synced.len().max(current.len());
    let sector = |bytes: &[u8], i: usize| -> Vec<u8> {
        let start = i * SECTOR_BYTES;
        let end = (start + SECTOR_BYTES).min(span);
        (start..end)
            .map(|j| bytes.get(j).copied().unwrap_or(0))
            .collect()
    };
    (0..span.div_ceil(SECTOR_BYTES))
        .filter(|&i| sector(synced, i) != sector(current, i))
        .collect()
}

/// Torn: a prefix of the differing sectors reached the disk, the next one may
/// be garbage. Chaos: each independently new, old or garbage.
fn fates(n: usize, mode: CrashMode, rng: &mut SplitMix64) -> Vec<Fate> {
    let mut fates = vec![Fate::Old; n];
    if mode == CrashMode::Torn {
        let cut = rng.below(n as u64 + 1) as usize;
        for fate in fates.iter_mut().take(cut) {
            *fate = Fate::New;
        }
        if cut < n && rng.chance(0.5) {
            fates[cut] = Fate::Garbage;
        }
        return fates;
    }
    for fate in fates.iter_mut() {
        *fate = match rng.below(3) {
            0 => Fate::New,
            1 => Fate::Old,
            _ => Fate::Garbage,
        };
    }
    fates
}

/// The file length after the crash: the new length when every change landed
/// (or, in chaos, by chance), else long enough for the sectors that changed.
fn crashed_len(
    synced: &[u8],
    current: &[u8],
    differing: &[usize],
    fates: &[Fate],
    mode: CrashMode,
    rng: &mut SplitMix64,
) -> usize {
    let all_new = fates.iter().all(|f| *f == Fate::New);
    if all_new || (mode == CrashMode::Chaos && rng.chance(0.5)) {
        return current.len();
    }
    let touched = differing
        .iter()
        .zip(fates)
        .filter(|(_, f)| **f != Fate::Old)
        .map(|(i, _)| ((i + 1) * SECTOR_BYTES).min(current.len()))
        .max()
        .unwrap_or(0);
    synced.len().max(touched)
}

/// Writes sector `i`'s fate into `out`.
fn apply_fate(
    out: &mut [u8],
    i: usize,
    fate: Fate,
    synced: &[u8],
    current: &[u8],
    rng: &mut SplitMix64,
) {
    let start = i * SECTOR_BYTES;
    if start >= out.len() {
        return;
    }
    let end = (start + SECTOR_BYTES).min(out.len());
    match fate {
        Fate::Old => {}
        Fate::New => {
            for (j, byte) in out[start..end].iter_mut().enumerate() {
                *byte = current.get(start + j).copied().unwrap_or(0);
            }
        }
        Fate::Garbage => {
            // A sector write in flight can garble what it was writing, not the
            // bytes of that sector that were already synced and unchanged.
            let mut noise = vec![0u8; end - start];
            rng.fill(&mut noise);
            for (j, byte) in out[start..end].iter_mut().enumerate() {
                let at = start + j;
                let settled = at < synced.len() && synced.get(at) == current.get(at);
                if !settled {
                    *byte = noise[j];
                }
            }
        }
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

impl Vfs for MemFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.state.lock().dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let state = self.state.lock();
        if !state.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(state
            .files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect())
    }

    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<Arc<dyn VFile>> {
        let mut state = self.state.lock();
        if let Some(parent) = path.parent()
            && !state.dirs.contains(parent)
        {
            return Err(not_found(parent));
        }
        let existing = state.files.get(path).cloned();
        let file = match (mode, existing) {
            (OpenMode::CreateNew, Some(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{}: exists", path.display()),
                ));
            }
            (OpenMode::CreateTruncate, Some(file)) => {
                let mut data = file.data.write();
                self.space.resize(data.len(), 0)?;
                data.clear();
                drop(data);
                file
            }
            (OpenMode::CreateNew | OpenMode::CreateTruncate, None) => {
                let file = Arc::new(MemFile::default());
                state.files.insert(path.to_path_buf(), file.clone());
                file
            }
            (OpenMode::ReadWrite | OpenMode::ReadOnly, Some(file)) => file,
            (OpenMode::ReadWrite | OpenMode::ReadOnly, None) => return Err(not_found(path)),
        };
        Ok(Arc::new(MemHandle {
            file,
            writable: mode != OpenMode::ReadOnly,
            space: self.space.clone(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let file = state.files.remove(from).ok_or_else(|| not_found(from))?;
        if let Some(replaced) = state.files.insert(to.to_path_buf(), file) {
            self.space.resize(replaced.data.read().len(), 0)?;
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let file = state.files.remove(path).ok_or_else(|| not_found(path))?;
        self.space.resize(file.data.read().len(), 0)
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.state.lock();
        state.files.contains_key(path) || state.dirs.contains(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let State {
            files,
            durable_names,
            ..
        } = &mut *state;
        durable_names.retain(|p, _| p.parent() != Some(dir));
        for (path, file) in files.iter() {
            if path.parent() == Some(dir) {
                durable_names.insert(path.clone(), file.clone());
            }
        }
        Ok(())
    }

    fn free_space(&self, _dir: &Path) -> io::Result<Option<u64>> {
        let capacity = self.space.capacity.load(Ordering::Acquire);
        Ok((capacity > 0).then(|| capacity.saturating_sub(self.used_bytes())))
    }

    fn try_lock(&self, dir: &Path) -> io::Result<Option<LockGuard>> {
        let mut state = self.state.lock();
        if !state.locks.insert(dir.to_path_buf()) {
            return Ok(None);
        }
        Ok(Some(Box::new(MemLock {
            state: self.state.clone(),
            dir: dir.to_path_buf(),
        })))
    }
}

struct MemLock {
    state: Arc<Mutex<State>>,
    dir: PathBuf,
}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.state.lock().locks.remove(&self.dir);
    }
}

struct MemHandle {
    file: Arc<MemFile>,
    writable: bool,
    space: Arc<Space>,
}

impl MemHandle {
    /// Resizes the file's bytes to `len`, if the disk has room.
    fn resize(&self, data: &mut Vec<u8>, len: usize) -> io::Result<()> {
        self.space.resize(data.len(), len)?;
        data.resize(len, 0);
        Ok(())
    }
}

impl MemHandle {
    fn check_writable(&self) -> io::Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "file opened read-only",
            ))
        }
    }
}

fn to_usize(n: u64) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))
}

impl VFile for MemHandle {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let data = self.file.data.read();
        let start = to_usize(offset)?;
        let end = start.checked_add(buf.len()).filter(|&e| e <= data.len());
        match end {
            Some(end) => {
                buf.copy_from_slice(&data[start..end]);
                Ok(())
            }
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end of file",
            )),
        }
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut data = self.file.data.write();
        let start = to_usize(offset)?;
        let end = start + buf.len();
        if data.len() < end {
            self.resize(&mut data, end)?;
        }
        data[start..end].copy_from_slice(buf);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let data = self.file.data.read();
        *self.file.synced.lock() = data.clone();
        Ok(())
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let mut data = self.file.data.write();
        let len = to_usize(len)?;
        if data.len() < len {
            self.resize(&mut data, len)?;
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check_writable()?;
        let len = to_usize(len)?;
        self.resize(&mut self.file.data.write(), len)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.file.data.read().len() as u64)
    }

    fn map(&self, len: u64) -> io::Result<Map> {
        let data = self.file.data.read();
        let len = to_usize(len)?.min(data.len());
        Ok(Map::of_bytes(data[..len].to_vec().into_boxed_slice()))
    }
}
