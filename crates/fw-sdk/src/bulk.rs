//! Transfers of many files: archives (`download_tar`, `download_zip`), `download_tree`
//! (every file under a container, in the archive's layout, N at once, verified, skipping
//! what is already there) and `import_folder` (a folder tree into a project, creating
//! containers, skipping files already uploaded).
//!
//! Memory stays bounded: containers are walked one listing at a time, and files go from
//! the walker to the N transfer tasks through a channel of 2N places, so neither a whole
//! file nor the whole list of files is ever held.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use fw_model::layout::{folder_label, folder_name, unique};
use fw_model::{ContainerKind, FileEntry, HasFiles, ParentOf, ProjectKind};
use fw_transport::{Download, Fetched, Request, Upload, UploadMode, UploadSource, UploadTarget};
use serde_json::{Value, json};

use crate::files::{ProgressObserver, Totals, check_file_name, file_progress};
use crate::kinds::label_filter;
use crate::{Client, Container, Error};

/// A container to put in an archive: its level (`project`, `session`, …) and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadNode {
    /// The container type, as `container_type` says it.
    pub level: &'static str,
    /// The container id.
    pub id: String,
}

impl<K: HasFiles> Container<K> {
    /// This container as a node of [`Client::download_tar`].
    pub fn node(&self) -> DownloadNode {
        DownloadNode {
            level: K::NAME,
            id: self.id().to_string(),
        }
    }

    /// Every file under this container written below `dest_dir` in the archive's layout
    /// (`group/project/subject/session/acquisition/file`, docs/wire.md §11), with the
    /// options given. See [`TreeOptions`] and [`TreeSummary`]. Analyses' files are
    /// included as in the archive: their inputs in `<analysis>/input/` (those the caller
    /// may read), their own files in `<analysis>/output/`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `dest_dir` cannot be made a folder (nothing is
    /// fetched); [`Error::NotFound`] if the container is gone; listing errors;
    /// a [`Error::Transport`] connect error as soon as one download finds the server
    /// unreachable (the remaining files are not tried one by one; a rerun continues where
    /// this one stopped). Other errors of single files do not stop the others: they are in
    /// [`TreeSummary::failed`], which a caller should check.
    pub async fn download_tree(
        &self,
        dest_dir: impl AsRef<Path>,
        options: TreeOptions,
    ) -> Result<TreeSummary, Error> {
        download_tree(
            self.client(),
            K::NAME,
            self.id(),
            dest_dir.as_ref(),
            options,
        )
        .await
    }
}

impl Client {
    /// A tar archive of the containers' files, streamed to `dest` (Python:
    /// `fw.download_tar(containers, dest, include_types=…, exclude_types=…)`;
    /// `POST /download` then `GET /download?ticket=…&format=tar`). Whole or absent: a
    /// broken transfer leaves nothing under `dest`. Returns the ticket stub
    /// (`{ticket, filename, file_cnt, size}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a missing container; [`Error::Transport`].
    pub async fn download_tar(
        &self,
        nodes: &[DownloadNode],
        dest: impl AsRef<Path>,
        types: &TypeFilter,
    ) -> Result<fw_model::DownloadTicket, Error> {
        self.download_archive(nodes, dest.as_ref(), types, "tar")
            .await
    }

    /// As [`Client::download_tar`], as a zip (`format=zip`).
    ///
    /// # Errors
    ///
    /// As [`Client::download_tar`].
    pub async fn download_zip(
        &self,
        nodes: &[DownloadNode],
        dest: impl AsRef<Path>,
        types: &TypeFilter,
    ) -> Result<fw_model::DownloadTicket, Error> {
        self.download_archive(nodes, dest.as_ref(), types, "zip")
            .await
    }

    async fn download_archive(
        &self,
        nodes: &[DownloadNode],
        dest: &Path,
        types: &TypeFilter,
        format: &str,
    ) -> Result<fw_model::DownloadTicket, Error> {
        let nodes: Vec<Value> = nodes
            .iter()
            .map(|n| json!({"level": n.level, "_id": n.id}))
            .collect();
        let mut body = json!({"optional": true, "nodes": nodes});
        if !types.include.is_empty() || !types.exclude.is_empty() {
            let mut rule = serde_json::Map::new();
            if !types.include.is_empty() {
                rule.insert("plus".into(), json!(types.include));
            }
            if !types.exclude.is_empty() {
                rule.insert("minus".into(), json!(types.exclude));
            }
            body["filters"] = json!([{"types": rule}]);
        }
        crate::files::check_destination(dest).await?;
        let stub: fw_model::DownloadTicket =
            self.call(Request::post(["download"]).json(&body)?).await?;
        let ticket = stub
            .ticket
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::unexpected("a download ticket reply without a ticket"))?;
        let request = Request::get(["download"])
            .query("ticket", &ticket)
            .query("format", format)
            .accept("application/json");
        let _permit = self.permit().await;
        self.transport()
            .download(Download::new(request, dest))
            .await?;
        Ok(stub)
    }
}

