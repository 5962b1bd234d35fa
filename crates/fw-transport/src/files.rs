//! Streaming files in and out (docs/wire.md §10): multipart uploads, the signed-URL
//! ticket flow, and downloads that never leave a partial file under the final name.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use fw_model::{Config, FileEntry, UploadTicket};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method};
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio_util::io::ReaderStream;

use crate::client::{Payload, send_error};
use crate::error::redact_url;
use crate::{Client, Error, Request};

/// Called with (bytes done, bytes in all) as a transfer goes on.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Signed-URL parts are multiples of this size, as the Python SDK makes them.
pub const PART_ALIGNMENT: u64 = 256 * 1024;

/// How much is read from disk at a time.
const CHUNK: usize = 256 * 1024;

/// How much of a download is gathered before a write to disk.
const WRITE_BUFFER: usize = 1 << 20;

/// What to upload.
pub enum UploadSource {
    /// A file on disk. It can be read again, so a failed attempt is retried.
    Path(PathBuf),
    /// Any reader of `size` bytes, uploaded as `name`. It is read once: no retries.
    Reader {
        /// The file name on the server.
        name: String,
        /// Exactly how many bytes the reader gives.
        size: u64,
        /// The bytes.
        reader: Box<dyn AsyncRead + Send + Sync + Unpin>,
    },
}

/// Which upload flow to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// Ask `GET /config`, as the Python SDK does before every upload: signed URLs when
    /// `features.signed_url` or `signed_url` is true, else multipart.
    Auto,
    /// One multipart `POST …/files`.
    Multipart,
    /// The signed-URL ticket flow.
    Signed,
}

/// Where an upload goes: `("acquisitions", id)`, `("containers", id)`, …
#[derive(Debug, Clone, Copy)]
pub struct UploadTarget<'a> {
    /// The collection in the path: `projects`, `subjects`, `sessions`, `acquisitions`,
    /// `analyses`, `collections` or `containers`.
    pub collection: &'a str,
    /// The container id.
    pub id: &'a str,
}

/// The `Content-Type` of a file part, from its name (as Python's `mimetypes` does for the
/// common kinds); `application/octet-stream` otherwise.
pub fn content_type_for(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let extension = lower.rsplit('.').next().unwrap_or_default();
    match extension {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
    }
}

impl UploadSource {
    fn name(&self) -> Result<String, Error> {
        match self {
            UploadSource::Path(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| Error::Config {
                    message: format!("{} names no file", path.display()),
                }),
            UploadSource::Reader { name, .. } => Ok(name.clone()),
        }
    }

    async fn size(&self) -> Result<u64, Error> {
        match self {
            UploadSource::Path(path) => tokio::fs::metadata(path)
                .await
                .map(|m| m.len())
                .map_err(|source| io_error("read", path, source)),
            UploadSource::Reader { size, .. } => Ok(*size),
        }
    }
}

/// A reader handed out once: the first attempt takes it.
type OnceReader = Mutex<Option<Box<dyn AsyncRead + Send + Sync + Unpin>>>;

/// The bytes `[offset, offset + length)` of a source, as a body stream that reports
/// progress. A path is opened when the stream is first polled, so every attempt reads
/// afresh; a reader can be taken only once.
fn byte_stream(
    path: Option<PathBuf>,
    reader: Option<&OnceReader>,
    offset: u64,
    length: u64,
    total: u64,
    progress: Option<Progress>,
) -> Result<impl Stream<Item = std::io::Result<Bytes>> + Send + 'static, Error> {
    let source: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>> =
        match (path, reader) {
            (Some(path), _) => Box::pin(read_file_range(path, offset, length)),
            (None, Some(reader)) => {
                let taken = reader
                    .lock()
                    .ok()
                    .and_then(|mut r| r.take())
                    .ok_or_else(|| Error::Config {
                        message: "an upload from a reader cannot be sent twice".to_string(),
                    })?;
                Box::pin(ReaderStream::with_capacity(
                    tokio::io::AsyncReadExt::take(taken, length),
                    CHUNK,
                ))
            }
            (None, None) => Box::pin(stream::empty()),
        };
    let mut done = offset;
    Ok(source.inspect_ok(move |chunk| {
        done += chunk.len() as u64;
        if let Some(progress) = &progress {
            progress(done, total);
        }
    }))
}

