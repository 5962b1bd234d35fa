//! The container hierarchy: create, render, list (finders), update, delete.
//!
//! Finders run in two steps: an indexed SQL scan selects a superset of the matches (by
//! kind, and by parent, project, group, label or id when the filter pins one with `=`),
//! then fw-filter evaluates the whole filter on each rendered document. The SQL conditions
//! are implied by the filter, so the result is exactly fw-filter's.

use std::cmp::Ordering;

use fw_filter::finder::Test;
use fw_filter::{Filter, Order, Sort, Value as FilterValue};
use fw_model::{
    AcquisitionKind, AnalysisKind, ContainerKind, GroupKind, ProjectKind, SessionKind, SubjectKind,
    WireModel,
};
use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::access::{ADMIN_ROLE, Access, Level};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::{Row, Scan, container, delete_tree, put_container, scan};
use crate::util::{now, object_id};

/// The longest label accepted.
pub(crate) const MAX_LABEL: usize = 256;

/// A kind of container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `groups`.
    Group,
    /// `projects`.
    Project,
    /// `subjects`.
    Subject,
    /// `sessions`.
    Session,
    /// `acquisitions`.
    Acquisition,
    /// `analyses`.
    Analysis,
}

impl Kind {
    /// Every kind, in hierarchy order.
    const ALL: [Kind; 6] = [
        Kind::Group,
        Kind::Project,
        Kind::Subject,
        Kind::Session,
        Kind::Acquisition,
        Kind::Analysis,
    ];

    /// Calls `f` with this kind's fw-model marker: the one place that maps a runtime kind
    /// to its [`ContainerKind`], so collection names, singular names and body types come
    /// from fw-model and are never spelled twice.
    fn with<F: PerKind>(self, f: F) -> F::Out {
        match self {
            Kind::Group => f.run::<GroupKind>(),
            Kind::Project => f.run::<ProjectKind>(),
            Kind::Subject => f.run::<SubjectKind>(),
            Kind::Session => f.run::<SessionKind>(),
            Kind::Acquisition => f.run::<AcquisitionKind>(),
            Kind::Analysis => f.run::<AnalysisKind>(),
        }
    }

    /// The kind named by a collection in a path: `projects` → project.
    pub(crate) fn from_collection(collection: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.names().0 == collection)
    }

    /// The singular name: `project`.
    pub(crate) fn name(self) -> &'static str {
        self.names().1
    }

    /// The collection and the singular name (`projects`, `project`).
    fn names(self) -> (&'static str, &'static str) {
        struct Names;
        impl PerKind for Names {
            type Out = (&'static str, &'static str);
            fn run<K: ContainerKind>(self) -> Self::Out {
                (K::COLLECTION, K::NAME)
            }
        }
        self.with(Names)
    }

    /// The kind of the direct parent in the hierarchy (analyses hang anywhere).
    pub(crate) fn parent(self) -> Option<Kind> {
        match self {
            Kind::Group | Kind::Analysis => None,
            Kind::Project => Some(Kind::Group),
            Kind::Subject => Some(Kind::Project),
            Kind::Session => Some(Kind::Subject),
            Kind::Acquisition => Some(Kind::Session),
        }
    }
}

/// Finder parameters (wire-protocol.md §4).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListParams {
    /// `filter`.
    pub(crate) filter: Option<String>,
    /// `sort`.
    pub(crate) sort: Option<String>,
    /// `limit`; absent or 0 means no limit.
    pub(crate) limit: Option<usize>,
    /// `skip`.
    pub(crate) skip: Option<usize>,
    /// `page`, from 1.
    pub(crate) page: Option<usize>,
    /// `after_id`: only items after this id, in id order.
    pub(crate) after_id: Option<String>,
}

/// A page of a listing and the number of all matches (known exactly when `count_all`).
pub(crate) struct Listing {
    /// The items of the page.
    pub(crate) items: Vec<Value>,
    /// How many items match in all.
    pub(crate) total: usize,
}

/// Something computed from a kind's fw-model marker (see [`Kind::with`]).
trait PerKind {
    type Out;
    fn run<K: ContainerKind>(self) -> Self::Out;
}

/// Decodes a create body (`K::Create`) or an update body (`K::Update`) with its fw-model
/// type: wrong types and unknown fields are a 400. Yields the fields given, re-encoded
/// (absent and null fields dropped).
struct CheckedBody {
    body: Value,
    update: bool,
}

