//! Container handles: a wire value and a client, with the methods every kind shares,
//! written once over [`ContainerKind`].

use std::fmt;
use std::ops::Deref;

use fw_model::{
    ContainerKind, ContainerType, DeletedResult, HasFiles, InfoUpdate, ModifiedResult, NodeMap,
    Note, NoteInput, TagInput, Wire,
};
use fw_transport::Request;
use serde_json::{Map, Value};

use crate::body::Metadata;
use crate::{Client, Error};

/// A container of kind `K` (a project, a session, …) with a client to act on it: the
/// Python SDK's container objects and their mixins.
///
/// Fields are read through [`Deref`] to the typed wire value (`project.label`,
/// `session.age`, `acquisition.files`), so the fw-model helpers work directly
/// (`session.age_years()`, `acquisition.original_timestamp()`). Methods send requests;
/// none of them changes the value held here: [`reload`](Container::reload) fetches a
/// fresh one, as in Python.
///
/// The kinds have aliases: [`Group`](crate::Group), [`Project`](crate::Project),
/// [`Subject`](crate::Subject), [`Session`](crate::Session),
/// [`Acquisition`](crate::Acquisition), [`Analysis`](crate::Analysis).
pub struct Container<K: ContainerKind> {
    wire: K::Wire,
    /// `_id`, checked present when the handle is made, so `id()` cannot fail.
    id: String,
    client: Client,
}

impl<K: ContainerKind> Clone for Container<K> {
    fn clone(&self) -> Self {
        Container {
            wire: self.wire.clone(),
            id: self.id.clone(),
            client: self.client.clone(),
        }
    }
}

impl<K: ContainerKind> fmt::Debug for Container<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.wire.fmt(f)
    }
}

impl<K: ContainerKind> Deref for Container<K> {
    type Target = K::Wire;
    fn deref(&self) -> &K::Wire {
        &self.wire
    }
}

impl<K: ContainerKind> Container<K> {
    /// A handle on a wire value received from the server.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the value has no `_id`.
    pub fn new(client: Client, wire: K::Wire) -> Result<Self, Error> {
        let id = K::id(&wire)
            .ok_or_else(|| Error::unexpected(format!("a {} without an `_id`", K::NAME)))?
            .to_string();
        Ok(Container { wire, id, client })
    }

    /// `GET /{collection}/{id}` (`inflate_job=true` for analyses, as Python sends it).
    pub(crate) async fn fetch(client: &Client, id: &str) -> Result<Self, Error> {
        if id.is_empty() {
            // `GET /projects/` is the list, not a container: refuse before sending.
            return Err(Error::invalid(format!("an empty {} id", K::TYPE.as_str())));
        }
        let mut request = Request::get([K::COLLECTION, id]);
        if K::TYPE == ContainerType::Analysis {
            request = request.query("inflate_job", "true");
        }
        let wire: K::Wire = client.call(request).await?;
        Container::new(client.clone(), wire)
    }

    /// The container's `_id`; for groups, the group id (Python: `container.id`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The wire value.
    pub fn wire(&self) -> &K::Wire {
        &self.wire
    }

    /// The wire value, without the client.
    pub fn into_wire(self) -> K::Wire {
        self.wire
    }

