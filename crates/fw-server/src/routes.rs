//! The HTTP API under `/api` (wire-protocol.md §1-§9).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request};
use axum::http::{HeaderMap, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{self, Caller};
use crate::containers::{self, ListParams};
use crate::error::ApiError;
use crate::ids::now;
use crate::kind::Kind;
use crate::store::container;
use crate::{archive, bulk, files, lookup, metadata, search};

/// The largest JSON body accepted: metadata, never file contents.
const MAX_JSON_BODY: usize = 16 << 20;

/// Every route of this part of the API.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/auth/status", get(auth_status))
        .route("/api/users/self", get(current_user))
        .route("/api/users/self/key", post(new_key))
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{id}", get(get_user))
        .route("/api/version", get(version))
        .route("/api/config", get(config))
        .route("/api/roles", get(roles).post(add_role))
        .route(
            "/api/roles/{id}",
            get(get_role).put(modify_role).delete(delete_role),
        )
        .route("/api/modalities", get(modalities))
        .route("/api/modalities/{id}", get(modality))
        .route("/api/lookup", post(lookup))
        .route("/api/resolve", post(resolve))
        .route("/api/dataexplorer/search", post(search))
        .route("/api/download", get(bulk_download).post(create_download))
        .route("/api/containers/{id}", get(get_container))
        .route("/storage/{ticket}/{name}", axum::routing::put(storage_put))
        .route("/api/files", get(list_files))
        .route("/api/files/{file_id}", get(get_file))
        .route(
            "/api/files/{file_id}/tags",
            axum::routing::patch(add_file_tags).put(replace_file_tags),
        )
        // Uploads stream to disk, so they have no body limit; everything else keeps one.
        .route(
            "/api/containers/{id}/files",
            post(upload_to_container).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/containers/{id}/files/{name}",
            get(download_from_container),
        )
        .route(
            "/api/{collection}/{id}/files",
            post(upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/{collection}/{id}/files/{name}",
            get(download).put(update_file).delete(delete_file),
        )
        .route(
            "/api/{collection}/{id}/files/{name}/info",
            axum::routing::patch(update_file_info),
        )
        .route(
            "/api/{collection}/{id}/files/{name}/classification",
            axum::routing::patch(classify_file),
        )
        .route("/api/{collection}", get(list).post(create))
        .route(
            "/api/{collection}/{id}",
            get(get_one).put(update).delete(delete),
        )
        .route("/api/{collection}/{id}/analyses", post(add_analysis))
        .route("/api/{collection}/{id}/permissions", post(add_permission))
        .route("/api/{collection}/{id}/roles", post(add_group_role))
        .route(
            "/api/{collection}/{id}/info",
            axum::routing::patch(update_info),
        )
        .route("/api/{collection}/{id}/tags", post(add_tag))
        .route(
            "/api/{collection}/{id}/tags/{tag}",
            axum::routing::put(rename_tag).delete(delete_tag),
        )
        .route("/api/{collection}/{id}/notes", post(add_note))
        .route(
            "/api/{collection}/{id}/notes/{note}",
            axum::routing::delete(delete_note),
        )
        .route(
            "/api/{collection}/{id}/permissions/{user}",
            get(get_permission)
                .put(update_permission)
                .delete(remove_permission),
        )
        .route("/api/{collection}/{id}/{children}", get(list_children))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method",
            )
        })
        .with_state(state)
}

/// Query parameters; a malformed query is a JSON 400 like every other error.
struct Params(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, ApiError> {
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
    }
}

impl Params {
    fn number(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.0
            .get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a whole number, not {v:?}"))
                })
            })
            .transpose()
    }

    fn list(&self) -> Result<ListParams, ApiError> {
        Ok(ListParams {
            filter: self.0.get("filter").cloned(),
            sort: self.0.get("sort").cloned(),
            limit: self.number("limit")?,
            skip: self.number("skip")?,
            page: self.number("page")?,
            after_id: self.0.get("after_id").cloned(),
        })
    }
}

/// A JSON body; an empty body (even with `Content-Type: application/json`, as the SDK
/// sends on DELETE) reads as `null`.
struct Body(Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Body, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Null));
        }
        crate::json::parse_body(&bytes, "the body").map(Body)
    }
}

