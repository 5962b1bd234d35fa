//! Every error reply is JSON, including those the framework makes before a handler runs.
//!
//! Extractors of our own reject with [`ApiError`]; axum's own (a path parameter that is not
//! UTF-8 on a `Path<String>` route, a body over its limit, …) reply with plain text. Rather
//! than hunt each of those down, [`json_errors`] rewrites any error reply that is not JSON
//! into `{"message", "status_code", "request_id"}`, keeping its status and its text.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The most of a plain-text error reply that is read into the JSON message; the
/// framework's rejections are one line.
const MAX_MESSAGE: usize = 64 * 1024;

/// Middleware: an error reply (status 400 and up) that is not `application/json` becomes
/// the JSON error shape with the same status.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let fallback = status.canonical_reason().unwrap_or("error").to_string();
    let text = match axum::body::to_bytes(response.into_body(), MAX_MESSAGE).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() { fallback } else { text };
    ApiError::new(status, message).into_response()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
