//! Bulk downloads (docs/wire.md §11). One walk, [`plan`], visits the requested
//! containers, checks access, applies the file filters and hands each file with its path
//! to a sink. `POST /download` records every archive member (path, blob, size and time)
//! under a ticket, in one transaction; `GET /download?ticket=` then streams exactly those
//! members as tar or zip (see `archive`). `POST /download/targets` writes each file as a
//! line of JSON instead (`routes::targets`). Blobs are never deleted, so a ticket's
//! members stay readable until it expires.
//!
//! The classic layout: `<prefix>/<group>/<project>/<subject>/<session>/<acquisition>/<file>`,
//! files of higher levels directly in their container's folder, analyses as a folder in
//! their parent's with `input/` and `output/`. A folder's name is its container's label
//! (with fallbacks), made unique among the folders and files beside it: siblings are taken
//! in id order (creation order), the first keeps the name and the next get `_0`, `_1`, ….
//! So a container has the same folder whichever part of the tree is downloaded. The full
//! layout ([`Layout::Full`]) names folders the same way and adds its section folders,
//! where a folder's name competes only with its siblings of the same section (files sit
//! apart, in `FILES/`).

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};
use serde_json::{Value, json};

use fw_model::layout::{fallback_label, folder_name, unique};

use crate::access::Access;
use crate::archive::Member;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ids::random_hex;
use crate::json::{decode_stored_object, stored_list};
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, container, db, one_value};

/// How long a bulk download ticket stays valid.
const TICKET_LIFETIME_SECONDS: i64 = 3600;

/// How many members a page of `GET /download` reads from the database at a time.
pub(crate) const PAGE: usize = 500;

/// The folder layouts of a bulk download (`?type=`), both named by fw_model::layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `<prefix>/<group>/<project>/<subject>/<session>/<acquisition>/<file>` (the
    /// default): files in their container's folder, analyses as a folder with `input/`
    /// and `output/`.
    Classic,
    /// `<prefix>/<project>/SUBJECTS/<subject>/SESSIONS/<session>/ACQUISITIONS/
    /// <acquisition>/FILES/<file>`: what `fw sync` writes and `fw ingest project` reads
    /// back (flywheel-cli 18.5.1), without analyses (docs/wire.md §15.9).
    Full,
}

impl Layout {
    /// `type=classic` (or none) or `type=full`.
    ///
    /// # Errors
    ///
    /// A 400 naming any other type.
    pub(crate) fn parse(layout: Option<&str>) -> Result<Layout, ApiError> {
        match layout {
            None | Some("classic") => Ok(Layout::Classic),
            Some("full") => Ok(Layout::Full),
            Some(other) => Err(ApiError::bad_request(format!(
                "type must be classic or full, not {other:?}"
            ))),
        }
    }

    /// The folder of a group: its id below the prefix (classic), or the prefix (full).
    fn group_folder(self, prefix: &str, group_id: &str) -> String {
        match self {
            Layout::Classic => join(prefix, &folder_name(group_id)),
            Layout::Full => prefix.to_string(),
        }
    }

    /// The folder of a child container named `name` in its parent's `folder`.
    fn child_folder(self, folder: &str, kind: Kind, name: &str) -> String {
        let section = match (self, kind) {
            (Layout::Full, Kind::Subject) => "SUBJECTS/",
            (Layout::Full, Kind::Session) => "SESSIONS/",
            (Layout::Full, Kind::Acquisition) => "ACQUISITIONS/",
            _ => "",
        };
        join(folder, &format!("{section}{name}"))
    }

    /// The folder of a container's own files.
    fn files_folder(self, folder: &str) -> String {
        match self {
            Layout::Classic => folder.to_string(),
            Layout::Full => join(folder, "FILES"),
        }
    }
}

/// `a/b`, or `b` when `a` is empty (an empty prefix is no top folder).
fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// A bulk download request, checked: `POST /download` and `POST /download/targets`.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The containers asked for, in order.
    nodes: Vec<(Kind, String)>,
    filters: Vec<fw_model::DownloadFilter>,
    /// The top folder; empty for none.
    prefix: String,
    layout: Layout,
}

