//! The server as a whole: bad requests, restarts, and the binary.

use crate::common::*;
use fw_server::ServerConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn bad_requests_get_json_4xx_and_change_nothing() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    let long = "x".repeat(300);
    let cases: Vec<(&str, String, Option<Value>, &str, u16)> = vec![
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": 5, "group": "grp1"})),
            "expected a string",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": "x", "group": "grp1", "bogus": 1})),
            "unknown field(s) in a project create body: bogus",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": long, "group": "grp1"})),
            "longer than 256",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": "x", "group": "nope"})),
            "group nope not found",
            404,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!([1, 2])),
            "must be a JSON object",
            400,
        ),
        (
            "POST",
            "/subjects".into(),
            Some(json!({"project": project})),
            "needs a `label` or a `code`",
            400,
        ),
        (
            "POST",
            "/sessions".into(),
            Some(json!({"label": "s", "project": project})),
            "needs a `subject`",
            400,
        ),
        (
            "POST",
            "/groups".into(),
            Some(json!({"_id": "Bad Id"})),
            "not a valid group id",
            400,
        ),
        (
            "POST",
            "/groups".into(),
            Some(json!({"_id": "grp1"})),
            "exists already",
            409,
        ),
        (
            "GET",
            "/projects/000000000000000000000000".into(),
            None,
            "not found",
            404,
        ),
        ("GET", format!("/subjects/{project}"), None, "subject", 404),
        (
            "GET",
            "/projects?filter=label%3D%3Dx".into(),
            None,
            "column 6",
            400,
        ),
        (
            "GET",
            "/projects?sort=label:up".into(),
            None,
            "unknown sort order",
            400,
        ),
        (
            "GET",
            "/projects?limit=ten".into(),
            None,
            "whole number",
            400,
        ),
        (
            "GET",
            "/projects?after_id=a&sort=label".into(),
            None,
            "after_id cannot be used with sort",
            400,
        ),
        ("GET", "/nothing".into(), None, "no such collection", 404),
        (
            "PUT",
            format!("/projects/{project}"),
            Some(json!({"group": "elsewhere"})),
            "group elsewhere not found",
            404,
        ),
    ];
    for (method, path, body, message, status) in cases {
        let (got, reply) = server.call(method, &path, ADMIN, body).await;
        assert_eq!(got, status, "{method} {path}: {reply}");
        assert!(
            reply["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{method} {path}: {reply}"
        );
        assert_eq!(reply["status_code"], status);
        assert!(reply["request_id"].is_string());
    }
    // Malformed JSON, and no key or a wrong key.
    let response = server
        .http
        .post(format!("{}/projects", server.base))
        .header("Authorization", format!("scitran-user {ADMIN}"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = server
        .http
        .get(format!("{}/projects", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(server.call("GET", "/projects", "wrong", None).await.0, 401);
    // Nothing was written by the failed creates.
    assert_eq!(
        server
            .ok("GET", "/projects", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A DELETE with Content-Type: application/json and no body is fine.
    let (status, _) = server
        .call("DELETE", &format!("/projects/{project}"), ADMIN, None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn data_and_the_admin_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: path.clone(),
        admin_key: None,
        signed_urls: false,
        limits: Default::default(),
    })
    .await
    .unwrap();
    let secret = first.admin_secret.clone();
    assert_eq!(secret.len(), 64);
    let base = format!("http://{}/api", first.addr);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/groups"))
        .header("Authorization", format!("scitran-user {secret}"))
        .body(r#"{"_id": "kept"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["_id"], "kept");
    first.stop().await.unwrap();

    let second = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: path,
        admin_key: None,
        signed_urls: false,
        limits: Default::default(),
    })
    .await
    .unwrap();
    assert_eq!(second.admin_secret, secret, "a restart keeps the admin key");
    let base = format!("http://{}/api", second.addr);
    let group: Value = http
        .get(format!("{base}/groups/kept"))
        .header("Authorization", format!("scitran-user {secret}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["_id"], "kept");
    assert!(
        second
            .admin_api_key()
            .ends_with(&format!(":__force_insecure:{secret}"))
    );
    second.stop().await.unwrap();
}

/// The binary as a user runs it: the two printed lines, `user add` against a running
/// server, and a clean exit on SIGTERM.
#[test]
fn the_binary_prints_its_key_adds_users_and_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let key_line = lines.next().unwrap().unwrap();
    let address = listening
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let key = key_line.strip_prefix("api key: ").unwrap();
    assert_eq!(
        key,
        format!(
            "{address}:__force_insecure:{}",
            key.rsplit(':').next().unwrap()
        )
    );

    let out = Command::new(binary)
        .args([
            "user",
            "add",
            "--id",
            "zoe@x.org",
            "--firstname",
            "Zoe",
            "--key",
            "zoekey",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "zoekey");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let me: Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{address}/api/users/self"))
            .header("Authorization", "scitran-user zoekey")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        (me["_id"].as_str(), me["firstname"].as_str()),
        (Some("zoe@x.org"), Some("Zoe"))
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM ends the server cleanly");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(
        logs.contains("GET /api/users/self 200"),
        "one log line per request: {logs}"
    );
}
