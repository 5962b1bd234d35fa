//! Finders: list containers of a kind (under a parent) with filter, sort and paging.
//!
//! Finders run in two steps: an indexed SQL scan selects a superset of the matches (by
//! kind, and by parent, project, group, label or id when the filter pins one with `=`),
//! then fw-filter evaluates the whole filter on each rendered document. The SQL conditions
//! are implied by the filter, so the result is exactly fw-filter's.

use fw_filter::finder::Test;
use fw_filter::sort::compare_json;
use fw_filter::{Filter, Sort, Value as FilterValue};
use rusqlite::Connection;
use serde_json::Value;

use crate::access::Access;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::kind::Kind;
use crate::roles::Level;
use crate::store::{Row, Scan, scan};

use super::render::Renderer;

/// Finder parameters (docs/wire.md §4).
#[derive(Debug, Default, Clone)]
pub(crate) struct ListParams {
    /// `filter`.
    pub(crate) filter: Option<String>,
    /// `sort`.
    pub(crate) sort: Option<String>,
    /// `limit`; absent or 0 means no limit.
    pub(crate) limit: Option<usize>,
    /// `skip`.
    pub(crate) skip: Option<usize>,
    /// `page`, from 1.
    pub(crate) page: Option<usize>,
    /// `after_id`: only items after this id, in id order.
    pub(crate) after_id: Option<String>,
}

impl ListParams {
    /// The `filter`, parsed (an empty one is none).
    ///
    /// # Errors
    ///
    /// A 400 with the parse error and its caret.
    pub(crate) fn parsed_filter(&self) -> Result<Option<Filter>, ApiError> {
        parsed(self.filter.as_deref(), fw_filter::parse_filter, "filter")
    }
}

/// The paging and sorting parameters of a list, checked: every list endpoint honours each
/// of them or refuses it with a 400 (docs/wire.md §4.2 points 5-6).
pub(crate) struct Paging {
    /// The filter, parsed.
    pub(crate) filter: Option<Filter>,
    /// The sort, parsed.
    pub(crate) sort: Option<Sort>,
    /// How many items to skip (from `skip`, or `page` and `limit`).
    pub(crate) skip: usize,
    /// The most items to return; `None` for all.
    pub(crate) limit: Option<usize>,
    /// Only items after this id, in id order.
    pub(crate) after_id: Option<String>,
}

impl ListParams {
    /// The parameters checked: `after_id` with `sort`, `page` or `skip`, `skip` with
    /// `page`, `page=0` and a `page` without a `limit` are 400s, as are a filter or sort that does not parse.
    ///
    /// # Errors
    ///
    /// A 400 naming the parameter.
    pub(crate) fn paging(&self) -> Result<Paging, ApiError> {
        let filter = self.parsed_filter()?;
        let sort = parsed(self.sort.as_deref(), fw_filter::parse_sort, "sort")?;
        if self.after_id.is_some() && (sort.is_some() || self.page.is_some() || self.skip.is_some())
        {
            return Err(ApiError::bad_request(
                "after_id cannot be used with sort, page or skip",
            ));
        }
        // `page` sets where the page starts, so a `skip` beside it would be dropped.
        if self.page.is_some() && self.skip.is_some() {
            return Err(ApiError::bad_request(
                "skip cannot be used with page: page starts at (page - 1) * limit",
            ));
        }
        let limit = self.limit.filter(|&l| l > 0);
        let skip = match (self.page, limit) {
            (Some(0), _) => return Err(ApiError::bad_request("page counts from 1")),
            (Some(page), Some(limit)) => (page - 1).saturating_mul(limit),
            (Some(_), None) => return Err(ApiError::bad_request("page needs a limit")),
            (None, _) => self.skip.unwrap_or(0),
        };
        Ok(Paging {
            filter,
            sort,
            skip,
            limit,
            after_id: self.after_id.clone(),
        })
    }
}

impl Paging {
    /// A page of `items` (given in the order of their `id_key`, `_id` or `file_id`): those
    /// after `after_id` that match the filter, sorted, then `skip` and `limit`. Returns the
    /// page and how many items matched in all. Lists that are not containers (users, roles,
    /// files, modalities) page through this.
    pub(crate) fn page(&self, items: Vec<Value>, id_key: &str) -> (Vec<Value>, usize) {
        let after = |item: &Value| {
            self.after_id
                .as_deref()
                .is_none_or(|after| item[id_key].as_str().is_some_and(|id| id > after))
        };
        let mut matches: Vec<Value> = items
            .into_iter()
            .filter(|item| after(item) && self.filter.as_ref().is_none_or(|f| f.matches(item)))
            .collect();
        if let Some(sort) = &self.sort {
            sort_docs(&mut matches, sort, id_key);
        }
        let total = matches.len();
        let page = matches
            .into_iter()
            .skip(self.skip)
            .take(self.limit.unwrap_or(usize::MAX))
            .collect();
        (page, total)
    }
}

