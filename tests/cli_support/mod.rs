//! Shared helpers of the `cli_*` and `server_*` tests: run the built `firstlog`
//! binary, start `firstlog serve` on a free loopback port, and speak HTTP to it.

#![allow(
    dead_code,
    reason = "each test file uses a different part of this module"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_firstlog")
}

/// A `firstlog --data DIR ...` command with a clean environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.env_remove("FIRSTLOG_DATA")
        .env_remove("FIRSTLOG_READ_TOKEN")
        .arg("--data")
        .arg(dir)
        .args(args);
    cmd
}

/// Runs `firstlog --data DIR ARGS`, with `stdin` as input.
pub fn run_with_input(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = command(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn firstlog");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for firstlog");
    writer.join().expect("stdin writer");
    out
}

/// Runs `firstlog --data DIR ARGS`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_input(dir, args, b"")
}

/// Runs and asserts success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "firstlog {args:?} failed: {}",
        describe(&out)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

/// Runs and asserts failure with exit status 1; returns stdout + stderr.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "firstlog {args:?}: {}",
        describe(&out)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Status, stdout and stderr, for failure messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Creates a store with the named sources; returns (id, write key) of each.
pub fn store_with_sources(dir: &Path, names: &[&str]) -> Vec<(u32, String)> {
    ok(dir, &["init"]);
    names
        .iter()
        .map(|name| {
            let out = ok(dir, &["source", "create", name]);
            let json: serde_json::Value = serde_json::from_str(&out).expect("source JSON");
            (
                json["id"].as_u64().expect("id") as u32,
                json["write_key"].as_str().expect("write_key").to_owned(),
            )
        })
        .collect()
}

/// Parses NDJSON output.
pub fn ndjson(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// A running `firstlog serve`, stopped (killed) on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `firstlog --data DIR serve --addr 127.0.0.1:0 EXTRA...`.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Self::start_with(command(dir, &["serve", "--addr", "127.0.0.1:0"]), extra)
    }

    /// Starts the given serve command with more arguments.
    pub fn start_with(mut cmd: Command, extra: &[&str]) -> Server {
        let mut child = cmd
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn firstlog serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().expect("stderr lock").push_str(&text);
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_default();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not start: first line {line:?}; stderr: {}",
                stderr.lock().expect("stderr lock")
            );
        };
        Server {
            base: base.to_owned(),
            child,
            stderr,
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM with `kill -TERM PID`.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits (at most 60 s) for the process to exit; returns its status.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the stderr reader finish.
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait.
    pub fn stop(&mut self) -> ExitStatus {
        self.sigterm();
        self.wait()
    }

    /// What the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {self:?}"))
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn reply(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut resp = resp.expect("HTTP request");
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_string()
        .expect("read body");
    Reply {
        status,
        body,
        headers,
    }
}

/// POSTs `body` with the given headers.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = agent().post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    reply(req.send(body))
}

/// POSTs a JSON body; `None` when the connection fails (refused, reset).
pub fn try_post_json(url: &str, body: &str) -> Option<Reply> {
    let resp = agent()
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .ok()?;
    let mut resp = resp;
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_string().ok()?;
    Some(Reply {
        status,
        body,
        headers: Vec::new(),
    })
}

/// POSTs a JSON body.
pub fn post_json(url: &str, body: &str) -> Reply {
    post(
        url,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// GETs `url`, with a read token when given.
pub fn get(url: &str, token: Option<&str>) -> Reply {
    let mut req = agent().get(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    reply(req.call())
}

/// Every event of `source` through the read API, page by page (`page` per
/// request), following the cursor line.
pub fn read_all(server: &Server, token: &str, source: u32, page: usize) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut url = server.url(&format!("/v1/sources/{source}/events?limit={page}"));
        if let Some(a) = after {
            url.push_str(&format!("&after={a}"));
        }
        let r = get(&url, Some(token));
        assert_eq!(r.status, 200, "{r:?}");
        let mut lines = ndjson(&r.body);
        let tail = lines.pop().expect("cursor line");
        assert!(
            tail.get("next_cursor").is_some(),
            "last line is the cursor: {tail}"
        );
        assert_eq!(tail["count"].as_u64(), Some(lines.len() as u64));
        events.extend(lines);
        match tail["next_cursor"].as_u64() {
            Some(c) => after = Some(c),
            None => return events,
        }
    }
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip");
    enc.finish().expect("gzip")
}

/// `Basic base64(user:)`.
pub fn basic(user: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:"))
    )
}

/// A temporary directory for a store.
pub fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store");
    (dir, path)
}
