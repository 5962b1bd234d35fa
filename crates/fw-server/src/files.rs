//! Files (wire-protocol.md §10): a content-addressed blob store in the data directory, file
//! entries with versions, and streamed downloads with ranges and tickets.
//!
//! An upload streams to `tmp/`, hashing as it goes (`v0-sha384-<hex>`), is fsynced, then
//! renamed to `blobs/<hex>`; only then is the entry recorded, in one transaction. An upload
//! cut at any point leaves at most a file in `tmp/`, which nobody sees and the next start
//! removes. Blobs are never overwritten: same bytes, same blob.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha384};
use tokio::io::AsyncWriteExt;

use crate::access::Level;
use crate::auth::Caller;
use crate::containers::{self, Kind};
use crate::error::ApiError;
use crate::ids::{now, object_id, random_hex};
use crate::json::{
    decode_stored, decode_stored_as, decode_stored_object, encode_stored, stored_list,
    stored_object,
};
use crate::store::{Row, db, put_container};

/// File types and MIME types by name ending, longest endings first: one table for both.
const TYPES: &[(&str, &str, &str)] = &[
    (".dicom.zip", "dicom", "application/zip"),
    (".dcm.zip", "dicom", "application/zip"),
    (".nii.gz", "nifti", "application/octet-stream"),
    (".tar.gz", "archive", "application/gzip"),
    (".nii", "nifti", "application/octet-stream"),
    (".dcm", "dicom", "application/dicom"),
    (".dicom", "dicom", "application/dicom"),
    (".txt", "text", "text/plain"),
    (".log", "log", "text/plain"),
    (".csv", "tabular data", "text/csv"),
    (".tsv", "tabular data", "text/tab-separated-values"),
    (".json", "source code", "application/json"),
    (".py", "source code", "text/x-python"),
    (".zip", "archive", "application/zip"),
    (".tgz", "archive", "application/gzip"),
    (".tar", "archive", "application/x-tar"),
    (".bval", "bval", "text/plain"),
    (".bvec", "bvec", "text/plain"),
    (".mgz", "MGH data", "application/octet-stream"),
    (".mat", "MATLAB data", "application/octet-stream"),
    (".edf", "eeg", "application/octet-stream"),
    (".pdf", "pdf", "application/pdf"),
    (".html", "html", "text/html"),
    (".png", "image", "image/png"),
    (".jpg", "image", "image/jpeg"),
    (".jpeg", "image", "image/jpeg"),
];

/// The Flywheel file type and MIME type a name implies.
pub(crate) fn infer_type(name: &str) -> (Option<&'static str>, &'static str) {
    let lower = name.to_ascii_lowercase();
    TYPES
        .iter()
        .find(|(ending, _, _)| lower.ends_with(ending))
        .map_or((None, "application/octet-stream"), |(_, kind, mime)| {
            (Some(*kind), *mime)
        })
}

/// Refuses names that are empty, `.`/`..`, or hold `/`, `\` or NUL.
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.len() > 1024
    {
        return Err(ApiError::bad_request(format!(
            "{name:?} is not a valid file name: no '/', '\\', NUL, '.' or '..', at most 1024 bytes"
        )));
    }
    Ok(())
}

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
            .map_err(|e| ApiError::internal(format!("cannot create an upload file: {e}")))?;
        Ok(Staging {
            path,
            file: Some(file),
            hasher: Sha384::new(),
            size: 0,
        })
    }
}

/// An upload being received: bytes so far, and their hash.
pub(crate) struct Staging {
    path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha384,
    size: u64,
}

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
        .then(|| crate::archive::zip_member_count(path))
        .flatten()
}

impl Staging {
    /// Appends a chunk.
    pub(crate) async fn write(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| ApiError::internal("the upload is closed"))?;
        file.write_all(chunk)
            .await
            .map_err(|e| ApiError::internal(format!("cannot write an upload: {e}")))?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        Ok(())
    }

    /// Syncs the bytes to disk and hands them over for recording.
    pub(crate) async fn finish(mut self, name: String) -> Result<Staged, ApiError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| ApiError::internal("the upload is closed"))?;
        file.sync_all()
            .await
            .map_err(|e| ApiError::internal(format!("cannot sync an upload: {e}")))?;
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
        std::fs::rename(&self.path, path)
            .map_err(|e| ApiError::internal(format!("cannot keep an upload: {e}")))?;
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

