//! The built `firstlog` binary: run commands, and start `firstlog serve` on a
//! free loopback port.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
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
