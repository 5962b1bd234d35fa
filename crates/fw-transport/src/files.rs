//! Streaming files in and out (docs/wire.md §10), as values: an [`Upload`] (multipart
//! or the signed-URL ticket flow, parts sent concurrently) and a [`Download`] (verified by
//! size and SHA-384 while streaming, resumable with `Range`, never a partial file under the
//! final name). [`Client::upload`] and [`Client::download`] send them.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt, TryStreamExt};
use fw_model::{Config, FileEntry, UploadTicket};
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method};
use serde_json::{Value, json};
use tokio::io::AsyncRead;
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    /// The collection in the path: `projects`, `subjects`, `sessions`, `acquisitions`,
    /// `analyses`, `collections` or `containers`.
    pub collection: String,
    /// The container id.
    pub id: String,
}

impl UploadTarget {
    /// `/{collection}/{id}/files`.
    pub fn new(collection: impl Into<String>, id: impl Into<String>) -> Self {
        UploadTarget {
            collection: collection.into(),
            id: id.into(),
        }
    }
}

/// One upload as a value: where, what, with which metadata, by which flow; sent by
/// [`Client::upload`]. Built with [`Upload::new`] and the option methods.
pub struct Upload {
    /// Where the file goes.
    pub target: UploadTarget,
    /// The bytes and the file name.
    pub source: UploadSource,
    /// The `FileCreateInput` JSON object (type, modality, info, classification, …).
    pub metadata: Option<Value>,
    /// Multipart, signed URL, or as the site's config says (the default).
    pub mode: UploadMode,
    /// Called with (bytes sent, bytes in all).
    pub progress: Option<Progress>,
    /// How many parts of a multi-part signed-URL upload are sent at once (default 4).
    pub part_concurrency: usize,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("target", &self.target)
            .field("metadata", &self.metadata)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Upload {
    /// An upload of `source` to `target`, in [`UploadMode::Auto`], without metadata.
    pub fn new(target: UploadTarget, source: UploadSource) -> Self {
        Upload {
            target,
            source,
            metadata: None,
            mode: UploadMode::Auto,
            progress: None,
            part_concurrency: 4,
        }
    }

    /// The `FileCreateInput` JSON object sent with the file.
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Which flow to use.
    pub fn mode(mut self, mode: UploadMode) -> Self {
        self.mode = mode;
        self
    }

    /// Called with (bytes sent, bytes in all) as the upload goes on.
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// How many parts of a multi-part signed-URL upload are in flight at once (at least 1).
    pub fn part_concurrency(mut self, parts: usize) -> Self {
        self.part_concurrency = parts.max(1);
        self
    }
}

/// One download as a value: the request, where the bytes go, what they must be; sent by
/// [`Client::download`].
#[derive(Clone)]
pub struct Download {
    /// The `GET …/files/{name}` (or any other) request; `Accept:
    /// application/octet-stream` unless it sets one.
    pub request: Request,
    /// The final file name. Nothing appears under it unless the whole body arrived and
    /// matched the expected size and hash.
    pub destination: PathBuf,
    /// The size in bytes the file must have (the file entry's `size`).
    pub expected_size: Option<u64>,
    /// The hash the file must have: the file entry's `hash`, `v0-sha384-<hex>`. Other
    /// hash forms are an [`Error::Config`] (nothing is sent).
    pub expected_hash: Option<String>,
    /// Keep the bytes of a failed attempt in `.{name}.fwpart` beside the destination and
    /// continue from them next time with a `Range` request (default: no).
    pub resume: bool,
    /// Called with (bytes received, counting those kept from an earlier attempt; bytes in
    /// all) as the download goes on.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("request", &self.request)
            .field("destination", &self.destination)
            .field("expected_size", &self.expected_size)
            .field("expected_hash", &self.expected_hash)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl Download {
    /// A download of `request` to `destination`, checked against `Content-Length` only.
    pub fn new(request: Request, destination: impl Into<PathBuf>) -> Self {
        Download {
            request,
            destination: destination.into(),
            expected_size: None,
            expected_hash: None,
            resume: false,
            progress: None,
        }
    }

    /// The size in bytes the file must have.
    pub fn expected_size(mut self, size: u64) -> Self {
        self.expected_size = Some(size);
        self
    }

    /// The `v0-sha384-<hex>` hash the file must have.
    pub fn expected_hash(mut self, hash: impl Into<String>) -> Self {
        self.expected_hash = Some(hash.into());
        self
    }

    /// Whether a failed attempt's bytes are kept and continued from (see [`Download::resume`]).
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Called with (bytes received, bytes in all).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Where the bytes of a resumable download wait: `.{name}.fwpart` beside the
    /// destination.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if the destination names no file.
    pub fn partial_path(&self) -> Result<PathBuf, Error> {
        let name = file_name_of(&self.destination)?;
        Ok(self.destination.with_file_name(format!(".{name}.fwpart")))
    }
}

/// The hex digest of a `v0-sha384-<hex>` hash.
///
/// # Errors
///
/// [`Error::Config`] for any other form.
pub fn sha384_hex_of(hash: &str) -> Result<String, Error> {
    hash.strip_prefix("v0-sha384-")
        .filter(|hex| hex.len() == 96 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| Error::Config {
            message: format!("{hash:?} is not a v0-sha384-<hex> hash"),
        })
}

/// `v0-sha384-<hex>` of a finished digest, as Flywheel writes file hashes.
pub fn flywheel_hash(digest: &[u8]) -> String {
    let mut text = String::with_capacity(10 + digest.len() * 2);
    text.push_str("v0-sha384-");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The `v0-sha384-<hex>` hash of a file on disk, read on a blocking thread.
///
/// # Errors
///
/// [`Error::Io`] if it cannot be read.
pub async fn hash_file(path: &Path) -> Result<(u64, String), Error> {
    let owned = path.to_path_buf();
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, String)> {
        use sha2::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = sha2::Sha384::new();
        let mut buffer = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hasher.update(&buffer[..n]);
        }
        Ok((size, flywheel_hash(&hasher.finalize())))
    })
    .await
    .map_err(|e| io_error("read", path, std::io::Error::other(e)))?;
    result.map_err(|source| io_error("read", path, source))
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
    /// The file name on the server: the path's last component, or the reader's name.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if a path names no file.
    pub fn name(&self) -> Result<String, Error> {
        match self {
            UploadSource::Path(path) => file_name_of(path),
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
/// progress: `sent` is this part's count of bytes sent in the current attempt, and
/// `progress` gets the sum over all parts. A path is opened when the stream is first
/// polled, so every attempt reads afresh; a reader can be taken only once.
fn byte_stream(
    path: Option<PathBuf>,
    reader: Option<&OnceReader>,
    offset: u64,
    length: u64,
    progress: Option<(Progress, Arc<PartCounters>, usize)>,
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
    let mut done = 0u64;
    if let Some((_, counters, part)) = &progress {
        counters.set(*part, 0); // a retried part starts again
    }
    Ok(source.inspect_ok(move |chunk| {
        done += chunk.len() as u64;
        if let Some((progress, counters, part)) = &progress {
            counters.set(*part, done);
            progress(counters.sum(), counters.total);
        }
    }))
}

/// Bytes sent per part of one upload, so concurrent parts report one total.
struct PartCounters {
    sent: Vec<std::sync::atomic::AtomicU64>,
    total: u64,
}

impl PartCounters {
    fn new(parts: usize, total: u64) -> Arc<Self> {
        Arc::new(PartCounters {
            sent: (0..parts)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
            total,
        })
    }

    fn set(&self, part: usize, sent: u64) {
        if let Some(counter) = self.sent.get(part) {
            counter.store(sent, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn sum(&self) -> u64 {
        self.sent
            .iter()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            .sum()
    }
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
                // Read into spare capacity: no 256 KiB of zeros written first per chunk.
                let want = CHUNK.min(left as usize);
                let mut chunk = Vec::with_capacity(want);
                let n = (&mut file).take(want as u64).read_to_end(&mut chunk)?;
                if n == 0 {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("{} became shorter during the upload", path.display()),
                    ));
                }
                left -= n as u64;
                if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
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
    /// Sends one upload and returns the file entries the server made. The flow is the
    /// upload's [`UploadMode`]; in [`UploadMode::Auto`] it is decided by `GET /config`, as
    /// the Python SDK does before every upload: signed URLs when `features.signed_url` or
    /// `signed_url` is true, else multipart.
    ///
    /// Multipart: one `POST …/files` as `multipart/form-data`, the `metadata` part, then
    /// the `file` part, streamed from disk or the reader without holding the file in
    /// memory. Signed URL (docs/wire.md §10.4): open a ticket, PUT the bytes to the
    /// storage URLs it gives (in parts when it gives several, each a multiple of 256 KiB
    /// but the last, [`Upload::part_concurrency`] at once; S3 ETags collected in part
    /// order), then close the ticket. The close is sent even when a storage PUT failed, so
    /// the server can clean up; the PUT's error is returned afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if a path names no file, a reader is sent twice, `metadata` is not
    /// a JSON object (signed flow) or a multi-part signed upload comes from a reader;
    /// [`Error::Protocol`] if a ticket reply has no ticket id (then nothing else is sent)
    /// or no URL for the file (then the ticket is closed); [`Error::Io`] if the file cannot
    /// be read; and the errors of [`Client::send`] for `GET /config`, the upload, the
    /// ticket, the storage PUTs and the close.
    pub async fn upload(&self, upload: Upload) -> Result<Vec<FileEntry>, Error> {
        match self.upload_mode(upload.mode).await? {
            UploadMode::Signed => self.upload_signed(upload).await,
            _ => self.upload_multipart(upload).await,
        }
    }

    /// The flow an upload in `mode` takes: [`UploadMode::Auto`] is decided by `GET
    /// /config` (signed URLs when `features.signed_url` or `signed_url` is true, else
    /// multipart); the others are themselves. Many uploads in a row ask once and pass the
    /// answer on, instead of one `GET /config` per file.
    ///
    /// # Errors
    ///
    /// The errors of [`Client::send`] for `GET /config`.
    pub async fn upload_mode(&self, mode: UploadMode) -> Result<UploadMode, Error> {
        if mode != UploadMode::Auto {
            return Ok(mode);
        }
        let config: Config = self.json(&Request::get(["config"])).await?;
        let features = config.features.and_then(|f| f.signed_url);
        Ok(
            if features == Some(true) || config.signed_url == Some(true) {
                UploadMode::Signed
            } else {
                UploadMode::Multipart
            },
        )
    }

    async fn upload_multipart(&self, upload: Upload) -> Result<Vec<FileEntry>, Error> {
        let Upload {
            target,
            source,
            metadata,
            progress,
            ..
        } = upload;
        let name = source.name()?;
        let size = source.size().await?;
        let content_type = content_type_for(&name);
        let metadata = metadata.map(|m| match m {
            Value::String(text) => text, // taken verbatim, as Python does
            other => other.to_string(),
        });
        let request = Request::post([target.collection.as_str(), target.id.as_str(), "files"]);
        let (path, reader, replayable) = split_source(source);
        let counters = PartCounters::new(1, size);
        let payload = || {
            let stream = byte_stream(
                path.clone(),
                reader.as_ref(),
                0,
                size,
                progress.clone().map(|p| (p, counters.clone(), 0)),
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

    async fn upload_signed(&self, upload: Upload) -> Result<Vec<FileEntry>, Error> {
        let Upload {
            target,
            source,
            metadata,
            progress,
            part_concurrency,
            ..
        } = upload;
        let name = source.name()?;
        let size = source.size().await?;
        let metadata = match metadata {
            Some(Value::String(text)) => {
                serde_json::from_str(&text).map_err(|e| Error::Config {
                    message: format!("upload metadata text is not JSON: {e}"),
                })?
            }
            other => other,
        };
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
        let files = [target.collection.as_str(), target.id.as_str(), "files"];
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
            let parts = SignedParts {
                urls: &urls,
                headers: &headers,
                size,
                progress,
                concurrency: part_concurrency.max(1),
            };
            self.put_parts(parts, source).await
        };
        let mut close = Request::post(files).query("ticket", &ticket_id);
        if let Ok(Some(completion)) = &put_result {
            close = close.json(completion)?;
        }
        let closed: Result<Vec<FileEntry>, Error> = self.json(&close).await;
        put_result?;
        closed
    }

    /// PUTs the source's parts to their URLs, `concurrency` at once; returns the S3
    /// completion body, if any (ETags in part order whatever order the PUTs finish in).
    async fn put_parts(
        &self,
        parts: SignedParts<'_>,
        source: UploadSource,
    ) -> Result<Option<Value>, Error> {
        let SignedParts {
            urls,
            headers,
            size,
            progress,
            concurrency,
        } = parts;
        let ranges = part_ranges(size, urls.len() as u64);
        if urls.len() > 1 && matches!(source, UploadSource::Reader { .. }) {
            return Err(Error::Config {
                message: "a multi-part signed upload needs a file path, not a reader".into(),
            });
        }
        let (path, reader, replayable) = split_source(source);
        let is_s3 = |url: &str| url.contains(".s3.") || url.contains(".amazonaws.");
        let counters = PartCounters::new(urls.len(), size);
        let put_one = |index: usize, (offset, length): (u64, u64)| {
            let url = urls[index].as_str();
            let path = path.clone();
            let reader = reader.as_ref();
            let progress = progress.clone();
            let counters = counters.clone();
            async move {
                let gcs = url.contains(".googleapis.");
                let build = || {
                    let stream = byte_stream(
                        path.clone(),
                        reader,
                        offset,
                        length,
                        progress.clone().map(|p| (p, counters.clone(), index)),
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
                Ok::<String, Error>(
                    response
                        .headers()
                        .get(reqwest::header::ETAG)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_string(),
                )
            }
        };
        // `buffered` keeps part order and at most `concurrency` PUTs in flight.
        let e_tags: Vec<String> = stream::iter(ranges.into_iter().enumerate())
            .map(|(index, range)| put_one(index, range))
            .buffered(concurrency)
            .try_collect()
            .await?;
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

    /// Sends one download and returns the size of the file now under its destination:
    /// [`Client::fetch`], then [`Fetched::persist`], then (when the client syncs
    /// downloads) a sync of the destination's folder, so the new name is on disk too.
    ///
    /// The bytes go to a temporary file beside the destination while their SHA-384 is
    /// computed; the size is checked against `Content-Length` and
    /// [`Download::expected_size`], the hash against [`Download::expected_hash`]; then the
    /// file is synced (see [`ClientBuilder::sync_downloads`](crate::ClientBuilder::sync_downloads))
    /// and renamed into place. On any failure, or if the future is dropped halfway, the
    /// destination is left as it was.
    ///
    /// With [`Download::resume`], the temporary file is [`Download::partial_path`] and
    /// survives a failed transfer (not a failed check): the next call hashes the bytes
    /// already there and asks for the rest with `Range: bytes=<n>-`. A server that answers
    /// 200 instead of 206 sends the whole file again, which replaces the partial bytes.
    /// The hash covers the whole file either way.
    ///
    /// # Errors
    ///
    /// The errors of [`Client::send`]; [`Error::SizeMismatch`] if fewer or more bytes came
    /// than announced or expected; [`Error::HashMismatch`] if the bytes are not the
    /// expected ones; [`Error::Io`] if the temporary file cannot be written, synced or
    /// renamed; [`Error::Config`] if the destination names no file or the expected hash is
    /// not `v0-sha384-<hex>`.
    pub async fn download(&self, download: Download) -> Result<u64, Error> {
        let fetched = self.fetch(download).await?;
        let folder = fetched.destination.parent().map(Path::to_path_buf);
        let size = fetched.persist().await?;
        if let Some(folder) = folder.filter(|_| self.syncs_downloads()) {
            sync_directory(&folder).await?;
        }
        Ok(size)
    }

    /// The first half of [`Client::download`]: the bytes in a temporary file beside the
    /// destination, complete and checked (size, hash), not yet synced or renamed. Many
    /// downloads in a row hand the [`Fetched`] files to other tasks to persist, so that the
    /// next transfer does not wait for the disk, and sync their folders once at the end
    /// ([`sync_directory`]).
    ///
    /// The body is a pipeline, so that receiving, hashing and writing run on different
    /// cores: this task receives the chunks and hands each (a cheap `Bytes` clone) to a
    /// writer thread, which owns the temporary file, and, for a file over 4 MiB, to a
    /// hashing thread (a smaller one is hashed here: a thread would cost more than its
    /// hash). Both take chunks from bounded channels, so memory stays bounded whatever the
    /// file's size. While a synced download is written, what is already written is
    /// flushed to the disk in the background every 64 MiB, so the final sync of a large
    /// file does not start from gigabytes.
    ///
    /// A resumable download that continued from bytes on disk and then failed its size or
    /// hash check is sent once more from the first byte: the bytes kept may be those of
    /// an older version of the file (replaced on the server since the attempt that broke
    /// off), which no check could tell before the whole file was there. A second failure
    /// is the file's own. Likewise, kept bytes that reach the end of the file (a program
    /// killed between the last byte and the rename, when no size was expected to tell)
    /// get a 416 for the range past the end: they are dropped and the file fetched whole,
    /// instead of every later attempt failing the same way.
    ///
    /// # Errors
    ///
    /// As [`Client::download`], but for the sync and the rename.
    pub async fn fetch(&self, download: Download) -> Result<Fetched, Error> {
        let continued = match download.partial_path() {
            Ok(partial) if download.resume => tokio::fs::metadata(&partial)
                .await
                .is_ok_and(|m| m.len() > 0),
            _ => false,
        };
        match self.fetch_once(download.clone()).await {
            // The failed check removed the partial file: this attempt starts afresh.
            Err(Error::HashMismatch { .. } | Error::SizeMismatch { .. }) if continued => {
                self.fetch_once(download).await
            }
            Err(e) if continued && e.status() == Some(416) => {
                if let Ok(partial) = download.partial_path() {
                    match tokio::fs::remove_file(&partial).await {
                        Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                            return Err(io_error("remove", &partial, source));
                        }
                        _ => {}
                    }
                }
                self.fetch_once(download).await
            }
            other => other,
        }
    }

    /// One attempt of [`Client::fetch`].
    async fn fetch_once(&self, download: Download) -> Result<Fetched, Error> {
        use sha2::Digest;
        let expected_hex = download
            .expected_hash
            .as_deref()
            .map(sha384_hex_of)
            .transpose()?;
        let destination = download.destination.as_path();
        let mut request = download.request.clone();
        if request.accept.is_none() {
            request = request.accept("application/octet-stream");
        }
        let temp = if download.resume {
            TempFile {
                path: download.partial_path()?,
                persisted: false,
                keep: true,
            }
        } else {
            TempFile::beside(destination)?
        };
        // Bytes are hashed only when a hash is expected: SHA-384 costs more CPU than the
        // rest of the transfer (an archive download has no hash to meet).
        let new_hasher = || expected_hex.as_ref().map(|_| sha2::Sha384::new());
        // The writer opens the file while the request goes out. A resumable download
        // first waits for it to say what it already has on disk (hashed, if usable).
        let (writer, opened) = Stage::writer(
            temp,
            download.resume.then_some(download.expected_size),
            new_hasher(),
            self.syncs_downloads(),
        );
        let (mut have, mut hasher) = if download.resume {
            match opened.await {
                Ok(prefix) => prefix,
                // The writer stopped before it could say: its error is the answer.
                Err(_) => return Err(writer.failure(destination).await),
            }
        } else {
            (0, new_hasher())
        };
        let headers: Vec<(&'static str, String)> = if have > 0 {
            vec![("range", format!("bytes={have}-"))]
        } else {
            Vec::new()
        };
        let body = request.body.clone().map(Bytes::from);
        let payload = move || {
            Ok(match &body {
                Some(bytes) => Payload::Bytes(bytes.clone()),
                None => Payload::None,
            })
        };
        let response = match self
            .send_with_headers(&request, &payload, true, &headers)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                // Waited for, so that a new temporary file is gone when this returns.
                drop(writer.finish().await);
                return Err(e);
            }
        };
        let url = redact_url(response.url().as_str());
        if have > 0 && response.status() != reqwest::StatusCode::PARTIAL_CONTENT {
            // The server sent the whole file: start again from its first byte.
            have = 0;
            hasher = new_hasher();
            writer.restart().await;
        }
        let announced = response.content_length().map(|n| n + have);
        let total = download.expected_size.or(announced);
        // A large file's hash runs on its own thread; a small one's here.
        let mut hashing = None;
        if total.is_some_and(|t| t.saturating_sub(have) > HASH_ON_TASK) {
            hashing = hasher.take().map(Stage::hasher);
        }
        let mut received = have;
        let mut body = response.bytes_stream();
        let mut failure = None;
        let mut stages_stopped = false;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(source) => {
                    failure = Some(send_error(&request.method, url.clone(), source));
                    break;
                }
            };
            received += chunk.len() as u64;
            if let Some(hasher) = &mut hasher {
                hasher.update(&chunk);
            }
            let hashed = match &hashing {
                Some(stage) => stage.feed(chunk.clone()).await,
                None => true,
            };
            if !(writer.feed(chunk).await && hashed) {
                stages_stopped = true; // their error comes from `finish`
                break;
            }
            if let Some(progress) = &download.progress {
                progress(received, total.unwrap_or(received));
            }
        }
        // Whatever arrived is written, so a resumable download keeps it for next time.
        let written = writer.finish().await;
        let hashed = match hashing {
            Some(stage) => stage.finish().await.map(Some),
            None => Ok(hasher),
        };
        let ((file, mut temp), _) = match written {
            Ok(written) => written,
            Err(source) => return Err(io_error("write", &download.destination, source)),
        };
        if let Some(failure) = failure {
            return Err(failure);
        }
        temp.keep = false; // from here on, a failure is a failed check: nothing to resume
        let hasher = hashed.map_err(|source| io_error("write", &temp.path, source))?;
        if stages_stopped {
            return Err(io_error(
                "write",
                &temp.path,
                std::io::Error::other("the download's pipeline stopped"),
            ));
        }
        for expected in [announced, download.expected_size].into_iter().flatten() {
            if expected != received {
                return Err(Error::SizeMismatch {
                    url,
                    expected,
                    received,
                });
            }
        }
        if let (Some(expected), Some(hasher)) = (expected_hex, hasher) {
            let computed = flywheel_hash(&hasher.finalize());
            if computed[10..] != expected {
                return Err(Error::HashMismatch {
                    url,
                    expected: format!("v0-sha384-{expected}"),
                    computed,
                });
            }
        }
        Ok(Fetched {
            temp,
            file,
            destination: destination.to_path_buf(),
            size: received,
            sync: self.syncs_downloads(),
        })
    }
}

/// A download whose bytes are all in a temporary file beside its destination and match
/// the expected size and hash ([`Client::fetch`]). [`Fetched::persist`] puts it in place;
/// dropped instead, it leaves nothing.
#[derive(Debug)]
pub struct Fetched {
    temp: TempFile,
    file: std::fs::File,
    destination: PathBuf,
    size: u64,
    sync: bool,
}

impl Fetched {
    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where [`Fetched::persist`] puts the file.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Syncs the file to the disk (unless the client was built with
    /// [`sync_downloads(false)`](crate::ClientBuilder::sync_downloads)) and renames it to
    /// its destination, replacing what was there; returns its size. Both are done on one
    /// blocking thread. The folder is not synced: see [`sync_directory`].
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the sync or the rename fails; then the destination is as it was.
    pub async fn persist(self) -> Result<u64, Error> {
        let Fetched {
            temp,
            file,
            destination,
            size,
            sync,
        } = self;
        let place = destination.clone();
        tokio::task::spawn_blocking(move || {
            if sync {
                file.sync_all()
                    .map_err(|source| io_error("sync", &temp.path, source))?;
            }
            // The file stays open, and a resumable download's lock on it held, until
            // it is renamed: another download to the same destination that opened the
            // partial file cannot take it over (and truncate it) before it is in place.
            temp.rename_to(&place)
                .map_err(|source| io_error("rename into place", &place, source))?;
            drop(file);
            Ok(size)
        })
        .await
        .map_err(|e| io_error("rename into place", &destination, std::io::Error::other(e)))?
    }
}

/// Syncs a folder, so that the names renamed into it last are on the disk (a rename is
/// durable only once its folder is). Does nothing where folders cannot be opened as files
/// (Windows).
///
/// # Errors
///
/// [`Error::Io`] if the folder cannot be opened or synced.
pub async fn sync_directory(folder: &Path) -> Result<(), Error> {
    if !cfg!(unix) {
        return Ok(());
    }
    let owned = folder.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&owned)?.sync_all())
        .await
        .map_err(|e| io_error("sync", folder, std::io::Error::other(e)))?
        .map_err(|source| io_error("sync", folder, source))
}

/// Downloads larger than this (bytes still to come) are hashed on a thread of their own.
const HASH_ON_TASK: u64 = 4 << 20;

/// How many chunks wait for a pipeline stage: a few network reads (at most about 400 KiB
/// each), so that a stage that is briefly slower does not stall the receiving task, and
/// memory stays bounded.
const STAGE_DEPTH: usize = 1;

/// How many bytes are written between two background syncs of a download.
const EARLY_SYNC: u64 = 64 << 20;

/// What a pipeline stage is handed.
enum Feed {
    /// The next bytes of the body.
    Chunk(Bytes),
    /// The server sent the whole file where the rest was asked for: start again.
    Restart,
    /// The body is complete (the stage returns its state; `each` never sees it).
    End,
}

/// One stage of a download's pipeline ([`Client::fetch`]): a blocking thread that takes
/// the body's chunks from a bounded channel and folds them into its state (the file
/// written, the hash computed). A stage whose sender is dropped before [`Feed::End`]
/// (the download failed or was dropped halfway) drops its state.
struct Stage<S> {
    sender: tokio::sync::mpsc::Sender<Feed>,
    task: tokio::task::JoinHandle<std::io::Result<S>>,
}

impl<S: Send + 'static> Stage<S> {
    /// Starts a stage whose state `start` makes on the stage's thread; `each` folds in a
    /// chunk or a restart. The first error stops the stage; [`Stage::finish`] returns it.
    fn spawn(
        start: impl FnOnce() -> std::io::Result<S> + Send + 'static,
        mut each: impl FnMut(&mut S, Feed) -> std::io::Result<()> + Send + 'static,
    ) -> Self {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Feed>(STAGE_DEPTH);
        let task = tokio::task::spawn_blocking(move || {
            let mut state = start()?;
            loop {
                match receiver.blocking_recv() {
                    Some(Feed::End) => return Ok(state),
                    Some(feed) => each(&mut state, feed)?,
                    None => return Err(std::io::Error::other("the download was dropped")),
                }
            }
        });
        Stage { sender, task }
    }

    /// Hands a chunk to the stage; false if the stage has stopped (then
    /// [`Stage::finish`] says why).
    async fn feed(&self, chunk: Bytes) -> bool {
        self.sender.send(Feed::Chunk(chunk)).await.is_ok()
    }

    /// Tells the stage to start again from the first byte (a stopped stage's error comes
    /// from [`Stage::finish`]).
    async fn restart(&self) {
        let _ = self.sender.send(Feed::Restart).await;
    }

    /// The error of a stage that stopped early, as an [`Error::Io`] on `path`.
    async fn failure(self, path: &Path) -> Error {
        let source = match self.finish().await {
            Err(source) => source,
            Ok(_) => std::io::Error::other("the stage ended before its first chunk"),
        };
        io_error("write", path, source)
    }

    /// Waits for the stage to take every chunk handed to it; its state, or its error.
    async fn finish(self) -> std::io::Result<S> {
        let _ = self.sender.send(Feed::End).await; // fails only when the stage has stopped
        drop(self.sender);
        self.task.await.map_err(std::io::Error::other)?
    }
}

impl Stage<sha2::Sha384> {
    /// The hash of the body, continued from `hasher`.
    fn hasher(hasher: sha2::Sha384) -> Self {
        Stage::spawn(
            move || Ok(hasher),
            |hasher, feed| {
                match feed {
                    Feed::Chunk(chunk) => sha2::Digest::update(hasher, &chunk),
                    Feed::Restart | Feed::End => *hasher = sha2::Digest::new(),
                }
                Ok(())
            },
        )
    }
}

/// The writer's state: the file, its temporary name (removed if the stage fails or the
/// download is dropped, unless resumable), and the background syncs.
type Written = (std::fs::File, TempFile);

/// What a resumable download already has: its length in bytes, and the hash so far.
type Prefix = (u64, Option<sha2::Sha384>);

impl Stage<(Written, EarlySync)> {
    /// Writes the body to `temp`. With `resume` (the expected size, if known), the bytes
    /// already in `temp` are kept, if usable, and fed to `hasher`; the receiver gets what
    /// is there before the first chunk is taken. `sync` flushes the file to the disk every
    /// [`EARLY_SYNC`] bytes.
    fn writer(
        temp: TempFile,
        resume: Option<Option<u64>>,
        hasher: Option<sha2::Sha384>,
        sync: bool,
    ) -> (Self, tokio::sync::oneshot::Receiver<Prefix>) {
        let (opened, prefix) = tokio::sync::oneshot::channel();
        let stage = Stage::spawn(
            move || {
                let (file, have, hasher) = match resume {
                    Some(expected_size) => continue_partial(&temp.path, expected_size, hasher)?,
                    None => (std::fs::File::create(&temp.path)?, 0, hasher),
                };
                let _ = opened.send((have, hasher));
                Ok(((file, temp), EarlySync::new(sync)))
            },
            |((file, _), early_sync), feed| {
                match feed {
                    Feed::Chunk(chunk) => {
                        std::io::Write::write_all(file, &chunk)?;
                        early_sync.wrote(chunk.len() as u64, file);
                    }
                    Feed::Restart | Feed::End => {
                        file.set_len(0)?;
                        std::io::Seek::seek(file, SeekFrom::Start(0))?;
                    }
                }
                Ok(())
            },
        );
        (stage, prefix)
    }
}

/// Opens the partial file of a resumable download at `path` for writing after its
/// bytes, fed to `hasher` when there is one; a partial file that cannot be continued
/// (empty, or not shorter than `expected_size`) is emptied. Returns the file, the number
/// of bytes kept and the hash so far.
///
/// The file is locked for as long as the download holds it (through
/// [`Fetched::persist`]'s rename): two downloads to one destination at once (two tasks,
/// two programs) would otherwise write, truncate and rename the same file under each
/// other, and a verified download could put a truncated file in place. The second one
/// fails at once with [`std::io::ErrorKind::WouldBlock`].
fn continue_partial(
    path: &Path,
    expected_size: Option<u64>,
    mut hasher: Option<sha2::Sha384>,
) -> std::io::Result<(std::fs::File, u64, Option<sha2::Sha384>)> {
    use std::io::{Read, Seek};
    let mut file = open_partial_locked(path)?;
    let length = file.metadata()?.len();
    if length == 0 || expected_size.is_some_and(|s| length >= s) {
        file.set_len(0)?;
        return Ok((file, 0, hasher));
    }
    let mut have = length;
    if let Some(hasher) = &mut hasher {
        let mut buffer = vec![0u8; CHUNK];
        have = 0;
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            have += n as u64;
            sha2::Digest::update(hasher, &buffer[..n]);
        }
    }
    file.seek(SeekFrom::Start(have))?;
    file.set_len(have)?;
    Ok((file, have, hasher))
}

/// Opens (or creates) the partial file at `path` and locks it exclusively, or fails with
/// [`std::io::ErrorKind::WouldBlock`] when another download holds it. A lock taken on a
/// file that was renamed into place (or removed) between the open and the lock is on
/// the wrong file: then the name is opened again.
fn open_partial_locked(path: &Path) -> std::io::Result<std::fs::File> {
    for _ in 0..8 {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "another download to the same destination is using {}; \
                         wait for it to end",
                        path.display()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if still_named(&file, path) {
            return Ok(file);
        }
    }
    Err(std::io::Error::other(format!(
        "{} keeps being replaced by another download",
        path.display()
    )))
}

/// Whether `path` still names the open `file` (always true where this cannot be told).
fn still_named(file: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

/// Flushes a download being written to the disk in the background every [`EARLY_SYNC`]
/// bytes, so that the final sync has little left to write: the disk works while the
/// network does. Errors are left to the final sync, which reports them.
struct EarlySync {
    enabled: bool,
    unsynced: u64,
    running: Option<std::thread::JoinHandle<()>>,
}

impl EarlySync {
    fn new(enabled: bool) -> Self {
        EarlySync {
            enabled,
            unsynced: 0,
            running: None,
        }
    }

    fn wrote(&mut self, bytes: u64, file: &std::fs::File) {
        self.unsynced += bytes;
        if !self.enabled
            || self.unsynced < EARLY_SYNC
            || self.running.as_ref().is_some_and(|r| !r.is_finished())
        {
            return;
        }
        if let Ok(clone) = file.try_clone() {
            self.unsynced = 0;
            self.running = Some(std::thread::spawn(move || {
                let _ = clone.sync_data();
            }));
        }
    }
}

/// The storage side of a signed-URL upload.
struct SignedParts<'a> {
    urls: &'a [String],
    headers: &'a std::collections::BTreeMap<String, String>,
    size: u64,
    progress: Option<Progress>,
    concurrency: usize,
}

fn file_name_of(path: &Path) -> Result<String, Error> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::Config {
            message: format!("{} names no file", path.display()),
        })
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
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    persisted: bool,
    /// A resumable download's partial bytes, kept after a failed transfer.
    keep: bool,
}

impl TempFile {
    fn beside(destination: &Path) -> Result<TempFile, Error> {
        let name = file_name_of(destination)?;
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        // The counter keeps two downloads of one process apart even when the clock
        // gives them the same instant (File::create would truncate the other's file).
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let count = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp_name = format!(".{name}.{}-{unique}-{count}.part", std::process::id());
        Ok(TempFile {
            path: destination.with_file_name(temp_name),
            persisted: false,
            keep: false,
        })
    }

    /// Renames the file to `destination` (on a blocking thread).
    fn rename_to(mut self, destination: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, destination)?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted && !self.keep {
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
