//! Who may do what: group `access` levels and project `role_ids` (docs/wire.md §9).

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::roles::{Level, role_level};
use crate::store::{Row, Scan, container, scan};

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

/// A container a request names, and who names it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Who asks.
    pub(crate) caller: Caller,
    /// The kind the request names (`/projects/…`).
    pub(crate) kind: Kind,
    /// The container's id.
    pub(crate) id: String,
}

impl Target {
    /// The container, if the caller has at least `needed` on it (see [`Access::get`]).
    pub(crate) fn get(&self, c: &Connection, needed: Level) -> Result<Row, ApiError> {
        Access::new(&self.caller).get(c, Some(self.kind), &self.id, needed)
    }
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
    /// A group without a permission for the caller is still read-only to them when they
    /// can see one of its projects, as Flywheel lists the groups in which one has a
    /// project; so lookup, resolve, `GET /groups` and `GET /groups/{id}` reach it alike.
    pub(crate) fn level(&mut self, c: &Connection, row: &Row) -> Result<Option<Level>, ApiError> {
        if self.caller.site_admin {
            return Ok(Some(Level::Admin));
        }
        if row.kind == Kind::Group {
            let own = level_in(
                &row.doc["permissions"],
                &self.caller.user_id,
                &HashMap::new(),
            );
            if own.is_some() {
                return Ok(own);
            }
            return Ok(self.sees_a_project_of(c, &row.id)?.then_some(Level::Ro));
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

    /// Whether the caller has a level on any project of `group`.
    fn sees_a_project_of(&mut self, c: &Connection, group: &str) -> Result<bool, ApiError> {
        let mut projects = Vec::new();
        let in_group = Scan {
            group_id: Some(group.to_string()),
            ..Scan::of(Kind::Project)
        };
        scan(c, &in_group, &mut |project| {
            projects.push(project);
            Ok(true)
        })?;
        for project in projects {
            if self.level(c, &project)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
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

    /// The container `id` of `kind` (of any kind when `None`), if the caller has at least
    /// `needed` on it: 404 when it is missing, of another kind or invisible to the caller,
    /// 403 when the caller sees it without `needed`.
    pub(crate) fn get(
        &mut self,
        c: &Connection,
        kind: Option<Kind>,
        id: &str,
        needed: Level,
    ) -> Result<Row, ApiError> {
        let found = container(c, id)?;
        self.check(c, kind, id, found, needed)
    }

    /// [`Access::get`] of a row already read (`found`, `None` when there is none).
    pub(crate) fn check(
        &mut self,
        c: &Connection,
        kind: Option<Kind>,
        id: &str,
        found: Option<Row>,
        needed: Level,
    ) -> Result<Row, ApiError> {
        let what = kind.map_or("container", Kind::name);
        let row = found
            .filter(|r| kind.is_none_or(|k| r.kind == k))
            .ok_or_else(|| ApiError::not_found(format!("{what} {id} not found")))?;
        self.require(c, &row, needed)?;
        Ok(row)
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
    use crate::roles::{ADMIN_ROLE, RO_ROLE};
    use serde_json::json;

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
