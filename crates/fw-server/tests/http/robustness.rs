//! Hostile and unlucky clients (issue 16, Robustness): what the request log shows, JSON
//! errors for everything the framework refuses, slow and idle connections, a full disk.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::*;
use fw_server::ServerConfig;
use serde_json::json;

/// Starts a server with `signed_urls` on, letting `edit` change the rest of the config.
async fn start_configured(edit: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(ADMIN.into()),
        signed_urls: true,
    };
    edit(&mut config);
    let running = fw_server::start(config).await.unwrap();
    TestServer {
        base: format!("http://{}/api", running.addr),
        _running: Some(running),
        http: reqwest::Client::new(),
        _dir: dir,
    }
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
    let opened = server
        .ok(
            "POST",
            &format!("{files}?ticket="),
            Some(json!({"metadata": {"name": "a.txt", "size": 5}, "filenames": ["a.txt"]})),
        )
        .await;
    let upload_ticket = opened["ticket"].as_str().unwrap().to_string();
    let url = opened["urls"]["a.txt"].as_str().unwrap().to_string();
    let put = server.http.put(&url).body("hello").send().await.unwrap();
    assert_eq!(put.status(), 200);
    server
        .ok("POST", &format!("{files}?ticket={upload_ticket}"), None)
        .await;
    let download_ticket = server
        .ok("GET", &format!("{files}/a.txt?ticket="), None)
        .await["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let download = server
        .http
        .get(format!("{}{files}/a.txt?ticket={download_ticket}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap(), "hello");

    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("PUT /storage/<ticket>/a.txt 200"),
        "the storage PUT is logged, its ticket hidden:\n{text}"
    );
    assert!(text.contains(&format!("GET /api{files}/a.txt 200")), "{text}");
    for ticket in [&upload_ticket, &download_ticket] {
        assert!(!text.contains(ticket.as_str()), "{ticket} is in the log");
    }
}
