//! Walking a list endpoint page by page (docs/wire.md §4.2), as a stream of items.

use futures_util::stream::{self, Stream, TryStreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::redact_url;
use crate::{Client, Error, Request};

/// The page size the Python SDK's finders use.
pub const DEFAULT_PAGE_SIZE: u32 = 250;

/// Where the next page starts.
#[derive(Debug, Clone)]
struct Pager {
    client: Client,
    request: Request,
    limit: u32,
    /// With `sort`, pages are numbered (`page=1,2,…`); without, keyset (`after_id`).
    sorted: bool,
    page: u32,
    after_id: Option<String>,
    /// The first item's id of the previous page, to notice a server that ignores `page`.
    previous_first: Option<String>,
    done: bool,
}

impl Client {
    /// Streams every item of a list endpoint, `limit` per request.
    ///
    /// Without a `sort` parameter it pages by keyset: `after_id` is the last item's
    /// `file_id` for file items, else its `_id`. With `sort` it numbers pages from 1. It
    /// stops on an empty page or on a page shorter than `limit` (one request fewer than the
    /// Python SDK), and fails with [`Error::PagingLoop`] rather than loop forever when the
    /// server repeats itself. Replies may be bare arrays or `{count, total, results}`
    /// envelopes.
    ///
    /// Each page is split into its items' JSON text, and each item is decoded from its
    /// text straight into a `T` (no `serde_json::Value` in between, unless `T` is one); only
    /// the first and last items are read again, for their ids.
    ///
    /// # Errors
    ///
    /// Each item is a `Result`. A page that fails (the errors of [`Client::json`]) or
    /// repeats itself ([`Error::PagingLoop`]) ends the stream; an item that is not a `T` is
    /// an [`Error::Decode`] item (with the start of its text), and paging goes on.
    pub fn paginate<T: DeserializeOwned + Send + 'static>(
        &self,
        request: Request,
        limit: u32,
    ) -> impl Stream<Item = Result<T, Error>> + Send + 'static {
        let sorted = request.query.iter().any(|(name, _)| name == "sort");
        let pager = Pager {
            client: self.clone(),
            request,
            limit: limit.max(1),
            sorted,
            page: 1,
            after_id: None,
            previous_first: None,
            done: false,
        };
        stream::try_unfold(pager, next_page::<T>)
            .map_ok(stream::iter)
            .try_flatten()
    }
}

/// A list page's items, each still its JSON text: read from a bare array, or from the
/// `results` of a `{count, total, results}` envelope (its other fields skipped).
struct Page(Vec<Box<RawValue>>);

impl<'de> Deserialize<'de> for Page {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor;
        impl<'de> serde::de::Visitor<'de> for PageVisitor {
            type Value = Page;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list page (an array, or an object with `results`)")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Page, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Page(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
                let mut results = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "results" {
                        results = Some(map.next_value::<Vec<Box<RawValue>>>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                results
                    .map(Page)
                    .ok_or_else(|| serde::de::Error::missing_field("results"))
            }
        }
        deserializer.deserialize_any(PageVisitor)
    }
}

/// The ids an item is paged by (the rest of the item is skipped unread).
#[derive(Deserialize)]
struct CursorFields {
    #[serde(rename = "_id")]
    id: Option<Id>,
    file_id: Option<Id>,
}

/// An id as servers send it: text, or (in old replies) a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(serde_json::Number),
}

async fn next_page<T: DeserializeOwned>(
    mut pager: Pager,
) -> Result<Option<(Vec<Result<T, Error>>, Pager)>, Error> {
    if pager.done {
        return Ok(None);
    }
    let mut request = pager.request.clone().query("limit", pager.limit);
    if pager.sorted {
        request = request.query("page", pager.page);
    } else if let Some(after_id) = &pager.after_id {
        request = request.query("after_id", after_id);
    }
    let url = redact_url(&pager.client.url_of(&request)?);
    let Page(items) = pager.client.json(&request).await?;
    if items.is_empty() {
        return Ok(None);
    }
    pager.done = items.len() < pager.limit as usize;
    if pager.sorted {
        let first = items.first().and_then(|item| cursor_of(item));
        if first.is_some() && first == pager.previous_first {
            return Err(Error::PagingLoop {
                url,
                cursor: first.unwrap_or_default(),
            });
        }
        pager.previous_first = first;
        pager.page += 1;
    } else {
        let last = items.last().and_then(|item| cursor_of(item));
        match last {
            Some(cursor) if Some(&cursor) == pager.after_id.as_ref() => {
                return Err(Error::PagingLoop { url, cursor });
            }
            Some(cursor) => pager.after_id = Some(cursor),
            // Items without ids cannot be paged by keyset: this page is the last.
            None => pager.done = true,
        }
    }
    let typed = items.iter().map(|item| decode_item(item, &url)).collect();
    Ok(Some((typed, pager)))
}

fn decode_item<T: DeserializeOwned>(item: &RawValue, url: &str) -> Result<T, Error> {
    serde_json::from_str(item.get()).map_err(|source| Error::Decode {
        expected: std::any::type_name::<T>(),
        snippet: item.get().chars().take(200).collect(),
        method: reqwest::Method::GET,
        url: format!("an item of {url}"),
        source,
    })
}

/// The keyset cursor of an item: `file_id` for files, else `_id`.
fn cursor_of(item: &RawValue) -> Option<String> {
    let fields: CursorFields = serde_json::from_str(item.get()).ok()?;
    match fields.file_id.or(fields.id)? {
        Id::Text(text) => Some(text),
        Id::Number(number) => Some(number.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use serde_json::{Value, json};

    fn raw(value: Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&value).unwrap()
    }

    #[test]
    fn cursors_prefer_file_id() {
        assert_eq!(
            cursor_of(&raw(json!({"_id": "v1", "file_id": "f1"}))).as_deref(),
            Some("f1")
        );
        assert_eq!(cursor_of(&raw(json!({"_id": "a"}))).as_deref(), Some("a"));
        assert_eq!(cursor_of(&raw(json!({"_id": 7}))).as_deref(), Some("7"));
        assert_eq!(cursor_of(&raw(json!({"label": "x"}))), None);
        assert_eq!(cursor_of(&raw(json!({"_id": null}))), None);
    }

    #[test]
    fn pages_are_arrays_or_envelopes() {
        let items = |text: &str| serde_json::from_str::<Page>(text).map(|page| page.0.len());
        assert_eq!(items(r#"[{"_id": "a"}, {"_id": "b"}]"#).ok(), Some(2));
        let envelope = r#"{"count": 1, "results": [{"_id": "a"}], "total": {"x": [1]}}"#;
        assert_eq!(items(envelope).ok(), Some(1));
        let missing = items(r#"{"count": 1}"#).unwrap_err().to_string();
        assert!(missing.contains("missing field `results`"), "{missing}");
        let text = items(r#""text""#).unwrap_err().to_string();
        assert!(text.contains("a list page"), "{text}");
    }

    // Make sure the stream can be moved to another task.
    fn _is_send<T: Send>(_: T) {}
    #[allow(dead_code)]
    fn paginate_is_send(client: Client) {
        _is_send(
            client
                .paginate::<Value>(Request::get(["projects"]), 10)
                .boxed(),
        );
    }
}
