//! Files on every container that holds them (projects, subjects, sessions, acquisitions,
//! analyses), written once over [`HasFiles`]: listing, uploads, verified and resumable
//! downloads, file metadata, zip members; and the file-name rule of docs/wire.md §15.3.

use std::future::{Future, IntoFuture};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use fw_model::{DeletedResult, FileEntry, HasFiles, ModifiedResult, ZipInfo};
use fw_transport::{Download, Request, Upload, UploadMode, UploadSource, UploadTarget};
use serde_json::{Map, Value, json};
use tokio::io::AsyncRead;

use crate::body::Metadata;
use crate::{Client, Container, Error};

/// Where a transfer stands, as handed to a [`ProgressObserver`]. Sizes in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferProgress {
    /// The file being moved (its name on the server, or its path in a bulk transfer).
    pub file: String,
    /// Bytes of this file moved so far (a resumed download counts the bytes it had).
    pub file_bytes: u64,
    /// The file's size.
    pub file_size: u64,
    /// Bytes moved so far by the whole operation (one file, or a bulk transfer).
    pub total_bytes: u64,
    /// The operation's size, when known (a bulk transfer learns it as it walks: 0 until
    /// then).
    pub total_size: u64,
}

/// Called, from the transfer's task, each time bytes move. The library never prints;
/// draw progress bars from here. Keep it quick: it runs between network reads.
pub type ProgressObserver = Arc<dyn Fn(&TransferProgress) + Send + Sync>;

/// A byte counter shared by the files of one operation.
#[derive(Clone, Default)]
pub(crate) struct Totals {
    pub(crate) bytes: Arc<std::sync::atomic::AtomicU64>,
    pub(crate) size: Arc<std::sync::atomic::AtomicU64>,
}

/// The fw-transport progress callback for one file of an operation: per-file counts turned
/// into [`TransferProgress`] with the operation's totals.
pub(crate) fn file_progress(
    observer: &ProgressObserver,
    file: String,
    totals: Totals,
) -> fw_transport::Progress {
    use std::sync::atomic::Ordering::Relaxed;
    let observer = observer.clone();
    let last = std::sync::atomic::AtomicU64::new(0);
    Arc::new(move |done, size| {
        // fw-transport reports running counts; the operation's total grows by the step.
        let before = last.swap(done, Relaxed);
        let total = if done >= before {
            totals.bytes.fetch_add(done - before, Relaxed) + (done - before)
        } else {
            totals.bytes.fetch_sub(before - done, Relaxed) - (before - done)
        };
        observer(&TransferProgress {
            file: file.clone(),
            file_bytes: done,
            file_size: size,
            total_bytes: total,
            total_size: totals.size.load(Relaxed),
        });
    })
}

/// Checks a file name by the rule of docs/wire.md §15.3, before a byte is sent: not
/// empty, not `.` or `..`, at most 255 bytes of UTF-8, none of `: * ? " | < > \ /`, no
/// control character (U+0000-U+001F, U+007F).
///
/// # Errors
///
/// [`Error::InvalidArgument`] naming the character (as `U+0009` when it is not printable)
/// and its position (in characters, counting from 1, as fw-server's 400 and the filter
/// errors' columns count), or what else is wrong.
pub fn check_file_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name == "." || name == ".." {
        return Err(Error::invalid(format!(
            "{name:?} is not a file name; see fw_sdk::sanitize_file_name"
        )));
    }
    if name.len() > 255 {
        return Err(Error::invalid(format!(
            "the file name {name:?} is {} bytes long; at most 255 bytes of UTF-8 are allowed",
            name.len()
        )));
    }
    for (position, ch) in name.chars().enumerate() {
        let control = ch <= '\u{1f}' || ch == '\u{7f}';
        if control || matches!(ch, ':' | '*' | '?' | '"' | '|' | '<' | '>' | '\\' | '/') {
            let shown = if control {
                format!("U+{:04X}", ch as u32)
            } else {
                format!("{ch:?}")
            };
            return Err(Error::invalid(format!(
                "the file name {name:?} contains {shown} at position {}, which \
                 Flywheel refuses; fw_sdk::sanitize_file_name gives an allowed name",
                position + 1
            )));
        }
    }
    Ok(())
}