impl PerKind for CheckedBody {
    type Out = Result<Map<String, Value>, ApiError>;
    fn run<K: ContainerKind>(self) -> Self::Out {
        if self.update {
            decode::<K::Update>(K::NAME, self.body, "update")
        } else {
            decode::<K::Create>(K::NAME, self.body, "create body")
        }
    }
}

fn decode<T: WireModel>(
    name: &str,
    body: Value,
    what: &str,
) -> Result<Map<String, Value>, ApiError> {
    let typed: T = crate::util::typed_body(body, &format!("{name} {what}"))?;
    match serde_json::to_value(&typed) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::internal(format!("cannot re-encode a {what}"))),
    }
}

/// Decodes and checks a create body with its fw-model input type.
fn create_body(kind: Kind, body: Value) -> Result<Map<String, Value>, ApiError> {
    kind.with(CheckedBody {
        body,
        update: false,
    })
}

/// Decodes and checks an update body with its fw-model update type.
fn update_body(kind: Kind, body: Value) -> Result<Map<String, Value>, ApiError> {
    kind.with(CheckedBody { body, update: true })
}

fn check_label(fields: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    if let Some(label) = fields.get(key).and_then(Value::as_str) {
        if label.chars().count() > MAX_LABEL {
            return Err(ApiError::bad_request(format!(
                "{key} is longer than {MAX_LABEL} characters"
            )));
        }
        if label.trim().is_empty() {
            return Err(ApiError::bad_request(format!("{key} must not be empty")));
        }
    }
    Ok(())
}

/// A group id as Flywheel allows them: lowercase letters, digits, `_`, `-` and `.`, 2 to
/// 64 characters, starting with a letter or digit.
fn check_group_id(id: &str) -> Result<(), ApiError> {
    let ok = (2..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{id:?} is not a valid group id: use 2 to 64 lowercase letters, digits, '_', '-' or '.'"
        )))
    }
}

/// The parent named by `field` of a create body: it must exist, be of `kind`, be visible
/// (else 404) and allow read-write (else 403).
fn parent_row(
    c: &Connection,
    access: &mut Access<'_>,
    fields: &Map<String, Value>,
    field: &str,
    kind: Kind,
) -> Result<Row, ApiError> {
    let id = fields.get(field).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request(format!(
            "the body needs `{field}`, the parent {}",
            kind.name()
        ))
    })?;
    let row = container(c, id)?
        .filter(|r| r.kind == kind.name())
        .ok_or_else(|| ApiError::not_found(format!("{} {id} not found", kind.name())))?;
    access.require(c, &row, Level::Rw)?;
    Ok(row)
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
    let (id, parent_id, group_id, project_id);
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
                    crate::access::default_roles()
                        .iter()
                        .map(|r| r["_id"].clone())
                        .collect::<Vec<_>>()
                ),
            );
            (id, parent_id, group_id, project_id) = (gid.clone(), None, gid, None);
        }
        Kind::Project => {
            let group = parent_row(c, &mut access, &fields, "group", Kind::Group)?;
            require_field(&fields, "label")?;
            let pid = object_id();
            doc.insert("parents".into(), json!({"group": group.id}));
            doc.insert(
                "permissions".into(),
                json!([{"_id": caller.user_id, "role_ids": [ADMIN_ROLE]}]),
            );
            (id, parent_id, group_id, project_id) =
                (pid.clone(), Some(group.id.clone()), group.id, Some(pid));
        }
        Kind::Subject => {
            let project = parent_row(c, &mut access, &fields, "project", Kind::Project)?;
            sync_code_and_label(&mut fields)?;
            let sid = object_id();
            doc.insert(
                "parents".into(),
                json!({"group": project.group_id, "project": project.id}),
            );
            (id, parent_id, group_id, project_id) = (
                sid,
                Some(project.id.clone()),
                project.group_id,
                Some(project.id),
            );
        }
        Kind::Session => {
            let project = parent_row(c, &mut access, &fields, "project", Kind::Project)?;
            let subject = session_subject(c, &project, fields.remove("subject"), &when)?;
            let sid = object_id();
            doc.insert("group".into(), json!(project.group_id));
            doc.insert("subject".into(), json!({"_id": subject}));
            doc.insert(
                "parents".into(),
                json!({"group": project.group_id, "project": project.id, "subject": subject}),
            );
            (id, parent_id, group_id, project_id) =
                (sid, Some(subject), project.group_id, Some(project.id));
        }
        Kind::Acquisition => {
            let session = parent_row(c, &mut access, &fields, "session", Kind::Session)?;
            let aid = object_id();
            let mut parents = session.doc["parents"].clone();
            parents["session"] = json!(session.id);
            doc.insert("parents".into(), parents);
            (id, parent_id, group_id, project_id) =
                (aid, Some(session.id), session.group_id, session.project_id);
        }
        Kind::Analysis => {
            return Err(ApiError::bad_request(
                "analyses are created on a container: POST /{collection}/{id}/analyses",
            ));
        }
    }
    doc.insert("_id".into(), json!(id));
    for (key, value) in fields {
        doc.insert(key, value);
    }
    for (key, empty) in [
        ("tags", json!([])),
        ("info", json!({})),
        ("created", json!(when)),
        ("modified", json!(when)),
    ] {
        doc.entry(key).or_insert(empty);
    }
    if kind != Kind::Group {
        for key in ["notes", "files", "analyses"] {
            doc.entry(key).or_insert(json!([]));
        }
    }
    put_container(
        c,
        &Row {
            id: id.clone(),
            kind: kind.name().into(),
            parent_id,
            group_id,
            project_id,
            doc: Value::Object(doc),
        },
    )?;
    Ok(id)
}

