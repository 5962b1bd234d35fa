//! `ServerConfig::record_requests`: every request as one exact JSON line.

use crate::common::start_with;
use fw_server::ServerConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn recorded_lines_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("requests.jsonl");
    let server = start_with(dir, |config| {
        config.record_requests = Some(record.clone());
    })
    .await;
    server
        .post("/groups", json!({"_id": "g1", "label": "G"}))
        .await;
    let project = server
        .create("projects", json!({"label": "P one", "group": "g1"}))
        .await;
    // A repeated name is recorded as an array; this list refuses `x` (400), and a refused
    // request is recorded as sent.
    server
        .expect(
            "GET",
            "/projects?filter=label%3DP+one&sort=label%3Aasc&limit=2&x=1&x=2",
            None,
            400,
        )
        .await;
    server
        .put(
            &format!("/projects/{project}"),
            json!({"description": "d", "info": {"k": [1, 2.5, null]}}),
        )
        .await;
    let (status, _) = server
        .upload_as_admin(
            &format!("/projects/{project}/files"),
            "a b.txt",
            b"hello",
            Some(json!({"type": "text"})),
        )
        .await;
    assert_eq!(status, 200);
    // A refused request is recorded too, with what was sent.
    server
        .expect("DELETE", "/projects/000000000000000000000000", None, 404)
        .await;
    // Bytes that are not JSON are recorded as their size, even when refused unread.
    let status = server
        .request(reqwest::Method::PUT, &format!("/projects/{project}"))
        .header("Content-Type", "application/octet-stream")
        .body(vec![0u8; 5])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 400);
    let tags = format!("/projects/{project}/tags");
    server.post(&tags, json!({"value": "a/b c"})).await;
    server.delete(&format!("{tags}/a%2Fb%20c")).await;

    let lines: Vec<Value> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"method": "POST", "path": "/api/groups", "query": {},
                   "body": {"_id": "g1", "label": "G"}}),
            json!({"method": "POST", "path": "/api/projects", "query": {},
                   "body": {"label": "P one", "group": "g1"}}),
            json!({"method": "GET", "path": "/api/projects",
                   "query": {"filter": "label=P one", "sort": "label:asc", "limit": "2",
                             "x": ["1", "2"]},
                   "body": null}),
            json!({"method": "PUT", "path": format!("/api/projects/{project}"), "query": {},
                   "body": {"description": "d", "info": {"k": [1, 2.5, null]}}}),
            json!({"method": "POST", "path": format!("/api/projects/{project}/files"),
                   "query": {}, "body": {"multipart": ["metadata", "file"]}}),
            json!({"method": "DELETE", "path": "/api/projects/000000000000000000000000",
                   "query": {}, "body": null}),
            json!({"method": "PUT", "path": format!("/api/projects/{project}"), "query": {},
                   "body": {"bytes": 5}}),
            json!({"method": "POST", "path": format!("/api/projects/{project}/tags"),
                   "query": {}, "body": {"value": "a/b c"}}),
            json!({"method": "DELETE", "path": format!("/api/projects/{project}/tags/a%2Fb%20c"),
                   "query": {}, "body": null}),
        ]
    );
}

#[tokio::test]
async fn an_unwritable_record_file_is_an_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = fw_server::start(ServerConfig {
        record_requests: Some(dir.path().join("no/such/dir/requests.jsonl")),
        ..ServerConfig::new(dir.path())
    })
    .await
    .err()
    .unwrap();
    assert!(
        err.starts_with("cannot open ") && err.contains("to record requests"),
        "{err}"
    );
}