    /// The client this handle sends its requests with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `/{collection}/{id}/{rest…}` as request segments.
    fn at<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut segments = vec![K::COLLECTION, self.id.as_str()];
        segments.extend_from_slice(rest);
        segments
    }

    /// A fresh copy from the server (Python: `container.reload()`;
    /// `GET /{collection}/{id}`, with `inflate_job=true` for analyses).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when it was deleted meanwhile.
    pub async fn reload(&self) -> Result<Self, Error> {
        Container::fetch(&self.client, &self.id).await
    }

    /// Changes the fields given and keeps the others (Python:
    /// `container.update({...})` or `update(label=…)`; `PUT /{collection}/{id}` with the
    /// body as given). Objects such as `info` merge key by key on the server
    /// (docs/wire.md §15.1). Takes the kind's typed update body or free-form JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] (400) naming a field the server refuses; [`Error::PermissionDenied`];
    /// [`Error::InvalidArgument`] for JSON that is not an object.
    pub async fn update(&self, body: impl Metadata<K::Update>) -> Result<ModifiedResult, Error> {
        let request = Request::put(self.at(&[])).json(&body.into_fields()?)?;
        self.client.call(request).await
    }

    /// Deletes the container and everything below it (Python: `fw.delete_project(id)`
    /// and its siblings; `DELETE /{collection}/{id}`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::PermissionDenied`].
    pub async fn delete(&self) -> Result<DeletedResult, Error> {
        self.client.call(Request::delete(self.at(&[]))).await
    }

    /// Adds a tag (Python: `container.add_tag(tag)`; `POST /{collection}/{id}/tags`
    /// `{"value": tag}`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`]; [`Error::Api`] (400) for an empty tag.
    pub async fn add_tag(&self, tag: &str) -> Result<ModifiedResult, Error> {
        let body = TagInput {
            value: tag.to_string(),
            ..Default::default()
        };
        let request = Request::post(self.at(&["tags"])).json(&body)?;
        self.client.call(request).await
    }

    /// Removes a tag (Python: `container.delete_tag(tag)`;
    /// `DELETE /{collection}/{id}/tags/{tag}`). Removing a tag the container does not
    /// have is not an error: the reply counts it in `not_found`.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`]; [`Error::Transport`] for an empty tag.
    pub async fn delete_tag(&self, tag: &str) -> Result<DeletedResult, Error> {
        self.client
            .call(Request::delete(self.at(&["tags", tag])))
            .await
    }

    /// Sends one `PATCH /{collection}/{id}/info`.
    async fn patch_info(&self, change: InfoUpdate) -> Result<ModifiedResult, Error> {
        let request = Request::patch(self.at(&["info"])).json(&change)?;
        self.client.call(request).await
    }
}

/// Info and notes: every kind but groups (the kinds that hold files, as in the Python
/// SDK's mixins).
impl<K: HasFiles> Container<K> {
    /// Sets the given keys of `info` (a JSON object or a [`Map`]), keeping the others (Python:
    /// `container.update_info({...})`; `PATCH /{collection}/{id}/info {"set": {...}}`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`], [`Error::NotFound`].
    pub async fn update_info(
        &self,
        info: impl Metadata<Map<String, Value>>,
    ) -> Result<ModifiedResult, Error> {
        self.patch_info(InfoUpdate {
            set: Some(info.into_fields()?),
            ..Default::default()
        })
        .await
    }

    /// Replaces `info` as a whole with a JSON object or a [`Map`] (Python: `container.replace_info({...})`;
    /// `PATCH /{collection}/{id}/info {"replace": {...}}`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`], [`Error::NotFound`].
    pub async fn replace_info(
        &self,
        info: impl Metadata<Map<String, Value>>,
    ) -> Result<ModifiedResult, Error> {
        self.patch_info(InfoUpdate {
            replace: Some(info.into_fields()?),
            ..Default::default()
        })
        .await
    }

    /// Removes keys of `info`; dotted paths reach nested keys (Python:
    /// `container.delete_info('a', 'b.c')`; `PATCH /{collection}/{id}/info
    /// {"delete": [...]}`).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`], [`Error::NotFound`].
    pub async fn delete_info<S: AsRef<str>>(
        &self,
        keys: impl IntoIterator<Item = S>,
    ) -> Result<ModifiedResult, Error> {
        self.patch_info(InfoUpdate {
            delete: Some(keys.into_iter().map(|k| k.as_ref().to_string()).collect()),
            ..Default::default()
        })
        .await
    }

