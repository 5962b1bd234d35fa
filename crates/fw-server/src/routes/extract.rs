//! Extractors: every rejection is a JSON error. `Caller` (who calls), `Params` (the query),
//! `Body` (JSON), and the path: `Collection` (a kind), `Target` (the caller, and the kind and id of a container), `FilePath` (kind, id and
//! file name) and `Item` (a tag, note or user below a container).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde_json::Value;

use super::AppState;
use crate::access::Target;
use crate::auth::{self, Caller};
use crate::containers::ListParams;
use crate::error::ApiError;
use crate::kind::Kind;

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("no API key: send `Authorization: scitran-user <key>`")
            })?;
        let secret = header
            .strip_prefix("scitran-user ")
            .or_else(|| header.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "the Authorization header must be `scitran-user <key>` or `Bearer <key>`",
                )
            })?
            .trim()
            .to_string();
        let exhaustive = parts.uri.query().is_some_and(|q| {
            q.split('&').any(|pair| {
                pair.split_once('=')
                    .is_some_and(|(k, v)| k == "exhaustive" && is_flag(v))
            })
        });
        state
            .store
            .run(move |c| auth::caller_for_key(c, &secret, exhaustive))
            .await
    }
}

/// Query parameters; a malformed query is a JSON 400 like every other error.
pub(crate) struct Params(pub(crate) HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, ApiError> {
        check_utf8_query(parts.uri.query().unwrap_or_default())?;
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
    }
}

/// Refuses a query whose names or values, percent-decoded, are not UTF-8: decoding them
/// lossily would turn `?prefix=%ff` into a `\u{FFFD}` in an archive's name (docs/wire.md
/// §15.6).
///
/// # Errors
///
/// A 400 naming the parameter.
fn check_utf8_query(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = |text: &str| {
            percent_encoding::percent_decode_str(&text.replace('+', " "))
                .decode_utf8()
                .map(|_| ())
        };
        if decoded(name).is_err() {
            return Err(ApiError::bad_request(format!(
                "the query parameter name {name:?} is not UTF-8 once percent-decoded"
            )));
        }
        if decoded(value).is_err() {
            return Err(ApiError::bad_request(format!(
                "{}: the value {value:?} is not UTF-8 once percent-decoded",
                percent_encoding::percent_decode_str(name).decode_utf8_lossy()
            )));
        }
    }
    Ok(())
}

impl Params {
    /// A parameter's text, if given.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// Whether a flag parameter is set, by [`is_flag`].
    pub(crate) fn is_true(&self, name: &str) -> bool {
        self.0.get(name).is_some_and(|v| is_flag(v))
    }

    /// A whole-number parameter, if given.
    pub(crate) fn number(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.0
            .get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("{name} must be a whole number, not {v:?}"))
                })
            })
            .transpose()
    }

    /// The parameters of a list endpoint (docs/wire.md §4). A parameter a list does not
    /// honour is a 400 naming it, never ignored (§15.6): only the paging parameters,
    /// `exhaustive` (site admins) and `include_all_info` (info is always whole) are.
    pub(crate) fn list(&self) -> Result<ListParams, ApiError> {
        const HONOURED: [&str; 8] = [
            "filter",
            "sort",
            "limit",
            "skip",
            "page",
            "after_id",
            "exhaustive",
            "include_all_info",
        ];
        let mut unknown: Vec<&str> = self
            .0
            .keys()
            .map(String::as_str)
            .filter(|name| !HONOURED.contains(name))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            return Err(ApiError::bad_request(format!(
                "this list does not take the query parameter(s) {}; it takes {}",
                unknown.join(", "),
                HONOURED.join(", ")
            )));
        }
        Ok(ListParams {
            filter: self.get("filter"),
            sort: self.get("sort"),
            limit: self.number("limit")?,
            skip: self.number("skip")?,
            page: self.number("page")?,
            after_id: self.get("after_id"),
        })
    }
}

/// A JSON body; an empty body (even with `Content-Type: application/json`, as the SDK
/// sends on DELETE) reads as `null`. Bodies nested too deep for the store are refused
/// (see `json`).
pub(crate) struct Body(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Body, ApiError> {
        // The rejection's own status: 413 for a body over the limit, 400 for one that
        // broke off.
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            let status = e.status();
            if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                let limit = super::MAX_JSON_BODY;
                ApiError::new(status, format!("the body is larger than {limit} bytes"))
            } else {
                ApiError::new(status, format!("cannot read the body: {}", e.body_text()))
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Value::Null));
        }
        crate::json::parse_body(&bytes, "the body").map(Body)
    }
}

/// The path's parameters by name.
async fn path_params(parts: &mut Parts) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, &())
        .await
        .map(|Path(params)| params)
        .map_err(|e| ApiError::bad_request(format!("malformed path: {e}")))
}

/// The kind a collection names; a collection fw-server does not hold (`gears`, `jobs`, …)
/// is a route it does not implement: 501 (docs/wire.md §15.4).
fn kind_of(parts: &Parts, collection: &str) -> Result<Kind, ApiError> {
    Kind::from_collection(collection)
        .ok_or_else(|| not_implemented(&parts.method, parts.uri.path()))
}

/// The 501 of a route outside what fw-server implements (docs/wire.md §15.4): it names
/// the route, so a user knows it is the server's limit and not their mistake.
pub(crate) fn not_implemented(method: &axum::http::Method, path: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_IMPLEMENTED,
        format!("{method} {path} is not implemented by fw-server"),
    )
}

fn param(params: &mut HashMap<String, String>, name: &str) -> Result<String, ApiError> {
    params
        .remove(name)
        .ok_or_else(|| ApiError::internal(format!("the route has no {{{name}}}")))
}

