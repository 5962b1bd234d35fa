#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
//! `fw-api` run as a user runs it (the binary cargo built for this test, `CARGO_BIN_EXE_fw-api`)
//! against a small HTTP server on 127.0.0.1:0 that records what it receives.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use fw_transport::credentials_path;
use serde_json::{Value, json};

/// The URI and `Authorization` header of one request.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    authorization: Option<String>,
}

/// Answers 404 for `/api/projects/missing*` and otherwise echoes the body and URI as JSON.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start() -> Server {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let log = log.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let uri = parts.uri.to_string();
                log.lock().unwrap().push(Seen {
                    uri: uri.clone(),
                    authorization: parts
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                });
                if uri.starts_with("/api/projects/missing") {
                    let error =
                        json!({"message": "project 'missing' not found", "status_code": 404});
                    (StatusCode::NOT_FOUND, axum::Json(error)).into_response()
                } else {
                    let echo = json!({"echo": String::from_utf8_lossy(&body), "uri": uri});
                    axum::Json(echo).into_response()
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { port, seen }
    }

    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

/// Runs fw-api with `HOME` set to `home` and `FW_API_KEY` set to `key` (or unset).
fn fw_api(args: &[&str], key: Option<&str>, home: &Path) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fw-api"));
    command
        .args(args)
        .env("HOME", home)
        .env_remove("FW_API_KEY");
    if let Some(key) = key {
        command.env("FW_API_KEY", key);
    }
    command.output().unwrap()
}

// Multi-threaded: the test blocks on the child process while the server answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_one_request_and_prints_the_reply() {
    let server = Server::start().await;
    let key = format!("127.0.0.1:{}:__force_insecure:testkey", server.port);
    let home = tempfile::tempdir().unwrap();
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).into_owned();

    let out = fw_api(&["GET", "/projects?limit=2"], Some(&key), home.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["uri"], "/api/projects?limit=2");

    let out = fw_api(
        &["post", "/lookup", "--data", r#"{"path": ["g", "p"]}"#],
        Some(&key),
        home.path(),
    );
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["echo"], r#"{"path":["g","p"]}"#);

    let out = fw_api(&["GET", "/projects/missing"], Some(&key), home.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("404") && stderr(&out).contains("project 'missing' not found"),
        "{}",
        stderr(&out)
    );

    // A malformed key: exit 1, the expected shapes, never the secret.
    let out = fw_api(&["GET", "/version"], Some("nocolonsecret"), home.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("host:port:__force_insecure:key")
            && !stderr(&out).contains("nocolonsecret"),
        "{}",
        stderr(&out)
    );

    let out = fw_api(
        &["GET", "/version", "--data", "{nope"],
        Some(&key),
        home.path(),
    );
    assert_eq!(out.status.code(), Some(2));

    // Proxies come from the environment: a request to another host goes to the proxy.
    let out = Command::new(env!("CARGO_BIN_EXE_fw-api"))
        .args(["GET", "/version"])
        .env("HOME", home.path())
        .env("FW_API_KEY", "flywheel.invalid:80:__force_insecure:k")
        .env("HTTP_PROXY", format!("http://127.0.0.1:{}", server.port))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.last().uri, "http://flywheel.invalid/api/version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_fw_api_key_the_credentials_file_is_read() {
    let server = Server::start().await;
    let key = format!("127.0.0.1:{}:__force_insecure:testkey", server.port);
    let home = tempfile::tempdir().unwrap();
    let creds = credentials_path(home.path());
    std::fs::create_dir_all(creds.parent().unwrap()).unwrap();
    std::fs::write(&creds, format!(r#"{{"key": "{key}"}}"#)).unwrap();
    let out = fw_api(&["GET", "/version"], None, home.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        server.last().authorization.as_deref(),
        Some("scitran-user testkey")
    );
}

#[test]
fn no_key_names_fw_api_key_and_the_credentials_file() {
    let home = tempfile::tempdir().unwrap();
    let out = fw_api(&["GET", "/version"], None, home.path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = credentials_path(home.path());
    assert!(
        stderr.starts_with(&format!(
            "fw-api: FW_API_KEY is not set, and the Flywheel CLI's credentials file {} \
             cannot be read",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("`fw login`"), "{stderr}");

    // `fw logout` leaves a file without a key: the message says so.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, r#"{"root": false}"#).unwrap();
    let out = fw_api(&["GET", "/version"], None, home.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(r#"has no string field "key""#), "{stderr}");
    assert!(stderr.contains("FW_API_KEY"), "{stderr}");
}

#[test]
fn help_names_fw_api_key_and_the_credentials_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_fw-api"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "FW_API_KEY",
        "host:port:__force_insecure:key",
        "~/.config/flywheel/user.json",
        "fw login",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}
