//! Finders: the list endpoints, with filters checked before anything is sent.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;

use futures_util::{Stream, StreamExt, TryStreamExt};
use fw_model::ContainerKind;
use fw_transport::{DEFAULT_PAGE_SIZE, Request};

use crate::{Client, Container, Error};

/// What a finder lists: a container kind (its items are [`Container`] handles), or
/// [`Users`].
pub trait Listable: Send + Sync + 'static {
    /// One item of the list.
    type Item: Send + 'static;
    /// One list item as it comes off the wire; pages are decoded straight into it.
    type Wire: serde::de::DeserializeOwned + Send + 'static;
    /// The plural used in messages: `projects`, `users`.
    const WHAT: &'static str;
    /// Makes an item of a decoded wire value.
    ///
    /// # Errors
    ///
    /// [`Error::UnexpectedReply`] when the item lacks what an item needs (an `_id`).
    fn item(client: &Client, wire: Self::Wire) -> Result<Self::Item, Error>;
}

impl<K: ContainerKind> Listable for K {
    type Item = Container<K>;
    type Wire = K::Wire;
    const WHAT: &'static str = K::COLLECTION;
    fn item(client: &Client, wire: K::Wire) -> Result<Container<K>, Error> {
        Container::new(client.clone(), wire)
    }
}

/// The users list (`GET /users`): items are plain [`fw_model::User`] values.
#[derive(Debug, Clone, Copy)]
pub struct Users;

impl Listable for Users {
    type Item = fw_model::User;
    type Wire = fw_model::User;
    const WHAT: &'static str = "users";
    fn item(_: &Client, user: fw_model::User) -> Result<fw_model::User, Error> {
        Ok(user)
    }
}

/// A finder: one list endpoint (`fw.projects`, `project.subjects`, …) and the options of
/// a search on it, the Python SDK's `Finder`.
///
/// Options are set by value, then one of the finding methods runs it:
///
/// | Rust | Python | requests |
/// |---|---|---|
/// | [`find(f)`](Finder::find) | `find(f)` | `?filter=f&limit=250`, then `&after_id=<last _id>` (or `&page=2,3…` with a sort) until a page is short |
/// | [`find_first(f)`](Finder::find_first) | `find_first(f)` | one `?filter=f&limit=1` |
/// | [`find_one(f)`](Finder::find_one) | `find_one(f)` | one `?filter=f&limit=2` |
/// | [`iter_find(f)`](Finder::iter_find) | `iter_find(f)` | as `find`, one page ahead of the caller |
/// | [`all()`](Finder::all) | `fw.projects()` | one request with only the options set |
///
/// Filters (`label=~rest.*,age<30`) and sort strings (`label:asc`) are parsed with
/// fw-filter first: a mistake is an [`Error::QuerySyntax`] with a caret under it, and
/// nothing is sent. The text goes out exactly as written. [`raw_filter`](Finder::raw_filter)
/// sends a filter unchecked, for server features fw-filter does not parse.
///
/// ```no_run
/// # async fn run(fw: fw_sdk::Client) -> Result<(), fw_sdk::Error> {
/// let project = fw.projects().find_one("group=scien,label=cmrr_deid").await?;
/// for subject in project.subjects().sort("label:asc").find("sex=male").await? {
///     println!("{:?}", subject.label);
/// }
/// # Ok(()) }
/// ```
pub struct Finder<L: Listable> {
    client: Client,
    path: Vec<String>,
    filters: Vec<String>,
    raw_filter: Option<String>,
    sort: Option<String>,
    limit: Option<u32>,
    skip: Option<u32>,
    page: Option<u32>,
    after_id: Option<String>,
    include_all_info: bool,
    kind: PhantomData<fn() -> L>,
}

impl<L: Listable> Clone for Finder<L> {
    fn clone(&self) -> Self {
        Finder {
            client: self.client.clone(),
            path: self.path.clone(),
            filters: self.filters.clone(),
            raw_filter: self.raw_filter.clone(),
            sort: self.sort.clone(),
            limit: self.limit,
            skip: self.skip,
            page: self.page,
            after_id: self.after_id.clone(),
            include_all_info: self.include_all_info,
            kind: PhantomData,
        }
    }
}

