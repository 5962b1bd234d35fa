//! Permissions of groups (`access`) and projects (`role_ids`), and a group's roles.

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::access::Target;
use crate::error::ApiError;
use crate::json::stored_list;
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{add_to_list_and_save, remove_by_id, touch_and_save};

/// Adds or replaces a user's permission on a group (`{_id, access}`) or a project
/// (`{_id, role_ids}`); needs admin. With `user_id` set (a PUT), the body may omit `_id`.
pub(crate) fn set_permission(
    c: &Connection,
    target: &Target,
    user_id: Option<&str>,
    body: Value,
) -> Result<Value, ApiError> {
    let (kind, id) = (target.kind, target.id.as_str());
    let mut row = target.get(c, Level::Admin)?;
    let mut permission = match body {
        Value::Object(map) => map,
        _ => return Err(ApiError::bad_request("a permission is a JSON object")),
    };
    if let Some(user_id) = user_id {
        // The URL names the user; a body naming another would change the wrong user's
        // permission (docs/wire.md §15.6).
        match permission.get("_id") {
            Some(body_id) if body_id != user_id => {
                return Err(ApiError::bad_request(format!(
                    "_id: the body names {body_id} but the URL names {user_id:?}; \
                     a PUT changes the permission of the user in the URL"
                )));
            }
            _ => {
                permission.insert("_id".into(), json!(user_id));
            }
        }
    }
    let user = permission
        .get("_id")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("a permission needs the user's `_id`"))?
        .to_string();
    if crate::auth::user(c, &user)?.is_none() {
        return Err(ApiError::not_found(format!("user {user} not found")));
    }
    let checked = match kind {
        Kind::Group => {
            // Unknown keys (`role_ids` on a group) are a 400, never dropped (§15.6).
            let access: fw_model::AccessPermission =
                crate::json::typed_body(Value::Object(permission), "group permission")?;
            match access.access.as_ref().map(fw_model::Access::as_str) {
                Some("ro" | "rw" | "admin") => json!({"_id": user, "access": access.access}),
                _ => {
                    return Err(ApiError::bad_request(
                        "a group permission needs `access`: ro, rw or admin",
                    ));
                }
            }
        }
        Kind::Project => {
            // `{"access": "admin"}` with no `role_ids` once answered 200 and stripped the
            // user's roles: unknown keys and a missing `role_ids` are 400s (§15.6).
            let roles: fw_model::RolePermission =
                crate::json::typed_body(Value::Object(permission), "project permission")?;
            let mut role_ids = roles.role_ids.ok_or_else(|| {
                ApiError::bad_request(
                    "a project permission needs `role_ids`, the list of the user's role ids",
                )
            })?;
            // A member with no role could do nothing yet would be listed; removing a
            // member is a DELETE (docs/wire.md §15.6).
            if role_ids.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "role_ids: a project permission needs at least one role; \
                     DELETE /projects/{id}/permissions/{user} removes a member"
                )));
            }
            for role_id in &role_ids {
                if !crate::roles::exists(c, role_id.as_str())? {
                    return Err(ApiError::bad_request(format!("unknown role {role_id}")));
                }
            }
            // A role given twice is held once.
            let mut seen = std::collections::HashSet::new();
            role_ids.retain(|r| seen.insert(r.as_str().to_string()));
            json!({"_id": user, "role_ids": role_ids})
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "{}s have no permissions of their own",
                kind.name()
            )));
        }
    };
    let permissions = stored_list(&row.doc, "permissions", &row.what())?;
    let exists = permissions.iter().any(|p| p["_id"] == user.as_str());
    if user_id.is_none() && exists {
        return Err(ApiError::conflict(format!(
            "{user} has a permission already; PUT to change it"
        )));
    }
    if user_id.is_some() && !exists {
        return Err(ApiError::not_found(format!(
            "{user} has no permission on {} {id}",
            kind.name()
        )));
    }
    remove_by_id(&mut row, "permissions", &user)?;
    add_to_list_and_save(c, &mut row, "permissions", checked.clone())?;
    Ok(checked)
}

/// Removes a user's permission from a group or project; needs admin.
pub(crate) fn delete_permission(
    c: &Connection,
    target: &Target,
    user_id: &str,
) -> Result<(), ApiError> {
    let (kind, id) = (target.kind, target.id.as_str());
    let mut row = target.get(c, Level::Admin)?;
    if !remove_by_id(&mut row, "permissions", user_id)? {
        return Err(ApiError::not_found(format!(
            "{user_id} has no permission on {} {id}",
            kind.name()
        )));
    }
    touch_and_save(c, &mut row)
}

/// Makes a role available in a group (`POST /groups/{id}/roles` with a `GroupRole` body);
/// needs admin on it. Returns the role.
pub(crate) fn add_group_role(
    c: &Connection,
    target: &Target,
    body: Value,
) -> Result<Value, ApiError> {
    let kind = target.kind;
    if kind != Kind::Group {
        return Err(ApiError::not_found(format!(
            "no such endpoint: /{}/{{id}}/roles",
            kind.collection()
        )));
    }
    let role: fw_model::GroupRole = crate::json::typed_body(body, "group role")?;
    let role = crate::roles::get(c, role.id.as_str())?;
    let role_id = role["_id"].clone();
    let mut row = target.get(c, Level::Admin)?;
    add_to_list_and_save(c, &mut row, "roles", role_id)?;
    Ok(role)
}

/// `GET /{coll}/{id}/permissions/{user}`: a user's permission on a container the caller
/// may read.
pub(crate) fn get_permission(
    c: &Connection,
    target: &Target,
    user_id: &str,
) -> Result<Value, ApiError> {
    let kind = target.kind;
    let row = target.get(c, Level::Ro)?;
    stored_list(&row.doc, "permissions", &row.what())?
        .into_iter()
        .find(|p| p["_id"] == user_id)
        .ok_or_else(|| {
            ApiError::not_found(format!("{user_id} has no permission on {kind} {}", row.id))
        })
}