/// The documented sanitizer of docs/wire.md §15.3, never applied unless called: `*`
/// after `t2`/`T2` becomes `star` (`T2*` → `T2star`), other forbidden characters `_`,
/// control characters are dropped; an empty result, `.` or `..` becomes `_`, and the name
/// is cut to 255 bytes at a character boundary. `check_file_name(&sanitize_file_name(x))`
/// always holds.
pub fn sanitize_file_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.chars() {
        match ch {
            '*' if out.to_ascii_lowercase().ends_with("t2") => out.push_str("star"),
            c if c <= '\u{1f}' || c == '\u{7f}' => {}
            ':' | '*' | '?' | '"' | '|' | '<' | '>' | '\\' | '/' => out.push('_'),
            c => out.push(c),
        }
    }
    while out.len() > 255 {
        out.pop();
    }
    if out.is_empty() || out == "." || out == ".." {
        out = "_".repeat(out.len().max(1));
    }
    out
}

/// A file on a container: its entry (fields through [`Deref`]: `file.name`, `file.size`,
/// `file.hash`) and where it lives (Python: the `FileEntry` objects of `container.files`).
#[derive(Clone)]
pub struct File {
    entry: FileEntry,
    name: String,
    collection: &'static str,
    parent: String,
    client: Client,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.entry.fmt(f)
    }
}

impl Deref for File {
    type Target = FileEntry;
    fn deref(&self) -> &FileEntry {
        &self.entry
    }
}

impl File {
    pub(crate) fn new(
        client: &Client,
        collection: &'static str,
        parent: &str,
        entry: FileEntry,
    ) -> Result<File, Error> {
        let name = entry
            .name
            .clone()
            .ok_or_else(|| Error::unexpected("a file entry without a name"))?;
        Ok(File {
            entry,
            name,
            collection,
            parent: parent.to_string(),
            client: client.clone(),
        })
    }

    /// The file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entry.
    pub fn entry(&self) -> &FileEntry {
        &self.entry
    }

    /// `/{collection}/{id}/files/{name}{/rest…}`.
    fn at(&self, rest: &[&str]) -> Vec<String> {
        let mut segments = vec![
            self.collection.to_string(),
            self.parent.clone(),
            "files".to_string(),
            self.name.clone(),
        ];
        segments.extend(rest.iter().map(|s| s.to_string()));
        segments
    }

    /// A download of this version of the file to `dest` (Python: `file.download(dest)`;
    /// `GET …/files/{name}?version=<v>`), checked against the entry's size and hash.
    /// Options and errors: [`FileDownload`].
    pub fn download(&self, dest: impl Into<PathBuf>) -> FileDownload {
        FileDownload::new(self, dest.into())
    }

