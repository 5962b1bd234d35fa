//! Containers as clients see them.

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::access::Access;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, container};

/// The wire document of a row, as clients see it: project permissions shown on
/// everything below the project, the session's subject embedded whole.
pub(crate) fn render(c: &Connection, row: &Row) -> Result<Value, ApiError> {
    Renderer::default().render(c, row.clone())
}

/// `GET /{collection}/{id}` (`kind` given) and `GET /containers/{id}` (any kind, shown with
/// its `container_type`): the container rendered, if the caller may read it, with
/// `join-origin` when asked.
pub(crate) fn show(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
    with_origin: bool,
) -> Result<Value, ApiError> {
    let row = Access::new(caller).get(c, kind, id, Level::Ro)?;
    let mut doc = match kind {
        Some(_) => render(c, &row)?,
        None => node(c, &row)?,
    };
    if with_origin {
        doc["join-origin"] = join_origin(c, &doc)?;
    }
    Ok(doc)
}

/// `GET /{coll}/{id}/analyses/{analysis_id}`: an analysis directly below the target
/// (404 when it is not there or not visible).
pub(crate) fn show_analysis(
    c: &Connection,
    target: &crate::access::Target,
    analysis_id: &str,
) -> Result<Value, ApiError> {
    let parent = target.get(c, Level::Ro)?;
    let row = Access::new(&target.caller).get(c, Some(Kind::Analysis), analysis_id, Level::Ro)?;
    if row.parent_id.as_deref() != Some(parent.id.as_str()) {
        return Err(ApiError::not_found(format!(
            "{} has no analysis {analysis_id}",
            parent.what()
        )));
    }
    render(c, &row)
}

/// A rendered container with its `container_type`, as `/containers/{id}`, lookup and
/// resolve show it.
pub(crate) fn node(c: &Connection, row: &Row) -> Result<Value, ApiError> {
    let mut doc = render(c, row)?;
    doc["container_type"] = json!(row.kind);
    Ok(doc)
}

/// Renders many rows, reading each project's permissions once (a listing of 100,000
/// subjects would otherwise read their project 100,000 times).
#[derive(Default)]
pub(crate) struct Renderer {
    project_permissions: std::collections::HashMap<String, Value>,
}

impl Renderer {
    /// The wire document of `row` (see [`render`]).
    pub(crate) fn render(&mut self, c: &Connection, row: Row) -> Result<Value, ApiError> {
        let below_project = !matches!(row.kind, Kind::Group | Kind::Project);
        let mut doc = row.doc;
        if below_project && let Some(project_id) = row.project_id.clone() {
            let permissions = match self.project_permissions.get(&project_id) {
                Some(permissions) => permissions.clone(),
                None => {
                    let permissions = container(c, &project_id)?
                        .map(|p| p.doc["permissions"].clone())
                        .unwrap_or(Value::Null);
                    self.project_permissions
                        .insert(project_id, permissions.clone());
                    permissions
                }
            };
            if !permissions.is_null() {
                doc["permissions"] = permissions;
            }
        }
        if row.kind == Kind::Session
            && let Some(subject) = row_by_id(c, row.parent_id.as_deref())?
        {
            doc["subject"] = subject.doc;
        }
        if row.kind == Kind::Analysis {
            doc["inputs"] = Value::Array(input_entries(c, &doc, row.project_id.as_deref())?);
        }
        Ok(doc)
    }
}

/// An analysis's inputs as file entries with `parent_ref` (the SDK reads `FileEntry`s).
/// Only files of the analysis's own project are shown whole (whoever sees the analysis
/// sees them); others, and files deleted since, stay the reference stored.
fn input_entries(
    c: &Connection,
    doc: &Value,
    project_id: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let mut entries = Vec::new();
    for input in crate::json::stored_list(doc, "inputs", "an analysis")? {
        let found = match (input["id"].as_str(), input["name"].as_str()) {
            (Some(id), Some(name)) => match container(c, id)? {
                Some(holder) if holder.project_id.as_deref() == project_id => {
                    crate::files::entry(c, &holder, name, None)
                        .ok()
                        .map(|entry| crate::files::with_parent(&entry, &holder))
                }
                _ => None,
            },
            _ => None,
        };
        entries.push(found.unwrap_or(input));
    }
    Ok(entries)
}

fn row_by_id(c: &Connection, id: Option<&str>) -> Result<Option<Row>, ApiError> {
    match id {
        Some(id) => container(c, id),
        None => Ok(None),
    }
}

/// `?join=origin`: who made the container's files (`JoinOrigins`: users by id with their
/// names; devices and jobs are not made here, so they stay empty).
pub(crate) fn join_origin(c: &Connection, doc: &Value) -> Result<Value, ApiError> {
    let mut users = Map::new();
    for file in doc["files"].as_array().into_iter().flatten() {
        let origin = &file["origin"];
        let Some(id) = origin["id"].as_str().filter(|_| origin["type"] == "user") else {
            continue;
        };
        if users.contains_key(id) {
            continue;
        }
        if let Some(user) = crate::auth::user(c, id)? {
            users.insert(
                id.to_string(),
                json!({"firstname": user["firstname"], "lastname": user["lastname"]}),
            );
        }
    }
    Ok(json!({"user": users, "device": {}, "job": {}}))
}
