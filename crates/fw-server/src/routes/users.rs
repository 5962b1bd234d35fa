//! Users, keys and who is calling; version and configuration; roles.

use axum::extract::Path;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::Body;
use super::{AppState, State};
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::ids::now;
use crate::roles;

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/status", get(auth_status))
        .route("/api/users/self", get(current_user))
        .route("/api/users/self/key", post(new_key))
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{id}", get(get_user))
        .route("/api/version", get(version))
        .route("/api/config", get(config))
        .route("/api/roles", get(list_roles).post(add_role))
        .route(
            "/api/roles/{id}",
            get(get_role).put(modify_role).delete(delete_role),
        )
}

async fn auth_status(caller: Caller, state: State) -> Result<Json<Value>, ApiError> {
    let id = caller.user_id.clone();
    let user = state
        .store
        .run(move |c| auth::user(c, &id))
        .await?
        .unwrap_or_default();
    Ok(Json(json!({
        "origin": {"type": "user", "id": caller.user_id},
        "user_id": caller.user_id,
        "user_is_admin": caller.site_admin,
        "is_device": false,
        "roles": user.get("roles").cloned().unwrap_or_else(|| json!([])),
    })))
}

async fn current_user(caller: Caller, state: State) -> Result<Json<Value>, ApiError> {
    let id = caller.user_id.clone();
    let user = state.store.run(move |c| auth::user(c, &id)).await?;
    user.map(Json)
        .ok_or_else(|| ApiError::not_found("the current user is gone"))
}

async fn new_key(caller: Caller, state: State) -> Result<Json<Value>, ApiError> {
    let id = caller.user_id.clone();
    let secret = state
        .store
        .write(move |c| auth::add_key(c, &id, None))
        .await?;
    Ok(Json(json!({"key": secret, "created": now()})))
}

async fn list_users(_: Caller, state: State) -> Result<Json<Value>, ApiError> {
    Ok(Json(Value::Array(
        state.store.run(|c| auth::users(c)).await?,
    )))
}

async fn get_user(
    _: Caller,
    state: State,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let shown = id.clone();
    state
        .store
        .run(move |c| auth::user(c, &id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("user {shown} not found")))
}

async fn add_user(caller: Caller, state: State, Body(body): Body) -> Result<Json<Value>, ApiError> {
    let id = state
        .store
        .write(move |c| auth::add_user(c, &caller, body))
        .await?;
    Ok(Json(json!({"_id": id})))
}

async fn version() -> Json<Value> {
    Json(json!({
        "_id": "version",
        "database": 1,
        "database_target": 1,
        "release": concat!("fw-server ", env!("CARGO_PKG_VERSION")),
        "flywheel_release": "23.0.0",
        "cli_version": "23.0.0",
        "applied_checks": {},
        "applied_fixes": {},
    }))
}

async fn config(state: State) -> Json<Value> {
    Json(json!({
        "site": {"id": "local", "name": "fw-server", "api_url": format!("{}/api", state.base_url)},
        "features": {"signed_url": state.signed_urls, "multipart_signed_url": false},
        "signed_url": state.signed_urls,
        "created": state.started,
        "modified": state.started,
    }))
}

async fn list_roles(_: Caller, state: State) -> Result<Json<Value>, ApiError> {
    let roles = state.store.run(|c| roles::all(c)).await?;
    Ok(Json(Value::Array(roles)))
}

async fn get_role(
    _: Caller,
    state: State,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.store.run(move |c| roles::get(c, &id)).await.map(Json)
}

async fn add_role(caller: Caller, state: State, Body(body): Body) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| roles::create(c, &caller, body))
        .await
        .map(Json)
}

async fn modify_role(
    caller: Caller,
    state: State,
    Path(id): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| roles::modify(c, &caller, &id, body))
        .await
        .map(Json)
}

async fn delete_role(
    caller: Caller,
    state: State,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    state
        .store
        .write(move |c| roles::delete(c, &caller, &id))
        .await?;
    Ok(axum::http::StatusCode::OK)
}