fn kind_of(collection: &str) -> Result<Kind, ApiError> {
    Kind::from_collection(collection)
        .ok_or_else(|| ApiError::not_found(format!("no such collection: {collection}")))
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
fn wants_envelope(headers: &HeaderMap) -> bool {
    has_feature(headers, "pagination")
}

/// `slim-containers` omits analyses and `exclude-files` omits files (wire-protocol §5.1).
fn slim(mut doc: Value, headers: &HeaderMap) -> Value {
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

fn listing_reply(mut listing: containers::Listing, headers: &HeaderMap) -> Response {
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

async fn auth_status(
    caller: Caller,
    state: axum::extract::State<AppState>,
) -> Result<Json<Value>, ApiError> {
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

async fn current_user(
    caller: Caller,
    state: axum::extract::State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let id = caller.user_id.clone();
    let user = state.store.run(move |c| auth::user(c, &id)).await?;
    user.map(Json)
        .ok_or_else(|| ApiError::not_found("the current user is gone"))
}

async fn new_key(
    caller: Caller,
    state: axum::extract::State<AppState>,
) -> Result<Json<Value>, ApiError> {
    let id = caller.user_id.clone();
    let secret = state
        .store
        .write(move |c| auth::add_key(c, &id, None))
        .await?;
    Ok(Json(json!({"key": secret, "created": now()})))
}

async fn list_users(
    _: Caller,
    state: axum::extract::State<AppState>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(Value::Array(
        state.store.run(|c| auth::users(c)).await?,
    )))
}

async fn get_user(
    _: Caller,
    state: axum::extract::State<AppState>,
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

async fn add_user(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    if !caller.site_admin {
        return Err(ApiError::forbidden("only site admins add users"));
    }
    let input: fw_model::UserInput = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid user: {e}")))?;
    let id = input
        .id
        .as_ref()
        .map(|id| id.as_str().to_string())
        .ok_or_else(|| ApiError::bad_request("a user needs an `_id`"))?;
    let fields = serde_json::to_value(&input)
        .map_err(|e| ApiError::internal(format!("cannot re-encode a user: {e}")))?;
    let created_id = id.clone();
    let created = state
        .store
        .write(move |c| auth::ensure_user(c, &id, &fields))
        .await?;
    if !created {
        return Err(ApiError::conflict(format!(
            "user {created_id} exists already"
        )));
    }
    Ok(Json(json!({"_id": created_id})))
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

async fn config(state: axum::extract::State<AppState>) -> Json<Value> {
    Json(json!({
        "site": {"id": "local", "name": "fw-server", "api_url": format!("{}/api", state.base_url)},
        "features": {"signed_url": state.signed_urls, "multipart_signed_url": false},
        "signed_url": state.signed_urls,
        "created": state.started,
        "modified": state.started,
    }))
}

async fn roles(_: Caller, state: State) -> Result<Json<Value>, ApiError> {
    let roles = state.store.run(|c| crate::roles::all(c)).await?;
    Ok(Json(Value::Array(roles)))
}

async fn get_role(
    _: Caller,
    state: State,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .run(move |c| crate::roles::get(c, &id))
        .await
        .map(Json)
}

async fn add_role(caller: Caller, state: State, Body(body): Body) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| crate::roles::create(c, &caller, body))
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
        .write(move |c| crate::roles::modify(c, &caller, &id, body))
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
        .write(move |c| crate::roles::delete(c, &caller, &id))
        .await?;
    Ok(axum::http::StatusCode::OK)
}

async fn get_container(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let doc = state
        .store
        .run(move |c| {
            let row = containers::get(c, &caller, None, &id)?;
            let mut doc = containers::render(c, &row)?;
            doc["container_type"] = json!(row.kind);
            Ok(doc)
        })
        .await?;
    Ok(Json(slim(doc, &headers)))
}

async fn list(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path(collection): Path<String>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = kind_of(&collection)?;
    let params = params.list()?;
    let envelope = wants_envelope(&headers);
    let listing = state
        .store
        .run(move |c| containers::list(c, &caller, kind, None, &params, envelope))
        .await?;
    Ok(listing_reply(listing, &headers))
}

async fn list_children(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id, children)): Path<(String, String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let parent_kind = kind_of(&collection)?;
    let child_kind = kind_of(&children)?;
    let allowed = matches!(
        (parent_kind, child_kind),
        (Kind::Group, Kind::Project)
            | (Kind::Project, Kind::Subject)
            | (Kind::Project, Kind::Session)
            | (Kind::Subject, Kind::Session)
            | (Kind::Session, Kind::Acquisition)
            | (
                Kind::Project | Kind::Subject | Kind::Session | Kind::Acquisition,
                Kind::Analysis
            )
    );
    if !allowed {
        return Err(ApiError::not_found(format!(
            "no such endpoint: /{collection}/{{id}}/{children}"
        )));
    }
    let params = params.list()?;
    let envelope = wants_envelope(&headers);
    let listing = state
        .store
        .run(move |c| {
            let parent = containers::get(c, &caller, Some(parent_kind), &id)?;
            containers::list(c, &caller, child_kind, Some(&parent), &params, envelope)
        })
        .await?;
    Ok(listing_reply(listing, &headers))
}

async fn create(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path(collection): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let id = state
        .store
        .write(move |c| containers::create(c, &caller, kind, body))
        .await?;
    Ok(Json(json!({"_id": id})))
}

async fn add_analysis(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let id = state
        .store
        .write(move |c| {
            let parent = containers::get(c, &caller, Some(kind), &id)?;
            containers::create_analysis(c, &caller, &parent, body)
        })
        .await?;
    Ok(Json(json!({"_id": id})))
}

async fn get_one(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let join_origin = params
        .0
        .get("join")
        .is_some_and(|j| j.split(',').any(|part| part.trim() == "origin"));
    let doc = state
        .store
        .run(move |c| {
            let row = containers::get(c, &caller, Some(kind), &id)?;
            let mut doc = containers::render(c, &row)?;
            if join_origin {
                doc["join-origin"] = containers::join_origin(c, &doc)?;
            }
            Ok(doc)
        })
        .await?;
    Ok(Json(slim(doc, &headers)))
}

async fn update(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    state
        .store
        .write(move |c| containers::update(c, &caller, kind, &id, body))
        .await?;
    Ok(Json(json!({"modified": 1, "jobs_spawned": 0})))
}

async fn delete(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let exists = {
        let id = id.clone();
        state.store.run(move |c| container(c, &id)).await?.is_some()
    };
    if !exists {
        return Err(ApiError::not_found(format!(
            "{} {id} not found",
            kind.name()
        )));
    }
    state
        .store
        .write(move |c| containers::delete(c, &caller, kind, &id))
        .await?;
    Ok(Json(
        json!({"deleted": 1, "not_found": 0, "delete_scheduled": 0}),
    ))
}

async fn add_permission(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let permission = state
        .store
        .write(move |c| containers::set_permission(c, &caller, kind, &id, None, body))
        .await?;
    Ok(Json(permission))
}

async fn update_permission(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id, user)): Path<(String, String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let permission = state
        .store
        .write(move |c| containers::set_permission(c, &caller, kind, &id, Some(&user), body))
        .await?;
    Ok(Json(permission))
}

async fn remove_permission(
    caller: Caller,
    state: axum::extract::State<AppState>,
    Path((collection, id, user)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    state
        .store
        .write(move |c| containers::delete_permission(c, &caller, kind, &id, &user))
        .await?;
    Ok(Json(json!({"modified": 1, "jobs_spawned": 0})))
}

type State = axum::extract::State<AppState>;

fn modified(count: usize) -> Json<Value> {
    Json(json!({"modified": count, "jobs_spawned": 0}))
}

fn deleted(found: bool) -> Json<Value> {
    Json(
        json!({"deleted": usize::from(found), "not_found": usize::from(!found), "delete_scheduled": 0}),
    )
}

async fn modalities(_: Caller) -> Json<Value> {
    Json(Value::Array(lookup::modalities()))
}

async fn modality(_: Caller, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    lookup::modalities()
        .into_iter()
        .find(|m| m["_id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("modality {id} not found")))
}

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

async fn add_group_role(
    caller: Caller,
    state: State,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    if collection != "groups" {
        return Err(ApiError::not_found(format!(
            "no such endpoint: /{collection}/{{id}}/roles"
        )));
    }
    let role: fw_model::GroupRole = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("invalid group role: {e}")))?;
    state
        .store
        .write(move |c| {
            let role = crate::roles::get(c, role.id.as_str())?;
            containers::add_group_role(c, &caller, &id, role["_id"].clone())?;
            Ok(role)
        })
        .await
        .map(Json)
}

async fn update_info(
    caller: Caller,
    state: State,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    state
        .store
        .write(move |c| metadata::update_info(c, &caller, kind, &id, body))
        .await?;
    Ok(modified(1))
}

async fn add_tag(
    caller: Caller,
    state: State,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let added = state
        .store
        .write(move |c| metadata::add_tag(c, &caller, kind, &id, body))
        .await?;
    Ok(modified(added))
}

async fn rename_tag(
    caller: Caller,
    state: State,
    Path((collection, id, tag)): Path<(String, String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let new = state
        .store
        .write(move |c| metadata::rename_tag(c, &caller, kind, &id, &tag, body))
        .await?;
    Ok(Json(json!(new)))
}

async fn delete_tag(
    caller: Caller,
    state: State,
    Path((collection, id, tag)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let found = state
        .store
        .write(move |c| metadata::delete_tag(c, &caller, kind, &id, &tag))
        .await?;
    Ok(deleted(found))
}

async fn add_note(
    caller: Caller,
    state: State,
    Path((collection, id)): Path<(String, String)>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let note = state
        .store
        .write(move |c| metadata::add_note(c, &caller, kind, &id, body))
        .await?;
    Ok(Json(note))
}

async fn delete_note(
    caller: Caller,
    state: State,
    Path((collection, id, note)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let found = state
        .store
        .write(move |c| metadata::delete_note(c, &caller, kind, &id, &note))
        .await?;
    Ok(deleted(found))
}

async fn get_permission(
    caller: Caller,
    state: State,
    Path((collection, id, user)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let kind = kind_of(&collection)?;
    let row = state
        .store
        .run(move |c| containers::get(c, &caller, Some(kind), &id))
        .await?;
    row.doc["permissions"]
        .as_array()
        .and_then(|permissions| permissions.iter().find(|p| p["_id"] == user.as_str()))
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "{user} has no permission on {} {}",
                kind.name(),
                row.id
            ))
        })
}

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

async fn upload_to_container(
    caller: Caller,
    state: State,
    Path(id): Path<String>,
    params: Params,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    upload(
        caller,
        state,
        Path(("containers".to_string(), id)),
        params,
        request,
    )
    .await
}

/// `POST /{coll}/{id}/files`: a `metadata` part, then one or more `file` parts, each
/// streamed to disk; replies with the new file entries.
async fn upload(
    caller: Caller,
    state: State,
    Path((collection, id)): Path<(String, String)>,
    params: Params,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    // Permission first: nobody streams a gigabyte only to be told no.
    {
        let (caller, collection, id) = (caller.clone(), collection.clone(), id.clone());
        state
            .store
            .run(move |c| {
                files::container_of(c, &caller, &collection, &id, crate::access::Level::Rw)
            })
            .await?;
    }
    if let Some(ticket) = params.0.get("ticket").cloned() {
        if !state.signed_urls {
            return Err(ApiError::bad_request(
                "signed-URL uploads are not enabled on this server (GET /config says signed_url: false)",
            ));
        }
        let Body(body) = Body::from_request(request, &()).await?;
        let blobs = state.blobs.clone();
        let base_url = state.base_url.clone();
        let reply = state
            .store
            .write(move |c| {
                let row =
                    files::container_of(c, &caller, &collection, &id, crate::access::Level::Rw)?;
                if ticket.is_empty() {
                    files::open_ticket(c, &caller, &row, body, &base_url)
                } else {
                    files::close_ticket(c, &caller, &blobs, row, &ticket).map(Value::Array)
                }
            })
            .await?;
        return Ok(Json(reply));
    }
    let multipart = axum::extract::Multipart::from_request(request, &()).await;
    let mut multipart = multipart
        .map_err(|e| ApiError::bad_request(format!("expected a multipart/form-data body: {e}")))?;
    let mut metadata = None;
    let mut staged = Vec::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("malformed multipart body: {e}")))?
    {
        match field.name() {
            Some("metadata") => {
                // Uploads have no body limit, so the metadata part keeps the JSON one.
                let mut bytes = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("unreadable metadata part: {e}")))?
                {
                    if bytes.len() + chunk.len() > MAX_JSON_BODY {
                        return Err(ApiError::new(
                            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                            format!("the metadata part is larger than {MAX_JSON_BODY} bytes"),
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                metadata = Some(crate::json::parse_body(&bytes, "the metadata part")?);
            }
            Some("file") => {
                let name = field.file_name().unwrap_or_default().to_string();
                files::check_name(&name)?;
                let mut upload = state.blobs.begin().await?;
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    ApiError::bad_request(format!("the upload of {name:?} broke off: {e}"))
                })? {
                    upload.write(&chunk).await?;
                }
                staged.push(upload.finish(name).await?);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected part {other:?}: send `metadata` and `file` parts"
                )));
            }
        }
    }
    if staged.is_empty() {
        return Err(ApiError::bad_request("the upload has no `file` part"));
    }
    let blobs = state.blobs.clone();
    let entries = state
        .store
        .write(move |c| {
            let row = files::container_of(c, &caller, &collection, &id, crate::access::Level::Rw)?;
            files::record(c, &caller, &blobs, row, metadata, staged)
        })
        .await?;
    Ok(Json(Value::Array(entries)))
}

