//! The HTTP API under `/api` (docs/wire.md §1-§9): one module per resource, each a
//! `Router` merged here. Handlers parse the request (the extractors of `extract`), call a
//! domain module, and shape the reply (`reply`); the domain modules decide.

mod bulk;
mod containers;
mod extract;
mod files;
mod reply;
mod search;
mod targets;
mod users;

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use rusqlite::Connection;

use self::extract::Input;

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

/// Whether a handler made by [`handler`] reads, or writes in one transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tx {
    /// A read of a few rows.
    Read,
    /// A read that may walk a whole collection (`Store::scan`).
    Scan,
    /// A write: all of it, or nothing.
    Write,
}

/// The reply future of a handler made by [`handler`].
type Reply<R> = Pin<Box<dyn Future<Output = Result<R, ApiError>> + Send>>;

/// A handler that is one domain call: `call` with what `P` extracts (a [`Target`]: who
/// calls and which container) and the request's [`Input`], in a read or a write
/// transaction, its result shaped by `reply`. Most container routes are one of these.
///
/// [`Target`]: crate::access::Target
pub(crate) fn handler<P, I, T, R>(
    tx: Tx,
    call: fn(&Connection, &P, I) -> Result<T, ApiError>,
    reply: fn(T) -> R,
) -> impl Fn(State, P, Input<I>) -> Reply<R> + Clone + Send + Sync + 'static
where
    P: Send + 'static,
    I: Send + 'static,
    T: Send + 'static,
    R: 'static,
{
    move |state, target, Input(input)| {
        Box::pin(async move {
            let work = move |c: &Connection| call(c, &target, input);
            let result = match tx {
                Tx::Read => state.store.run(move |c| work(c)).await?,
                Tx::Scan => state.store.scan(move |c| work(c)).await?,
                Tx::Write => state.store.write(move |c| work(c)).await?,
            };
            Ok(reply(result))
        })
    }
}

/// The reply to a route or method that is not served.
async fn not_implemented(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    extract::not_implemented(&method, uri.path())
}

/// Every route of the API.
pub(crate) fn router(state: AppState) -> Router {
    // Paths of the SDK that `/{collection}/{id}` would read as an id.
    let outside = ["catalog-list", "catalog-list-filter-options", "groups"]
        .into_iter()
        .fold(Router::new(), |router, name| {
            router.route(
                &format!("/api/projects/{name}"),
                axum::routing::any(not_implemented),
            )
        });
    Router::new()
        .merge(outside)
        .merge(users::router())
        .merge(containers::router())
        .merge(files::router())
        .merge(bulk::router())
        .merge(search::router())
        .merge(targets::router())
        // Routes and methods fw-server does not serve are its limit, not the caller's
        // mistake: 501 naming the route (docs/wire.md §15.4), never 404 or 405.
        .fallback(not_implemented)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .method_not_allowed_fallback(not_implemented)
        .with_state(state)
}
