//! The Rust side of `cargo xtask bench-python` (the race against the Python SDK): one
//! workload, timed, through fw-sdk (`sdk`) or through fw-transport alone with replies left
//! as raw JSON (`limit`: the same requests, no typed decoding; the items and containers
//! that fw-sdk hands to its caller are kept as their JSON text, `RawValue`).
//!
//! ```text
//! race setup KEY                          # a fresh project and acquisition: "<project> <acquisition>"
//! race sdk|limit create KEY N             # N subjects in a fresh project
//! race sdk|limit iterate KEY PROJECT      # iter_find over the project's subjects
//! race sdk|limit finder KEY PROJECT FILTER  # find(FILTER) over the project's subjects
//! race sdk|limit get KEY IDS_FILE         # get_subject of each id (one a line)
//! race limit import KEY PROJECT ROOT      # as `transfers import` (import_folder)
//! race limit tree KEY PROJECT DEST        # as `transfers tree` (download_tree)
//! race sdk|limit upload KEY ACQ FILE      # upload_file to the acquisition
//! race sdk|limit download KEY ACQ NAME DEST  # download_file from the acquisition
//! ```
//! Each workload prints `<workload> <seconds> <count>`; the seconds cover the workload
//! only (not starting the process or connecting).

use std::path::{Path, PathBuf};
use std::time::Instant;

use futures_util::{StreamExt, TryStreamExt};
use fw_sdk::{Client, TreeOptions};
use fw_transport::{ApiKey, Download, Request, Upload, UploadSource, UploadTarget};
use serde_json::value::RawValue;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let ["setup", key] = args.as_slice() {
        let raw = transport(key)?;
        let project = fresh_project(&raw, "transfers").await?;
        let acquisition = fresh_acquisition(&raw, &project).await?;
        println!("{project} {acquisition}");
        return Ok(());
    }
    let [client, workload, key, rest @ ..] = args.as_slice() else {
        return Err(
            "usage: race setup KEY | race sdk|limit WORKLOAD KEY ARGS… (see the docs)".into(),
        );
    };
    let raw = transport(key)?;
    // Connecting is not timed: fw-sdk's client checks the key (`GET /auth/status`) when
    // made, and the limit sends the same request, so both start on an open connection.
    let sdk = match *client {
        "sdk" => Some(Client::new(key).await?),
        "limit" => {
            let _: Value = raw.json(&Request::get(["auth", "status"])).await?;
            None
        }
        other => return Err(format!("unknown client {other}; use sdk or limit").into()),
    };
    // Untimed preparation: the project (a fresh one to create subjects in), and for
    // fw-sdk its handle, as the Python script holds one before its clock starts.
    let project = match (*workload, rest) {
        ("create", _) => fresh_project(&raw, "create").await?,
        ("iterate" | "finder", [project, ..]) => project.to_string(),
        _ => String::new(),
    };
    let handle = match &sdk {
        Some(fw) if !project.is_empty() => Some(fw.get_project(&project).await?),
        _ => None,
    };
    let started = Instant::now();
    let count = match (*workload, rest, sdk) {
        ("create", [n], Some(_)) => {
            let project = handle.ok_or("no project")?;
            let n: u64 = n.parse()?;
            for i in 0..n {
                project
                    .add_subject(json!({"label": format!("s-{i}")}))
                    .await?;
            }
            n
        }
        ("create", [n], None) => {
            let n: u64 = n.parse()?;
            for i in 0..n {
                let body = json!({"label": format!("s-{i}"), "project": project});
                let id = created_id(&raw, Request::post(["subjects"]).json(&body)?).await?;
                let _: Box<RawValue> = raw.json(&Request::get(["subjects", &id])).await?;
            }
            n
        }
        ("iterate", [_], Some(_)) => {
            let subjects = handle.ok_or("no project")?.subjects().iter_find("")?;
            subjects
                .try_fold(0, |n, _| async move { Ok(n + 1) })
                .await?
        }
        ("iterate", [project], None) => {
            let request = Request::get(["projects", project, "subjects"]);
            let subjects = raw.paginate::<Box<RawValue>>(request, fw_transport::DEFAULT_PAGE_SIZE);
            subjects
                .try_fold(0, |n, _| async move { Ok(n + 1) })
                .await?
        }
        ("finder", [_, filter], Some(_)) => {
            let project = handle.ok_or("no project")?;
            project.subjects().find(filter).await?.len() as u64
        }
        ("finder", [project, filter], None) => {
            let request = Request::get(["projects", project, "subjects"]).query("filter", filter);
            let subjects = raw.paginate::<Box<RawValue>>(request, fw_transport::DEFAULT_PAGE_SIZE);
            // Held, as `find` holds its results.
            subjects.try_collect::<Vec<_>>().await?.len() as u64
        }
        ("get", [ids], Some(fw)) => {
            let mut n = 0;
            for id in std::fs::read_to_string(ids)?.lines() {
                fw.get_subject(id).await?;
                n += 1;
            }
            n
        }
        ("get", [ids], None) => {
            let mut n = 0;
            for id in std::fs::read_to_string(ids)?.lines() {
                let _: Box<RawValue> = raw.json(&Request::get(["subjects", id])).await?;
                n += 1;
            }
            n
        }
        ("import", [project, root], None) => import_limit(&raw, project, root.as_ref()).await?,
        ("tree", [project, dest], None) => tree_limit(&raw, project, dest.as_ref()).await?,
        ("upload", [acquisition, file], Some(fw)) => {
            fw.get_acquisition(acquisition)
                .await?
                .upload_file(file)
                .await?;
            1
        }
        ("upload", [acquisition, file], None) => {
            // The handle fw-sdk and Python fetch first.
            let _: Value = raw
                .json(&Request::get(["acquisitions", acquisition]))
                .await?;
            let target = UploadTarget::new("acquisitions", *acquisition);
            raw.upload(Upload::new(target, UploadSource::Path(file.into())))
                .await?;
            1
        }
        ("download", [acquisition, name, dest], Some(fw)) => {
            let acquisition = fw.get_acquisition(acquisition).await?;
            acquisition.download_file(name, *dest).await?.await?;
            1
        }
        ("download", [acquisition, name, dest], None) => {
            let acquisition: Value = raw
                .json(&Request::get(["acquisitions", acquisition]))
                .await?;
            let id = acquisition["_id"].as_str().unwrap_or_default();
            let entry = file_entry(&acquisition, name).ok_or("no such file")?;
            raw.download(download_of("acquisitions", id, entry, dest.as_ref())?)
                .await?;
            1
        }
        _ => return Err(format!("unknown workload {client} {workload} {rest:?}").into()),
    };
    println!("{workload} {:.3} {count}", started.elapsed().as_secs_f64());
    Ok(())
}