impl Drop for Staged {
    /// A staged upload that was not recorded is removed.
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The container of a files path: `/{coll}/{id}` of that kind, or `/containers/{id}`.
pub(crate) fn container_of(
    c: &Connection,
    caller: &Caller,
    collection: &str,
    id: &str,
    needed: Level,
) -> Result<Row, ApiError> {
    let kind = match collection {
        "containers" => None,
        other => Some(
            Kind::from_collection(other)
                .ok_or_else(|| ApiError::not_found(format!("no such collection: {other}")))?,
        ),
    };
    let row = containers::get(c, caller, kind, id)?;
    if row.kind == Kind::Group {
        return Err(ApiError::bad_request("groups hold no files"));
    }
    crate::access::Access::new(caller).require(c, &row, needed)?;
    Ok(row)
}

/// Records uploads on a container: moves each blob into place, then adds or versions the
/// entries, all in the caller's transaction. Returns the new entries.
pub(crate) fn record(
    c: &Connection,
    caller: &Caller,
    blobs: &Blobs,
    mut row: Row,
    metadata: Option<Value>,
    uploads: Vec<Staged>,
) -> Result<Vec<Value>, ApiError> {
    let metadata = match metadata {
        Some(Value::Array(mut items)) if !items.is_empty() => items.swap_remove(0),
        Some(other) => other,
        None => Value::Null,
    };
    let input: fw_model::FileInput = serde_json::from_value(if metadata.is_null() {
        json!({})
    } else {
        metadata
    })
    .map_err(|e| ApiError::bad_request(format!("invalid file metadata: {e}")))?;
    let mut files = stored_list(&row.doc, "files", &row.what())?;
    let mut created = Vec::new();
    for mut upload in uploads {
        let blob = blobs
            .path_of(&upload.hash)
            .ok_or_else(|| ApiError::internal("a bad hash"))?;
        if let Some(dir) = blob.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        if blob.exists() {
            let _ = std::fs::remove_file(&upload.path);
        } else {
            std::fs::rename(&upload.path, &blob)
                .map_err(|e| ApiError::internal(format!("cannot store a blob: {e}")))?;
        }
        upload.path = PathBuf::new();

        let when = now();
        let (inferred_type, inferred_mime) = infer_type(&upload.name);
        let previous = files
            .iter()
            .position(|f| f["name"] == upload.name.as_str())
            .map(|i| files.remove(i));
        let (file_id, version) = match &previous {
            Some(old) => (
                old["file_id"].clone(),
                old["version"].as_i64().unwrap_or(1) + 1,
            ),
            None => (json!(object_id()), 1),
        };
        c.execute(
            "INSERT OR REPLACE INTO file_index (file_id, container_id) VALUES (?1, ?2)",
            params![file_id.as_str(), row.id],
        )
        .map_err(db)?;
        if let Some(old) = &previous {
            c.execute(
                "INSERT OR REPLACE INTO file_versions (file_id, version, container_id, doc) VALUES (?1, ?2, ?3, ?4)",
                params![
                    old["file_id"].as_str(),
                    old["version"].as_i64(),
                    row.id,
                    encode_stored(old, "a file version")?
                ],
            )
            .map_err(db)?;
        }
        let mut parents = row.doc["parents"].clone();
        if !parents.is_object() {
            parents = json!({});
        }
        parents[row.kind.name()] = json!(row.id);
        let mut entry = Map::new();
        entry.insert("_id".into(), json!(uuid_like()));
        entry.insert("file_id".into(), file_id);
        entry.insert("version".into(), json!(version));
        entry.insert("name".into(), json!(upload.name));
        entry.insert(
            "type".into(),
            json!(input.r#type.clone().or(inferred_type.map(str::to_string))),
        );
        entry.insert(
            "mimetype".into(),
            json!(
                input
                    .mimetype
                    .clone()
                    .unwrap_or_else(|| inferred_mime.to_string())
            ),
        );
        entry.insert("modality".into(), json!(input.modality));
        entry.insert(
            "classification".into(),
            json!(input.classification.clone().unwrap_or_default()),
        );
        entry.insert("tags".into(), json!(input.tags.clone().unwrap_or_default()));
        let info = input.info.clone().unwrap_or_default();
        entry.insert("info_exists".into(), json!(!info.is_empty()));
        entry.insert("info".into(), Value::Object(info));
        entry.insert("size".into(), json!(upload.size));
        entry.insert("hash".into(), json!(upload.hash));
        entry.insert("zip_member_count".into(), json!(upload.zip_members));
        entry.insert(
            "origin".into(),
            json!({"type": "user", "id": caller.user_id}),
        );
        entry.insert("parents".into(), parents);
        entry.insert("created".into(), json!(when));
        entry.insert("modified".into(), json!(when));
        if previous.is_some() {
            entry.insert("replaced".into(), json!(when));
        }
        entry.retain(|_, v| !v.is_null());
        let entry = Value::Object(entry);
        files.push(entry.clone());
        created.push(entry);
    }
    row.doc["files"] = Value::Array(files);
    row.doc["modified"] = json!(now());
    put_container(c, &row)?;
    Ok(created)
}

/// A version-4-like id for a file version, as Flywheel's look.
fn uuid_like() -> String {
    let hex = random_hex(16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The entry of `name` on a container: the current one, or an earlier `version`.
pub(crate) fn entry(
    c: &Connection,
    row: &Row,
    name: &str,
    version: Option<i64>,
) -> Result<Value, ApiError> {
    let current = row.doc["files"]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["name"] == name))
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(format!("{} {} has no file {name:?}", row.kind, row.id))
        })?;
    match version {
        None => Ok(current),
        Some(v) if current["version"].as_i64() == Some(v) => Ok(current),
        Some(v) => {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM file_versions WHERE file_id = ?1 AND version = ?2 AND container_id = ?3",
                    params![current["file_id"].as_str(), v, row.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            let doc =
                doc.ok_or_else(|| ApiError::not_found(format!("{name:?} has no version {v}")))?;
            decode_stored_object(&doc, &format!("version {v} of {name:?} in {}", row.id))
        }
    }
}

/// A download ticket: a capability to download one file version without a key.
pub(crate) fn new_ticket(c: &Connection, row: &Row, entry: &Value) -> Result<String, ApiError> {
    let ticket = random_hex(24);
    c.execute(
        "INSERT INTO download_tickets (ticket, container_id, name, version, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            ticket,
            row.id,
            entry["name"].as_str(),
            entry["version"].as_i64(),
            (chrono::Utc::now() + chrono::Duration::hours(1)).timestamp()
        ],
    )
    .map_err(db)?;
    Ok(ticket)
}

