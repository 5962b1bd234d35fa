//! The blocking API: the same client, handles and methods, synchronous, for scripts that
//! do not want async (as `reqwest::blocking`).
//!
//! ```no_run
//! use fw_sdk::blocking::Client;
//! use serde_json::json;
//!
//! # fn main() -> Result<(), fw_sdk::Error> {
//! let fw = Client::from_env()?;
//! let project = fw.projects().find_one("group=scien,label=cmrr_deid")?;
//! for subject in project.subjects().iter_find("sex=male")? {
//!     subject?.update_info(json!({"reviewed": true}))?;
//! }
//! # Ok(()) }
//! ```
//!
//! A blocking [`Client`] owns a Tokio runtime (two worker threads, shared by its clones
//! and every handle made from it) and runs the async method on it: each method here is
//! the async method of the same name, awaited, so requests, errors and docs are the async
//! API's. Handles ([`Container`], [`Finder`], [`File`], [`SearchResult`]) mirror the
//! async ones; streams ([`crate::Finder::iter_find`]) become iterators ([`Iter`]), which
//! still fetch the next page while the caller works on this one; uploads and downloads
//! are the same values with a [`send`](FileUpload::send) in place of `.await`; a file's
//! streaming reader is a [`std::io::Read`] ([`FileReader`]).
//!
//! ```no_run
//! # fn run(acquisition: fw_sdk::blocking::Acquisition) -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::Read;
//! let made = acquisition
//!     .upload_file("T1w.nii.gz")
//!     .metadata(serde_json::json!({"type": "nifti"}))
//!     .send()?;
//! acquisition.download_file("T1w.nii.gz", "/data/T1w.nii.gz")?.send()?; // verified
//! let mut header = [0u8; 348];
//! acquisition.open_file("T1w.nii.gz")?.read_exact(&mut header)?;
//! # Ok(()) }
//! ```
//!
//! Every twin is generated from one line of a single table (`src/blocking/twins.rs`) by
//! the `twins!` macro, and `tests/blocking.rs` fails when an async method has no line
//! there, so the two APIs cannot drift.
//!
//! As with `reqwest::blocking`, do not call this API from inside an async runtime: a call
//! blocks, and blocking on a runtime's thread panics (with Tokio's message, "Cannot start
//! a runtime from within a runtime"). Use the async API there, or call the blocking one
//! inside `tokio::task::spawn_blocking`. Dropping a blocking client, handle or local site
//! in async code is fine: its runtime then shuts down in the background.

use std::fmt;
#[cfg(feature = "local")]
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use fw_model::NodeMap;
use fw_model::{
    AccessPermission, AcquisitionKind, AnalysisKind, AuthStatus, Config, ContainerKind,
    DeletedResult, GroupId, GroupKind, Modality, ModifiedResult, Note, ProjectKind, Role,
    RolePermission, SessionKind, SubjectKind, User, Version,
};

use crate::Error;
use crate::finder::Listable;

/// Writes the blocking twins of a table of async methods (see `twins.rs`).
macro_rules! twins {
    ($(
        impl [$($gen:tt)*] $self_ty:ty $(where [$($bound:tt)*])? {
            $(
                $mode:ident $recv:ident $name:ident $([$($mgen:tt)*])?
                ($($arg:ident : $argty:ty),*) -> $ret:ty $(where [$($mbound:tt)*])?;
            )*
        }
    )*) => {$(
        impl<$($gen)*> $self_ty where $($($bound)*)? {
            $(
                twins!(@method $mode $recv $name [$($($mgen)*)?] ($($arg : $argty),*)
                    -> $ret [$($($mbound)*)?]);
            )*
        }
    )*};
    (@method async ref $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("`", stringify!($name), "`, blocking: the async method's request, reply and errors (see its docs).")]
        pub fn $name<$($mg)*>(&self, $($arg: $argty),*) -> Result<<$ret as IntoBlocking>::Output, Error>
        where $($mb)*
        {
            let value: $ret = self.runtime.block_on(self.inner.$name($($arg),*))?;
            Ok(IntoBlocking::into_blocking(value, &self.runtime))
        }
    };
    (@method async own $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("`", stringify!($name), "`, blocking: the async method's request, reply and errors (see its docs).")]
        pub fn $name<$($mg)*>(self, $($arg: $argty),*) -> Result<<$ret as IntoBlocking>::Output, Error>
        where $($mb)*
        {
            let value: $ret = self.runtime.block_on(self.inner.$name($($arg),*))?;
            Ok(IntoBlocking::into_blocking(value, &self.runtime))
        }
    };
    (@method sync ref $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("`", stringify!($name), "`, as in the async API (see its docs).")]
        pub fn $name<$($mg)*>(&self, $($arg: $argty),*) -> <$ret as IntoBlocking>::Output
        where $($mb)*
        {
            let value: $ret = self.inner.$name($($arg),*);
            IntoBlocking::into_blocking(value, &self.runtime)
        }
    };
    (@method sync own $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("`", stringify!($name), "`, as in the async API (see its docs).")]
        pub fn $name<$($mg)*>(self, $($arg: $argty),*) -> <$ret as IntoBlocking>::Output
        where $($mb)*
        {
            let value: $ret = self.inner.$name($($arg),*);
            IntoBlocking::into_blocking(value, &self.runtime)
        }
    };
    (@method await own $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("Sends it, blocking: `.await` of the async value, with its request, reply and errors (see its docs).")]
        pub fn $name<$($mg)*>(self, $($arg: $argty),*) -> Result<<$ret as IntoBlocking>::Output, Error>
        where $($mb)*
        {
            let value: $ret = self.runtime.block_on(std::future::IntoFuture::into_future(self.inner))?;
            Ok(IntoBlocking::into_blocking(value, &self.runtime))
        }
    };
    (@method sync_try own $name:ident [$($mg:tt)*] ($($arg:ident : $argty:ty),*) -> $ret:ty [$($mb:tt)*]) => {
        #[doc = concat!("`", stringify!($name), "`, blocking: as the async method, with its stream as an iterator (see its docs).")]
        pub fn $name<$($mg)*>(self, $($arg: $argty),*) -> Result<<$ret as IntoBlocking>::Output, Error>
        where $($mb)*
        {
            // The async method may spawn its work (iter_find's page fetcher).
            let _in_runtime = self.runtime.enter();
            let value: $ret = self.inner.$name($($arg),*)?;
            Ok(IntoBlocking::into_blocking(value, &self.runtime))
        }
    };
}

