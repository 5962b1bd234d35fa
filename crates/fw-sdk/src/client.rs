//! The client: construction, and the calls that belong to the site rather than to one
//! container.

use std::sync::Arc;
use std::time::Duration;

use fw_model::{
    AcquisitionKind, AnalysisKind, AuthStatus, Config, ContainerKind, GroupId, GroupKind, Modality,
    ProjectKind, ResolveOutput, Role, SessionKind, SubjectKind, User, Version,
};
use fw_transport::{ApiKey, Request, RetryPolicy};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::body::Metadata;
use crate::container::{AnyContainer, Container};
use crate::finder::{Finder, Users};
use crate::{Acquisition, Analysis, Error, Group, Project, Session, Subject};

/// A connection to one Flywheel site: the Python SDK's `flywheel.Client`.
///
/// Cheap to clone (clones share one connection pool and one request limit); every
/// container handle holds a clone, so `project.subjects().find("sex=male")` needs no
/// client argument.
///
/// ```no_run
/// # async fn run() -> Result<(), fw_sdk::Error> {
/// let fw = fw_sdk::Client::new("flywheel.example.com:my-key").await?;
/// let me = fw.get_current_user().await?;
/// println!("I am {:?} {:?}", me.firstname, me.lastname);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    http: fw_transport::Client,
    /// At most this many requests in flight at once across all clones, when set.
    limit: Option<Arc<Semaphore>>,
}

/// Settings for a [`Client`]: start from [`Client::builder`], end with
/// [`build`](ClientBuilder::build).
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    key: KeySource,
    connect_timeout: Duration,
    read_timeout: Duration,
    retry: RetryPolicy,
    exhaustive: bool,
    concurrency: Option<usize>,
    pool_size: Option<usize>,
    check_auth: bool,
}

#[derive(Clone)]
enum KeySource {
    Text(String),
    Environment,
}

impl std::fmt::Debug for KeySource {
    /// Never shows the key: builders end up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Text(_) => f.write_str("Text(<hidden>)"),
            KeySource::Environment => f.write_str("Environment"),
        }
    }
}

impl ClientBuilder {
    /// The time allowed to connect (default 10 s, as the Python SDK's `connect_timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time allowed between two reads of a reply (default 60 s, as the Python SDK's
    /// `request_timeout`).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// How failed requests are retried (default: fw-transport's [`RetryPolicy`]: 429, 502,
    /// 503, 504 and broken connections, with backoff; never a POST).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// At most `retries` retries per request after the first attempt (`0`: never retry),
    /// keeping the rest of the retry policy (the Python SDK's `FLYWHEEL_SDK_TOTAL_RETRIES`).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retry.max_attempts = retries.saturating_add(1);
        self
    }

    /// Adds `exhaustive=true` to every request, `GET /auth/status` included (the Python
    /// SDK's `Client(key, exhaustive=True)`): site admins then see every container.
    pub fn exhaustive(mut self, exhaustive: bool) -> Self {
        self.exhaustive = exhaustive;
        self
    }

    /// At most `requests` requests in flight at once, over all clones of the client
    /// (default: no limit of the SDK's own). Also bounds the connections opened to the
    /// site, since each request in flight holds one; `iter_find` streams running in other
    /// tasks count too. `0` is read as 1.
    pub fn request_concurrency(mut self, requests: usize) -> Self {
        self.concurrency = Some(requests.max(1));
        self
    }

    /// At most `connections` idle connections kept open to the site for reuse (default:
    /// reqwest's, no limit). With [`request_concurrency`](Self::request_concurrency) it
    /// bounds the connections a long-running script holds.
    pub fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = Some(connections);
        self
    }

    /// Skips the `GET /auth/status` sent at construction (the Python SDK's
    /// `disable_auth_check=True`): construction then sends nothing.
    pub fn skip_auth_check(mut self, skip: bool) -> Self {
        self.check_auth = !skip;
        self
    }

    /// Builds the client and, unless [skipped](Self::skip_auth_check), checks the key with
    /// `GET /auth/status`, the one request the Python SDK sends at construction.
    ///
    /// # Errors
    ///
    /// [`Error::Transport`] for a malformed key, a missing credentials file or an
    /// unreachable site; [`Error::Api`] with status 401 for a key the site refuses.
    pub async fn build(self) -> Result<Client, Error> {
        let key = match &self.key {
            KeySource::Text(text) => ApiKey::parse(text)?,
            KeySource::Environment => key_from_environment()?,
        };
        let mut http = fw_transport::Client::builder(key)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .retry(self.retry)
            .exhaustive(self.exhaustive);
        if let Some(connections) = self.pool_size {
            http = http.pool_max_idle_per_host(connections);
        }
        let http = http.build()?;
        let client = Client {
            http,
            limit: self.concurrency.map(|n| Arc::new(Semaphore::new(n))),
        };
        if self.check_auth {
            client.auth_status().await?;
        }
        Ok(client)
    }
}