/// The version a ticket grants (0 for the current one), if it is valid and for this file.
pub(crate) fn ticket_grant(
    c: &Connection,
    ticket: &str,
    container_id: &str,
    name: &str,
) -> Result<i64, ApiError> {
    let grant: Option<(String, String, Option<i64>, i64)> = c
        .query_row(
            "SELECT container_id, name, version, expires FROM download_tickets WHERE ticket = ?1",
            [ticket],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db)?;
    match grant {
        Some((container, granted_name, version, expires))
            if container == container_id
                && granted_name == name
                && expires > chrono::Utc::now().timestamp() =>
        {
            Ok(version.unwrap_or(0))
        }
        _ => Err(ApiError::unauthorized("invalid or expired download ticket")),
    }
}

/// Parses a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a size; `None`
/// for a range this server does not serve (multiple ranges) or cannot satisfy.
pub(crate) fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

/// Changes the current entry of `name` with `change`, on a container the caller may
/// write; returns what `change` returns.
pub(crate) fn modify<T>(
    c: &Connection,
    caller: &Caller,
    collection: &str,
    id: &str,
    name: &str,
    needed: Level,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut row = container_of(c, caller, collection, id, needed)?;
    let mut files = stored_list(&row.doc, "files", &row.what())?;
    let entry = files
        .iter_mut()
        .find(|f| f["name"] == name)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            ApiError::not_found(format!("{} {} has no file {name:?}", row.kind, row.id))
        })?;
    let result = change(entry)?;
    entry.insert("modified".into(), json!(now()));
    row.doc["files"] = Value::Array(files);
    put_container(c, &row)?;
    Ok(result)
}