mod files;
mod twins;

pub use files::{File, FileDownload, FileReader, FileUpload, SearchResult};

/// How an async value becomes its blocking form: handles get the runtime, streams become
/// iterators, lists and options map their items, wire values stay as they are. Used by
/// the generated twins' signatures.
pub trait IntoBlocking {
    /// The blocking form.
    type Output;
    /// Wraps `self` for the blocking API, running on `runtime`.
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Self::Output;
}

/// Wire values: the same in both APIs.
macro_rules! unchanged {
    ($($ty:ty),* $(,)?) => {$(
        impl IntoBlocking for $ty {
            type Output = $ty;
            fn into_blocking(self, _: &Arc<Runtime>) -> $ty {
                self
            }
        }
    )*};
}
unchanged!(
    AuthStatus,
    User,
    Config,
    Version,
    GroupId,
    Role,
    Modality,
    ModifiedResult,
    DeletedResult,
    Note,
    AccessPermission,
    RolePermission,
    u8,
    u64,
    String,
    crate::DownloadNode,
    crate::Download,
    fw_model::SearchResponse,
    fw_model::ZipInfo,
    fw_model::DownloadTicket,
    crate::TreeSummary,
    crate::ImportSummary,
);

impl<T: IntoBlocking> IntoBlocking for Vec<T> {
    type Output = Vec<T::Output>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Self::Output {
        self.into_iter()
            .map(|item| item.into_blocking(runtime))
            .collect()
    }
}

impl<T: IntoBlocking> IntoBlocking for Result<T, Error> {
    type Output = Result<T::Output, Error>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Self::Output {
        self.map(|item| item.into_blocking(runtime))
    }
}

impl<T: IntoBlocking> IntoBlocking for Option<T> {
    type Output = Option<T::Output>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Self::Output {
        self.map(|item| item.into_blocking(runtime))
    }
}

impl<K: ContainerKind> IntoBlocking for crate::Container<K> {
    type Output = Container<K>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Container<K> {
        Container {
            inner: self,
            runtime: runtime.clone(),
        }
    }
}

impl<L: Listable> IntoBlocking for crate::Finder<L> {
    type Output = Finder<L>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Finder<L> {
        Finder {
            inner: self,
            runtime: runtime.clone(),
        }
    }
}

impl<T: IntoBlocking + 'static> IntoBlocking
    for Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>
{
    type Output = Iter<T>;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Iter<T> {
        Iter {
            stream: self,
            runtime: runtime.clone(),
        }
    }
}

crate::container::handle_family!(
    /// The family of blocking handles: in a blocking [`AnyContainer`], a container of
    /// kind `K` is a blocking [`Container<K>`].
    Handles => Container
);

/// Async handles into blocking ones on one runtime.
struct ToBlocking<'a>(&'a Arc<Runtime>);

impl NodeMap<crate::Handles, Handles> for ToBlocking<'_> {
    type Error = std::convert::Infallible;
    fn map<K: ContainerKind>(
        &self,
        handle: crate::Container<K>,
    ) -> Result<Container<K>, std::convert::Infallible> {
        Ok(handle.into_blocking(self.0))
    }
}

