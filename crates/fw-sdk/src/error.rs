//! The one error type of the SDK.

/// Everything an SDK call can fail with.
///
/// Server replies are sorted by what a script does about them: [`Error::NotFound`] (404),
/// [`Error::PermissionDenied`] (403), [`Error::AlreadyExists`] (409), any other status as
/// [`Error::Api`]. Mistakes found before sending anything are [`Error::QuerySyntax`] and
/// [`Error::InvalidArgument`]. The transport error, when there is one, is the
/// [`source`](std::error::Error::source), so the method and URL of the failed request are
/// one `source()` away and never repeated in the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A finder filter, sort string or FlyQL query does not parse. Nothing was sent. The
    /// message shows the text with a caret under the mistake:
    ///
    /// ```text
    /// invalid filter "label=~(":
    /// error: invalid regular expression … at line 1, column 8
    ///   | label=~(
    ///   |        ^
    /// ```
    #[error("invalid {what} {text:?}:\n{error}")]
    QuerySyntax {
        /// `filter`, `sort` or `FlyQL query`.
        what: &'static str,
        /// The text as given.
        text: String,
        /// The parse error: offset, line, column, expected and found.
        error: fw_filter::ParseError,
    },
    /// The container (or user, role, modality …) does not exist or is not visible to the
    /// caller (a 404), or a finder's `find_one` matched nothing.
    #[error("{message}")]
    NotFound {
        /// What was not found: the server's message, or the finder and its filter.
        message: String,
        /// The 404 reply, when the server said so.
        #[source]
        source: Option<Box<fw_transport::Error>>,
    },
    /// `find_one` matched more than one container.
    #[error("{message}")]
    MoreThanOne {
        /// The finder and its filter.
        message: String,
    },
    /// The caller may see the container but not do this (a 403).
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// The server's message.
        message: String,
        /// The 403 reply.
        #[source]
        source: Box<fw_transport::Error>,
    },
    /// The thing to create exists already (a 409), e.g. a group id taken.
    #[error("already exists: {message}")]
    AlreadyExists {
        /// The server's message.
        message: String,
        /// The 409 reply.
        #[source]
        source: Box<fw_transport::Error>,
    },
    /// Any other error status from the server.
    #[error("the server answered {status}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The server's `message` (the reason phrase when it sent none).
        message: String,
        /// The reply, with method, URL, `detail` and `request_id`.
        #[source]
        source: Box<fw_transport::Error>,
    },
    /// The request could not be made or completed: no connection, a timeout, a bad API
    /// key or CA file, a file that cannot be read. Shown as the transport error, which
    /// names the method, URL (and for refused connections, host and port).
    #[error(transparent)]
    Transport(Box<fw_transport::Error>),
    /// The server answered something the SDK cannot use: JSON of the wrong shape, a
    /// container without an `_id`, a session where a project was asked for.
    #[error("unexpected reply: {message}")]
    UnexpectedReply {
        /// What was wrong.
        message: String,
        /// The decoding error, when there is one.
        #[source]
        source: Option<Box<fw_transport::Error>>,
    },
    /// An argument cannot be sent as given: a JSON body that is not an object, options
    /// that cannot go together. Nothing was sent.
    #[error("invalid argument: {message}")]
    InvalidArgument {
        /// What is wrong, and what would work.
        message: String,
    },
    /// The in-process local Flywheel (feature `local`) could not start or stop: its data
    /// directory cannot be made or removed, or its server cannot listen or open its
    /// database. The text says which.
    #[error("local Flywheel: {0}")]
    Local(String),
    /// A container's `timezone` is missing or names no zone, so its original timestamp
    /// cannot be shown (from `session.original_timestamp()?`, as the crosswalk writes it).
    #[error(transparent)]
    TimeZone(#[from] fw_model::TimeZoneError),
}