/// Reads `[offset, offset + length)` of a file on one blocking thread, handing chunks over
/// a short channel: far fewer thread hops than async file reads, and memory stays bounded
/// by the channel. A file that turns out shorter than `length` is an error, not a short
/// upload.
fn read_file_range(
    path: PathBuf,
    offset: u64,
    length: u64,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let read = || -> std::io::Result<()> {
            let mut file = std::fs::File::open(&path)?;
            file.seek(SeekFrom::Start(offset))?;
            let mut left = length;
            while left > 0 {
                let mut chunk = bytes::BytesMut::zeroed(CHUNK.min(left as usize));
                let n = file.read(&mut chunk)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{} became shorter during the upload", path.display()),
                    ));
                }
                chunk.truncate(n);
                left -= n as u64;
                if sender.blocking_send(Ok(chunk.freeze())).is_err() {
                    return Ok(()); // the request was dropped: stop reading
                }
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = sender.blocking_send(Err(e));
        }
    });
    stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
}

impl Client {
    /// Uploads one file to a container and returns the file entries the server made.
    /// `metadata` is the `FileCreateInput` JSON (type, modality, info, …), if any.
    ///
    /// # Errors
    ///
    /// As [`Client::upload_multipart`] or [`Client::upload_signed`], whichever the mode
    /// picks; in [`UploadMode::Auto`], also those of `GET /config`.
    pub async fn upload(
        &self,
        target: UploadTarget<'_>,
        source: UploadSource,
        metadata: Option<Value>,
        mode: UploadMode,
        progress: Option<Progress>,
    ) -> Result<Vec<FileEntry>, Error> {
        let mode = match mode {
            UploadMode::Auto => {
                let config: Config = self.json(&Request::get(["config"])).await?;
                let features = config.features.and_then(|f| f.signed_url);
                if features == Some(true) || config.signed_url == Some(true) {
                    UploadMode::Signed
                } else {
                    UploadMode::Multipart
                }
            }
            other => other,
        };
        match mode {
            UploadMode::Signed => self.upload_signed(target, source, metadata, progress).await,
            _ => {
                self.upload_multipart(target, source, metadata, progress)
                    .await
            }
        }
    }

    /// `POST …/files` as `multipart/form-data`: the `metadata` part, then the `file`
    /// part, streamed from disk or the reader without holding the file in memory.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if a path names no file or a reader is sent twice, [`Error::Io`]
    /// if the file cannot be read, and the errors of [`Client::send`] and
    /// [`Client::json`].
    pub async fn upload_multipart(
        &self,
        target: UploadTarget<'_>,
        source: UploadSource,
        metadata: Option<Value>,
        progress: Option<Progress>,
    ) -> Result<Vec<FileEntry>, Error> {
        let name = source.name()?;
        let size = source.size().await?;
        let content_type = content_type_for(&name);
        let metadata = metadata.map(|m| m.to_string());
        let request = Request::post([target.collection, target.id, "files"]);
        let (path, reader, replayable) = split_source(source);
        let payload = || {
            let stream = byte_stream(
                path.clone(),
                reader.as_ref(),
                0,
                size,
                size,
                progress.clone(),
            )?;
            let file = Part::stream_with_length(Body::wrap_stream(stream), size)
                .file_name(name.clone())
                .mime_str(content_type)
                .map_err(|source| Error::Build {
                    what: "the file part",
                    source,
                })?;
            let mut form = Form::new();
            if let Some(metadata) = &metadata {
                form = form.text("metadata", metadata.clone());
            }
            Ok(Payload::Multipart(form.part("file", file)))
        };
        let response = self.send_with(&request, &payload, replayable).await?;
        self.decode(&Method::POST, response).await
    }