fn transport(key: &str) -> Result<fw_transport::Client> {
    Ok(fw_transport::Client::new(ApiKey::parse(key)?)?)
}

/// The `_id` of a creation's reply.
async fn created_id(raw: &fw_transport::Client, request: Request) -> Result<String> {
    let reply: Value = raw.json(&request).await?;
    Ok(reply["_id"]
        .as_str()
        .ok_or("a creation answered no `_id`")?
        .to_string())
}

/// A new project in the group `race` (created if missing), labelled after `what` and this
/// process.
async fn fresh_project(raw: &fw_transport::Client, what: &str) -> Result<String> {
    let group = Request::post(["groups"]).json(&json!({"_id": "race"}))?;
    match raw.send(&group).await {
        Err(e) if !e.is_already_exists() => return Err(e.into()),
        _ => {}
    }
    let label = format!("{what}-{}", std::process::id());
    let body = json!({"group": "race", "label": label});
    created_id(raw, Request::post(["projects"]).json(&body)?).await
}

/// A subject, session and acquisition under `project`; the acquisition's id.
async fn fresh_acquisition(raw: &fw_transport::Client, project: &str) -> Result<String> {
    let subject = created_id(
        raw,
        Request::post(["subjects"]).json(&json!({"label": "s", "project": project}))?,
    )
    .await?;
    let session = created_id(
        raw,
        Request::post(["sessions"])
            .json(&json!({"label": "s", "project": project, "subject": subject}))?,
    )
    .await?;
    created_id(
        raw,
        Request::post(["acquisitions"]).json(&json!({"label": "a", "session": session}))?,
    )
    .await
}

/// The file entry `name` of a container's JSON.
fn file_entry<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["files"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
}