/// A query-language parameter, parsed when given and not empty; an error is a 400 that
/// shows the parse error (`what`: "filter", "sort").
fn parsed<T>(
    text: Option<&str>,
    parse: fn(&str) -> Result<T, fw_filter::ParseError>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    text.filter(|t| !t.is_empty())
        .map(parse)
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("invalid {what}:\n{e}")))
}

/// A page of a listing and the number of all matches (known exactly when `count_all`).
pub(crate) struct Listing {
    /// The items of the page.
    pub(crate) items: Vec<Value>,
    /// How many items match in all.
    pub(crate) total: usize,
}

/// Lists containers of `kind` (under `parent`, if given) as finders ask.
pub(crate) fn list(
    c: &Connection,
    caller: &Caller,
    kind: Kind,
    parent: Option<&Row>,
    params: &ListParams,
    count_all: bool,
) -> Result<Listing, ApiError> {
    let Paging {
        filter,
        sort,
        skip,
        limit,
        after_id,
    } = params.paging()?;
    let mut selection = prefilter(kind, filter.as_ref());
    selection.after_id = after_id;
    if let Some(parent) = parent {
        // A child list: the parent pins the scan (sessions of a project by project).
        match (parent.kind, kind) {
            (Kind::Project, Kind::Session | Kind::Acquisition) => {
                selection.project_id = Some(parent.id.clone())
            }
            _ => selection.parent_id = Some(parent.id.clone()),
        }
    }
    // Without a sort and without counting, the scan stops once the page is full.
    let stop_after = match (&sort, count_all, limit) {
        (None, false, Some(limit)) => Some(skip + limit),
        _ => None,
    };
    let mut access = Access::new(caller);
    let mut renderer = Renderer::default();
    let mut matches = Vec::new();
    scan(c, &selection, &mut |row| {
        if !access.listed(c, &row)? {
            return Ok(true);
        }
        let doc = renderer.render(c, row)?;
        if filter.as_ref().is_none_or(|f| f.matches(&doc)) {
            matches.push(doc);
        }
        Ok(stop_after.is_none_or(|n| matches.len() < n))
    })?;
    if let Some(sort) = &sort {
        sort_docs(&mut matches, sort, "_id");
    }
    let total = matches.len();
    let items = matches
        .into_iter()
        .skip(skip)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok(Listing { items, total })
}

/// `GET /{collection}` and `GET /{parent}/{id}/{children}`: a finder, at the top or below
/// a container the caller may read (`parent`: its kind and id); only the child lists a
/// kind has (`Kind::lists`) exist.
pub(crate) fn find(
    c: &Connection,
    caller: &Caller,
    parent: Option<(Kind, &str)>,
    kind: Kind,
    params: &ListParams,
    count_all: bool,
) -> Result<Listing, ApiError> {
    let parent = match parent {
        None => None,
        Some((parent_kind, _)) if !parent_kind.lists(kind) => {
            return Err(ApiError::not_found(format!(
                "no such endpoint: /{}/{{id}}/{}",
                parent_kind.collection(),
                kind.collection()
            )));
        }
        Some((parent_kind, id)) => {
            Some(Access::new(caller).get(c, Some(parent_kind), id, Level::Ro)?)
        }
    };
    list(c, caller, kind, parent.as_ref(), params, count_all)
}