/// Creates an analysis on any container below a group; returns its id.
pub(crate) fn create_analysis(
    c: &Connection,
    caller: &Caller,
    parent: &Row,
    body: Value,
) -> Result<String, ApiError> {
    let fields = create_body(Kind::Analysis, body)?;
    check_label(&fields, "label")?;
    require_field(&fields, "label")?;
    if parent.kind == "group" || parent.kind == "analysis" {
        return Err(ApiError::bad_request(format!(
            "a {} cannot hold analyses",
            parent.kind
        )));
    }
    Access::new(caller).require(c, parent, Level::Rw)?;
    let id = object_id();
    let when = now();
    let mut parents = parent
        .doc
        .get("parents")
        .cloned()
        .unwrap_or_else(|| json!({}));
    parents[parent.kind.as_str()] = json!(parent.id);
    let mut doc = json!({
        "_id": id, "parent": {"type": parent.kind, "id": parent.id}, "parents": parents,
        "files": [], "inputs": [], "notes": [], "tags": [], "info": {},
        "created": when, "modified": when,
    });
    for (key, value) in fields {
        doc[key] = value;
    }
    put_container(
        c,
        &Row {
            id: id.clone(),
            kind: "analysis".into(),
            parent_id: Some(parent.id.clone()),
            group_id: parent.group_id.clone(),
            project_id: parent.project_id.clone(),
            doc,
        },
    )?;
    Ok(id)
}

fn require_field(fields: &Map<String, Value>, key: &str) -> Result<(), ApiError> {
    match fields.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "the body needs a non-empty `{key}`"
        ))),
    }
}

/// Keeps a subject's `code` and `label` equal, as the SDK expects: the label wins when
/// both are given.
fn sync_code_and_label(fields: &mut Map<String, Value>) -> Result<(), ApiError> {
    let value = fields
        .get("label")
        .or_else(|| fields.get("code"))
        .cloned()
        .ok_or_else(|| ApiError::bad_request("a subject needs a `label` or a `code`"))?;
    check_label(fields, "code")?;
    fields.insert("label".into(), value.clone());
    fields.insert("code".into(), value);
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
            .filter(|r| r.kind == "subject" && r.project_id.as_deref() == Some(project.id.as_str()))
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
        kind: "subject".into(),
        parent_id: Some(project.id.clone()),
        label: Some(code.clone()),
        ..Scan::default()
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
    let id = object_id();
    let mut doc = json!({"_id": id, "parents": {"group": project.group_id, "project": project.id},
        "tags": [], "info": {}, "notes": [], "files": [], "analyses": [], "created": when, "modified": when});
    for (key, value) in fields {
        doc[key] = value;
    }
    put_container(
        c,
        &Row {
            id: id.clone(),
            kind: "subject".into(),
            parent_id: Some(project.id.clone()),
            group_id: project.group_id.clone(),
            project_id: Some(project.id.clone()),
            doc,
        },
    )?;
    Ok(id)
}

