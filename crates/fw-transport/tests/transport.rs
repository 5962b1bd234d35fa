//! fw-transport against a scripted HTTP server on 127.0.0.1:0 that records every request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use fw_transport::*;
use serde_json::{Value, json};

#[path = "transport/pipeline.rs"]
mod pipeline;
#[path = "transport/resume_edges.rs"]
mod resume_edges;

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

enum Reply {
    Now(Response),
    Never,
}

type Script = Arc<dyn Fn(&Seen, usize) -> Reply + Send + Sync>;

struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    async fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Server {
        let script: Script = Arc::new(script);
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let script = script.clone();
            let log = log.clone();
            async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap()
                    .to_vec();
                let seen = Seen {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    headers: parts.headers,
                    body,
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(seen.clone());
                    log.len() - 1
                };
                match script(&seen, index) {
                    Reply::Now(response) => response,
                    Reply::Never => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        StatusCode::OK.into_response()
                    }
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { port, seen }
    }

    fn key(&self) -> ApiKey {
        ApiKey::parse(&format!("127.0.0.1:{}:__force_insecure:testkey", self.port)).unwrap()
    }

    fn client(&self) -> Client {
        Client::builder(self.key())
            .retry(fast_retries())
            .build()
            .unwrap()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn uris(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.uri).collect()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        ..RetryPolicy::default()
    }
}