impl<L: Listable> fmt::Debug for Finder<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Finder")
            .field("path", &self.path)
            .field("filters", &self.filters)
            .field("raw_filter", &self.raw_filter)
            .field("sort", &self.sort)
            .field("limit", &self.limit)
            .field("skip", &self.skip)
            .field("page", &self.page)
            .field("after_id", &self.after_id)
            .field("include_all_info", &self.include_all_info)
            .finish()
    }
}

/// The items of [`Finder::iter_find`], one at a time.
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

impl<L: Listable> Finder<L> {
    /// A finder over the list at `path` (`["projects"]`, `["groups", id, "projects"]`).
    pub(crate) fn new(client: Client, path: Vec<String>) -> Self {
        Finder {
            client,
            path,
            filters: Vec::new(),
            raw_filter: None,
            sort: None,
            limit: None,
            skip: None,
            page: None,
            after_id: None,
            include_all_info: false,
            kind: PhantomData,
        }
    }

    /// Adds filter conditions, joined to the others with `,` (AND), as the Python SDK
    /// joins `find('a=1', 'b=2')`. Checked when the finder runs.
    pub fn filter(mut self, filter: &str) -> Self {
        if !filter.is_empty() {
            self.filters.push(filter.to_string());
        }
        self
    }

    /// Adds a filter sent **unchecked** (as the Python SDK sends every filter), before the
    /// checked ones: for server features
    /// fw-filter does not parse. A mistake in it is the server's 400, after a request.
    pub fn raw_filter(mut self, filter: &str) -> Self {
        self.raw_filter = Some(filter.to_string());
        self
    }

    /// Orders the results (`label:asc,created:desc`; `sort=`). With a sort, `find` and
    /// `iter_find` page by number (`page=1,2,…`) instead of by `after_id`, as in Python.
    pub fn sort(mut self, sort: &str) -> Self {
        self.sort = Some(sort.to_string());
        self
    }

    /// At most `limit` results (`limit=`). In `find` and `all` this makes one request
    /// (Python: `find(limit=…)`); in `iter_find` it is the page size (Python:
    /// `iter_find(limit=…)`, default 250). `limit(0)` is an [`Error::InvalidArgument`] when
    /// the finder runs (nothing is sent): the server reads `limit=0` as no limit at all.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Skips the first `skip` results (Python: `find(skip=…)`; `skip=`); makes `find` one
    /// request.
    pub fn skip(mut self, skip: u32) -> Self {
        self.skip = Some(skip);
        self
    }

    /// The page, counted from 1, of `limit` results (Python: `find(page=…)`; `page=`);
    /// makes `find` one request.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// Only results after the one with this `_id` (Python: `find(after_id=…)`;
    /// `after_id=`; not with sort, page or skip); makes `find` one request.
    pub fn after_id(mut self, id: &str) -> Self {
        self.after_id = Some(id.to_string());
        self
    }

    /// Asks for the whole `info` of each item (Python: `find(include_all_info=True)`;
    /// `include_all_info=true`), so a script need
    /// not `reload()` every result to read its info: list items of Flywheel sites leave
    /// large `info` out otherwise. fw-server always sends it whole.
    pub fn include_all_info(mut self, include: bool) -> Self {
        self.include_all_info = include;
        self
    }

    /// The finder's filter with `extra`, checked: (raw, checked) texts.
    fn checked_filter(&self, extra: &str) -> Result<Option<String>, Error> {
        let checked: Vec<&str> = self
            .filters
            .iter()
            .map(String::as_str)
            .chain(Some(extra).filter(|f| !f.is_empty()))
            .collect();
        let checked = checked.join(",");
        if !checked.is_empty() {
            let parsed = fw_filter::parse_filter(&checked)
                .map_err(|e| Error::syntax("filter", &checked, e))?;
            // Valid but rarely meant (`age<<30`, `sex= male`): say so, as fwq does.
            for lint in parsed.lints() {
                tracing::warn!(filter = %checked, "{}", lint.message);
            }
        }
        let joined: Vec<&str> = self
            .raw_filter
            .as_deref()
            .into_iter()
            .chain(Some(checked.as_str()))
            .filter(|f| !f.is_empty())
            .collect();
        Ok(Some(joined.join(",")).filter(|f| !f.is_empty()))
    }