async fn download_from_container(
    caller: Result<Caller, ApiError>,
    state: State,
    Path((id, name)): Path<(String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    download(
        caller,
        state,
        Path(("containers".to_string(), id, name)),
        params,
        headers,
    )
    .await
}

/// `GET /{coll}/{id}/files/{name}`: the bytes, streamed (`version`, `Range`, `view`), a
/// download ticket for `?ticket=`, or the file for `?ticket=<ticket>` without a key.
async fn download(
    caller: Result<Caller, ApiError>,
    state: State,
    Path((collection, id, name)): Path<(String, String, String)>,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    use axum::http::{StatusCode, header};
    files::check_name(&name)?;
    let version = params.number("version")?.map(|v| v as i64);
    let ticket = params.0.get("ticket").cloned();
    let (entry, new_ticket) = state
        .store
        .run(move |c| match ticket.as_deref() {
            Some(ticket) if !ticket.is_empty() => {
                let row = crate::store::container(c, &id)?
                    .ok_or_else(|| ApiError::not_found("no such container"))?;
                let granted = files::ticket_grant(c, ticket, &row.id, &name)?;
                let entry =
                    files::entry(c, &row, &name, version.or(Some(granted)).filter(|v| *v > 0))?;
                Ok((entry, None))
            }
            asked => {
                let caller = caller?;
                let row =
                    files::container_of(c, &caller, &collection, &id, crate::access::Level::Ro)?;
                let entry = files::entry(c, &row, &name, version)?;
                let ticket = if asked.is_some() {
                    Some(files::new_ticket(c, &row, &entry)?)
                } else {
                    None
                };
                Ok((entry, ticket))
            }
        })
        .await?;
    let size = entry["size"].as_u64().unwrap_or(0);
    if let Some(ticket) = new_ticket {
        return Ok(
            Json(json!({"ticket": ticket, "filename": entry["name"], "size": size}))
                .into_response(),
        );
    }
    let path = entry["hash"]
        .as_str()
        .and_then(|h| state.blobs.path_of(h))
        .ok_or_else(|| ApiError::internal("the file entry has no content hash"))?;
    let name = entry["name"].as_str().unwrap_or_default().to_string();
    if params.0.get("info").is_some_and(|v| v == "true") {
        let info = on_blocking_pool(move || archive::zip_info(&path, &name)).await?;
        return Ok(Json(info).into_response());
    }
    if let Some(member) = params.0.get("member").filter(|m| !m.is_empty()).cloned() {
        let (body, size) =
            on_blocking_pool(move || archive::zip_member(path, &name, &member)).await?;
        return Response::builder()
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(header::CONTENT_LENGTH, size)
            .body(body)
            .map_err(|e| ApiError::internal(format!("cannot build the reply: {e}")));
    }
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::internal(format!("the content of this file is missing: {e}")))?;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match range {
        None => (StatusCode::OK, 0, size),
        Some(range) => match files::parse_range(range, size) {
            Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
            None => {
                return Err(ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    format!("cannot serve {range} of {size} bytes"),
                ));
            }
        },
    };
    tokio::io::AsyncSeekExt::seek(&mut file, std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::internal(format!("cannot read the file: {e}")))?;
    let body =
        axum::body::Body::from_stream(reader_stream(tokio::io::AsyncReadExt::take(file, length)));
    let content_type = if params.0.get("view").is_some_and(|v| v == "true") {
        entry["mimetype"]
            .as_str()
            .unwrap_or("application/octet-stream")
            .to_string()
    } else {
        "application/octet-stream".to_string()
    };
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, length)
        .header(header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", start + length - 1),
        );
    }
    response
        .body(body)
        .map_err(|e| ApiError::internal(format!("cannot build the reply: {e}")))
}