impl IntoBlocking for crate::AnyContainer {
    type Output = AnyContainer;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> AnyContainer {
        match self.try_map(&ToBlocking(runtime)) {
            Ok(node) => node,
            Err(never) => match never {},
        }
    }
}

impl IntoBlocking for crate::Resolved {
    type Output = Resolved;
    fn into_blocking(self, runtime: &Arc<Runtime>) -> Resolved {
        Resolved {
            path: self.path.into_blocking(runtime),
            children: self.children.into_blocking(runtime),
        }
    }
}

/// A blocking client: an async [`crate::Client`] and the runtime it runs on. Cheap to
/// clone (clones share the runtime and the connections).
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Client")
            .field("base_url", &self.inner.base_url())
            .finish_non_exhaustive()
    }
}

/// The Tokio runtime a blocking [`Client`] owns (shared by its clones and handles); it
/// derefs to `tokio::runtime::Runtime`.
///
/// Dropping a Tokio runtime inside an async context panics ("Cannot drop a runtime in a
/// context where blocking is not allowed"), so a blocking client made in
/// `spawn_blocking` and dropped in async code would panic. There this runtime shuts down
/// in the background instead; elsewhere it is dropped as usual (waiting for its blocking
/// threads).
pub struct Runtime(Option<tokio::runtime::Runtime>);

impl std::ops::Deref for Runtime {
    type Target = tokio::runtime::Runtime;
    fn deref(&self) -> &tokio::runtime::Runtime {
        // Always `Some` until `drop` takes it.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("a runtime is taken only in drop"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            runtime.shutdown_background();
        }
    }
}

fn runtime() -> Result<Arc<Runtime>, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fw-sdk-blocking")
        .enable_all()
        .build()
        .map(|runtime| Arc::new(Runtime(Some(runtime))))
        .map_err(|e| Error::invalid(format!("cannot start the blocking client's runtime: {e}")))
}

impl Client {
    /// [`crate::Client::new`], blocking (sends `GET /auth/status`).
    ///
    /// # Errors
    ///
    /// As [`crate::Client::new`]; [`Error::InvalidArgument`] if the runtime cannot start.
    pub fn new(api_key: &str) -> Result<Client, Error> {
        Self::from_builder(crate::Client::builder(api_key))
    }

    /// [`crate::Client::from_env`], blocking.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::from_env`].
    pub fn from_env() -> Result<Client, Error> {
        Self::from_builder(crate::Client::builder_from_env())
    }

    /// Builds a blocking client from the async API's builder (timeouts, retries, request
    /// concurrency, …): `blocking::Client::from_builder(Client::builder(key).retries(2))`.
    /// This is the twin of [`crate::ClientBuilder::build`].
    ///
    /// # Errors
    ///
    /// As [`crate::ClientBuilder::build`].
    pub fn from_builder(builder: crate::ClientBuilder) -> Result<Client, Error> {
        let runtime = runtime()?;
        let inner = runtime.block_on(builder.build())?;
        Ok(Client { inner, runtime })
    }

    /// The async client inside (same connections), for code that mixes both.
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The API's base URL (`https://host/api`).
    pub fn base_url(&self) -> &str {
        self.inner.base_url()
    }
}

/// A blocking container handle: the async [`crate::Container`] and the runtime. Fields
/// through `Deref`, as in the async API.
pub struct Container<K: ContainerKind> {
    inner: crate::Container<K>,
    runtime: Arc<Runtime>,
}

impl<K: ContainerKind> Clone for Container<K> {
    fn clone(&self) -> Self {
        Container {
            inner: self.inner.clone(),
            runtime: self.runtime.clone(),
        }
    }
}

impl<K: ContainerKind> fmt::Debug for Container<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<K: ContainerKind> Deref for Container<K> {
    type Target = K::Wire;
    fn deref(&self) -> &K::Wire {
        &self.inner
    }
}

impl<K: ContainerKind> Container<K> {
    /// The container's id.
    pub fn id(&self) -> &str {
        self.inner.id()
    }

    /// The async handle inside.
    pub fn as_async(&self) -> &crate::Container<K> {
        &self.inner
    }
}

/// A blocking group.
pub type Group = Container<GroupKind>;
/// A blocking project.
pub type Project = Container<ProjectKind>;
/// A blocking subject.
pub type Subject = Container<SubjectKind>;
/// A blocking session.
pub type Session = Container<SessionKind>;
/// A blocking acquisition.
pub type Acquisition = Container<AcquisitionKind>;
/// A blocking analysis.
pub type Analysis = Container<AnalysisKind>;

