//! New containers: groups, projects, subjects, sessions, acquisitions and analyses.

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::access::{Access, Target};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::{now, object_id};
use crate::kind::Kind;
use crate::roles::{ADMIN_ROLE, Level};
use crate::store::{Row, Scan, container, put_container, scan};

use super::body::{check_group_id, check_label, create_body, require_field, sync_code_and_label};

/// The parent named by the field of its kind in a create body: it must exist, be of `kind`, be visible
/// (else 404) and allow read-write (else 403).
fn parent_row(
    c: &Connection,
    access: &mut Access<'_>,
    fields: &Map<String, Value>,
    kind: Kind,
) -> Result<Row, ApiError> {
    let id = fields
        .get(kind.name())
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::bad_request(format!("the body needs `{kind}`, the parent {kind}"))
        })?;
    access.get(c, Some(kind), id, Level::Rw)
}

/// Creates a container from a create body; returns its id.
pub(crate) fn create(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    body: Value,
) -> Result<String, ApiError> {
    let mut fields = create_body(kind, body)?;
    check_label(&fields, "label")?;
    let mut access = Access::new(caller);
    let when = now();
    let mut doc = Map::new();
    let (id, place);
    match kind {
        Kind::Group => {
            if !caller.site_admin {
                return Err(ApiError::forbidden("only site admins create groups"));
            }
            let gid = fields
                .remove("_id")
                .and_then(|v| v.as_str().map(str::to_string))
                .ok_or_else(|| ApiError::bad_request("a group needs an `_id`"))?;
            check_group_id(&gid)?;
            if container(c, &gid)?.is_some() {
                return Err(ApiError::conflict(format!("group {gid} exists already")));
            }
            doc.insert("label".into(), json!(gid));
            doc.insert(
                "permissions".into(),
                json!([{"_id": caller.user_id, "access": "admin"}]),
            );
            doc.insert(
                "roles".into(),
                json!(
                    crate::roles::default_roles()
                        .iter()
                        .map(|r| r["_id"].clone())
                        .collect::<Vec<_>>()
                ),
            );
            (id, place) = (gid.clone(), Place::new(None, gid, None));
        }
        Kind::Project => {
            let group = parent_row(c, &mut access, &fields, Kind::Group)?;
            require_field(&fields, "label")?;
            let pid = object_id();
            doc.insert("parents".into(), json!({"group": group.id}));
            doc.insert(
                "permissions".into(),
                json!([{"_id": caller.user_id, "role_ids": [ADMIN_ROLE]}]),
            );
            (id, place) = (
                pid.clone(),
                Place::new(Some(&group.id), group.id.clone(), Some(pid)),
            );
        }
        Kind::Subject => {
            let project = parent_row(c, &mut access, &fields, Kind::Project)?;
            sync_code_and_label(&mut fields)?;
            let sid = object_id();
            doc.insert(
                "parents".into(),
                json!({"group": project.group_id, "project": project.id}),
            );
            (id, place) = (sid, Place::below(&project));
        }
        Kind::Session => {
            let project = parent_row(c, &mut access, &fields, Kind::Project)?;
            let subject = session_subject(c, &project, fields.remove("subject"), &when)?;
            let sid = object_id();
            doc.insert("group".into(), json!(project.group_id));
            doc.insert("subject".into(), json!({"_id": subject}));
            doc.insert(
                "parents".into(),
                json!({"group": project.group_id, "project": project.id, "subject": subject}),
            );
            (id, place) = (
                sid,
                Place::new(Some(&subject), project.group_id, Some(project.id)),
            );
        }
        Kind::Acquisition => {
            let session = parent_row(c, &mut access, &fields, Kind::Session)?;
            let aid = object_id();
            let mut parents = session.doc["parents"].clone();
            parents["session"] = json!(session.id);
            doc.insert("parents".into(), parents);
            (id, place) = (aid, Place::below(&session));
        }
        Kind::Analysis => {
            return Err(ApiError::bad_request(
                "analyses are created on a container: POST /{collection}/{id}/analyses",
            ));
        }
    }
    insert_new(c, kind, id, place, doc, fields, &when)
}

/// Where a new container sits: its parent, group and project.
struct Place {
    parent_id: Option<String>,
    group_id: String,
    project_id: Option<String>,
}

impl Place {
    fn new(parent_id: Option<&str>, group_id: String, project_id: Option<String>) -> Place {
        Place {
            parent_id: parent_id.map(str::to_string),
            group_id,
            project_id,
        }
    }

    /// Directly below `parent`, in its group and project.
    fn below(parent: &Row) -> Place {
        Place::new(
            Some(&parent.id),
            parent.group_id.clone(),
            parent.project_id.clone(),
        )
    }
}