/// `PUT …/files/{name}` (`type`, `modality`): a new modality clears the classification but
/// its `Custom` values.
pub(crate) fn update(entry: &mut Map<String, Value>, body: Value) -> Result<(), ApiError> {
    let update: fw_model::FileUpdate = crate::json::typed_body(body, "file update")?;
    if let Some(kind) = update.r#type {
        entry.insert("type".into(), json!(kind));
    }
    if let Some(modality) = update.modality {
        if entry.get("modality").and_then(Value::as_str) != Some(modality.as_str()) {
            let custom = entry
                .get("classification")
                .and_then(|c| c.get("Custom"))
                .cloned();
            let mut classification = Map::new();
            if let Some(custom) = custom {
                classification.insert("Custom".into(), custom);
            }
            entry.insert("classification".into(), Value::Object(classification));
        }
        entry.insert("modality".into(), json!(modality));
    }
    Ok(())
}

/// `PATCH …/files/{name}/info`: the `Info` delta of containers, on a file.
pub(crate) fn update_info(entry: &mut Map<String, Value>, body: Value) -> Result<(), ApiError> {
    let info = stored_object(entry, "info", "a file entry")?;
    let info = crate::metadata::apply_info_update(info, body)?;
    entry.insert("info_exists".into(), json!(!info.is_empty()));
    entry.insert("info".into(), Value::Object(info));
    Ok(())
}

/// `PATCH …/files/{name}/classification`: `add`, `delete`, or `replace` (which may also set
/// `modality`); values are checked against the modality's aspects (`Custom` is free).
pub(crate) fn classify(entry: &mut Map<String, Value>, body: Value) -> Result<(), ApiError> {
    let delta: fw_model::ClassificationUpdate = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid classification update: {e}")))?;
    if !delta.extra.is_empty() {
        return Err(ApiError::bad_request(
            "a classification update has `add`, `delete`, `replace` and `modality` only",
        ));
    }
    if delta.modality.is_some() && delta.replace.is_none() {
        return Err(ApiError::bad_request(
            "only `replace` may change the modality",
        ));
    }
    if let Some(modality) = &delta.modality {
        entry.insert("modality".into(), json!(modality));
    }
    let modality = entry
        .get("modality")
        .and_then(Value::as_str)
        .map(str::to_string);
    let allowed = modality
        .as_deref()
        .and_then(|m| {
            crate::lookup::modalities()
                .into_iter()
                .find(|x| x["_id"] == m)
        })
        .map(|m| m["classification"].clone());
    let check = |values: &std::collections::BTreeMap<String, Vec<String>>| -> Result<(), ApiError> {
        for (aspect, list) in values {
            if aspect == "Custom" {
                continue;
            }
            let Some(allowed) = &allowed else {
                return Err(ApiError::bad_request(format!(
                    "aspect {aspect:?} needs a known modality (the file's is {modality:?}); use Custom for free values"
                )));
            };
            let known = allowed[aspect.as_str()].as_array().ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{} has no aspect {aspect:?}",
                    modality.as_deref().unwrap_or_default()
                ))
            })?;
            if let Some(bad) = list.iter().find(|v| !known.iter().any(|k| k == v.as_str())) {
                return Err(ApiError::bad_request(format!(
                    "{bad:?} is not a {aspect} value of {}",
                    modality.as_deref().unwrap_or_default()
                )));
            }
        }
        Ok(())
    };
    let mut classification: std::collections::BTreeMap<String, Vec<String>> = match delta.replace {
        Some(replace) => {
            check(&replace)?;
            replace
        }
        None => match entry.get("classification") {
            None | Some(Value::Null) => Default::default(),
            Some(stored) => decode_stored_as(stored.clone(), "a file's classification")?,
        },
    };
    if let Some(add) = delta.add {
        check(&add)?;
        for (aspect, values) in add {
            let list = classification.entry(aspect).or_default();
            for value in values {
                if !list.contains(&value) {
                    list.push(value);
                }
            }
        }
    }
    for (aspect, values) in delta.delete.unwrap_or_default() {
        if let Some(list) = classification.get_mut(&aspect) {
            list.retain(|v| !values.contains(v));
        }
    }
    classification.retain(|_, values| !values.is_empty());
    entry.insert("classification".into(), json!(classification));
    Ok(())
}

