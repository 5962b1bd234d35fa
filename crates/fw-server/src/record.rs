//! Request recording (`serve --record-requests FILE`): each request becomes one JSON
//! line, appended once the handler has answered:
//!
//! ```text
//! {"method":"POST","path":"/api/projects","query":{"inherit":"true"},"body":{"label":"P","group":"g"}}
//! ```
//!
//! - `path` is the path as received, percent-encoding included, except that a storage
//!   path's upload ticket is recorded as `<ticket>` (`/storage/<ticket>/f.txt`).
//! - `query` is an object of the decoded parameters (`+` read as a space); a name given
//!   several times has an array of its values; no query is `{}`. A query that does not
//!   decode is kept as its raw string. A `ticket` parameter's value is recorded as
//!   `<ticket>`: tickets are credentials, kept out of the recording as out of the log
//!   (`request_log`).
//! - `body` is the JSON body; `null` when there is none; `{"multipart": [part names]}`
//!   for `multipart/form-data`; `{"bytes": n}` for any other body (file bytes, a body
//!   that is not JSON). JSON bodies, and bodies without a content type that are absent
//!   or announce at most 16 MiB, are read whole (up to 16 MiB, the server's own limit
//!   for JSON) before the handler runs, so they are recorded even when the handler
//!   refuses the request unread; multipart and other bodies are observed as the
//!   handler streams them, never held in memory.
//!
//! The order of lines is the order in which handlers finish, which is the order of the
//! requests for a client that sends one at a time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::request_log::REDACTED;

/// The largest JSON body recorded; the server refuses larger JSON bodies anyway.
const MAX_BUFFERED: usize = 16 << 20;

/// The file requests are appended to.
pub(crate) struct Recorder {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Recorder {
    /// Opens (creates) `path` for appending.
    pub(crate) fn open(path: &Path) -> Result<Recorder, String> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {} to record requests: {e}", path.display()))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends one line, written whole with one `write` so that a reader never sees
    /// half a line.
    fn append(&self, line: &Value) {
        let mut text = line.to_string();
        text.push('\n');
        let written = match self.file.lock() {
            Ok(mut file) => file.write_all(text.as_bytes()),
            Err(_) => Err(std::io::Error::other("the recording lock is poisoned")),
        };
        if let Err(e) = written {
            tracing::error!("cannot record a request in {}: {e}", self.path.display());
        }
    }
}

/// The query as recorded: decoded parameters, repeated names as arrays, a `ticket`'s
/// value hidden.
pub(crate) fn query_value(uri: &axum::http::Uri) -> Value {
    let Some(raw) = uri.query() else {
        return json!({});
    };
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(uri) else {
        // Undecodable: kept raw, but without a ticket's value.
        let redacted: Vec<String> = raw
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if name.eq_ignore_ascii_case("ticket") => {
                    format!("{name}={REDACTED}")
                }
                _ => pair.to_string(),
            })
            .collect();
        return json!(redacted.join("&"));
    };
    let mut map = Map::new();
    for (name, value) in pairs {
        let value = if name == "ticket" {
            REDACTED.to_string()
        } else {
            value
        };
        match map.get_mut(&name) {
            None => {
                map.insert(name, json!(value));
            }
            Some(Value::Array(values)) => values.push(json!(value)),
            Some(first) => *first = json!([first.take(), value]),
        }
    }
    Value::Object(map)
}

/// A whole body as recorded: `null`, its JSON, or `{"bytes": n}`.
pub(crate) fn body_value(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| json!({"bytes": bytes.len()}))
}

/// What a streamed body showed: its size and, for multipart, the part names.
#[derive(Default)]
struct Tap {
    bytes: u64,
    scanner: Option<PartNames>,
}

/// Finds the `name` of each part of a `multipart/form-data` body as it streams by,
/// keeping only a tail as long as the delimiter (and a part's headers) in memory.
struct PartNames {
    /// `--boundary\r\n`, which starts each part.
    delimiter: Vec<u8>,
    pending: Vec<u8>,
    in_headers: bool,
    names: Vec<String>,
}

/// Part headers longer than this are not a part's headers; scanning moves on.
const MAX_PART_HEADERS: usize = 16 << 10;

