//! Every error reply is JSON: `{"message", "status_code", "request_id"}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error reply.
#[derive(Debug)]
pub(crate) struct ApiError {
    /// The HTTP status.
    pub(crate) status: StatusCode,
    /// What went wrong, for the person who sent the request.
    pub(crate) message: String,
}

impl ApiError {
    /// An error with a status and a message.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400: the request is malformed.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
    /// 401: no key, or an unknown one.
    pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }
    /// 403: the caller may see this but not do that.
    pub(crate) fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
    /// 404: not there, or not visible to the caller (the two look the same).
    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
    /// 409: it exists already.
    pub(crate) fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }
    /// 500: the server failed.
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = crate::ids::random_hex(8);
        if self.status.is_server_error() {
            tracing::error!(
                request_id,
                status = self.status.as_u16(),
                "{}",
                self.message
            );
        }
        let body = serde_json::json!({
            "message": self.message,
            "status_code": self.status.as_u16(),
            "request_id": request_id,
        });
        (self.status, axum::Json(body)).into_response()
    }
}
