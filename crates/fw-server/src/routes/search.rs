//! Finding things: FlyQL search, lookup and resolve by path, and the modalities.

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::Connection;
use serde_json::{Value, json};

use super::extract::Params;
use super::{AppState, Tx, handler};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::{lookup, modalities, search};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    use Tx::Read;
    Router::new()
        .route("/api/modalities", get(list_modalities))
        .route("/api/modalities/{id}", get(modality))
        .route("/api/lookup", post(handler(Read, lookup, Json)))
        .route("/api/resolve", post(handler(Read, resolve, Json)))
        .route(
            "/api/dataexplorer/search",
            post(handler(Tx::Scan, search, |results| {
                Json(Value::Array(results))
            })),
        )
}

/// `GET /modalities`, with every paging parameter (§4.2).
async fn list_modalities(_: Caller, params: Params) -> Result<Json<Value>, ApiError> {
    let paging = params.list()?.paging()?;
    Ok(Json(Value::Array(paging.page(modalities::all(), "_id").0)))
}

async fn modality(_: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    modalities::get(&id).map(Json)
}

/// `POST /lookup` `{"path"}`: the last node of the path.
fn lookup(c: &Connection, caller: &Caller, body: Value) -> Result<Value, ApiError> {
    let resolved = lookup::resolve(c, caller, &lookup::path_of(body)?, false)?;
    resolved
        .path
        .into_iter()
        .last()
        .ok_or_else(|| ApiError::not_found("Not Found"))
}

/// `POST /resolve` `{"path"}`: the nodes along the path and the children of the last.
fn resolve(c: &Connection, caller: &Caller, body: Value) -> Result<Value, ApiError> {
    let path = lookup::segments_of(body)?;
    let resolved = if path.is_empty() {
        lookup::root(c, caller)?
    } else {
        lookup::resolve(c, caller, &path, true)?
    };
    Ok(json!({"path": resolved.path, "children": resolved.children}))
}

/// `POST /dataexplorer/search[?size=]`.
fn search(
    c: &Connection,
    (caller, params): &(Caller, Params),
    body: Value,
) -> Result<Vec<Value>, ApiError> {
    search::search(c, caller, body, params.number("size")?)
}
