//! Finding things: FlyQL search, lookup and resolve by path, and the modalities.

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::{Body, Params};
use super::{AppState, State};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::{lookup, modalities, search};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/modalities", get(list_modalities))
        .route("/api/modalities/{id}", get(modality))
        .route("/api/lookup", post(lookup))
        .route("/api/resolve", post(resolve))
        .route("/api/dataexplorer/search", post(search))
}

async fn list_modalities(_: Caller) -> Json<Value> {
    Json(Value::Array(modalities::all()))
}

async fn modality(_: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    modalities::get(&id).map(Json)
}

/// `POST /lookup` `{"path"}`: the last node of the path.
async fn lookup(caller: Caller, state: State, Body(body): Body) -> Result<Json<Value>, ApiError> {
    let path = lookup::path_of(body)?;
    let resolved = state
        .store
        .run(move |c| lookup::resolve(c, &caller, &path, false))
        .await?;
    resolved
        .path
        .into_iter()
        .last()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("Not Found"))
}

/// `POST /resolve` `{"path"}`: the nodes along the path and the children of the last.
async fn resolve(caller: Caller, state: State, Body(body): Body) -> Result<Json<Value>, ApiError> {
    let path = lookup::path_of(body)?;
    let resolved = state
        .store
        .run(move |c| lookup::resolve(c, &caller, &path, true))
        .await?;
    Ok(Json(
        json!({"path": resolved.path, "children": resolved.children}),
    ))
}

/// `POST /dataexplorer/search[?size=]`.
async fn search(
    caller: Caller,
    state: State,
    params: Params,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let size = params.number("size")?;
    let results = state
        .store
        .run(move |c| search::search(c, &caller, body, size))
        .await?;
    Ok(Json(Value::Array(results)))
}