/// File types to include and exclude (the `include_types` / `exclude_types` of Python).
/// A file passes when `include` is empty or has its type, and `exclude` has not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter {
    /// Only these types (empty: all).
    pub include: Vec<String>,
    /// Never these types.
    pub exclude: Vec<String>,
}

impl TypeFilter {
    fn passes(&self, file_type: Option<&str>) -> bool {
        let file_type = file_type.unwrap_or("");
        (self.include.is_empty() || self.include.iter().any(|t| t == file_type))
            && !self.exclude.iter().any(|t| t == file_type)
    }
}

/// What to do with a file already present under its destination.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Existing {
    /// Skip it if its size and hash are the file's; download it again otherwise
    /// (default): a rerun after a crash continues where it stopped.
    #[default]
    Skip,
    /// Always download again.
    Overwrite,
    /// Skip it if it is the same; a different file is an error for that file.
    Error,
}

/// Options of [`Container::download_tree`].
#[derive(Clone)]
pub struct TreeOptions {
    /// Files in flight at once (default 4).
    pub concurrency: usize,
    /// What to do with files already present (default [`Existing::Skip`]).
    pub existing: Existing,
    /// Which file types.
    pub types: TypeFilter,
    /// Reports bytes as they arrive, per file and in all.
    pub progress: Option<ProgressObserver>,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            concurrency: 4,
            existing: Existing::Skip,
            types: TypeFilter::default(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for TreeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeOptions")
            .field("concurrency", &self.concurrency)
            .field("existing", &self.existing)
            .field("types", &self.types)
            .finish_non_exhaustive()
    }
}

/// What [`Container::download_tree`] did. Sizes in bytes.
#[derive(Debug, Default)]
pub struct TreeSummary {
    /// Files downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Files already present with the same size and hash.
    pub skipped: u64,
    /// Files that failed, with why (the others went on).
    pub failed: Vec<(PathBuf, Error)>,
}

/// One file to fetch.
struct Job {
    request: Request,
    path: PathBuf,
    relative: String,
    size: u64,
    hash: Option<String>,
}

/// The child collections whose containers are folders inside a container of `kind`: the
/// next level, and the analyses attached to it (listed: the SDK asks for
/// `slim-containers`, so documents come without their `analyses`).
fn child_collections(kind: &str) -> &'static [&'static str] {
    match kind {
        "group" => &["projects"],
        "project" => &["subjects", "analyses"],
        "subject" => &["sessions", "analyses"],
        "session" => &["acquisitions", "analyses"],
        "acquisition" => &["analyses"],
        _ => &[],
    }
}

fn collection_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "group" => "groups",
        "project" => "projects",
        "subject" => "subjects",
        "session" => "sessions",
        "acquisition" => "acquisitions",
        "analysis" => "analyses",
        _ => return None,
    })
}

/// A container met on the walk: its type, id and folder (or folder name).
type Node = (String, String, String);

/// The children of a container that are folders in its folder, in id order (creation
/// order, as the server names them), each with its unique folder name: taken among the
/// container's own file names and the earlier siblings' names (as the archive names them,
/// [`fw_model::layout`]). Listings are read a page at a time and only (type, id, name)
/// kept, so memory grows with the number of siblings, not with their documents.
async fn child_folders(client: &Client, kind: &str, doc: &Value) -> Result<Vec<Node>, Error> {
    use futures_util::TryStreamExt;
    let id = doc["_id"].as_str().unwrap_or_default();
    let Some(collection) = collection_of(kind) else {
        return Ok(Vec::new());
    };
    // (id, type, label) of each child.
    let mut children: Vec<(String, String, String)> = Vec::new();
    for child in child_collections(kind) {
        let child_kind = match *child {
            "projects" => "project",
            "subjects" => "subject",
            "sessions" => "session",
            "analyses" => "analysis",
            _ => "acquisition",
        };
        let request = Request::get([collection, id, child]);
        let _permit = client.permit().await;
        let mut pages = std::pin::pin!(client.transport().paginate::<Value>(request, 250));
        while let Some(doc) = pages.try_next().await? {
            let child_id = doc["_id"].as_str().unwrap_or_default().to_string();
            children.push((
                child_id,
                child_kind.to_string(),
                folder_label(child_kind, &doc),
            ));
        }
    }
    children.sort();
    let mut taken: HashSet<String> = doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
    Ok(children
        .into_iter()
        .map(|(child_id, child_kind, label)| {
            let name = unique(folder_name(&label), &mut taken);
            (child_kind, child_id, name)
        })
        .collect())
}

