//! Users, keys and who is calling; version and configuration; roles.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::Params;
use super::{AppState, State, Tx, handler};
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::ids::now;
use crate::roles;

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    use Tx::{Read, Write};
    let current = |c: &_, caller: &Caller, ()| auth::get_user(c, &caller.user_id);
    let new_key = |c: &_, caller: &Caller, ()| auth::add_key(c, &caller.user_id, None);
    let users = |c: &_, (_, params): &(Caller, Params), ()| auth::list_users(c, &params.list()?);
    let user = |c: &_, _: &Caller, id: String| auth::get_user(c, &id);
    // Roles are few: paged here, over the whole list, like any list (§4.2).
    let roles = |c: &_, (_, params): &(Caller, Params), ()| {
        Ok::<_, ApiError>(params.list()?.paging()?.page(roles::all(c)?, "_id").0)
    };
    let role = |c: &_, _: &Caller, id: String| roles::get(c, &id);
    let modify = |c: &_, caller: &_, (id, body): (String, _)| roles::modify(c, caller, &id, body);
    let remove = |c: &_, caller: &_, id: String| roles::delete(c, caller, &id);
    let list = |items| Json(Value::Array(items));
    Router::new()
        .route("/api/auth/status", get(auth_status))
        .route("/api/users/self", get(handler(Read, current, Json)))
        .route(
            "/api/users/self/key",
            post(handler(Write, new_key, |key| {
                Json(json!({"key": key, "created": now()}))
            })),
        )
        .route(
            "/api/users",
            get(handler(Read, users, list)).post(handler(Write, auth::add_user, |id| {
                Json(json!({"_id": id}))
            })),
        )
        .route("/api/users/{item}", get(handler(Read, user, Json)))
        .route("/api/version", get(version))
        .route("/api/config", get(config))
        .route(
            "/api/roles",
            get(handler(Read, roles, list)).post(handler(Write, roles::create, Json)),
        )
        .route(
            "/api/roles/{item}",
            get(handler(Read, role, Json))
                .put(handler(Write, modify, Json))
                .delete(handler(Write, remove, |()| StatusCode::OK)),
        )
}

/// `GET /auth/status`: who calls, and their roles.
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

/// The Flywheel release whose API fw-server implements (the official SDK it serves).
const API_RELEASE: &str = "23.0.0";

/// `GET /version`: every version field a client reads holds the API release we implement,
/// a plain version number (fw-client 1.x parses `release`, 2.x `flywheel_release`); our
/// own name and version go in `fw_server` (docs/wire.md §15.9).
async fn version() -> Json<Value> {
    Json(json!({
        "_id": "version",
        "database": 1,
        "database_target": 1,
        "release": API_RELEASE,
        "flywheel_release": API_RELEASE,
        "cli_version": API_RELEASE,
        "fw_server": {"name": "fw-server", "version": env!("CARGO_PKG_VERSION")},
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