    /// The list request with the filter and options, every text checked; `limit`
    /// overrides the finder's own.
    fn request(&self, extra_filter: &str, limit: Option<u32>) -> Result<Request, Error> {
        if limit.is_none() && self.limit == Some(0) {
            // The server reads `limit=0` as "no limit": `limit(0)` would return everything.
            return Err(Error::invalid("limit must be at least 1"));
        }
        let mut request = Request::get(&self.path);
        if let Some(filter) = self.checked_filter(extra_filter)? {
            request = request.query("filter", filter);
        }
        if let Some(sort) = &self.sort {
            fw_filter::parse_sort(sort).map_err(|e| Error::syntax("sort", sort, e))?;
            request = request.query("sort", sort);
        }
        if let Some(limit) = limit.or(self.limit) {
            request = request.query("limit", limit);
        }
        if let Some(skip) = self.skip {
            request = request.query("skip", skip);
        }
        if let Some(page) = self.page {
            request = request.query("page", page);
        }
        if let Some(after_id) = &self.after_id {
            request = request.query("after_id", after_id);
        }
        if self.include_all_info {
            request = request.query("include_all_info", "true");
        }
        Ok(request)
    }

    /// Sends one list request and reads its items.
    async fn one_page(&self, request: Request) -> Result<Vec<L::Item>, Error> {
        let items: Vec<L::Wire> = self.client.call(request).await?;
        items
            .into_iter()
            .map(|item| L::item(&self.client, item))
            .collect()
    }

    /// What the finder was asked, for messages: `projects matching "label=x"`.
    fn describe(&self, filter: &str) -> String {
        match self.checked_filter(filter) {
            Ok(Some(filter)) => format!("/{} matching {filter:?}", self.path.join("/")),
            _ => format!("/{}", self.path.join("/")),
        }
    }

    /// Every match (Python: `finder.find(filter)`); `""` matches everything.
    ///
    /// Without `limit`, `skip`, `page` or `after_id` it pages through the list, 250 at a
    /// time (`after_id=<last _id>`, or `page=` with a sort), until a page comes back
    /// short; with one of them it sends that one request.
    ///
    /// # Errors
    ///
    /// [`Error::QuerySyntax`] before sending anything; [`Error::NotFound`] when the
    /// parent container is gone; [`Error::Transport`].
    pub async fn find(self, filter: &str) -> Result<Vec<L::Item>, Error> {
        let single = self.limit.is_some()
            || self.skip.is_some()
            || self.page.is_some()
            || self.after_id.is_some();
        if single {
            let request = self.request(filter, None)?;
            return self.one_page(request).await;
        }
        self.iter_find(filter)?.try_collect().await
    }

    /// The first match, or `None` (Python: `finder.find_first(filter)`; one request with
    /// `limit=1`).
    ///
    /// # Errors
    ///
    /// As [`Finder::find`].
    pub async fn find_first(self, filter: &str) -> Result<Option<L::Item>, Error> {
        let request = self.request(filter, Some(1))?;
        Ok(self.one_page(request).await?.into_iter().next())
    }

    /// The one match (Python: `finder.find_one(filter)`; one request with `limit=2`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when nothing matches, [`Error::MoreThanOne`] when two or more
    /// do (Python raises `ValueError` for both); as [`Finder::find`] otherwise.
    pub async fn find_one(self, filter: &str) -> Result<L::Item, Error> {
        let request = self.request(filter, Some(2))?;
        let mut items = self.one_page(request).await?;
        match items.len() {
            1 => Ok(items.remove(0)),
            0 => Err(Error::NotFound {
                message: format!("no {} found: nothing in {}", L::WHAT, self.describe(filter)),
                source: None,
            }),
            _ => Err(Error::MoreThanOne {
                message: format!(
                    "more than one of the {} in {}",
                    L::WHAT,
                    self.describe(filter)
                ),
            }),
        }
    }

