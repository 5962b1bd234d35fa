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
        .route("/api/files", get(handler(Tx::Scan, list_files, Json)))
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
        .route(
            "/api/files/{file_id}/move",
            post(handler(Write, move_file, |()| modified(1))),
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
                .patch(handler(Write, update_info, |()| modified(1)))
                // SDKs before 20 send the same bodies with POST (docs/wire.md §15.9).
                .post(handler(Write, update_info, |()| modified(1))),
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
    // An empty `?ticket=` records a new download ticket: a write.
    let tx = if ticket.as_deref() == Some("") {
        Tx::Write
    } else {
        Tx::Read
    };
    let work = move |c: &Connection| {
        let ticket = ticket.as_deref();
        files::download_entry(c, caller, path.kind, &path.id, &name, version, ticket)
    };
    let (entry, new_ticket) = match tx {
        Tx::Read | Tx::Scan => state.store.run(move |c| work(c)).await?,
        Tx::Write => state.store.write(move |c| work(c)).await?,
    };
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
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match range.map(|range| (range, plan_range(range, size))) {
        None | Some((_, Ok(None))) => (StatusCode::OK, 0, size),
        Some((_, Ok(Some((start, end))))) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Some((range, Err(()))) => {
            return Err(ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("cannot serve {range} of {size} bytes"),
            ));
        }
    };
    let file = on_blocking_pool(move || {
        let mut file = std::fs::File::open(&path)
            .map_err(|e| ApiError::io("the content of this file is missing", &e))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(start))
            .map_err(|e| ApiError::io("cannot read the file", &e))?;
        Ok(file)
    })
    .await?;
    let body = axum::body::Body::from_stream(file_stream(file, length));
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

/// What a `Range` header asks of a file of `size` bytes, after RFC 9110 §14.2 and
/// docs/wire.md §15.8: `Ok(None)` for the whole body (200), `Ok(Some((first, last)))`
/// for one byte range (206, inclusive bounds), `Err(())` for 416.
///
/// A unit other than `bytes` is ignored, as RFC 9110 requires of an origin server. Several
/// ranges are answered with the whole body (the choice §15.8 allows instead of
/// `multipart/byteranges`) when at least one of them can be satisfied. A `bytes` range that
/// does not parse, or none of whose ranges can be satisfied, is a 416.
fn plan_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some((unit, specs)) = header.split_once('=') else {
        // Not `unit=ranges` at all: no unit this server knows.
        return Ok(None);
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ok(None);
    }
    // RFC 9110 §5.6.1: empty list elements are allowed and do not count.
    let specs: Vec<&str> = specs
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut satisfiable = Vec::new();
    for spec in &specs {
        if let Some(range) = byte_range(spec, size)? {
            satisfiable.push(range);
        }
    }
    match (specs.len(), satisfiable.as_slice()) {
        (_, []) => Err(()),
        (1, [range]) => Ok(Some(*range)),
        _ => Ok(None),
    }
}

/// One `first-last`, `first-` or `-suffix` against a size: `Err` when it does not parse,
/// `Ok(None)` when it parses but asks for no byte of the file.
fn byte_range(spec: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let (first, last) = spec.split_once('-').ok_or(())?;
    let number = |text: &str| -> Result<u64, ()> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        // More digits than a u64 holds is still a valid range: past any file's end.
        Ok(text.parse().unwrap_or(u64::MAX))
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => {
            let n = number(suffix)?;
            Ok((n > 0 && size > 0).then(|| (size.saturating_sub(n), size - 1)))
        }
        (first, "") => {
            let first = number(first)?;
            Ok((first < size).then(|| (first, size - 1)))
        }
        (first, last) => {
            let (first, last) = (number(first)?, number(last)?);
            if last < first {
                return Err(());
            }
            Ok((first < size).then(|| (first, last.min(size - 1))))
        }
    }
}

/// Runs blocking file work (reading a zip's directory) off the async threads.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("a blocking task failed: {e}")))?
}

/// The next `length` bytes of `file` as a body stream, 256 KiB at a time, read on one
/// blocking thread and handed over a short channel: one thread hop per file instead of
/// one per read (as async file reads do), memory bounded by the channel. A file that
/// turns out shorter is an error, so the reply breaks instead of ending short.
fn file_stream(
    mut file: std::fs::File,
    length: u64,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::task::spawn_blocking(move || {
        let mut left = length;
        while left > 0 {
            // Read into spare capacity: no 256 KiB of zeros written first per chunk.
            let want = (256 * 1024).min(left);
            let mut chunk = Vec::with_capacity(want as usize);
            let read = match std::io::Read::read_to_end(
                &mut std::io::Read::take(&mut file, want),
                &mut chunk,
            ) {
                Ok(0) => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the stored file is shorter than its entry",
                )),
                other => other,
            };
            let item = read.map(|n| {
                left -= n as u64;
                Bytes::from(chunk)
            });
            let failed = item.is_err();
            // A closed channel: the client went away, stop reading.
            if sender.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
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

/// `POST /files/{file_id}/move`: a rename (`files::move_file`).
fn move_file(c: &Connection, (caller, Path(id), _): &ById, body: Value) -> Outcome<()> {
    files::move_file(c, caller, id, body)
}

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
        type Plan = Result<Option<(u64, u64)>, ()>;
        let cases: &[(&str, u64, Plan)] = &[
            ("bytes=0-9", 100, Ok(Some((0, 9)))),
            ("bytes=90-", 100, Ok(Some((90, 99)))),
            ("bytes=-10", 100, Ok(Some((90, 99)))),
            ("bytes=-500", 100, Ok(Some((0, 99)))),
            ("bytes=50-500", 100, Ok(Some((50, 99)))),
            ("BYTES = 1-1", 100, Ok(Some((1, 1)))),
            ("bytes=0-99999999999999999999999", 100, Ok(Some((0, 99)))),
            // Several ranges, at least one satisfiable: the whole body.
            ("bytes=0-0, 1-1", 100, Ok(None)),
            ("bytes=0-1,500-600", 100, Ok(None)),
            ("bytes=0-0,", 100, Ok(Some((0, 0)))),
            // Units other than bytes are ignored.
            ("lol=-5", 100, Ok(None)),
            ("items=0-1", 100, Ok(None)),
            ("garbage", 100, Ok(None)),
            // Unsatisfiable or malformed byte ranges.
            ("bytes=100-", 100, Err(())),
            ("bytes=100-200,300-", 100, Err(())),
            ("bytes=-0", 100, Err(())),
            ("bytes=0-0", 0, Err(())),
            ("bytes=-5", 0, Err(())),
            ("bytes=5-2", 100, Err(())),
            ("bytes=a-b", 100, Err(())),
            ("bytes=-", 100, Err(())),
            ("bytes=", 100, Err(())),
            ("bytes=+1-2", 100, Err(())),
        ];
        for (header, size, expected) in cases {
            assert_eq!(&plan_range(header, *size), expected, "{header} of {size}");
        }
    }
}
