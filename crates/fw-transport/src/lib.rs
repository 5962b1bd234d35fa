//! The HTTP layer of the Flywheel Rust SDK: every byte the SDK sends goes through here.
//!
//! - [`ApiKey`]: every key form of the Python SDK, and the CLI's credentials file.
//! - [`Request`]: a request as a plain value (method, path, query, headers, body), built
//!   without IO; [`Client`] sends it with the headers of docs/wire.md §1.1.
//! - [`RetryPolicy`]: a pure, unit-tested decision: 429/502/503/504 and broken
//!   connections, idempotent methods (POST only when marked safe), exponential backoff with
//!   jitter and a cap, `Retry-After` honoured; a host that refuses connections is retried
//!   on a short schedule within 5 s, then [`Error::Connect`] names its host and port.
//! - [`Error`]: one enum; [`Error::status`], [`Error::is_not_found`],
//!   [`Error::is_already_exists`] (409) for API errors.
//! - [`Client::paginate`]: a stream over a list endpoint, by keyset or page number.
//! - [`Upload`] and [`Download`], values sent by [`Client::upload`] and
//!   [`Client::download`]: files streamed from and to disk, never whole in memory; a
//!   download is checked by size and SHA-384 as it streams, can resume with `Range`, and
//!   a failed one leaves nothing under its final name.
//!
//! ```no_run
//! use fw_transport::{ApiKey, Client, Request};
//! use futures_util::TryStreamExt;
//!
//! # async fn run() -> Result<(), fw_transport::Error> {
//! let client = Client::new(ApiKey::parse("127.0.0.1:8080:__force_insecure:secret")?)?;
//! let me: serde_json::Value = client.json(&Request::get(["users", "self"])).await?;
//! let subjects: Vec<fw_model::Subject> = client
//!     .paginate(Request::get(["subjects"]).query("filter", "sex=female"), 250)
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```

mod client;
mod error;
mod files;
mod key;
mod paging;
mod request;
mod retry;

pub use client::{Client, ClientBuilder, DEFAULT_FEATURES, USER_AGENT};
pub use error::Error;
pub use files::{
    Download, PART_ALIGNMENT, Progress, Upload, UploadMode, UploadSource, UploadTarget,
    content_type_for, flywheel_hash, hash_file, part_ranges, sha384_hex_of,
};
pub use key::{ApiKey, credentials_path};
pub use paging::DEFAULT_PAGE_SIZE;
pub use request::Request;
pub use retry::{Attempt, Decision, Outcome, RetryPolicy, parse_retry_after};

/// Re-exported so that callers name methods without depending on reqwest.
pub use reqwest::Method;