/// `/{collection}`: the kind of container a path names (an unknown collection is a 404).
pub(crate) struct Collection(pub(crate) Kind);

impl<S: Send + Sync> FromRequestParts<S> for Collection {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Collection, ApiError> {
        let collection = param(&mut path_params(parts).await?, "collection")?;
        kind_of(parts, &collection).map(Collection)
    }
}

/// `/{collection}` or `/{collection}/{id}/{children}`: the kind a finder lists, and the
/// container it lists below (an unknown collection is a 404).
pub(crate) struct FinderPath {
    /// The kind and id of the container above, for a child list.
    pub(crate) parent: Option<(Kind, String)>,
    /// The kind listed.
    pub(crate) kind: Kind,
}

impl FromRequestParts<AppState> for FinderPath {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<FinderPath, ApiError> {
        let mut params = path_params(parts).await?;
        let collection = param(&mut params, "collection")?;
        // `…/analyses` has a route of its own (it also takes POST).
        let children = params.remove("item").or_else(|| {
            parts
                .uri
                .path()
                .ends_with("/analyses")
                .then(|| "analyses".to_string())
        });
        Ok(match (params.remove("id"), children) {
            (Some(id), Some(children)) => FinderPath {
                parent: Some((container_kind(parts, state, &collection, &id).await?, id)),
                kind: kind_of(parts, &children)?,
            },
            _ => FinderPath {
                parent: None,
                kind: kind_of(parts, &collection)?,
            },
        })
    }
}

/// `/{collection}/{id}`: the container a path names, and the caller (a collection
/// fw-server does not hold is a 501). `/containers/{id}` names a container of any kind:
/// its stored kind is read (404 when there is none).
impl FromRequestParts<AppState> for Target {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Target, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let mut params = path_params(parts).await?;
        let collection = param(&mut params, "collection")?;
        let id = param(&mut params, "id")?;
        let kind = container_kind(parts, state, &collection, &id).await?;
        Ok(Target { caller, kind, id })
    }
}

/// The kind of the container `/{collection}/{id}` names: the collection's, or for
/// `/containers/{id}` the stored kind (404 when there is none).
async fn container_kind(
    parts: &Parts,
    state: &AppState,
    collection: &str,
    id: &str,
) -> Result<Kind, ApiError> {
    if collection != "containers" {
        return kind_of(parts, collection);
    }
    let lookup = id.to_string();
    state
        .store
        .run(move |c| crate::store::container(c, &lookup))
        .await?
        .map(|row| row.kind)
        .ok_or_else(|| ApiError::not_found(format!("container {id} not found")))
}

/// `/{collection}/{id}/files/{name}` or `/containers/{id}/files/{name}` (any kind: `None`);
/// the name is absent on routes to the files of a container. Below
/// `/{collection}/{id}/analyses/{analysis_id}`, the files are the analysis's.
pub(crate) struct FilePath {
    pub(crate) kind: Option<Kind>,
    pub(crate) id: String,
    pub(crate) name: Option<String>,
}

impl FilePath {
    /// The file name, on routes that have one.
    pub(crate) fn name(&self) -> Result<&str, ApiError> {
        self.name
            .as_deref()
            .ok_or_else(|| ApiError::internal("the route has no {name}"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for FilePath {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<FilePath, ApiError> {
        let mut params = path_params(parts).await?;
        let kind = match params.remove("collection").as_deref() {
            None | Some("containers") => None,
            Some(collection) => Some(kind_of(parts, collection)?),
        };
        if let Some(analysis) = params.remove("analysis_id") {
            // The analysis's own access decides; it is a container of its own.
            return Ok(FilePath {
                kind: Some(Kind::Analysis),
                id: analysis,
                name: params.remove("name"),
            });
        }
        Ok(FilePath {
            kind,
            id: param(&mut params, "id")?,
            name: params.remove("name"),
        })
    }
}

/// `…/{item}`: the tag, note id, user or child collection a route names below a
/// container.
pub(crate) struct Item(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Item {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Item, ApiError> {
        param(&mut path_params(parts).await?, "item").map(Item)
    }
}

/// What a handler made by `routes::handler` reads besides its target: nothing (`()`), the
/// `{item}` of the path (`String`), the JSON body (`Value`), or both.
pub(crate) struct Input<I>(pub(crate) I);

impl<S: Send + Sync> FromRequestParts<S> for Input<()> {
    type Rejection = ApiError;
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Input<()>, ApiError> {
        Ok(Input(()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Input<String> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Input<String>, ApiError> {
        Item::from_request_parts(parts, state)
            .await
            .map(|Item(item)| Input(item))
    }
}

impl<S: Send + Sync> FromRequest<S> for Input<Value> {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Input<Value>, ApiError> {
        Body::from_request(request, state)
            .await
            .map(|Body(body)| Input(body))
    }
}

impl<S: Send + Sync> FromRequest<S> for Input<(String, Value)> {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Input<(String, Value)>, ApiError> {
        let (mut parts, body) = request.into_parts();
        let Item(item) = Item::from_request_parts(&mut parts, state).await?;
        let Body(body) = Body::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Input((item, body)))
    }
}

/// Whether a flag's value means true: `true` in any case, or `1`, as Flywheel's core read
/// flags (`value.lower() in ('1', 'true')`). Python clients send `True` (flywheel-sdk 17
/// writes Python booleans into the query as `str(True)`), so `== "true"` ignored their flags.
pub(crate) fn is_flag(value: &str) -> bool {
    value == "1" || value.eq_ignore_ascii_case("true")
}
