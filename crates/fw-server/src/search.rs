//! `POST /dataexplorer/search` (docs/wire.md §6): FlyQL evaluated by fw-filter over
//! search documents (fw-filter README §B.4).
//!
//! There is one search document per container and one per file; each carries its own
//! level and its ancestors under their level names (`group`, `project`, `subject`,
//! `session`, `acquisition`, `analysis`, `file`). The results are the distinct containers
//! of the requested return type among the matching documents, visible to the caller.

use std::collections::{BTreeSet, HashMap};

use rusqlite::Connection;
use serde_json::{Map, Value, json};

use crate::access::Access;
use crate::auth::Caller;
use crate::containers::Renderer;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::store::{Row, Scan, scan};

/// The most results one search returns.
pub(crate) const MAX_SIZE: usize = 10_000;

/// The kinds a search may return, as `return_type` names them.
const RETURN_TYPES: [&str; 6] = [
    "file",
    "acquisition",
    "session",
    "analysis",
    "project",
    "subject",
];

/// A stored container with its rendered document.
struct Node {
    kind: Kind,
    parent_id: Option<String>,
    doc: Value,
}

/// Runs a structured search.
pub(crate) fn search(
    c: &Connection,
    caller: &Caller,
    mut body: Value,
    size: Option<usize>,
) -> Result<Vec<Value>, ApiError> {
    // Flywheel's core read `"size": "10"` as 10 (docs/wire.md §15.5).
    crate::json::numeric_strings(&mut body, &["size"]);
    let query: fw_model::SearchQuery = crate::json::typed_body(body, "search")?;
    let return_type = query
        .return_type
        .as_ref()
        .map(|t| t.as_str().to_string())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "a search needs a `return_type`: one of {}",
                RETURN_TYPES.join(", ")
            ))
        })?;
    if !RETURN_TYPES.contains(&return_type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "unknown return_type {return_type:?}: use one of {}",
            RETURN_TYPES.join(", ")
        )));
    }
    refuse_unserved(&query)?;
    let size = match query.size {
        Some(negative) if negative < 0 => {
            return Err(ApiError::bad_request(format!(
                "size: expected 0 or more, found {negative}"
            )));
        }
        Some(given) => Some(usize::try_from(given).unwrap_or(usize::MAX)),
        None => size,
    };
    let size = match size {
        Some(size) if size > MAX_SIZE => {
            return Err(ApiError::bad_request(format!(
                "size: may be at most {MAX_SIZE}, found {size}"
            )));
        }
        Some(size) => size,
        None => 100,
    };
    let text = query.structured_query.as_deref().unwrap_or_default();
    let filter = if text.trim().is_empty() {
        None
    } else {
        Some(
            fw_filter::parse_query(text)
                .map_err(|e| ApiError::bad_request(format!("Invalid structured query:\n{e}")))?,
        )
    };

    let nodes = visible_nodes(c, caller)?;
    let mut found: BTreeSet<(String, Option<String>)> = BTreeSet::new();
    for (id, node) in &nodes {
        let levels = levels(&nodes, id);
        let mut documents = vec![document(&nodes, &levels, None)];
        for file in node.doc["files"].as_array().into_iter().flatten() {
            documents.push(document(&nodes, &levels, Some(file)));
        }
        for (i, doc) in documents.iter().enumerate() {
            if !filter.as_ref().is_none_or(|q| q.matches(doc)) {
                continue;
            }
            let file_name =
                (i > 0).then(|| doc["file"]["name"].as_str().unwrap_or_default().to_string());
            if return_type == "file" {
                if let Some(name) = file_name {
                    found.insert((id.clone(), Some(name)));
                }
            } else if let Some(hit) = levels
                .iter()
                .find(|l| nodes[l.as_str()].kind.name() == return_type)
            {
                found.insert((hit.clone(), None));
            }
        }
    }
    Ok(found
        .into_iter()
        .take(size)
        .map(|(id, file)| response(&nodes, &return_type, &id, file.as_deref()))
        .collect())
}

