//! File entries on containers: recording uploads as new entries or versions, reading a
//! version, and changing an entry's type, modality, info and classification.

use rusqlite::{Connection, params};
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::{now, object_id, random_hex};
use crate::json::{
    decode_stored_as, decode_stored_object, encode_stored, stored_list, stored_object,
};
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, db, one_value, put_container, touch_and_save};

use super::blobs::{Blobs, Staged};

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

/// The characters a file name may not hold besides control characters (docs/wire.md
/// §15.3): path separators, and what Windows and most archive tools refuse.
const FORBIDDEN_IN_NAMES: &str = ":*?\"|<>\\/";

/// The longest file name, in bytes of UTF-8.
const MAX_NAME_BYTES: usize = 255;

/// The file-name rule of docs/wire.md §15.3, checked on every path that names a new
/// file (multipart parts, signed-URL tickets and their storage PUTs, bulk `?prefix=`)
/// before a byte is stored: no `: * ? " | < > \ /`, no control character (U+0000-U+001F,
/// U+007F), not empty, `.` or `..`, at most 255 bytes. Nothing is renamed silently.
///
/// # Errors
///
/// A 400 naming the character (as `U+0009` when it is not printable) and its position
/// (in characters, from 1).
pub(crate) fn check_name(name: &str) -> Result<(), ApiError> {
    let refuse =
        |why: String| ApiError::bad_request(format!("{name:?} is not a valid file name: {why}"));
    if name.is_empty() || name == "." || name == ".." {
        return Err(refuse("a name is not empty, `.` or `..`".into()));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(refuse(format!(
            "it is {} bytes long, more than {MAX_NAME_BYTES}",
            name.len()
        )));
    }
    if let Some((position, bad)) = name
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_ascii_control() || FORBIDDEN_IN_NAMES.contains(*c))
    {
        let shown = if bad.is_ascii_control() {
            format!("U+{:04X}", u32::from(bad))
        } else {
            format!("'{bad}'")
        };
        return Err(refuse(format!(
            "{shown} at position {} is not allowed (no : * ? \" | < > \\ / or control characters)",
            position + 1
        )));
    }
    Ok(())
}

/// The container of a files path: `/{coll}/{id}` of that kind, or `/containers/{id}` of any
/// kind (`None`); groups hold no files.
pub(crate) fn container_of(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
    needed: Level,
) -> Result<Row, ApiError> {
    let found = crate::store::container(c, id)?;
    holder_of_files(c, caller, kind, id, found, needed)
}

/// [`container_of`] and [`entry`] in one: the container and the entry of its file `name`
/// (an earlier `version` if asked), read without parsing the container's other file
/// entries (`store::container_and_file`), as a download needs.
pub(crate) fn container_and_entry(
    c: &Connection,
    caller: &Caller,
    (kind, id): (Option<Kind>, &str),
    name: &str,
    needed: Level,
    version: Option<i64>,
) -> Result<(Row, Value), ApiError> {
    let (found, current) = match crate::store::container_and_file(c, id, name)? {
        Some((row, current)) => (Some(row), current),
        None => (None, None),
    };
    let row = holder_of_files(c, caller, kind, id, found, needed)?;
    let entry = version_of(c, &row, name, current, version)?;
    Ok((row, entry))
}

/// The checks of [`container_of`] on a row already read (`found`).
fn holder_of_files(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
    found: Option<Row>,
    needed: Level,
) -> Result<Row, ApiError> {
    let mut access = crate::access::Access::new(caller);
    let row = access.check(c, kind, id, found, Level::Ro)?;
    if row.kind == Kind::Group {
        return Err(ApiError::bad_request("groups hold no files"));
    }
    access.require(c, &row, needed)?;
    Ok(row)
}

/// The file metadata of an upload, checked before a byte is kept: the multipart
/// `metadata` field, and a signed-URL ticket's `metadata` both when the ticket opens and
/// when it closes (docs/wire.md §10.4, §15.3, §15.6). `metadata` is a `FileInput` object,
/// or a list whose first element is one (analyses); `part_names` are the names of the
/// files the upload carries (its file parts, or the ticket's `filenames`). Info keys are
/// sanitized as every info write does (`metadata::sanitize_keys`).
///
/// # Errors
///
/// A 400 naming the field: a body that is no `FileInput`, or a `name` that is not a valid
/// file name or not one of `part_names` (an upload does not rename).
pub(crate) fn file_metadata(
    metadata: Option<Value>,
    part_names: &[&str],
) -> Result<fw_model::FileInput, ApiError> {
    let metadata = match metadata {
        Some(Value::Array(mut items)) if !items.is_empty() => items.swap_remove(0),
        Some(other) => other,
        None => Value::Null,
    };
    let mut input: fw_model::FileInput = crate::json::typed_body(
        if metadata.is_null() {
            json!({})
        } else {
            metadata
        },
        "file metadata",
    )?;
    // A `name` in the metadata is never dropped (docs/wire.md §15.3, §15.6): an upload is
    // named by its file part, so the name must be that of a part; no rename happens here.
    if let Some(name) = &input.name {
        check_name(name).map_err(|e| ApiError::bad_request(format!("name: {}", e.message)))?;
        if !part_names.contains(&name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "name: the file metadata names {name:?}, but the file part is named {}; \
                 an upload is named by its file part (rename with POST /files/{{file_id}}/move)",
                part_names.join(", ")
            )));
        }
    }
    input.info = match input.info.take() {
        Some(info) => match crate::metadata::sanitize_keys(Value::Object(info), "info")? {
            Value::Object(info) => Some(info),
            _ => None,
        },
        None => None,
    };
    Ok(input)
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
    let parts: Vec<&str> = uploads.iter().map(|u| u.name.as_str()).collect();
    let input = file_metadata(metadata, &parts)?;
    let mut files = stored_list(&row.doc, "files", &row.what())?;
    let mut created = Vec::new();
    for upload in uploads {
        let upload = upload.into_blob(blobs)?;
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
    touch_and_save(c, &mut row)?;
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
        .cloned();
    version_of(c, row, name, current, version)
}

