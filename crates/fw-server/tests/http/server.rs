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
        (
            "GET",
            "/nothing".into(),
            None,
            "GET /api/nothing is not implemented by fw-server",
            501,
        ),
        (
            "PUT",
            format!("/projects/{project}"),
            Some(json!({"group": "elsewhere"})),
            "group elsewhere not found",
            404,
        ),
    ];
    for (method, path, body, message, status) in cases {
        let (got, reply) = server.admin(method, &path, body).await;
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
        .request(reqwest::Method::POST, "/projects")
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
    assert_eq!(server.get("/projects").await.as_array().unwrap().len(), 1);
    // A DELETE with Content-Type: application/json and no body is fine.
    server
        .expect("DELETE", &format!("/projects/{project}"), None, 200)
        .await;
}

#[tokio::test]
async fn data_and_the_admin_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = fw_server::start(ServerConfig {
        ..ServerConfig::new(path.clone())
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
        .json_reply()
        .await;
    assert_eq!(created["_id"], "kept");
    first.stop().await.unwrap();

    let second = fw_server::start(ServerConfig {
        ..ServerConfig::new(path)
    })
    .await
    .unwrap();
    assert_eq!(second.admin_secret, secret, "a restart keeps the admin key");
    let base = format!("http://{}/api", second.addr);
    let group: Value = http
        .get(format!("{base}/groups/kept"))
        .header("Authorization", format!("scitran-user {secret}"))
        .json_reply()
        .await;
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
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines) = spawn_binary(dir.path(), &[], Stdio::piped());
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
    // The whole key to use, with the address the running server recorded.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{address}:__force_insecure:zoekey")
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let me: Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{address}/api/users/self"))
            .header("Authorization", "scitran-user zoekey")
            .json_reply()
            .await
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

/// A data directory that is not a site is refused unless `--create` asks for one, and a
/// `serve` that fails takes back the site it created.
#[test]
fn the_binary_refuses_a_data_dir_that_is_not_a_site() {
    use std::process::Command;

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("fw-dta");
    let user_add = |data_dir: &std::path::Path, extra: &[&str]| {
        Command::new(binary)
            .args(["user", "add", "--id", "amy@x.org", "--key", "amykey"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .unwrap()
    };

    // A misspelt directory: an error naming it, and nothing created.
    let out = user_add(&missing, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "fw-server: {} is not a fw-server site: it does not exist; check --data-dir, or \
             pass --create to make a new site there\n",
            missing.display()
        )
    );
    assert!(!missing.exists());

    // A directory with other things in it is never made a site, even with --create.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("todo.txt"), "x").unwrap();
    let out = user_add(&other, &["--create"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is not a fw-server site (it has no fw.sqlite) and is not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);

    // With --create: a new site, and the whole key for the address given.
    let out = user_add(&missing, &["--create", "--addr", "127.0.0.1:9999"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "127.0.0.1:9999:__force_insecure:amykey\n"
    );
    assert!(missing.join("fw.sqlite").is_file());

    // `serve --create` on a port in use fails and leaves no empty site behind, whether it
    // made the directory or found it empty.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for data_dir in [dir.path().join("new"), empty.clone()] {
        let out = Command::new(binary)
            .args(["serve", "--create", "--addr", &addr, "--data-dir"])
            .arg(&data_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("cannot listen on {addr}")),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!dir.path().join("new").exists());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

/// docs/wire.md §15.4: every GET of the SDK's API classes within fw-server's scope is
/// served (these four answered 405 because another method held the path), through
/// `/containers/{id}` too; routes outside it are 501 naming the route (issue 16).
#[tokio::test]
async fn read_routes_held_by_other_methods_are_served() {
    let server = start().await;
    let (project, _, session, acquisition) = hierarchy(&server).await;
    let (p, a) = (
        format!("/projects/{project}"),
        format!("/acquisitions/{acquisition}"),
    );
    server
        .add_file(&format!("{a}/files"), "a.txt", b"abc")
        .await;
    let info = json!({"set": {"k": 1}});
    server.patch(&format!("{a}/files/a.txt/info"), info).await;
    let label = json!({"label": "ana"});
    let analysis = server
        .create(&format!("sessions/{session}/analyses"), label)
        .await;
    let outputs = format!("/analyses/{analysis}/files");
    server.add_file(&outputs, "out.txt", b"out").await;
    let note = server
        .post(&format!("{p}/notes"), json!({"text": "hello"}))
        .await;
    server
        .post(&format!("{p}/tags"), json!({"value": "t1"}))
        .await;

    for base in [
        format!("/acquisitions/{acquisition}"),
        format!("/containers/{acquisition}"),
    ] {
        let entry = server.get(&format!("{base}/files/a.txt/info")).await;
        assert_eq!(
            (entry["name"].as_str(), entry["info"]["k"].as_i64()),
            (Some("a.txt"), Some(1))
        );
        assert_eq!(
            entry["parent_ref"],
            json!({"type": "acquisition", "id": acquisition})
        );
    }
    for base in [
        format!("/sessions/{session}"),
        format!("/containers/{session}"),
    ] {
        let analyses = server.get(&format!("{base}/analyses")).await;
        assert_eq!(ids(&analyses, "_id"), [analysis.as_str()]);
        let one = server.get(&format!("{base}/analyses/{analysis}")).await;
        assert_eq!(one["label"], "ana");
    }
    let output = format!("/sessions/{session}/analyses/{analysis}/files/out.txt");
    assert_eq!(server.bytes(&output, ADMIN).await, (200, b"out".to_vec()));

    let got = server
        .get(&format!(
            "/projects/{project}/notes/{}",
            note["_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got["text"], "hello");
    assert_eq!(
        server.get(&format!("/projects/{project}/tags/t1")).await,
        "t1"
    );
    // Not there: an analysis reached other than below its own parent, a tag or a note the
    // container does not have.
    for path in [
        format!("{p}/analyses/{analysis}"),
        format!("{p}/tags/t2"),
        format!("{p}/notes/000000000000000000000000"),
    ] {
        assert_eq!(server.status("GET", &path, None).await, 404, "{path}");
    }

    for (method, path) in [
        ("GET", "/gears".to_string()),
        ("GET", format!("/projects/{project}/rules")),
        ("PUT", format!("/projects/{project}/notes/x")),
    ] {
        let (status, reply) = server.admin(method, &path, None).await;
        assert_eq!(status, 501, "{method} {path}");
        assert_eq!(
            reply["message"],
            format!("{method} /api{path} is not implemented by fw-server")
        );
    }
}