impl Error {
    /// The HTTP status of the server's reply, if the error is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::NotFound {
                source: Some(source),
                ..
            } => source.status(),
            Error::PermissionDenied { source, .. } | Error::AlreadyExists { source, .. } => {
                source.status()
            }
            _ => None,
        }
    }

    /// Whether the thing asked for does not exist (a 404, or `find_one` matched nothing):
    /// kube's `get_opt` pattern is `match r { Err(e) if e.is_not_found() => None, … }`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// Whether the thing to create exists already (a 409).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    /// Whether no connection could be made to the server, after the transport's bounded
    /// connect retries ([`fw_transport::Error::Connect`]): it is down, or the key names a
    /// wrong host or port. Bulk transfers stop on it rather than try every file.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Transport(source) if matches!(**source, fw_transport::Error::Connect { .. }))
    }

    /// Whether trying again later could succeed (429, 502, 503, 504, connection failures
    /// and timeouts), after the transport's own retries gave up.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api { source, .. } | Error::Transport(source) => source.is_retryable(),
            _ => false,
        }
    }

    pub(crate) fn syntax(what: &'static str, text: &str, error: fw_filter::ParseError) -> Error {
        Error::QuerySyntax {
            what,
            text: text.to_string(),
            error,
        }
    }

    pub(crate) fn unexpected(message: impl Into<String>) -> Error {
        Error::UnexpectedReply {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            message: message.into(),
        }
    }
}

impl From<fw_model::WrongKind> for Error {
    /// A node of another kind than asked for ([`crate::AnyContainer::into_kind`]) is an
    /// [`Error::UnexpectedReply`] naming both kinds.
    fn from(wrong: fw_model::WrongKind) -> Error {
        Error::unexpected(wrong.to_string())
    }
}

impl From<fw_transport::Error> for Error {
    /// Sorts a transport error by status: 404, 403 and 409 get their own variants, other
    /// statuses are [`Error::Api`], undecodable replies [`Error::UnexpectedReply`].
    fn from(source: fw_transport::Error) -> Error {
        let message = source.server_message().map(str::to_string);
        let status = source.status();
        // Boxed: the transport error is large, and `Result<_, Error>` is on every path.
        let source = Box::new(source);
        match (status, message) {
            (Some(404), message) => Error::NotFound {
                message: message.unwrap_or_else(|| "not found".into()),
                source: Some(source),
            },
            (Some(403), message) => Error::PermissionDenied {
                message: message.unwrap_or_else(|| "forbidden".into()),
                source,
            },
            (Some(409), message) => Error::AlreadyExists {
                message: message.unwrap_or_else(|| "conflict".into()),
                source,
            },
            (Some(status), message) => Error::Api {
                status,
                message: message.unwrap_or_default(),
                source,
            },
            (None, _) => match *source {
                fw_transport::Error::Decode { .. } => Error::UnexpectedReply {
                    message: "the reply does not have the expected shape".into(),
                    source: Some(source),
                },
                fw_transport::Error::Protocol { .. } => Error::UnexpectedReply {
                    message: "the reply cannot be used".into(),
                    source: Some(source),
                },
                _ => Error::Transport(source),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, message: Option<&str>) -> fw_transport::Error {
        fw_transport::Error::Api {
            status,
            message: message.map(str::to_string),
            detail: None,
            request_id: None,
            method: fw_transport::Method::GET,
            url: "http://h/api/x".into(),
        }
    }

    #[test]
    fn statuses_sort_into_variants() {
        let e = Error::from(api(404, Some("project 'p' not found")));
        assert!(e.is_not_found());
        assert_eq!(e.status(), Some(404));
        assert_eq!(e.to_string(), "project 'p' not found");
        let e = Error::from(api(403, Some("no")));
        assert!(matches!(e, Error::PermissionDenied { .. }));
        assert_eq!(
            (e.status(), e.to_string().as_str()),
            (Some(403), "permission denied: no")
        );
        let e = Error::from(api(409, Some("group g exists already")));
        assert!(e.is_already_exists());
        assert_eq!(e.to_string(), "already exists: group g exists already");
        let e = Error::from(api(503, None));
        assert_eq!((e.status(), e.is_retryable()), (Some(503), true));
        assert_eq!(e.to_string(), "the server answered 503: ");
        let e = Error::from(api(400, Some("bad")));
        assert_eq!(
            (e.status(), e.is_retryable(), e.is_not_found()),
            (Some(400), false, false)
        );
    }

    #[test]
    fn syntax_errors_show_the_caret() {
        let parse = fw_filter::parse_filter("label=~(").unwrap_err();
        let e = Error::syntax("filter", "label=~(", parse);
        let text = e.to_string();
        assert!(text.starts_with("invalid filter \"label=~(\":\n"), "{text}");
        assert!(text.contains("  | label=~(\n  |        ^"), "{text}");
        assert_eq!(e.status(), None);
    }
}
