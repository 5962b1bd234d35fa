//! Roles (docs/wire.md §9): the three default roles, and custom roles that a site admin
//! makes with `POST /roles` (a label and a list of actions). A project permission may name
//! any of them; a custom role grants the access level its actions imply.

use std::collections::HashMap;

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::object_id;
use crate::json::{decode_stored_object, typed_body};
use crate::store::{db, one_value};

/// An access level, ordered: read-only < read-write < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Read.
    Ro,
    /// Read, change metadata, create children.
    Rw,
    /// Everything, permissions and deletion included.
    Admin,
}

impl Level {
    pub(crate) fn parse(text: &str) -> Option<Level> {
        match text {
            "ro" => Some(Level::Ro),
            "rw" => Some(Level::Rw),
            "admin" => Some(Level::Admin),
            _ => None,
        }
    }
}

/// The three default roles, present from the first start, with fixed ids.
pub(crate) fn default_roles() -> Vec<Value> {
    let view = [
        "containers_view_metadata",
        "files_view_metadata",
        "files_download",
        "analyses_view_metadata",
    ];
    let write = [
        "containers_create_hierarchy",
        "containers_modify_metadata",
        // Uploading, as SDK 17 (flywheel-cli 18.5.1) names it and the CLI's ingest checks
        // for. SDK 17 fails on a role naming `files_create_single`; SDK 23 keeps this one
        // as text, logging that it is not among its names (docs/wire.md §15.9).
        "files_create_upload",
        "files_modify_metadata",
        "tags_manage",
        "notes_manage",
        "analyses_create_sdk",
    ];
    let admin = [
        "containers_delete_hierarchy",
        "files_delete_non_device_data",
        "project_permissions_manage",
    ];
    let role = |id: &str, label: &str, level: &str, actions: Vec<&str>| json!({"_id": id, "label": label, "default_flywheel_role": level, "actions": actions, "in_use": true});
    vec![
        role(
            ADMIN_ROLE,
            "admin",
            "admin",
            view.iter().chain(&write).chain(&admin).copied().collect(),
        ),
        role(
            RW_ROLE,
            "read-write",
            "rw",
            view.iter().chain(&write).copied().collect(),
        ),
        role(RO_ROLE, "read-only", "ro", view.to_vec()),
    ]
}

/// The id of the default admin role.
pub(crate) const ADMIN_ROLE: &str = "000000000000000000000a01";
/// The id of the default read-write role.
pub(crate) const RW_ROLE: &str = "000000000000000000000a02";
/// The id of the default read-only role.
pub(crate) const RO_ROLE: &str = "000000000000000000000a03";

pub(crate) fn role_level(role_id: &str, custom_roles: &HashMap<String, Level>) -> Option<Level> {
    match role_id {
        ADMIN_ROLE => Some(Level::Admin),
        RW_ROLE => Some(Level::Rw),
        RO_ROLE => Some(Level::Ro),
        _ => custom_roles.get(role_id).copied(),
    }
}

/// The most actions one role may list.
const MAX_ACTIONS: usize = 200;

/// The level a set of actions amounts to: managing permissions or deleting is admin,
/// creating or changing anything is read-write, viewing metadata is read-only.
pub(crate) fn level_of<'a>(actions: impl IntoIterator<Item = &'a str>) -> Option<Level> {
    actions
        .into_iter()
        .filter_map(|action| match action {
            "project_permissions_manage" | "containers_delete_hierarchy" => Some(Level::Admin),
            "containers_view_metadata" => Some(Level::Ro),
            other
                if other.contains("_create")
                    || other.contains("_modify")
                    || other.ends_with("_manage") =>
            {
                Some(Level::Rw)
            }
            _ => None,
        })
        .max()
}

fn actions_of(doc: &Value) -> impl Iterator<Item = &str> {
    doc["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The levels of the custom roles, by id.
pub(crate) fn custom_levels(c: &Connection) -> Result<HashMap<String, Level>, ApiError> {
    Ok(custom(c)?
        .into_iter()
        .filter_map(|doc| {
            let level = level_of(actions_of(&doc))?;
            Some((doc["_id"].as_str()?.to_string(), level))
        })
        .collect())
}

fn custom(c: &Connection) -> Result<Vec<Value>, ApiError> {
    crate::store::documents(c, "roles", "role")
}

/// Whether any project permission names the role.
fn in_use(c: &Connection, id: &str) -> Result<bool, ApiError> {
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM containers, json_each(containers.doc, '$.permissions') p,
                json_each(p.value, '$.role_ids') r
         WHERE containers.kind = 'project' AND r.value = ?1)",
        [id],
        |r| r.get(0),
    )
    .map_err(db)
}

fn output(c: &Connection, mut doc: Value) -> Result<Value, ApiError> {
    let id = doc["_id"].as_str().unwrap_or_default().to_string();
    doc["in_use"] = json!(in_use(c, &id)?);
    Ok(doc)
}

/// `GET /roles`: the default roles, then the custom ones.
pub(crate) fn all(c: &Connection) -> Result<Vec<Value>, ApiError> {
    let mut roles = default_roles();
    for doc in custom(c)? {
        roles.push(output(c, doc)?);
    }
    Ok(roles)
}

