//! The one error type of the transport layer.

use std::path::PathBuf;

use reqwest::Method;

/// Everything that can go wrong between the SDK and the server. Messages name the method
/// and URL (with any `ticket` value hidden, and a very long one shortened), never the API
/// key; causes are chained as `source()`. [`Error::Send`] also names its innermost cause,
/// since "the request failed" alone does not say whether it was the network, the server
/// closing mid-reply, or a URL too long to send.
///
/// Sorted by whose move it is: [`Error::Config`] and [`Error::Io`] (fix the setup or the
/// local file), [`Error::Connect`], [`Error::Send`] and [`Error::Timeout`] (the network or
/// the host), [`Error::Api`] (the server refused: see [`Error::status`],
/// [`Error::is_not_found`], [`Error::is_already_exists`]), [`Error::Decode`] and
/// [`Error::Protocol`] (the server answered something unusable), [`Error::Build`] (the HTTP
/// library failed to set up).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client is misconfigured or called with unusable arguments: a malformed API key,
    /// no credentials, a CA file without certificates, an empty path segment, upload
    /// metadata that is not a JSON object. Nothing was sent.
    #[error("{message}")]
    Config {
        /// What is wrong, and how to fix it.
        message: String,
    },
    /// The HTTP client (or a part of a request) could not be built by the HTTP library,
    /// e.g. no TLS backend could be initialised. Nothing was sent.
    #[error("cannot build {what}")]
    Build {
        /// What was being built: `the HTTP client`, `the file part`.
        what: &'static str,
        /// The HTTP library's error.
        #[source]
        source: reqwest::Error,
    },
    /// No connection could be made to the host (refused, no route, name not resolved,
    /// connect timeout), after the bounded connect retries of
    /// [`RetryPolicy`](crate::RetryPolicy): usually a wrong host or port in the API key, or
    /// a server that is down.
    #[error(
        "cannot connect to {host}:{port} for {method} {url} ({attempts} attempt{} in {:.1} s)",
        if *attempts == 1 { "" } else { "s" },
        elapsed.as_secs_f64()
    )]
    Connect {
        /// The host name or address.
        host: String,
        /// The TCP port.
        port: u16,
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// Time from the first attempt to giving up.
        elapsed: std::time::Duration,
        /// The last connection error.
        #[source]
        source: reqwest::Error,
    },
    /// The request could not be sent, or the connection broke before the whole reply came
    /// (a server that stopped mid-download), or the HTTP library refused the request (a URL
    /// too long to be one). The message ends with the innermost cause.
    #[error("{method} {url} failed: {}", innermost_cause(source))]
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
    /// The reply was not what was expected: it does not decode as the type asked for.
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
    /// The reply decoded but cannot be used: an upload ticket without a ticket id or
    /// without a URL for the file.
    #[error("the reply to {method} {url} cannot be used: {message}")]
    Protocol {
        /// What is missing or wrong in the reply.
        message: String,
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
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
    /// A download's bytes are not the file's: their SHA-384 differs from the file entry's
    /// `hash`. Nothing was left under the final name.
    #[error("{url} sent bytes whose hash is {computed}, not {expected}")]
    HashMismatch {
        /// The URL downloaded.
        url: String,
        /// The expected `v0-sha384-<hex>`.
        expected: String,
        /// The hash of the bytes received.
        computed: String,
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
    /// The HTTP status of an API error ([`Error::Api`]); `None` for every other error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server answered 404: the container, file or user does not exist, or the
    /// caller may not see it (Flywheel answers both the same way).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether the server answered 409 Conflict: what was to be created exists already (a
    /// group id, a role name), the Python SDK's `Conflict`. Lets "find or create" code
    /// tell this case from other failures without matching message text.
    pub fn is_already_exists(&self) -> bool {
        self.status() == Some(409)
    }

    /// The server's `message` of an API error, if it sent one.
    pub fn server_message(&self) -> Option<&str> {
        match self {
            Error::Api { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// Whether trying again later could succeed: 429, 502, 503, 504, connection failures
    /// and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            Error::Connect { .. } | Error::Send { .. } | Error::Timeout { .. } => true,
            _ => false,
        }
    }
}

/// The text of the last error in a chain of sources: the one that says what happened.
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// How long a URL may be in a message before it is shortened.
const MESSAGE_URL_CHARS: usize = 300;

/// A URL fit for messages and logs: the value of a `ticket` parameter (a capability that
/// grants access on its own) is hidden, and a URL longer than [`MESSAGE_URL_CHARS`] (a
/// filter of thousands of labels) is cut, with its length said.
pub(crate) fn redact_url(url: &str) -> String {
    let redacted = redact_ticket(url);
    let chars = redacted.chars().count();
    if chars <= MESSAGE_URL_CHARS {
        return redacted;
    }
    let start: String = redacted.chars().take(MESSAGE_URL_CHARS).collect();
    format!("{start}… ({chars} characters)")
}

fn redact_ticket(url: &str) -> String {
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
    fn long_urls_are_shortened_in_messages() {
        let url = format!(
            "http://h/api/subjects?filter=label%3D%7C{}",
            "s".repeat(140_000)
        );
        let shown = redact_url(&url);
        assert!(
            shown.starts_with("http://h/api/subjects?filter=label%3D%7Csss"),
            "{shown}"
        );
        assert!(shown.ends_with("… (140040 characters)"), "{shown}");
        assert_eq!(
            shown.chars().count(),
            MESSAGE_URL_CHARS + "… (140040 characters)".chars().count()
        );
    }

    #[test]
    fn send_errors_name_their_innermost_cause() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let chain = Outer(std::io::Error::other("connection reset by peer"));
        assert_eq!(innermost_cause(&chain), "connection reset by peer");
    }

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
        assert!(api(404).is_not_found() && !api(404).is_already_exists());
        assert!(api(409).is_already_exists() && !api(409).is_not_found());
        assert_eq!(api(409).server_message(), Some("m"));
        let config = Error::Config {
            message: "x".into(),
        };
        assert_eq!((config.status(), config.is_retryable()), (None, false));
        assert!(!config.is_not_found() && config.server_message().is_none());
        let protocol = Error::Protocol {
            message: "the upload ticket reply has no ticket id".into(),
            method: Method::POST,
            url: "http://h/api/x?ticket=".into(),
        };
        assert_eq!(
            protocol.to_string(),
            "the reply to POST http://h/api/x?ticket= cannot be used: \
             the upload ticket reply has no ticket id"
        );
        assert_eq!((protocol.status(), protocol.is_retryable()), (None, false));
    }
}
