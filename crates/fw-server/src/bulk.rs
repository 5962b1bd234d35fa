//! Bulk downloads (docs/wire.md §11). `POST /download` walks the requested containers
//! once, checks access, applies the file filters, and records every archive member (its
//! path in the classic layout, blob, size and time) under a ticket, in one transaction;
//! `GET /download?ticket=` then streams exactly those members as tar or zip (see
//! `archive`). Blobs are never deleted, so a ticket's members stay readable until it expires.
//!
//! The classic layout: `<prefix>/<group>/<project>/<subject>/<session>/<acquisition>/<file>`,
//! files of higher levels directly in their container's folder, analyses as a folder in
//! their parent's with `input/` and `output/`. A folder's name is its container's label
//! (with fallbacks), made unique among the folders and files beside it: siblings are taken
//! in id order (creation order), the first keeps the name and the next get `_0`, `_1`, ….
//! So a container has the same folder whichever part of the tree is downloaded.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};
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
use crate::store::{Row, container, db};

/// How long a bulk download ticket stays valid.
const TICKET_LIFETIME_SECONDS: i64 = 3600;

/// How many members a page of `GET /download` reads from the database at a time.
pub(crate) const PAGE: usize = 500;

/// `POST /download[?prefix=&type=]`: plans the archive and returns the ticket stub
/// `{ticket, filename, file_cnt, size}`.
pub(crate) fn create_ticket(
    c: &Connection,
    caller: &Caller,
    body: Value,
    prefix: Option<&str>,
    layout: Option<&str>,
) -> Result<Value, ApiError> {
    let request: fw_model::DownloadRequest = crate::json::typed_body(body, "download request")?;
    if let Some(other) = layout.filter(|l| *l != "classic") {
        return Err(ApiError::bad_request(format!(
            "this server builds classic archives only, not type={other:?}"
        )));
    }
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
    crate::files::check_name(prefix)?;
    let nodes = request.nodes.unwrap_or_default();
    if nodes.is_empty() {
        return Err(ApiError::bad_request("a download needs at least one node"));
    }

    let now = chrono::Utc::now();
    expire_tickets(c, now.timestamp())?;
    let ticket = random_hex(24);
    let filename = format!("{prefix}_{}.tar", now.format("%Y%m%d_%H%M%S"));
    c.execute(
        "INSERT INTO bulk_downloads (ticket, filename, expires) VALUES (?1, ?2, ?3)",
        params![ticket, filename, now.timestamp() + TICKET_LIFETIME_SECONDS],
    )
    .map_err(db)?;

    let mut plan = Plan {
        c,
        access: Access::new(caller),
        filters: request.filters.unwrap_or_default(),
        prefix: prefix.to_string(),
        folders: HashMap::new(),
        walked: HashSet::new(),
        ticket: ticket.clone(),
        count: 0,
        size: 0,
    };
    for node in nodes {
        let id = node
            .id
            .ok_or_else(|| ApiError::bad_request("every node needs an `_id`"))?;
        let level = node
            .level
            .ok_or_else(|| ApiError::bad_request("every node needs a `level`"))?;
        let (level, id) = (level.as_str(), id.as_str());
        let kind = Kind::from_name(level)
            .ok_or_else(|| ApiError::not_found(format!("{level} {id} not found")))?;
        let row = plan.access.get(c, Some(kind), id, Level::Ro)?;
        let folder = plan.folder_of(&row)?;
        plan.walk(row, &folder)?;
    }
    Ok(json!({"ticket": ticket, "filename": filename, "file_cnt": plan.count, "size": plan.size}))
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
    c.query_row(
        "SELECT filename FROM bulk_downloads WHERE ticket = ?1 AND expires >= ?2",
        params![ticket, chrono::Utc::now().timestamp()],
        |r| r.get(0),
    )
    .optional()
    .map_err(db)?
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

/// An archive being planned.
struct Plan<'a> {
    c: &'a Connection,
    access: Access<'a>,
    filters: Vec<fw_model::DownloadFilter>,
    prefix: String,
    /// The folders of the nodes' ancestors, by container id.
    folders: HashMap<String, String>,
    /// The containers whose files are planned, so overlapping nodes add nothing twice.
    walked: HashSet<String>,
    ticket: String,
    count: u64,
    size: u64,
}

impl Plan<'_> {
    /// The folder of a container in the archive.
    fn folder_of(&mut self, row: &Row) -> Result<String, ApiError> {
        if let Some(folder) = self.folders.get(&row.id) {
            return Ok(folder.clone());
        }
        let folder = match &row.parent_id {
            None => format!("{}/{}", self.prefix, folder_name(&row.id)),
            Some(parent_id) => {
                let parent = container(self.c, parent_id)?.ok_or_else(|| {
                    ApiError::internal(format!("the parent of {} {} is gone", row.kind, row.id))
                })?;
                let parent_folder = self.folder_of(&parent)?;
                let name = child_folders(self.c, &mut self.access, &parent)?
                    .into_iter()
                    .find(|(id, _)| *id == row.id)
                    .map(|(_, name)| name)
                    .ok_or_else(|| {
                        ApiError::internal(format!(
                            "{} {} is not below its parent",
                            row.kind, row.id
                        ))
                    })?;
                format!("{parent_folder}/{name}")
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
        let files = stored_list(&row.doc, "files", &row.what())?;
        if row.kind == Kind::Analysis {
            let inputs = self.analysis_inputs(&row)?;
            self.add_files(&inputs, &format!("{folder}/input"))?;
            self.add_files(&files, &format!("{folder}/output"))?;
            return Ok(());
        }
        self.add_files(&files, folder)?;
        for (id, name) in child_folders(self.c, &mut self.access, &row)? {
            if let Some(child) = container(self.c, &id)? {
                self.walk(child, &format!("{folder}/{name}"))?;
            }
        }
        Ok(())
    }

    /// The files an analysis's `inputs` name (`{type, id, name}`), where the caller may
    /// read them.
    fn analysis_inputs(&mut self, row: &Row) -> Result<Vec<Value>, ApiError> {
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
                inputs.push(entry);
            }
        }
        Ok(inputs)
    }

    /// Records the files that pass the filters as members in `folder`.
    fn add_files(&mut self, files: &[Value], folder: &str) -> Result<(), ApiError> {
        let mut names = HashSet::new();
        let mut insert = self
            .c
            .prepare_cached(
                "INSERT INTO bulk_members (ticket, seq, path, hash, size, modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?;
        for file in files {
            let (Some(name), Some(hash)) = (file["name"].as_str(), file["hash"].as_str()) else {
                continue;
            };
            if !passes(&self.filters, file) {
                continue;
            }
            let size = file["size"].as_u64().unwrap_or(0);
            let modified = modified_of(file).map_or(0, |t| t.timestamp());
            let name = unique(folder_name(name), &mut names);
            insert
                .execute(params![
                    self.ticket,
                    self.count as i64,
                    format!("{folder}/{name}"),
                    hash,
                    size as i64,
                    modified
                ])
                .map_err(db)?;
            self.count += 1;
            self.size += size;
        }
        Ok(())
    }
}

/// The folders in a container's folder: its children of the next level and its analyses,
/// in id order, each named uniquely among them and the container's own files. In a group,
/// only the projects the caller may read count (site admins read all).
fn child_folders(
    c: &Connection,
    access: &mut Access<'_>,
    parent: &Row,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut taken: HashSet<String> = parent.doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
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
        folders.push((id, name));
    }
    Ok(folders)
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
        let plus = rule.plus.as_deref().unwrap_or_default();
        let minus = rule.minus.as_deref().unwrap_or_default();
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
