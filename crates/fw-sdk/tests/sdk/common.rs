//! A fresh site per test, and the hierarchy most tests start from.

use std::collections::BTreeMap;
use std::path::Path;

use fw_sdk::{Acquisition, Client, Group, Project, Session, Subject};
use fw_server::{Running, ServerConfig};
use serde_json::{Value, json};

/// A running fw-server in a temporary directory, and an SDK client for its admin.
pub(crate) struct Site {
    pub(crate) running: Running,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) fw: Client,
}

pub(crate) const ADMIN: &str = "admin@local";

pub(crate) async fn site() -> Site {
    site_with(|_| {}).await
}

/// As `site`, with the server's config changed by `configure` first.
pub(crate) async fn site_with(configure: impl FnOnce(&mut ServerConfig)) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path());
    config.admin_key = Some("admin-secret".into());
    config.record_requests = Some(dir.path().join("requests.jsonl"));
    configure(&mut config);
    let running = fw_server::start(config).await.unwrap();
    let fw = Client::new(&running.admin_api_key()).await.unwrap();
    Site { running, dir, fw }
}

impl Site {
    /// Every request the server has answered so far, as recorded:
    /// `{"method", "path", "query", "body"}`.
    pub(crate) fn requests(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("requests.jsonl")).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The requests recorded after the first `skip`.
    pub(crate) fn requests_since(&self, skip: usize) -> Vec<Value> {
        self.requests().into_iter().skip(skip).collect()
    }

    /// The API key of a new user `id` (not a site admin).
    pub(crate) fn user_key(&self, id: &str) -> String {
        let secret =
            fw_server::add_user_key(self.dir.path(), id, &json!({}), Some(&format!("key-{id}")))
                .unwrap();
        format!("{}:__force_insecure:{secret}", self.running.addr)
    }

    /// A client for a new user `id`.
    pub(crate) async fn user(&self, id: &str) -> Client {
        Client::new(&self.user_key(id)).await.unwrap()
    }
}

/// grp1 / Proj / sub1 / ses1 / T1w, made through the SDK.
pub(crate) struct Tree {
    pub(crate) group: Group,
    pub(crate) project: Project,
    pub(crate) subject: Subject,
    pub(crate) session: Session,
    pub(crate) acquisition: Acquisition,
}

pub(crate) async fn tree(fw: &Client) -> Tree {
    fw.add_group(json!({"_id": "grp1", "label": "Group One"}))
        .await
        .unwrap();
    let group = fw.get_group("grp1").await.unwrap();
    let project = group.add_project(json!({"label": "Proj"})).await.unwrap();
    let subject = project
        .add_subject(json!({"label": "sub1", "sex": "female"}))
        .await
        .unwrap();
    let session = subject
        .add_session(json!({"label": "ses1", "age": 946728000}))
        .await
        .unwrap();
    let acquisition = session
        .add_acquisition(json!({"label": "T1w"}))
        .await
        .unwrap();
    Tree {
        group,
        project,
        subject,
        session,
        acquisition,
    }
}

/// A client that can send nothing: its port has no listener. Any request it sends fails
/// with a transport error, so an error of another kind proves nothing was sent.
pub(crate) async fn unreachable_client() -> Client {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Client::builder(&format!("{addr}:__force_insecure:k"))
        .skip_auth_check(true)
        .retries(0)
        .build()
        .await
        .unwrap()
}

/// The labels of containers, in order.
pub(crate) fn labels<K: fw_model::ContainerKind>(items: &[fw_sdk::Container<K>]) -> Vec<String>
where
    K::Wire: HasLabel,
{
    items.iter().map(|c| c.label_text()).collect()
}

/// The label of a wire value, for assertions.
pub(crate) trait HasLabel {
    fn label_text(&self) -> String;
}

macro_rules! has_label {
    ($($ty:ty),*) => {$(
        impl HasLabel for $ty {
            fn label_text(&self) -> String {
                self.label.clone().unwrap_or_default()
            }
        }
    )*};
}
has_label!(
    fw_model::Group,
    fw_model::Project,
    fw_model::Subject,
    fw_model::Session,
    fw_model::Acquisition,
    fw_model::Analysis
);

/// The names of the files in `dir` and below, relative, with their bytes.
pub(crate) fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}
