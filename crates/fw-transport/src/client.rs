//! The client that sends [`Request`]s: headers of docs/wire.md §1.1, retries, errors.

use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use crate::error::redact_url;
use crate::retry::{Attempt, Decision, Outcome, RetryPolicy, parse_retry_after};
use crate::{ApiKey, Error, Request};

/// The `x-accept-feature` tokens sent on every request, as the Python SDK sends them.
pub const DEFAULT_FEATURES: [&str; 2] = ["Safe-Redirect", "multipart_signed_url"];

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("fw-sdk-rs/", env!("CARGO_PKG_VERSION"));

/// How much of an error reply is read: enough for any JSON error, bounded against a
/// server that sends a whole file as its error.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Settings for a [`Client`]; start from [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    key: ApiKey,
    connect_timeout: Duration,
    read_timeout: Duration,
    features: Vec<String>,
    exhaustive: bool,
    ca_certificates: Vec<PathBuf>,
    retry: RetryPolicy,
    sync_downloads: bool,
    pool_idle_per_host: Option<usize>,
}

impl ClientBuilder {
    /// At most `connections` idle connections kept open per host for reuse (default: no
    /// limit of our own, reqwest's). Connections in use are not limited by this; bound
    /// them by bounding the requests in flight.
    pub fn pool_max_idle_per_host(mut self, connections: usize) -> Self {
        self.pool_idle_per_host = Some(connections);
        self
    }

    /// Whether a download is flushed to the disk (fsync) before it is renamed into place
    /// (default: yes). Without it a power cut soon after a download can lose the file;
    /// turn it off only for scratch data.
    pub fn sync_downloads(mut self, sync: bool) -> Self {
        self.sync_downloads = sync;
        self
    }

    /// The time allowed to connect (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time allowed between two reads of a reply (default 60 s). A long download is
    /// fine as long as bytes keep coming.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Adds an `x-accept-feature` token to every request (after the defaults).
    pub fn feature(mut self, token: &str) -> Self {
        self.features.push(token.to_string());
        self
    }

    /// Adds `exhaustive=true` to every request: site admins then see everything.
    pub fn exhaustive(mut self, exhaustive: bool) -> Self {
        self.exhaustive = exhaustive;
        self
    }

