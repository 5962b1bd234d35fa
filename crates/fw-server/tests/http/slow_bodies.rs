//! Request bodies trickled to hold a connection (issue 16, probe finding 1): a body must
//! arrive at `Limits::min_body_rate` or faster once `Limits::body_grace` is spent, on every
//! route and with `--record-requests` too; otherwise 408 naming the rule, and the
//! connection (one of `max_connections`) is freed.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::robustness::address;
use fw_server::ServerConfig;
use serde_json::json;

/// A 300 ms grace, then 1,000 bytes/s; an idle timeout far longer, so that only the rate
/// rule can cut a body that keeps trickling; two connections at most.
fn slow_rules(config: &mut ServerConfig) {
    config.limits = fw_server::Limits {
        header_read_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        body_grace: Duration::from_millis(300),
        min_body_rate: 1000,
        max_connections: 2,
        ..fw_server::Limits::default()
    };
}

/// Sends `head` (announcing 100,000 bytes of body), then one body byte every 100 ms
/// (10 bytes/s) until the server closes the connection; returns the reply and how long
/// the body was trickled.
async fn trickle(addr: &str, head: String) -> (String, Duration) {
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = socket.split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let mut buffer = vec![0u8; 4096];
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the trickled connection stayed open"
        );
        tokio::select! {
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&buffer[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(100)) => {
                // The server may have stopped reading: a failed write is no failure.
                let _ = writer.write_all(b" ").await;
            }
        }
    }
    (String::from_utf8(reply).unwrap(), started.elapsed())
}

/// The head of a `POST /api/lookup` announcing a 100,000-byte JSON body.
fn lookup_head(authorization: Option<&str>) -> String {
    let authorization = authorization
        .map(|key| format!("Authorization: scitran-user {key}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /api/lookup HTTP/1.1\r\nHost: x\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
}

/// Asserts that `reply` is the 408 of the rate rule, in the JSON error shape.
fn assert_rate_408(reply: &str, elapsed: Duration) {
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.to_ascii_lowercase().contains("connection: close"),
        "{reply}"
    );
    let body = reply.split("\r\n\r\n").nth(1).unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["status_code"], 408, "{body}");
    assert_eq!(
        body["message"],
        "the request body arrived too slowly: after the first 0.3 s, a body must arrive at \
         1000 bytes/s or faster (the minimum body rate)",
    );
    // Cut by the rate rule (0.3 s and a few bytes' worth), long before the 5 s idle
    // timeout, which a byte every 100 ms never reaches.
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn trickled_bodies_are_408_and_free_their_connections() {
    let server = start_with(tempfile::tempdir().unwrap(), slow_rules).await;
    let addr = address(&server);
    // As many tricklers as the bound, at once: both are cut, and a normal client is
    // served meanwhile or right after.
    let head = lookup_head(Some(ADMIN));
    let (first, second, version) = tokio::join!(
        trickle(&addr, head.clone()),
        trickle(&addr, head.clone()),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tokio::time::timeout(Duration::from_secs(3), server.get("/version")).await
        }
    );
    assert_rate_408(&first.0, first.1);
    assert_rate_408(&second.0, second.1);
    let version = version.expect("a normal client was not served");
    assert!(version["flywheel_release"].is_string(), "{version}");
}

#[tokio::test]
async fn recording_requests_bounds_anonymous_trickled_bodies_too() {
    let record = tempfile::NamedTempFile::new().unwrap();
    let path = record.path().to_path_buf();
    let server = start_with(tempfile::tempdir().unwrap(), |config| {
        slow_rules(config);
        config.record_requests = Some(path.clone());
    })
    .await;
    let (reply, elapsed) = trickle(&address(&server), lookup_head(None)).await;
    assert_rate_408(&reply, elapsed);
    assert!(server.get("/version").await["flywheel_release"].is_string());
}

#[tokio::test]
async fn bodies_above_the_minimum_rate_and_large_uploads_succeed() {
    let server = start_with(tempfile::tempdir().unwrap(), slow_rules).await;
    let (.., acquisition) = hierarchy(&server).await;
    // A JSON body sent over 1 s (past the grace) at 4,000 bytes/s: created.
    let pad = "x".repeat(3900);
    let body = json!({"label": "slowly", "group": "grp1", "info": {"pad": pad}}).to_string();
    let chunks: Vec<Vec<u8>> = body.as_bytes().chunks(200).map(<[u8]>::to_vec).collect();
    let count = chunks.len();
    let stream = futures_util::stream::unfold(chunks.into_iter(), |mut chunks| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let chunk = chunks.next()?;
        Some((Ok::<_, std::io::Error>(chunk), chunks))
    });
    let started = Instant::now();
    let response = server
        .request(reqwest::Method::POST, "/projects")
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let created: serde_json::Value = response.json().await.unwrap();
    assert!(count >= 20 && started.elapsed() >= Duration::from_millis(900));
    let project = created["_id"].as_str().unwrap();
    assert_eq!(
        server.get(&format!("/projects/{project}")).await["info"]["pad"],
        pad
    );

    // An upload of 8 MiB at local speed.
    let files = format!("/acquisitions/{acquisition}/files");
    let bytes = vec![5u8; 8 << 20];
    let (status, reply) = server
        .upload_as_admin(&files, "big.bin", &bytes, None)
        .await;
    assert_eq!(status, 200, "{reply}");
    let (status, downloaded) = server.bytes(&format!("{files}/big.bin"), ADMIN).await;
    assert_eq!((status, downloaded.len()), (200, bytes.len()));
}
