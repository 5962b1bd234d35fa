//! Reply shapes shared by the handlers: `ModifiedResult`, `DeletedResult`, and the
//! `x-accept-feature` tokens (`pagination`, `slim-containers`, `exclude-files`).

use axum::Json;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::containers::Listing;

/// `{"modified": count, "jobs_spawned": 0}`.
pub(crate) fn modified(count: usize) -> Json<Value> {
    Json(json!({"modified": count, "jobs_spawned": 0}))
}

/// `{"deleted", "not_found", "delete_scheduled"}` for one thing that was there or not.
pub(crate) fn deleted(found: bool) -> Json<Value> {
    Json(
        json!({"deleted": usize::from(found), "not_found": usize::from(!found), "delete_scheduled": 0}),
    )
}

/// Whether `x-accept-feature` holds `feature` (tokens compare case-insensitively).
fn has_feature(headers: &HeaderMap, feature: &str) -> bool {
    headers
        .get_all("x-accept-feature")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case(feature))
}

/// Whether the client asked for `{count, total, results}` envelopes.
pub(crate) fn wants_envelope(headers: &HeaderMap) -> bool {
    has_feature(headers, "pagination")
}

/// `slim-containers` omits analyses and `exclude-files` omits files (docs/wire.md §5.1).
pub(crate) fn slim(mut doc: Value, headers: &HeaderMap) -> Value {
    if let Some(doc) = doc.as_object_mut() {
        if has_feature(headers, "slim-containers") {
            doc.remove("analyses");
        }
        if has_feature(headers, "exclude-files") {
            doc.remove("files");
        }
    }
    doc
}

/// A finder's page: a bare list, or an envelope when asked for; each item slimmed.
pub(crate) fn listing(mut listing: Listing, headers: &HeaderMap) -> Response {
    listing.items = listing
        .items
        .into_iter()
        .map(|doc| slim(doc, headers))
        .collect();
    if wants_envelope(headers) {
        Json(
            json!({"count": listing.items.len(), "total": listing.total, "results": listing.items}),
        )
        .into_response()
    } else {
        Json(listing.items).into_response()
    }
}
