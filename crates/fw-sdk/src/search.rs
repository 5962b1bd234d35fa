//! Search: FlyQL structured queries over `POST /dataexplorer/search`.

use std::ops::Deref;

use fw_model::{ContainerKind, SearchResponse, SearchReturnType};
use fw_transport::Request;
use serde_json::json;

use crate::{Client, Container, Error};

/// One search result: the matching container and its ancestors, each level as a handle
/// (so `result.session()?.reload()` works, as in Python), the wire value through
/// [`Deref`].
#[derive(Debug, Clone)]
pub struct SearchResult {
    response: SearchResponse,
    client: Client,
}

impl Deref for SearchResult {
    type Target = SearchResponse;
    fn deref(&self) -> &SearchResponse {
        &self.response
    }
}

impl SearchResult {
    /// A level of the result as a handle; search results carry a few fields per level
    /// (`_id`, `label`, …), so [`reload`](Container::reload) fetches the rest.
    fn level<K: ContainerKind>(
        &self,
        wire: Option<&K::Wire>,
    ) -> Option<Result<Container<K>, Error>> {
        wire.map(|wire| Container::new(self.client.clone(), wire.clone()))
    }

    /// The group level (Python: `result.group`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn group(&self) -> Option<Result<crate::Group, Error>> {
        self.level::<fw_model::GroupKind>(self.response.group.as_ref())
    }

    /// The project level (Python: `result.project`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn project(&self) -> Option<Result<crate::Project, Error>> {
        self.level::<fw_model::ProjectKind>(self.response.project.as_ref())
    }

    /// The subject level (Python: `result.subject`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn subject(&self) -> Option<Result<crate::Subject, Error>> {
        self.level::<fw_model::SubjectKind>(self.response.subject.as_ref())
    }

    /// The session level (Python: `result.session`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn session(&self) -> Option<Result<crate::Session, Error>> {
        self.level::<fw_model::SessionKind>(self.response.session.as_ref())
    }

    /// The acquisition level (Python: `result.acquisition`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn acquisition(&self) -> Option<Result<crate::Acquisition, Error>> {
        self.level::<fw_model::AcquisitionKind>(self.response.acquisition.as_ref())
    }

    /// The analysis level (Python: `result.analysis`), if the result has one.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the level has no `_id`.
    pub fn analysis(&self) -> Option<Result<crate::Analysis, Error>> {
        self.level::<fw_model::AnalysisKind>(self.response.analysis.as_ref())
    }

    /// The wire value.
    pub fn into_response(self) -> SearchResponse {
        self.response
    }
}

impl Client {
    /// Runs a FlyQL structured query (Python:
    /// `fw.search({'structured_query': query, 'return_type': 'session'}, size=10)`;
    /// `POST /dataexplorer/search?simple=true[&size=N]` with body
    /// `{"structured_query": …, "return_type": …}`). `size` is the most results
    /// (the server's default, 100 on Flywheel, when `None`).
    ///
    /// ```no_run
    /// # async fn run(fw: fw_sdk::Client) -> Result<(), fw_sdk::Error> {
    /// use fw_sdk::model::SearchReturnType;
    /// let results = fw
    ///     .search("project.label = \"Test Project\"", SearchReturnType::Subject, Some(10000))
    ///     .await?;
    /// for result in &results {
    ///     if let Some(subject) = result.subject() {
    ///         println!("{:?}", subject?.label);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::QuerySyntax`] when the query does not parse, before anything is sent;
    /// [`Error::Api`] (400) for a query the server refuses.
    pub async fn search(
        &self,
        query: &str,
        return_type: SearchReturnType,
        size: Option<u32>,
    ) -> Result<Vec<SearchResult>, Error> {
        fw_filter::parse_query(query).map_err(|e| Error::syntax("FlyQL query", query, e))?;
        let mut request = Request::post(["dataexplorer", "search"]).query("simple", "true");
        if let Some(size) = size {
            request = request.query("size", size);
        }
        let request =
            request.json(&json!({"structured_query": query, "return_type": return_type}))?;
        let responses: Vec<SearchResponse> = self.call(request).await?;
        Ok(responses
            .into_iter()
            .map(|response| SearchResult {
                response,
                client: self.clone(),
            })
            .collect())
    }
}