    /// Trusts the CA certificates of a PEM file, besides the system's.
    pub fn ca_certificate(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.ca_certificates.push(pem_file.into());
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Builds the client. Proxies come from `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a CA certificate file cannot be read, [`Error::Config`] if it holds
    /// no PEM certificate, [`Error::Build`] if the HTTP library cannot set up a client
    /// (e.g. a certificate it refuses).
    pub fn build(self) -> Result<Client, Error> {
        let mut http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout);
        if let Some(connections) = self.pool_idle_per_host {
            http = http.pool_max_idle_per_host(connections);
        }
        for path in &self.ca_certificates {
            let pem = std::fs::read(path).map_err(|source| Error::Io {
                action: "read the CA certificate",
                path: path.clone(),
                source,
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .ok()
                .filter(|certificates| !certificates.is_empty())
                .ok_or_else(|| Error::Config {
                    message: format!("{} holds no PEM certificate", path.display()),
                })?;
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        let http = http.build().map_err(|source| Error::Build {
            what: "the HTTP client",
            source,
        })?;
        let features = DEFAULT_FEATURES
            .iter()
            .map(|s| s.to_string())
            .chain(self.features)
            .collect();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                key: self.key,
                features,
                exhaustive: self.exhaustive,
                retry: self.retry,
                sync_downloads: self.sync_downloads,
            }),
        })
    }
}

/// Sends requests to one Flywheel site. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    key: ApiKey,
    features: Vec<String>,
    exhaustive: bool,
    retry: RetryPolicy,
    sync_downloads: bool,
}

/// A request body made afresh for each attempt.
pub(crate) enum Payload {
    /// No body (a POST, PUT or PATCH still sends `Content-Length: 0`).
    None,
    /// Bytes, e.g. JSON.
    Bytes(Bytes),
    /// A multipart form.
    Multipart(reqwest::multipart::Form),
}

impl Client {
    /// A client with the default settings.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub fn new(key: ApiKey) -> Result<Client, Error> {
        Client::builder(key).build()
    }

    /// Settings for a client: timeouts of 10 s to connect and 60 s between reads, the
    /// default retry policy, the Python SDK's `x-accept-feature` tokens.
    pub fn builder(key: ApiKey) -> ClientBuilder {
        ClientBuilder {
            key,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            features: Vec::new(),
            exhaustive: false,
            ca_certificates: Vec::new(),
            retry: RetryPolicy::default(),
            sync_downloads: true,
            pool_idle_per_host: None,
        }
    }

    /// The API root, e.g. `https://flywheel.example.com:443/api`.
    pub fn base_url(&self) -> &str {
        self.inner.key.base_url()
    }

    /// The full URL a request goes to, with the client's `exhaustive` parameter.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if a path segment is empty.
    pub fn url_of(&self, request: &Request) -> Result<String, Error> {
        let extra: &[(&str, &str)] = if self.inner.exhaustive {
            &[("exhaustive", "true")]
        } else {
            &[]
        };
        request.url(self.base_url(), extra)
    }

    /// Sends a request, with retries; returns the reply of a 2xx or 3xx status, whose body
    /// has not been read yet.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for an empty path segment (nothing is sent);
    /// [`Error::Connect`] when no connection can be made within the policy's connect
    /// budget (the message names host and port); [`Error::Send`] when a connection broke;
    /// [`Error::Timeout`] when no reply came in time; [`Error::Api`] for a 4xx or 5xx
    /// status, once retries (if any) are used up.
    pub async fn send(&self, request: &Request) -> Result<Response, Error> {
        let body = request.body.clone().map(Bytes::from);
        let payload = move || {
            Ok(match &body {
                Some(bytes) => Payload::Bytes(bytes.clone()),
                None => Payload::None,
            })
        };
        self.send_with(request, &payload, true).await
    }

    /// Sends a request and returns the reply body.
    ///
    /// # Errors
    ///
    /// As [`Client::send`], and [`Error::Send`] or [`Error::Timeout`] if the body breaks
    /// off.
    pub async fn bytes(&self, request: &Request) -> Result<Bytes, Error> {
        let response = self.send(request).await?;
        let url = redact_url(response.url().as_str());
        response
            .bytes()
            .await
            .map_err(|source| send_error(&request.method, url, source))
    }

    /// Sends a request and decodes the JSON reply as `T`.
    ///
    /// # Errors
    ///
    /// As [`Client::bytes`], and [`Error::Decode`] (with the type's name and the start of
    /// the body) if the reply is not a `T`.
    pub async fn json<T: DeserializeOwned>(&self, request: &Request) -> Result<T, Error> {
        let response = self.send(request).await?;
        self.decode(&request.method, response).await
    }

    pub(crate) async fn decode<T: DeserializeOwned>(
        &self,
        method: &Method,
        response: Response,
    ) -> Result<T, Error> {
        let url = redact_url(response.url().as_str());
        let body = response
            .bytes()
            .await
            .map_err(|source| send_error(method, url.clone(), source))?;
        serde_json::from_slice(&body).map_err(|source| Error::Decode {
            expected: std::any::type_name::<T>(),
            snippet: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            method: method.clone(),
            url,
            source,
        })
    }

    /// Sends an API request whose body `payload` makes for each attempt.
    pub(crate) async fn send_with(
        &self,
        request: &Request,
        payload: &(dyn Fn() -> Result<Payload, Error> + Sync),
        replayable: bool,
    ) -> Result<Response, Error> {
        self.send_with_headers(request, payload, replayable, &[])
            .await
    }

    /// As `send_with`, with extra headers (a download's `Range`).
    pub(crate) async fn send_with_headers(
        &self,
        request: &Request,
        payload: &(dyn Fn() -> Result<Payload, Error> + Sync),
        replayable: bool,
        headers: &[(&'static str, String)],
    ) -> Result<Response, Error> {
        let url = self.url_of(request)?;
        let features = self
            .inner
            .features
            .iter()
            .chain(&request.features)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let build = || {
            let mut builder = self
                .inner
                .http
                .request(request.method.clone(), &url)
                .header(AUTHORIZATION, self.inner.key.authorization())
                .header("x-accept-feature", &features)
                // As the Python SDK writes it; replies are still decompressed.
                .header(ACCEPT_ENCODING, "gzip, deflate")
                .header(
                    ACCEPT,
                    request.accept.as_deref().unwrap_or("application/json"),
                );
            for (name, value) in headers {
                builder = builder.header(*name, value);
            }
            let payload = payload()?;
            let has_content_type = matches!(
                request.method,
                Method::POST | Method::PUT | Method::PATCH | Method::DELETE
            );
            if has_content_type && !matches!(payload, Payload::Multipart(_)) {
                builder = builder.header(CONTENT_TYPE, "application/json");
            }
            Ok(match payload {
                Payload::Bytes(bytes) => builder.body(bytes),
                Payload::Multipart(form) => builder.multipart(form),
                // A body-less POST, PUT or PATCH says `Content-Length: 0`; DELETE and GET
                // send no length at all.
                Payload::None
                    if matches!(request.method, Method::POST | Method::PUT | Method::PATCH) =>
                {
                    builder.header(CONTENT_LENGTH, "0").body(Bytes::new())
                }
                Payload::None => builder,
            })
        };
        self.execute(
            &request.method,
            &url,
            request.post_is_safe,
            replayable,
            &build,
        )
        .await
    }

    /// Whether downloads are synced to the disk before they are renamed into place
    /// ([`ClientBuilder::sync_downloads`]).
    pub fn syncs_downloads(&self) -> bool {
        self.inner.sync_downloads
    }

    /// A storage PUT of a signed-URL upload: none of the API's headers, only `headers`.
    pub(crate) fn storage_put(&self, url: &str) -> RequestBuilder {
        self.inner.http.put(url)
    }

    /// Sends what `build` makes, retrying as the policy says.
    pub(crate) async fn execute(
        &self,
        method: &Method,
        url: &str,
        post_is_safe: bool,
        replayable: bool,
        build: &(dyn Fn() -> Result<RequestBuilder, Error> + Sync),
    ) -> Result<Response, Error> {
        let shown_url = redact_url(url);
        let first_started = std::time::Instant::now();
        let mut number = 0;
        loop {
            number += 1;
            let started = std::time::Instant::now();
            let result = build()?.send().await;
            let attempt = Attempt {
                method,
                post_is_safe,
                replayable,
                number,
                elapsed: first_started.elapsed(),
            };
            let outcome = match &result {
                Ok(response) if response.status().as_u16() < 400 => {
                    tracing::debug!(%method, url = %shown_url, status = response.status().as_u16(), elapsed = ?started.elapsed(), "reply");
                    return result.map_err(|source| send_error(method, shown_url, source));
                }
                Ok(response) => {
                    let retry_after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                    Outcome::Status(response.status().as_u16(), retry_after)
                }
                Err(e) if e.is_connect() => Outcome::CannotConnect,
                Err(e) if e.is_timeout() => Outcome::TimedOut,
                Err(e) if e.is_request() => Outcome::ConnectionFailed,
                Err(_) => Outcome::TimedOut, // anything else: not known to be safe to retry
            };
            match self.inner.retry.decide(attempt, outcome, jitter()) {
                Decision::RetryAfter(wait) => {
                    // The reason is the outcome, and for a failed connection its innermost
                    // cause ("Connection refused (os error 111)"), which says what to fix.
                    let reason = match &result {
                        Err(e) => format!("{outcome}: {}", innermost_cause(e)),
                        Ok(_) => outcome.to_string(),
                    };
                    tracing::warn!(%method, url = %shown_url, %reason, attempt = number, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => {
                    return match result {
                        Ok(response) => Err(api_error(method, &shown_url, response).await),
                        Err(source) if outcome == Outcome::CannotConnect => Err(connect_error(
                            method,
                            url,
                            shown_url,
                            number,
                            first_started,
                            source,
                        )),
                        Err(source) => Err(send_error(method, shown_url, source)),
                    };
                }
            }
        }
    }
}

/// The innermost `source()` of an error: the system's own words for a failed connection.
fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The error for a host that could not be reached: names the host and port of `url`, so a
/// wrong key is seen at once.
fn connect_error(
    method: &Method,
    url: &str,
    shown_url: String,
    attempts: u32,
    first_started: std::time::Instant,
    source: reqwest::Error,
) -> Error {
    let parsed = reqwest::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let port = parsed
        .as_ref()
        .and_then(reqwest::Url::port_or_known_default)
        .unwrap_or_default();
    Error::Connect {
        host,
        port,
        method: method.clone(),
        url: shown_url,
        attempts,
        elapsed: first_started.elapsed(),
        source,
    }
}

/// A number in `[0, 1)`, different on every call, for backoff jitter. `RandomState` is
/// seeded randomly per process and per instance, which is all the randomness this needs.
fn jitter() -> f64 {
    (RandomState::new().hash_one(std::time::Instant::now()) >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn send_error(method: &Method, url: String, source: reqwest::Error) -> Error {
    if source.is_timeout() {
        Error::Timeout {
            method: method.clone(),
            url,
            source,
        }
    } else {
        Error::Send {
            method: method.clone(),
            url,
            source,
        }
    }
}

/// Reads the JSON error body (`message`, `detail`, `request_id`) of a failed reply; a body
/// that is not JSON gives its first line as the message.
async fn api_error(method: &Method, url: &str, mut response: Response) -> Error {
    let status = response.status();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let parsed: Option<fw_model::ErrorBody> = serde_json::from_slice(&body).ok();
    let (message, detail, request_id) = match parsed {
        Some(error) => (error.message, error.detail.map(Box::new), error.request_id),
        None => {
            let text = String::from_utf8_lossy(&body);
            let first_line = text.lines().next().unwrap_or_default().trim();
            let message = if first_line.is_empty() {
                status.canonical_reason().unwrap_or_default().to_string()
            } else {
                first_line.chars().take(200).collect()
            };
            (Some(message), None, None)
        }
    };
    Error::Api {
        status: status.as_u16(),
        message,
        detail,
        request_id,
        method: method.clone(),
        url: url.to_string(),
    }
}
