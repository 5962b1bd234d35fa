#![doc = include_str!("../README.md")]

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
    Download, Fetched, PART_ALIGNMENT, Progress, Upload, UploadMode, UploadSource, UploadTarget,
    content_type_for, flywheel_hash, hash_file, part_ranges, sha384_hex_of, sync_directory,
};
pub use key::{ApiKey, credentials_path};
pub use paging::DEFAULT_PAGE_SIZE;
pub use request::Request;
pub use retry::{Attempt, Decision, Outcome, RetryPolicy, parse_retry_after};

/// Re-exported so that callers name methods without depending on reqwest.
pub use reqwest::Method;