    /// The signed-URL ticket flow (docs/wire.md §10.4): open a ticket, PUT the bytes to
    /// the storage URLs it gives (in parts when it gives several, each a multiple of
    /// 256 KiB but the last; S3 ETags collected), then close the ticket. The close is sent
    /// even when a storage PUT failed, so the server can clean up; the PUT's error is
    /// returned afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `metadata` is not a JSON object or a multi-part upload comes
    /// from a reader; [`Error::Protocol`] if the ticket reply has no ticket id (then
    /// nothing else is sent) or no URL for the file (then the ticket is closed);
    /// [`Error::Io`] if the file cannot be read; and the errors of [`Client::send`] for the
    /// ticket, the storage PUTs and the close.
    pub async fn upload_signed(
        &self,
        target: UploadTarget<'_>,
        source: UploadSource,
        metadata: Option<Value>,
        progress: Option<Progress>,
    ) -> Result<Vec<FileEntry>, Error> {
        let name = source.name()?;
        let size = source.size().await?;
        let mut metadata = match metadata {
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(Error::Config {
                    message: format!("upload metadata must be a JSON object, not {other}"),
                });
            }
            None => serde_json::Map::new(),
        };
        metadata.entry("name").or_insert_with(|| json!(name));
        metadata.entry("size").or_insert_with(|| json!(size));
        let metadata = if target.collection == "analyses" {
            json!([metadata])
        } else {
            Value::Object(metadata)
        };
        let files = [target.collection, target.id, "files"];
        let open = Request::post(files)
            .query("ticket", "")
            .json(&json!({"metadata": metadata, "filenames": [name]}))?;
        let ticket: UploadTicket = self.json(&open).await?;
        // Without an id the close would go out as `?ticket=`, which asks for a new ticket
        // instead of closing this one; nothing has been stored yet, so stop here.
        let ticket_id = match ticket.ticket.as_deref() {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => {
                return Err(Error::Protocol {
                    message: "the upload ticket reply has no ticket id".into(),
                    method: Method::POST,
                    url: redact_url(&self.url_of(&open)?),
                });
            }
        };
        let urls: Vec<String> = match ticket.urls.as_ref().and_then(|urls| urls.get(&name)) {
            Some(Value::String(url)) => vec![url.clone()],
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let headers = ticket.headers.clone().unwrap_or_default();
        let put_result = if urls.is_empty() {
            Err(Error::Protocol {
                message: format!("the upload ticket has no URL for {name}"),
                method: Method::POST,
                url: redact_url(&self.url_of(&open)?),
            })
        } else {
            self.put_parts(&urls, &headers, source, size, progress)
                .await
        };
        let mut close = Request::post(files).query("ticket", &ticket_id);
        if let Ok(Some(completion)) = &put_result {
            close = close.json(completion)?;
        }
        let closed: Result<Vec<FileEntry>, Error> = self.json(&close).await;
        put_result?;
        closed
    }

    /// PUTs the source to each URL in turn; returns the S3 completion body, if any.
    async fn put_parts(
        &self,
        urls: &[String],
        headers: &std::collections::BTreeMap<String, String>,
        source: UploadSource,
        size: u64,
        progress: Option<Progress>,
    ) -> Result<Option<Value>, Error> {
        let parts = part_ranges(size, urls.len() as u64);
        if urls.len() > 1 && matches!(source, UploadSource::Reader { .. }) {
            return Err(Error::Config {
                message: "a multi-part signed upload needs a file path, not a reader".into(),
            });
        }
        let (path, reader, replayable) = split_source(source);
        let is_s3 = |url: &str| url.contains(".s3.") || url.contains(".amazonaws.");
        let mut e_tags = Vec::new();
        for (url, (offset, length)) in urls.iter().zip(parts) {
            let gcs = url.contains(".googleapis.");
            let build = || {
                let stream = byte_stream(
                    path.clone(),
                    reader.as_ref(),
                    offset,
                    length,
                    size,
                    progress.clone(),
                )?;
                let mut put = self.storage_put(url);
                for (name, value) in headers {
                    put = put.header(name.as_str(), value.as_str());
                }
                if gcs && length > 0 {
                    let range = format!("bytes {offset}-{}/{size}", offset + length - 1);
                    put = put.header("Content-Range", range);
                }
                Ok(put
                    .header(reqwest::header::CONTENT_LENGTH, length)
                    .body(Body::wrap_stream(stream)))
            };
            let response = self
                .execute(&Method::PUT, url, false, replayable, &build)
                .await?;
            if is_s3(url) {
                let e_tag = response
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string();
                e_tags.push(e_tag);
            }
        }
        if urls.len() > 1 && urls.iter().all(|u| is_s3(u)) {
            let upload_id = reqwest::Url::parse(&urls[0])
                .ok()
                .and_then(|u| {
                    u.query_pairs()
                        .find(|(k, _)| k == "uploadId")
                        .map(|(_, v)| v.into_owned())
                })
                .unwrap_or_default();
            return Ok(Some(
                json!({"multipart": {"e_tags": e_tags, "upload_id": upload_id}}),
            ));
        }
        Ok(None)
    }

