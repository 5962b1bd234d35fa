//! Hostile and unlucky clients (issue 16, Robustness): what the request log shows, JSON
//! errors for everything the framework refuses, slow and idle connections, a full disk.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use fw_server::ServerConfig;
use serde_json::json;

/// Starts a server with `signed_urls` on, letting `edit` change the rest of the config.
async fn start_configured(edit: impl FnOnce(&mut ServerConfig)) -> TestServer {
    start_with(tempfile::tempdir().unwrap(), |config| {
        config.signed_urls = true;
        edit(config);
    })
    .await
}

/// Everything logged by this test binary from the first call on (one global subscriber;
/// other tests' lines land here too, so readers look for their own).
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(log.clone());
        tracing_subscriber::fmt()
            .with_env_filter("fw_server=info")
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
    .clone()
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn tickets_are_not_written_to_the_request_log() {
    let log = captured_log();
    let server = start_configured(|_| {}).await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let (upload_ticket, url) = server.open_ticket_for_a_txt(&files).await;
    let put = server.http.put(&url).body("hello").send().await.unwrap();
    assert_eq!(put.status(), 200);
    server
        .ok("POST", &format!("{files}?ticket={upload_ticket}"), None)
        .await;
    let download_ticket = server.get(&format!("{files}/a.txt?ticket=")).await["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let download = server
        .http
        .get(format!(
            "{}{files}/a.txt?ticket={download_ticket}",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap(), "hello");

    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("PUT /storage/<ticket>/a.txt 200"),
        "the storage PUT is logged, its ticket hidden:\n{text}"
    );
    assert!(
        text.contains(&format!("GET /api{files}/a.txt 200")),
        "{text}"
    );
    for ticket in [&upload_ticket, &download_ticket] {
        assert!(!text.contains(ticket.as_str()), "{ticket} is in the log");
    }
}

/// Asserts that a reply is the JSON error shape with `status`, and returns its message.
async fn json_error(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status_code"], status, "{body}");
    assert!(
        body["request_id"].as_str().is_some_and(|id| !id.is_empty()),
        "{body}"
    );
    body["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_rejection_before_a_handler_is_a_json_error_with_its_status() {
    let server = start().await;
    let root = server.base.trim_end_matches("/api").to_string();
    let send = |method: reqwest::Method, url: String| {
        server
            .http
            .request(method, url)
            .header("Authorization", format!("scitran-user {ADMIN}"))
    };
    // Path parameters that are not UTF-8, on routes of every extractor kind.
    for path in [
        "/api/files/%FF",
        "/api/projects/%FF%FE",
        "/api/projects/%C3/files/a.txt",
    ] {
        let message = json_error(
            send(reqwest::Method::GET, format!("{root}{path}"))
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert!(message.contains("UTF-8"), "{path}: {message}");
    }
    let put = send(reqwest::Method::PUT, format!("{root}/storage/%FF/a.txt")).body("x");
    let message = json_error(put.send().await.unwrap(), 400).await;
    assert!(message.contains("UTF-8"), "{message}");

    // A JSON body over the limit is 413, however it arrives, and nothing is created.
    let big = format!(r#"{{"_id": "big", "label": "{}"}}"#, "x".repeat(17 << 20));
    let post = send(reqwest::Method::POST, format!("{root}/api/groups"))
        .header("Content-Type", "application/json")
        .body(big.clone());
    let message = json_error(post.send().await.unwrap(), 413).await;
    assert_eq!(
        message,
        format!("the body is larger than {} bytes", 16 << 20)
    );
    let chunked = futures_util::stream::iter(
        big.into_bytes()
            .chunks(1 << 20)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let post = send(reqwest::Method::POST, format!("{root}/api/groups"))
        .header("Content-Type", "application/json")
        .body(reqwest::Body::wrap_stream(chunked));
    json_error(post.send().await.unwrap(), 413).await;
    server.expect("GET", "/groups/big", None, 404).await;

    // Unknown routes and methods: routes and methods fw-server does not serve are 501s
    // naming the route (docs/wire.md §15.4).
    let cases = [
        (
            reqwest::Method::GET,
            "/api/nowhere",
            501,
            "GET /api/nowhere is not implemented by fw-server",
        ),
        (
            reqwest::Method::GET,
            "/elsewhere",
            501,
            "GET /elsewhere is not implemented by fw-server",
        ),
        (
            reqwest::Method::DELETE,
            "/api/version",
            501,
            "DELETE /api/version is not implemented by fw-server",
        ),
    ];
    for (method, path, status, expected) in cases {
        let response = send(method, format!("{root}{path}")).send().await.unwrap();
        assert_eq!(json_error(response, status).await, expected, "{path}");
    }
}

/// A small tmpfs mounted on a temporary directory (needs root), unmounted on drop.
struct SmallDisk {
    mount: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let mount = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(mount.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(SmallDisk { mount })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.mount.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_is_507_and_loses_nothing() {
    let Some(disk) = SmallDisk::mount(4 << 20) else {
        // The error mapping itself is tested without a disk (error.rs, store.rs).
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let server = start_in(tempfile::tempdir_in(disk.mount.path()).unwrap()).await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let data = server._dir.path().to_path_buf();

    // A file larger than the disk: 507, and no trace of it.
    let (status, reply) = server
        .upload_as_admin(&files, "big.bin", &vec![7; 6 << 20], None)
        .await;
    assert_eq!(
        (status, reply["status_code"].as_u64()),
        (507, Some(507)),
        "{reply}"
    );
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot write an upload"),
        "{reply}"
    );
    assert_eq!(std::fs::read_dir(data.join("tmp")).unwrap().count(), 0);
    let doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(doc["files"], json!([]));
    // The space came back: a small file fits.
    assert_eq!(
        server
            .upload_as_admin(&files, "small.txt", b"small", None)
            .await
            .0,
        200
    );

    // Fill the disk, then write to the database until SQLite finds no room: 507 too.
    let mut filler = std::fs::File::create(disk.mount.path().join("filler")).unwrap();
    let chunk = vec![0u8; 64 << 10];
    for _ in 0..(4 << 20) / chunk.len() + 1 {
        if filler
            .write_all(&chunk)
            .and_then(|()| filler.sync_all())
            .is_err()
        {
            break;
        }
    }
    let info = json!({"blob": "y".repeat(200 << 10)});
    let mut refused = None;
    for i in 0..40 {
        let body = json!({"label": format!("full{i}"), "group": "grp1", "info": info});
        let (status, reply) = server.admin("POST", "/projects", Some(body)).await;
        if status != 200 {
            refused = Some((i, status, reply));
            break;
        }
    }
    let (i, status, reply) = refused.expect("the disk never filled");
    assert_eq!(
        (status, reply["status_code"].as_u64()),
        (507, Some(507)),
        "{reply}"
    );
    let found = server.get(&format!("/projects?filter=label=full{i}")).await;
    assert_eq!(found, json!([]));
    // Reads still work, and once space is freed, so do writes.
    server
        .expect("GET", &files.replace("/files", ""), None, 200)
        .await;
    drop(filler);
    std::fs::remove_file(disk.mount.path().join("filler")).unwrap();
    let body = json!({"label": format!("full{i}"), "group": "grp1"});
    server.expect("POST", "/projects", Some(body), 200).await;
}

/// Short timeouts and a small bound, so the tests below take a second or two.
fn tight(config: &mut ServerConfig) {
    config.limits = fw_server::Limits {
        header_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(500),
        max_connections: 8,
        ..fw_server::Limits::default()
    };
}

/// `host:port` of a test server, for raw sockets.
pub(crate) fn address(server: &TestServer) -> String {
    let root = server.base.trim_end_matches("/api");
    root.trim_start_matches("http://").to_string()
}

/// Reads a socket until the server closes it (end of file or a reset); `None` if it is
/// still open after `within`.
pub(crate) async fn read_until_closed(
    socket: &mut tokio::net::TcpStream,
    within: Duration,
) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = vec![0u8; 64 << 10];
        loop {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    });
    read.await.ok().map(|()| received)
}

#[tokio::test]
async fn idle_sockets_past_the_bound_do_not_lock_others_out() {
    let server = start_configured(tight).await;
    let addr = address(&server);
    // Three times the bound of sockets that never send a byte.
    let mut idle = Vec::new();
    for _ in 0..24 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // A client with a request is answered once idle sockets time out.
    let started = std::time::Instant::now();
    let version = tokio::time::timeout(Duration::from_secs(10), server.get("/version"))
        .await
        .expect("a normal client was not answered");
    assert!(version["flywheel_release"].is_string(), "{version}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Every idle socket is closed by the server, without a reply.
    for socket in &mut idle {
        let received = read_until_closed(socket, Duration::from_secs(10)).await;
        assert_eq!(
            received,
            Some(Vec::new()),
            "an idle socket stayed open or got bytes"
        );
    }
}

#[tokio::test]
async fn a_stalled_request_body_is_answered_408_after_the_idle_timeout() {
    let server = start_configured(tight).await;
    let addr = address(&server);
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/groups HTTP/1.1\r\nHost: x\r\nAuthorization: scitran-user {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"_id\": "
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let reply = read_until_closed(&mut socket, Duration::from_secs(10))
        .await
        .expect("the stalled connection stayed open");
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(
        reply.contains("no byte of the request body arrived for 0.5 s (the idle timeout)"),
        "{reply}"
    );
    assert!(reply.contains(r#""status_code":408"#), "{reply}");
}

#[tokio::test]
async fn a_client_that_takes_no_reply_is_cut_after_the_idle_timeout() {
    let server = start_configured(tight).await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let size = 16 << 20;
    assert_eq!(
        server
            .upload_as_admin(&files, "big.bin", &vec![1; size], None)
            .await
            .0,
        200
    );
    let addr = address(&server);
    let mut socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /api{files}/big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: scitran-user {ADMIN}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    // Take nothing for longer than the idle timeout: the server gives up on the reply.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = read_until_closed(&mut socket, Duration::from_secs(10))
        .await
        .expect("the connection stayed open");
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(
        received.len() < size,
        "all {} bytes arrived",
        received.len()
    );
}
