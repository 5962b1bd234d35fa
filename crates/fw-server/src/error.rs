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
    /// A failed file operation, `what` saying which (`cannot write an upload`): 507 when
    /// the disk or the quota is full (the client may retry once space is freed), else 500.
    pub(crate) fn io(what: &str, e: &std::io::Error) -> ApiError {
        let full = matches!(
            e.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        );
        ApiError::new(
            if full {
                StatusCode::INSUFFICIENT_STORAGE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            format!("{what}: {e}"),
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_507_and_other_io_errors_500() {
        let check = |e: std::io::Error, status: u16| {
            let error = ApiError::io("cannot write an upload", &e);
            assert_eq!(error.status.as_u16(), status, "{e}");
            assert!(error.message.starts_with("cannot write an upload: "));
        };
        // ENOSPC and EDQUOT, as the kernel reports them.
        check(std::io::Error::from_raw_os_error(28), 507);
        check(std::io::Error::from_raw_os_error(122), 507);
        check(std::io::Error::from(std::io::ErrorKind::StorageFull), 507);
        check(
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            500,
        );
        check(std::io::Error::other("boom"), 500);
    }
}
