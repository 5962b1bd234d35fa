//! What only some kinds have: child finders and creation (written once over
//! [`ParentOf`]), permissions (over [`HasPermissions`]), analyses; and the Python-named
//! methods, thin inherent wrappers on the concrete kinds.

use fw_model::{
    AccessPermission, AccessPermissionUpdate, AcquisitionKind, AnalysisKind, ContainerKind,
    GroupKind, HasFiles, ModifiedResult, ParentOf, ProjectKind, RolePermission,
    RolePermissionUpdate, SessionKind, SubjectKind, WireModel,
};
use fw_transport::Request;
use serde_json::{Map, Value, json};

use crate::body::Metadata;
use crate::finder::Finder;
use crate::{Container, Error};

/// A group (Python: `flywheel.Group`): `projects()`, `add_project`, permissions, tags.
pub type Group = Container<GroupKind>;
/// A project (Python: `flywheel.Project`): `subjects()`, `sessions()`, `add_subject`,
/// `add_session`, permissions, info, notes, tags, analyses.
pub type Project = Container<ProjectKind>;
/// A subject (Python: `flywheel.Subject`): `sessions()`, `add_session`, info, notes, tags.
pub type Subject = Container<SubjectKind>;
/// A session (Python: `flywheel.Session`): `acquisitions()`, `add_acquisition`, info,
/// notes, tags, timestamps and ages (through [`fw_model::TimestampHelpers`] and
/// [`fw_model::AgeHelpers`]).
pub type Session = Container<SessionKind>;
/// An acquisition (Python: `flywheel.Acquisition`): info, notes, tags, timestamps.
pub type Acquisition = Container<AcquisitionKind>;
/// An analysis (Python: `flywheel.AnalysisOutput`): info, notes, tags.
pub type Analysis = Container<AnalysisKind>;

/// Kinds with permissions of their own: groups (`{_id, access}`) and projects
/// (`{_id, role_ids}`), docs/wire.md §9.
pub trait HasPermissions: ContainerKind {
    /// A permission as added and returned: [`AccessPermission`] or [`RolePermission`].
    type Permission: WireModel + std::fmt::Debug + Send + 'static;
    /// The body that changes one: [`AccessPermissionUpdate`] or [`RolePermissionUpdate`].
    type PermissionUpdate: WireModel + Send + 'static;
}

impl HasPermissions for GroupKind {
    type Permission = AccessPermission;
    type PermissionUpdate = AccessPermissionUpdate;
}

impl HasPermissions for ProjectKind {
    type Permission = RolePermission;
    type PermissionUpdate = RolePermissionUpdate;
}

impl<K: HasPermissions> Container<K> {
    /// Gives a user access (Python: `group.add_permission({'_id': user, 'access': 'rw'})`,
    /// `project.add_permission({'_id': user, 'role_ids': [role_id]})`;
    /// `POST /{collection}/{id}/permissions`). Returns the permission.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] when the user has one already (change it with
    /// [`update_permission`](Self::update_permission)); [`Error::Api`] (400) for a body
    /// without `access` / `role_ids`; [`Error::PermissionDenied`] for non-admins.
    pub async fn add_permission(
        &self,
        permission: impl Metadata<K::Permission>,
    ) -> Result<K::Permission, Error> {
        let request = Request::post([K::COLLECTION, self.id(), "permissions"])
            .json(&permission.into_fields()?)?;
        self.client().call(request).await
    }

    /// One user's permission (Python: `group.get_permission(user)`;
    /// `GET /{collection}/{id}/permissions/{user}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user has none.
    pub async fn get_permission(&self, user_id: &str) -> Result<K::Permission, Error> {
        let request = Request::get([K::COLLECTION, self.id(), "permissions", user_id]);
        self.client().call(request).await
    }

    /// Changes a user's access (Python: `group.update_permission(user, {'access':
    /// 'admin'})`, `project.update_permission(user, {'role_ids': [...]})`;
    /// `PUT /{collection}/{id}/permissions/{user}`). Returns the permission.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user has none; [`Error::PermissionDenied`].
    pub async fn update_permission(
        &self,
        user_id: &str,
        change: impl Metadata<K::PermissionUpdate>,
    ) -> Result<K::Permission, Error> {
        let request = Request::put([K::COLLECTION, self.id(), "permissions", user_id])
            .json(&change.into_fields()?)?;
        self.client().call(request).await
    }

