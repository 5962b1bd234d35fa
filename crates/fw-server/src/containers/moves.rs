//! Moving a container to another parent with `PUT` (docs/wire.md §13.2, "U = move"):
//! a project to another group, a subject to another project, a session to another subject
//! or project, an acquisition to another session. Everything below moves with it: the
//! stored rows' `group_id`/`project_id`, every document's `parents`, and the `parents` of
//! every file entry and earlier file version, in the caller's transaction.

use rusqlite::{Connection, params};
use serde_json::{Map, Value, json};

use crate::access::Access;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::{decode_stored_object, encode_stored};
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, container, db, one_value, put_container};

/// The parent fields an update of `kind` may carry.
pub(crate) fn parent_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Project => &["group"],
        Kind::Subject => &["project"],
        Kind::Session => &["project", "subject"],
        Kind::Acquisition => &["session"],
        Kind::Group | Kind::Analysis => &[],
    }
}

/// The new parent an update body names, if it differs from the current one; takes the
/// parent fields out of `fields`. The caller needs read-write on the destination (and
/// admin on a project that changes group, since that changes who may see it).
pub(crate) fn destination(
    c: &Connection,
    caller: &Caller,
    row: &Row,
    kind: Kind,
    fields: &mut Map<String, Value>,
) -> Result<Option<Row>, ApiError> {
    let named: Vec<(&str, Value)> = parent_fields(kind)
        .iter()
        .filter_map(|field| fields.remove(*field).map(|value| (*field, value)))
        .collect();
    if named.is_empty() {
        return Ok(None);
    }
    let mut access = Access::new(caller);
    let target = match kind {
        Kind::Project => {
            let group = id_of(&named[0].1).unwrap_or_default();
            if group == row.group_id {
                return Ok(None);
            }
            access.require(c, row, Level::Admin)?;
            access.get(c, Some(Kind::Group), &group, Level::Rw)?
        }
        Kind::Subject => {
            let project = id_of(&named[0].1).unwrap_or_default();
            if Some(project.as_str()) == row.project_id.as_deref() {
                return Ok(None);
            }
            let project = access.get(c, Some(Kind::Project), &project, Level::Rw)?;
            refuse_duplicate_code(c, row, &project)?;
            project
        }
        Kind::Session => {
            let project = named
                .iter()
                .find(|(field, _)| *field == "project")
                .and_then(|(_, value)| id_of(value));
            let subject = named
                .iter()
                .find(|(field, _)| *field == "subject")
                .map(|(_, value)| value.clone());
            session_destination(c, &mut access, row, project, subject)?
        }
        Kind::Acquisition => {
            let session = id_of(&named[0].1).unwrap_or_default();
            access.get(c, Some(Kind::Session), &session, Level::Rw)?
        }
        Kind::Group | Kind::Analysis => return Ok(None),
    };
    Ok((row.parent_id.as_deref() != Some(target.id.as_str())).then_some(target))
}

/// The id a parent field names: `"<id>"` or `{"_id": "<id>"}`.
fn id_of(value: &Value) -> Option<String> {
    value
        .as_str()
        .or_else(|| value.get("_id").and_then(Value::as_str))
        .map(str::to_string)
}

/// The subject a session moves to: the one named by id; or by code (found or created in
/// the destination project); or, when only the project changes, the subject of the same
/// code there, created with the current subject's details when missing.
fn session_destination(
    c: &Connection,
    access: &mut Access<'_>,
    session: &Row,
    project: Option<String>,
    subject: Option<Value>,
) -> Result<Row, ApiError> {
    let by_id = subject.as_ref().and_then(id_of);
    if let Some(id) = by_id {
        // Visible and writable first: a subject the caller cannot see is not found.
        let target = access.get(c, Some(Kind::Subject), &id, Level::Rw)?;
        if project
            .as_deref()
            .is_some_and(|p| Some(p) != target.project_id.as_deref())
        {
            return Err(ApiError::bad_request(format!(
                "subject {id} is not in project {}",
                project.unwrap_or_default()
            )));
        }
        return Ok(target);
    }
    let project_id = project
        .or_else(|| session.project_id.clone())
        .unwrap_or_default();
    let project = access.get(c, Some(Kind::Project), &project_id, Level::Rw)?;
    let subject = match subject {
        Some(subject) => subject,
        None => {
            let current = session
                .parent_id
                .as_deref()
                .map(|id| container(c, id))
                .transpose()?
                .flatten()
                .ok_or_else(|| {
                    ApiError::internal(format!("session {} has no subject", session.id))
                })?;
            portable_subject(&current.doc)
        }
    };
    let when = crate::ids::now();
    let id = super::create::session_subject(c, &project, Some(subject), &when)?;
    container(c, &id)?.ok_or_else(|| ApiError::internal("a subject vanished while moving"))
}