/// `FW_API_KEY`, else the `key` of the CLI's credentials file
/// (`$FLYWHEEL_USER_HOME/.config/flywheel/user.json`, else under `$HOME`, as the CLI
/// reads it: docs/wire.md §2.2).
fn key_from_environment() -> Result<ApiKey, Error> {
    if let Some(key) = std::env::var("FW_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(ApiKey::parse(&key)?);
    }
    match std::env::var_os("FLYWHEEL_USER_HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(ApiKey::from_file(&fw_transport::credentials_path(
            std::path::Path::new(&home),
        ))?),
        None => Ok(ApiKey::from_credentials_file()?),
    }
}

impl Client {
    /// Connects with an API key such as `flywheel.example.com:abc123` or
    /// `127.0.0.1:8080:__force_insecure:abc123` (Python: `flywheel.Client(key)`).
    ///
    /// Sends `GET /auth/status`.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`].
    pub async fn new(api_key: &str) -> Result<Client, Error> {
        Client::builder(api_key).build().await
    }

    /// Connects with the key in `FW_API_KEY`, else the one the Flywheel CLI saved at
    /// login (Python: `flywheel.Client()`, which reads only the credentials file).
    ///
    /// Sends `GET /auth/status`.
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::build`]; the message of a missing or unusable credentials file
    /// says which, and how to log in.
    pub async fn from_env() -> Result<Client, Error> {
        Client::builder_from_env().build().await
    }

    /// Settings for a client with this API key: timeouts of 10 s to connect and 60 s
    /// between reads, fw-transport's retry policy, no request limit, the auth check on.
    pub fn builder(api_key: &str) -> ClientBuilder {
        ClientBuilder::with_key(KeySource::Text(api_key.to_string()))
    }

    /// Settings for a client whose key comes from the environment, as in
    /// [`Client::from_env`].
    pub fn builder_from_env() -> ClientBuilder {
        ClientBuilder::with_key(KeySource::Environment)
    }

    /// The API root, e.g. `https://flywheel.example.com:443/api`.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// The transport client, for requests the SDK has no method for.
    pub fn transport(&self) -> &fw_transport::Client {
        &self.http
    }

    /// Sends a request (within the request limit) and decodes its JSON reply.
    pub(crate) async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, Error> {
        let _permit = self.permit().await;
        Ok(self.http.json(&request).await?)
    }

