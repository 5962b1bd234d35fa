//! Bulk downloads: `POST /download` plans an archive under a ticket, `GET /download`
//! streams it.

use axum::http::header;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::extract::{Body, Params};
use super::{AppState, State};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::{archive, bulk};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/download", get(bulk_download).post(create_download))
}

/// `POST /download[?prefix=&type=]`: plans a bulk archive; the reply is its ticket stub.
async fn create_download(
    caller: Caller,
    state: State,
    params: Params,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let request = bulk::Request::parse(
        body,
        params.get("prefix").as_deref(),
        params.get("type").as_deref(),
    )?;
    state
        .store
        .write(move |c| bulk::create_ticket(c, &caller, &request))
        .await
        .map(Json)
}

/// `GET /download?ticket=<ticket>&format=tar|zip`: the planned archive, streamed. The
/// ticket is the credential; no key is needed.
async fn bulk_download(state: State, params: Params) -> Result<Response, ApiError> {
    let ticket = params
        .get("ticket")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("GET /download needs ?ticket= from POST /download"))?;
    let format = archive::Format::parse(params.get("format").as_deref())?;
    let filename = {
        let ticket = ticket.clone();
        state
            .store
            .run(move |c| bulk::ticket_filename(c, &ticket))
            .await?
    };
    let (filename, content_type) = match format {
        archive::Format::Tar => (filename, "application/x-tar"),
        archive::Format::Zip => (
            format!("{}.zip", filename.trim_end_matches(".tar")),
            "application/zip",
        ),
    };
    let (store, blobs) = (state.store.clone(), state.blobs.clone());
    let body = archive::streamed_body(move |out| {
        archive::write_archive(out, format, &blobs, |skip| {
            store
                .run_blocking(|c| bulk::members(c, &ticket, skip))
                .map_err(|e| std::io::Error::other(e.message))
        })
    });
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .body(body)
        .map_err(|e| ApiError::internal(format!("cannot build the reply: {e}")))
}