    /// Adds a note, attributed to the caller (Python: `container.add_note(text)`;
    /// `POST /{collection}/{id}/notes {"text": …}`). Returns the note with its `_id`.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`], [`Error::NotFound`].
    pub async fn add_note(&self, text: &str) -> Result<Note, Error> {
        let body = NoteInput {
            text: text.to_string(),
            ..Default::default()
        };
        let request = Request::post(self.at(&["notes"])).json(&body)?;
        self.client.call(request).await
    }

    /// Deletes a note by its `_id` (Python: `container.delete_note(note_id)`;
    /// `DELETE /{collection}/{id}/notes/{note_id}`). Deleting a note the container does
    /// not have is not an error: the reply counts it in `not_found`, as for tags.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the container is gone; [`Error::PermissionDenied`].
    pub async fn delete_note(&self, note_id: &str) -> Result<DeletedResult, Error> {
        self.client
            .call(Request::delete(self.at(&["notes", note_id])))
            .await
    }
}

/// Declares a family of handles (`Of<K>` = `$handle<K>`, which has `id()`), for
/// [`fw_model::Node`]: the async one here, the blocking one in `blocking`.
macro_rules! handle_family {
    ($(#[$doc:meta])* $family:ident => $handle:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $family;

        impl fw_model::NodeFamily for $family {
            type Of<K: fw_model::ContainerKind> = $handle<K>;
            fn id<K: fw_model::ContainerKind>(handle: &$handle<K>) -> Option<&str> {
                Some(handle.id())
            }
        }
    };
}
pub(crate) use handle_family;

handle_family!(
    /// The family of async handles: in an [`AnyContainer`], a container of kind `K` is a
    /// [`Container<K>`].
    Handles => Container
);

/// A container of any kind, as `fw.get(id)`, `lookup` and `resolve` return it: the kind
/// is read from the reply's `container_type`. This is fw-model's one list of node kinds
/// ([`fw_model::Node`]) holding handles: `AnyContainer::Project(project)`,
/// `node.container_type()`, `node.id()` (a file node's is its version id),
/// `node.into_kind::<ProjectKind>()?` (an error naming both kinds if it is another). The
/// handles are boxed, so that a list of nodes does not pay for the largest kind in every
/// element.
pub type AnyContainer = fw_model::Node<Handles>;

/// Wire values into handles of one client.
struct ToHandles<'a>(&'a Client);

impl NodeMap<Wire, Handles> for ToHandles<'_> {
    type Error = Error;
    fn map<K: ContainerKind>(&self, wire: K::Wire) -> Result<Container<K>, Error> {
        Container::new(self.0.clone(), wire)
    }
}

/// A wire node as handles of `client`.
pub(crate) fn any_container(
    client: &Client,
    node: fw_model::Container,
) -> Result<AnyContainer, Error> {
    node.try_map(&ToHandles(client))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_model::ProjectKind;
    use serde_json::json;

    async fn client() -> Client {
        Client::builder("127.0.0.1:9:__force_insecure:k")
            .skip_auth_check(true)
            .build()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn handles_need_an_id() {
        let client = client().await;
        let project = |value| serde_json::from_value::<fw_model::Project>(value).unwrap();
        let err = Container::<ProjectKind>::new(client.clone(), project(json!({"label": "P"})))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected reply: a project without an `_id`"
        );
        let ok = Container::<ProjectKind>::new(client, project(json!({"_id": "p1", "label": "P"})))
            .unwrap();
        assert_eq!((ok.id(), ok.label.as_deref()), ("p1", Some("P")));
    }

    #[tokio::test]
    async fn other_nodes_are_kept_whole() {
        let client = client().await;
        let node: fw_model::Container = serde_json::from_value(
            json!({"_id": "c1", "container_type": "collection", "label": "C"}),
        )
        .unwrap();
        let any = any_container(&client, node).unwrap();
        assert_eq!(
            (any.container_type(), any.id()),
            (ContainerType::Collection, Some("c1"))
        );
        let AnyContainer::Other { kind, fields } = any else {
            panic!("not kept whole")
        };
        assert_eq!(
            (kind.as_str(), &fields["label"]),
            ("collection", &json!("C"))
        );
    }
}
