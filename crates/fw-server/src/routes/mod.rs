//! The HTTP API under `/api` (wire-protocol.md §1-§9): one module per resource, each a
//! `Router` merged here. Handlers parse the request (the extractors of `extract`), call a
//! domain module, and shape the reply (`reply`); the domain modules decide.

mod bulk;
mod containers;
mod extract;
mod files;
mod reply;
mod search;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::error::ApiError;
use crate::files::Blobs;
use crate::store::Store;

/// The largest JSON body accepted: metadata, never file contents.
pub(crate) const MAX_JSON_BODY: usize = 16 << 20;

/// What every request handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    /// The database.
    pub(crate) store: Store,
    /// The blob store.
    pub(crate) blobs: Blobs,
    /// Whether signed-URL uploads are served.
    pub(crate) signed_urls: bool,
    /// `http://host:port` of this server, for storage URLs.
    pub(crate) base_url: String,
    /// When the server started, as `GET /config` shows it.
    pub(crate) started: String,
}

/// The handlers' view of the state.
type State = axum::extract::State<AppState>;

/// Every route of the API.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(users::router())
        .merge(containers::router())
        .merge(files::router())
        .merge(bulk::router())
        .merge(search::router())
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
