//! Updates (a new parent moves the container) and deletes.

use rusqlite::Connection;
use serde_json::Value;

use crate::access::Target;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{delete_tree, touch_and_save};

use super::body::{check_label, sync_code_and_label, update_body};

/// Applies an update body, merging objects into what is stored (wire-protocol.md §15.1);
/// a new parent moves the container with everything below it.
pub(crate) fn update(c: &Connection, target: &Target, body: Value) -> Result<(), ApiError> {
    let (caller, kind, id) = (&target.caller, target.kind, target.id.as_str());
    let mut row = target.get(c, Level::Rw)?;
    let mut fields = update_body(kind, body)?;
    check_label(&fields, "label")?;
    if let Some(parent) = super::moves::destination(c, caller, &row, kind, &mut fields)? {
        super::moves::apply(c, &mut row, &parent)?;
    }
    if kind == Kind::Subject && (fields.contains_key("label") || fields.contains_key("code")) {
        sync_code_and_label(&mut fields)?;
    }
    let Some(doc) = row.doc.as_object_mut() else {
        return Err(ApiError::internal(format!(
            "{} {id} is stored damaged",
            kind.name()
        )));
    };
    // Objects merge, everything else replaces (wire-protocol.md §15.1); info keys are
    // sanitized at every depth as `PATCH …/info` does (§8.2).
    for (key, value) in fields {
        let value = if key == "info" {
            crate::metadata::sanitize_keys(value)
        } else {
            value
        };
        crate::json::merge_into(doc, key, value);
    }
    touch_and_save(c, &mut row)
}

/// Deletes a container and everything below it; needs admin.
pub(crate) fn delete(c: &Connection, target: &Target) -> Result<usize, ApiError> {
    let row = target.get(c, Level::Admin)?;
    delete_tree(c, &row.id)
}
