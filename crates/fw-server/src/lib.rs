//! A local, Flywheel-compatible server: an embedded SQLite database in a data directory
//! behind the Flywheel REST API, faithful enough that the official Python SDK
//! (flywheel-sdk 23.0.0) runs against it unmodified. The embedded default of the Rust SDK's
//! examples and tests.
//!
//! It serves users, keys, version and configuration, roles and modalities, the container
//! hierarchy (groups, projects, subjects, sessions, acquisitions, analyses) with finders and
//! paging, lookup and resolve, info, tags, notes, permissions, FlyQL search, and files
//! (uploads, signed-URL uploads, versions, downloads, metadata, zip members, and bulk tar
//! and zip archives); the crate README lists the endpoints.
//!
//! Started inside a program (as fw-sdk's `local` feature, the tests and
//! `examples/embedded.rs` do), on a free port of 127.0.0.1 over a data directory:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data_dir = tempfile::tempdir()?;
//! let server = fw_server::start(fw_server::ServerConfig {
//!     admin_key: Some("secret".into()),
//!     ..fw_server::ServerConfig::new(data_dir.path())
//! })
//! .await?;
//! // The key any Flywheel client takes: `127.0.0.1:PORT:__force_insecure:secret`.
//! assert!(server.admin_api_key().ends_with(":__force_insecure:secret"));
//! server.stop().await?;
//! # Ok(())
//! # }
//! ```

mod access;
mod archive;
mod auth;
mod bulk;
mod connections;
mod containers;
mod error;
mod files;
mod ids;
mod json;
mod kind;
mod lookup;
mod metadata;
mod modalities;
mod parse_errors;
mod record;
mod rejections;
mod request_log;
mod roles;
mod routes;
mod search;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

pub use auth::BOOTSTRAP_ADMIN;
pub use connections::Limits;
use store::Store;

/// How to run a server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen; port 0 picks a free one.
    pub addr: SocketAddr,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// The bootstrap admin's key secret; random (and kept) when not given.
    pub admin_key: Option<String>,
    /// Serve signed-URL uploads (tickets, and storage URLs on this server).
    pub signed_urls: bool,
    /// Append every request received to this file (created if missing), one JSON line
    /// each, once its handler has answered:
    /// `{"method": "POST", "path": "/api/projects", "query": {"inherit": "true"}, "body": {…}}`.
    /// `path` is as received (percent-encoded); `query` holds the decoded parameters (a
    /// repeated name has an array of values; `{}` for none); `body` is the JSON body,
    /// `null` for none, `{"multipart": [part names]}` for a form, `{"bytes": n}` for
    /// anything else. For comparing what two clients send (`cargo xtask test` compares
    /// the official Python SDK with fw-sdk this way). `None`: record nothing.
    pub record_requests: Option<PathBuf>,
    /// Timeouts, the connection bound, and the database's read connections.
    pub limits: Limits,
}

impl ServerConfig {
    /// A server on a free port of 127.0.0.1 over `data_dir`: random admin key, no signed
    /// URLs, no recording, default [`Limits`]. Set the public fields to change any of these.
    pub fn new(data_dir: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            admin_key: None,
            signed_urls: false,
            record_requests: None,
            limits: Limits::default(),
        }
    }
}

/// A running server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The bootstrap admin's key secret.
    pub admin_secret: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The full API key of the bootstrap admin: `HOST:PORT:__force_insecure:SECRET`.
    pub fn admin_api_key(&self) -> String {
        api_key(self.addr, &self.admin_secret)
    }

    /// Stops accepting connections, lets requests in flight finish, and waits.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Waits until the server stops (after Ctrl-C or SIGTERM, when started by
    /// [`start_until_signal`]).
    pub async fn wait(self) -> std::io::Result<()> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

/// The API key string a client uses for `secret` on a server at `addr`:
/// `HOST:PORT:__force_insecure:SECRET`, the form flywheel-sdk, flywheel-cli (`fw login`),
/// fw-api and the Rust SDK read (docs/wire.md §2.1).
pub fn api_key(addr: SocketAddr, secret: &str) -> String {
    format!("{}:{}:__force_insecure:{secret}", addr.ip(), addr.port())
}

/// The same key in the form fw-client (1.x and 2.x) reads: `http://HOST:PORT:SECRET`.
/// fw-client does not know `__force_insecure` and would take it for the secret; without a
/// scheme it uses https (docs/wire.md §15.9).
pub fn fw_client_key(addr: SocketAddr, secret: &str) -> String {
    format!("http://{}:{}:{secret}", addr.ip(), addr.port())
}

/// Opens the data directory, makes sure the bootstrap admin exists, and starts serving.
/// The returned server stops with [`Running::stop`].
pub async fn start(config: ServerConfig) -> Result<Running, String> {
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    start_with(
        config,
        async move {
            let _ = receiver.await;
        },
        Some(sender),
    )
    .await
}

/// Like [`start`], but stops on Ctrl-C or SIGTERM.
pub async fn start_until_signal(config: ServerConfig) -> Result<Running, String> {
    start_with(config, shutdown_signal(), None).await
}

async fn start_with(
    config: ServerConfig,
    until: impl std::future::Future<Output = ()> + Send + 'static,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<Running, String> {
    let recorder = match &config.record_requests {
        Some(path) => Some(std::sync::Arc::new(record::Recorder::open(path)?)),
        None => None,
    };
    let store =
        Store::open(&config.data_dir)?.with_read_connections(config.limits.read_connections);
    let blobs = files::Blobs::open(&config.data_dir)?;
    let admin_key = config.admin_key.clone();
    let admin_secret = store
        .write(move |c| auth::bootstrap(c, admin_key.as_deref()))
        .await
        .map_err(|e| e.message)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = routes::AppState {
        store,
        blobs,
        signed_urls: config.signed_urls,
        base_url: format!("http://{addr}"),
        started: ids::now(),
    };
    let mut app = routes::router(state)
        .layer(axum::middleware::from_fn(rejections::json_errors))
        .layer(axum::middleware::from_fn(log_request));
    if let Some(recorder) = recorder {
        app = app.layer(axum::middleware::from_fn_with_state(
            recorder,
            record::record,
        ));
    }
    let limits = config.limits.clone();
    let task = tokio::spawn(connections::serve(listener, app, limits, until));
    Ok(Running {
        addr,
        admin_secret,
        shutdown,
        task,
    })
}

/// One log line per request: method, path (without tickets: `request_log`), status,
/// duration.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request_log::loggable_path(request.uri());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        "{method} {path} {} {:.1}ms",
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// `fw-server user add`: creates the user if missing and adds a key; returns the secret.
/// Safe while a server runs on the same directory (SQLite serializes the writers).
pub fn add_user_key(
    data_dir: &std::path::Path,
    id: &str,
    fields: &serde_json::Value,
    secret: Option<&str>,
) -> Result<String, String> {
    let store = Store::open(data_dir)?;
    store
        .write_blocking(|c| {
            auth::ensure_user(c, id, fields)?;
            auth::add_key(c, id, secret)
        })
        .map_err(|e| e.message)
}