/// The fields of a subject that a copy in another project keeps: those a subject's create
/// body takes (`SubjectInput`, generated from the schema, so the two cannot drift), but its
/// project (the new one) and its tags.
fn portable_subject(doc: &Value) -> Value {
    let kept: Map<String, Value> = fw_model::SubjectInput::FIELDS
        .iter()
        .filter(|key| !matches!(**key, "project" | "tags"))
        .filter_map(|key| {
            doc.get(*key)
                .filter(|v| !v.is_null())
                .map(|v| (key.to_string(), v.clone()))
        })
        .collect();
    Value::Object(kept)
}

/// A project holds one subject per code: a subject moving in must not meet its twin.
fn refuse_duplicate_code(c: &Connection, subject: &Row, project: &Row) -> Result<(), ApiError> {
    let Some(code) = subject.doc.get("label").and_then(Value::as_str) else {
        return Ok(());
    };
    let twin: Option<String> = one_value(
        c,
        "SELECT id FROM containers WHERE parent_id = ?1 AND kind = 'subject' AND label = ?2",
        params![project.id, code],
    )?;
    match twin {
        Some(id) => Err(ApiError::conflict(format!(
            "project {} already has a subject {code:?} ({id})",
            project.id
        ))),
        None => Ok(()),
    }
}

/// Moves `row` below `parent`, with everything below it.
pub(crate) fn apply(c: &Connection, row: &mut Row, parent: &Row) -> Result<(), ApiError> {
    let mut above = match parent.doc.get("parents") {
        Some(Value::Object(parents)) => parents.clone(),
        _ => Map::new(),
    };
    above.insert(parent.kind.name().into(), json!(parent.id));
    let group = if parent.kind == Kind::Group {
        parent.id.clone()
    } else {
        parent.group_id.clone()
    };
    let project = if row.kind == Kind::Project {
        Some(row.id.clone())
    } else {
        parent.project_id.clone()
    };

    // The root: its parent link and the parent field its kind carries.
    row.parent_id = Some(parent.id.clone());
    if let Some(doc) = row.doc.as_object_mut() {
        // Projects, subjects and acquisitions name their parent in a field of its kind.
        if matches!(row.kind, Kind::Project | Kind::Subject | Kind::Acquisition) {
            doc.insert(parent.kind.name().into(), json!(parent.id));
        }
        if row.kind == Kind::Session {
            doc.insert("subject".into(), json!({"_id": parent.id}));
        }
    }

    let below = crate::store::descendants(c, &row.id)?;
    relocate(c, row, &above, &group, project.as_deref())?;
    for id in below {
        if let Some(mut descendant) = container(c, &id)? {
            relocate(c, &mut descendant, &above, &group, project.as_deref())?;
        }
    }
    Ok(())
}

/// Rewrites one container of a moved tree: its group and project, the ancestors above the
/// moved root in its `parents`, and the `parents` of its files and earlier file versions.
fn relocate(
    c: &Connection,
    row: &mut Row,
    above: &Map<String, Value>,
    group: &str,
    project: Option<&str>,
) -> Result<(), ApiError> {
    row.group_id = group.to_string();
    row.project_id = project.map(str::to_string);
    let Some(doc) = row.doc.as_object_mut() else {
        return Err(ApiError::internal(format!(
            "{} {} is stored damaged",
            row.kind, row.id
        )));
    };
    let mut parents = match doc.get("parents") {
        Some(Value::Object(parents)) => parents.clone(),
        _ => Map::new(),
    };
    for (level, id) in above {
        parents.insert(level.clone(), id.clone());
    }
    if doc.get("group").is_some_and(Value::is_string) {
        doc.insert("group".into(), json!(group));
    }
    if row.kind != Kind::Project
        && doc.get("project").is_some_and(Value::is_string)
        && let Some(project) = project
    {
        doc.insert("project".into(), json!(project));
    }
    let mut file_parents = parents.clone();
    file_parents.insert(row.kind.name().into(), json!(row.id));
    if let Some(Value::Array(files)) = doc.get_mut("files") {
        for file in files.iter_mut() {
            file["parents"] = Value::Object(file_parents.clone());
        }
    }
    doc.insert("parents".into(), Value::Object(parents));
    put_container(c, row)?;

    let versions: Vec<(String, i64, String)> = {
        let mut statement = c
            .prepare_cached(
                "SELECT file_id, version, doc FROM file_versions WHERE container_id = ?1",
            )
            .map_err(db)?;
        statement
            .query_map([&row.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?
    };
    for (file_id, version, doc) in versions {
        let what = format!("version {version} of file {file_id}");
        let mut doc = decode_stored_object(&doc, &what)?;
        doc["parents"] = Value::Object(file_parents.clone());
        c.execute(
            "UPDATE file_versions SET doc = ?1 WHERE file_id = ?2 AND version = ?3",
            params![encode_stored(&doc, &what)?, file_id, version],
        )
        .map_err(db)?;
    }
    Ok(())
}