/// `DELETE …/files/{name}`: removes the entry and its earlier versions (admin only).
pub(crate) fn delete(
    c: &Connection,
    caller: &Caller,
    collection: &str,
    id: &str,
    name: &str,
) -> Result<(), ApiError> {
    let mut row = container_of(c, caller, collection, id, Level::Admin)?;
    let mut files = stored_list(&row.doc, "files", &row.what())?;
    let position = files
        .iter()
        .position(|f| f["name"] == name)
        .ok_or_else(|| {
            ApiError::not_found(format!("{} {} has no file {name:?}", row.kind, row.id))
        })?;
    let removed = files.remove(position);
    c.execute(
        "DELETE FROM file_versions WHERE file_id = ?1",
        [removed["file_id"].as_str()],
    )
    .map_err(db)?;
    row.doc["files"] = Value::Array(files);
    row.doc["modified"] = json!(now());
    put_container(c, &row)
}

/// A file entry with `parent_ref`, as `/files`, lookup and resolve show it.
pub(crate) fn with_parent(entry: &Value, row: &Row) -> Value {
    let mut entry = entry.clone();
    entry["parent_ref"] = json!({"type": row.kind, "id": row.id});
    entry
}

/// The container holding `file_id`, if the caller may read it (else 404).
fn holder(c: &Connection, caller: &Caller, file_id: &str, needed: Level) -> Result<Row, ApiError> {
    let container_id: Option<String> = c
        .query_row(
            "SELECT container_id FROM file_index WHERE file_id = ?1",
            [file_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let row = container_id
        .map(|id| crate::store::container(c, &id))
        .transpose()?
        .flatten()
        .ok_or_else(|| ApiError::not_found(format!("file {file_id} not found")))?;
    crate::access::Access::new(caller).require(c, &row, needed)?;
    Ok(row)
}

fn current_by_id(row: &Row, file_id: &str) -> Result<Value, ApiError> {
    row.doc["files"]
        .as_array()
        .and_then(|files| files.iter().find(|f| f["file_id"] == file_id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("file {file_id} not found")))
}

/// `GET /files/{file_id}[?version=N]`.
pub(crate) fn get_by_id(
    c: &Connection,
    caller: &Caller,
    file_id: &str,
    version: Option<i64>,
) -> Result<Value, ApiError> {
    let row = holder(c, caller, file_id, Level::Ro)?;
    let name = current_by_id(&row, file_id)?["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(with_parent(&entry(c, &row, &name, version)?, &row))
}

/// File tags: `PATCH /files/{file_id}/tags` adds the listed tags, `PUT` replaces them all.
/// Returns the file's tags after the change.
pub(crate) fn set_tags(
    c: &Connection,
    caller: &Caller,
    file_id: &str,
    body: Value,
    replace: bool,
) -> Result<Vec<String>, ApiError> {
    let tags: Vec<String> = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("file tags are a JSON list of strings: {e}")))?;
    if tags
        .iter()
        .any(|t| t.trim().is_empty() || t.chars().count() > containers::MAX_LABEL)
    {
        return Err(ApiError::bad_request(format!(
            "a tag is 1 to {} characters",
            containers::MAX_LABEL
        )));
    }
    let row = holder(c, caller, file_id, Level::Rw)?;
    let name = current_by_id(&row, file_id)?["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    modify(
        c,
        caller,
        "containers",
        &row.id,
        &name,
        Level::Rw,
        |entry| {
            let mut current: Vec<String> = if replace {
                Vec::new()
            } else {
                match entry.get("tags") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(stored) => decode_stored_as(stored.clone(), "a file's tags")?,
                }
            };
            for tag in tags {
                if !current.contains(&tag) {
                    current.push(tag);
                }
            }
            entry.insert("tags".into(), json!(current));
            Ok(current)
        },
    )
}

