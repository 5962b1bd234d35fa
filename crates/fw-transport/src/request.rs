//! Requests as plain values: built without IO, inspected by tests, sent by
//! [`Client`](crate::Client).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method;
use serde::Serialize;

use crate::Error;

/// Path segments are encoded with no safe characters (docs/wire.md §1.2): `my tag/x`
/// becomes `my%20tag%2Fx`. Only unreserved characters stay as they are.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One API request: method, path under the API root, query, extra headers and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path segments under `/api`, unencoded: `["projects", id, "files", name]`.
    pub segments: Vec<String>,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// `x-accept-feature` tokens added to the client's defaults for this request.
    pub features: Vec<String>,
    /// The `Accept` header; `application/json` unless set.
    pub accept: Option<String>,
    /// The JSON body, already encoded.
    pub body: Option<Vec<u8>>,
    /// The caller says this POST may be sent twice (it is idempotent server-side).
    pub post_is_safe: bool,
}

impl Request {
    /// A request with no query and no body.
    pub fn new<S: ToString>(method: Method, segments: impl IntoIterator<Item = S>) -> Self {
        Request {
            method,
            segments: segments.into_iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            features: Vec::new(),
            accept: None,
            body: None,
            post_is_safe: false,
        }
    }

    /// `GET /a/b/…`.
    pub fn get<S: ToString>(segments: impl IntoIterator<Item = S>) -> Self {
        Request::new(Method::GET, segments)
    }

    /// `POST /a/b/…`.
    pub fn post<S: ToString>(segments: impl IntoIterator<Item = S>) -> Self {
        Request::new(Method::POST, segments)
    }

    /// `PUT /a/b/…`.
    pub fn put<S: ToString>(segments: impl IntoIterator<Item = S>) -> Self {
        Request::new(Method::PUT, segments)
    }

    /// `PATCH /a/b/…`.
    pub fn patch<S: ToString>(segments: impl IntoIterator<Item = S>) -> Self {
        Request::new(Method::PATCH, segments)
    }

    /// `DELETE /a/b/…`.
    pub fn delete<S: ToString>(segments: impl IntoIterator<Item = S>) -> Self {
        Request::new(Method::DELETE, segments)
    }