    /// This version's bytes (Python: `file.read()`), checked against the entry's size
    /// and hash.
    ///
    /// # Errors
    ///
    /// As [`File::open`], and [`Error::Transport`] with a hash or size mismatch.
    pub async fn read(&self) -> Result<Vec<u8>, Error> {
        use tokio::io::AsyncReadExt;
        let mut reader = self.open().await?;
        let mut bytes = Vec::with_capacity(self.size.unwrap_or(0).max(0) as usize);
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| Error::invalid(format!("reading {}: {e}", self.name)))?;
        self.verify_bytes(&bytes)?;
        Ok(bytes)
    }

    fn verify_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        use sha2::Digest;
        if let Some(size) = self.size.filter(|&s| s as u64 != bytes.len() as u64) {
            return Err(Error::unexpected(format!(
                "{} arrived with {} bytes, not {size}",
                self.name,
                bytes.len()
            )));
        }
        if let Some(hash) = self.hash.as_deref().filter(|h| h.starts_with("v0-sha384-")) {
            let computed = fw_transport::flywheel_hash(&sha2::Sha384::digest(bytes));
            if computed != hash {
                return Err(Error::unexpected(format!(
                    "{} arrived with hash {computed}, not {hash}",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// A streaming reader of this version's bytes, for files too large to hold (Python
    /// has none; `GET …/files/{name}?version=<v>`). Not hash-checked: use
    /// [`File::download`] for a verified copy.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the file is gone; [`Error::Transport`].
    pub async fn open(&self) -> Result<FileReader, Error> {
        let mut request = Request::get(self.at(&[])).accept("application/octet-stream");
        if let Some(version) = self.version {
            request = request.query("version", version.to_string());
        }
        open_reader(&self.client, &request).await
    }

    /// A URL that downloads this version without an API key, valid for a while (Python:
    /// `file.url()`; `GET …/files/{name}?ticket=&version=<v>`, then
    /// `<base>/{collection}/{id}/files/{name}?ticket=<ticket>`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::UnexpectedReply`] for a reply without a ticket.
    pub async fn url(&self) -> Result<String, Error> {
        let mut request = Request::get(self.at(&[])).query("ticket", "");
        if let Some(version) = self.version {
            request = request.query("version", version.to_string());
        }
        let reply: Value = self.client.call(request).await?;
        let ticket = reply["ticket"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::unexpected("a download ticket reply without a ticket"))?;
        let url = Request::get(self.at(&[]))
            .query("ticket", ticket)
            .url(self.client.base_url(), &[])?;
        Ok(url)
    }

    /// Adds tags (Python: `file.add_tag(t)`; `PATCH /files/{file_id}/tags` with the
    /// list); returns the file's tags after the change.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] for an entry without a `file_id`; [`Error::NotFound`].
    pub async fn add_tags<S: AsRef<str>>(
        &self,
        tags: impl IntoIterator<Item = S>,
    ) -> Result<Vec<String>, Error> {
        let tags: Vec<String> = tags.into_iter().map(|t| t.as_ref().to_string()).collect();
        let request = Request::patch(["files", self.file_id()?, "tags"]).json(&tags)?;
        self.client.call(request).await
    }

    /// Removes a tag (Python: `file.delete_tag(t)`; `GET /files/{file_id}`, then
    /// `PUT /files/{file_id}/tags` with the remaining list).
    ///
    /// # Errors
    ///
    /// As [`File::add_tags`].
    pub async fn delete_tag(&self, tag: &str) -> Result<ModifiedResult, Error> {
        let current: FileEntry = self
            .client
            .call(Request::get(["files", self.file_id()?]))
            .await?;
        let kept: Vec<String> = current
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t != tag)
            .collect();
        let request = Request::put(["files", self.file_id()?, "tags"]).json(&kept)?;
        self.client.call(request).await
    }

    fn file_id(&self) -> Result<&str, Error> {
        self.file_id
            .as_ref()
            .map(|id| id.as_str())
            .ok_or_else(|| Error::unexpected(format!("the entry of {} has no file_id", self.name)))
    }
}

/// A streaming reader of a file's bytes ([`AsyncRead`]); memory stays at one network chunk.
pub struct FileReader {
    inner: Pin<Box<dyn AsyncRead + Send>>,
}

impl AsyncRead for FileReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

async fn open_reader(client: &Client, request: &Request) -> Result<FileReader, Error> {
    use futures_util::TryStreamExt;
    let response = client.transport().send(request).await?;
    let stream = response.bytes_stream().map_err(std::io::Error::other);
    Ok(FileReader {
        inner: Box::pin(tokio_util::io::StreamReader::new(stream)),
    })
}

/// A download as a value: `.await` it (`IntoFuture`), after setting options. Returns the
/// size in bytes of the file written.
///
/// The bytes are checked while they stream against the entry's size and `hash`
/// (`v0-sha384-…`); nothing appears under `dest` unless they match. With
/// [`resume`](FileDownload::resume) (the default), the bytes of an attempt that broke off
/// are kept beside `dest` (`.{name}.fwpart`) and the next attempt asks only for the rest
/// with a `Range` request.
///
/// # Errors
///
/// [`Error::NotFound`] when the file is gone; [`Error::InvalidArgument`] when `dest` is a
/// folder (nothing fetched); [`Error::Transport`] wrapping
/// `fw_transport::Error::HashMismatch` or `SizeMismatch` when the bytes are not the
/// file's, or an IO error writing `dest`.
#[must_use = "a download does nothing until awaited"]
pub struct FileDownload {
    client: Client,
    download: Download,
    name: String,
    observer: Option<ProgressObserver>,
}

impl FileDownload {
    fn new(file: &File, dest: PathBuf) -> FileDownload {
        let mut request = Request::get(file.at(&[]));
        if let Some(version) = file.version {
            request = request.query("version", version.to_string());
        }
        let mut download = Download::new(request, dest).resume(true);
        if let Some(size) = file.size {
            download = download.expected_size(size.max(0) as u64);
        }
        if let Some(hash) = file.hash.as_deref().filter(|h| h.starts_with("v0-sha384-")) {
            download = download.expected_hash(hash);
        }
        FileDownload {
            client: file.client.clone(),
            download,
            name: file.name.clone(),
            observer: None,
        }
    }

    /// Whether the bytes of a broken attempt are kept and continued from (default: yes).
    /// Only with a hash to check: without [`verify`](FileDownload::verify), or for an
    /// entry with no `v0-sha384` hash, every attempt starts from byte 0.
    pub fn resume(mut self, resume: bool) -> Self {
        self.download.resume = resume;
        self
    }

    /// Whether the hash is checked (default: yes, when the entry has a `v0-sha384` hash).
    /// Without it, a download does not resume (see [`resume`](FileDownload::resume)).
    pub fn verify(mut self, verify: bool) -> Self {
        if !verify {
            self.download.expected_hash = None;
        }
        self
    }

    /// Reports bytes as they arrive.
    pub fn progress(mut self, observer: ProgressObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The download as fw-transport sends it.
    pub fn as_download(&self) -> &Download {
        &self.download
    }

    async fn send(self) -> Result<u64, Error> {
        let mut download = self.download;
        // Kept bytes are continued only when the hash can tell whether they belong to the
        // file as it is now: without one, a version uploaded since the broken attempt
        // would be joined to the old bytes and pass unnoticed.
        download.resume &= download.expected_hash.is_some();
        if let Some(observer) = &self.observer {
            let totals = Totals::default();
            totals.size.store(
                download.expected_size.unwrap_or(0),
                std::sync::atomic::Ordering::Relaxed,
            );
            download = download.progress(file_progress(observer, self.name, totals));
        }
        check_destination(&download.destination).await?;
        let _permit = self.client.permit().await;
        Ok(self.client.transport().download(download).await?)
    }
}

/// Refuses a destination that is a folder before anything is fetched: the transfer would
/// run to its end and only then fail to rename its temporary file into place (Python:
/// `IsADirectoryError` when it opens the destination).
pub(crate) async fn check_destination(dest: &Path) -> Result<(), Error> {
    match tokio::fs::metadata(dest).await {
        Ok(meta) if meta.is_dir() => Err(Error::invalid(format!(
            "cannot download to {}: it is a folder; give the path of the file to write",
            dest.display()
        ))),
        _ => Ok(()),
    }
}

impl IntoFuture for FileDownload {
    type Output = Result<u64, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// An upload as a value: `.await` it (`IntoFuture`), after setting options. Returns the
/// file entries the server made.
///
/// The name is checked by [`check_file_name`] before anything is sent. The flow
/// (multipart or signed URL) follows the site's `GET /config`, as in Python, unless
/// [`mode`](FileUpload::mode) says otherwise. Bytes stream from disk or the reader.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for a forbidden name, metadata that is not a JSON object, or
/// a path that is not a regular file, such as a folder (nothing sent); [`Error::NotFound`],
/// [`Error::PermissionDenied`]; [`Error::Transport`] for a file that cannot be read.
#[must_use = "an upload does nothing until awaited"]
pub struct FileUpload {
    client: Client,
    target: UploadTarget,
    source: Result<UploadSource, Error>,
    metadata: Option<Value>,
    mode: UploadMode,
    observer: Option<ProgressObserver>,
}

impl FileUpload {
    pub(crate) fn new(
        client: &Client,
        target: UploadTarget,
        source: Result<UploadSource, Error>,
    ) -> FileUpload {
        FileUpload {
            client: client.clone(),
            target,
            source,
            metadata: None,
            mode: UploadMode::Auto,
            observer: None,
        }
    }

    /// The file's metadata (`FileCreateInput`: `type`, `modality`, `info`,
    /// `classification`, `tags`), typed or as a JSON object.
    pub fn metadata(mut self, metadata: impl Metadata<fw_model::FileInput>) -> Self {
        match metadata.into_fields() {
            Ok(fields) => self.metadata = Some(Value::Object(fields)),
            Err(e) => self.source = Err(e),
        }
        self
    }

    /// Multipart, signed URL, or as the site's config says (the default,
    /// [`UploadMode::Auto`], which sends `GET /config` first as Python does).
    pub fn mode(mut self, mode: UploadMode) -> Self {
        self.mode = mode;
        self
    }

    /// Reports bytes as they are sent.
    pub fn progress(mut self, observer: ProgressObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    async fn send(self) -> Result<Vec<File>, Error> {
        let source = self.source?;
        let name = source.name()?;
        check_file_name(&name)?;
        if let UploadSource::Path(path) = &source {
            check_regular_file(path).await?;
        }
        let mut upload = Upload::new(self.target.clone(), source).mode(self.mode);
        if let Some(metadata) = self.metadata {
            upload = upload.metadata(metadata);
        }
        if let Some(observer) = &self.observer {
            upload = upload.progress(file_progress(observer, name, Totals::default()));
        }
        let _permit = self.client.permit().await;
        let entries = self.client.transport().upload(upload).await?;
        let collection = collection_name(&self.target.collection);
        entries
            .into_iter()
            .map(|e| File::new(&self.client, collection, &self.target.id, e))
            .collect()
    }
}

impl IntoFuture for FileUpload {
    type Output = Result<Vec<File>, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<Vec<File>, Error>> + Send>>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The `'static` collection name of a target.
fn collection_name(collection: &str) -> &'static str {
    match collection {
        "projects" => "projects",
        "subjects" => "subjects",
        "sessions" => "sessions",
        "acquisitions" => "acquisitions",
        "analyses" => "analyses",
        _ => "containers",
    }
}

/// Refuses a path that exists but is not a regular file (a folder, a socket) before
/// anything is sent: its metadata has a size, so the upload would start and only fail
/// when reading its bytes, as an unclear send error (Python: `IsADirectoryError`). A
/// missing path is left to the transfer, whose error names it.
async fn check_regular_file(path: &Path) -> Result<(), Error> {
    match tokio::fs::metadata(path).await {
        Ok(meta) if !meta.is_file() => Err(Error::invalid(format!(
            "cannot upload {}: it is {}",
            path.display(),
            if meta.is_dir() {
                "a folder, not a file"
            } else {
                "not a regular file"
            }
        ))),
        _ => Ok(()),
    }
}

/// The source of an upload from a path (read when the upload is sent).
pub(crate) fn path_source(path: &Path) -> Result<UploadSource, Error> {
    Ok(UploadSource::Path(path.to_path_buf()))
}

impl Client {
    /// An upload of a file to any container by id (Python:
    /// `fw.upload_file_to_container(id, path, metadata=…)`; `POST /containers/{id}/files`,
    /// or the signed-URL flow). See [`FileUpload`].
    pub fn upload_file_to_container(&self, id: &str, path: impl AsRef<Path>) -> FileUpload {
        FileUpload::new(
            self,
            UploadTarget::new("containers", id),
            path_source(path.as_ref()),
        )
    }
}

/// Files: every kind that holds them, written once.
impl<K: HasFiles> Container<K> {
    fn file_segments(&self, name: &str, rest: &[&str]) -> Vec<String> {
        let mut segments = vec![
            K::COLLECTION.to_string(),
            self.id().to_string(),
            "files".to_string(),
            name.to_string(),
        ];
        segments.extend(rest.iter().map(|s| s.to_string()));
        segments
    }

    /// The files of this container as the handle holds them (Python: `container.files`;
    /// no request: [`reload`](Container::reload) for a fresh list).
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] for an entry without a name.
    pub fn files(&self) -> Result<Vec<File>, Error> {
        let value = serde_json::to_value(self.wire())
            .map_err(|e| Error::unexpected(format!("a {} that cannot be read: {e}", K::NAME)))?;
        let entries: Vec<FileEntry> = match value.get("files") {
            Some(files) if !files.is_null() => serde_json::from_value(files.clone())
                .map_err(|e| Error::unexpected(format!("files that do not read: {e}")))?,
            _ => Vec::new(),
        };
        entries
            .into_iter()
            .map(|e| File::new(self.client(), K::COLLECTION, self.id(), e))
            .collect()
    }

    /// The file `name` as the handle holds it, else as a fresh copy of the container has
    /// it (Python: `container.get_file(name)`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such file.
    pub async fn file(&self, name: &str) -> Result<File, Error> {
        if let Some(file) = self.files()?.into_iter().find(|f| f.name() == name) {
            return Ok(file);
        }
        self.reload()
            .await?
            .files()?
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::NotFound {
                message: format!("{} {} has no file {name:?}", K::NAME, self.id()),
                source: None,
            })
    }

    fn target(&self) -> UploadTarget {
        UploadTarget::new(K::COLLECTION, self.id())
    }

    /// An upload of the file at `path` (Python: `container.upload_file(path)`). See
    /// [`FileUpload`] for options (metadata, mode, progress) and errors.
    pub fn upload_file(&self, path: impl AsRef<Path>) -> FileUpload {
        FileUpload::new(self.client(), self.target(), path_source(path.as_ref()))
    }

    /// An upload of `bytes` as the file `name` (Python:
    /// `upload_file(FileSpec(name, contents))`).
    pub fn upload_bytes(&self, name: &str, bytes: impl Into<Vec<u8>>) -> FileUpload {
        let bytes = bytes.into();
        let source = UploadSource::Reader {
            name: name.to_string(),
            size: bytes.len() as u64,
            reader: Box::new(std::io::Cursor::new(bytes)),
        };
        FileUpload::new(self.client(), self.target(), Ok(source))
    }

    /// An upload of exactly `size` bytes from `reader` as the file `name`. A reader is
    /// read once, so a failed attempt is not retried.
    pub fn upload_reader(
        &self,
        name: &str,
        size: u64,
        reader: impl AsyncRead + Send + Sync + Unpin + 'static,
    ) -> FileUpload {
        let source = UploadSource::Reader {
            name: name.to_string(),
            size,
            reader: Box::new(reader),
        };
        FileUpload::new(self.client(), self.target(), Ok(source))
    }

    /// A download of the file `name` to `dest` (Python:
    /// `container.download_file(name, dest)`; `GET …/files/{name}?version=<v>` of the
    /// version this handle knows, else of a fresh copy's), verified and resumable. See
    /// [`FileDownload`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no such file.
    pub async fn download_file(
        &self,
        name: &str,
        dest: impl Into<PathBuf>,
    ) -> Result<FileDownload, Error> {
        Ok(self.file(name).await?.download(dest))
    }

    /// The bytes of the file `name` (Python: `container.read_file(name)`), verified.
    ///
    /// # Errors
    ///
    /// As [`File::read`].
    pub async fn read_file(&self, name: &str) -> Result<Vec<u8>, Error> {
        self.file(name).await?.read().await
    }

    /// A streaming reader of the file `name`, latest version (`GET …/files/{name}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`].
    pub async fn open_file(&self, name: &str) -> Result<FileReader, Error> {
        let request =
            Request::get(self.file_segments(name, &[])).accept("application/octet-stream");
        open_reader(self.client(), &request).await
    }

    /// Downloads version `version` of the file `name` to `dest` (`GET …/files/{name}?version=`),
    /// whole or absent; returns the bytes written. Checked by the size the server announces
    /// only: the entry (and hash) of an older version is not listed on the container.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a missing file or version; [`Error::Transport`] when the
    /// transfer fails (nothing is left under `dest`).
    pub async fn download_file_version(
        &self,
        name: &str,
        version: i64,
        dest: impl Into<PathBuf>,
    ) -> Result<u64, Error> {
        let request =
            Request::get(self.file_segments(name, &[])).query("version", version.to_string());
        self.send_download(Download::new(request, dest)).await
    }

    /// Sends a download under the client's request limit.
    async fn send_download(&self, download: Download) -> Result<u64, Error> {
        check_destination(&download.destination).await?;
        let _permit = self.client().permit().await;
        Ok(self.client().transport().download(download).await?)
    }

    async fn patch_file(
        &self,
        name: &str,
        rest: &str,
        body: Value,
    ) -> Result<ModifiedResult, Error> {
        let request = Request::patch(self.file_segments(name, &[rest])).json(&body)?;
        self.client().call(request).await
    }

    /// Sets keys of a file's info (Python: `update_file_info(name, {...})`;
    /// `PATCH …/files/{name}/info {"set": …}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::InvalidArgument`] for JSON that is not an object.
    pub async fn update_file_info(
        &self,
        name: &str,
        info: impl Metadata<Map<String, Value>>,
    ) -> Result<ModifiedResult, Error> {
        self.patch_file(name, "info", json!({"set": info.into_fields()?}))
            .await
    }

    /// Replaces a file's info (Python: `replace_file_info`; `{"replace": …}`).
    ///
    /// # Errors
    ///
    /// As [`Container::update_file_info`].
    pub async fn replace_file_info(
        &self,
        name: &str,
        info: impl Metadata<Map<String, Value>>,
    ) -> Result<ModifiedResult, Error> {
        self.patch_file(name, "info", json!({"replace": info.into_fields()?}))
            .await
    }

    /// Removes keys of a file's info (Python: `delete_file_info(name, keys)`;
    /// `{"delete": [...]}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`].
    pub async fn delete_file_info<S: AsRef<str>>(
        &self,
        name: &str,
        keys: impl IntoIterator<Item = S>,
    ) -> Result<ModifiedResult, Error> {
        let keys: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_string()).collect();
        self.patch_file(name, "info", json!({"delete": keys})).await
    }

    /// Adds classification values (Python: `update_file_classification(name, {...})`;
    /// `PATCH …/files/{name}/classification {"add": …}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Api`] (400) for values the modality does not allow.
    pub async fn update_file_classification(
        &self,
        name: &str,
        classification: Value,
    ) -> Result<ModifiedResult, Error> {
        self.patch_file(name, "classification", json!({"add": classification}))
            .await
    }

    /// Replaces the classification, and the modality when given (Python:
    /// `replace_file_classification(name, {...}, modality=…)`; `{"replace": …,
    /// "modality": …}`).
    ///
    /// # Errors
    ///
    /// As [`Container::update_file_classification`].
    pub async fn replace_file_classification(
        &self,
        name: &str,
        classification: Value,
        modality: Option<&str>,
    ) -> Result<ModifiedResult, Error> {
        let mut body = json!({"replace": classification});
        if let Some(modality) = modality {
            body["modality"] = json!(modality);
        }
        self.patch_file(name, "classification", body).await
    }

    /// Removes classification values (Python: `delete_file_classification`;
    /// `{"delete": …}`).
    ///
    /// # Errors
    ///
    /// As [`Container::update_file_classification`].
    pub async fn delete_file_classification(
        &self,
        name: &str,
        classification: Value,
    ) -> Result<ModifiedResult, Error> {
        self.patch_file(name, "classification", json!({"delete": classification}))
            .await
    }

    /// Changes a file's `type` or `modality` (Python: `update_file(name, type=…,
    /// modality=…)`; `PUT …/files/{name}` with a `FileModifyInput`). A new modality clears
    /// the classification except `Custom`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Api`] (400) naming a field the server refuses.
    pub async fn update_file(
        &self,
        name: &str,
        body: impl Metadata<fw_model::FileUpdate>,
    ) -> Result<ModifiedResult, Error> {
        let request = Request::put(self.file_segments(name, &[])).json(&body.into_fields()?)?;
        self.client().call(request).await
    }

    /// Deletes a file (Python: `delete_file(name)`; `DELETE …/files/{name}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::PermissionDenied`].
    pub async fn delete_file(&self, name: &str) -> Result<DeletedResult, Error> {
        self.client()
            .call(Request::delete(self.file_segments(name, &[])))
            .await
    }

    /// The members of a zip file (Python: `get_file_zip_info(name)`;
    /// `GET …/files/{name}?info=true`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Api`] (400) when the file is not a zip.
    pub async fn get_file_zip_info(&self, name: &str) -> Result<ZipInfo, Error> {
        let request = Request::get(self.file_segments(name, &[])).query("info", "true");
        self.client().call(request).await
    }

    /// Downloads one member of a zip file to `dest` (Python:
    /// `download_file_zip_member(name, member, dest)`; `GET …/files/{name}?member=…`),
    /// whole or absent; returns the bytes written.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a missing file or member; [`Error::Transport`] when the
    /// transfer fails (nothing is left under `dest`).
    pub async fn download_file_zip_member(
        &self,
        name: &str,
        member: &str,
        dest: impl Into<PathBuf>,
    ) -> Result<u64, Error> {
        let request = Request::get(self.file_segments(name, &[])).query("member", member);
        self.send_download(Download::new(request, dest)).await
    }

    /// The bytes of one member of a zip file (Python: `read_file_zip_member`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a missing file or member.
    pub async fn read_file_zip_member(&self, name: &str, member: &str) -> Result<Vec<u8>, Error> {
        let request = Request::get(self.file_segments(name, &[]))
            .query("member", member)
            .accept("application/octet-stream");
        let _permit = self.client().permit().await;
        Ok(self.client().transport().bytes(&request).await?.to_vec())
    }
}