/// The verified download of a file entry, as fw-sdk's `File::download` sends it.
fn download_of(collection: &str, id: &str, entry: &Value, dest: &Path) -> Result<Download> {
    let name = entry["name"].as_str().ok_or("a file without a name")?;
    let mut request = Request::get([collection, id, "files", name]);
    if let Some(version) = entry["version"].as_i64() {
        request = request.query("version", version);
    }
    let mut download = Download::new(request, dest);
    if let Some(size) = entry["size"].as_u64() {
        download = download.expected_size(size);
    }
    if let Some(hash) = entry["hash"].as_str() {
        download = download.expected_hash(hash);
    }
    Ok(download)
}

/// The folders (sorted) of `dir`, or its files with `files`.
fn entries(dir: &Path, files: bool) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() == files {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `import_folder`'s work with the fewest requests: per folder, one lookup by label and a
/// creation when missing; then every file uploaded, as many at once as `import_folder`
/// (its default concurrency).
async fn import_limit(raw: &fw_transport::Client, project: &str, root: &Path) -> Result<u64> {
    let mut uploads = Vec::new();
    for subject_dir in entries(root, false)? {
        let subject = find_or_create(
            raw,
            "projects",
            project,
            "subjects",
            &subject_dir,
            json!({"project": project}),
        )
        .await?;
        for session_dir in entries(&subject_dir, false)? {
            let session = find_or_create(
                raw,
                "subjects",
                &subject,
                "sessions",
                &session_dir,
                json!({"project": project, "subject": subject}),
            )
            .await?;
            for acquisition_dir in entries(&session_dir, false)? {
                let acquisition = find_or_create(
                    raw,
                    "sessions",
                    &session,
                    "acquisitions",
                    &acquisition_dir,
                    json!({"session": session}),
                )
                .await?;
                for file in entries(&acquisition_dir, true)? {
                    uploads.push((acquisition.clone(), file));
                }
            }
        }
    }
    let concurrency = fw_sdk::ImportOptions::default().concurrency;
    let count = uploads.len() as u64;
    futures_util::stream::iter(uploads)
        .map(|(acquisition, file)| async move {
            let target = UploadTarget::new("acquisitions", acquisition);
            raw.upload(Upload::new(target, UploadSource::Path(file)))
                .await
        })
        .buffer_unordered(concurrency)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(count)
}

/// The child of `parent` labelled as `dir`'s name, created (with `links`) if missing.
async fn find_or_create(
    raw: &fw_transport::Client,
    parents: &str,
    parent: &str,
    children: &str,
    dir: &Path,
    mut links: Value,
) -> Result<String> {
    let label = file_name(dir);
    let request = Request::get([parents, parent, children])
        .query("filter", format!("label=\"{label}\""))
        .query("limit", 1);
    let found: Vec<Value> = raw.json(&request).await?;
    if let Some(id) = found.first().and_then(|c| c["_id"].as_str()) {
        return Ok(id.to_string());
    }
    links["label"] = json!(label);
    created_id(raw, Request::post([children]).json(&links)?).await
}

/// `download_tree`'s work with the fewest requests: the project's subjects, their sessions
/// and acquisitions listed, then every acquisition file downloaded (verified) into
/// `subject/session/acquisition/`, as many at once as `download_tree`.
async fn tree_limit(raw: &fw_transport::Client, project: &str, dest: &Path) -> Result<u64> {
    let mut downloads = Vec::new();
    let list = |path: [&str; 3]| {
        raw.paginate::<Value>(Request::get(path), fw_transport::DEFAULT_PAGE_SIZE)
            .try_collect::<Vec<Value>>()
    };
    for subject in list(["projects", project, "subjects"]).await? {
        let subject_id = subject["_id"].as_str().unwrap_or_default();
        for session in list(["subjects", subject_id, "sessions"]).await? {
            let session_id = session["_id"].as_str().unwrap_or_default();
            for acquisition in list(["sessions", session_id, "acquisitions"]).await? {
                let folder = dest
                    .join(subject["label"].as_str().unwrap_or_default())
                    .join(session["label"].as_str().unwrap_or_default())
                    .join(acquisition["label"].as_str().unwrap_or_default());
                std::fs::create_dir_all(&folder)?;
                let id = acquisition["_id"].as_str().unwrap_or_default();
                for entry in acquisition["files"].as_array().into_iter().flatten() {
                    let name = entry["name"].as_str().unwrap_or_default();
                    downloads.push(download_of("acquisitions", id, entry, &folder.join(name))?);
                }
            }
        }
    }
    let count = downloads.len() as u64;
    futures_util::stream::iter(downloads)
        .map(|download| raw.download(download))
        .buffer_unordered(TreeOptions::default().concurrency)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    Ok(count)
}
