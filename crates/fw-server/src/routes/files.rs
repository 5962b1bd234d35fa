//! Files: uploads (multipart, and signed-URL tickets with their storage PUTs), downloads
//! (ranges, tickets, zip members), file edits, and files by id (`/files`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use rusqlite::Connection;
use serde_json::{Map, Value, json};

use super::extract::{Body, FilePath, Params};
use super::reply::{deleted, modified};
use super::{AppState, MAX_JSON_BODY, State, Tx, handler};
use crate::archive;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::files;
use crate::roles::Level;

/// The routes of this module.
pub(crate) fn router() -> Router<AppState> {
    use Tx::{Read, Write};
    let update = |c: &_, file: &_, body| edit(c, file, body, files::update);
    let update_info = |c: &_, file: &_, body| edit(c, file, body, files::update_info);
    let classify = |c: &_, file: &_, body| edit(c, file, body, files::classify);
    let add_tags = |c: &_, file: &_, body| set_tags(c, file, body, false);
    let replace_tags = |c: &_, file: &_, body| set_tags(c, file, body, true);
    // Uploads stream to disk, so they have no body limit; everything else keeps one.
    let upload_route = || post(upload).layer(axum::extract::DefaultBodyLimit::disable());
    Router::new()
        .route("/storage/{ticket}/{name}", put(storage_put))
        .route("/api/files", get(handler(Read, list_files, Json)))
        .route("/api/files/{file_id}", get(handler(Read, get_file, Json)))
        .route(
            "/api/files/{file_id}/tags",
            // The SDK reads PUT's reply as a ModifiedResult (and PATCH's as the tags).
            patch(handler(Write, add_tags, |tags| Json(json!(tags)))).put(handler(
                Write,
                replace_tags,
                |_| modified(1),
            )),
        )
        .route("/api/containers/{id}/files", upload_route())
        .route("/api/containers/{id}/files/{name}", get(download))
        .route("/api/{collection}/{id}/files", upload_route())
        .route(
            "/api/{collection}/{id}/files/{name}",
            get(download)
                .put(handler(Write, update, |()| modified(1)))
                .delete(handler(Write, delete_file, |()| deleted(true))),
        )
        // An analysis's files, reached through the container above it.
        .route(
            "/api/{collection}/{id}/analyses/{analysis_id}/files/{name}",
            get(download),
        )
        .route(
            "/api/{collection}/{id}/files/{name}/info",
            get(handler(Read, file_entry, Json))
                .patch(handler(Write, update_info, |()| modified(1))),
        )
        .route(
            "/api/{collection}/{id}/files/{name}/classification",
            patch(handler(Write, classify, |()| modified(1))),
        )
}

/// `POST /{coll}/{id}/files`: a `metadata` part, then one or more `file` parts, each
/// streamed to disk; replies with the new file entries. With `?ticket=`, a signed-URL
/// upload ticket is opened (empty) or closed.
async fn upload(
    caller: Caller,
    state: State,
    path: FilePath,
    params: Params,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let FilePath { kind, id, .. } = path;
    // Permission first: nobody streams a gigabyte only to be told no.
    {
        let (caller, id) = (caller.clone(), id.clone());
        state
            .store
            .run(move |c| files::container_of(c, &caller, kind, &id, Level::Rw))
            .await?;
    }
    if let Some(ticket) = params.get("ticket") {
        if !state.signed_urls {
            return Err(ApiError::bad_request(
                "signed-URL uploads are not enabled on this server (GET /config says signed_url: false)",
            ));
        }
        let Body(body) = Body::from_request(request, &()).await?;
        let (blobs, base_url) = (state.blobs.clone(), state.base_url.clone());
        let reply = state
            .store
            .write(move |c| {
                files::upload_ticket(c, &caller, &blobs, kind, &id, &ticket, body, &base_url)
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
                            StatusCode::PAYLOAD_TOO_LARGE,
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
            let row = files::container_of(c, &caller, kind, &id, Level::Rw)?;
            files::record(c, &caller, &blobs, row, metadata, staged)
        })
        .await?;
    Ok(Json(Value::Array(entries)))
}

/// `GET /{coll}/{id}/files/{name}`: the bytes, streamed (`version`, `Range`, `view`; `hash`:
/// only if the file still has it, else 409), a
/// download ticket for `?ticket=`, or the file for `?ticket=<ticket>` without a key.
async fn download(
    caller: Result<Caller, ApiError>,
    state: State,
    path: FilePath,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // No name check here: a download finds a stored entry by its exact name, and names
    // stored before the rule of §15.3 stay downloadable.
    let name = path.name()?.to_string();
    let version = params.number("version")?.map(|v| v as i64);
    let ticket = params.get("ticket");
    let (entry, new_ticket) = state
        .store
        .run(move |c| {
            let ticket = ticket.as_deref();
            files::download_entry(c, caller, path.kind, &path.id, &name, version, ticket)
        })
        .await?;
    if let Some(hash) = params.get("hash") {
        files::check_hash(&entry, &hash)?;
    }
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
    if params.is_true("info") {
        let info = on_blocking_pool(move || archive::zip_info(&path, &name)).await?;
        return Ok(Json(info).into_response());
    }
    if let Some(member) = params.get("member").filter(|m| !m.is_empty()) {
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
        Some(range) => match parse_range(range, size) {
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
    let content_type = if params.is_true("view") {
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

/// Parses a `Range` header (`bytes=a-b`, `bytes=a-`, `bytes=-n`) against a size; `None`
/// for a range this server does not serve (multiple ranges) or cannot satisfy.
fn parse_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
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

/// A change to a file entry, given the request body.
type EntryChange = fn(&mut Map<String, Value>, Value) -> Result<(), ApiError>;

/// Who calls, and the file a path names.
type File = (Caller, FilePath);

/// Applies `change` with the request body to the current entry of a file (read-write).
fn edit(c: &Connection, (caller, path): &File, body: Value, change: EntryChange) -> Outcome<()> {
    let (kind, id, name) = (path.kind, &path.id, path.name()?);
    files::modify(c, caller, kind, id, name, Level::Rw, |entry| {
        change(entry, body)
    })
}

/// `GET …/files/{name}/info`: the file's entry (read-only).
fn file_entry(c: &Connection, (caller, path): &File, (): ()) -> Outcome<Value> {
    files::show(c, caller, path.kind, &path.id, path.name()?)
}

/// A domain call's outcome.
type Outcome<T> = Result<T, ApiError>;

/// `DELETE …/files/{name}` (admin).
fn delete_file(c: &Connection, (caller, path): &File, (): ()) -> Outcome<()> {
    files::delete(c, caller, path.kind, &path.id, path.name()?)
}

/// `GET /files[?filter=&limit=&after_id=]`.
fn list_files(c: &Connection, (caller, params): &(Caller, Params), (): ()) -> Outcome<Value> {
    files::list(c, caller, &params.list()?)
}

/// `GET /files/{file_id}[?version=]`.
fn get_file(c: &Connection, (caller, Path(id), params): &ById, (): ()) -> Outcome<Value> {
    let version = params.number("version")?.map(|v| v as i64);
    files::get_by_id(c, caller, id, version)
}

/// Who calls, the `{file_id}` of the path, and the query.
type ById = (Caller, Path<String>, Params);

/// File tags: `PATCH /files/{file_id}/tags` adds, `PUT` replaces.
fn set_tags(
    c: &Connection,
    (caller, Path(id), _): &ById,
    body: Value,
    replace: bool,
) -> Outcome<Vec<String>> {
    files::set_tags(c, caller, id, body, replace)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
