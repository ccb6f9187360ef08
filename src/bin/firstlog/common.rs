//! What every command shares: the data directory, opening the store with the
//! command's options, the failure type, and argument parsing helpers.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::ValueEnum;
use firstlog::{Durability, Error, Options, SourceId, Store};

use crate::WriteArgs;

/// The data directory used when `--data` is not given.
pub const DEFAULT_DATA_DIR: &str = "./firstlog-data";

/// A command failed: the message is printed after `firstlog: error:`.
#[derive(Debug)]
pub struct Failure(pub String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let hint = match &e {
            Error::Locked { .. } => {
                " (is `firstlog serve` running on it? Stop it first; `query`, `counts`, \
                 `stats` and `source list` work beside it)"
            }
            Error::Corrupt { .. } => " (run `firstlog verify` for a full report)",
            _ => "",
        };
        Failure(format!("{e}{hint}"))
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure(s)
    }
}

/// The outcome of a command.
pub type CmdResult = Result<std::process::ExitCode, Failure>;

/// The data directory: `--data`, else the default.
pub fn data_dir(data: Option<PathBuf>) -> PathBuf {
    data.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

/// `--durability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// Page cache only; synced on roll, sync and close.
    Buffered,
    /// A background sync every `--sync-interval-ms` (the default).
    Interval,
    /// Every acknowledgement waits for fdatasync (group commit).
    Sync,
}

/// Options for a store opened by a command that writes.
pub fn write_options(args: &WriteArgs) -> Result<Options, Failure> {
    let durability = match args.durability {
        DurabilityArg::Buffered => Durability::Buffered,
        DurabilityArg::Interval => {
            Durability::Interval(Duration::from_millis(args.sync_interval_ms.max(1)))
        }
        DurabilityArg::Sync => Durability::Sync,
    };
    let mut options = Options::default().durability(durability);
    if let Some(path) = &args.rules {
        let rules = firstlog::load_rules_file(path)
            .map_err(|e| Failure(format!("rules file {}: {e}", path.display())))?;
        for (scope, rule) in rules {
            options = options.rule(scope, rule);
        }
    }
    Ok(options)
}

/// Opens the store in `dir` with default options (commands that only read or
/// manage sources).
pub fn open(dir: &Path) -> Result<Store, Failure> {
    Ok(Store::open(dir)?)
}

/// Opens an existing store: refuses to create one where none is (a typo in
/// `--data` should not silently create an empty store).
pub fn open_existing(dir: &Path) -> Result<Store, Failure> {
    open_existing_with(dir, Options::default())
}

/// As [`open_existing`], with options.
pub fn open_existing_with(dir: &Path, options: Options) -> Result<Store, Failure> {
    require_store(dir)?;
    Ok(Store::open_with(dir, options)?)
}

/// Opens an existing store for reading only: no lock taken, nothing written, so
/// it works beside a running `firstlog serve` (seeing what was committed when it
/// was opened).
pub fn open_reader(dir: &Path) -> Result<Store, Failure> {
    require_store(dir)?;
    Ok(Store::open_read_only(dir)?)
}

fn require_store(dir: &Path) -> Result<(), Failure> {
    if Store::exists(dir) {
        return Ok(());
    }
    Err(Failure(format!(
        "no firstlog store in {} (create one with `firstlog --data {} init`)",
        dir.display(),
        shell_quote(&dir.display().to_string())
    )))
}

/// The source with id `id`, or a failure naming it.
pub fn source_id(store: &Store, id: u32) -> Result<SourceId, Failure> {
    let id = SourceId(id);
    match store.source(id) {
        Some(_) => Ok(id),
        None => Err(Failure(format!(
            "no source with id {id} (see `firstlog source list`)"
        ))),
    }
}

/// Parses an optional time argument named `flag`.
pub fn parse_time_arg(flag: &str, text: Option<&str>) -> Result<Option<i64>, Failure> {
    text.map(|t| firstlog::parse_time(t).map_err(|e| Failure(format!("--{flag} {e}"))))
        .transpose()
}

/// Quotes `s` for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `write` on a buffered, locked stdout; a closed pipe (`| head`) ends the
/// output quietly instead of failing.
pub fn with_stdout(
    write: impl FnOnce(&mut dyn io::Write) -> io::Result<()>,
) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 << 10, stdout.lock());
    let result = write(&mut out).and_then(|()| io::Write::flush(&mut out));
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure(format!("cannot write the output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/tmp/a-b"), "/tmp/a-b");
        assert_eq!(shell_quote("Page Viewed"), "'Page Viewed'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