/// Runs blocking file work (reading a zip's directory) off the async threads.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("a blocking task failed: {e}")))?
}

/// The bytes of a reader as a body stream, 256 KiB at a time.
fn reader_stream(
    reader: impl tokio::io::AsyncRead + Send + 'static,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    tokio_util::io::ReaderStream::with_capacity(reader, 256 * 1024)
}

/// `POST /download[?prefix=&type=]`: plans a bulk archive; the reply is its ticket stub.
async fn create_download(
    caller: Caller,
    state: State,
    params: Params,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let prefix = params.0.get("prefix").cloned();
    let layout = params.0.get("type").cloned();
    state
        .store
        .write(move |c| bulk::create_ticket(c, &caller, body, prefix.as_deref(), layout.as_deref()))
        .await
        .map(Json)
}

/// `GET /download?ticket=<ticket>&format=tar|zip`: the planned archive, streamed. The
/// ticket is the credential; no key is needed.
async fn bulk_download(state: State, params: Params) -> Result<Response, ApiError> {
    use axum::http::header;
    let ticket = params
        .0
        .get("ticket")
        .filter(|t| !t.is_empty())
        .cloned()
        .ok_or_else(|| ApiError::bad_request("GET /download needs ?ticket= from POST /download"))?;
    let format = archive::Format::parse(params.0.get("format").map(String::as_str))?;
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

type FilePath = Path<(String, String, String)>;

/// Applies `change` with the request body to the current entry of a file (read-write).
async fn edit_file(
    caller: Caller,
    state: State,
    Path((collection, id, name)): FilePath,
    body: Value,
    change: fn(&mut serde_json::Map<String, Value>, Value) -> Result<(), ApiError>,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| {
            let level = crate::access::Level::Rw;
            files::modify(c, &caller, &collection, &id, &name, level, |entry| {
                change(entry, body)
            })
        })
        .await?;
    Ok(modified(1))
}

