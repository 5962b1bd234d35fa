//! The container hierarchy: finders, create, read, update (and move), delete; analyses,
//! permissions, a group's roles; info, tags and notes. Most routes are one domain call
//! (`handler`); the finders and reads shape their replies by the `x-accept-feature` header.

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::extract::{Body, Collection, FinderPath, Params};
use super::reply::{self, deleted, modified, slim, wants_envelope};
use super::{AppState, State, Tx, handler};
use crate::access::Target;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::{containers, metadata};

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    use Tx::{Read, Write};
    let set_permission = |c: &_, t: &_, body| containers::set_permission(c, t, None, body);
    let update_permission = |c: &_, t: &_, (user, body): (String, _)| {
        containers::set_permission(c, t, Some(&user), body)
    };
    let remove = |c: &_, t: &_, ()| containers::delete(c, t);
    let rename_tag =
        |c: &_, t: &_, (tag, body): (String, _)| metadata::rename_tag(c, t, &tag, body);
    let id = |id: String| Json(json!({"_id": id}));
    let (analysis, group_role) = (containers::create_analysis, containers::add_group_role);
    let (info, note) = (metadata::update_info, metadata::add_note);
    let (one, gone) = (|()| modified(1), |_: usize| deleted(true));
    // One line per path: the path, then each method's handler.
    #[rustfmt::skip]
    let routes = [
        ("/api/containers/{id}", get(get_container)),
        ("/api/{collection}", get(find).post(create)),
        ("/api/{collection}/{id}", get(get_one).put(handler(Write, containers::update, one)).delete(handler(Write, remove, gone))),
        ("/api/{collection}/{id}/analyses", get(find).post(handler(Write, analysis, id))),
        ("/api/{collection}/{id}/analyses/{item}", get(handler(Read, analysis_below, Json))),
        ("/api/{collection}/{id}/permissions", post(handler(Write, set_permission, Json))),
        ("/api/{collection}/{id}/permissions/{item}", get(handler(Read, permission, Json)).put(handler(Write, update_permission, Json)).delete(handler(Write, remove_permission, one))),
        ("/api/{collection}/{id}/roles", post(handler(Write, group_role, Json))),
        // SDKs before 20 send the same bodies with POST (docs/wire.md §15.9).
        ("/api/{collection}/{id}/info", patch(handler(Write, info, one)).post(handler(Write, info, one))),
        ("/api/{collection}/{id}/tags", post(handler(Write, metadata::add_tag, modified))),
        ("/api/{collection}/{id}/tags/{item}", get(handler(Read, tag, Json)).put(handler(Write, rename_tag, |tag| Json(json!(tag)))).delete(handler(Write, delete_tag, deleted))),
        ("/api/{collection}/{id}/notes", post(handler(Write, note, Json))),
        ("/api/{collection}/{id}/notes/{item}", get(handler(Read, note_by_id, Json)).delete(handler(Write, delete_note, deleted))),
        ("/api/{collection}/{id}/{item}", get(find)),
    ];
    routes
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
}

// The domain calls that take a path item, with the item as the route gives it.

fn permission(c: &rusqlite::Connection, t: &Target, user: String) -> Result<Value, ApiError> {
    containers::get_permission(c, t, &user)
}

fn remove_permission(c: &rusqlite::Connection, t: &Target, user: String) -> Result<(), ApiError> {
    containers::delete_permission(c, t, &user)
}

fn analysis_below(c: &rusqlite::Connection, t: &Target, id: String) -> Result<Value, ApiError> {
    containers::show_analysis(c, t, &id)
}

fn tag(c: &rusqlite::Connection, t: &Target, tag: String) -> Result<String, ApiError> {
    metadata::get_tag(c, t, &tag)
}

fn note_by_id(c: &rusqlite::Connection, t: &Target, note: String) -> Result<Value, ApiError> {
    metadata::get_note(c, t, &note)
}

fn delete_tag(c: &rusqlite::Connection, t: &Target, tag: String) -> Result<bool, ApiError> {
    metadata::delete_tag(c, t, &tag)
}

fn delete_note(c: &rusqlite::Connection, t: &Target, note: String) -> Result<bool, ApiError> {
    metadata::delete_note(c, t, &note)
}

/// `GET /containers/{id}`: a container of any kind, with its `container_type`.
async fn get_container(
    caller: Caller,
    state: State,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let doc = state
        .store
        .run(move |c| containers::show(c, &caller, None, &id, false))
        .await?;
    Ok(Json(slim(doc, &headers)))
}

/// `GET /{collection}` and `GET /{collection}/{id}/{children}`: a finder, at the top or
/// below a container.
async fn find(
    caller: Caller,
    state: State,
    path: FinderPath,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = params.list()?;
    let envelope = wants_envelope(&headers);
    let listing = state
        .store
        .scan(move |c| {
            let parent = path.parent.as_ref().map(|(kind, id)| (*kind, id.as_str()));
            containers::find(c, &caller, parent, path.kind, &params, envelope)
        })
        .await?;
    Ok(reply::listing(listing, &headers))
}

/// `POST /{collection}`: a new container; replies with its id.
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

/// `GET /{collection}/{id}[?join=origin]`.
async fn get_one(
    state: State,
    target: Target,
    params: Params,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let join_origin = params
        .get("join")
        .is_some_and(|j| j.split(',').any(|part| part.trim() == "origin"));
    let doc = state
        .store
        .run(move |c| {
            let (caller, kind, id) = (&target.caller, Some(target.kind), &target.id);
            containers::show(c, caller, kind, id, join_origin)
        })
        .await?;
    Ok(Json(slim(doc, &headers)))
}