impl Request {
    /// Reads a download body with its query parameters: `prefix` (`scitran` when absent,
    /// none when empty) and `type`.
    ///
    /// # Errors
    ///
    /// A 400 for a body that is no download request (unknown keys named by their path,
    /// docs/wire.md §15.6), a node without `level` or `_id`, no node, container filters,
    /// a prefix that is no file name, or another type than classic and full.
    pub(crate) fn parse(
        body: Value,
        prefix: Option<&str>,
        layout: Option<&str>,
    ) -> Result<Request, ApiError> {
        let mut body = body;
        respell_plus_minus(&mut body);
        let request: fw_model::DownloadRequest = crate::json::typed_body(body, "download request")?;
        let layout = Layout::parse(layout)?;
        if request
            .container_filters
            .as_ref()
            .is_some_and(|f| !f.is_empty())
        {
            return Err(ApiError::bad_request(
                "container_filters are not supported; select the containers as nodes",
            ));
        }
        let prefix = prefix.unwrap_or("scitran");
        if !prefix.is_empty() {
            crate::files::check_name(prefix)?;
        }
        let mut nodes = Vec::new();
        for node in request.nodes.unwrap_or_default() {
            let id = node
                .id
                .ok_or_else(|| ApiError::bad_request("every node needs an `_id`"))?;
            let level = node
                .level
                .ok_or_else(|| ApiError::bad_request("every node needs a `level`"))?;
            let kind = Kind::from_name(level.as_str())
                .ok_or_else(|| ApiError::not_found(format!("{} {id} not found", level.as_str())))?;
            if layout == Layout::Full && kind == Kind::Analysis {
                return Err(ApiError::bad_request(
                    "a full download holds no analyses; ask for a classic one (type=classic)",
                ));
            }
            nodes.push((kind, id.as_str().to_string()));
        }
        if nodes.is_empty() {
            return Err(ApiError::bad_request("a download needs at least one node"));
        }
        Ok(Request {
            nodes,
            filters: request.filters.unwrap_or_default(),
            prefix: prefix.to_string(),
            layout,
        })
    }
}

/// One file a bulk download plans.
pub(crate) struct Planned<'f> {
    /// Its path in the layout, `/`-separated.
    pub(crate) path: String,
    /// Its file entry.
    pub(crate) file: &'f Value,
    /// The id of the container holding it.
    pub(crate) container_id: &'f str,
}