/// The wire document of a row, as clients see it: project permissions shown on
/// everything below the project, the session's subject embedded whole.
pub(crate) fn render(c: &Connection, row: &Row) -> Result<Value, ApiError> {
    Renderer::default().render(c, row.clone())
}

/// Renders many rows, reading each project's permissions once (a listing of 100,000
/// subjects would otherwise read their project 100,000 times).
#[derive(Default)]
pub(crate) struct Renderer {
    project_permissions: std::collections::HashMap<String, Value>,
}

impl Renderer {
    /// The wire document of `row` (see [`render`]).
    pub(crate) fn render(&mut self, c: &Connection, row: Row) -> Result<Value, ApiError> {
        let below_project = !matches!(row.kind.as_str(), "group" | "project");
        let mut doc = row.doc;
        if below_project && let Some(project_id) = row.project_id {
            let permissions = match self.project_permissions.get(&project_id) {
                Some(permissions) => permissions.clone(),
                None => {
                    let permissions = container(c, &project_id)?
                        .map(|p| p.doc["permissions"].clone())
                        .unwrap_or(Value::Null);
                    self.project_permissions
                        .insert(project_id, permissions.clone());
                    permissions
                }
            };
            if !permissions.is_null() {
                doc["permissions"] = permissions;
            }
        }
        if row.kind == "session"
            && let Some(subject) = row_by_id(c, row.parent_id.as_deref())?
        {
            doc["subject"] = subject.doc;
        }
        Ok(doc)
    }
}

fn row_by_id(c: &Connection, id: Option<&str>) -> Result<Option<Row>, ApiError> {
    match id {
        Some(id) => container(c, id),
        None => Ok(None),
    }
}

/// The container with this id and kind, if the caller may see it.
pub(crate) fn get(
    c: &Connection,
    caller: &Caller,
    kind: Option<Kind>,
    id: &str,
) -> Result<Row, ApiError> {
    let what = kind.map_or("container", Kind::name);
    let row = container(c, id)?
        .filter(|r| kind.is_none_or(|k| r.kind == k.name()))
        .ok_or_else(|| ApiError::not_found(format!("{what} {id} not found")))?;
    Access::new(caller).require(c, &row, Level::Ro)?;
    Ok(row)
}

/// The container with this id and kind, if the caller has at least `needed` on it.
pub(crate) fn get_for(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    id: &str,
    needed: Level,
) -> Result<Row, ApiError> {
    let row = get(c, caller, Some(kind), id)?;
    Access::new(caller).require(c, &row, needed)?;
    Ok(row)
}

/// Lists containers of `kind` (under `parent`, if given) as finders ask.
pub(crate) fn list(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    parent: Option<&Row>,
    params: &ListParams,
    count_all: bool,
) -> Result<Listing, ApiError> {
    let filter = params
        .filter
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(fw_filter::parse_filter)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid filter:\n{e}")))?;
    let sort = params
        .sort
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(fw_filter::parse_sort)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid sort:\n{e}")))?;
    if params.after_id.is_some()
        && (sort.is_some() || params.page.is_some() || params.skip.is_some())
    {
        return Err(ApiError::bad_request(
            "after_id cannot be used with sort, page or skip",
        ));
    }
    let limit = params.limit.filter(|&l| l > 0);
    let skip = match (params.page, limit) {
        (Some(0), _) => return Err(ApiError::bad_request("page counts from 1")),
        (Some(page), Some(limit)) => (page - 1).saturating_mul(limit),
        (Some(_), None) => return Err(ApiError::bad_request("page needs a limit")),
        (None, _) => params.skip.unwrap_or(0),
    };

    let mut selection = prefilter(kind, filter.as_ref());
    selection.after_id = params.after_id.clone();
    if let Some(parent) = parent {
        // A child list: the parent pins the scan (sessions of a project by project).
        match (parent.kind.as_str(), kind) {
            ("project", Kind::Session | Kind::Acquisition) => {
                selection.project_id = Some(parent.id.clone())
            }
            _ => selection.parent_id = Some(parent.id.clone()),
        }
    }
    // Without a sort and without counting, the scan stops once the page is full.
    let stop_after = match (&sort, count_all, limit) {
        (None, false, Some(limit)) => Some(skip + limit),
        _ => None,
    };
    let mut access = Access::new(caller);
    let mut renderer = Renderer::default();
    let mut matches = Vec::new();
    scan(c, &selection, &mut |row| {
        if !access.listed(c, &row)? {
            return Ok(true);
        }
        let doc = renderer.render(c, row)?;
        if filter.as_ref().is_none_or(|f| f.matches(&doc)) {
            matches.push(doc);
        }
        Ok(stop_after.is_none_or(|n| matches.len() < n))
    })?;
    if let Some(sort) = &sort {
        sort_docs(&mut matches, sort);
    }
    let total = matches.len();
    let items = matches
        .into_iter()
        .skip(skip)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok(Listing { items, total })
}

