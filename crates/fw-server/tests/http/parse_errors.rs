//! Requests whose head hyper cannot parse: hyper answers them itself, before any handler
//! or middleware, and fw-server turns that bare reply into the JSON error shape with the
//! same status (`src/parse_errors.rs`; issue 16).

use crate::common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw bytes and reads the reply until the server closes the connection.
async fn raw(server: &TestServer, request: &[u8]) -> (u16, String, Value) {
    let addr = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api");
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it reads all of a huge head.
    let _ = socket.write_all(request).await;
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut reply),
    )
    .await;
    let reply = String::from_utf8(reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").expect("a whole reply");
    let status = head[9..12].parse().unwrap();
    (
        status,
        head.to_ascii_lowercase(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// Asserts the JSON error shape with `status`, and that the message contains `says`.
fn assert_json_error((status, head, body): (u16, String, Value), expected: u16, says: &str) {
    assert_eq!(status, expected, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body["status_code"], expected, "{body}");
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains(says), "{body}");
}

#[tokio::test]
async fn hypers_own_rejections_are_json_errors_with_their_status() {
    let server = start().await;
    let get = |headers: &str, path: &str| {
        format!("GET /api{path} HTTP/1.1\r\nhost: x\r\n{headers}\r\n").into_bytes()
    };
    // One header over hyper's 400 KiB buffer: 431.
    let huge = format!("x-big: {}\r\n", "a".repeat(500 << 10));
    assert_json_error(
        raw(&server, &get(&huge, "/version")).await,
        431,
        "too large",
    );
    // More than 100 headers: 431.
    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    assert_json_error(
        raw(&server, &get(&many, "/version")).await,
        431,
        "too large",
    );
    // A URI over 65,534 bytes: 414.
    let long = format!("/version?x={}", "a".repeat(70_000));
    assert_json_error(raw(&server, &get("", &long)).await, 414, "URI is too long");
    // A malformed request line and a malformed header: 400.
    assert_json_error(
        raw(&server, b"NOT HTTP AT ALL\r\n\r\n").await,
        400,
        "not valid HTTP",
    );
    assert_json_error(
        raw(&server, &get("bad header\r\n", "/version")).await,
        400,
        "not valid HTTP",
    );

    // A request that parses is answered as before, on a connection that stays usable.
    let (status, _, body) = raw(
        &server,
        b"GET /api/version HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["flywheel_release"].is_string(), "{body}");
}
