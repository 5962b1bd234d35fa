//! `POST /download/targets[?type=&prefix=]`: what `fw sync` asks for (flywheel-cli
//! 18.5.1, docs/wire.md §15.9). The same walk as a bulk download (`bulk::plan`: the same
//! nodes, filters, access and folder names), written as newline-delimited JSON, one
//! target per file, while it walks; the client then fetches each file from its
//! container (`GET /containers/{id}/files/{name}`).

use std::io::Write;

use axum::Router;
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use super::extract::{Body, Params};
use super::{AppState, State};
use crate::auth::Caller;
use crate::bulk::{self, Planned};
use crate::error::ApiError;
use crate::{archive, ids};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/download/targets", post(download_targets))
}

/// Parameters of `fw sync` this server does not honour: metadata sidecars and analyses
/// (refused, not ignored: docs/wire.md §15.6).
const NOT_HONOURED: [&str; 2] = ["metadata", "analyses"];

/// The targets of a download, streamed. A bad request, or a node the caller cannot read,
/// is a JSON error before the first line; a failure after it breaks the transfer.
async fn download_targets(
    caller: Caller,
    state: State,
    params: Params,
    Body(body): Body,
) -> Result<Response, ApiError> {
    if let Some(name) = NOT_HONOURED.into_iter().find(|name| params.is_true(name)) {
        return Err(ApiError::bad_request(format!(
            "{name}=true is not served by fw-server: targets are the files only"
        )));
    }
    let request = bulk::Request::parse(
        body,
        params.get("prefix").as_deref(),
        params.get("type").as_deref(),
    )?;
    let checked = (caller.clone(), request.clone());
    state
        .store
        .run(move |c| bulk::check_nodes(c, &checked.0, &checked.1))
        .await?;
    let store = state.store.clone();
    let body = archive::streamed_body(move |out| {
        store
            .run_blocking(|c| {
                bulk::plan(c, &caller, &request, &mut |planned| {
                    let mut line = target(&planned).to_string();
                    line.push('\n');
                    out.write_all(line.as_bytes())
                        .map_err(|e| ApiError::internal(format!("cannot send a target: {e}")))
                })
            })
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.message))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(body)
        .map_err(|e| ApiError::internal(format!("cannot build the reply: {e}")))
}

/// One target: where the file goes (`dst_path`), its size in bytes, when it was modified,
/// and where to fetch it (`container_id`, `filename`).
fn target(planned: &Planned<'_>) -> Value {
    let file = planned.file;
    json!({
        "download_type": "file",
        "dst_path": planned.path,
        "container_id": planned.container_id,
        "filename": file["name"],
        "filetype": file["type"],
        "size": file["size"].as_u64().unwrap_or(0),
        "modified": file["modified"].as_str().map_or_else(ids::now, str::to_string),
    })
}
