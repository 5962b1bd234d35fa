//! Files by their stable `file_id`: `GET /files`, `GET /files/{file_id}`, and file tags.

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::containers;
use crate::error::ApiError;
use crate::json::decode_stored_as;
use crate::roles::Level;
use crate::store::{Row, db, one_value};

use super::entries::{entry, modify, with_parent};

/// The container holding `file_id`, if the caller may read it (else 404).
fn holder(c: &Connection, caller: &Caller, file_id: &str, needed: Level) -> Result<Row, ApiError> {
    let container_id: Option<String> = one_value(
        c,
        "SELECT container_id FROM file_index WHERE file_id = ?1",
        [file_id],
    )?;
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

/// `POST /files/{file_id}/move` (`FileMoveInput`, the Python SDK's `move_file`): renames
/// a file in its container. The new name follows the file-name rule (docs/wire.md §15.3)
/// and must not name another file of the container (409); the current entry and every
/// stored version take it. Moving to another container and running gear rules are not
/// served: 501, naming the field, rather than a rename that ignores them.
///
/// # Errors
///
/// 400 for a bad body or name, 404 for a file the caller cannot see, 403 without write
/// access, 409 for a name in use, 501 as above.
pub(crate) fn move_file(
    c: &Connection,
    caller: &Caller,
    file_id: &str,
    body: Value,
) -> Result<(), ApiError> {
    let input: fw_model::FileMoveInput = crate::json::typed_body(body, "file move")?;
    let row = holder(c, caller, file_id, Level::Rw)?;
    let not_served = |what: &str| {
        ApiError::new(
            axum::http::StatusCode::NOT_IMPLEMENTED,
            format!(
                "{what} is not implemented by fw-server; `name` alone renames the file in its container"
            ),
        )
    };
    if let Some(target) = &input.container_reference
        && (target.id.as_ref().map(|id| id.as_str()) != Some(row.id.as_str())
            || target.r#type.as_ref().map(|t| t.as_str()) != Some(row.kind.name()))
    {
        return Err(not_served(
            "container_reference: moving a file to another container",
        ));
    }
    if input.run_gear_rules == Some(true) {
        return Err(not_served("run_gear_rules: running gear rules"));
    }
    let name = input
        .name
        .ok_or_else(|| ApiError::bad_request("a file move needs a new `name`"))?;
    super::entries::check_name(&name)
        .map_err(|e| ApiError::bad_request(format!("name: {}", e.message)))?;
    let old = current_by_id(&row, file_id)?["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if old == name {
        return Ok(());
    }
    if row.doc["files"]
        .as_array()
        .is_some_and(|files| files.iter().any(|f| f["name"] == name.as_str()))
    {
        return Err(ApiError::conflict(format!(
            "{} has a file named {name:?} already",
            row.what()
        )));
    }
    modify(c, caller, None, &row.id, &old, Level::Rw, |entry| {
        entry.insert("name".into(), json!(name));
        Ok(())
    })?;
    // Older versions are the same file: they take the name too.
    let versions: Vec<(i64, String)> = c
        .prepare("SELECT version, doc FROM file_versions WHERE file_id = ?1")
        .and_then(|mut s| {
            s.query_map([file_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .map_err(db)?;
    for (version, text) in versions {
        let what = format!("version {version} of file {file_id}");
        let mut doc = crate::json::decode_stored_object(&text, &what)?;
        doc["name"] = json!(name);
        c.execute(
            "UPDATE file_versions SET doc = ?1 WHERE file_id = ?2 AND version = ?3",
            rusqlite::params![crate::json::encode_stored(&doc, &what)?, file_id, version],
        )
        .map_err(db)?;
    }
    Ok(())
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
    let tags: Vec<String> = crate::json::decode_body(body, "file tags")?;
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
    modify(c, caller, None, &row.id, &name, Level::Rw, |entry| {
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
    })
}

/// `GET /files`: the files the caller may see, by `file_id`, as a `{count, total,
/// results}` page (always, as the SDK expects), with every paging parameter (`filter`,
/// `sort`, `limit`, `skip`, `page`, `after_id`; docs/wire.md §4.2).
pub(crate) fn list(
    c: &Connection,
    caller: &Caller,
    params: &containers::ListParams,
) -> Result<Value, ApiError> {
    let paging = params.paging()?;
    let mut statement = c
        .prepare_cached(
            "SELECT file_id, container_id FROM file_index WHERE file_id > ?1 ORDER BY file_id",
        )
        .map_err(db)?;
    let pairs: Vec<(String, String)> = statement
        .query_map([paging.after_id.as_deref().unwrap_or("")], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut access = crate::access::Access::new(caller);
    let mut containers_seen: std::collections::HashMap<String, Option<Row>> =
        std::collections::HashMap::new();
    let mut entries = Vec::new();
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
        entries.push(with_parent(&entry, &row));
    }
    let (results, total) = paging.page(entries, "file_id");
    Ok(json!({"count": results.len(), "total": total, "results": results}))
}