/// The SQL selection a filter implies: each `=` on a string pins a column when the column
/// always equals that document field.
fn prefilter(kind: Kind, filter: Option<&Filter>) -> Scan {
    let mut selection = Scan {
        kind: kind.name().into(),
        ..Scan::default()
    };
    let parent_path = kind.parent().map(|p| format!("parents.{}", p.name()));
    for condition in filter.map(|f| f.conditions.as_slice()).unwrap_or_default() {
        let value = match &condition.test {
            Test::Eq(FilterValue::String(s)) => s.clone(),
            Test::Eq(FilterValue::ObjectId(id)) => id.as_str().to_string(),
            _ => continue,
        };
        let path = condition.path();
        let slot = match path {
            "label" => &mut selection.label,
            "_id" => &mut selection.id,
            // The direct parent first: its index also covers the label.
            _ if Some(path) == parent_path.as_deref() => &mut selection.parent_id,
            "parents.group" if kind != Kind::Group => &mut selection.group_id,
            "parents.project" if !matches!(kind, Kind::Group | Kind::Project) => {
                &mut selection.project_id
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    selection
}

/// Sorts by each key in turn (missing fields first when ascending), then by `_id`.
fn sort_docs(docs: &mut [Value], sort: &Sort) {
    docs.sort_by(|a, b| {
        for key in &sort.keys {
            let ordering = json_order(lookup(a, &key.key), lookup(b, &key.key));
            let ordering = if key.order == Order::Desc {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        json_order(a.get("_id"), b.get("_id"))
    });
}

fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, segment| v.get(segment))
}

/// A total order on JSON values: missing < null < booleans < numbers < strings < others.
fn json_order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(v: Option<&Value>) -> u8 {
        match v {
            None => 0,
            Some(Value::Null) => 1,
            Some(Value::Bool(_)) => 2,
            Some(Value::Number(_)) => 3,
            Some(Value::String(_)) => 4,
            Some(_) => 5,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Applies an update body; a new parent moves the container with everything below it.
pub(crate) fn update(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    id: &str,
    body: Value,
) -> Result<(), ApiError> {
    let mut row = get_for(c, caller, kind, id, Level::Rw)?;
    let mut fields = update_body(kind, body)?;
    check_label(&fields, "label")?;
    if let Some(parent) = crate::moves::destination(c, caller, &row, kind, &mut fields)? {
        crate::moves::apply(c, &mut row, &parent)?;
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
    for (key, value) in fields {
        doc.insert(key, value);
    }
    doc.insert("modified".into(), json!(now()));
    put_container(c, &row)
}

/// `?join=origin`: who made the container's files (`JoinOrigins`: users by id with their
/// names; devices and jobs are not made here, so they stay empty).
pub(crate) fn join_origin(c: &Connection, doc: &Value) -> Result<Value, ApiError> {
    let mut users = Map::new();
    for file in doc["files"].as_array().into_iter().flatten() {
        let origin = &file["origin"];
        let Some(id) = origin["id"].as_str().filter(|_| origin["type"] == "user") else {
            continue;
        };
        if users.contains_key(id) {
            continue;
        }
        if let Some(user) = crate::auth::user(c, id)? {
            users.insert(
                id.to_string(),
                json!({"firstname": user["firstname"], "lastname": user["lastname"]}),
            );
        }
    }
    Ok(json!({"user": users, "device": {}, "job": {}}))
}

/// Deletes a container and everything below it; needs admin.
pub(crate) fn delete(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    id: &str,
) -> Result<usize, ApiError> {
    let row = get_for(c, caller, kind, id, Level::Admin)?;
    delete_tree(c, &row.id)
}

/// Adds or replaces a user's permission on a group (`{_id, access}`) or a project
/// (`{_id, role_ids}`); needs admin. With `user_id` set (a PUT), the body may omit `_id`.
pub(crate) fn set_permission(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    id: &str,
    user_id: Option<&str>,
    body: Value,
) -> Result<Value, ApiError> {
    let mut row = get_for(c, caller, kind, id, Level::Admin)?;
    let mut permission = match body {
        Value::Object(map) => map,
        _ => return Err(ApiError::bad_request("a permission is a JSON object")),
    };
    if let Some(user_id) = user_id {
        permission.insert("_id".into(), json!(user_id));
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
            let access: fw_model::AccessPermission =
                serde_json::from_value(Value::Object(permission))
                    .map_err(|e| ApiError::bad_request(format!("invalid group permission: {e}")))?;
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
            let roles: fw_model::RolePermission = serde_json::from_value(Value::Object(permission))
                .map_err(|e| ApiError::bad_request(format!("invalid project permission: {e}")))?;
            let role_ids = roles.role_ids.unwrap_or_default();
            for role_id in &role_ids {
                if !crate::roles::exists(c, role_id.as_str())? {
                    return Err(ApiError::bad_request(format!("unknown role {role_id}")));
                }
            }
            json!({"_id": user, "role_ids": role_ids})
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "{}s have no permissions of their own",
                kind.name()
            )));
        }
    };
    let permissions = row.doc["permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
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
    let mut permissions: Vec<Value> = permissions
        .into_iter()
        .filter(|p| p["_id"] != user.as_str())
        .collect();
    permissions.push(checked.clone());
    row.doc["permissions"] = Value::Array(permissions);
    row.doc["modified"] = json!(now());
    put_container(c, &row)?;
    Ok(checked)
}

/// Removes a user's permission from a group or project; needs admin.
pub(crate) fn delete_permission(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    id: &str,
    user_id: &str,
) -> Result<(), ApiError> {
    let mut row = get_for(c, caller, kind, id, Level::Admin)?;
    let permissions = row.doc["permissions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let kept: Vec<Value> = permissions
        .iter()
        .filter(|p| p["_id"] != user_id)
        .cloned()
        .collect();
    if kept.len() == permissions.len() {
        return Err(ApiError::not_found(format!(
            "{user_id} has no permission on {} {id}",
            kind.name()
        )));
    }
    row.doc["permissions"] = Value::Array(kept);
    row.doc["modified"] = json!(now());
    put_container(c, &row)
}

/// Makes a role available in a group (`POST /groups/{id}/roles`); needs admin on it.
pub(crate) fn add_group_role(
    c: &Connection,
    caller: &Caller,
    id: &str,
    role_id: Value,
) -> Result<(), ApiError> {
    let mut row = get_for(c, caller, Kind::Group, id, Level::Admin)?;
    let mut roles = row.doc["roles"].as_array().cloned().unwrap_or_default();
    if !roles.contains(&role_id) {
        roles.push(role_id);
    }
    row.doc["roles"] = Value::Array(roles);
    row.doc["modified"] = json!(now());
    put_container(c, &row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilter_pins_only_columns_equal_to_fields() {
        let filter =
            fw_filter::parse_filter("project=5ebd4ff8bfda5102856aa084,label=sub-01,age<30")
                .unwrap();
        let scan = prefilter(Kind::Subject, Some(&filter));
        assert_eq!(scan.parent_id.as_deref(), Some("5ebd4ff8bfda5102856aa084"));
        assert_eq!(scan.label.as_deref(), Some("sub-01"));
        let scan = prefilter(Kind::Session, Some(&filter));
        assert_eq!(scan.project_id.as_deref(), Some("5ebd4ff8bfda5102856aa084"));
        assert_eq!(scan.parent_id, None);
        let numeric = fw_filter::parse_filter("label=1001").unwrap();
        assert_eq!(prefilter(Kind::Subject, Some(&numeric)).label, None);
    }

    #[test]
    fn json_values_sort_by_type_then_value() {
        let mut docs = vec![
            json!({"_id": "c", "n": "x"}),
            json!({"_id": "a", "n": 2}),
            json!({"_id": "b"}),
            json!({"_id": "d", "n": 1}),
        ];
        let sort = fw_filter::parse_sort("n:asc").unwrap();
        sort_docs(&mut docs, &sort);
        let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["b", "d", "a", "c"]);
    }

    mod prefilter_equivalence {
        use super::*;
        use crate::store::Store;
        use proptest::prelude::*;

        /// A store with two groups, three projects and 90 subjects of varied fields.
        fn seeded() -> (tempfile::TempDir, Store, Vec<String>) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let admin = Caller {
                user_id: "admin@local".into(),
                site_admin: true,
                exhaustive: true,
            };
            let projects = store
                .write_blocking(|c| {
                    crate::auth::ensure_user(c, "admin@local", &json!({"roles": ["site_admin"]}))?;
                    let mut projects = Vec::new();
                    for group in ["ga", "gb"] {
                        create(c, &admin, Kind::Group, json!({"_id": group}))?;
                    }
                    for (i, group) in ["ga", "ga", "gb"].iter().enumerate() {
                        projects.push(create(
                            c,
                            &admin,
                            Kind::Project,
                            json!({"label": format!("p{i}"), "group": group}),
                        )?);
                    }
                    let (sexes, sites) = (["male", "female", "other"], ["a", "b"]);
                    for i in 0..90 {
                        create(
                            c,
                            &admin,
                            Kind::Subject,
                            json!({
                                "label": format!("s{:02}", i % 30), "project": projects[i % 3],
                                "sex": sexes[i % 3], "info": {"n": i % 7, "site": sites[i % 2]},
                            }),
                        )?;
                    }
                    Ok(projects)
                })
                .unwrap();
            (dir, store, projects)
        }

        fn condition(projects: Vec<String>) -> impl Strategy<Value = String> {
            let keys = prop::sample::select(vec![
                "label",
                "project",
                "parents.project",
                "group",
                "parents.group",
                "sex",
                "info.n",
                "info.site",
                "_id",
                "code",
            ]);
            let ops = prop::sample::select(vec!["=", "!=", "<", ">=", "=~", "=|"]);
            let mut values: Vec<String> = vec![
                "s05".into(),
                "s29".into(),
                "ga".into(),
                "gb".into(),
                "male".into(),
                "a".into(),
                "3".into(),
                "\"3\"".into(),
                "s1".into(),
                "null".into(),
            ];
            values.extend(projects);
            let values = prop::sample::select(values);
            (keys, ops, values.clone(), values).prop_map(|(k, op, v, w)| match op {
                "=|" => format!("{k}=|[{v},{w}]"),
                _ => format!("{k}{op}{v}"),
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn sql_narrowing_never_changes_a_result(conditions in Just(()).prop_flat_map(|_| {
                prop::collection::vec(condition(vec!["PROJECT0".into(), "PROJECT2".into()]), 1..4)
            })) {
                thread_local! {
                    static SEEDED: (tempfile::TempDir, Store, Vec<String>) = seeded();
                }
                SEEDED.with(|(_, store, projects)| {
                    let text = conditions.join(",").replace("PROJECT0", &projects[0]).replace("PROJECT2", &projects[2]);
                    let Ok(filter) = fw_filter::parse_filter(&text) else { return Ok(()) };
                    let caller = Caller { user_id: "admin@local".into(), site_admin: true, exhaustive: true };
                    let params = ListParams { filter: Some(text.clone()), ..ListParams::default() };
                    let (listed, everything) = store
                        .write_blocking(|c| {
                            let listed = list(c, &caller, Kind::Subject, None, &params, true)?.items;
                            let mut everything = Vec::new();
                            scan(c, &Scan { kind: "subject".into(), ..Scan::default() }, &mut |row| {
                                everything.push(render(c, &row)?);
                                Ok(true)
                            })?;
                            Ok((listed, everything))
                        })
                        .map_err(|e| TestCaseError::fail(e.message))?;
                    let expected: Vec<Value> = everything.into_iter().filter(|d| filter.matches(d)).collect();
                    prop_assert_eq!(listed, expected, "{}", text);
                    Ok(())
                })?;
            }
        }
    }
}