async fn update_file(
    caller: Caller,
    state: State,
    path: FilePath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    edit_file(caller, state, path, body, files::update).await
}

async fn update_file_info(
    caller: Caller,
    state: State,
    path: FilePath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    edit_file(caller, state, path, body, files::update_info).await
}

async fn classify_file(
    caller: Caller,
    state: State,
    path: FilePath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    edit_file(caller, state, path, body, files::classify).await
}

async fn delete_file(
    caller: Caller,
    state: State,
    Path((collection, id, name)): FilePath,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| files::delete(c, &caller, &collection, &id, &name))
        .await?;
    Ok(deleted(true))
}

async fn list_files(caller: Caller, state: State, params: Params) -> Result<Json<Value>, ApiError> {
    let params = params.list()?;
    Ok(Json(
        state
            .store
            .run(move |c| files::list(c, &caller, &params))
            .await?,
    ))
}

async fn get_file(
    caller: Caller,
    state: State,
    Path(file_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let version = params.number("version")?.map(|v| v as i64);
    Ok(Json(
        state
            .store
            .run(move |c| files::get_by_id(c, &caller, &file_id, version))
            .await?,
    ))
}

async fn add_file_tags(
    caller: Caller,
    state: State,
    Path(file_id): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let tags = state
        .store
        .write(move |c| files::set_tags(c, &caller, &file_id, body, false))
        .await?;
    Ok(Json(json!(tags)))
}

async fn replace_file_tags(
    caller: Caller,
    state: State,
    Path(file_id): Path<String>,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    // The SDK reads PUT's reply as a ModifiedResult (and PATCH's as the list of tags).
    state
        .store
        .write(move |c| files::set_tags(c, &caller, &file_id, body, true))
        .await?;
    Ok(modified(1))
}

/// `PUT /storage/{ticket}/{name}`: the storage URL of a signed-URL upload; the ticket is the
/// only credential. The bytes wait in `tmp/` until the ticket closes.
async fn storage_put(
    state: State,
    Path((ticket, name)): Path<(String, String)>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    use futures_util::StreamExt;
    files::check_name(&name)?;
    {
        let (ticket, name) = (ticket.clone(), name.clone());
        state
            .store
            .run(move |c| files::ticket_accepts(c, &ticket, &name))
            .await?;
    }
    let mut upload = state.blobs.begin().await?;
    let mut body = request.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("the upload of {name:?} broke off: {e}")))?;
        upload.write(&chunk).await?;
    }
    let staged = upload.finish(name).await?;
    let blobs = state.blobs.clone();
    state
        .store
        .write(move |c| files::keep_ticket_upload(c, &blobs, &ticket, staged))
        .await?;
    Ok(Json(json!({})))
}
