//! What the HTTP tests share: a server in a temporary directory, a client, a hierarchy.
#![allow(dead_code)] // not every helper is used by every module

use fw_server::{Running, ServerConfig};
use serde_json::{Value, json};

pub(crate) struct TestServer {
    /// The in-process server, when the test did not start the binary itself.
    pub(crate) _running: Option<Running>,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) const ADMIN: &str = "admin-secret";

pub(crate) async fn start() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    start_in(dir).await
}

pub(crate) async fn start_in(dir: tempfile::TempDir) -> TestServer {
    let running = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(ADMIN.into()),
        signed_urls: false,
        limits: Default::default(),
    })
    .await
    .unwrap();
    let base = format!("http://{}/api", running.addr);
    TestServer {
        _running: Some(running),
        base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestServer {
    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("scitran-user {key}"))
            .header("Content-Type", "application/json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub(crate) async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, reply) = self.call(method, path, ADMIN, body).await;
        assert!(status < 300, "{method} {path}: {status} {reply}");
        reply
    }

    pub(crate) async fn create(&self, collection: &str, body: Value) -> String {
        self.ok("POST", &format!("/{collection}"), Some(body)).await["_id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Adds a user with a key (as `fw-server user add` does) and returns the key.
    pub(crate) fn add_user(&self, id: &str) -> String {
        fw_server::add_user_key(self._dir.path(), id, &json!({}), Some(&format!("key-{id}")))
            .unwrap()
    }

    /// Gives `user` the role `role_id` on a project (as its admin).
    pub(crate) async fn grant(&self, project: &str, user: &str, role_id: &str) {
        self.ok(
            "POST",
            &format!("/projects/{project}/permissions"),
            Some(json!({"_id": user, "role_ids": [role_id]})),
        )
        .await;
    }
}

/// The default roles' ids.
pub(crate) const RO_ROLE: &str = "000000000000000000000a03";
pub(crate) const RW_ROLE: &str = "000000000000000000000a02";

/// grp1 / Proj / sub1 / ses1 / T1w
pub(crate) async fn hierarchy(server: &TestServer) -> (String, String, String, String) {
    server
        .ok(
            "POST",
            "/groups",
            Some(json!({"_id": "grp1", "label": "Group One"})),
        )
        .await;
    let project = server
        .create("projects", json!({"label": "Proj", "group": "grp1"}))
        .await;
    let session = server
        .create(
            "sessions",
            json!({"label": "ses1", "project": project, "subject": {"code": "sub1"}}),
        )
        .await;
    let subject = server
        .ok("GET", &format!("/sessions/{session}"), None)
        .await["subject"]["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let acquisition = server
        .create("acquisitions", json!({"label": "T1w", "session": session}))
        .await;
    (project, subject, session, acquisition)
}

pub(crate) async fn upload(
    server: &TestServer,
    path: &str,
    key: &str,
    name: &str,
    bytes: &[u8],
    metadata: Option<Value>,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new();
    if let Some(metadata) = metadata {
        form = form.text("metadata", metadata.to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
    );
    let response = server
        .http
        .post(format!("{}{path}", server.base))
        .header("Authorization", format!("scitran-user {key}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}