/// `GET /files`: the files the caller may see, by `file_id`, as a `{count, total,
/// results}` page (always, as the SDK expects), with `filter`, `limit` and `after_id`.
pub(crate) fn list(
    c: &Connection,
    caller: &Caller,
    params: &containers::ListParams,
) -> Result<Value, ApiError> {
    let filter = params
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(fw_filter::parse_filter)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid filter:\n{e}")))?;
    let limit = params.limit.filter(|&l| l > 0).unwrap_or(usize::MAX);
    let mut statement = c
        .prepare_cached(
            "SELECT file_id, container_id FROM file_index WHERE file_id > ?1 ORDER BY file_id",
        )
        .map_err(db)?;
    let pairs: Vec<(String, String)> = statement
        .query_map([params.after_id.as_deref().unwrap_or("")], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut access = crate::access::Access::new(caller);
    let mut containers_seen: std::collections::HashMap<String, Option<Row>> =
        std::collections::HashMap::new();
    let (mut results, mut total) = (Vec::new(), 0usize);
    for (file_id, container_id) in pairs {
        let row = match containers_seen.get(&container_id) {
            Some(row) => row.clone(),
            None => {
                let row = crate::store::container(c, &container_id)?;
                let row = match row {
                    Some(row) if access.listed(c, &row)? => Some(row),
                    _ => None,
                };
                containers_seen.insert(container_id.clone(), row.clone());
                row
            }
        };
        let Some(row) = row else { continue };
        let Ok(entry) = current_by_id(&row, &file_id) else {
            continue;
        };
        let entry = with_parent(&entry, &row);
        if filter.as_ref().is_none_or(|f| f.matches(&entry)) {
            total += 1;
            if results.len() < limit {
                results.push(entry);
            }
        }
    }
    Ok(json!({"count": results.len(), "total": total, "results": results}))
}

/// Opens a signed-URL upload (`POST …/files?ticket=` with `{metadata, filenames}`): the
/// storage URLs are on this server and need only the ticket.
pub(crate) fn open_ticket(
    c: &Connection,
    caller: &Caller,
    row: &Row,
    body: Value,
    base_url: &str,
) -> Result<Value, ApiError> {
    let request: fw_model::UploadTicketRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid upload ticket request: {e}")))?;
    let filenames = request.filenames.unwrap_or_default();
    if filenames.is_empty() {
        return Err(ApiError::bad_request("an upload ticket needs `filenames`"));
    }
    for name in &filenames {
        check_name(name)?;
    }
    // Tickets never closed expire after a day, with what they received.
    let stale = chrono::Utc::now().timestamp() - 86_400;
    let mut old = c.prepare("SELECT path FROM ticket_uploads WHERE ticket IN (SELECT ticket FROM upload_tickets WHERE created < ?1)").map_err(db)?;
    let paths: Vec<String> = old
        .query_map([stale], |r| r.get(0))
        .map_err(db)?
        .filter_map(Result::ok)
        .collect();
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
    c.execute("DELETE FROM ticket_uploads WHERE ticket IN (SELECT ticket FROM upload_tickets WHERE created < ?1)", [stale]).map_err(db)?;
    c.execute("DELETE FROM upload_tickets WHERE created < ?1", [stale])
        .map_err(db)?;

    let ticket = random_hex(24);
    c.execute(
        "INSERT INTO upload_tickets (ticket, container_id, user_id, metadata, filenames, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            ticket,
            row.id,
            caller.user_id,
            encode_stored(&request.metadata.unwrap_or(Value::Null), "an upload ticket")?,
            json!(filenames).to_string(),
            chrono::Utc::now().timestamp()
        ],
    )
    .map_err(db)?;
    let urls: Map<String, Value> = filenames
        .iter()
        .map(|name| {
            let encoded: String = name
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            (
                name.clone(),
                json!(format!("{base_url}/storage/{ticket}/{encoded}")),
            )
        })
        .collect();
    Ok(
        json!({"ticket": ticket, "urls": urls, "headers": {"Content-Type": "application/octet-stream"}}),
    )
}

