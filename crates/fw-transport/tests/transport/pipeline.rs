//! The download pipeline of `Client::fetch` (receive, hash and write on different
//! threads) with files large enough for the hashing thread (over 4 MiB): a corrupted byte
//! is still caught and leaves nothing, a cut download resumes byte-identical, a server
//! that ignores `Range` restarts the file, and a writer that cannot write is an error, not
//! a hang.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fw_transport::*;

use super::names_in;

/// 9 MiB, not a multiple of any chunk size.
fn content() -> Vec<u8> {
    (0..9 * 1024 * 1024 + 7u32)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect()
}

/// Serves `content` at `/files/whole`; at `/files/cut`, stops after `cut_at` bytes
/// (answering `Range: bytes=n-` with a 206); at `/files/norange`, ignores `Range` and
/// sends everything with a 200; at `/files/corrupt`, flips one byte in the middle; at
/// `/files/missing`, answers 404.
async fn serve(content: Vec<u8>, cut_at: usize) -> ApiKey {
    let app = axum::Router::new().fallback(move |headers: HeaderMap, uri: axum::http::Uri| {
        let content = content.clone();
        async move { reply(&content, cut_at, uri.path(), &headers) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    ApiKey::parse(&format!("127.0.0.1:{port}:__force_insecure:testkey")).unwrap()
}

fn reply(content: &[u8], cut_at: usize, path: &str, headers: &HeaderMap) -> Response {
    let range = headers
        .get("range")
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    if path.ends_with("/missing") {
        return StatusCode::NOT_FOUND.into_response();
    }
    if path.ends_with("/corrupt") {
        let mut bytes = content.to_vec();
        bytes[content.len() / 2] ^= 1;
        return bytes.into_response();
    }
    match range {
        Some(from) if !path.ends_with("/norange") => {
            let range = format!("bytes {from}-{}/{}", content.len() - 1, content.len());
            (
                StatusCode::PARTIAL_CONTENT,
                [("content-range", range)],
                content[from..].to_vec(),
            )
                .into_response()
        }
        _ if path.ends_with("/cut") => {
            let body = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(bytes::Bytes::from(content[..cut_at].to_vec())),
                Err(std::io::Error::other("cut")),
            ]);
            let length = content.len().to_string();
            ([("content-length", length)], Body::from_stream(body)).into_response()
        }
        _ => content.to_vec().into_response(),
    }
}

fn client(key: ApiKey) -> Client {
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    Client::builder(key).retry(retry).build().unwrap()
}

/// `(size, hash)` of `bytes`, as the server's file entry gives them.
async fn entry_of(bytes: &[u8], dir: &std::path::Path) -> (u64, String) {
    let reference = dir.join("reference");
    std::fs::write(&reference, bytes).unwrap();
    let entry = hash_file(&reference).await.unwrap();
    std::fs::remove_file(&reference).unwrap();
    entry
}

/// The content, a folder, the content's `(size, hash)` and a client of a server that cuts
/// `/files/cut` after `cut_at` bytes.
async fn setup(cut_at: usize) -> (Vec<u8>, tempfile::TempDir, (u64, String), Client) {
    let content = content();
    let dir = tempfile::tempdir().unwrap();
    let entry = entry_of(&content, dir.path()).await;
    let client = client(serve(content.clone(), cut_at).await);
    (content, dir, entry, client)
}

/// A download of `/files/{what}` to `dest`, checked against `(size, hash)`.
fn verified(what: &str, dest: &std::path::Path, (size, hash): &(u64, String)) -> Download {
    Download::new(Request::get(["files", what]), dest)
        .expected_size(*size)
        .expected_hash(hash)
}

/// Sends `download` and checks that it lands as `content`, alone in its folder.
async fn lands(client: &Client, download: Download, content: &[u8]) {
    let dest = download.destination.clone();
    assert_eq!(
        client.download(download).await.unwrap(),
        content.len() as u64
    );
    assert!(std::fs::read(&dest).unwrap() == content, "byte-identical");
    let folder = dest.parent().unwrap();
    assert_eq!(
        names_in(folder),
        [dest.file_name().unwrap().to_str().unwrap()]
    );
}

#[tokio::test]
async fn a_large_download_is_verified_and_a_corrupted_byte_leaves_nothing() {
    let (content, dir, entry, client) = setup(0).await;
    let dest = dir.path().join("scan.nii");
    lands(&client, verified("whole", &dest, &entry), &content).await;

    for resume in [false, true] {
        let bad = dir.path().join("bad.nii");
        let download = verified("corrupt", &bad, &entry).resume(resume);
        let err = client.download(download).await.unwrap_err();
        match &err {
            Error::HashMismatch {
                expected, computed, ..
            } => assert!(expected == &entry.1 && computed != &entry.1, "{err:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(names_in(dir.path()), ["scan.nii"], "resume {resume}");
    }
}

#[tokio::test]
async fn a_large_cut_download_resumes_byte_identical() {
    let cut_at = 5 * 1024 * 1024 + 3;
    let (content, dir, entry, client) = setup(cut_at).await;
    let dest = dir.path().join("scan.nii");
    let download = verified("cut", &dest, &entry).resume(true);
    let err = client.download(download.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Send { .. }), "{err:?}");
    let partial = download.partial_path().unwrap();
    assert_eq!(std::fs::metadata(&partial).unwrap().len(), cut_at as u64);
    assert!(!dest.exists());
    lands(&client, download, &content).await;
}

#[tokio::test]
async fn a_server_that_ignores_the_range_sends_the_file_again_and_it_replaces_the_partial() {
    let (content, dir, entry, client) = setup(0).await;
    let download = verified("norange", &dir.path().join("scan.nii"), &entry).resume(true);
    // Partial bytes that are wrong: had they been kept, the hash would not match.
    std::fs::write(download.partial_path().unwrap(), vec![7u8; 3_000_000]).unwrap();
    lands(&client, download, &content).await;
}

#[tokio::test]
async fn a_writer_that_cannot_write_is_an_error_not_a_hang() {
    let (_, dir, entry, client) = setup(0).await;

    // A folder that does not exist: the temporary file cannot be made.
    let dest = dir.path().join("missing").join("scan.nii");
    let download = verified("whole", &dest, &entry);
    let result = tokio::time::timeout(Duration::from_secs(30), client.download(download)).await;
    let err = result.expect("no hang").unwrap_err();
    assert!(
        matches!(&err, Error::Io { action: "write", path, .. } if path == &dest),
        "{err:?}"
    );

    // A resumable download whose partial file is a folder: refused before any byte.
    let dest = dir.path().join("scan.nii");
    let download = verified("whole", &dest, &entry).resume(true);
    let partial = download.partial_path().unwrap();
    std::fs::create_dir(&partial).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(30), client.download(download)).await;
    let err = result.expect("no hang").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(!dest.exists());
    assert!(partial.is_dir(), "left as it was");
}

#[tokio::test]
async fn a_refused_download_leaves_no_temporary_file_behind() {
    let (_, dir, _, client) = setup(0).await;
    let dest = dir.path().join("scan.nii");
    // The writer makes its temporary file while the request goes out; the 404 removes it
    // before the error is returned.
    let err = client
        .download(Download::new(Request::get(["files", "missing"]), &dest))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err:?}");
    assert!(names_in(dir.path()).is_empty(), "no temporary file left");
}
