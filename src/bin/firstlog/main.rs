//! The `firstlog` command: create and inspect a store, collect NDJSON, query it,
//! run the HTTP collector, and the demo. Argument parsing lives here; every
//! command is a small module that calls the library.

mod collect;
mod common;
mod demo;
mod export;
mod inspect;
mod lifecycle;
mod output;
mod query;
#[allow(
    dead_code,
    reason = "shared with the library's test file systems; the demo uses a subset"
)]
#[path = "../../rng.rs"]
mod rng;
mod serve;
mod source;
mod tail;
mod tally;
mod units;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use common::{DurabilityArg, Failure};

/// firstlog: an embedded store for first-party analytics events.
#[derive(Parser)]
#[command(name = "firstlog", version, propagate_version = true)]
#[command(
    about = "firstlog: store, query and collect first-party analytics events",
    after_help = "Start with `firstlog demo`. Exit status: 0 ok, 1 failure (or problems found by \
                  `verify`), 2 usage error."
)]
struct Cli {
    /// The store directory [default: ./firstlog-data; `demo`: a fresh temporary directory].
    #[arg(long, global = true, env = "FIRSTLOG_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the store directory (if needed) and prints what it holds.
    Init(InitArgs),
    /// Manages sources and their write keys.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Collects newline-delimited JSON payloads (the Firstparty shape, one per line).
    Collect(CollectArgs),
    /// Prints the events of one source.
    Query(QueryArgs),
    /// Counts the events of one source by name, hour or day.
    Counts(CountsArgs),
    /// Prints the store's statistics.
    Stats(FormatArgs),
    /// Checks every record, index file and the catalog; exits 1 on damage.
    Verify,
    /// Works with declarative rules files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Runs the HTTP collector (Firstparty and Segment-compatible endpoints).
    Serve(ServeArgs),
    /// Generates and collects a realistic event stream, then shows what was stored.
    Demo(DemoArgs),
    /// Shows, sets or applies the retention policy (how long events are kept).
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Erases every event of a profile (and its anonymous ids) from every file;
    /// waits until done and prints the request as JSON.
    Erase(EraseArgs),
    /// Lists the erasure requests.
    Erasures(FormatArgs),
    /// Stops storing a profile's new events (they are answered as suppressed).
    Suppress(ProfileArgs),
    /// Writes the events as Parquet files partitioned source_id=N/date=YYYY-MM-DD/
    /// (for DuckDB, Spark, Trino); incremental: each run adds what is new.
    Export(ExportArgs),
    /// Prints every source's events in log order as NDJSON (for brokers:
    /// `firstlog tail --follow --consumer kafka | kcat -P -t events`).
    Tail(TailArgs),
    /// Lifts a profile's suppression.
    Unsuppress {
        /// The profile id.
        #[arg(long)]
        profile: String,
    },
}

#[derive(Args)]
struct InitArgs {
    /// The store's segment size in MiB (1 to 1024; default 64). Small segments
    /// suit small devices, tests, and retention that deletes in small steps.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    segment_mib: Option<u64>,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Prints the policy, the log start, and the bytes by age.
    Show(FormatArgs),
    /// Changes the policy (store-wide, or one source's --max-age).
    Set(RetentionSetArgs),
    /// Applies the policy now (and finishes pending erasures); prints what it did.
    Apply,
}

#[derive(Args)]
struct RetentionSetArgs {
    /// Delete events received longer ago than this (30d, 12h, 2w; `none` to clear).
    #[arg(long, value_name = "AGE")]
    max_age: Option<String>,
    /// Delete the oldest segments while the store is larger (10GiB, 500MB; `none`).
    #[arg(long, value_name = "SIZE")]
    max_bytes: Option<String>,
    /// Seal the active segment once its oldest event is this old (default 1d).
    #[arg(long, value_name = "AGE")]
    roll_interval: Option<String>,
    /// Set this source's own --max-age instead of the store's.
    #[arg(long, value_name = "ID")]
    source: Option<u32>,
}

#[derive(Args)]
struct EraseArgs {
    /// The profile id to erase.
    #[arg(long)]
    profile: String,
    /// Only in this source (repeat for several; default: every source).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<u32>,
    /// Also suppress the profile's new events.
    #[arg(long)]
    suppress: bool,
}

