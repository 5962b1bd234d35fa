//! Updates (a new parent moves the container) and deletes.

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::access::{Access, Target};
use crate::error::ApiError;
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, delete_tree, touch_and_save};

use super::body::{check_label, sync_code_and_label, update_body};

/// Applies an update body, merging objects into what is stored (docs/wire.md §15.1);
/// a new parent moves the container with everything below it. A session's `subject`
/// names the subject (`_id`, `code`, `label`, moving the session when it changes); its
/// other fields are applied, not dropped (§15.6): `age` is the session's age, the rest
/// (`master_code`, `sex`, …) update the session's subject as a subject update would.
pub(crate) fn update(c: &Connection, target: &Target, body: Value) -> Result<(), ApiError> {
    let (caller, kind) = (&target.caller, target.kind);
    let mut row = target.get(c, Level::Rw)?;
    let mut fields = update_body(kind, body)?;
    check_label(&fields, "label")?;
    let subject_fields = match kind {
        Kind::Session => subject_fields(&mut fields)?,
        _ => Map::new(),
    };
    if let Some(parent) = super::moves::destination(c, caller, &row, kind, &mut fields)? {
        super::moves::apply(c, &mut row, &parent)?;
    }
    if kind == Kind::Subject && (fields.contains_key("label") || fields.contains_key("code")) {
        sync_code_and_label(&mut fields)?;
    }
    apply_fields(&mut row, fields)?;
    touch_and_save(c, &mut row)?;
    if !subject_fields.is_empty() {
        let subject_id = row.parent_id.clone().unwrap_or_default();
        let mut subject =
            Access::new(caller).get(c, Some(Kind::Subject), &subject_id, Level::Rw)?;
        let fields = update_body(Kind::Subject, Value::Object(subject_fields))
            .map_err(|e| ApiError::bad_request(format!("subject: {}", e.message)))?;
        apply_fields(&mut subject, fields)?;
        touch_and_save(c, &mut subject)?;
    }
    Ok(())
}

/// Takes out of a session update's `subject` object what is not the subject's identity
/// (`_id`, `code`, `label`, `project`): `age` moves to the session (a different `age` in
/// both places is a 400), the rest is returned for the subject.
fn subject_fields(fields: &mut Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let Some(Value::Object(subject)) = fields.get_mut("subject") else {
        return Ok(Map::new());
    };
    let others: Vec<String> = subject
        .keys()
        .filter(|k| !matches!(k.as_str(), "_id" | "code" | "label" | "project"))
        .cloned()
        .collect();
    let mut taken = Map::new();
    for key in others {
        if let Some(value) = subject.remove(&key) {
            taken.insert(key, value);
        }
    }
    if subject.is_empty() {
        fields.remove("subject");
    }
    if let Some(age) = taken.remove("age") {
        match fields.get("age") {
            Some(session_age) if *session_age != age => {
                return Err(ApiError::bad_request(
                    "subject.age and age differ: a session has one age",
                ));
            }
            _ => {
                fields.insert("age".into(), age);
            }
        }
    }
    Ok(taken)
}

/// Merges update fields into a stored container: objects merge, everything else replaces
/// (docs/wire.md §15.1); info keys are sanitized at every depth as `PATCH …/info`
/// does (§8.2).
fn apply_fields(row: &mut Row, fields: Map<String, Value>) -> Result<(), ApiError> {
    let what = row.what();
    let Some(doc) = row.doc.as_object_mut() else {
        return Err(ApiError::internal(format!("{what} is stored damaged")));
    };
    for (key, value) in fields {
        let value = crate::metadata::field_to_store(&key, value)?;
        crate::json::merge_into(doc, key, value);
    }
    Ok(())
}

/// Deletes a container and everything below it; needs admin.
pub(crate) fn delete(c: &Connection, target: &Target) -> Result<usize, ApiError> {
    let row = target.get(c, Level::Admin)?;
    delete_tree(c, &row.id)
}