/// Whether a ticket is open for `name`; the storage PUT needs nothing else.
pub(crate) fn ticket_accepts(c: &Connection, ticket: &str, name: &str) -> Result<(), ApiError> {
    let filenames: Option<String> = c
        .query_row(
            "SELECT filenames FROM upload_tickets WHERE ticket = ?1",
            [ticket],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    let names: Vec<String> = match filenames {
        Some(f) => decode_stored_as(
            decode_stored(&f, "an upload ticket's file names")?,
            "an upload ticket's file names",
        )?,
        None => Vec::new(),
    };
    let accepted = names.iter().any(|n| n == name);
    if accepted {
        Ok(())
    } else {
        Err(ApiError::forbidden("no open upload ticket for this file"))
    }
}

/// Keeps the bytes of a storage PUT until the ticket closes.
pub(crate) fn keep_ticket_upload(
    c: &Connection,
    blobs: &Blobs,
    ticket: &str,
    staged: Staged,
) -> Result<(), ApiError> {
    ticket_accepts(c, ticket, &staged.name)?;
    let name = staged.name.clone();
    let path = blobs
        .tmp_dir()
        .join(format!("ticket-{ticket}-{}", random_hex(8)));
    let (size, hash) = staged.keep_at(&path)?;
    let replaced: Option<String> = c
        .query_row(
            "SELECT path FROM ticket_uploads WHERE ticket = ?1 AND name = ?2",
            params![ticket, name],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    if let Some(old) = replaced {
        let _ = std::fs::remove_file(old);
    }
    c.execute(
        "INSERT OR REPLACE INTO ticket_uploads (ticket, name, path, size, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![ticket, name, path.to_string_lossy(), size as i64, hash],
    )
    .map_err(db)?;
    Ok(())
}

/// Closes a signed-URL upload (`POST …/files?ticket=<ticket>`): records what the storage
/// PUTs received, as one multipart upload would, and forgets the ticket.
pub(crate) fn close_ticket(
    c: &Connection,
    caller: &Caller,
    blobs: &Blobs,
    row: Row,
    ticket: &str,
) -> Result<Vec<Value>, ApiError> {
    let opened: Option<(String, String, String)> = c
        .query_row(
            "SELECT container_id, user_id, metadata FROM upload_tickets WHERE ticket = ?1",
            [ticket],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(db)?;
    let Some((_, _, metadata)) =
        opened.filter(|(container, user, _)| *container == row.id && *user == caller.user_id)
    else {
        return Err(ApiError::not_found(
            "no such upload ticket for this container",
        ));
    };
    let mut statement = c
        .prepare("SELECT name, path, size, hash FROM ticket_uploads WHERE ticket = ?1")
        .map_err(db)?;
    let uploads: Vec<Staged> = statement
        .query_map([ticket], |r| {
            Ok(Staged::kept(
                r.get(0)?,
                PathBuf::from(r.get::<_, String>(1)?),
                r.get::<_, i64>(2)? as u64,
                r.get(3)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    c.execute("DELETE FROM ticket_uploads WHERE ticket = ?1", [ticket])
        .map_err(db)?;
    c.execute("DELETE FROM upload_tickets WHERE ticket = ?1", [ticket])
        .map_err(db)?;
    if uploads.is_empty() {
        return Err(ApiError::bad_request(
            "nothing was uploaded with this ticket",
        ));
    }
    let metadata = decode_stored(&metadata, "an upload ticket's metadata")?;
    let metadata = match metadata {
        Value::Object(mut map) => {
            // The SDK adds name and size to the metadata; they are the file's own.
            map.remove("name");
            map.remove("size");
            Some(Value::Object(map))
        }
        Value::Null => None,
        other => Some(other),
    };
    record(c, caller, blobs, row, metadata, uploads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_names_and_ranges() {
        assert_eq!(
            infer_type("scan.nii.gz"),
            (Some("nifti"), "application/octet-stream")
        );
        assert_eq!(
            infer_type("series.DICOM.zip"),
            (Some("dicom"), "application/zip")
        );
        assert_eq!(infer_type("a.zip"), (Some("archive"), "application/zip"));
        assert_eq!(infer_type("notes.txt"), (Some("text"), "text/plain"));
        assert_eq!(infer_type("data.csv").0, Some("tabular data"));
        assert_eq!(infer_type("blob"), (None, "application/octet-stream"));
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a b#c.txt", "é.nii.gz", "..x", "x.."] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