fn json_reply(status: u16, body: Value) -> Reply {
    Reply::Now((StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response())
}

#[tokio::test]
async fn headers_are_those_of_the_python_sdk() {
    let server = Server::start(|_, _| json_reply(200, json!({}))).await;
    let client = server.client();
    let _: Value = client.json(&Request::get(["users", "self"])).await.unwrap();
    client
        .send(
            &Request::post(["projects", "p1", "tags"])
                .json(&json!({"value": "t"}))
                .unwrap(),
        )
        .await
        .unwrap();
    client.send(&Request::post(["download"])).await.unwrap();
    client
        .send(&Request::delete(["projects", "p1", "tags", "my tag/x"]))
        .await
        .unwrap();
    client
        .send(
            &Request::get(["projects"])
                .feature("slim-containers")
                .feature("exclude-files"),
        )
        .await
        .unwrap();
    let exhaustive = Client::builder(server.key())
        .exhaustive(true)
        .build()
        .unwrap();
    exhaustive
        .send(&Request::get(["auth", "status"]))
        .await
        .unwrap();

    let seen = server.seen();
    let get = &seen[0];
    assert_eq!(get.method, "GET");
    assert_eq!(get.uri, "/api/users/self");
    assert_eq!(get.header("authorization"), Some("scitran-user testkey"));
    assert_eq!(
        get.header("x-accept-feature"),
        Some("Safe-Redirect,multipart_signed_url")
    );
    assert_eq!(get.header("accept"), Some("application/json"));
    assert_eq!(get.header("user-agent"), Some(USER_AGENT));
    assert_eq!(get.header("accept-encoding"), Some("gzip, deflate"));
    assert_eq!(get.header("content-type"), None);

    let post = &seen[1];
    assert_eq!(post.header("content-type"), Some("application/json"));
    assert_eq!(post.body, br#"{"value":"t"}"#);

    let bodiless_post = &seen[2];
    assert_eq!(
        bodiless_post.header("content-type"),
        Some("application/json")
    );
    assert_eq!(bodiless_post.header("content-length"), Some("0"));

    let delete = &seen[3];
    assert_eq!(delete.uri, "/api/projects/p1/tags/my%20tag%2Fx");
    assert_eq!(delete.header("content-type"), Some("application/json"));
    assert_eq!(delete.header("content-length"), None);

    assert_eq!(
        seen[4].header("x-accept-feature"),
        Some("Safe-Redirect,multipart_signed_url,slim-containers,exclude-files")
    );
    assert_eq!(seen[5].uri, "/api/auth/status?exhaustive=true");
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let server = Server::start(|_, i| {
        if i < 2 {
            json_reply(503, json!({"message": "busy"}))
        } else {
            json_reply(200, json!({"ok": true}))
        }
    })
    .await;
    let started = Instant::now();
    let reply: Value = server
        .client()
        .json(&Request::get(["version"]))
        .await
        .unwrap();
    assert_eq!(reply, json!({"ok": true}));
    assert_eq!(server.seen().len(), 3);
    // Backoff of at least half of 50 ms, then half of 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(75),
        "{:?}",
        started.elapsed()
    );
}

/// `POST /projects {"label": "x"}`: a POST nobody marked safe to send twice.
fn post_project() -> Request {
    Request::post(["projects"])
        .json(&json!({"label": "x"}))
        .unwrap()
}

#[tokio::test]
async fn a_post_is_not_retried_unless_marked_safe() {
    let server =
        Server::start(|_, _| json_reply(503, json!({"message": "busy", "request_id": "r1"}))).await;
    let client = server.client();
    let err = client.send(&post_project()).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(server.seen().len(), 1);

    client
        .send(&Request::post(["lookup"]).retry_post())
        .await
        .unwrap_err();
    assert_eq!(
        server.seen().len(),
        1 + 4,
        "a safe POST is retried up to max_attempts"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_500_is_not_retried() {
    let server = Server::start(|_, i| match i {
        0 => Reply::Now(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "0")],
                "slow down",
            )
                .into_response(),
        ),
        1 => json_reply(200, json!([])),
        _ => {
            Reply::Now((StatusCode::INTERNAL_SERVER_ERROR, "Internal boom\nstack…").into_response())
        }
    })
    .await;
    let client = Client::builder(server.key())
        .retry(RetryPolicy {
            base_delay: Duration::from_secs(30),
            ..fast_retries()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let _: Value = client.json(&Request::get(["projects"])).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "Retry-After: 0 beats a 30 s backoff"
    );
    let err = client.send(&Request::get(["projects"])).await.unwrap_err();
    assert_eq!(server.seen().len(), 3);
    match err {
        Error::Api {
            status: 500,
            message,
            ..
        } => assert_eq!(message.as_deref(), Some("Internal boom")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn api_errors_carry_the_json_error_body() {
    let server = Server::start(|_, _| {
        json_reply(404, json!({"message": "project 'nope' not found", "status_code": 404, "request_id": "req-9", "detail": ["x"]}))
    })
    .await;
    let err = server
        .client()
        .send(&Request::get(["projects", "nope"]).query("ticket", "SECRET"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status,
            message,
            detail,
            request_id,
            method,
            url,
        } => {
            assert_eq!(*status, 404);
            assert_eq!(message.as_deref(), Some("project 'nope' not found"));
            assert_eq!(detail.as_deref(), Some(&json!(["x"])));
            assert_eq!(request_id.as_deref(), Some("req-9"));
            assert_eq!(*method, Method::GET);
            assert!(url.ends_with("/api/projects/nope?ticket=<hidden>"), "{url}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("testkey") && !err.to_string().contains("SECRET"));
}

#[tokio::test]
async fn undecodable_replies_name_the_type_and_show_a_snippet() {
    let server = Server::start(|_, _| {
        Reply::Now((StatusCode::OK, "<html>proxy login</html>").into_response())
    })
    .await;
    let err = server
        .client()
        .json::<fw_model::Project>(&Request::get(["projects", "p"]))
        .await
        .unwrap_err();
    match err {
        Error::Decode {
            expected, snippet, ..
        } => {
            assert!(expected.contains("Project"));
            assert_eq!(snippet, "<html>proxy login</html>");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = Server::start(|_, _| Reply::Never).await;
    let client = Client::builder(server.key())
        .read_timeout(Duration::from_millis(300))
        .retry(fast_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.send(&Request::get(["version"])).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.seen().len(), 1, "a read timeout is not retried");
}

#[test]
fn extra_ca_certificates_must_be_pem() {
    let dir = tempfile::tempdir().unwrap();
    let key = ApiKey::parse("h:k").unwrap();
    let missing = Client::builder(key.clone())
        .ca_certificate(dir.path().join("nope.pem"))
        .build();
    assert!(matches!(missing, Err(Error::Io { .. })), "{missing:?}");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    let err = Client::builder(key)
        .ca_certificate(&garbage)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
}

/// A local port where nothing listens (bound, then released).
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn nothing_listening_fails_within_seconds_and_names_host_and_port() {
    let port = dead_port();
    let key = ApiKey::parse(&format!("127.0.0.1:{port}:__force_insecure:k")).unwrap();
    // The default policy: the one a user with a wrong port in their key gets.
    let client = Client::new(key).unwrap();
    let started = Instant::now();
    let err = client.send(&Request::get(["version"])).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // Retried, not given up at once: the waits of at least 0.125 + 0.25 + 0.5 + 1 s.
    assert!(elapsed > Duration::from_millis(1800), "{elapsed:?}");
    match &err {
        Error::Connect {
            host,
            port: p,
            attempts,
            ..
        } => {
            assert_eq!((host.as_str(), *p), ("127.0.0.1", port));
            assert!((5..=6).contains(attempts), "{attempts} attempts");
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot connect to 127.0.0.1:{port} for GET http://127.0.0.1:{port}/api/version ("
        )),
        "{message}"
    );
    assert!(err.is_retryable() && err.status().is_none());
}

#[tokio::test]
async fn a_refused_post_is_retried_since_nothing_was_sent() {
    let port = dead_port();
    let key = ApiKey::parse(&format!("127.0.0.1:{port}:__force_insecure:k")).unwrap();
    let client = Client::builder(key)
        .retry(RetryPolicy {
            connect_base_delay: Duration::from_millis(10),
            connect_budget: Duration::from_millis(500),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.send(&post_project()).await.unwrap_err();
    let Error::Connect { attempts, .. } = err else {
        panic!("{err:?}")
    };
    // Waits of 5-10, 10-20, 20-40, 40-80, 80-160 ms, … within 500 ms: several attempts.
    assert!(attempts >= 4, "{attempts} attempts");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A list endpoint over ids `id0000`…, honouring `limit` and `after_id` (or `page`).
fn list_server(total: usize, field: &'static str) -> impl Fn(&Seen, usize) -> Reply {
    move |seen, _| {
        let url = reqwest::Url::parse(&format!("http://x{}", seen.uri)).unwrap();
        let param = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        let limit: usize = param("limit").map_or(total, |l| l.parse().unwrap());
        let start = match (param("after_id"), param("page")) {
            (Some(after), _) => after[2..].parse::<usize>().unwrap() + 1,
            (None, Some(page)) => (page.parse::<usize>().unwrap() - 1) * limit,
            (None, None) => 0,
        };
        let items: Vec<Value> = (start..total.min(start + limit))
            .map(|i| json!({field: format!("id{i:04}"), "n": i}))
            .collect();
        if field == "file_id" {
            json_reply(
                200,
                json!({"count": items.len(), "total": total, "results": items}),
            )
        } else {
            json_reply(200, Value::Array(items))
        }
    }
}

#[tokio::test]
async fn keyset_paging_through_1000_items_sends_the_exact_requests() {
    let server = Server::start(list_server(1000, "_id")).await;
    let request = Request::get(["subjects"]).query("filter", "sex=male");
    let items: Vec<Value> = server
        .client()
        .paginate(request, DEFAULT_PAGE_SIZE)
        .try_collect()
        .await
        .unwrap();
    let numbers: Vec<u64> = items.iter().map(|i| i["n"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        (0..1000).collect::<Vec<u64>>(),
        "no gap, no duplicate"
    );
    assert_eq!(
        server.uris(),
        [
            "/api/subjects?filter=sex%3Dmale&limit=250",
            "/api/subjects?filter=sex%3Dmale&limit=250&after_id=id0249",
            "/api/subjects?filter=sex%3Dmale&limit=250&after_id=id0499",
            "/api/subjects?filter=sex%3Dmale&limit=250&after_id=id0749",
            "/api/subjects?filter=sex%3Dmale&limit=250&after_id=id0999",
        ]
    );
}

#[tokio::test]
async fn a_short_page_ends_paging_without_an_extra_request() {
    let server = Server::start(list_server(1000, "_id")).await;
    let items: Vec<Value> = server
        .client()
        .paginate(Request::get(["subjects"]), 300)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 1000);
    assert_eq!(server.uris().len(), 4, "{:?}", server.uris());
}

#[tokio::test]
async fn sorted_paging_numbers_pages_from_one() {
    let server = Server::start(list_server(500, "_id")).await;
    let request = Request::get(["projects"]).query("sort", "label:asc");
    let items: Vec<Value> = server
        .client()
        .paginate(request, 200)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 500);
    assert_eq!(
        server.uris(),
        [
            "/api/projects?sort=label%3Aasc&limit=200&page=1",
            "/api/projects?sort=label%3Aasc&limit=200&page=2",
            "/api/projects?sort=label%3Aasc&limit=200&page=3",
        ]
    );
}

#[tokio::test]
async fn file_envelopes_page_by_file_id() {
    let server = Server::start(list_server(5, "file_id")).await;
    let items: Vec<Value> = server
        .client()
        .paginate(Request::get(["files"]), 2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(
        server.uris(),
        [
            "/api/files?limit=2",
            "/api/files?limit=2&after_id=id0001",
            "/api/files?limit=2&after_id=id0003"
        ]
    );
}

#[tokio::test]
async fn items_decode_straight_into_types_and_a_bad_item_does_not_stop_paging() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Item {
        n: u32,
    }
    // Page 1: items 0-2, the middle one with a text `n`; page 2: item 3, short, the end.
    let server = Server::start(|seen, _| {
        if seen.uri.contains("after_id=c") {
            json_reply(200, json!([{"_id": "d", "n": 3}]))
        } else {
            json_reply(
                200,
                json!([{"_id": "a", "n": 0}, {"_id": "b", "n": "one"}, {"_id": "c", "n": 2}]),
            )
        }
    })
    .await;
    let items: Vec<Result<Item, Error>> = server
        .client()
        .paginate(Request::get(["subjects"]), 3)
        .collect()
        .await;
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(items[0].as_ref().ok(), Some(&Item { n: 0 }));
    match &items[1] {
        Err(Error::Decode { snippet, url, .. }) => {
            assert_eq!(snippet, r#"{"_id":"b","n":"one"}"#);
            assert!(url.contains("/subjects?limit=3"), "{url}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(items[2].as_ref().ok(), Some(&Item { n: 2 }));
    assert_eq!(items[3].as_ref().ok(), Some(&Item { n: 3 }));
    assert_eq!(
        server.uris(),
        ["/api/subjects?limit=3", "/api/subjects?limit=3&after_id=c"]
    );
}

#[tokio::test]
async fn a_reply_that_is_not_a_page_ends_paging_with_a_decode_error() {
    let server = Server::start(|_, _| json_reply(200, json!({"count": 2}))).await;
    let result: Result<Vec<Value>, Error> = server
        .client()
        .paginate(Request::get(["files"]), 2)
        .try_collect()
        .await;
    match result {
        Err(Error::Decode { source, .. }) => {
            assert!(
                source.to_string().contains("missing field `results`"),
                "{source}"
            )
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_that_ignores_the_cursor_is_caught() {
    let server = Server::start(|_, _| json_reply(200, json!([{"_id": "a"}, {"_id": "b"}]))).await;
    let result: Result<Vec<Value>, Error> = server
        .client()
        .paginate(Request::get(["projects"]), 2)
        .try_collect()
        .await;
    assert!(
        matches!(result, Err(Error::PagingLoop { ref cursor, .. }) if cursor == "b"),
        "{result:?}"
    );
    assert_eq!(server.seen().len(), 2);
    let sorted = Request::get(["projects"]).query("sort", "label");
    let result: Result<Vec<Value>, Error> = server.client().paginate(sorted, 2).try_collect().await;
    assert!(
        matches!(result, Err(Error::PagingLoop { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn downloads_land_whole_or_not_at_all() {
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let served = content.clone();
    let server = Server::start(move |seen, _| {
        if seen.uri.contains("cut") {
            // Announce 100 000 bytes, send half, then break the connection.
            let half = served[..50_000].to_vec();
            let body = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(bytes::Bytes::from(half)),
                Err(std::io::Error::other("cut")),
            ]);
            Reply::Now(([("content-length", "100000")], Body::from_stream(body)).into_response())
        } else {
            Reply::Now(served.clone().into_response())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let client = server.client();

    let done = Arc::new(Mutex::new(Vec::new()));
    let log = done.clone();
    let progress: Progress = Arc::new(move |done, total| log.lock().unwrap().push((done, total)));
    let dest = dir.path().join("scan.nii.gz");
    let n = client
        .download(
            Download::new(
                Request::get(["acquisitions", "a1", "files", "scan.nii.gz"]),
                &dest,
            )
            .progress(progress),
        )
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    assert_eq!(done.lock().unwrap().last(), Some(&(100_000, 100_000)));
    assert_eq!(
        server.seen()[0].header("accept"),
        Some("application/octet-stream")
    );

    // A download cut halfway: an error, nothing under the final name, no temp file left.
    let cut = dir.path().join("cut.bin");
    let err = client
        .download(Download::new(
            Request::get(["acquisitions", "a1", "files", "cut"]),
            &cut,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Send { .. } | Error::SizeMismatch { .. }),
        "{err:?}"
    );
    assert!(!cut.exists());
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["scan.nii.gz"]);

    // An earlier good file survives a failed re-download.
    let err = client
        .download(Download::new(
            Request::get(["acquisitions", "a1", "files", "cut"]),
            &dest,
        ))
        .await;
    assert!(err.is_err());
    assert_eq!(std::fs::read(&dest).unwrap(), content);
}

/// A server that sends `content` for `/whole`, cuts `/cut` after `cut_at` bytes unless the
/// request asks for a range, and answers `Range: bytes=n-` with a 206.
fn ranged_server(content: Vec<u8>, cut_at: usize) -> impl Fn(&Seen, usize) -> Reply {
    move |seen, _| {
        if let Some(from) = seen
            .header("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            let rest = content[from..].to_vec();
            let range = format!("bytes {from}-{}/{}", content.len() - 1, content.len());
            return Reply::Now(
                (
                    StatusCode::PARTIAL_CONTENT,
                    [("content-range", range)],
                    rest,
                )
                    .into_response(),
            );
        }
        if seen.uri.contains("cut") {
            // The break comes a moment after the first bytes, so they reach the client.
            let body = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(bytes::Bytes::from(content[..cut_at].to_vec())),
                Err(std::io::Error::other("cut")),
            ])
            .then(|item| async move {
                if item.is_err() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                item
            });
            let length = content.len().to_string();
            return Reply::Now(
                ([("content-length", length)], Body::from_stream(body)).into_response(),
            );
        }
        Reply::Now(content.clone().into_response())
    }
}

#[tokio::test]
async fn a_cut_download_resumes_with_a_range_and_the_hash_covers_the_whole_file() {
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::write(&reference, &content).unwrap();
    let (size, hash) = hash_file(&reference).await.unwrap();
    assert_eq!(size, 300_000);
    let server = Server::start(ranged_server(content.clone(), 120_000)).await;
    let client = server.client();
    let dest = dir.path().join("scan.bin");
    let download = Download::new(Request::get(["files", "cut"]), &dest)
        .expected_size(size)
        .expected_hash(&hash)
        .resume(true);
    let err = client.download(download.clone()).await.unwrap_err();
    assert!(matches!(err, Error::Send { .. }), "{err:?}");
    assert!(!dest.exists(), "nothing under the final name");
    let partial = download.partial_path().unwrap();
    assert_eq!(std::fs::read(&partial).unwrap(), content[..120_000]);

    let n = client.download(download.clone()).await.unwrap();
    assert_eq!(n, 300_000);
    assert_eq!(std::fs::read(&dest).unwrap(), content, "byte-identical");
    assert!(!partial.exists());
    let seen = server.seen();
    assert_eq!(seen[0].header("range"), None);
    assert_eq!(seen[1].header("range"), Some("bytes=120000-"));

    // A partial file whose bytes are wrong (an older version's): the range is asked for,
    // the hash over the whole file catches it, and the file is fetched once more from its
    // first byte.
    let other = dir.path().join("other.bin");
    let download = Download::new(Request::get(["files", "whole"]), &other)
        .expected_size(size)
        .expected_hash(&hash)
        .resume(true);
    std::fs::write(download.partial_path().unwrap(), vec![0u8; 1000]).unwrap();
    let before = server.seen().len();
    let n = client.download(download.clone()).await.unwrap();
    assert_eq!(n, 300_000);
    assert_eq!(std::fs::read(&other).unwrap(), content, "byte-identical");
    assert!(!download.partial_path().unwrap().exists());
    let seen = server.seen();
    assert_eq!(seen.len(), before + 2);
    assert_eq!(seen[before].header("range"), Some("bytes=1000-"));
    assert_eq!(seen[before + 1].header("range"), None);
}

#[tokio::test]
async fn a_download_whose_hash_differs_is_an_error_and_leaves_nothing() {
    let content = b"the bytes the server has".to_vec();
    let server = Server::start(ranged_server(content.clone(), 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("f.txt");
    let wrong = format!("v0-sha384-{}", "ab".repeat(48));
    let err = server
        .client()
        .download(Download::new(Request::get(["files", "whole"]), &dest).expected_hash(&wrong))
        .await
        .unwrap_err();
    match &err {
        Error::HashMismatch {
            expected, computed, ..
        } => {
            assert_eq!(expected, &wrong);
            assert!(computed.starts_with("v0-sha384-") && computed != &wrong);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no temp file"
    );
    // A wrong size is caught as well, and a hash of another form is refused unsent.
    let err = server
        .client()
        .download(Download::new(Request::get(["files", "whole"]), &dest).expected_size(3))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SizeMismatch { expected: 3, .. }),
        "{err:?}"
    );
    let before = server.seen().len();
    let err = server
        .client()
        .download(Download::new(Request::get(["files", "whole"]), &dest).expected_hash("md5-x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert_eq!(server.seen().len(), before);
    assert!(!dest.exists());
}

#[tokio::test]
async fn multipart_uploads_stream_metadata_then_file() {
    let server =
        Server::start(|_, _| json_reply(200, json!([{"name": "hello.txt", "size": 11}]))).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.txt");
    std::fs::write(&path, b"hello world").unwrap();
    let done = Arc::new(Mutex::new(0u64));
    let log = done.clone();
    let progress: Progress = Arc::new(move |d, t| {
        assert_eq!(t, 11);
        *log.lock().unwrap() = d;
    });
    let files = server
        .client()
        .upload(
            Upload::new(
                UploadTarget::new("containers", "c1"),
                UploadSource::Path(path),
            )
            .mode(UploadMode::Multipart)
            .metadata(json!({"type": "text", "info": {"x": 1}}))
            .progress(progress),
        )
        .await
        .unwrap();
    assert_eq!(files[0].name.as_deref(), Some("hello.txt"));
    assert_eq!(*done.lock().unwrap(), 11);
    let seen = &server.seen()[0];
    assert_eq!(
        (seen.method.as_str(), seen.uri.as_str()),
        ("POST", "/api/containers/c1/files")
    );
    assert!(
        seen.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let body = String::from_utf8_lossy(&seen.body);
    let metadata = body.find(r#"name="metadata""#).unwrap();
    let file = body.find(r#"name="file"; filename="hello.txt""#).unwrap();
    assert!(metadata < file, "metadata comes first:\n{body}");
    assert!(body.contains(r#"{"info":{"x":1},"type":"text"}"#), "{body}");
    assert!(
        body.contains("Content-Type: text/plain\r\n\r\nhello world\r\n"),
        "{body}"
    );
}

#[tokio::test]
async fn uploads_from_a_reader_are_sent_once() {
    let server = Server::start(|_, i| {
        if i == 0 {
            json_reply(503, json!({}))
        } else {
            json_reply(200, json!([]))
        }
    })
    .await;
    let reader = Box::new(std::io::Cursor::new(b"streamed bytes".to_vec()));
    let err = server
        .client()
        .upload(
            Upload::new(
                UploadTarget::new("acquisitions", "a1"),
                UploadSource::Reader {
                    name: "s.bin".into(),
                    size: 14,
                    reader,
                },
            )
            .mode(UploadMode::Multipart),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.seen().len(), 1, "a reader cannot be replayed");
}

/// A server for the signed-URL flow: tickets point at its own `/storage…s3…` paths.
fn signed_server(port_cell: Arc<Mutex<u16>>, fail_storage: bool) -> impl Fn(&Seen, usize) -> Reply {
    move |seen, _| {
        let port = *port_cell.lock().unwrap();
        if seen.uri.starts_with("/storage") {
            if fail_storage {
                return Reply::Now(StatusCode::FORBIDDEN.into_response());
            }
            let tag = if seen.uri.contains("part1") {
                "\"e1\""
            } else {
                "\"e2\""
            };
            return Reply::Now((StatusCode::OK, [("etag", tag)]).into_response());
        }
        if seen.uri.ends_with("?ticket=") {
            let base = format!("http://127.0.0.1:{port}/storage.s3.local");
            return json_reply(
                200,
                json!({"ticket": "T1", "urls": {"big.bin": [format!("{base}/part1?uploadId=U9"), format!("{base}/part2?uploadId=U9")]}, "headers": {"Content-Type": "application/octet-stream"}}),
            );
        }
        json_reply(200, json!([{"name": "big.bin", "size": 614_400}]))
    }
}

#[tokio::test]
async fn signed_url_uploads_send_aligned_parts_and_close_with_etags() {
    let port = Arc::new(Mutex::new(0));
    let server = Server::start(signed_server(port.clone(), false)).await;
    *port.lock().unwrap() = server.port;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let content: Vec<u8> = (0..614_400u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    let files = server
        .client()
        .upload(
            Upload::new(
                UploadTarget::new("acquisitions", "a1"),
                UploadSource::Path(path),
            )
            .mode(UploadMode::Signed)
            .metadata(json!({"type": "binary"})),
        )
        .await
        .unwrap();
    assert_eq!(files[0].size, Some(614_400));
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].uri, "/api/acquisitions/a1/files?ticket=");
    let open: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(
        open,
        json!({"metadata": {"type": "binary", "name": "big.bin", "size": 614_400}, "filenames": ["big.bin"]})
    );
    // The parts go concurrently, so they may arrive in either order; the close lists
    // their ETags in part order all the same.
    let mut parts = seen[1..3].to_vec();
    parts.sort_by(|a, b| a.uri.cmp(&b.uri));
    assert!(parts[0].uri.contains("part1") && parts[1].uri.contains("part2"));
    for (part, (range, len)) in parts
        .iter()
        .zip([(0..524_288, "524288"), (524_288..614_400, "90112")])
    {
        assert_eq!(part.method, "PUT");
        assert_eq!(part.header("authorization"), None, "no API key to storage");
        assert_eq!(part.header("x-accept-feature"), None);
        assert_eq!(
            part.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(part.header("content-length"), Some(len));
        assert_eq!(part.body, content[range]);
    }
    assert_eq!(seen[3].uri, "/api/acquisitions/a1/files?ticket=T1");
    let close: Value = serde_json::from_slice(&seen[3].body).unwrap();
    assert_eq!(
        close,
        json!({"multipart": {"e_tags": ["e1", "e2"], "upload_id": "U9"}})
    );
}

/// A signed upload of `content` as `name` to acquisition `a1` that must fail; its error.
async fn failed_signed_upload(server: &Server, name: &str, content: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let target = UploadTarget::new("acquisitions", "a1");
    server
        .client()
        .upload(Upload::new(target, UploadSource::Path(path)).mode(UploadMode::Signed))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_ticket_reply_without_a_ticket_id_is_an_error_and_nothing_follows() {
    for reply in [
        json!({"urls": {"f.bin": "http://127.0.0.1:1/storage.s3.local/f"}}),
        json!({"ticket": "", "urls": {"f.bin": "http://127.0.0.1:1/storage.s3.local/f"}}),
        json!({"ticket": null, "urls": {}}),
    ] {
        let server = Server::start(move |_, _| json_reply(200, reply.clone())).await;
        let err = failed_signed_upload(&server, "f.bin", b"abc").await;
        assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "the reply to POST http://127.0.0.1:{}/api/acquisitions/a1/files?ticket= \
                 cannot be used: the upload ticket reply has no ticket id",
                server.port
            )
        );
        // Only the ticket request: no storage PUT, and above all no `?ticket=` "close"
        // that would ask for a new ticket.
        assert_eq!(server.uris(), ["/api/acquisitions/a1/files?ticket="]);
    }
}

#[tokio::test]
async fn a_failed_storage_put_still_closes_the_ticket() {
    let port = Arc::new(Mutex::new(0));
    let server = Server::start(signed_server(port.clone(), true)).await;
    *port.lock().unwrap() = server.port;
    let err = failed_signed_upload(&server, "big.bin", &[7u8; 1000]).await;
    assert_eq!(err.status(), Some(403));
    let uris = server.uris();
    assert_eq!(
        uris.first().map(String::as_str),
        Some("/api/acquisitions/a1/files?ticket=")
    );
    assert_eq!(
        uris.last().map(String::as_str),
        Some("/api/acquisitions/a1/files?ticket=T1")
    );
    assert!(server.seen().last().unwrap().body.is_empty());
}

#[tokio::test]
async fn auto_mode_asks_the_config_first() {
    let server = Server::start(|seen, _| {
        if seen.uri == "/api/config" {
            json_reply(
                200,
                json!({"features": {"signed_url": false}, "signed_url": false}),
            )
        } else {
            json_reply(200, json!([{"name": "a.txt"}]))
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.txt");
    std::fs::write(&path, b"a").unwrap();
    server
        .client()
        .upload(
            Upload::new(
                UploadTarget::new("sessions", "s1"),
                UploadSource::Path(path),
            )
            .mode(UploadMode::Auto),
        )
        .await
        .unwrap();
    assert_eq!(server.uris(), ["/api/config", "/api/sessions/s1/files"]);
}

/// The names in a folder, sorted.
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_fetched_download_is_in_place_only_once_persisted() {
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 239) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::write(&reference, &content).unwrap();
    let (size, hash) = hash_file(&reference).await.unwrap();
    std::fs::remove_file(&reference).unwrap();
    let server = Server::start(ranged_server(content.clone(), usize::MAX)).await;
    let client = server.client();
    assert!(client.syncs_downloads(), "synced by default");
    let dest = dir.path().join("scan.bin");
    let download = Download::new(Request::get(["files", "f"]), &dest)
        .expected_size(size)
        .expected_hash(&hash)
        .resume(true);

    // Checked but not persisted: only a hidden temporary file, gone when dropped (a
    // resumable download keeps nothing once its bytes were checked).
    let fetched = client.fetch(download.clone()).await.unwrap();
    assert_eq!((fetched.size(), fetched.destination()), (300_000, &*dest));
    let names = names_in(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(names[0].starts_with(".scan.bin"), "{names:?}");
    drop(fetched);
    assert!(names_in(dir.path()).is_empty());

    let fetched = client.fetch(download).await.unwrap();
    assert_eq!(fetched.persist().await.unwrap(), 300_000);
    assert_eq!(names_in(dir.path()), ["scan.bin"]);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    sync_directory(dir.path()).await.unwrap();
}

#[tokio::test]
async fn a_cut_download_without_a_hash_resumes_from_the_bytes_on_disk() {
    // Nothing to verify against but the size: the kept bytes are not read again.
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 233) as u8).collect();
    let server = Server::start(ranged_server(content.clone(), 50_000)).await;
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("archive.tar");
    let download = Download::new(Request::get(["files", "cut"]), &dest)
        .expected_size(200_000)
        .resume(true);
    client.download(download.clone()).await.unwrap_err();
    assert!(!dest.exists());
    assert_eq!(client.download(download).await.unwrap(), 200_000);
    assert_eq!(std::fs::read(&dest).unwrap(), content);
    let seen = server.seen();
    assert_eq!(seen[1].header("range"), Some("bytes=50000-"));
}