/// The SQL selection a filter implies: each `=` on a string pins a column when the column
/// always equals that document field.
fn prefilter(kind: Kind, filter: Option<&Filter>) -> Scan {
    let mut selection = Scan::of(kind);
    let parent_path = kind.parent().map(|p| format!("parents.{}", p.name()));
    for condition in filter.map(|f| f.conditions.as_slice()).unwrap_or_default() {
        let value = match &condition.test {
            Test::Eq(FilterValue::String(s)) => s.clone(),
            Test::Eq(FilterValue::ObjectId(id)) => id.as_str().to_string(),
            _ => continue,
        };
        let path = condition.path();
        let slot = match path {
            "label" => &mut selection.label,
            "_id" => &mut selection.id,
            // The direct parent first: its index also covers the label.
            _ if Some(path) == parent_path.as_deref() => &mut selection.parent_id,
            "parents.group" if kind != Kind::Group => &mut selection.group_id,
            "parents.project" if !matches!(kind, Kind::Group | Kind::Project) => {
                &mut selection.project_id
            }
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    selection
}

/// Sorts by the sort's keys (fw-filter's order), then by the id (`id_key`).
fn sort_docs(docs: &mut [Value], sort: &Sort, id_key: &str) {
    docs.sort_by(|a, b| {
        sort.compare(a, b)
            .then_with(|| compare_json(a.get(id_key), b.get(id_key)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::create::create;
    use crate::containers::render::render;
    use serde_json::json;

    #[test]
    fn the_prefilter_pins_only_columns_equal_to_fields() {
        let filter =
            fw_filter::parse_filter("project=5ebd4ff8bfda5102856aa084,label=sub-01,age<30")
                .unwrap();
        let scan = prefilter(Kind::Subject, Some(&filter));
        assert_eq!(scan.parent_id.as_deref(), Some("5ebd4ff8bfda5102856aa084"));
        assert_eq!(scan.label.as_deref(), Some("sub-01"));
        let scan = prefilter(Kind::Session, Some(&filter));
        assert_eq!(scan.project_id.as_deref(), Some("5ebd4ff8bfda5102856aa084"));
        assert_eq!(scan.parent_id, None);
        let numeric = fw_filter::parse_filter("label=1001").unwrap();
        assert_eq!(prefilter(Kind::Subject, Some(&numeric)).label, None);
    }

    #[test]
    fn json_values_sort_by_type_then_value() {
        let mut docs = vec![
            json!({"_id": "c", "n": "x"}),
            json!({"_id": "a", "n": 2}),
            json!({"_id": "b"}),
            json!({"_id": "d", "n": 1}),
        ];
        let sort = fw_filter::parse_sort("n:asc").unwrap();
        sort_docs(&mut docs, &sort, "_id");
        let ids: Vec<&str> = docs.iter().map(|d| d["_id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["b", "d", "a", "c"]);
    }

    mod prefilter_equivalence {
        use super::*;
        use crate::store::Store;
        use proptest::prelude::*;

        /// A store with two groups, three projects and 90 subjects of varied fields.
        fn seeded() -> (tempfile::TempDir, Store, Vec<String>) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(dir.path()).unwrap();
            let admin = Caller {
                user_id: "admin@local".into(),
                site_admin: true,
                exhaustive: true,
            };
            let projects = store
                .write_blocking(|c| {
                    crate::auth::ensure_user(c, "admin@local", &json!({"roles": ["site_admin"]}))?;
                    let mut projects = Vec::new();
                    for group in ["ga", "gb"] {
                        create(c, &admin, Kind::Group, json!({"_id": group}))?;
                    }
                    for (i, group) in ["ga", "ga", "gb"].iter().enumerate() {
                        projects.push(create(
                            c,
                            &admin,
                            Kind::Project,
                            json!({"label": format!("p{i}"), "group": group}),
                        )?);
                    }
                    let (sexes, sites) = (["male", "female", "other"], ["a", "b"]);
                    for i in 0..90 {
                        create(
                            c,
                            &admin,
                            Kind::Subject,
                            json!({
                                "label": format!("s{:02}", i % 30), "project": projects[i % 3],
                                "sex": sexes[i % 3], "info": {"n": i % 7, "site": sites[i % 2]},
                            }),
                        )?;
                    }
                    Ok(projects)
                })
                .unwrap();
            (dir, store, projects)
        }

        fn condition(projects: Vec<String>) -> impl Strategy<Value = String> {
            let keys = prop::sample::select(vec![
                "label",
                "project",
                "parents.project",
                "group",
                "parents.group",
                "sex",
                "info.n",
                "info.site",
                "_id",
                "code",
            ]);
            let ops = prop::sample::select(vec!["=", "!=", "<", ">=", "=~", "=|"]);
            let mut values: Vec<String> = vec![
                "s05".into(),
                "s29".into(),
                "ga".into(),
                "gb".into(),
                "male".into(),
                "a".into(),
                "3".into(),
                "\"3\"".into(),
                "s1".into(),
                "null".into(),
            ];
            values.extend(projects);
            let values = prop::sample::select(values);
            (keys, ops, values.clone(), values).prop_map(|(k, op, v, w)| match op {
                "=|" => format!("{k}=|[{v},{w}]"),
                _ => format!("{k}{op}{v}"),
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            #[test]
            fn sql_narrowing_never_changes_a_result(conditions in Just(()).prop_flat_map(|_| {
                prop::collection::vec(condition(vec!["PROJECT0".into(), "PROJECT2".into()]), 1..4)
            })) {
                thread_local! {
                    static SEEDED: (tempfile::TempDir, Store, Vec<String>) = seeded();
                }
                SEEDED.with(|(_, store, projects)| {
                    let text = conditions.join(",").replace("PROJECT0", &projects[0]).replace("PROJECT2", &projects[2]);
                    let Ok(filter) = fw_filter::parse_filter(&text) else { return Ok(()) };
                    let caller = Caller { user_id: "admin@local".into(), site_admin: true, exhaustive: true };
                    let params = ListParams { filter: Some(text.clone()), ..ListParams::default() };
                    let (listed, everything) = store
                        .write_blocking(|c| {
                            let listed = list(c, &caller, Kind::Subject, None, &params, true)?.items;
                            let mut everything = Vec::new();
                            scan(c, &Scan::of(Kind::Subject), &mut |row| {
                                everything.push(render(c, &row)?);
                                Ok(true)
                            })?;
                            Ok((listed, everything))
                        })
                        .map_err(|e| TestCaseError::fail(e.message))?;
                    let expected: Vec<Value> = everything.into_iter().filter(|d| filter.matches(d)).collect();
                    prop_assert_eq!(listed, expected, "{}", text);
                    Ok(())
                })?;
            }
        }
    }
}