/// `GET /{collection}/{id}` as JSON.
async fn document(client: &Client, kind: &str, id: &str) -> Result<Value, Error> {
    let collection = collection_of(kind).unwrap_or("containers");
    let _permit = client.permit().await;
    Ok(client
        .transport()
        .json(&Request::get([collection, id]))
        .await?)
}

/// The folder of a container (relative, from its group down), found by walking its
/// `parents` and naming each level among its siblings.
async fn folder_of(client: &Client, kind: &str, doc: &Value) -> Result<String, Error> {
    let parents = &doc["parents"];
    let group = parents["group"]
        .as_str()
        .or_else(|| doc["group"].as_str())
        .ok_or_else(|| Error::unexpected(format!("a {kind} without a group")))?;
    let mut folder = folder_name(group);
    let mut parent_kind = "group".to_string();
    let mut parent_doc = document(client, "group", group).await?;
    let chain = ["project", "subject", "session", "acquisition"];
    let target_id = doc["_id"].as_str().unwrap_or_default();
    // The ancestors' ids from `parents`, then the container itself.
    let mut ids: Vec<String> = chain
        .iter()
        .filter(|level| **level != kind)
        .filter_map(|level| parents[*level].as_str().map(str::to_string))
        .collect();
    ids.push(target_id.to_string());
    let last = ids.len() - 1;
    for (i, id) in ids.into_iter().enumerate() {
        let (child_kind, _, name) = child_folders(client, &parent_kind, &parent_doc)
            .await?
            .into_iter()
            .find(|(_, child_id, _)| *child_id == id)
            .ok_or_else(|| Error::unexpected(format!("{id} is not below its parent")))?;
        folder = format!("{folder}/{name}");
        if i < last {
            parent_doc = document(client, &child_kind, &id).await?;
            parent_kind = child_kind;
        }
    }
    Ok(folder)
}