impl PartNames {
    fn new(boundary: &str) -> PartNames {
        PartNames {
            delimiter: format!("--{boundary}\r\n").into_bytes(),
            pending: Vec::new(),
            in_headers: false,
            names: Vec::new(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
        loop {
            if self.in_headers {
                if let Some(end) = find(&self.pending, b"\r\n\r\n") {
                    let headers = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                    self.names.push(part_name(&headers).unwrap_or_default());
                    self.pending.drain(..end + 4);
                    self.in_headers = false;
                    continue;
                }
                if self.pending.len() > MAX_PART_HEADERS {
                    self.in_headers = false;
                }
                return;
            }
            if let Some(start) = find(&self.pending, &self.delimiter) {
                self.pending.drain(..start + self.delimiter.len());
                self.in_headers = true;
                continue;
            }
            // Keep just enough to find a delimiter split across chunks.
            let keep = self.delimiter.len().saturating_sub(1);
            let cut = self.pending.len().saturating_sub(keep);
            self.pending.drain(..cut);
            return;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `name` parameter of a part's `Content-Disposition` header.
fn part_name(headers: &str) -> Option<String> {
    let disposition = headers.split("\r\n").find(|line| {
        line.to_ascii_lowercase()
            .starts_with("content-disposition:")
    })?;
    disposition.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("name"))
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let (media, params) = content_type.split_once(';')?;
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        (key.trim().eq_ignore_ascii_case("boundary"))
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// The middleware: records the request, then answers it unchanged.
pub(crate) async fn record(
    State(recorder): State<Arc<Recorder>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let declared_json = content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    // A body without a content type is read whole only when it says it is small (or
    // is absent: no length and not chunked), so that recording never refuses a large
    // upload that the handler itself would take.
    let length = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let chunked = parts.headers.contains_key(TRANSFER_ENCODING);
    let small = match length {
        Some(length) => length <= MAX_BUFFERED,
        None => !chunked,
    };
    let is_json = declared_json || (content_type.is_empty() && small);
    let mut line = json!({
        "method": parts.method.as_str(),
        "path": crate::request_log::loggable_path(&parts.uri),
        "query": query_value(&parts.uri),
        "body": null,
    });
    if is_json {
        let bytes = match axum::body::to_bytes(body, MAX_BUFFERED).await {
            Ok(bytes) => bytes,
            Err(e) => {
                line["body"] = json!({"unreadable": e.to_string()});
                recorder.append(&line);
                return ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the request body cannot be read whole: {e}"),
                )
                .into_response();
            }
        };
        line["body"] = body_value(&bytes);
        let response = next
            .run(Request::from_parts(parts, Body::from(bytes)))
            .await;
        recorder.append(&line);
        return response;
    }
    let tap = Arc::new(Mutex::new(Tap {
        bytes: 0,
        scanner: boundary(&content_type).map(|b| PartNames::new(&b)),
    }));
    let seen = tap.clone();
    let stream = body.into_data_stream().inspect_ok(move |chunk| {
        if let Ok(mut tap) = seen.lock() {
            tap.bytes += chunk.len() as u64;
            if let Some(scanner) = &mut tap.scanner {
                scanner.feed(chunk);
            }
        }
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(stream)))
        .await;
    if let Ok(tap) = tap.lock() {
        line["body"] = match &tap.scanner {
            Some(scanner) => json!({"multipart": scanner.names}),
            // The announced length counts a body the handler refused unread.
            None => match length.map_or(tap.bytes, |n| (n as u64).max(tap.bytes)) {
                0 => Value::Null,
                bytes => json!({"bytes": bytes}),
            },
        };
    }
    recorder.append(&line);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_are_found_across_any_chunking() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{\"a\":1}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello --XyZ world\r\n--XyZ--\r\n";
        for size in [1, 2, 3, 5, 7, 64, body.len()] {
            let mut scanner = PartNames::new("XyZ");
            for chunk in body.chunks(size) {
                scanner.feed(chunk);
            }
            assert_eq!(scanner.names, ["metadata", "file"], "chunks of {size}");
            assert!(scanner.pending.len() < 64, "chunks of {size}");
        }
    }

    #[test]
    fn boundaries_queries_and_bodies() {
        assert_eq!(
            boundary("multipart/form-data; boundary=\"ab c\"").as_deref(),
            Some("ab c")
        );
        assert_eq!(boundary("application/json; boundary=x"), None);
        let uri: axum::http::Uri = "/api/x?filter=a%3D1&sort=b&x=1&x=2&q=a+b".parse().unwrap();
        assert_eq!(
            query_value(&uri),
            json!({"filter": "a=1", "sort": "b", "x": ["1", "2"], "q": "a b"})
        );
        let uri: axum::http::Uri = "/api/x".parse().unwrap();
        assert_eq!(query_value(&uri), json!({}));
        // Tickets are never recorded, in a decodable query or a raw one.
        let uri: axum::http::Uri = "/api/x?ticket=s3cret&a=1".parse().unwrap();
        assert_eq!(query_value(&uri), json!({"ticket": "<ticket>", "a": "1"}));
        let uri: axum::http::Uri = "/api/x?ticket=s3cret&a=%zz".parse().unwrap();
        let raw = query_value(&uri);
        assert!(!raw.to_string().contains("s3cret"), "{raw}");
        assert_eq!(body_value(b""), Value::Null);
        assert_eq!(body_value(b"{\"a\": [1]}"), json!({"a": [1]}));
        assert_eq!(body_value(b"\x00\x01"), json!({"bytes": 2}));
    }
}
