//! The container hierarchy: finders, create, read, update (and move), delete; analyses,
//! permissions, a group's roles; info, tags and notes.

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::{Body, Collection, ContainerPath, Item, Params};
use super::reply::{self, deleted, modified, slim, wants_envelope};
use super::{AppState, State};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::{containers, metadata};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/containers/{id}", get(get_container))
        .route("/api/{collection}", get(list).post(create))
        .route(
            "/api/{collection}/{id}",
            get(get_one).put(update).delete(remove),
        )
        .route("/api/{collection}/{id}/analyses", post(add_analysis))
        .route("/api/{collection}/{id}/permissions", post(add_permission))
        .route(
            "/api/{collection}/{id}/permissions/{item}",
            get(get_permission)
                .put(update_permission)
                .delete(remove_permission),
        )
        .route("/api/{collection}/{id}/roles", post(add_group_role))
        .route("/api/{collection}/{id}/info", patch(update_info))
        .route("/api/{collection}/{id}/tags", post(add_tag))
        .route(
            "/api/{collection}/{id}/tags/{item}",
            put(rename_tag).delete(delete_tag),
        )
        .route("/api/{collection}/{id}/notes", post(add_note))
        .route("/api/{collection}/{id}/notes/{item}", delete(delete_note))
        .route("/api/{collection}/{id}/{item}", get(list_children))
}

/// `GET /containers/{id}`: a container of any kind, with its `container_type`.
async fn get_container(
    caller: Caller,
    state: State,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let doc = state
        .store
        .run(move |c| containers::show(c, &caller, None, &id, false))
        .await?;
    Ok(Json(slim(doc, &headers)))
}

async fn list(
    caller: Caller,
    state: State,
    Collection(kind): Collection,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = params.list()?;
    let envelope = wants_envelope(&headers);
    let listing = state
        .store
        .run(move |c| containers::list(c, &caller, kind, None, &params, envelope))
        .await?;
    Ok(reply::listing(listing, &headers))
}

/// `GET /{collection}/{id}/{children}`: a finder below a container.
async fn list_children(
    caller: Caller,
    state: State,
    parent: ContainerPath,
    Item(children): Item,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let child = Kind::from_collection(&children)
        .ok_or_else(|| ApiError::not_found(format!("no such collection: {children}")))?;
    let params = params.list()?;
    let envelope = wants_envelope(&headers);
    let listing = state
        .store
        .run(move |c| {
            containers::list_children(
                c,
                &caller,
                parent.kind,
                &parent.id,
                child,
                &params,
                envelope,
            )
        })
        .await?;
    Ok(reply::listing(listing, &headers))
}

async fn create(
    caller: Caller,
    state: State,
    Collection(kind): Collection,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let id = state
        .store
        .write(move |c| containers::create(c, &caller, kind, body))
        .await?;
    Ok(Json(json!({"_id": id})))
}

async fn add_analysis(
    caller: Caller,
    state: State,
    parent: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let id = state
        .store
        .write(move |c| containers::create_analysis(c, &caller, parent.kind, &parent.id, body))
        .await?;
    Ok(Json(json!({"_id": id})))
}

/// `GET /{collection}/{id}[?join=origin]`.
async fn get_one(
    caller: Caller,
    state: State,
    path: ContainerPath,
    params: Params,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let join_origin = params
        .get("join")
        .is_some_and(|j| j.split(',').any(|part| part.trim() == "origin"));
    let doc = state
        .store
        .run(move |c| containers::show(c, &caller, Some(path.kind), &path.id, join_origin))
        .await?;
    Ok(Json(slim(doc, &headers)))
}

async fn update(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| containers::update(c, &caller, path.kind, &path.id, body))
        .await?;
    Ok(modified(1))
}

async fn remove(
    caller: Caller,
    state: State,
    path: ContainerPath,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| containers::delete(c, &caller, path.kind, &path.id))
        .await?;
    Ok(deleted(true))
}

async fn add_permission(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let permission = state
        .store
        .write(move |c| containers::set_permission(c, &caller, path.kind, &path.id, None, body))
        .await?;
    Ok(Json(permission))
}

async fn get_permission(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(user): Item,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .run(move |c| containers::get_permission(c, &caller, path.kind, &path.id, &user))
        .await
        .map(Json)
}

async fn update_permission(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(user): Item,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let permission = state
        .store
        .write(move |c| {
            containers::set_permission(c, &caller, path.kind, &path.id, Some(&user), body)
        })
        .await?;
    Ok(Json(permission))
}

async fn remove_permission(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(user): Item,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| containers::delete_permission(c, &caller, path.kind, &path.id, &user))
        .await?;
    Ok(modified(1))
}

/// `POST /groups/{id}/roles` `{"_id"}`: replies with the role.
async fn add_group_role(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| containers::add_group_role(c, &caller, path.kind, &path.id, body))
        .await
        .map(Json)
}

async fn update_info(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .write(move |c| metadata::update_info(c, &caller, path.kind, &path.id, body))
        .await?;
    Ok(modified(1))
}

async fn add_tag(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let added = state
        .store
        .write(move |c| metadata::add_tag(c, &caller, path.kind, &path.id, body))
        .await?;
    Ok(modified(added))
}

async fn rename_tag(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(tag): Item,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let new = state
        .store
        .write(move |c| metadata::rename_tag(c, &caller, path.kind, &path.id, &tag, body))
        .await?;
    Ok(Json(json!(new)))
}

async fn delete_tag(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(tag): Item,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .store
        .write(move |c| metadata::delete_tag(c, &caller, path.kind, &path.id, &tag))
        .await?;
    Ok(deleted(found))
}

async fn add_note(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Body(body): Body,
) -> Result<Json<Value>, ApiError> {
    let note = state
        .store
        .write(move |c| metadata::add_note(c, &caller, path.kind, &path.id, body))
        .await?;
    Ok(Json(note))
}

async fn delete_note(
    caller: Caller,
    state: State,
    path: ContainerPath,
    Item(note): Item,
) -> Result<Json<Value>, ApiError> {
    let found = state
        .store
        .write(move |c| metadata::delete_note(c, &caller, path.kind, &path.id, &note))
        .await?;
    Ok(deleted(found))
}