    /// Every match as a stream (Python: `finder.iter_find(filter)`), in constant memory:
    /// pages of `limit` (default 250) are fetched by a task that stays one page ahead of
    /// the caller, so the next page is on its way while the caller works on this one.
    /// Dropping the stream stops the task.
    ///
    /// With a [`sort`](Finder::sort), pages are numbered (`page=1,2,…`), so changing items
    /// while iterating in a way that moves them in the order or out of the filter (e.g.
    /// relabelling under `sort("label:asc")`) makes later pages skip or repeat items, as in
    /// Python. Without a sort, paging by `after_id` is not affected.
    ///
    /// ```no_run
    /// # async fn run(project: fw_sdk::Project) -> Result<(), fw_sdk::Error> {
    /// use futures_util::TryStreamExt;
    /// let mut subjects = project.subjects().iter_find("created>2019-09-09")?;
    /// while let Some(subject) = subjects.try_next().await? {
    ///     let label = subject.label.clone().unwrap_or_default();
    ///     subject.update(serde_json::json!({"label": format!("old_cohort_{label}")})).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// Before anything is sent: [`Error::QuerySyntax`]; [`Error::InvalidArgument`] with
    /// `skip`, `page` or `after_id` (the stream pages by itself), or outside a tokio
    /// runtime. Each item is an error instead when a page fails.
    pub fn iter_find(self, filter: &str) -> Result<ItemStream<L::Item>, Error> {
        if self.skip.is_some() || self.page.is_some() || self.after_id.is_some() {
            return Err(Error::invalid(
                "iter_find pages by itself; use find with skip, page or after_id",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid("iter_find needs a tokio runtime"))?;
        let page_size = self.limit.unwrap_or(DEFAULT_PAGE_SIZE).max(1);
        let mut request = self.request(filter, None)?;
        // The pager adds `limit` itself.
        request.query.retain(|(name, _)| name != "limit");
        let client = self.client.clone();
        let pages = client.transport().paginate::<L::Wire>(request, page_size);
        // One page waits in the channel while the pager fetches the next.
        let (sender, receiver) = tokio::sync::mpsc::channel(page_size as usize);
        let producer = client.clone();
        runtime.spawn(async move {
            let mut pages = std::pin::pin!(pages);
            loop {
                let permit = producer.permit().await;
                let next = pages.next().await;
                drop(permit);
                let Some(item) = next else { break };
                let failed = item.is_err();
                if sender.send(item.map_err(Error::from)).await.is_err() || failed {
                    break;
                }
            }
        });
        let items = futures_util::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|item| (item, receiver))
        })
        .map(move |item| item.and_then(|wire| L::item(&client, wire)));
        Ok(Box::pin(items))
    }

    /// One request with only the options set, no paging (Python: calling the finder,
    /// `fw.projects()`, which sends no `limit`: the server's default page applies).
    ///
    /// # Errors
    ///
    /// As [`Finder::find`].
    pub async fn all(self) -> Result<Vec<L::Item>, Error> {
        let request = self.request("", None)?;
        self.one_page(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_model::ProjectKind;

    async fn offline_client() -> Client {
        // Port 9 is "discard": nothing listens there, and nothing is sent by these tests.
        Client::builder("127.0.0.1:9:__force_insecure:k")
            .skip_auth_check(true)
            .build()
            .await
            .unwrap()
    }

    fn query(request: &Request) -> Vec<(&str, &str)> {
        request
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[tokio::test]
    async fn requests_carry_the_options_in_python_order() {
        let finder = offline_client()
            .await
            .finder::<ProjectKind>()
            .filter("group=g")
            .sort("label:asc")
            .limit(5)
            .skip(1)
            .include_all_info(true);
        let request = finder.request("label=a", None).unwrap();
        assert_eq!(request.segments, ["projects"]);
        assert_eq!(
            query(&request),
            [
                ("filter", "group=g,label=a"),
                ("sort", "label:asc"),
                ("limit", "5"),
                ("skip", "1"),
                ("include_all_info", "true")
            ]
        );
    }

    #[tokio::test]
    async fn raw_filters_go_first_and_unchecked() {
        let finder = offline_client()
            .await
            .finder::<ProjectKind>()
            .raw_filter("label=~(");
        let request = finder.request("group=g", Some(1)).unwrap();
        assert_eq!(
            query(&request),
            [("filter", "label=~(,group=g"), ("limit", "1")]
        );
    }

    #[tokio::test]
    async fn bad_sorts_are_caught() {
        let finder = offline_client()
            .await
            .finder::<ProjectKind>()
            .sort("label:up");
        let Err(Error::QuerySyntax { what, text, error }) = finder.request("", None) else {
            panic!("expected a syntax error");
        };
        assert_eq!(
            (what, text.as_str(), error.offset()),
            ("sort", "label:up", 6)
        );
    }
}
