//! `serve`: runs the library's HTTP collector ([`firstlog::http`]) on a tokio
//! runtime. Prints `listening on http://ADDR` as the first line of standard
//! output. On SIGINT or SIGTERM it stops accepting, finishes the requests in
//! flight, then syncs and closes the store.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use firstlog::Store;
use firstlog::http::{self, HttpConfig};

use crate::ServeArgs;
use crate::common::{self, CmdResult, Failure};
use crate::export;

fn read_token(args: &ServeArgs) -> Result<Option<String>, Failure> {
    let token = match (&args.read_token, &args.read_token_file) {
        (Some(t), _) => Some(t.trim().to_owned()),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
            Some(text.lines().next().unwrap_or("").trim().to_owned())
        }
        (None, None) => None,
    };
    match token {
        Some(t) if t.is_empty() => Err(Failure("the read token is empty".into())),
        other => Ok(other),
    }
}

fn config(args: &ServeArgs) -> Result<HttpConfig, Failure> {
    let secs = |n: u64| Duration::from_secs(n.max(1));
    let mut config = HttpConfig::default()
        .request_timeout(secs(args.request_timeout_secs))
        .header_read_timeout(secs(args.header_read_timeout_secs))
        .idle_timeout(secs(args.idle_timeout_secs))
        .write_timeout(secs(args.write_timeout_secs))
        .max_connections(args.max_connections)
        .max_concurrent_reads(args.max_concurrent_reads)
        .trust_proxy(args.trust_proxy)
        .store_client_ip(!args.no_client_ip)
        .path_prefix(args.path_prefix.as_str());
    if let Some(token) = read_token(args)? {
        config = config.read_token(token);
    }
    if let Some(origin) = &args.read_cors_origin {
        config = config.read_cors_origin(origin.trim_end_matches('/'));
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))
        };
        let tls = http::tls_config_from_pem(&read(cert)?, &read(key)?)
            .map_err(|e| Failure(format!("--tls-cert/--tls-key: {e}")))?;
        config = config.tls(tls);
    }
    Ok(config)
}

/// Descriptors the process needs beyond its connections (store files, the
/// listener, the health-only overflow connections).
const DESCRIPTORS_SPARE: u64 = 256;

/// Raises the soft limit on open files up to what `max_connections` needs (as
/// far as the hard limit allows); warns when it stays short.
fn ensure_descriptors(max_connections: usize) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let needed = max_connections as u64 + DESCRIPTORS_SPARE;
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= needed {
        return;
    }
    let raised = limit.maximum.map_or(needed, |hard| hard.min(needed));
    let set = Rlimit {
        current: Some(raised),
        maximum: limit.maximum,
    };
    if raised > soft && setrlimit(Resource::Nofile, set).is_ok() && raised >= needed {
        return;
    }
    eprintln!(
        "firstlog serve: warning: the open-file limit ({}) is below --max-connections + \
         {DESCRIPTORS_SPARE} ({needed}); raise it (ulimit -n) or lower --max-connections",
        raised.max(soft)
    );
}

/// `serve`.
pub fn run(dir: &Path, args: ServeArgs) -> CmdResult {
    let store = Store::open_with(dir, common::write_options(&args.write)?)?;
    serve_store(store, dir, &args, None)
}

/// Serves the open `store` (kept in `dir`) as `args` say until SIGINT or
/// SIGTERM, then syncs and closes it. `demo`: the read token to print with the
/// console's address (`demo --serve` generated it).
pub fn serve_store(store: Store, dir: &Path, args: &ServeArgs, demo: Option<&str>) -> CmdResult {
    let config = config(args)?;
    ensure_descriptors(args.max_connections);
    let reads_on = read_token(args)?.is_some();
    let exporting =
        export::start_for_serve(&store, args.export_dir.as_deref(), &args.export_every)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the runtime: {e}")))?;
    let grace = Duration::from_secs(args.shutdown_timeout_secs);
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .map_err(|e| Failure(format!("cannot listen on {}: {e}", args.addr)))?;
        announce(&listener, dir, reads_on, args, demo)?;
        match http::serve(listener, store.clone(), config, shutdown_signal(), grace).await {
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                eprintln!("firstlog serve: {e}; closing anyway");
                Ok(())
            }
            other => other.map_err(|e| Failure(format!("the server failed: {e}"))),
        }
    });
    // Requests abandoned by a timeout may still be collecting: let them finish.
    runtime.shutdown_timeout(Duration::from_secs(10));
    if let Some(exporting) = exporting {
        exporting.stop();
    }
    let synced = store.sync().and_then(|()| store.close());
    let stats = store.stats();
    served?;
    synced?;
    eprintln!(
        "firstlog serve: stopped; {} events stored this run, last seq {}, synced",
        stats.accepted, stats.last_seq
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints the address (first line of stdout), the tracker's URL and what is
/// on; for the demo, the console's address and read token on stdout.
fn announce(
    listener: &tokio::net::TcpListener,
    dir: &Path,
    reads_on: bool,
    args: &ServeArgs,
    demo: Option<&str>,
) -> Result<(), Failure> {
    let local = listener.local_addr()?;
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let base = format!("{scheme}://{local}");
    let prefix = args.path_prefix.trim_end_matches('/');
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {base}")?;
    if let Some(token) = demo {
        writeln!(
            stdout,
            "\nThe console: open {base}{prefix}/ and log in with the read token\n  \
             {token}\n(API: curl -H 'Authorization: Bearer {token}' {base}{prefix}/v1/sources)\n\
             Stop with Ctrl-C; the store stays in {dir}, serve it again with\n  \
             firstlog --data {dir} serve --read-token {token}",
            dir = dir.display()
        )?;
    }
    stdout.flush()?;
    eprintln!(
        "firstlog serve: tracker {base}{prefix}/js/firstparty.min.js (the snippet for a site: \
         firstlog source snippet ID --host {base}{})",
        if prefix.is_empty() {
            String::new()
        } else {
            format!(" --path-prefix {prefix}")
        }
    );
    eprintln!(
        "firstlog serve: store {}; read endpoints and console {}; stop with Ctrl-C or SIGTERM",
        dir.display(),
        if reads_on {
            format!("on (Bearer token; console at {base}{prefix}/)")
        } else {
            "off (no --read-token)".to_owned()
        }
    );
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, saying which.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let name = match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    };
    eprintln!("firstlog serve: {name}: finishing requests in flight");
}
