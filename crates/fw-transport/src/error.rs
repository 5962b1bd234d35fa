//! The one error type of the transport layer.

use std::path::PathBuf;

use reqwest::Method;

/// Everything that can go wrong between the SDK and the server. Messages name the method
/// and URL (with any `ticket` value hidden), never the API key; causes are chained as
/// `source()`, not repeated in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is misconfigured: a malformed API key, no credentials, a bad CA file, an
    /// empty path segment.
    #[error("{message}")]
    Config {
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// The request could not be sent, or the connection broke before a reply.
    #[error("could not send {method} {url}")]
    Send {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// What failed.
        #[source]
        source: reqwest::Error,
    },
    /// No reply came within the timeout.
    #[error("{method} {url} timed out")]
    Timeout {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// The timeout reported by the HTTP client.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{method} {url} failed with {status}: {}", message.as_deref().unwrap_or("(no message)"))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The `message` of the JSON error body.
        message: Option<String>,
        /// The `detail` of the JSON error body (boxed: rare, and it keeps `Error` small).
        detail: Option<Box<serde_json::Value>>,
        /// The `request_id` of the JSON error body, for the server's logs.
        request_id: Option<String>,
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
    },
    /// The reply was not what was expected.
    #[error("the reply to {method} {url} is not a valid {expected}: {snippet:?}")]
    Decode {
        /// The type expected.
        expected: &'static str,
        /// The start of the reply body.
        snippet: String,
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// Why it did not decode.
        #[source]
        source: serde_json::Error,
    },
    /// A local file could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done: `read`, `write`, `rename`, …
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
    /// A download ended before its announced size, or went past it.
    #[error("{url} sent {received} bytes where {expected} were announced")]
    SizeMismatch {
        /// The URL downloaded.
        url: String,
        /// The size announced by `Content-Length`.
        expected: u64,
        /// The bytes received.
        received: u64,
    },
    /// The server answered two pages with the same cursor; paging stopped rather than loop.
    #[error("{url} repeated the paging position {cursor:?}; stopped instead of looping")]
    PagingLoop {
        /// The list URL.
        url: String,
        /// The repeated cursor or first id.
        cursor: String,
    },
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later could succeed: 429, 502, 503, 504, connection failures
    /// and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Error::Send { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// A URL fit for messages and logs: the value of a `ticket` parameter (a capability that
/// grants access on its own) is hidden.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("ticket", value)) if !value.is_empty() => "ticket=<hidden>".to_string(),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_are_hidden_in_urls() {
        assert_eq!(
            redact_url("http://h/api/x?ticket=abc&v=1"),
            "http://h/api/x?ticket=<hidden>&v=1"
        );
        assert_eq!(
            redact_url("http://h/api/x?ticket="),
            "http://h/api/x?ticket="
        );
        assert_eq!(redact_url("http://h/api/x"), "http://h/api/x");
    }

    #[test]
    fn status_and_retryable() {
        let api = |status| Error::Api {
            status,
            message: Some("m".into()),
            detail: None,
            request_id: None,
            method: Method::GET,
            url: "u".into(),
        };
        assert_eq!(api(404).status(), Some(404));
        assert!(!api(404).is_retryable());
        assert!(api(503).is_retryable());
        assert!(!api(500).is_retryable());
        assert_eq!(api(404).to_string(), "GET u failed with 404: m");
        let config = Error::Config {
            message: "x".into(),
        };
        assert_eq!((config.status(), config.is_retryable()), (None, false));
    }
}