async fn download_tree(
    client: &Client,
    kind: &'static str,
    id: &str,
    dest_dir: &Path,
    options: TreeOptions,
) -> Result<TreeSummary, Error> {
    make_destination_folder(dest_dir).await?;
    let doc = document(client, kind, id).await?;
    let folder = folder_of(client, kind, &doc).await?;
    let concurrency = options.concurrency.max(1);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Job, Error>>(2 * concurrency);
    let totals = Totals::default();
    // The walker: one container listing at a time, files handed over as they are met.
    let walker = {
        let client = client.clone();
        let dest_dir = dest_dir.to_path_buf();
        let types = options.types.clone();
        let totals = totals.clone();
        let id = id.to_string();
        async move {
            // Containers to visit, by id: a document is fetched when its turn comes.
            let mut stack: Vec<Node> = vec![(kind.to_string(), id, folder)];
            while let Some((kind, id, folder)) = stack.pop() {
                let result = match document(&client, &kind, &id).await {
                    Ok(doc) => {
                        walk_one(
                            &client, &kind, &doc, &folder, &dest_dir, &types, &totals, &sender,
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                match result {
                    Ok(children) => stack.extend(children),
                    Err(e) => {
                        let _ = sender.send(Err(e)).await;
                        return;
                    }
                }
            }
        }
    };
    let walker = tokio::spawn(walker);
    let jobs = futures_util::stream::unfold(receiver, |mut r| async move {
        r.recv().await.map(|job| (job, r))
    });
    // Shared by the download and persisting tasks, owned (not borrowed), so that the
    // future of `download_tree` is `Send + 'static` and can be spawned.
    let state = Arc::new(TreeState::default());
    let options = Arc::new(options);
    // Checked files go from the downloads to the persisting stage, which syncs and renames
    // them while the next downloads run: the network never waits for the disk.
    let (fetched_sender, fetched_receiver) =
        tokio::sync::mpsc::channel::<Fetched>(PERSISTS_IN_FLIGHT);
    let downloads = {
        let (state, options, client) = (state.clone(), options.clone(), client.clone());
        // `fetched_sender` is moved into the closure: the persisting stage ends when the
        // last download is handed over and the closure is dropped.
        jobs.for_each_concurrent(concurrency, move |job| {
            let (state, options, client) = (state.clone(), options.clone(), client.clone());
            let totals = totals.clone();
            let fetched_sender = fetched_sender.clone();
            async move {
                let job = match job {
                    Ok(job) => job,
                    Err(e) => return state.stop.set(e),
                };
                if state.stop.is_set() {
                    return;
                }
                let outcome = match fetch(&client, &job, &options, totals).await {
                    Ok(Some(fetched)) => match fetched_sender.send(fetched).await {
                        Ok(()) => return,
                        Err(_) => Err(Error::unexpected("the download stopped")),
                    },
                    Err(e) if e.is_unreachable() => return state.stop.set(e),
                    other => other,
                };
                if let Ok(mut summary) = state.summary.lock() {
                    match outcome {
                        Ok(_) => summary.skipped += 1,
                        Err(e) => summary.failed.push((job.path, e)),
                    }
                }
            }
        })
    };
    let persists = {
        let state = state.clone();
        let dest_dir = dest_dir.to_path_buf();
        futures_util::stream::unfold(fetched_receiver, |mut r| async move {
            r.recv().await.map(|fetched| (fetched, r))
        })
        .for_each_concurrent(PERSISTS_IN_FLIGHT, move |fetched| {
            let (state, dest_dir) = (state.clone(), dest_dir.clone());
            async move {
                let path = fetched.destination().to_path_buf();
                let outcome = fetched.persist().await;
                if let (Ok(_), Ok(mut folders)) = (&outcome, state.folders.lock()) {
                    let mut folder = path.parent();
                    while let Some(dir) = folder.filter(|d| d.starts_with(&dest_dir)) {
                        if !folders.insert(dir.to_path_buf()) {
                            break; // its parents are in already
                        }
                        folder = dir.parent();
                    }
                }
                if let Ok(mut summary) = state.summary.lock() {
                    match outcome {
                        Ok(bytes) => {
                            summary.downloaded += 1;
                            summary.bytes += bytes;
                        }
                        Err(e) => summary.failed.push((path, e.into())),
                    }
                }
            }
        })
    };
    futures_util::future::join(downloads, persists).await;
    let _ = walker.await;
    let poisoned = || Error::unexpected("a download task panicked");
    let mut summary = std::mem::take(&mut *state.summary.lock().map_err(|_| poisoned())?);
    if client.transport().syncs_downloads() {
        let folders = std::mem::take(&mut *state.folders.lock().map_err(|_| poisoned())?);
        // Deepest first, so a folder is synced after the names made inside it.
        for folder in folders.iter().rev() {
            if let Err(e) = fw_transport::sync_directory(folder).await {
                summary.failed.push((folder.clone(), e.into()));
            }
        }
    }
    if let Some(e) = state.stop.take() {
        return Err(e);
    }
    Ok(summary)
}

/// What the download and persisting tasks of one `download_tree` share.
#[derive(Default)]
struct TreeState {
    summary: Mutex<TreeSummary>,
    /// The error that ends the whole tree: a failed listing, or an unreachable server.
    stop: Stop,
    /// The folders that got new names, and their parents up to `dest_dir`: each is synced
    /// once at the end (a rename is durable once its folder is). One entry per folder,
    /// not per file.
    folders: Mutex<BTreeSet<PathBuf>>,
}

/// The first error that ends a whole bulk transfer (a failed listing, an unreachable
/// server); once it is set, the files not yet started are left alone instead of each
/// retrying its own connection.
#[derive(Default)]
struct Stop(Mutex<Option<Error>>);

impl Stop {
    /// Keeps the first error.
    fn set(&self, error: Error) {
        if let Ok(mut first) = self.0.lock() {
            first.get_or_insert(error);
        }
    }

    fn is_set(&self) -> bool {
        self.0.lock().map_or(true, |first| first.is_some())
    }

    fn take(&self) -> Option<Error> {
        self.0.lock().ok().and_then(|mut first| first.take())
    }
}

/// Creates `dest_dir` (and its parents) before anything is fetched, so that a destination
/// that cannot be a folder is one error, not one failed file per file of the tree.
async fn make_destination_folder(dest_dir: &Path) -> Result<(), Error> {
    tokio::fs::create_dir_all(dest_dir).await.map_err(|source| {
        Error::invalid(format!(
            "cannot download a tree into {}: {source}",
            dest_dir.display()
        ))
    })
}

/// How many checked downloads may wait to be synced and renamed, and how many are synced
/// at once (the disk merges concurrent syncs into fewer journal commits).
const PERSISTS_IN_FLIGHT: usize = 8;

/// Hands over the files of one container; returns its child folders to walk. An analysis
/// puts its inputs in `input/` and its own files in `output/`, as the archive does.
#[allow(clippy::too_many_arguments)]
async fn walk_one(
    client: &Client,
    kind: &str,
    doc: &Value,
    folder: &str,
    dest_dir: &Path,
    types: &TypeFilter,
    totals: &Totals,
    sender: &tokio::sync::mpsc::Sender<Result<Job, Error>>,
) -> Result<Vec<Node>, Error> {
    let id = doc["_id"].as_str().unwrap_or_default();
    let collection = collection_of(kind).unwrap_or("containers");
    let jobs = JobMaker {
        dest_dir,
        types,
        totals,
    };
    let files_folder = if kind == "analysis" {
        let input_folder = format!("{folder}/input");
        let mut names = HashSet::new();
        for input in doc["inputs"].as_array().into_iter().flatten() {
            let Some((holder, file)) = analysis_input(client, input).await? else {
                continue;
            };
            let job = jobs.make(&holder, &file, &input_folder, &mut names);
            if let Some(job) = job
                && sender.send(Ok(job)).await.is_err()
            {
                return Ok(Vec::new());
            }
        }
        format!("{folder}/output")
    } else {
        folder.to_string()
    };
    let mut names = HashSet::new();
    let holder = (collection.to_string(), id.to_string());
    for file in doc["files"].as_array().into_iter().flatten() {
        let job = jobs.make(&holder, file, &files_folder, &mut names);
        if let Some(job) = job
            && sender.send(Ok(job)).await.is_err()
        {
            return Ok(Vec::new());
        }
    }
    let children = child_folders(client, kind, doc).await?;
    Ok(children
        .into_iter()
        .map(|(kind, id, name)| (kind, id, format!("{folder}/{name}")))
        .collect())
}

/// Makes the download jobs of a walk.
struct JobMaker<'a> {
    dest_dir: &'a Path,
    types: &'a TypeFilter,
    totals: &'a Totals,
}

impl JobMaker<'_> {
    /// The job for the file entry `file` of the container `holder` (collection, id), in
    /// `folder` under a name unique among `names`; `None` for an entry without a name or
    /// hash, or of a type filtered out.
    fn make(
        &self,
        (collection, id): &(String, String),
        file: &Value,
        folder: &str,
        names: &mut HashSet<String>,
    ) -> Option<Job> {
        let entry: FileEntry = serde_json::from_value(file.clone()).ok()?;
        let (Some(name), Some(hash)) = (entry.name, entry.hash) else {
            return None;
        };
        if !self.types.passes(file["type"].as_str()) {
            return None;
        }
        let relative = format!("{folder}/{}", unique(folder_name(&name), names));
        let size = entry.size.unwrap_or(0).max(0) as u64;
        self.totals.size.fetch_add(size, Relaxed);
        let mut request = Request::get([collection.as_str(), id.as_str(), "files", &name]);
        if let Some(version) = entry.version {
            request = request.query("version", version.to_string());
        }
        Some(Job {
            request,
            path: self.dest_dir.join(&relative),
            relative,
            size,
            hash: Some(hash),
        })
    }
}

/// The container holding an analysis input and its file entry. The server shows inputs of
/// the analysis's own project as entries with a `parent_ref`; others stay references
/// (`{type, id, name}`), whose holder is read to find the entry. As in the archive, an
/// input whose holder or file is gone or cannot be read is left out.
///
/// # Errors
///
/// Errors reading the holder other than [`Error::NotFound`] and [`Error::PermissionDenied`].
async fn analysis_input(
    client: &Client,
    input: &Value,
) -> Result<Option<((String, String), Value)>, Error> {
    let Some(name) = input["name"].as_str() else {
        return Ok(None);
    };
    let parent = &input["parent_ref"];
    if input["hash"].is_string()
        && let (Some(kind), Some(id)) = (parent["type"].as_str(), parent["id"].as_str())
        && let Some(collection) = collection_of(kind)
    {
        return Ok(Some(((collection.into(), id.into()), input.clone())));
    }
    let (Some(kind), Some(id)) = (input["type"].as_str(), input["id"].as_str()) else {
        return Ok(None);
    };
    let Some(collection) = collection_of(kind) else {
        return Ok(None);
    };
    let holder = match document(client, kind, id).await {
        Ok(doc) => doc,
        Err(Error::NotFound { .. } | Error::PermissionDenied { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let file = holder["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == name)
        .cloned();
    Ok(file.map(|file| ((collection.into(), id.into()), file)))
}

/// Fetches one file unless an identical one is there: `Some` downloaded and checked (to
/// persist), `None` skipped.
async fn fetch(
    client: &Client,
    job: &Job,
    options: &TreeOptions,
    totals: Totals,
) -> Result<Option<Fetched>, Error> {
    // One trip to a blocking thread: the size of what is there already, else its folder
    // made.
    let check = options.existing != Existing::Overwrite;
    let path = job.path.clone();
    let present = tokio::task::spawn_blocking(move || -> std::io::Result<Option<u64>> {
        if check && let Ok(meta) = std::fs::metadata(&path) {
            return Ok(Some(meta.len()));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(None)
    })
    .await
    .map_err(|e| Error::unexpected(format!("a folder check stopped: {e}")))?
    .map_err(|e| {
        let folder = job.path.parent().unwrap_or(&job.path);
        Error::invalid(format!("cannot create {}: {e}", folder.display()))
    })?;
    if let Some(size) = present {
        let same = size == job.size && {
            let (_, hash) = fw_transport::hash_file(&job.path).await?;
            Some(hash) == job.hash
        };
        if same {
            totals.bytes.fetch_add(job.size, Relaxed);
            return Ok(None);
        }
        if options.existing == Existing::Error {
            return Err(Error::invalid(format!(
                "{} exists and differs from the file on the server",
                job.path.display()
            )));
        }
    }
    let mut download = Download::new(job.request.clone(), &job.path)
        .expected_size(job.size)
        .resume(true);
    if let Some(hash) = &job.hash {
        download = download.expected_hash(hash);
    }
    if let Some(observer) = &options.progress {
        download = download.progress(file_progress(observer, job.relative.clone(), totals));
    }
    let _permit = client.permit().await;
    Ok(Some(client.transport().fetch(download).await?))
}

/// Options of [`Project::import_folder`](crate::Container::import_folder).
#[derive(Clone)]
pub struct ImportOptions {
    /// Files in flight at once (default 4).
    pub concurrency: usize,
    /// List what would happen; create and upload nothing.
    pub dry_run: bool,
    /// Multipart, signed URL, or as the site says (default).
    pub mode: UploadMode,
    /// Reports bytes as they are sent.
    pub progress: Option<ProgressObserver>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            concurrency: 4,
            dry_run: false,
            mode: UploadMode::Auto,
            progress: None,
        }
    }
}

/// What [`Project::import_folder`](crate::Container::import_folder) did (or, in a dry run, would do).
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Containers created (`subject sub-01`, `session sub-01/ses-1`, …).
    pub created: Vec<String>,
    /// Files uploaded (in a dry run: to upload), relative to the root.
    pub uploaded: Vec<PathBuf>,
    /// Bytes uploaded.
    pub bytes: u64,
    /// Files already there with the same name, size and hash.
    pub skipped: u64,
    /// Files that failed, with why (the others went on).
    pub failed: Vec<(PathBuf, Error)>,
    /// Entries that fit no level (files below an acquisition's folder, names Flywheel
    /// refuses), not uploaded.
    pub ignored: Vec<PathBuf>,
}

/// Records something in the summary of an import.
type Note<'a> = dyn Fn(&dyn Fn(&mut ImportSummary)) + Sync + 'a;

struct UploadJob {
    target: UploadTarget,
    path: PathBuf,
    relative: PathBuf,
    size: u64,
}

impl Container<ProjectKind> {
    /// Uploads a folder laid out as `subject/session/acquisition/files` into this project:
    /// files at the root go to the project, in a subject's folder to the subject, and so
    /// on. Missing containers are created (found by label first, so reruns reuse them);
    /// files already there with the same name, size and hash are skipped, so a rerun
    /// uploads only what is missing. N files at once. With `dry_run`, nothing is created
    /// or sent beyond listings, and the summary lists what would happen.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] if `root` cannot be read; listing and creation errors;
    /// a [`Error::Transport`] connect error as soon as one upload finds the server
    /// unreachable (the remaining files are not tried one by one; a rerun skips what was
    /// uploaded). Other errors of single files do not stop the others: they are in
    /// [`ImportSummary::failed`], which a caller should check.
    pub async fn import_folder(
        &self,
        root: impl AsRef<Path>,
        options: ImportOptions,
    ) -> Result<ImportSummary, Error> {
        let root = root.as_ref();
        let mut options = options;
        if !options.dry_run {
            // One `GET /config` for the whole import, not one per file.
            options.mode = self.client().transport().upload_mode(options.mode).await?;
        }
        let concurrency = options.concurrency.max(1);
        let (sender, receiver) = tokio::sync::mpsc::channel::<UploadJob>(2 * concurrency);
        // Shared with the upload tasks, owned (not borrowed), so that the future of
        // `import_folder` is `Send + 'static` and can be spawned.
        let summary = Arc::new(Mutex::new(ImportSummary::default()));
        // Set by the first upload that finds the server unreachable.
        let stop: Arc<Stop> = Arc::default();
        let walk = self.plan_import(root, options.dry_run, &summary, sender);
        let totals = Totals::default();
        let jobs = futures_util::stream::unfold(receiver, |mut r| async move {
            r.recv().await.map(|job| (job, r))
        });
        let uploads = {
            let (summary, stop) = (summary.clone(), stop.clone());
            let (options, client) = (Arc::new(options), self.client().clone());
            jobs.for_each_concurrent(concurrency, move |job| {
                let (summary, stop) = (summary.clone(), stop.clone());
                let (options, client) = (options.clone(), client.clone());
                let totals = totals.clone();
                async move {
                    if stop.is_set() {
                        return;
                    }
                    let mut upload =
                        Upload::new(job.target, UploadSource::Path(job.path)).mode(options.mode);
                    if let Some(observer) = &options.progress {
                        let name = job.relative.display().to_string();
                        upload = upload.progress(file_progress(observer, name, totals));
                    }
                    let result = {
                        let _permit = client.permit().await;
                        client.transport().upload(upload).await
                    };
                    let result = result.map_err(Error::from);
                    let result = match result {
                        Err(e) if e.is_unreachable() => return stop.set(e),
                        other => other,
                    };
                    if let Ok(mut summary) = summary.lock() {
                        match result {
                            Ok(_) => {
                                summary.bytes += job.size;
                                summary.uploaded.push(job.relative);
                            }
                            Err(e) => summary.failed.push((job.relative, e)),
                        }
                    }
                }
            })
        };
        let (walked, ()) = futures_util::future::join(walk, uploads).await;
        if let Some(e) = stop.take() {
            return Err(e);
        }
        walked?;
        let mut summary = summary
            .lock()
            .map_err(|_| Error::unexpected("an upload task panicked"))?;
        Ok(std::mem::take(&mut *summary))
    }

    /// Walks the folder, creating containers (unless a dry run) and handing over the
    /// files to upload.
    async fn plan_import(
        &self,
        root: &Path,
        dry_run: bool,
        summary: &std::sync::Mutex<ImportSummary>,
        sender: tokio::sync::mpsc::Sender<UploadJob>,
    ) -> Result<(), Error> {
        let note = |f: &dyn Fn(&mut ImportSummary)| {
            if let Ok(mut s) = summary.lock() {
                f(&mut s);
            }
        };
        let (files, subjects) = read_level(root).await?;
        // The handle may be older than the project's files: ask for them afresh.
        let project_files = Some(file_map(self.reload().await?.wire_files()));
        self.offer(
            project_files,
            "projects",
            Some(self.id()),
            root,
            &files,
            dry_run,
            &note,
            &sender,
        )
        .await?;
        for subject_dir in subjects {
            let label = dir_label(&subject_dir);
            let (files, sessions) = read_level(&subject_dir).await?;
            let subject = child_level(Some(self), &label, &label, dry_run, &note, |p| {
                p.find_or_add_subject(json!({"label": label}))
            })
            .await?;
            self.offer_to(subject.as_ref(), root, &files, dry_run, &note, &sender)
                .await?;
            for session_dir in sessions {
                let session_label = dir_label(&session_dir);
                let path = format!("{label}/{session_label}");
                let (files, acquisitions) = read_level(&session_dir).await?;
                let session = child_level(
                    subject.as_ref(),
                    &session_label,
                    &path,
                    dry_run,
                    &note,
                    |p| p.find_or_add_session(json!({"label": session_label})),
                )
                .await?;
                self.offer_to(session.as_ref(), root, &files, dry_run, &note, &sender)
                    .await?;
                for acquisition_dir in acquisitions {
                    let acquisition_label = dir_label(&acquisition_dir);
                    let path = format!("{path}/{acquisition_label}");
                    let (files, deeper) = read_level(&acquisition_dir).await?;
                    for dir in deeper {
                        let relative = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
                        note(&|s| s.ignored.push(relative.clone()));
                    }
                    let acquisition = child_level(
                        session.as_ref(),
                        &acquisition_label,
                        &path,
                        dry_run,
                        &note,
                        |p| p.find_or_add_acquisition(json!({"label": acquisition_label})),
                    )
                    .await?;
                    self.offer_to(acquisition.as_ref(), root, &files, dry_run, &note, &sender)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Hands over the files of one folder to the container they go to (`None`: a
    /// container that a dry run would create).
    async fn offer_to<K: HasFiles>(
        &self,
        container: Option<&Container<K>>,
        root: &Path,
        files: &[PathBuf],
        dry_run: bool,
        note: &Note<'_>,
        sender: &tokio::sync::mpsc::Sender<UploadJob>,
    ) -> Result<(), Error> {
        let existing = container.map(|c| file_map(c.wire_files()));
        let id = container.map(|c| c.id());
        self.offer(
            existing,
            K::COLLECTION,
            id,
            root,
            files,
            dry_run,
            note,
            sender,
        )
        .await
    }

    /// Hands over the files of one folder that are not already on the container.
    #[allow(clippy::too_many_arguments)]
    async fn offer(
        &self,
        existing: Option<BTreeMap<String, (u64, String)>>,
        collection: &str,
        id: Option<&str>,
        root: &Path,
        files: &[PathBuf],
        dry_run: bool,
        note: &Note<'_>,
        sender: &tokio::sync::mpsc::Sender<UploadJob>,
    ) -> Result<(), Error> {
        let existing = existing.unwrap_or_default();
        for path in files {
            let relative = path.strip_prefix(root).unwrap_or(path).to_path_buf();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if check_file_name(&name).is_err() {
                note(&|s| s.ignored.push(relative.clone()));
                continue;
            }
            let size = tokio::fs::metadata(path)
                .await
                .map(|m| m.len())
                .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
            if let Some((there_size, there_hash)) = existing.get(&name)
                && *there_size == size
            {
                let (_, hash) = fw_transport::hash_file(path).await?;
                if &hash == there_hash {
                    note(&|s| s.skipped += 1);
                    continue;
                }
            }
            match (dry_run, id) {
                (false, Some(id)) => {
                    let job = UploadJob {
                        target: UploadTarget::new(collection, id),
                        path: path.clone(),
                        relative,
                        size,
                    };
                    if sender.send(job).await.is_err() {
                        return Ok(());
                    }
                }
                _ => note(&|s| s.uploaded.push(relative.clone())),
            }
        }
        Ok(())
    }
}

impl<K: HasFiles> Container<K> {
    /// The file entries the handle holds.
    fn wire_files(&self) -> Vec<FileEntry> {
        self.files()
            .map(|files| files.into_iter().map(|f| f.entry().clone()).collect())
            .unwrap_or_default()
    }
}

fn file_map(entries: Vec<FileEntry>) -> BTreeMap<String, (u64, String)> {
    entries
        .into_iter()
        .filter_map(|e| Some((e.name?, (e.size.unwrap_or(0).max(0) as u64, e.hash?))))
        .collect()
}

/// The child `label` of `parent`: found by label, else created (unless a dry run, or the
/// parent itself is still to be created); a creation, real or planned, is noted as `path`.
async fn child_level<'a, P, C, F, Fut>(
    parent: Option<&'a Container<P>>,
    label: &str,
    path: &str,
    dry_run: bool,
    note: &Note<'_>,
    create: F,
) -> Result<Option<Container<C>>, Error>
where
    P: ParentOf<C>,
    C: ContainerKind,
    F: FnOnce(&'a Container<P>) -> Fut,
    Fut: std::future::Future<Output = Result<Container<C>, Error>>,
{
    let found = match parent {
        Some(parent) => {
            parent
                .children::<C>()
                .find_first(&label_filter(label))
                .await?
        }
        None => None,
    };
    if found.is_some() {
        return Ok(found);
    }
    note(&|s| s.created.push(format!("{} {path}", C::NAME)));
    match parent {
        Some(parent) if !dry_run => Ok(Some(create(parent).await?)),
        _ => Ok(None),
    }
}

fn dir_label(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The files and the folders directly in `dir`, each sorted by name. Hidden entries
/// (`.name`, such as a resumable download's `.fwpart`) are left out.
async fn read_level(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Error> {
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?;
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?
    {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry
            .file_type()
            .await
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", dir.display())))?;
        if kind.is_dir() {
            dirs.push(entry.path());
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    dirs.sort();
    Ok((files, dirs))
}