#[derive(Args)]
struct ProfileArgs {
    /// The profile id.
    #[arg(long)]
    profile: String,
    /// Only in this source (repeat for several; default: every source).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<u32>,
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Creates a source; prints its id and write key as JSON.
    Create {
        /// The display name ("Help Desk").
        name: String,
    },
    /// Lists the sources.
    List(FormatArgs),
    /// Gives a source a new write key; the old one stops working at once.
    RotateKey {
        /// The source id.
        id: u32,
    },
    /// Stops collection for a source (its events stay readable).
    Disable {
        /// The source id.
        id: u32,
    },
    /// Resumes collection for a source.
    Enable {
        /// The source id.
        id: u32,
    },
    /// Sets the web origins whose pages may send to a source (none: any origin).
    SetOrigins {
        /// The source id.
        id: u32,
        /// Origins as browsers send them: `https://www.example.com` (scheme, host, port).
        origins: Vec<String>,
    },
    /// Prints the HTML snippet that loads the firstparty.js tracker for a source.
    Snippet {
        /// The source id.
        id: u32,
        /// The collector's public origin, as the site's visitors reach it.
        #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
        host: String,
        /// The collector's `serve --path-prefix`, if any.
        #[arg(long, default_value = "", value_name = "PREFIX")]
        path_prefix: String,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validates a rules file (JSON, or TOML when it ends in .toml).
    Check {
        /// The rules file.
        file: PathBuf,
    },
}

/// Options of commands that write.
#[derive(Args, Clone)]
struct WriteArgs {
    /// Declarative rules to run on every collected event (JSON or .toml).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// When collected events reach stable storage.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Interval)]
    durability: DurabilityArg,
    /// The sync interval of `--durability interval`, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    sync_interval_ms: u64,
}

#[derive(Args)]
struct CollectArgs {
    /// The NDJSON file to read; `-` (the default) reads standard input.
    #[arg(default_value = "-")]
    file: String,
    #[command(flatten)]
    write: WriteArgs,
    /// Prints the summary as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// One JSON object per line.
    Ndjson,
    /// An aligned text table.
    Table,
}

#[derive(Args)]
struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
struct QueryArgs {
    /// The source id.
    #[arg(long)]
    source: u32,
    /// Only events at or after this time (RFC 3339, a date, or epoch milliseconds).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only events before this time (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Only events with this name (repeat for several).
    #[arg(long = "name", value_name = "N")]
    names: Vec<String>,
    /// Only events of this profile.
    #[arg(long, value_name = "P")]
    profile: Option<String>,
    /// Resume after this sequence number (the last one of the previous page).
    #[arg(long, value_name = "SEQ")]
    after: Option<u64>,
    /// At most this many events.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Newest first.
    #[arg(long)]
    desc: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    format: Format,
}

/// Grouping of `counts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum By {
    /// Per event name.
    Name,
    /// Per hour (UTC).
    Hour,
    /// Per day (UTC).
    Day,
}

