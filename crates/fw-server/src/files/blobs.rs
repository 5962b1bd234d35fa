//! The blob store: uploads stream to `tmp/`, hashing as they go (`v0-sha384-<hex>`), are
//! fsynced, then renamed to `blobs/<hex>` when recorded. Blobs are never overwritten: same
//! bytes, same blob.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha384};
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;
use crate::ids::random_hex;

/// Where blobs and unfinished uploads live.
#[derive(Clone)]
pub(crate) struct Blobs {
    root: PathBuf,
}

impl Blobs {
    /// The store of `data_dir`; clears what interrupted uploads left in `tmp/`.
    pub(crate) fn open(data_dir: &Path) -> Result<Blobs, String> {
        let blobs = Blobs {
            root: data_dir.to_path_buf(),
        };
        let _ = std::fs::remove_dir_all(blobs.tmp_dir());
        for dir in [blobs.tmp_dir(), blobs.root.join("blobs")] {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Ok(blobs)
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// The blob holding content with this `v0-sha384-<hex>` hash.
    pub(crate) fn path_of(&self, hash: &str) -> Option<PathBuf> {
        let hex = hash.strip_prefix("v0-sha384-")?;
        (hex.len() == 96 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.root.join("blobs").join(&hex[..2]).join(hex))
    }

    /// A new upload in `tmp/`.
    pub(crate) async fn begin(&self) -> Result<Staging, ApiError> {
        let path = self.tmp_dir().join(format!("upload-{}", random_hex(12)));
        let file = tokio::fs::File::create(&path)
            .await
            .map_err(|e| ApiError::io("cannot create an upload file", &e))?;
        Ok(Staging {
            path,
            file: Some(file),
            buffer: Vec::new(),
            hasher: Sha384::new(),
            size: 0,
        })
    }
}

/// An upload being received: bytes so far, and their hash.
pub(crate) struct Staging {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    /// Received bytes not yet written: request bodies come in chunks of a few KiB, and each
    /// write to a tokio file is a trip to the blocking pool, so they are gathered first.
    buffer: Vec<u8>,
    hasher: Sha384,
    size: u64,
}

/// How many received bytes are gathered before a write to disk.
const WRITE_BUFFER: usize = 512 * 1024;

/// A received, synced upload waiting to be recorded.
pub(crate) struct Staged {
    /// The file name.
    pub(crate) name: String,
    path: PathBuf,
    size: u64,
    hash: String,
    /// For a `.zip` name, how many members the archive has (read before the database is
    /// locked to record it).
    zip_members: Option<usize>,
}

/// How many members the upload at `path` has, when its name says it is a zip.
fn count_zip_members(name: &str, path: &Path) -> Option<usize> {
    name.to_ascii_lowercase()
        .ends_with(".zip")
        .then(|| zip_member_count(path))
        .flatten()
}

impl Staging {
    /// Appends a chunk.
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.buffer.extend_from_slice(chunk);
        if self.buffer.len() >= WRITE_BUFFER {
            self.write_buffer().await?;
        }
        Ok(())
    }

    /// Writes the gathered bytes to the file.
    async fn write_buffer(&mut self) -> Result<(), ApiError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| ApiError::internal("the upload is closed"))?;
        file.write_all(&self.buffer)
            .await
            .map_err(|e| ApiError::io("cannot write an upload", &e))?;
        self.buffer.clear();
        Ok(())
    }

    /// Syncs the bytes to disk and hands them over for recording.
    pub(crate) async fn finish(mut self, name: String) -> Result<Staged, ApiError> {
        self.write_buffer().await?;
        self.buffer = Vec::new();
        let mut file = self
            .file
            .take()
            .ok_or_else(|| ApiError::internal("the upload is closed"))?;
        // A tokio file may still hold the last write in flight: flush waits for it.
        file.flush()
            .await
            .map_err(|e| ApiError::io("cannot write an upload", &e))?;
        file.sync_all()
            .await
            .map_err(|e| ApiError::io("cannot sync an upload", &e))?;
        let digest = std::mem::take(&mut self.hasher).finalize();
        let hash = format!(
            "v0-sha384-{}",
            digest
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let zip_members = if name.to_ascii_lowercase().ends_with(".zip") {
            let (name, path) = (name.clone(), self.path.clone());
            tokio::task::spawn_blocking(move || count_zip_members(&name, &path))
                .await
                .unwrap_or(None)
        } else {
            None
        };
        let staged = Staged {
            name,
            path: self.path.clone(),
            size: self.size,
            hash,
            zip_members,
        };
        self.path = PathBuf::new(); // now owned by `staged`
        Ok(staged)
    }
}

impl Drop for Staging {
    /// An upload dropped before `finish` (a cut connection, an error) leaves nothing.
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Staged {
    /// Keeps the bytes at `path` (in `tmp/`) for a later `record`, as a signed-URL ticket
    /// does between the storage PUT and the close.
    pub(crate) fn keep_at(mut self, path: &Path) -> Result<(u64, String), ApiError> {
        std::fs::rename(&self.path, path).map_err(|e| ApiError::io("cannot keep an upload", &e))?;
        self.path = PathBuf::new();
        Ok((self.size, std::mem::take(&mut self.hash)))
    }

    /// An upload kept by `keep_at` (a signed-URL ticket's bytes, recorded at its close).
    pub(crate) fn kept(name: String, path: PathBuf, size: u64, hash: String) -> Staged {
        Staged {
            zip_members: count_zip_members(&name, &path),
            name,
            path,
            size,
            hash,
        }
    }
}

/// An upload moved into the blob store, with what its entry records.
pub(crate) struct Stored {
    /// The file name.
    pub(crate) name: String,
    /// The size in bytes.
    pub(crate) size: u64,
    /// `v0-sha384-<hex>`.
    pub(crate) hash: String,
    /// For a zip, how many members it has.
    pub(crate) zip_members: Option<usize>,
}

impl Staged {
    /// Moves the bytes into the blob store (or drops them when the blob exists already).
    pub(crate) fn into_blob(mut self, blobs: &Blobs) -> Result<Stored, ApiError> {
        let blob = blobs
            .path_of(&self.hash)
            .ok_or_else(|| ApiError::internal("a bad hash"))?;
        if let Some(dir) = blob.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ApiError::io(&format!("cannot create {}", dir.display()), &e))?;
        }
        if blob.exists() {
            let _ = std::fs::remove_file(&self.path);
        } else {
            std::fs::rename(&self.path, &blob)
                .map_err(|e| ApiError::io("cannot store a blob", &e))?;
        }
        self.path = PathBuf::new();
        Ok(Stored {
            name: std::mem::take(&mut self.name),
            size: self.size,
            hash: std::mem::take(&mut self.hash),
            zip_members: self.zip_members,
        })
    }
}

impl Drop for Staged {
    /// A staged upload that was not recorded is removed.
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// How many members the zip file at `path` has, if it is one.
pub(crate) fn zip_member_count(path: &Path) -> Option<usize> {
    let file = std::fs::File::open(path).ok()?;
    zip::ZipArchive::new(BufReader::new(file))
        .ok()
        .map(|z| z.len())
}
