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
    start_with(dir, |_| {}).await
}

/// A server that serves signed-URL uploads.
pub(crate) async fn start_signed() -> TestServer {
    start_with(tempfile::tempdir().unwrap(), |config| {
        config.signed_urls = true
    })
    .await
}

/// A server over `dir` with the admin key [`ADMIN`], and the settings `configure` makes.
pub(crate) async fn start_with(
    dir: tempfile::TempDir,
    configure: impl FnOnce(&mut ServerConfig),
) -> TestServer {
    let mut config = ServerConfig {
        admin_key: Some(ADMIN.into()),
        ..ServerConfig::new(dir.path())
    };
    configure(&mut config);
    let running = fw_server::start(config).await.unwrap();
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

    /// `GET path` as the admin; asserts a 2xx and returns the reply.
    pub(crate) async fn get(&self, path: &str) -> Value {
        self.ok("GET", path, None).await
    }

    /// `POST path` with `body` as the admin; asserts a 2xx and returns the reply.
    pub(crate) async fn post(&self, path: &str, body: Value) -> Value {
        self.ok("POST", path, Some(body)).await
    }

    /// `PUT path` with `body` as the admin; asserts a 2xx and returns the reply.
    pub(crate) async fn put(&self, path: &str, body: Value) -> Value {
        self.ok("PUT", path, Some(body)).await
    }

    /// `PATCH path` with `body` as the admin; asserts a 2xx and returns the reply.
    pub(crate) async fn patch(&self, path: &str, body: Value) -> Value {
        self.ok("PATCH", path, Some(body)).await
    }

    /// `DELETE path` as the admin; asserts a 2xx and returns the reply.
    pub(crate) async fn delete(&self, path: &str) -> Value {
        self.ok("DELETE", path, None).await
    }

    /// [`TestServer::call`] with the admin key: the status and the reply, whatever they are.
    pub(crate) async fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call(method, path, ADMIN, body).await
    }

    /// Asserts that the admin's `method path` (with `body`) answers `expected`; returns the
    /// reply.
    pub(crate) async fn expect(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        expected: u16,
    ) -> Value {
        let (status, reply) = self.admin(method, path, body).await;
        assert_eq!(status, expected, "{method} {path}: {reply}");
        reply
    }

    /// The status of [`TestServer::admin`]'s reply.
    pub(crate) async fn status(&self, method: &str, path: &str, body: Option<Value>) -> u16 {
        self.admin(method, path, body).await.0
    }

    /// [`upload`] with the admin key: the status and the reply, whatever they are.
    pub(crate) async fn upload_as_admin(
        &self,
        path: &str,
        name: &str,
        bytes: &[u8],
        metadata: Option<Value>,
    ) -> (u16, Value) {
        upload(self, path, ADMIN, name, bytes, metadata).await
    }

    /// Uploads `bytes` as file `name` to `path` (`/{coll}/{id}/files`) as the admin, with
    /// no metadata; asserts a 2xx.
    pub(crate) async fn add_file(&self, path: &str, name: &str, bytes: &[u8]) {
        let (status, reply) = upload(self, path, ADMIN, name, bytes, None).await;
        assert!(status < 300, "upload {name} to {path}: {status} {reply}");
    }

    /// A request to `path` with the admin key, for a test that sets its own headers or body.
    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("scitran-user {ADMIN}"))
    }

    /// `GET path` with `key`, the status and the body's bytes (downloads).
    pub(crate) async fn bytes(&self, path: &str, key: &str) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("scitran-user {key}"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// Opens a signed-URL upload ticket for one 5-byte file `a.txt` on `files`
    /// (`/{coll}/{id}/files`); returns the ticket and the storage URL to `PUT` the bytes to.
    pub(crate) async fn open_ticket_for_a_txt(&self, files: &str) -> (String, String) {
        let body = json!({"metadata": {"name": "a.txt", "size": 5}, "filenames": ["a.txt"]});
        let opened = self.post(&format!("{files}?ticket="), body).await;
        let ticket = opened["ticket"].as_str().unwrap().to_string();
        let url = opened["urls"]["a.txt"].as_str().unwrap().to_string();
        (ticket, url)
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

/// The `key` of every item of a list reply (or of its `results`), in order; panics on an
/// item without a string there.
pub(crate) fn ids<'a>(items: &'a Value, key: &str) -> Vec<&'a str> {
    let items = items.get("results").unwrap_or(items);
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item[key]
                .as_str()
                .unwrap_or_else(|| panic!("no {key} in {item}"))
        })
        .collect()
}

/// An error reply's `message`; panics when there is none.
pub(crate) fn message(reply: &Value) -> &str {
    reply["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {reply}"))
}

/// Asserts that a `(status, reply)` pair is the refusal `status` whose message contains
/// `fragment`.
#[track_caller]
pub(crate) fn refused((status, reply): (u16, Value), expected: u16, fragment: &str) {
    assert_eq!(status, expected, "{reply}");
    assert!(
        message(&reply).contains(fragment),
        "{fragment:?} not in {reply}"
    );
}

/// A request's reply read as JSON, for requests a test builds itself.
pub(crate) trait JsonReply {
    /// Sends the request and parses the reply's body, whatever its status.
    async fn json_reply(self) -> Value;
}

impl JsonReply for reqwest::RequestBuilder {
    async fn json_reply(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// The lines the fw-server binary prints on its stdout.
pub(crate) type Printed = std::io::Lines<std::io::BufReader<std::process::ChildStdout>>;

/// Starts the fw-server binary (`serve --create --addr 127.0.0.1:0`, then `args`, then
/// `--data-dir dir`), its stderr going to `stderr`; returns it and the lines it prints.
pub(crate) fn spawn_binary(
    dir: &std::path::Path,
    args: &[&str],
    stderr: std::process::Stdio,
) -> (std::process::Child, Printed) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fw-server"))
        .args(["serve", "--create", "--addr", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    (child, lines)
}
