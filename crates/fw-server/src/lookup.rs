//! `POST /lookup` and `POST /resolve` (docs/wire.md §5.2-§5.3): a path of group id,
//! then labels (project, subject, session, acquisition), with `analyses` (and `files`)
//! segments, and `<id:OBJECTID>` in place of a label.

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::access::Access;
use crate::auth::Caller;
use crate::containers::node;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::store::{Row, Scan, container, scan};

/// The nodes along a path, each with `container_type`.
pub(crate) struct Resolved {
    /// The nodes, from the group down.
    pub(crate) path: Vec<Value>,
    /// The children of the last node: the next level and its analyses (and files).
    pub(crate) children: Vec<Value>,
}

fn not_found(path: &[String]) -> ApiError {
    ApiError::not_found(format!("Not Found: {}", path.join("/")))
}

/// Walks `path`; every node must be visible to the caller.
pub(crate) fn resolve(
    c: &Connection,
    caller: &Caller,
    path: &[String],
    with_children: bool,
) -> Result<Resolved, ApiError> {
    let mut access = Access::new(caller);
    let mut rows: Vec<Row> = Vec::new();
    let mut nodes: Vec<Value> = Vec::new();
    let mut segments = path.iter().map(String::as_str).peekable();
    let Some(group_id) = segments.next() else {
        return Err(ApiError::bad_request(
            "the path is empty; it starts with a group id",
        ));
    };
    let group = container(c, group_id)?
        .filter(|r| r.kind == Kind::Group)
        .ok_or_else(|| not_found(path))?;
    visible(c, &mut access, &group, path)?;
    rows.push(group);
    let levels = [
        Kind::Project,
        Kind::Subject,
        Kind::Session,
        Kind::Acquisition,
    ];
    let mut level = 0;
    while let Some(segment) = segments.next() {
        let parent = rows.last().ok_or_else(|| not_found(path))?.clone();
        let (kind, name) = match segment {
            "analyses" => (
                Kind::Analysis,
                segments.next().ok_or_else(|| not_found(path))?,
            ),
            "files" => {
                let name = segments.next().ok_or_else(|| not_found(path))?;
                let file = parent.doc["files"]
                    .as_array()
                    .and_then(|files| files.iter().find(|f| f["name"] == name))
                    .ok_or_else(|| not_found(path))?;
                nodes.push(file_node(file, &parent));
                if segments.peek().is_some() {
                    return Err(not_found(path));
                }
                return finish(c, &mut access, rows, nodes, with_children, true);
            }
            _ if level < levels.len() && parent.kind != Kind::Analysis => {
                level += 1;
                (levels[level - 1], segment)
            }
            _ => return Err(not_found(path)),
        };
        let row = child(c, &parent, kind, name)?.ok_or_else(|| not_found(path))?;
        visible(c, &mut access, &row, path)?;
        rows.push(row);
    }
    finish(c, &mut access, rows, nodes, with_children, false)
}

fn finish(
    c: &Connection,
    access: &mut Access<'_>,
    rows: Vec<Row>,
    files: Vec<Value>,
    with_children: bool,
    ends_in_file: bool,
) -> Result<Resolved, ApiError> {
    let mut path = Vec::new();
    for row in &rows {
        path.push(node(c, row)?);
    }
    path.extend(files);
    let mut children = Vec::new();
    if with_children
        && !ends_in_file
        && let Some(last) = rows.last()
    {
        children = children_of(c, access, last)?;
    }
    Ok(Resolved { path, children })
}

/// The child of `parent` of `kind` named `name` (a label, or `<id:…>`).
fn child(c: &Connection, parent: &Row, kind: Kind, name: &str) -> Result<Option<Row>, ApiError> {
    let mut selection = Scan {
        parent_id: Some(parent.id.clone()),
        ..Scan::of(kind)
    };
    match name.strip_prefix("<id:").and_then(|n| n.strip_suffix('>')) {
        Some(id) => selection.id = Some(id.to_string()),
        None => selection.label = Some(name.to_string()),
    }
    let mut found = None;
    scan(c, &selection, &mut |row| {
        found = Some(row);
        Ok(false)
    })?;
    Ok(found)
}

/// The next level's containers the caller may see, then the analyses, then the files of
/// a node.
fn children_of(
    c: &Connection,
    access: &mut Access<'_>,
    parent: &Row,
) -> Result<Vec<Value>, ApiError> {
    let next = parent.kind.child();
    let mut children = Vec::new();
    for kind in next.into_iter().chain(Some(Kind::Analysis)) {
        let selection = Scan {
            parent_id: Some(parent.id.clone()),
            ..Scan::of(kind)
        };
        scan(c, &selection, &mut |row| {
            if access.level(c, &row)?.is_none() {
                return Ok(true);
            }
            children.push(node(c, &row)?);
            Ok(true)
        })?;
    }
    for file in parent.doc["files"].as_array().into_iter().flatten() {
        children.push(file_node(file, parent));
    }
    Ok(children)
}

/// A file as a lookup node: the entry with `parent_ref` and `container_type: file`.
fn file_node(file: &Value, parent: &Row) -> Value {
    let mut node = crate::files::with_parent(file, parent);
    node["container_type"] = json!("file");
    node
}

/// A node the caller cannot see is reported as not found, like a missing one.
fn visible(
    c: &Connection,
    access: &mut Access<'_>,
    row: &Row,
    path: &[String],
) -> Result<(), ApiError> {
    match access.level(c, row)? {
        Some(_) => Ok(()),
        None => Err(not_found(path)),
    }
}

/// The `path` of a lookup body: a list of segments, or one `/`-separated string.
///
/// # Errors
///
/// A 400 for a body that is no lookup body, or an empty path (a lookup names a node).
pub(crate) fn path_of(body: Value) -> Result<Vec<String>, ApiError> {
    let path = segments_of(body)?;
    if path.is_empty() {
        return Err(ApiError::bad_request(
            "the path is empty; it starts with a group id",
        ));
    }
    Ok(path)
}

/// The `path` of a resolve body, which may be empty: the root (docs/wire.md §15.9).
///
/// # Errors
///
/// A 400 for a body that is no lookup body.
pub(crate) fn segments_of(body: Value) -> Result<Vec<String>, ApiError> {
    let input: fw_model::LookupInput = crate::json::typed_body(body, "lookup body")?;
    Ok(input.path.into_iter().filter(|s| !s.is_empty()).collect())
}

/// The resolve of the root (`{"path": []}`, what `fw ls` sends): no nodes, and as
/// children the groups the caller is listed in, as `GET /groups` lists them (core's
/// resolver had a root node whose children are the groups).
pub(crate) fn root(c: &Connection, caller: &Caller) -> Result<Resolved, ApiError> {
    let mut access = Access::new(caller);
    let mut groups = Vec::new();
    scan(c, &Scan::of(Kind::Group), &mut |row| {
        if access.listed(c, &row)? {
            groups.push(node(c, &row)?);
        }
        Ok(true)
    })?;
    Ok(Resolved {
        path: Vec::new(),
        children: groups,
    })
}