    /// Removes a user's access (Python: `group.delete_permission(user)`;
    /// `DELETE /{collection}/{id}/permissions/{user}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the user has none; [`Error::PermissionDenied`].
    pub async fn delete_permission(&self, user_id: &str) -> Result<ModifiedResult, Error> {
        let request = Request::delete([K::COLLECTION, self.id(), "permissions", user_id]);
        self.client().call(request).await
    }
}

impl<P: ContainerKind> Container<P> {
    /// The finder over this container's children of kind `C`
    /// (`GET /{collection}/{id}/{children}`); the Python names (`group.projects()`, …)
    /// call it.
    pub fn children<C: ContainerKind>(&self) -> Finder<C>
    where
        P: ParentOf<C>,
    {
        let path = [P::COLLECTION, self.id(), C::COLLECTION].map(str::to_string);
        Finder::new(self.client().clone(), path.to_vec())
    }

    /// `POST /{C}` with the caller's fields plus the parent links, then
    /// `GET /{C}/{new id}`, as the Python SDK's `parent.add_<child>` does.
    async fn create_child<C: ContainerKind>(
        &self,
        mut fields: Map<String, Value>,
        links: Vec<(&'static str, Value)>,
    ) -> Result<Container<C>, Error> {
        fields.extend(links.into_iter().map(|(k, v)| (k.to_string(), v)));
        let request = Request::post([C::COLLECTION]).json(&fields)?;
        let inserted: fw_model::InsertedId = self.client().call(request).await?;
        let id = inserted.id.ok_or_else(|| {
            Error::unexpected(format!("POST /{} answered no `_id`", C::COLLECTION))
        })?;
        Container::fetch(self.client(), &id).await
    }

    /// The child of kind `C` with the label of `fields`, created if there is none.
    ///
    /// Sibling labels need not be unique in Flywheel, so "exists" cannot be left to a 409:
    /// this finds the oldest child with the label (`sort=_id:asc`, `limit=1`), creates one
    /// if there is none, then looks again. If two scripts raced and both created, both now
    /// see the same oldest child; the one whose creation lost deletes its own fresh,
    /// empty container and returns the winner, so racing scripts end with one child and
    /// agree on it.
    async fn find_or_create_child<C: ContainerKind>(
        &self,
        fields: Map<String, Value>,
        links: Vec<(&'static str, Value)>,
    ) -> Result<Container<C>, Error>
    where
        P: ParentOf<C>,
    {
        let label = fields
            .get("label")
            .or_else(|| fields.get("code"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                Error::invalid(format!("finding a {} needs a string `label`", C::NAME))
            })?;
        let filter = label_filter(label);
        let oldest = || self.children::<C>().sort("_id:asc").find_first(&filter);
        if let Some(found) = oldest().await? {
            return Ok(found);
        }
        let created = self.create_child::<C>(fields, links).await?;
        match oldest().await? {
            Some(winner) if winner.id() != created.id() => {
                if let Err(e) = created.delete().await {
                    tracing::warn!(id = created.id(), error = %e, "could not delete the duplicate made by a lost create race");
                }
                Ok(winner)
            }
            _ => Ok(created),
        }
    }
}

/// `label="<label>"`, escaped as fw-filter prints it, so any label (commas, quotes,
/// number-like text) matches exactly.
fn label_filter(label: &str) -> String {
    use fw_filter::finder::{Condition, Test};
    fw_filter::Filter {
        conditions: vec![Condition {
            key: "label".into(),
            test: Test::Eq(fw_filter::Value::String(label.to_string())),
        }],
    }
    .to_string()
}

impl<K: HasFiles> Container<K> {
    /// Adds an analysis without a job to this container (Python:
    /// `container.add_analysis(label=…)`; `POST /{collection}/{id}/analyses?job=true`
    /// (flywheel-sdk 23.0.0's generated `add_<kind>_analysis` adds `job=true` unless told
    /// otherwise), then `GET /analyses/{new id}?inflate_job=true`, its `get_analysis`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) without a `label`, or on an analysis; [`Error::PermissionDenied`]
    /// without write access.
    pub async fn add_analysis(
        &self,
        analysis: impl Metadata<fw_model::AnalysisInput>,
    ) -> Result<crate::Analysis, Error> {
        let request = Request::post([K::COLLECTION, self.id(), "analyses"])
            .query("job", "true")
            .json(&analysis.into_fields()?)?;
        let inserted: fw_model::InsertedId = self.client().call(request).await?;
        let id = inserted
            .id
            .ok_or_else(|| Error::unexpected("POST …/analyses answered no `_id`"))?;
        Container::fetch(self.client(), &id).await
    }
}

impl Container<GroupKind> {
    /// The group's projects (Python: `group.projects`; `GET /groups/{id}/projects`).
    pub fn projects(&self) -> Finder<ProjectKind> {
        self.children()
    }

    /// Creates a project in this group (Python: `group.add_project(label=…)`;
    /// `POST /projects` with `group` added, then `GET /projects/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) naming a refused field; [`Error::PermissionDenied`].
    pub async fn add_project(
        &self,
        project: impl Metadata<fw_model::ProjectInput>,
    ) -> Result<crate::Project, Error> {
        self.create_child(project.into_fields()?, self.links("group"))
            .await
    }

    /// The project with this label, created if missing (no Python equivalent; see
    /// [`find_or_add`](crate#find-or-create) for the race rule). Sends
    /// `GET /groups/{id}/projects?filter=label="…"&sort=_id:asc&limit=1`, and when there
    /// is none, the requests of [`add_project`](Self::add_project) and the same GET again.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without a `label`; as `add_project` otherwise.
    pub async fn find_or_add_project(
        &self,
        project: impl Metadata<fw_model::ProjectInput>,
    ) -> Result<crate::Project, Error> {
        self.find_or_create_child(project.into_fields()?, self.links("group"))
            .await
    }
}

impl<K: ContainerKind> Container<K> {
    /// `[(field, this id)]`: the link a child's create body carries to this parent.
    fn links(&self, field: &'static str) -> Vec<(&'static str, Value)> {
        vec![(field, json!(self.id()))]
    }
}

impl Container<ProjectKind> {
    /// The project's subjects (Python: `project.subjects`; `GET /projects/{id}/subjects`).
    pub fn subjects(&self) -> Finder<SubjectKind> {
        self.children()
    }

    /// The project's sessions (Python: `project.sessions`; `GET /projects/{id}/sessions`).
    pub fn sessions(&self) -> Finder<SessionKind> {
        self.children()
    }

    /// Creates a subject (Python: `project.add_subject(label=…)` or
    /// `project.add_subject({...})`; `POST /subjects` with `project` added, then
    /// `GET /subjects/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) naming a refused field; [`Error::PermissionDenied`].
    pub async fn add_subject(
        &self,
        subject: impl Metadata<fw_model::SubjectInput>,
    ) -> Result<crate::Subject, Error> {
        self.create_child(subject.into_fields()?, self.links("project"))
            .await
    }

    /// The subject with this label (or code), created if missing; as
    /// [`Group::find_or_add_project`](Container::find_or_add_project).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without a `label` or `code`; as `add_subject` otherwise.
    pub async fn find_or_add_subject(
        &self,
        subject: impl Metadata<fw_model::SubjectInput>,
    ) -> Result<crate::Subject, Error> {
        self.find_or_create_child(subject.into_fields()?, self.links("project"))
            .await
    }

    /// Creates a session directly under the project; the body names its subject
    /// (`"subject": {"code": …}` creates or reuses one). Python:
    /// `project.add_session(label=…, subject={…})`; `POST /sessions` with `project`
    /// added, then `GET /sessions/{id}`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) without a subject; [`Error::PermissionDenied`].
    pub async fn add_session(
        &self,
        session: impl Metadata<fw_model::SessionInput>,
    ) -> Result<crate::Session, Error> {
        self.create_child(session.into_fields()?, self.links("project"))
            .await
    }
}

impl Container<SubjectKind> {
    /// The subject's sessions (Python: `subject.sessions`; `GET /subjects/{id}/sessions`).
    pub fn sessions(&self) -> Finder<SessionKind> {
        self.children()
    }

    /// `project: <subject's project>` and `subject: {"_id": <subject id>, …}`, keeping
    /// other keys of a subject object the caller gave, as the Python SDK does.
    fn session_links(&self, fields: &mut Map<String, Value>) -> Vec<(&'static str, Value)> {
        let mut subject = match fields.remove("subject") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        subject.insert("_id".into(), json!(self.id()));
        vec![
            ("project", json!(self.project)),
            ("subject", Value::Object(subject)),
        ]
    }

    /// Creates a session of this subject (Python: `subject.add_session(label=…)`;
    /// `POST /sessions` with `project` and `subject: {"_id": …}` added, then
    /// `GET /sessions/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) naming a refused field; [`Error::PermissionDenied`].
    pub async fn add_session(
        &self,
        session: impl Metadata<fw_model::SessionInput>,
    ) -> Result<crate::Session, Error> {
        let mut fields = session.into_fields()?;
        let links = self.session_links(&mut fields);
        self.create_child(fields, links).await
    }

    /// The session with this label, created if missing; as
    /// [`Group::find_or_add_project`](Container::find_or_add_project).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without a `label`; as `add_session` otherwise.
    pub async fn find_or_add_session(
        &self,
        session: impl Metadata<fw_model::SessionInput>,
    ) -> Result<crate::Session, Error> {
        let mut fields = session.into_fields()?;
        let links = self.session_links(&mut fields);
        self.find_or_create_child(fields, links).await
    }
}

impl Container<SessionKind> {
    /// The session's acquisitions (Python: `session.acquisitions`;
    /// `GET /sessions/{id}/acquisitions`).
    pub fn acquisitions(&self) -> Finder<AcquisitionKind> {
        self.children()
    }

    /// Creates an acquisition (Python: `session.add_acquisition(label=…)`;
    /// `POST /acquisitions` with `session` added, then `GET /acquisitions/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) naming a refused field; [`Error::PermissionDenied`].
    pub async fn add_acquisition(
        &self,
        acquisition: impl Metadata<fw_model::AcquisitionInput>,
    ) -> Result<crate::Acquisition, Error> {
        self.create_child(acquisition.into_fields()?, self.links("session"))
            .await
    }

    /// The acquisition with this label, created if missing; as
    /// [`Group::find_or_add_project`](Container::find_or_add_project).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without a `label`; as `add_acquisition` otherwise.
    pub async fn find_or_add_acquisition(
        &self,
        acquisition: impl Metadata<fw_model::AcquisitionInput>,
    ) -> Result<crate::Acquisition, Error> {
        self.find_or_create_child(acquisition.into_fields()?, self.links("session"))
            .await
    }
}

/// `created` and `modified` in this machine's time zone (Python: `local_created`,
/// `local_modified`, on every container). Nothing is sent.
///
/// ```
/// use fw_sdk::LocalTimes;
/// let project: fw_sdk::model::Project =
///     serde_json::from_str(r#"{"created": "2020-06-01T09:30:00+00:00"}"#)?;
/// let local = project.local_created().unwrap();
/// assert_eq!(local.to_utc().to_rfc3339(), "2020-06-01T09:30:00+00:00");
/// assert_eq!(project.local_modified(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub trait LocalTimes {
    /// The `created` field.
    fn created_at(&self) -> Option<&fw_model::Timestamp>;
    /// The `modified` field.
    fn modified_at(&self) -> Option<&fw_model::Timestamp>;
    /// `created` in the local time zone.
    fn local_created(&self) -> Option<chrono::DateTime<chrono::Local>> {
        self.created_at().map(fw_model::Timestamp::local)
    }
    /// `modified` in the local time zone.
    fn local_modified(&self) -> Option<chrono::DateTime<chrono::Local>> {
        self.modified_at().map(fw_model::Timestamp::local)
    }
}

macro_rules! local_times {
    ($($wire:ty),*) => {$(
        impl LocalTimes for $wire {
            fn created_at(&self) -> Option<&fw_model::Timestamp> {
                self.created.as_ref()
            }
            fn modified_at(&self) -> Option<&fw_model::Timestamp> {
                self.modified.as_ref()
            }
        }
    )*};
}

local_times!(
    fw_model::Group,
    fw_model::Project,
    fw_model::Subject,
    fw_model::Session,
    fw_model::Acquisition,
    fw_model::Analysis
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_filters_match_any_label_exactly() {
        for label in ["plain", "1001", "a,b", "say \"hi\"", "x=~y", "2020-01-01"] {
            let filter = label_filter(label);
            let parsed = fw_filter::parse_filter(&filter).unwrap();
            assert!(parsed.matches(&json!({ "label": label })), "{filter}");
            assert!(
                !parsed.matches(&json!({ "label": format!("{label}x") })),
                "{filter}"
            );
        }
        assert_eq!(label_filter("a,b"), r"label=a\,b");
        assert_eq!(label_filter("1001"), r#"label="1001""#);
    }
}
