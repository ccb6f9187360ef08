//! `firstlog serve` as a process: the read token from the flag, the
//! environment or a file (an empty one refused at start), and the read commands
//! working beside the running server while writing ones are refused.

use crate::support::cli::{Server, command, fails, ok, store_with_sources};
use crate::support::http::{Reply, get, post_json};
use crate::support::ndjson;
use crate::support::store::temp;

const TOKEN: &str = "t0k3n";

fn refused(r: &Reply, status: u16, error: &str) {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.json()["error"], error, "{r:?}");
}

#[test]
fn the_read_token_comes_from_the_flag_the_environment_or_a_file() {
    let (tmp, dir) = temp();
    store_with_sources(&dir, &["Web App"]);
    {
        let mut server = Server::start(&dir, &[]);
        refused(
            &get(&server.url("/v1/stats"), Some("anything")),
            404,
            "reads_disabled",
        );
        assert!(server.stop().success());
    }
    {
        let mut server = Server::start(&dir, &["--read-token", TOKEN]);
        assert_eq!(get(&server.url("/v1/stats"), Some(TOKEN)).status, 200);
        assert!(server.stop().success());
    }
    {
        let mut cmd = command(&dir, &["serve", "--addr", "127.0.0.1:0"]);
        cmd.env("FIRSTLOG_READ_TOKEN", "from-env");
        let mut server = Server::start_with(cmd, &[]);
        assert_eq!(get(&server.url("/v1/stats"), Some("from-env")).status, 200);
        refused(
            &get(&server.url("/v1/stats"), Some(TOKEN)),
            403,
            "wrong_read_token",
        );
        assert!(server.stop().success());
    }
    {
        let file = tmp.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut server = Server::start(&dir, &["--read-token-file", file.to_str().unwrap()]);
        assert_eq!(get(&server.url("/v1/stats"), Some("from-file")).status, 200);
        assert!(server.stop().success());
    }
    // An empty token file is refused at start.
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let out = crate::support::cli::run(
        &dir,
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--read-token-file",
            empty.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        crate::support::cli::describe(&out)
    );
}

#[test]
fn read_commands_work_beside_a_running_server() {
    let (_tmp, dir) = temp();
    let sources = store_with_sources(&dir, &["www Marketing Page"]);
    let mut server = Server::start(&dir, &["--read-token", TOKEN]);
    for i in 0..5 {
        let json = format!(
            r#"{{"event":"Page Viewed","write_key":"{}","properties":{{"i":{i}}}}}"#,
            sources[0].1
        );
        assert_eq!(post_json(&server.url("/events/track"), &json).status, 200);
    }
    // The read commands open the store read-only (no lock) and see what was
    // committed; writing ones are refused with a hint.
    let listed = ndjson(&ok(&dir, &["query", "--source", "1"]));
    assert_eq!(listed.len(), 5);
    let stats: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["stats", "--format", "ndjson"])).unwrap();
    assert_eq!(stats["events"], 5);
    let refused = fails(&dir, &["collect", "-"]);
    assert!(
        refused.contains("locked") && refused.contains("serve"),
        "{refused}"
    );
    assert!(server.stop().success(), "{}", server.stderr());
}
