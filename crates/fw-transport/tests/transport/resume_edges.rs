//! Resumable downloads whose kept bytes cannot be continued with a `Range` request.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fw_transport::*;

/// Serves `content` at any path, answering `Range: bytes=n-` with a 206, or with a 416
/// when `n` is at or past the end (as fw-server and S3 do).
async fn serve(content: Vec<u8>) -> Client {
    let app = axum::Router::new().fallback(move |headers: HeaderMap| {
        let content = content.clone();
        async move { reply(&content, &headers) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let key = ApiKey::parse(&format!("127.0.0.1:{port}:__force_insecure:testkey")).unwrap();
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    Client::builder(key).retry(retry).build().unwrap()
}

fn reply(content: &[u8], headers: &HeaderMap) -> Response {
    let from = headers
        .get("range")
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    match from {
        Some(from) if from >= content.len() => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [("content-range", format!("bytes */{}", content.len()))],
        )
            .into_response(),
        Some(from) => (
            StatusCode::PARTIAL_CONTENT,
            [(
                "content-range",
                format!("bytes {from}-{}/{}", content.len() - 1, content.len()),
            )],
            content[from..].to_vec(),
        )
            .into_response(),
        None => content.to_vec().into_response(),
    }
}

/// A resumable download without an expected size whose partial file already holds the
/// whole file (the program was killed between the last byte and the rename), or more:
/// the range past the end gets a 416, and the file is fetched whole instead of every
/// attempt failing with that 416 for ever.
#[tokio::test]
async fn kept_bytes_that_reach_the_end_are_dropped_and_the_file_fetched_whole() {
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
    let client = serve(content.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    for kept in [
        content.clone(),
        [content.clone(), b"extra".to_vec()].concat(),
    ] {
        let dest = dir.path().join("scan.bin");
        let download = Download::new(Request::get(["files", "scan.bin"]), &dest).resume(true);
        let partial = download.partial_path().unwrap();
        std::fs::write(&partial, &kept).unwrap();
        let n = client.download(download).await.unwrap();
        assert_eq!(n, 200_000);
        assert!(std::fs::read(&dest).unwrap() == content, "byte-identical");
        assert!(!partial.exists());
        std::fs::remove_file(&dest).unwrap();
    }
}