/// Stores a new container: `doc` (what the server sets: `parents`, `permissions`, …), its
/// `_id`, the body's `fields` over them (info keys sanitized), and where none of these gives them, what every
/// container of `kind` starts with: no tags, notes, files, analyses (an analysis: inputs),
/// an empty `info`, and `created` and `modified` at `when`. Returns the id.
fn insert_new(
    c: &Connection,
    kind: Kind,
    id: String,
    place: Place,
    mut doc: Map<String, Value>,
    fields: Map<String, Value>,
    when: &str,
) -> Result<String, ApiError> {
    doc.insert("_id".into(), json!(id));
    // Info keys are sanitized as `PUT` and `PATCH …/info` do (docs/wire.md §8.2).
    for (key, value) in fields {
        let value = crate::metadata::field_to_store(&key, value)?;
        doc.insert(key, value);
    }
    let mut empty = vec![("tags", json!([])), ("info", json!({}))];
    if kind != Kind::Group {
        empty.extend([("notes", json!([])), ("files", json!([]))]);
    }
    if kind.holds_analyses() {
        empty.push(("analyses", json!([])));
    }
    if kind == Kind::Analysis {
        empty.push(("inputs", json!([])));
    }
    empty.extend([("created", json!(when)), ("modified", json!(when))]);
    for (key, value) in empty {
        doc.entry(key).or_insert(value);
    }
    put_container(
        c,
        &Row {
            id: id.clone(),
            kind,
            parent_id: place.parent_id,
            group_id: place.group_id,
            project_id: place.project_id,
            doc: Value::Object(doc),
        },
    )?;
    Ok(id)
}

/// `POST /{collection}/{id}/analyses`: an analysis on any container below a group (the
/// caller needs read-write on it); returns its id.
pub(crate) fn create_analysis(
    c: &Connection,
    target: &Target,
    body: Value,
) -> Result<String, ApiError> {
    let mut access = Access::new(&target.caller);
    let parent = &access.get(c, Some(target.kind), &target.id, Level::Ro)?;
    let fields = create_body(Kind::Analysis, body)?;
    check_label(&fields, "label")?;
    require_field(&fields, "label")?;
    if !parent.kind.holds_analyses() {
        return Err(ApiError::bad_request(format!(
            "a {} cannot hold analyses",
            parent.kind
        )));
    }
    access.require(c, parent, Level::Rw)?;
    check_inputs(c, &mut access, fields.get("inputs"))?;
    let mut parents = parent
        .doc
        .get("parents")
        .cloned()
        .unwrap_or_else(|| json!({}));
    parents[parent.kind.name()] = json!(parent.id);
    let mut doc = Map::new();
    doc.insert(
        "parent".into(),
        json!({"type": parent.kind, "id": parent.id}),
    );
    doc.insert("parents".into(), parents);
    let place = Place::below(parent);
    insert_new(c, Kind::Analysis, object_id(), place, doc, fields, &now())
}

/// Analysis inputs name files `{type, id, name}` that exist and the caller can read
/// (docs/wire.md §15.6); they were accepted unchecked and came back as references.
///
/// # Errors
///
/// A 400 naming the input (`inputs[1]`) and what is wrong; 404 when its container cannot
/// be seen or has no such file.
fn check_inputs(
    c: &Connection,
    access: &mut Access<'_>,
    inputs: Option<&Value>,
) -> Result<(), ApiError> {
    for (i, input) in inputs
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = |what: &str| {
            input[what].as_str().ok_or_else(|| {
                ApiError::bad_request(format!(
                    "inputs[{i}].{what}: an input names a file by `type`, `id` and `name`"
                ))
            })
        };
        let (kind, id, name) = (field("type")?, field("id")?, field("name")?);
        let kind = Kind::from_name(kind).ok_or_else(|| {
            ApiError::bad_request(format!(
                "inputs[{i}].type: {kind:?} is not a container type"
            ))
        })?;
        let holder = access
            .get(c, Some(kind), id, Level::Ro)
            .map_err(|e| ApiError::new(e.status, format!("inputs[{i}]: {}", e.message)))?;
        crate::files::entry(c, &holder, name, None)
            .map_err(|e| ApiError::new(e.status, format!("inputs[{i}]: {}", e.message)))?;
    }
    Ok(())
}

/// The subject of a new session: an existing id, `{_id}`, or `{code|label, …}`, which
/// finds the project's subject with that code or creates it.
pub(crate) fn session_subject(
    c: &Connection,
    project: &Row,
    subject: Option<Value>,
    when: &str,
) -> Result<String, ApiError> {
    let subject = match subject {
        Some(Value::String(id)) => json!({"_id": id}),
        Some(Value::Object(map)) => Value::Object(map),
        _ => {
            return Err(ApiError::bad_request(
                "a session needs a `subject`: an id, or {\"code\": …}",
            ));
        }
    };
    if let Some(id) = subject.get("_id").and_then(Value::as_str) {
        let row = container(c, id)?
            .filter(|r| {
                r.kind == Kind::Subject && r.project_id.as_deref() == Some(project.id.as_str())
            })
            .ok_or_else(|| {
                ApiError::not_found(format!("subject {id} not found in project {}", project.id))
            })?;
        return Ok(row.id);
    }
    let code = subject
        .get("code")
        .or_else(|| subject.get("label"))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request("the session's subject needs an `_id`, a `code` or a `label`")
        })?
        .to_string();
    let mut existing = None;
    let lookup = Scan {
        parent_id: Some(project.id.clone()),
        label: Some(code.clone()),
        ..Scan::of(Kind::Subject)
    };
    scan(c, &lookup, &mut |row| {
        existing = Some(row.id);
        Ok(false)
    })?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let mut fields: Map<String, Value> = subject.as_object().cloned().unwrap_or_default();
    fields.insert("project".into(), json!(project.id));
    fields.insert("code".into(), json!(code));
    fields.insert("label".into(), json!(code));
    let fields = create_body(Kind::Subject, Value::Object(fields))?;
    let mut doc = Map::new();
    doc.insert(
        "parents".into(),
        json!({"group": project.group_id, "project": project.id}),
    );
    insert_new(
        c,
        Kind::Subject,
        object_id(),
        Place::below(project),
        doc,
        fields,
        when,
    )
}