    /// A permit of the request limit, if there is one; held while a request is in flight.
    pub(crate) async fn permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        match &self.limit {
            // The semaphore is never closed, so acquiring fails only if it were.
            Some(limit) => limit.clone().acquire_owned().await.ok(),
            None => None,
        }
    }

    /// Who the key belongs to (`GET /auth/status`); sent once by construction.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (401) for a refused key; [`Error::Transport`].
    pub async fn auth_status(&self) -> Result<AuthStatus, Error> {
        self.call(Request::get(["auth", "status"])).await
    }

    /// The caller's own user (Python: `fw.get_current_user()`; `GET /users/self`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (401) for a refused key; [`Error::Transport`].
    pub async fn get_current_user(&self) -> Result<User, Error> {
        self.call(Request::get(["users", "self"])).await
    }

    /// The site's configuration (Python: `fw.get_config()`; `GET /config`).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`], [`Error::UnexpectedReply`].
    pub async fn get_config(&self) -> Result<Config, Error> {
        self.call(Request::get(["config"])).await
    }

    /// The site's version (Python: `fw.get_version()`; `GET /version`).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`], [`Error::UnexpectedReply`].
    pub async fn get_version(&self) -> Result<Version, Error> {
        self.call(Request::get(["version"])).await
    }

    /// The users finder (Python: `fw.users`; `GET /users`).
    pub fn users(&self) -> Finder<Users> {
        Finder::new(self.clone(), vec!["users".into()])
    }

    /// The groups finder (Python: `fw.groups`; `GET /groups`).
    pub fn groups(&self) -> Finder<GroupKind> {
        self.finder()
    }

    /// The projects finder (Python: `fw.projects`; `GET /projects`).
    pub fn projects(&self) -> Finder<ProjectKind> {
        self.finder()
    }

    /// The subjects finder (Python: `fw.subjects`; `GET /subjects`).
    pub fn subjects(&self) -> Finder<SubjectKind> {
        self.finder()
    }

    /// The sessions finder (Python: `fw.sessions`; `GET /sessions`).
    pub fn sessions(&self) -> Finder<SessionKind> {
        self.finder()
    }

    /// The acquisitions finder (Python: `fw.acquisitions`; `GET /acquisitions`).
    pub fn acquisitions(&self) -> Finder<AcquisitionKind> {
        self.finder()
    }

    /// The analyses finder (Python: `fw.analyses`; `GET /analyses`).
    pub fn analyses(&self) -> Finder<AnalysisKind> {
        self.finder()
    }

    /// The finder over every container of kind `K` the caller can see.
    pub fn finder<K: ContainerKind>(&self) -> Finder<K> {
        Finder::new(self.clone(), vec![K::COLLECTION.to_string()])
    }

    /// Any container by id, typed by its `container_type` (Python: `fw.get(id)`;
    /// `GET /containers/{id}`).
    ///
    /// ```no_run
    /// # async fn run(fw: fw_sdk::Client) -> Result<(), fw_sdk::Error> {
    /// use fw_sdk::AnyContainer;
    /// match fw.get("5ebd4ff8bfda5102856aa084").await? {
    ///     AnyContainer::Project(project) => println!("project {:?}", project.label),
    ///     other => println!("a {}", other.container_type().as_str()),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no container has this id or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent);
    /// [`Error::UnexpectedReply`] when the reply does not say its kind.
    pub async fn get(&self, id: &str) -> Result<AnyContainer, Error> {
        if id.is_empty() {
            return Err(Error::invalid("an empty container id"));
        }
        let node: fw_model::Container = self.call(Request::get(["containers", id])).await?;
        crate::container::any_container(self, node)
    }

    /// A container of kind `K` by id (`GET /{collection}/{id}`; analyses add
    /// `inflate_job=true` as the Python SDK's `get_analysis` does).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_container<K: ContainerKind>(&self, id: &str) -> Result<Container<K>, Error> {
        Container::fetch(self, id).await
    }

    /// A group by id (Python: `fw.get_group(id)`; `GET /groups/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_group(&self, id: &str) -> Result<Group, Error> {
        self.get_container(id).await
    }

    /// A project by id (Python: `fw.get_project(id)`; `GET /projects/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_project(&self, id: &str) -> Result<Project, Error> {
        self.get_container(id).await
    }

    /// A subject by id (Python: `fw.get_subject(id)`; `GET /subjects/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_subject(&self, id: &str) -> Result<Subject, Error> {
        self.get_container(id).await
    }

    /// A session by id (Python: `fw.get_session(id)`; `GET /sessions/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_session(&self, id: &str) -> Result<Session, Error> {
        self.get_container(id).await
    }

    /// An acquisition by id (Python: `fw.get_acquisition(id)`; `GET /acquisitions/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_acquisition(&self, id: &str) -> Result<Acquisition, Error> {
        self.get_container(id).await
    }

    /// An analysis by id (Python: `fw.get_analysis(id)`;
    /// `GET /analyses/{id}?inflate_job=true`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is none or the caller cannot see it;
    /// [`Error::InvalidArgument`] for an empty id (nothing is sent).
    pub async fn get_analysis(&self, id: &str) -> Result<Analysis, Error> {
        self.get_container(id).await
    }

    /// The node at a path of ids and labels: `group`, `group/project label`,
    /// `…/subject label/session label/acquisition label`, `…/files/name` (Python:
    /// `fw.lookup(path)`; `POST /lookup {"path": [...]}`, the path split on `/`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when nothing is at that path; [`Error::InvalidArgument`] for an
    /// empty path (nothing is sent).
    pub async fn lookup(&self, path: &str) -> Result<AnyContainer, Error> {
        if split_path(path).is_empty() {
            return Err(Error::invalid(
                "an empty lookup path; it starts with a group id",
            ));
        }
        let request = Request::post(["lookup"]).json(&json!({ "path": split_path(path) }))?;
        let node: fw_model::Container = self.call(request).await?;
        crate::container::any_container(self, node)
    }

    /// The nodes along a path and the children of its last node (Python:
    /// `fw.resolve(path)`; `POST /resolve {"path": [...]}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when a step of the path does not exist.
    pub async fn resolve(&self, path: &str) -> Result<Resolved, Error> {
        let request = Request::post(["resolve"]).json(&json!({ "path": split_path(path) }))?;
        let reply: ResolveOutput = self.call(request).await?;
        let nodes = |list: Option<Vec<fw_model::Container>>| {
            list.unwrap_or_default()
                .into_iter()
                .map(|node| crate::container::any_container(self, node))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Resolved {
            path: nodes(reply.path)?,
            children: nodes(reply.children)?,
        })
    }

    /// Creates a group and returns its id, sending no second request (Python:
    /// `fw.add_group(flywheel.Group(id, label))`; `POST /groups`).
    ///
    /// ```no_run
    /// # async fn run(fw: fw_sdk::Client) -> Result<(), fw_sdk::Error> {
    /// use fw_sdk::model::GroupInput;
    /// let id = fw
    ///     .add_group(GroupInput { id: Some("my_group".into()), label: Some("My Test Group".into()), ..Default::default() })
    ///     .await?;
    /// let group = fw.get_group(id.as_str()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] when the id is taken; [`Error::PermissionDenied`] for
    /// users who are not site admins.
    pub async fn add_group(
        &self,
        group: impl Metadata<fw_model::GroupInput>,
    ) -> Result<GroupId, Error> {
        let fields = group.into_fields()?;
        let request = Request::post(["groups"]).json(&fields)?;
        let inserted: fw_model::InsertedId = self.call(request).await?;
        inserted
            .id
            .map(GroupId::from)
            .ok_or_else(|| Error::unexpected("POST /groups answered no `_id`"))
    }

    /// The group with this id, created first if it does not exist (no Python equivalent;
    /// for scripts that rerun). Sends `POST /groups`, then `GET /groups/{id}`; when two
    /// scripts race, one creates and the other gets the 409 and the same group.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] without an `_id`; as [`Client::add_group`] otherwise.
    pub async fn find_or_add_group(
        &self,
        group: impl Metadata<fw_model::GroupInput>,
    ) -> Result<Group, Error> {
        let fields = group.into_fields()?;
        let id = match fields.get("_id") {
            Some(Value::String(id)) => id.clone(),
            _ => return Err(Error::invalid("a group needs a string `_id`")),
        };
        match self.add_group(fields).await {
            Ok(_) => {}
            Err(e) if e.is_already_exists() => {}
            Err(e) => return Err(e),
        }
        self.get_group(&id).await
    }

    /// Every role of the site (Python: `fw.get_all_roles()`; `GET /roles`).
    ///
    /// # Errors
    ///
    /// [`Error::Transport`], [`Error::UnexpectedReply`].
    pub async fn get_all_roles(&self) -> Result<Vec<Role>, Error> {
        self.call(Request::get(["roles"])).await
    }

    /// Makes a role available for project permissions in a group (Python:
    /// `fw.add_role_to_group(group_id, {'_id': role_id})`; `POST /groups/{id}/roles`).
    /// Returns the role.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown group or role; [`Error::PermissionDenied`] for
    /// non-admins of the group.
    pub async fn add_role_to_group(
        &self,
        group_id: &str,
        role: impl Metadata<fw_model::GroupRole>,
    ) -> Result<Role, Error> {
        let request = Request::post(["groups", group_id, "roles"]).json(&role.into_fields()?)?;
        self.call(request).await
    }

    /// A modality and its classification aspects (Python: `fw.get_modality('MR')`;
    /// `GET /modalities/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown modality.
    pub async fn get_modality(&self, id: &str) -> Result<Modality, Error> {
        self.call(Request::get(["modalities", id])).await
    }
}