/// The entry of `name` on a container whose current entry of that name is `current`
/// (`None`: it has no such file): `current`, or an earlier `version`.
pub(crate) fn version_of(
    c: &Connection,
    row: &Row,
    name: &str,
    current: Option<Value>,
    version: Option<i64>,
) -> Result<Value, ApiError> {
    let current = current.ok_or_else(|| {
        ApiError::not_found(format!("{} {} has no file {name:?}", row.kind, row.id))
    })?;
    match version {
        None => Ok(current),
        Some(v) if current["version"].as_i64() == Some(v) => Ok(current),
        Some(v) => {
            let doc: Option<String> = one_value(
                c,
                "SELECT doc FROM file_versions WHERE file_id = ?1 AND version = ?2 AND container_id = ?3",
                params![current["file_id"].as_str(), v, row.id],
            )?;
            let doc =
                doc.ok_or_else(|| ApiError::not_found(format!("{name:?} has no version {v}")))?;
            decode_stored_object(&doc, &format!("version {v} of {name:?} in {}", row.id))
        }
    }
}

/// Changes the current entry of `name` with `change`, on a container the caller may
/// write; returns what `change` returns.
pub(crate) fn modify<T>(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
    name: &str,
    needed: Level,
    change: impl FnOnce(&mut Map<String, Value>) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut row = container_of(c, caller, kind, id, needed)?;
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
    let delta: fw_model::ClassificationUpdate =
        crate::json::typed_body(body, "classification update")?;
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
        .and_then(|m| crate::modalities::all().into_iter().find(|x| x["_id"] == m))
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
    kind: Option<Kind>,
    id: &str,
    name: &str,
) -> Result<(), ApiError> {
    let mut row = container_of(c, caller, kind, id, Level::Admin)?;
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
    touch_and_save(c, &mut row)
}

/// `GET …/files/{name}/info`: the current entry of `name` with `parent_ref` (the SDK reads
/// it as a `FileOutput`), on a container the caller may read.
pub(crate) fn show(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
    name: &str,
) -> Result<Value, ApiError> {
    let row = container_of(c, caller, kind, id, Level::Ro)?;
    Ok(with_parent(&entry(c, &row, name, None)?, &row))
}

/// `?hash=` on a download (docs/wire.md §15.7): the file is sent only if it still has
/// this hash (`v0-sha384-<hex>`, or the hex alone).
///
/// # Errors
///
/// A 409 naming both hashes when they differ.
pub(crate) fn check_hash(entry: &Value, asked: &str) -> Result<(), ApiError> {
    let hash = entry["hash"].as_str().unwrap_or_default();
    let hex = hash.rsplit('-').next().unwrap_or_default();
    if asked == hash || (!asked.is_empty() && asked == hex) {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "{:?} has the hash {hash}, not {asked}",
        entry["name"].as_str().unwrap_or_default()
    )))
}

/// A file entry with `parent_ref`, as `/files`, lookup and resolve show it.
pub(crate) fn with_parent(entry: &Value, row: &Row) -> Value {
    let mut entry = entry.clone();
    entry["parent_ref"] = json!({"type": row.kind, "id": row.id});
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_names() {
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
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a\0b", "a:b", "t2*", "q?", "x\"", "p|", "<a", "a>",
            "a\x7f",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            check_name("scan\t1.nii").unwrap_err().message,
            "\"scan\\t1.nii\" is not a valid file name: U+0009 at position 5 is not allowed \
             (no : * ? \" | < > \\ / or control characters)"
        );
        assert!(
            check_name("T2*.nii")
                .unwrap_err()
                .message
                .contains("'*' at position 3")
        );
        assert!(
            check_name(&"é".repeat(128))
                .unwrap_err()
                .message
                .contains("256 bytes")
        );
        assert!(check_name(&"é".repeat(127)).is_ok());
        for good in ["a b#c.txt", "é.nii.gz", "..x", "x.."] {
            assert!(check_name(good).is_ok(), "{good:?}");
        }
    }
}