/// Walks a request's nodes (each must be readable by the caller: 404 when invisible),
/// handing `sink` every file that passes the filters, in the request's layout. Returns
/// the number of files and their total size in bytes.
///
/// # Errors
///
/// What the access checks and the database return, and what `sink` returns.
pub(crate) fn plan(
    c: &Connection,
    caller: &Caller,
    request: &Request,
    sink: &mut dyn FnMut(Planned<'_>) -> Result<(), ApiError>,
) -> Result<(u64, u64), ApiError> {
    let mut plan = Plan {
        c,
        access: Access::new(caller),
        request,
        folders: HashMap::new(),
        walked: HashSet::new(),
        sink,
        count: 0,
        size: 0,
    };
    for (kind, id) in &request.nodes {
        let row = plan.access.get(c, Some(*kind), id, Level::Ro)?;
        let folder = plan.folder_of(&row)?;
        plan.walk(row, &folder)?;
    }
    Ok((plan.count, plan.size))
}

/// Fails unless the caller may read every node of the request (404 when invisible, as
/// [`plan`] would), so that a streamed reply can start with the request known good.
///
/// # Errors
///
/// The 404 of the first node the caller cannot read.
pub(crate) fn check_nodes(
    c: &Connection,
    caller: &Caller,
    request: &Request,
) -> Result<(), ApiError> {
    let mut access = Access::new(caller);
    for (kind, id) in &request.nodes {
        access.get(c, Some(*kind), id, Level::Ro)?;
    }
    Ok(())
}

/// `POST /download[?prefix=&type=]`: plans the archive and returns the ticket stub
/// `{ticket, filename, file_cnt, size}`.
pub(crate) fn create_ticket(
    c: &Connection,
    caller: &Caller,
    request: &Request,
) -> Result<Value, ApiError> {
    let now = chrono::Utc::now();
    expire_tickets(c, now.timestamp())?;
    let ticket = random_hex(24);
    let name = if request.prefix.is_empty() {
        "scitran"
    } else {
        &request.prefix
    };
    let filename = format!("{name}_{}.tar", now.format("%Y%m%d_%H%M%S"));
    c.execute(
        "INSERT INTO bulk_downloads (ticket, filename, expires) VALUES (?1, ?2, ?3)",
        params![ticket, filename, now.timestamp() + TICKET_LIFETIME_SECONDS],
    )
    .map_err(db)?;
    let mut insert = c
        .prepare_cached(
            "INSERT INTO bulk_members (ticket, seq, path, hash, size, modified)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?;
    let mut seq: i64 = 0;
    let (count, size) = plan(c, caller, request, &mut |planned| {
        let file = planned.file;
        let modified = modified_of(file).map_or(0, |t| t.timestamp());
        insert
            .execute(params![
                ticket,
                seq,
                planned.path,
                file["hash"].as_str(),
                file["size"].as_u64().unwrap_or(0) as i64,
                modified
            ])
            .map_err(db)?;
        seq += 1;
        Ok(())
    })?;
    Ok(json!({"ticket": ticket, "filename": filename, "file_cnt": count, "size": size}))
}

/// Forgets tickets that expired, with their members.
fn expire_tickets(c: &Connection, now: i64) -> Result<(), ApiError> {
    c.execute(
        "DELETE FROM bulk_members WHERE ticket IN (SELECT ticket FROM bulk_downloads WHERE expires < ?1)",
        [now],
    )
    .map_err(db)?;
    c.execute("DELETE FROM bulk_downloads WHERE expires < ?1", [now])
        .map_err(db)?;
    Ok(())
}

/// The archive file name of a valid ticket.
pub(crate) fn ticket_filename(c: &Connection, ticket: &str) -> Result<String, ApiError> {
    one_value(
        c,
        "SELECT filename FROM bulk_downloads WHERE ticket = ?1 AND expires >= ?2",
        params![ticket, chrono::Utc::now().timestamp()],
    )?
    .ok_or_else(|| ApiError::not_found("no such download ticket, or it expired"))
}

/// The members of a ticket after the first `skip`, at most `PAGE` of them.
pub(crate) fn members(c: &Connection, ticket: &str, skip: usize) -> Result<Vec<Member>, ApiError> {
    let mut statement = c
        .prepare_cached(
            "SELECT path, hash, size, modified FROM bulk_members WHERE ticket = ?1 AND seq >= ?2
             ORDER BY seq LIMIT ?3",
        )
        .map_err(db)?;
    statement
        .query_map(params![ticket, skip as i64, PAGE as i64], |r| {
            Ok(Member {
                path: r.get(0)?,
                hash: r.get(1)?,
                size: r.get::<_, i64>(2)? as u64,
                modified: r.get(3)?,
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
}

/// A bulk download being planned.
struct Plan<'a, 's> {
    c: &'a Connection,
    access: Access<'a>,
    request: &'a Request,
    /// The folders of the nodes' ancestors, by container id.
    folders: HashMap<String, String>,
    /// The containers whose files are planned, so overlapping nodes add nothing twice.
    walked: HashSet<String>,
    sink: &'s mut dyn FnMut(Planned<'_>) -> Result<(), ApiError>,
    count: u64,
    size: u64,
}

impl Plan<'_, '_> {
    /// The folder of a container in the layout.
    fn folder_of(&mut self, row: &Row) -> Result<String, ApiError> {
        if let Some(folder) = self.folders.get(&row.id) {
            return Ok(folder.clone());
        }
        let layout = self.request.layout;
        let folder = match &row.parent_id {
            None => layout.group_folder(&self.request.prefix, &row.id),
            Some(parent_id) => {
                let parent = container(self.c, parent_id)?.ok_or_else(|| {
                    ApiError::internal(format!("the parent of {} {} is gone", row.kind, row.id))
                })?;
                let parent_folder = self.folder_of(&parent)?;
                let name = child_folders(self.c, &mut self.access, &parent, layout)?
                    .into_iter()
                    .find(|(id, _, _)| *id == row.id)
                    .map(|(_, _, name)| name)
                    .ok_or_else(|| {
                        ApiError::internal(format!(
                            "{} {} is not below its parent",
                            row.kind, row.id
                        ))
                    })?;
                layout.child_folder(&parent_folder, row.kind, &name)
            }
        };
        self.folders.insert(row.id.clone(), folder.clone());
        Ok(folder)
    }

    /// Plans the files of `row` and everything below it, in `folder`.
    fn walk(&mut self, row: Row, folder: &str) -> Result<(), ApiError> {
        if !self.walked.insert(row.id.clone()) {
            return Ok(());
        }
        let layout = self.request.layout;
        let files = stored_list(&row.doc, "files", &row.what())?;
        if row.kind == Kind::Analysis {
            for (holder, input) in self.analysis_inputs(&row)? {
                self.add_files(&holder, &[input], &format!("{folder}/input"))?;
            }
            self.add_files(&row.id, &files, &format!("{folder}/output"))?;
            return Ok(());
        }
        self.add_files(&row.id, &files, &layout.files_folder(folder))?;
        for (id, _, name) in child_folders(self.c, &mut self.access, &row, layout)? {
            if let Some(child) = container(self.c, &id)? {
                let child_folder = layout.child_folder(folder, child.kind, &name);
                self.walk(child, &child_folder)?;
            }
        }
        Ok(())
    }

    /// The files an analysis's `inputs` name (`{type, id, name}`), with the id of the
    /// container holding each, where the caller may read them.
    fn analysis_inputs(&mut self, row: &Row) -> Result<Vec<(String, Value)>, ApiError> {
        let mut inputs = Vec::new();
        for input in row.doc["inputs"].as_array().into_iter().flatten() {
            let (Some(id), Some(name)) = (input["id"].as_str(), input["name"].as_str()) else {
                continue;
            };
            let Some(holder) = container(self.c, id)? else {
                continue;
            };
            if self.access.level(self.c, &holder)?.is_none() {
                continue;
            }
            if let Ok(entry) = crate::files::entry(self.c, &holder, name, None) {
                inputs.push((holder.id, entry));
            }
        }
        Ok(inputs)
    }

    /// Hands the sink the files of container `holder` that pass the filters, in `folder`.
    fn add_files(&mut self, holder: &str, files: &[Value], folder: &str) -> Result<(), ApiError> {
        let mut names = HashSet::new();
        for file in files {
            let (Some(name), Some(_)) = (file["name"].as_str(), file["hash"].as_str()) else {
                continue;
            };
            if !passes(&self.request.filters, file) {
                continue;
            }
            let name = unique(folder_name(name), &mut names);
            (self.sink)(Planned {
                path: format!("{folder}/{name}"),
                file,
                container_id: holder,
            })?;
            self.count += 1;
            self.size += file["size"].as_u64().unwrap_or(0);
        }
        Ok(())
    }
}

/// The folders in a container's folder: its children of the next level and its analyses,
/// in id order, each named uniquely among them and (in the classic layout, where they
/// share the folder) the container's own files: `(id, kind, folder name)`. The full layout
/// keeps files in `FILES/` and each kind of child in its own section folder, so nothing
/// there competes with a file's name, and it holds no analyses: a file added later does
/// not rename a subject's folder (which `fw sync` would download again). In a group, only
/// the projects the caller may read count (site admins read all).
fn child_folders(
    c: &Connection,
    access: &mut Access<'_>,
    parent: &Row,
    layout: Layout,
) -> Result<Vec<(String, Option<Kind>, String)>, ApiError> {
    let mut taken: HashSet<String> = match layout {
        Layout::Classic => parent.doc["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect(),
        Layout::Full => HashSet::new(),
    };
    let mut statement = c
        .prepare_cached(
            "SELECT id, kind, label, CASE WHEN label IS NULL OR label = '' THEN doc END
             FROM containers WHERE parent_id = ?1 ORDER BY id",
        )
        .map_err(db)?;
    let children: Vec<(String, String, Option<String>, Option<String>)> = statement
        .query_map([&parent.id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut folders = Vec::with_capacity(children.len());
    for (id, kind, label, doc) in children {
        if layout == Layout::Full && kind == Kind::Analysis.name() {
            continue;
        }
        if parent.kind == Kind::Group {
            let visible = match container(c, &id)? {
                Some(row) => access.level(c, &row)?.is_some(),
                None => false,
            };
            if !visible {
                continue;
            }
        }
        let label = match label.filter(|l| !l.trim().is_empty()) {
            Some(label) => label,
            None => {
                let doc = match doc {
                    Some(doc) => decode_stored_object(&doc, &format!("{kind} {id}"))?,
                    None => Value::Null,
                };
                fallback_label(&kind, &doc)
            }
        };
        let name = unique(folder_name(&label), &mut taken);
        folders.push((id, Kind::from_name(&kind), name));
    }
    Ok(folders)
}

/// Rewrites core's spellings of a filter rule's `plus` and `minus`, `+` and `-` (which
/// `fw sync -i/-e` sends), as ours, so that the typed body reads them and unknown keys are
/// still refused (docs/wire.md §15.6). A rule that has both spellings gets both lists.
fn respell_plus_minus(body: &mut Value) {
    let Some(filters) = body.get_mut("filters").and_then(Value::as_array_mut) else {
        return;
    };
    for filter in filters {
        for rule in ["tags", "types"] {
            let Some(rule) = filter.get_mut(rule).and_then(Value::as_object_mut) else {
                continue;
            };
            for (sign, name) in [("+", "plus"), ("-", "minus")] {
                let Some(values) = rule.remove(sign) else {
                    continue;
                };
                match (rule.get_mut(name), values) {
                    (Some(Value::Array(ours)), Value::Array(theirs)) => ours.extend(theirs),
                    (None, values) => {
                        rule.insert(name.to_string(), values);
                    }
                    // Not two lists: left as sent, so that the typed body names the fault.
                    (Some(_), values) => {
                        rule.insert(sign.to_string(), values);
                    }
                }
            }
        }
    }
}

/// When a file entry was last modified.
fn modified_of(file: &Value) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(file["modified"].as_str()?).ok()
}

/// Whether a file passes the download filters: any one of them, or there are none. A filter
/// passes when all its conditions hold: the type among `types.plus` and not among
/// `types.minus`, a tag among `tags.plus` and none among `tags.minus`, modified after `since`.
fn passes(filters: &[fw_model::DownloadFilter], file: &Value) -> bool {
    fn allowed(rule: Option<&fw_model::PlusMinus>, values: &[&str]) -> bool {
        let Some(rule) = rule else { return true };
        let (plus, minus) = (
            rule.plus.as_deref().unwrap_or_default(),
            rule.minus.as_deref().unwrap_or_default(),
        );
        (plus.is_empty() || values.iter().any(|v| plus.iter().any(|p| p == v)))
            && !values.iter().any(|v| minus.iter().any(|m| m == v))
    }
    let kind: Vec<&str> = file["type"].as_str().into_iter().collect();
    let tags: Vec<&str> = file["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let modified = modified_of(file).map(|t| t.timestamp_micros() as f64 / 1e6);
    filters.is_empty()
        || filters.iter().any(|filter| {
            allowed(filter.types.as_ref(), &kind)
                && allowed(filter.tags.as_ref(), &tags)
                && filter
                    .since
                    .is_none_or(|since| modified.is_some_and(|m| m > since))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(value: Value) -> fw_model::DownloadFilter {
        serde_json::from_value(value).expect("a filter")
    }

    #[test]
    fn filters_pass_files_by_type_tag_and_time() {
        let nifti =
            json!({"type": "nifti", "tags": ["good"], "modified": "2024-01-02T00:00:00+00:00"});
        let dicom = json!({"type": "dicom", "tags": [], "modified": "2020-01-01T00:00:00+00:00"});
        let untyped = json!({"name": "x"});
        let only_nifti = [filter(json!({"types": {"plus": ["nifti"]}}))];
        let no_dicom = [filter(json!({"types": {"minus": ["dicom"]}}))];
        assert!(passes(&[], &dicom));
        assert!(passes(&only_nifti, &nifti) && !passes(&only_nifti, &dicom));
        assert!(!passes(&only_nifti, &untyped));
        assert!(passes(&no_dicom, &nifti) && !passes(&no_dicom, &dicom));
        assert!(passes(&no_dicom, &untyped));
        let tagged = [filter(json!({"tags": {"plus": ["good"]}}))];
        assert!(passes(&tagged, &nifti) && !passes(&tagged, &dicom));
        // core's spellings `+` and `-` (flywheel-cli's `fw sync -i/-e`).
        // core's spellings, `+` and `-`, read as ours once the body is respelled.
        let spelled = |rule: Value| {
            let mut body = json!({"filters": [{"types": rule}]});
            respell_plus_minus(&mut body);
            [filter(body["filters"][0].clone())]
        };
        let plus_sign = spelled(json!({"+": ["nifti"]}));
        assert!(passes(&plus_sign, &nifti) && !passes(&plus_sign, &dicom));
        let minus_sign = spelled(json!({"-": ["nifti"]}));
        assert!(!passes(&minus_sign, &nifti) && passes(&minus_sign, &dicom));
        let both = spelled(json!({"plus": ["dicom"], "+": ["nifti"]}));
        assert!(passes(&both, &nifti) && passes(&both, &dicom));
        assert_eq!(
            spelled(json!({"+": ["nifti"]}))[0]
                .types
                .as_ref()
                .map(|t| t.extra.len()),
            Some(0)
        );
        let recent = [filter(json!({"since": 1_600_000_000.0}))];
        assert!(passes(&recent, &nifti) && !passes(&recent, &dicom));
        // Any filter: nifti files, or dicom files.
        let either = [
            filter(json!({"types": {"plus": ["nifti"]}})),
            filter(json!({"types": {"plus": ["dicom"]}})),
        ];
        assert!(passes(&either, &nifti) && passes(&either, &dicom));
        // All conditions of one filter.
        let both = [filter(
            json!({"types": {"plus": ["nifti"]}, "tags": {"minus": ["good"]}}),
        )];
        assert!(!passes(&both, &nifti));
    }
}