    /// Parses a path as a person types it, `/projects/abc?limit=2`: segments are taken as
    /// already encoded, and the query is decoded into pairs.
    pub fn from_raw_path(method: Method, raw: &str) -> Self {
        let (path, query) = raw.split_once('?').unwrap_or((raw, ""));
        let path = path.trim_start_matches('/').trim_start_matches("api/");
        let segments = path.split('/').filter(|s| !s.is_empty()).map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        });
        let mut request = Request::new(method, segments);
        request.query = reqwest::Url::parse(&format!("http://x/?{query}"))
            .map(|url| url.query_pairs().into_owned().collect())
            .unwrap_or_default();
        request
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the JSON body.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if `body` cannot be encoded as JSON (a map with non-string keys).
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Config {
            message: format!("the request body cannot be encoded as JSON: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Adds an `x-accept-feature` token for this request.
    pub fn feature(mut self, token: &str) -> Self {
        self.features.push(token.to_string());
        self
    }

    /// Sets the `Accept` header.
    pub fn accept(mut self, media_type: &str) -> Self {
        self.accept = Some(media_type.to_string());
        self
    }

    /// Marks a POST as safe to send twice, so that it is retried like a PUT.
    pub fn retry_post(mut self) -> Self {
        self.post_is_safe = true;
        self
    }

    /// The encoded path under the API root, `/projects/6500…/files/a%20b%23c.txt`. An empty
    /// segment is an error, as in the Python SDK.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the empty segment.
    pub fn path(&self) -> Result<String, Error> {
        let mut path = String::new();
        for (i, segment) in self.segments.iter().enumerate() {
            if segment.is_empty() {
                return Err(Error::Config {
                    message: format!(
                        "path segment {} of {} {} is empty",
                        i + 1,
                        self.method,
                        self.segments.join("/")
                    ),
                });
            }
            path.push('/');
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
        Ok(path)
    }

    /// The full URL under `base` (the API root), with the query form-encoded (space as
    /// `+`, `,` as `%2C`, as the Python SDK sends it).
    ///
    /// # Errors
    ///
    /// As [`Request::path`].
    pub fn url(&self, base: &str, extra_query: &[(&str, &str)]) -> Result<String, Error> {
        let mut url = format!("{base}{}", self.path()?);
        let pairs = self
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra_query.iter().copied());
        let mut encoded = String::new();
        for (name, value) in pairs {
            if !encoded.is_empty() {
                encoded.push('&');
            }
            encoded.push_str(&form_encode(name));
            encoded.push('=');
            encoded.push_str(&form_encode(value));
        }
        if !encoded.is_empty() {
            url.push('?');
            url.push_str(&encoded);
        }
        Ok(url)
    }
}

/// `application/x-www-form-urlencoded`: space as `+`, every other byte but `*-._` and
/// alphanumerics percent-encoded.
fn form_encode(text: &str) -> String {
    const FORM: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'*')
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b' ');
    // Unencoded characters come in runs, so spaces are replaced inside each run.
    utf8_percent_encode(text, FORM)
        .map(|chunk| chunk.replace(' ', "+"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_with_no_safe_characters() {
        let r = Request::delete(["projects", "p1", "tags", "my tag/x"]);
        assert_eq!(r.path().unwrap(), "/projects/p1/tags/my%20tag%2Fx");
        let r = Request::get(["groups", "g", "permissions", "bob@x.org"]);
        assert_eq!(r.path().unwrap(), "/groups/g/permissions/bob%40x.org");
        let r = Request::get(["containers", "c", "files", "a b#c.txt"]);
        assert_eq!(r.path().unwrap(), "/containers/c/files/a%20b%23c.txt");
        let r = Request::get(["x", "scan_1-2.nii.gz~"]);
        assert_eq!(r.path().unwrap(), "/x/scan_1-2.nii.gz~");
        let r = Request::get(["x", "é"]);
        assert_eq!(r.path().unwrap(), "/x/%C3%A9");
        let err = Request::get(["projects", ""]).path().unwrap_err();
        assert!(err.to_string().contains("segment 2"), "{err}");
    }

    #[test]
    fn queries_are_form_encoded_in_order() {
        let r = Request::get(["projects"])
            .query("filter", "label=a,created>2024-01-01")
            .query("sort", "created:desc")
            .query("limit", 5);
        assert_eq!(
            r.url("http://h:1/api", &[("exhaustive", "true")]).unwrap(),
            "http://h:1/api/projects?filter=label%3Da%2Ccreated%3E2024-01-01&sort=created%3Adesc&limit=5&exhaustive=true"
        );
        let r = Request::get(["x"]).query("q", r"a b\c");
        assert_eq!(
            r.url("http://h:1/api", &[]).unwrap(),
            "http://h:1/api/x?q=a+b%5Cc"
        );
        assert_eq!(Request::get(["x"]).url("b", &[]).unwrap(), "b/x");
    }

    #[test]
    fn requests_are_plain_values() {
        let r = Request::post(["projects", "p1", "tags"])
            .json(&serde_json::json!({"value": "t"}))
            .unwrap()
            .feature("slim-containers");
        assert_eq!(r.method, Method::POST);
        assert_eq!(r.body.as_deref(), Some(br#"{"value":"t"}"#.as_slice()));
        assert_eq!(r.features, ["slim-containers"]);
        assert!(!r.post_is_safe);
        assert!(r.clone().retry_post().post_is_safe);
    }

    #[test]
    fn raw_paths() {
        let r = Request::from_raw_path(Method::GET, "/api/projects/a%20b?limit=2&filter=label%3Dx");
        assert_eq!(r.segments, ["projects", "a b"]);
        assert_eq!(
            r.query,
            [
                ("limit".to_string(), "2".to_string()),
                ("filter".into(), "label=x".into())
            ]
        );
        assert_eq!(
            Request::from_raw_path(Method::GET, "users/self").segments,
            ["users", "self"]
        );
    }
}
