//! `firstlog serve --export-dir DIR --export-every 1s` exports what it
//! collects while it serves, and `firstlog export --follow` beside it (into
//! another directory) does the same from outside the server's process.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::duck::{self};
use crate::support::cli::{self, Server};

#[test]
fn serve_and_export_follow_export_what_is_collected() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = tmp.path().join("store");
    let sources = cli::store_with_sources(&store, &["Web"]);
    let out = tmp.path().join("out");
    let beside = tmp.path().join("beside");
    let mut server = Server::start(
        &store,
        &[
            "--export-dir",
            out.to_str().unwrap_or(""),
            "--export-every",
            "1s",
            "--durability",
            "sync",
        ],
    );
    let mut follower = cli::command(
        &store,
        &[
            "export",
            "--follow",
            "--every",
            "1s",
            "--out",
            beside.to_str().unwrap_or(""),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn export --follow");
    let agent = ureq::Agent::new_with_defaults();
    for i in 0..30 {
        let body = format!(
            "{{\"event\": \"Page Viewed\", \"write_key\": \"{}\", \"properties\": {{\"i\": {i}}}}}",
            sources[0].1
        );
        agent
            .post(&server.url("/events/track"))
            .header("Content-Type", "application/json")
            .send(body.as_str())
            .expect("collect over HTTP");
    }
    let count = |dir: &std::path::Path| -> i64 {
        if !has_parquet(dir) {
            return 0;
        }
        let glob = format!("{}/**/*.parquet", dir.display());
        duck::scalar(
            tmp.path(),
            &format!("SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)"),
        )
        .unwrap_or(30)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while (count(&out) < 30 || count(&beside) < 30) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = follower.kill();
    let _ = follower.wait();
    assert!(server.stop().success(), "{}", server.stderr());
    assert_eq!(
        count(&out),
        30,
        "serve exported every event: {}",
        server.stderr()
    );
    assert_eq!(
        count(&beside),
        30,
        "export --follow beside serve exported every event"
    );
}

/// True when a `.parquet` file is anywhere below `dir`.
fn has_parquet(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        path.extension().is_some_and(|x| x == "parquet") || (path.is_dir() && has_parquet(&path))
    })
}
