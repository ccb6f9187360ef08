//! The `firstlog` command: create and inspect a store, collect NDJSON, query it,
//! run the HTTP collector, and the demo. Argument parsing lives here; every
//! command is a small module that calls the library.

mod collect;
mod common;
mod demo;
mod inspect;
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
mod tally;

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
    Init,
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
}

#[derive(Args)]
struct DemoArgs {
    /// How many payloads to generate.
    #[arg(long, default_value_t = 300_000)]
    events: u64,
    /// The generator's seed (the same seed gives the same stream).
    #[arg(long, default_value_t = 2024)]
    seed: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let data = cli.data;
    let result = match cli.command {
        Command::Init => source::init(&common::data_dir(data)),
        Command::Source(cmd) => source::run(&common::data_dir(data), cmd),
        Command::Collect(args) => collect::run(&common::data_dir(data), &args),
        Command::Query(args) => query::run_query(&common::data_dir(data), &args),
        Command::Counts(args) => query::run_counts(&common::data_dir(data), &args),
        Command::Stats(args) => inspect::stats(&common::data_dir(data), args.format),
        Command::Verify => inspect::verify(&common::data_dir(data)),
        Command::Rules(RulesCommand::Check { file }) => inspect::rules_check(&file),
        Command::Serve(args) => serve::run(&common::data_dir(data), args),
        Command::Demo(args) => demo::run(data, &args),
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("firstlog: error: {message}");
            ExitCode::FAILURE
        }
    }
}
