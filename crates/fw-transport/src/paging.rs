//! Walking a list endpoint page by page (docs/wire.md §4.2), as a stream of items.

use futures_util::stream::{self, Stream, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
    /// # Errors
    ///
    /// Each item is a `Result`. A page that fails (the errors of [`Client::json`]) or
    /// repeats itself ([`Error::PagingLoop`]) ends the stream; an item that is not a `T` is
    /// an [`Error::Decode`] item, and paging goes on.
    pub fn paginate<T: DeserializeOwned + 'static>(
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
        stream::try_unfold(pager, next_page)
            .map_ok(|items: Vec<Value>| {
                stream::iter(items.into_iter().map(|item| {
                    serde_json::from_value::<T>(item).map_err(|source| Error::Decode {
                        expected: std::any::type_name::<T>(),
                        snippet: String::new(),
                        method: reqwest::Method::GET,
                        url: "a list item".to_string(),
                        source,
                    })
                }))
            })
            .try_flatten()
    }
}

async fn next_page(mut pager: Pager) -> Result<Option<(Vec<Value>, Pager)>, Error> {
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
    let reply: Value = pager.client.json(&request).await?;
    let items = match reply {
        Value::Array(items) => items,
        Value::Object(mut envelope) => match envelope.remove("results") {
            Some(Value::Array(items)) => items,
            _ => return Err(not_a_page(url)),
        },
        _ => return Err(not_a_page(url)),
    };
    if items.is_empty() {
        return Ok(None);
    }
    pager.done = items.len() < pager.limit as usize;
    if pager.sorted {
        let first = items.first().and_then(cursor_of);
        if first.is_some() && first == pager.previous_first {
            return Err(Error::PagingLoop {
                url,
                cursor: first.unwrap_or_default(),
            });
        }
        pager.previous_first = first;
        pager.page += 1;
    } else {
        let last = items.last().and_then(cursor_of);
        match last {
            Some(cursor) if Some(&cursor) == pager.after_id.as_ref() => {
                return Err(Error::PagingLoop { url, cursor });
            }
            Some(cursor) => pager.after_id = Some(cursor),
            // Items without ids cannot be paged by keyset: this page is the last.
            None => pager.done = true,
        }
    }
    Ok(Some((items, pager)))
}

/// The keyset cursor of an item: `file_id` for files, else `_id`.
fn cursor_of(item: &Value) -> Option<String> {
    let id = item.get("file_id").or_else(|| item.get("_id"))?;
    match id {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn not_a_page(url: String) -> Error {
    Error::Decode {
        expected: "a list page (an array, or an object with `results`)",
        snippet: String::new(),
        method: reqwest::Method::GET,
        url,
        source: <serde_json::Error as serde::de::Error>::custom("neither an array nor an envelope"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use serde_json::json;

    #[test]
    fn cursors_prefer_file_id() {
        assert_eq!(
            cursor_of(&json!({"_id": "v1", "file_id": "f1"})).as_deref(),
            Some("f1")
        );
        assert_eq!(cursor_of(&json!({"_id": "a"})).as_deref(), Some("a"));
        assert_eq!(cursor_of(&json!({"label": "x"})), None);
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