#[derive(Args)]
struct CountsArgs {
    /// The source id.
    #[arg(long)]
    source: u32,
    /// How to group.
    #[arg(long, value_enum)]
    by: By,
    /// Only events at or after this time (RFC 3339, a date, or epoch milliseconds).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only events before this time (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Only events with this name (repeat for several).
    #[arg(long = "name", value_name = "N")]
    names: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
struct ServeArgs {
    /// The address to listen on (port 0 picks a free port; the bound address is
    /// printed on the first line of standard output).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    #[command(flatten)]
    write: WriteArgs,
    /// The secret that read endpoints require (`Authorization: Bearer TOKEN`).
    /// Without a token the read endpoints are off.
    #[arg(
        long,
        env = "FIRSTLOG_READ_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    read_token: Option<String>,
    /// Reads the read token from a file (first line).
    #[arg(long, value_name = "FILE", conflicts_with = "read_token")]
    read_token_file: Option<PathBuf>,
    /// Seconds a request may take (reading its body included) before it gets 503.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    request_timeout_secs: u64,
    /// Seconds to wait for in-flight requests after SIGINT/SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    shutdown_timeout_secs: u64,
    /// Seconds a client may take to send a request's headers (from its first byte).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    header_read_timeout_secs: u64,
    /// Seconds a connection may wait for its next request before it is closed.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    idle_timeout_secs: u64,
    /// Seconds a response may wait for a client that does not read it.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    write_timeout_secs: u64,
    /// Connections served at once; past it only /healthz and /readyz answer (503 otherwise).
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Read requests (events, counts, stats) running at once; more wait.
    #[arg(long, default_value_t = 8, value_name = "N")]
    max_concurrent_reads: usize,
    /// The one web origin whose pages may call the read endpoints (CORS).
    #[arg(long, value_name = "ORIGIN")]
    read_cors_origin: Option<String>,
    /// Behind a reverse proxy: client IP from X-Forwarded-For, scheme and host
    /// from X-Forwarded-Proto and X-Forwarded-Host.
    #[arg(long)]
    trust_proxy: bool,
    /// Do not store the client's IP in context.ip (privacy).
    #[arg(long)]
    no_client_ip: bool,
    /// A path in front of every route (`/fp`), since ad blockers match /track and /events.
    #[arg(long, default_value = "", value_name = "PREFIX")]
    path_prefix: String,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Export the events as Parquet into this directory while serving (as `export`).
    #[arg(long, value_name = "DIR")]
    export_dir: Option<PathBuf>,
    /// How often --export-dir exports (45s, 5m, 1h).
    #[arg(long, default_value = "5m", value_name = "INTERVAL")]
    export_every: String,
}

#[derive(Args)]
struct ExportArgs {
    /// The export directory (shared by several stores: file names carry the store id).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Only this source (repeat for several). A directory keeps its first run's selection.
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<u32>,
    /// Only events at or after this time (RFC 3339, a date, or epoch milliseconds).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only events before this time (exclusive).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Keep running: export again every --every until stopped (Ctrl-C is safe).
    #[arg(long)]
    follow: bool,
    /// The interval of --follow (45s, 5m, 1h).
    #[arg(long, default_value = "5m", value_name = "INTERVAL")]
    every: String,
    /// At most this many rows per file (row groups hold 131072).
    #[arg(long, default_value_t = 1 << 20, value_name = "N")]
    rows_per_file: u64,
    /// Merge a day's small files into fewer once the day has been over this
    /// long (late events still land; a later run merges them too), or `never`.
    #[arg(long, default_value = "1d", value_name = "INTERVAL")]
    merge_after: String,
}

#[derive(Args)]
struct TailArgs {
    /// Start at this sequence number (default: the consumer's offset, else the log start).
    #[arg(long, value_name = "SEQ")]
    from: Option<u64>,
    /// Keep running and print new events as they are committed.
    #[arg(long)]
    follow: bool,
    /// Only this source (repeat for several).
    #[arg(long = "source", value_name = "ID")]
    sources: Vec<u32>,
    /// Resume from, and commit to, this consumer's offset kept in the store
    /// (committed after the output is flushed: at least once across restarts).
    #[arg(long, value_name = "NAME")]
    consumer: Option<String>,
    /// With --follow, the longest wait before looking for new events even when
    /// no change was signalled.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    poll_ms: u64,
}

#[derive(Args)]
struct DemoArgs {
    /// How many payloads to generate.
    #[arg(long, default_value_t = 300_000)]
    events: u64,
    /// The generator's seed (the same seed gives the same stream).
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    /// Then serve the store with the web console and a generated read token
    /// (printed with the address to open) until Ctrl-C.
    #[arg(long)]
    serve: bool,
    /// The address of --serve (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    addr: String,
}

/// `serve`'s options on their own, for `demo --serve` (the defaults of `serve`).
#[derive(Parser)]
struct ServeOnly {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data = cli.data;
    let result = match cli.command {
        Command::Init(args) => source::init(&common::data_dir(data), args.segment_mib),
        Command::Source(cmd) => source::run(&common::data_dir(data), cmd),
        Command::Collect(args) => collect::run(&common::data_dir(data), &args),
        Command::Query(args) => query::run_query(&common::data_dir(data), &args),
        Command::Counts(args) => query::run_counts(&common::data_dir(data), &args),
        Command::Stats(args) => inspect::stats(&common::data_dir(data), args.format),
        Command::Verify => inspect::verify(&common::data_dir(data)),
        Command::Rules(RulesCommand::Check { file }) => inspect::rules_check(&file),
        Command::Serve(args) => serve::run(&common::data_dir(data), args),
        Command::Demo(args) => demo::run(data, &args),
        Command::Retention(cmd) => lifecycle::retention(&common::data_dir(data), cmd),
        Command::Erase(args) => lifecycle::erase(&common::data_dir(data), &args),
        Command::Erasures(args) => lifecycle::erasures(&common::data_dir(data), args.format),
        Command::Suppress(args) => lifecycle::suppress(&common::data_dir(data), &args),
        Command::Export(args) => export::run(&common::data_dir(data), &args),
        Command::Tail(args) => tail::run(&common::data_dir(data), &args),
        Command::Unsuppress { profile } => lifecycle::unsuppress(&common::data_dir(data), &profile),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("firstlog: error: {message}");
            ExitCode::FAILURE
        }
    }
}
