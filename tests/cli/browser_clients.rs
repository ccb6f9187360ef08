//! The browser and SDK tests of `tests/browser` (firstparty.js and
//! @segment/analytics-next in headless Chromium, @rudderstack/rudder-sdk-node in
//! Node, the web console in headless Chromium against `demo --serve`) against
//! this build's `firstlog serve`: `node tests/browser/run.mjs`
//! with `FIRSTLOG_BIN` set to the binary under test. Missing node modules are
//! installed (`npm ci`); a missing Chromium or Node fails the test with how to
//! install it, unless `FIRSTLOG_SKIP_BROWSER=1` says to skip on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole run takes about two minutes; this bounds a stuck one.
const RUN_LIMIT: Duration = Duration::from_secs(10 * 60);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

fn have_node() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn browser_and_sdk_clients_store_every_event_once() {
    if std::env::var("FIRSTLOG_SKIP_BROWSER").is_ok_and(|v| v == "1") {
        eprintln!("FIRSTLOG_SKIP_BROWSER=1: the browser and SDK tests are skipped");
        return;
    }
    assert!(
        have_node(),
        "node is missing: install Node.js 20+ (apt-get install -y nodejs npm), or set \
         FIRSTLOG_SKIP_BROWSER=1 to skip the browser tests"
    );
    assert!(
        chromium().exists(),
        "Chromium is missing at {}: install it (apt-get install -y chromium) or point \
         CHROMIUM_BIN at one, or set FIRSTLOG_SKIP_BROWSER=1 to skip the browser tests",
        chromium().display()
    );
    let dir = browser_dir();
    if !dir.join("node_modules/playwright-core").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("run npm ci");
        assert!(status.success(), "npm ci in tests/browser failed");
    }
    let mut child = Command::new("node")
        .arg("run.mjs")
        .current_dir(&dir)
        .env("FIRSTLOG_BIN", env!("CARGO_BIN_EXE_firstlog"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node run.mjs");
    let output = std::thread::spawn({
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        move || {
            use std::io::Read;
            let (mut out, mut err) = (String::new(), String::new());
            let errors = std::thread::spawn(move || {
                let mut stderr = stderr;
                let _ = stderr.read_to_string(&mut err);
                err
            });
            let mut stdout = stdout;
            let _ = stdout.read_to_string(&mut out);
            out + &errors.join().unwrap_or_default()
        }
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let text = output.join().unwrap_or_default();
    let summary = text.rsplit("== summary").next().unwrap_or("");
    eprintln!("tests/browser summary:{summary}");
    assert!(
        status.is_some_and(|s| s.success()),
        "tests/browser failed ({status:?}):\n{text}"
    );
}