/// A blocking finder: the async [`crate::Finder`] (a by-value builder) and the runtime.
pub struct Finder<L: Listable> {
    inner: crate::Finder<L>,
    runtime: Arc<Runtime>,
}

impl<L: Listable> Clone for Finder<L> {
    fn clone(&self) -> Self {
        Finder {
            inner: self.inner.clone(),
            runtime: self.runtime.clone(),
        }
    }
}

impl<L: Listable> fmt::Debug for Finder<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// [`crate::Finder::iter_find`]'s stream as an iterator: each `next` waits for the next
/// item; the page after the current one is fetched in the background meanwhile.
pub struct Iter<T: IntoBlocking> {
    stream: crate::ItemStream<T>,
    runtime: Arc<Runtime>,
}

impl<T: IntoBlocking> Iterator for Iter<T> {
    type Item = Result<T::Output, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        let item = self.runtime.block_on(self.stream.next())?;
        Some(item.map(|value| value.into_blocking(&self.runtime)))
    }
}

/// [`crate::AnyContainer`] with blocking handles: fw-model's one list of node kinds
/// ([`fw_model::Node`]) holding blocking handles, with the same variants and methods
/// (`container_type`, `id`, `into_kind`).
pub type AnyContainer = fw_model::Node<Handles>;

/// [`crate::Resolved`] with blocking handles.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The nodes named by the path, from the group down.
    pub path: Vec<AnyContainer>,
    /// The children of the last node.
    pub children: Vec<AnyContainer>,
}

/// [`crate::local::LocalFlywheel`], blocking (feature `local`): a local Flywheel in the
/// process and a blocking client for its site admin. Stopping or dropping it shuts the
/// server down and removes a temporary data directory.
#[cfg(feature = "local")]
pub struct LocalFlywheel {
    inner: Option<crate::local::LocalFlywheel>,
    client: Client,
}

#[cfg(feature = "local")]
impl fmt::Debug for LocalFlywheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

#[cfg(feature = "local")]
impl LocalFlywheel {
    /// [`crate::local::LocalFlywheel::start`], blocking: a temporary data directory.
    ///
    /// # Errors
    ///
    /// As the async method.
    pub fn start() -> Result<LocalFlywheel, Error> {
        Self::started(crate::local::LocalFlywheel::start)
    }

    /// [`crate::local::LocalFlywheel::start_in`], blocking: `data_dir` is kept.
    ///
    /// # Errors
    ///
    /// As the async method.
    pub fn start_in(data_dir: impl AsRef<std::path::Path>) -> Result<LocalFlywheel, Error> {
        let data_dir = data_dir.as_ref().to_path_buf();
        Self::started(move || crate::local::LocalFlywheel::start_in(data_dir))
    }

    fn started<F: Future<Output = Result<crate::local::LocalFlywheel, Error>>>(
        start: impl FnOnce() -> F,
    ) -> Result<LocalFlywheel, Error> {
        let runtime = runtime()?;
        let inner = runtime.block_on(start())?;
        let client = Client {
            inner: inner.client(),
            runtime,
        };
        Ok(LocalFlywheel {
            inner: Some(inner),
            client,
        })
    }

    /// A blocking client for the site admin.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The site admin's API key.
    pub fn api_key(&self) -> String {
        self.inner
            .as_ref()
            .map(crate::local::LocalFlywheel::api_key)
            .unwrap_or_default()
    }

    /// The data directory (database and blobs); `None` once stopped.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.inner
            .as_ref()
            .map(crate::local::LocalFlywheel::data_dir)
    }

    /// [`crate::local::LocalFlywheel::add_user`], blocking: a blocking client for a new
    /// user.
    ///
    /// # Errors
    ///
    /// As the async method.
    pub fn add_user(&self, id: &str, fields: serde_json::Value) -> Result<Client, Error> {
        let site = self
            .inner
            .as_ref()
            .ok_or_else(|| Error::Local("the local server has stopped".into()))?;
        let runtime = self.client.runtime.clone();
        let inner = runtime.block_on(site.add_user(id, fields))?;
        Ok(Client { inner, runtime })
    }

    /// [`crate::local::LocalFlywheel::stop`], blocking.
    ///
    /// # Errors
    ///
    /// As the async method.
    pub fn stop(mut self) -> Result<(), Error> {
        match self.inner.take() {
            Some(site) => self.client.runtime.block_on(site.stop()),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "local")]
impl Drop for LocalFlywheel {
    fn drop(&mut self) {
        if let Some(site) = self.inner.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // In async code blocking panics: the async site's drop spawns its stop on
                // this client's runtime instead.
                let _in_runtime = self.client.runtime.enter();
                drop(site);
            } else {
                let _ = self.client.runtime.block_on(site.stop());
            }
        }
    }
}
