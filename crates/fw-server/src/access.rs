//! Who may do what: group `access` levels and project `role_ids` (wire-protocol.md §9).

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::store::{Row, container};

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
    fn parse(text: &str) -> Option<Level> {
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
        "files_create_single",
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

fn role_level(role_id: &str, custom_roles: &HashMap<String, Level>) -> Option<Level> {
    match role_id {
        ADMIN_ROLE => Some(Level::Admin),
        RW_ROLE => Some(Level::Rw),
        RO_ROLE => Some(Level::Ro),
        _ => custom_roles.get(role_id).copied(),
    }
}

/// The level a `permissions` array gives a user: `access` entries (groups) or `role_ids`
/// entries (projects, where custom roles count with the level of their actions).
pub(crate) fn level_in(
    permissions: &Value,
    user_id: &str,
    custom_roles: &HashMap<String, Level>,
) -> Option<Level> {
    permissions
        .as_array()?
        .iter()
        .filter(|p| p["_id"] == user_id)
        .filter_map(|p| match p.get("access").and_then(Value::as_str) {
            Some(access) => Level::parse(access),
            None => p["role_ids"]
                .as_array()?
                .iter()
                .filter_map(|r| r.as_str().and_then(|id| role_level(id, custom_roles)))
                .max(),
        })
        .max()
}

/// Resolves access to containers, caching the projects and custom roles it reads.
pub(crate) struct Access<'a> {
    caller: &'a Caller,
    projects: HashMap<String, Option<Value>>,
    /// The custom roles' levels, read at the first project permission.
    custom_roles: Option<HashMap<String, Level>>,
}

impl<'a> Access<'a> {
    /// Access for one caller.
    pub(crate) fn new(caller: &'a Caller) -> Access<'a> {
        Access {
            caller,
            projects: HashMap::new(),
            custom_roles: None,
        }
    }

    /// The caller's level on a container: site admins have admin everywhere; a group is
    /// governed by its own permissions, anything from a project down by the project's.
    pub(crate) fn level(&mut self, c: &Connection, row: &Row) -> Result<Option<Level>, ApiError> {
        if self.caller.site_admin {
            return Ok(Some(Level::Admin));
        }
        if row.kind == Kind::Group {
            return Ok(level_in(
                &row.doc["permissions"],
                &self.caller.user_id,
                &HashMap::new(),
            ));
        }
        let Some(project_id) = &row.project_id else {
            return Ok(None);
        };
        let project = match self.projects.get(project_id) {
            Some(project) => project.clone(),
            None => {
                let project = container(c, project_id)?.map(|r| r.doc);
                self.projects.insert(project_id.clone(), project.clone());
                project
            }
        };
        let custom_roles = match self.custom_roles.take() {
            Some(roles) => roles,
            None => crate::roles::custom_levels(c)?,
        };
        let level =
            project.and_then(|p| level_in(&p["permissions"], &self.caller.user_id, &custom_roles));
        self.custom_roles = Some(custom_roles);
        Ok(level)
    }

    /// Whether a listing shows the container: with a permission, or to a site admin
    /// asking `exhaustive=true`.
    pub(crate) fn listed(&mut self, c: &Connection, row: &Row) -> Result<bool, ApiError> {
        if self.caller.sees_all() {
            return Ok(true);
        }
        let caller = Caller {
            site_admin: false,
            ..self.caller.clone()
        };
        let mut plain = Access {
            caller: &caller,
            projects: std::mem::take(&mut self.projects),
            custom_roles: self.custom_roles.take(),
        };
        let level = plain.level(c, row);
        self.projects = plain.projects;
        self.custom_roles = plain.custom_roles;
        Ok(level?.is_some())
    }

    /// Fails unless the caller has at least `needed` on the container: 404 when the caller
    /// cannot even see it (its existence is not revealed), 403 otherwise.
    pub(crate) fn require(
        &mut self,
        c: &Connection,
        row: &Row,
        needed: Level,
    ) -> Result<(), ApiError> {
        match self.level(c, row)? {
            Some(level) if level >= needed => Ok(()),
            Some(_) => Err(ApiError::forbidden(format!(
                "{} {} needs {} access",
                row.kind,
                row.id,
                match needed {
                    Level::Ro => "read",
                    Level::Rw => "read-write",
                    Level::Admin => "admin",
                }
            ))),
            None => Err(ApiError::not_found(format!(
                "{} {} not found",
                row.kind, row.id
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_access_and_roles() {
        let group = json!([{"_id": "a", "access": "rw"}, {"_id": "b", "access": "superuser"}]);
        let none = HashMap::new();
        assert_eq!(level_in(&group, "a", &none), Some(Level::Rw));
        assert_eq!(level_in(&group, "b", &none), None);
        let project =
            json!([{"_id": "a", "role_ids": [RO_ROLE, ADMIN_ROLE]}, {"_id": "c", "role_ids": []}]);
        assert_eq!(level_in(&project, "a", &none), Some(Level::Admin));
        assert_eq!(level_in(&project, "c", &none), None);
        assert_eq!(level_in(&project, "z", &none), None);
        let custom = json!([{"_id": "d", "role_ids": ["5f0000000000000000000001"]}]);
        let levels = HashMap::from([("5f0000000000000000000001".to_string(), Level::Rw)]);
        assert_eq!(level_in(&custom, "d", &none), None);
        assert_eq!(level_in(&custom, "d", &levels), Some(Level::Rw));
        assert!(Level::Ro < Level::Rw && Level::Rw < Level::Admin);
    }
}