/// Whether a role with this id exists (default or custom).
pub(crate) fn exists(c: &Connection, id: &str) -> Result<bool, ApiError> {
    if default_roles().iter().any(|r| r["_id"] == id) {
        return Ok(true);
    }
    c.query_row(
        "SELECT EXISTS (SELECT 1 FROM roles WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
    .map_err(db)
}

/// `GET /roles/{id}`.
pub(crate) fn get(c: &Connection, id: &str) -> Result<Value, ApiError> {
    if let Some(role) = default_roles().into_iter().find(|r| r["_id"] == id) {
        return Ok(role);
    }
    let doc: Option<String> = one_value(c, "SELECT doc FROM roles WHERE id = ?1", [id])?;
    let doc = doc.ok_or_else(|| ApiError::not_found(format!("role {id} not found")))?;
    let doc = decode_stored_object(&doc, &format!("role {id}"))?;
    output(c, doc)
}

fn require_site_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.site_admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only site admins manage roles"))
    }
}

/// Checks a role body: a label of 1 to 64 characters, and actions named in lowercase words.
fn checked(body: Value) -> Result<(String, Vec<String>), ApiError> {
    let input: fw_model::RoleInput = typed_body(body, "role")?;
    let label = input.label.trim().to_string();
    if label.is_empty() || label.chars().count() > 64 {
        return Err(ApiError::bad_request("a role label is 1 to 64 characters"));
    }
    let actions = input.actions.unwrap_or_default();
    if actions.len() > MAX_ACTIONS {
        return Err(ApiError::bad_request(format!(
            "a role lists at most {MAX_ACTIONS} actions"
        )));
    }
    if let Some(bad) = actions.iter().find(|a| {
        a.is_empty()
            || !a
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
    }) {
        return Err(ApiError::bad_request(format!(
            "{bad:?} is not an action name (lowercase letters, digits and `_`)"
        )));
    }
    Ok((label, actions))
}

fn refuse_taken_label(c: &Connection, label: &str, except: &str) -> Result<(), ApiError> {
    let taken = default_roles().iter().any(|r| r["label"] == label)
        || c.query_row(
            "SELECT EXISTS (SELECT 1 FROM roles WHERE label = ?1 AND id != ?2)",
            params![label, except],
            |r| r.get::<_, bool>(0),
        )
        .map_err(db)?;
    if taken {
        return Err(ApiError::conflict(format!(
            "a role labelled {label:?} exists already"
        )));
    }
    Ok(())
}

/// `POST /roles` (site admins): a new custom role.
pub(crate) fn create(c: &Connection, caller: &Caller, body: Value) -> Result<Value, ApiError> {
    require_site_admin(caller)?;
    let (label, actions) = checked(body)?;
    refuse_taken_label(c, &label, "")?;
    let doc = json!({"_id": object_id(), "label": label, "actions": actions,
        "default_flywheel_role": null});
    c.execute(
        "INSERT INTO roles (id, label, doc) VALUES (?1, ?2, ?3)",
        params![doc["_id"].as_str(), label, doc.to_string()],
    )
    .map_err(db)?;
    output(c, doc)
}

fn refuse_default(id: &str) -> Result<(), ApiError> {
    if default_roles().iter().any(|r| r["_id"] == id) {
        return Err(ApiError::bad_request("the default roles cannot be changed"));
    }
    Ok(())
}

/// `PUT /roles/{id}` (site admins): a new label or actions (`RoleUpdate`) for a custom role.
pub(crate) fn modify(
    c: &Connection,
    caller: &Caller,
    id: &str,
    body: Value,
) -> Result<Value, ApiError> {
    require_site_admin(caller)?;
    refuse_default(id)?;
    let current = get(c, id)?;
    let mut merged = json!({"label": current["label"], "actions": current["actions"]});
    match body {
        Value::Object(update) => {
            for (key, value) in update {
                merged[key] = value;
            }
        }
        Value::Null => {}
        other => {
            return Err(ApiError::bad_request(format!(
                "a role update is a JSON object, not {other}"
            )));
        }
    }
    let (label, actions) = checked(merged)?;
    refuse_taken_label(c, &label, id)?;
    let doc = json!({"_id": id, "label": label, "actions": actions,
        "default_flywheel_role": null});
    c.execute(
        "UPDATE roles SET label = ?1, doc = ?2 WHERE id = ?3",
        params![label, doc.to_string(), id],
    )
    .map_err(db)?;
    output(c, doc)
}

/// `DELETE /roles/{id}` (site admins): a custom role no permission uses.
pub(crate) fn delete(c: &Connection, caller: &Caller, id: &str) -> Result<(), ApiError> {
    require_site_admin(caller)?;
    refuse_default(id)?;
    get(c, id)?;
    if in_use(c, id)? {
        return Err(ApiError::conflict(format!(
            "role {id} is in use by a project permission"
        )));
    }
    c.execute("DELETE FROM roles WHERE id = ?1", [id])
        .map_err(db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_imply_a_level() {
        assert_eq!(
            level_of(["containers_view_metadata", "files_download"]),
            Some(Level::Ro)
        );
        assert_eq!(
            level_of(["containers_view_metadata", "files_create_single"]),
            Some(Level::Rw)
        );
        assert_eq!(level_of(["tags_manage"]), Some(Level::Rw));
        assert_eq!(
            level_of(["files_download", "project_permissions_manage"]),
            Some(Level::Admin)
        );
        assert_eq!(level_of(["files_download"]), None);
        assert_eq!(level_of([]), None);
        for role in default_roles() {
            let expected = match role["default_flywheel_role"].as_str() {
                Some("admin") => Level::Admin,
                Some("rw") => Level::Rw,
                _ => Level::Ro,
            };
            assert_eq!(level_of(actions_of(&role)), Some(expected), "{role}");
        }
    }
}