    /// Streams a file download (a `GET …/files/{name}` request) to `destination`: the
    /// bytes go to a temporary file beside it, whose size is checked against
    /// `Content-Length`, then synced (see [`ClientBuilder::sync_downloads`](crate::ClientBuilder::sync_downloads)) and renamed
    /// into place. If anything fails, or the
    /// future is dropped halfway, the temporary file is removed and `destination` is left
    /// as it was. Returns the number of bytes written.
    ///
    /// # Errors
    ///
    /// The errors of [`Client::send`]; [`Error::SizeMismatch`] if fewer or more bytes came
    /// than announced; [`Error::Io`] if the temporary file cannot be written, synced or
    /// renamed; [`Error::Config`] if `destination` names no file.
    pub async fn download_to(
        &self,
        request: &Request,
        destination: &Path,
        progress: Option<Progress>,
    ) -> Result<u64, Error> {
        let request = match request.accept {
            Some(_) => request.clone(),
            None => request.clone().accept("application/octet-stream"),
        };
        let response = self.send(&request).await?;
        let url = redact_url(response.url().as_str());
        let expected = response.content_length();
        let temp = TempFile::beside(destination)?;
        let file = tokio::fs::File::create(&temp.path)
            .await
            .map_err(|source| io_error("create", &temp.path, source))?;
        // Network chunks are small; every write to a tokio file is a trip to the blocking
        // pool, so they are gathered into large writes.
        let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut received = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| send_error(&request.method, url.clone(), source))?;
            file.write_all(&chunk)
                .await
                .map_err(|source| io_error("write", &temp.path, source))?;
            received += chunk.len() as u64;
            if let Some(progress) = &progress {
                progress(received, expected.unwrap_or(received));
            }
        }
        if let Some(expected) = expected.filter(|&n| n != received) {
            return Err(Error::SizeMismatch {
                url,
                expected,
                received,
            });
        }
        file.flush()
            .await
            .map_err(|source| io_error("write", &temp.path, source))?;
        let file = file.into_inner();
        if self.syncs_downloads() {
            file.sync_all()
                .await
                .map_err(|source| io_error("sync", &temp.path, source))?;
        }
        drop(file);
        temp.persist(destination).await?;
        Ok(received)
    }
}

fn split_source(source: UploadSource) -> (Option<PathBuf>, Option<OnceReader>, bool) {
    match source {
        UploadSource::Path(path) => (Some(path), None, true),
        UploadSource::Reader { reader, .. } => (None, Some(Mutex::new(Some(reader))), false),
    }
}

/// `(offset, length)` of each of `count` parts of `size` bytes: every part but the last
/// is `ceil(size / count)` rounded up to a multiple of 256 KiB; the last takes the rest
/// (and may be empty when the rounding made the others large).
pub fn part_ranges(size: u64, count: u64) -> Vec<(u64, u64)> {
    let count = count.max(1);
    if count == 1 {
        return vec![(0, size)];
    }
    let part = size.div_ceil(count).div_ceil(PART_ALIGNMENT) * PART_ALIGNMENT;
    (0..count)
        .map(|i| {
            let offset = (i * part).min(size);
            let end = if i + 1 == count {
                size
            } else {
                ((i + 1) * part).min(size)
            };
            (offset, end - offset)
        })
        .collect()
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary file beside a destination, removed on drop unless persisted.
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    fn beside(destination: &Path) -> Result<TempFile, Error> {
        let name = destination
            .file_name()
            .ok_or_else(|| Error::Config {
                message: format!("{} names no file", destination.display()),
            })?
            .to_string_lossy();
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let temp_name = format!(".{name}.{}-{unique}.part", std::process::id());
        Ok(TempFile {
            path: destination.with_file_name(temp_name),
            persisted: false,
        })
    }

    async fn persist(mut self, destination: &Path) -> Result<(), Error> {
        tokio::fs::rename(&self.path, destination)
            .await
            .map_err(|source| io_error("rename into place", destination, source))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_aligned_to_256_kib() {
        // The captured case: 600 KiB over 2 URLs went as 524 288 + 90 112 bytes.
        assert_eq!(
            part_ranges(600 * 1024, 2),
            [(0, 524_288), (524_288, 90_112)]
        );
        assert_eq!(part_ranges(10, 1), [(0, 10)]);
        assert_eq!(part_ranges(0, 1), [(0, 0)]);
        for (size, count) in [(1u64, 3u64), (5 << 20, 3), ((5 << 20) + 1, 4), (1 << 30, 7)] {
            let parts = part_ranges(size, count);
            assert_eq!(parts.len() as u64, count);
            assert_eq!(
                parts.iter().map(|p| p.1).sum::<u64>(),
                size,
                "{size}/{count}"
            );
            for window in parts.windows(2) {
                let (offset, length) = window[0];
                assert_eq!(offset + length, window[1].0);
                // Aligned, unless the file ended inside this part.
                assert!(
                    length % PART_ALIGNMENT == 0 || offset + length == size,
                    "{size}/{count}"
                );
            }
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type_for("hello.txt"), "text/plain");
        assert_eq!(content_type_for("A.CSV"), "text/csv");
        assert_eq!(content_type_for("scan.nii.gz"), "application/octet-stream");
        assert_eq!(content_type_for("noext"), "application/octet-stream");
    }

    #[test]
    fn temp_files_vanish_unless_persisted() {
        let dir = std::env::temp_dir().join(format!("fw-transport-temp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let temp = TempFile::beside(&dir.join("x.bin")).unwrap();
        std::fs::write(&temp.path, b"partial").unwrap();
        let path = temp.path.clone();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
