//! A local Flywheel inside this process: fw-server on `127.0.0.1:0` over a data directory,
//! and a [`Client`] for its site admin (feature `local`).
//!
//! The way to test a Flywheel script without a site, and the way this crate's examples and
//! quickstart run:
//!
//! ```no_run
//! # async fn demo() -> Result<(), fw_sdk::Error> {
//! use fw_sdk::local::LocalFlywheel;
//! use serde_json::json;
//!
//! let site = LocalFlywheel::start().await?; // a temporary data directory
//! let fw = site.client();
//! fw.add_group(json!({"_id": "lab", "label": "Lab"})).await?;
//! assert_eq!(fw.groups().all().await?.len(), 1);
//! site.stop().await?; // or drop it
//! # Ok(()) }
//! ```
//!
//! The server is fw-server's library (`fw_server::start`), the same code as the
//! `fw-server serve` command, so what a script does here it does against that server.

use std::path::{Path, PathBuf};

use crate::{Client, Error};

/// A running local Flywheel and a client for its site admin.
///
/// Stopping it ([`LocalFlywheel::stop`]) lets requests in flight finish, then removes a
/// temporary data directory. Dropping it does the same in the background when a Tokio
/// runtime is still running (the server's tasks end with the runtime otherwise); a data
/// directory given with [`LocalFlywheel::start_in`] is always kept.
pub struct LocalFlywheel {
    running: Option<fw_server::Running>,
    client: Client,
    data_dir: PathBuf,
    /// Held so that the temporary directory outlives the server.
    temporary: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for LocalFlywheel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalFlywheel")
            .field("base_url", &self.client.base_url())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl LocalFlywheel {
    /// Starts a local Flywheel over a new temporary data directory, removed when it stops.
    ///
    /// # Errors
    ///
    /// [`Error::Local`] when the directory cannot be made or the server cannot start;
    /// the errors of [`Client::new`] for the admin's client (its `GET /auth/status`).
    pub async fn start() -> Result<LocalFlywheel, Error> {
        let temporary = tempfile::Builder::new()
            .prefix("fw-local-")
            .tempdir()
            .map_err(|e| Error::Local(format!("cannot make a temporary data directory: {e}")))?;
        let data_dir = temporary.path().to_path_buf();
        let mut site = Self::start_over(&data_dir).await?;
        site.temporary = Some(temporary);
        Ok(site)
    }

    /// Starts a local Flywheel over `data_dir` (created if missing, kept afterwards; a
    /// directory from an earlier run is reopened with its data and admin key).
    ///
    /// # Errors
    ///
    /// As [`LocalFlywheel::start`].
    pub async fn start_in(data_dir: impl AsRef<Path>) -> Result<LocalFlywheel, Error> {
        let data_dir = data_dir.as_ref();
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Local(format!("cannot create {}: {e}", data_dir.display())))?;
        Self::start_over(data_dir).await
    }

    async fn start_over(data_dir: &Path) -> Result<LocalFlywheel, Error> {
        let running = fw_server::start(fw_server::ServerConfig::new(data_dir))
            .await
            .map_err(Error::Local)?;
        let client = Client::new(&running.admin_api_key()).await?;
        Ok(LocalFlywheel {
            running: Some(running),
            client,
            data_dir: data_dir.to_path_buf(),
            temporary: None,
        })
    }

    /// A client for the site admin (cheap to clone).
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The site admin's API key (`127.0.0.1:PORT:__force_insecure:SECRET`), for other
    /// clients such as the Python SDK or `fw-api`.
    pub fn api_key(&self) -> String {
        self.running
            .as_ref()
            .map(fw_server::Running::admin_api_key)
            .unwrap_or_default()
    }

    /// Adds a user (`id`, e.g. `ana@example.org`, not a site admin) with a new API key, and
    /// returns a client for them: for testing what a script does with a user's
    /// permissions. `fields` are the user's other fields (`{"firstname": "Ana"}`), `{}`
    /// for none. A user that exists gets another key.
    ///
    /// # Errors
    ///
    /// [`Error::Local`] when the database cannot be written; the errors of [`Client::new`].
    pub async fn add_user(&self, id: &str, fields: serde_json::Value) -> Result<Client, Error> {
        let Some(running) = &self.running else {
            return Err(Error::Local("the local server has stopped".into()));
        };
        let addr = running.addr;
        let (data_dir, id_text) = (self.data_dir.clone(), id.to_string());
        // A short SQLite write; off the async threads all the same.
        let secret = tokio::task::spawn_blocking(move || {
            fw_server::add_user_key(&data_dir, &id_text, &fields, None)
        })
        .await
        .map_err(|e| Error::Local(format!("adding user {id} failed: {e}")))?
        .map_err(|e| Error::Local(format!("cannot add user {id}: {e}")))?;
        Client::new(&fw_server::api_key(addr, &secret)).await
    }

    /// The data directory (database and blobs).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server: no new connections, requests in flight finish; then removes a
    /// temporary data directory.
    ///
    /// # Errors
    ///
    /// [`Error::Local`] when the server's task failed or the directory cannot be removed.
    pub async fn stop(mut self) -> Result<(), Error> {
        if let Some(running) = self.running.take() {
            running
                .stop()
                .await
                .map_err(|e| Error::Local(format!("the local server failed: {e}")))?;
        }
        if let Some(temporary) = self.temporary.take() {
            temporary
                .close()
                .map_err(|e| Error::Local(format!("cannot remove the data directory: {e}")))?;
        }
        Ok(())
    }
}

impl Drop for LocalFlywheel {
    fn drop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        let temporary = self.temporary.take();
        // Drop cannot wait: the stop runs as a task, and the directory goes after it.
        // Without a runtime the server's tasks are gone already.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = running.stop().await;
                drop(temporary);
            });
        }
    }
}