/// The `SearchQuery` fields fw-server does not apply are 400s naming them, never ignored
/// (docs/wire.md §15.6): `filters`, `search_string`, `sort`, and `all_data` set to true
/// (the SDK's model sends `all_data: false`, which is what a search does). Their
/// conditions go in `structured_query`.
fn refuse_unserved(query: &fw_model::SearchQuery) -> Result<(), ApiError> {
    let unserved = [
        ("filters", query.filters.is_some()),
        ("search_string", query.search_string.is_some()),
        ("sort", query.sort.is_some()),
        ("all_data", query.all_data == Some(true)),
    ];
    let named: Vec<&str> = unserved
        .iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| *name)
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{}: not applied by fw-server's search; put the conditions in `structured_query`",
        named.join(", ")
    )))
}

/// Every container below a group the caller may see, rendered, by id.
fn visible_nodes(c: &Connection, caller: &Caller) -> Result<HashMap<String, Node>, ApiError> {
    let mut access = Access::new(caller);
    let mut renderer = Renderer::default();
    let mut nodes = HashMap::new();
    for kind in Kind::ALL {
        scan(c, &Scan::of(kind), &mut |row: Row| {
            // Search covers what the caller holds a permission on, as lists do; groups are
            // kept as ancestors of visible projects.
            if kind != Kind::Group && !access.listed(c, &row)? {
                return Ok(true);
            }
            let (id, parent_id) = (row.id.clone(), row.parent_id.clone());
            let doc = renderer.render(c, row)?;
            nodes.insert(
                id,
                Node {
                    kind,
                    parent_id,
                    doc,
                },
            );
            Ok(true)
        })?;
    }
    Ok(nodes)
}

/// The ids from a container up to its group: itself first.
fn levels(nodes: &HashMap<String, Node>, id: &str) -> Vec<String> {
    let mut chain = Vec::new();
    let mut current = Some(id.to_string());
    while let Some(id) = current {
        let Some(node) = nodes.get(&id) else { break };
        current = node.parent_id.clone();
        chain.push(id);
        if chain.len() > 8 {
            break; // the hierarchy is at most seven deep; a loop would be corrupt data
        }
    }
    chain
}

/// One search document: each level's container under its level name, and the file.
fn document(nodes: &HashMap<String, Node>, levels: &[String], file: Option<&Value>) -> Value {
    let mut doc = Map::new();
    for id in levels {
        let node = &nodes[id.as_str()];
        doc.entry(node.kind.name())
            .or_insert_with(|| node.doc.clone());
    }
    if let Some(file) = file {
        doc.insert("file".into(), file.clone());
    }
    Value::Object(doc)
}

/// A `SearchResponse` (with `simple=true`): the per-level objects and the parent.
fn response(
    nodes: &HashMap<String, Node>,
    return_type: &str,
    id: &str,
    file: Option<&str>,
) -> Value {
    let pick = |doc: &Value, fields: &[&str]| -> Value {
        Value::Object(
            fields
                .iter()
                .filter_map(|f| doc.get(*f).map(|v| (f.to_string(), v.clone())))
                .collect(),
        )
    };
    let mut out = Map::new();
    out.insert("return_type".into(), json!(return_type));
    for level_id in levels(nodes, id) {
        let node = &nodes[level_id.as_str()];
        let fields: &[&str] = match node.kind {
            Kind::Group | Kind::Project => &["_id", "label"],
            Kind::Subject => &["_id", "code", "label", "created"],
            Kind::Session | Kind::Acquisition => &["_id", "label", "timestamp", "created"],
            Kind::Analysis => &["_id", "label", "created"],
        };
        out.entry(node.kind.name())
            .or_insert_with(|| pick(&node.doc, fields));
    }
    let node = &nodes[id];
    let parent = match file {
        Some(name) => {
            let file = node.doc["files"]
                .as_array()
                .and_then(|files| files.iter().find(|f| f["name"] == name))
                .cloned()
                .unwrap_or_default();
            out.insert(
                "file".into(),
                pick(
                    &file,
                    &["name", "type", "size", "classification", "created", "cvat"],
                ),
            );
            json!({"_id": id, "type": node.kind})
        }
        None => match node
            .parent_id
            .as_deref()
            .and_then(|p| nodes.get(p).map(|n| (p, n)))
        {
            Some((parent_id, parent)) => json!({"_id": parent_id, "type": parent.kind}),
            None => json!({"_id": id, "type": node.kind}),
        },
    };
    out.insert("parent".into(), parent);
    out.insert(
        "permissions".into(),
        node.doc
            .get("permissions")
            .cloned()
            .unwrap_or_else(|| json!([])),
    );
    Value::Object(out)
}