impl ClientBuilder {
    fn with_key(key: KeySource) -> ClientBuilder {
        ClientBuilder {
            key,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            exhaustive: false,
            concurrency: None,
            pool_size: None,
            check_auth: true,
        }
    }
}

/// A lookup path as the Python SDK sends it: split on `/`. Empty steps (a leading or
/// doubled `/`) are dropped, since no container has an empty label.
fn split_path(path: &str) -> Vec<&str> {
    path.split('/').filter(|step| !step.is_empty()).collect()
}

/// The reply of [`Client::resolve`]: the nodes along the path, and the children of the
/// last one (containers, files, analyses).
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The nodes named by the path, from the group down.
    pub path: Vec<AnyContainer>,
    /// The children of the last node.
    pub children: Vec<AnyContainer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_request_limit_holds_requests_back() {
        let client = Client::builder("127.0.0.1:9:__force_insecure:k")
            .skip_auth_check(true)
            .request_concurrency(1)
            .build()
            .await
            .unwrap();
        let first = client.permit().await;
        assert!(first.is_some());
        let wait = std::time::Duration::from_millis(50);
        // A clone shares the limit: its request waits while the first is in flight.
        let clone = client.clone();
        assert!(tokio::time::timeout(wait, clone.permit()).await.is_err());
        drop(first);
        assert!(
            tokio::time::timeout(wait, clone.permit())
                .await
                .unwrap()
                .is_some()
        );
        let unlimited = Client::builder("127.0.0.1:9:__force_insecure:k")
            .skip_auth_check(true)
            .build()
            .await
            .unwrap();
        assert!(unlimited.permit().await.is_none());
    }

    #[test]
    fn builders_do_not_show_the_key() {
        let shown = format!("{:?}", Client::builder("h:8080:s3cr3t-key"));
        assert!(shown.contains("Text(<hidden>)"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn paths_split_on_slashes() {
        assert_eq!(split_path("grp1/Proj/sub1"), ["grp1", "Proj", "sub1"]);
        assert_eq!(split_path("/grp1//Proj/"), ["grp1", "Proj"]);
        assert!(split_path("").is_empty());
    }
}
