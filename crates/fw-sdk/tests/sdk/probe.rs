//! Probes: a new user trying to break fw-sdk. Each test says what a user expects.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use fw_sdk::model::SearchReturnType;
use fw_sdk::{Client, Error};
use serde_json::json;

use crate::common::{site, tree, unreachable_client};

/// A malformed filter must be a QuerySyntax error with a caret, and nothing sent.
#[tokio::test]
async fn malformed_filters_and_sorts_send_nothing_and_show_a_caret() {
    let fw = unreachable_client().await;
    for filter in ["label=~(", "label", "=x", "label=x,,"] {
        let err = fw.projects().find(filter).await.unwrap_err();
        assert!(
            matches!(err, Error::QuerySyntax { .. }),
            "{filter:?}: {err:?}"
        );
        assert!(err.to_string().contains('^'), "{filter:?}: no caret: {err}");
    }
    for sort in ["label:sideways", ":asc", "label:asc,"] {
        let err = fw.projects().sort(sort).find("").await.unwrap_err();
        assert!(
            matches!(err, Error::QuerySyntax { .. }),
            "{sort:?}: {err:?}"
        );
        assert!(err.to_string().contains('^'), "{sort:?}: no caret: {err}");
    }
    // find_first / find_one / iter_find / all check too.
    assert!(matches!(
        fw.projects().find_first("label=~(").await,
        Err(Error::QuerySyntax { .. })
    ));
    assert!(matches!(
        fw.projects().find_one("label=~(").await,
        Err(Error::QuerySyntax { .. })
    ));
    assert!(matches!(
        fw.projects().iter_find("label=~("),
        Err(Error::QuerySyntax { .. })
    ));
    assert!(matches!(
        fw.projects().filter("label=~(").all().await,
        Err(Error::QuerySyntax { .. })
    ));
    assert!(matches!(
        fw.projects().sort("x:bad").all().await,
        Err(Error::QuerySyntax { .. })
    ));
    // FlyQL in search.
    let err = fw
        .search("subject.label = ", SearchReturnType::Subject, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
}

/// Unicode labels, commas and quotes round-trip through create, find and lookup.
#[tokio::test]
async fn unicode_and_odd_labels() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for label in [
        "sujet-é",
        "被験者 01",
        "a,b",
        "with \"quote\"",
        "🧠",
        "  spaced  ",
    ] {
        let s = t
            .project
            .add_subject(json!({"label": label}))
            .await
            .unwrap();
        assert_eq!(s.label.as_deref(), Some(label));
        let path = format!("grp1/Proj/{label}");
        let found = site.fw.lookup(&path).await.unwrap();
        assert_eq!(found.id(), Some(s.id()), "{path}");
    }
    // A comma in a value is written `\,` (fw-filter README §A.1); quotes do not protect it.
    let found = t.project.subjects().find(r"label=a\,b").await.unwrap();
    assert_eq!(found.len(), 1);
    let found = t.project.subjects().find("label=被験者 01").await.unwrap();
    assert_eq!(found.len(), 1);
}

/// Ids that are not ObjectIds, empty ids, ids with slashes: a user expects NotFound
/// (or InvalidArgument), never a different container or an "unexpected reply".
#[tokio::test]
async fn odd_ids_are_not_found() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let fw = &site.fw;
    for id in [
        "nope",
        "5ebd4ff8bfda5102856aa084",
        "../groups/grp1",
        "a/b",
        "%2e%2e",
        "?x=1",
        "#x",
        " ",
    ] {
        let err = fw.get_project(id).await.unwrap_err();
        assert!(
            err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
            "get_project({id:?}): {err:?}"
        );
        let err = fw.get(id).await.unwrap_err();
        assert!(
            err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
            "get({id:?}): {err:?}"
        );
    }
}

/// get_project("") must not list projects nor read the list as one project: a user
/// expects NotFound or InvalidArgument.
#[tokio::test]
async fn empty_id_is_not_found_or_invalid() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let fw = &site.fw;
    let err = fw.get_project("").await.unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
        "get_project(\"\"): {err:?}"
    );
    let err = fw.get_group("").await.unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
        "get_group(\"\"): {err:?}"
    );
    let err = fw.get("").await.unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
        "get(\"\"): {err:?}"
    );
}

/// lookup("") / lookup("/") has no path: a user expects NotFound or InvalidArgument,
/// not a server 400 dressed up as something else or a panic.
#[tokio::test]
async fn empty_lookup_path() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    for path in ["", "/", "//"] {
        let err = site.fw.lookup(path).await.unwrap_err();
        assert!(
            err.is_not_found() || matches!(err, Error::InvalidArgument { .. }),
            "lookup({path:?}): {err:?}"
        );
    }
    let err = site
        .fw
        .lookup("grp1/Proj/no-such-subject")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// Huge limits and a zero limit: no panic, sane results.
#[tokio::test]
async fn huge_and_zero_limits() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let fw = &site.fw;
    let all = fw.projects().limit(u32::MAX).find("").await.unwrap();
    assert_eq!(all.len(), 1);
    let all: Vec<_> = fw
        .projects()
        .limit(u32::MAX)
        .iter_find("")
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    // limit(0) is refused before sending (the server reads limit=0 as "no limit").
    assert!(matches!(
        fw.projects().limit(0).iter_find(""),
        Err(Error::InvalidArgument { .. })
    ));
    let skipped = fw.projects().skip(u32::MAX).find("").await.unwrap();
    assert!(skipped.is_empty());
    let paged = fw
        .projects()
        .limit(10)
        .page(u32::MAX)
        .find("")
        .await
        .unwrap();
    assert!(paged.is_empty());
}

/// `limit(0)` in find: Python's find(limit=0)? A user expects either zero items or an
/// InvalidArgument; not "everything".
#[tokio::test]
async fn zero_limit_find_is_not_everything() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let got = site.fw.projects().limit(0).find("").await;
    match got {
        Ok(items) => assert!(items.is_empty(), "limit(0) returned {} items", items.len()),
        Err(e) => assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}"),
    }
}

/// A missing parent: finders on a deleted project are NotFound, not an empty list.
#[tokio::test]
async fn finders_on_a_deleted_parent() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let project = t.project.clone();
    t.acquisition.delete().await.unwrap();
    t.session.delete().await.unwrap();
    t.subject.delete().await.unwrap();
    project.delete().await.unwrap();
    let err = project.subjects().find("").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = project.reload().await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = project.update_info(json!({"a": 1})).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = project
        .add_subject(json!({"label": "x"}))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// A user without rights: permission denied or not found, never success.
#[tokio::test]
async fn second_user_without_rights() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let bob = site.user("bob@example.org").await;
    let err = bob.get_project(t.project.id()).await.unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::PermissionDenied { .. }),
        "{err:?}"
    );
    let err = bob
        .add_group(json!({"_id": "bobs", "label": "B"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    assert_eq!(err.status(), Some(403));
    assert!(bob.projects().find("").await.unwrap().is_empty());
    // bob's handle on a container he cannot see: update must fail.
    let project_as_bob = fw_sdk::Project::new(bob.clone(), t.project.wire().clone()).unwrap();
    let err = project_as_bob
        .update(json!({"label": "hacked"}))
        .await
        .unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::PermissionDenied { .. }),
        "{err:?}"
    );
    let err = project_as_bob.add_tag("x").await.unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::PermissionDenied { .. }),
        "{err:?}"
    );
    // find_or_add_group as bob: permission denied, not "found".
    let err = bob
        .find_or_add_group(json!({"_id": "grp1", "label": "x"}))
        .await
        .unwrap_err();
    assert!(
        err.is_not_found() || matches!(err, Error::PermissionDenied { .. }),
        "{err:?}"
    );
}

/// Many tasks on one cloned client, find-or-create racing: one subject, all agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_or_create_race() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let project = t.project.clone();
        tasks.push(tokio::spawn(async move {
            project
                .find_or_add_subject(json!({"label": "racer"}))
                .await
                .map(|s| s.id().to_string())
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let racers = t.project.subjects().find("label=racer").await.unwrap();
    assert_eq!(racers.len(), 1);
    // and groups
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let fw = site.fw.clone();
        tasks.push(tokio::spawn(async move {
            fw.find_or_add_group(json!({"_id": "racegrp", "label": "R"}))
                .await
                .map(|g| g.id().to_string())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "racegrp");
    }
}

/// iter_find while updating each item: every item seen exactly once.
#[tokio::test]
async fn iter_find_while_updating() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..12 {
        t.project
            .add_subject(json!({"label": format!("u{i:02}")}))
            .await
            .unwrap();
    }
    let mut stream = t
        .project
        .subjects()
        .limit(5)
        .iter_find("label=~^u")
        .unwrap();
    let mut seen = Vec::new();
    while let Some(s) = stream.try_next().await.unwrap() {
        s.update(json!({"label": format!("{}-done", s.label.clone().unwrap())}))
            .await
            .unwrap();
        seen.push(s.id().to_string());
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((n, seen.len()), (12, 12));
}

/// Dropping an iter_find stream early stops the background task: no more requests.
#[tokio::test]
async fn dropping_iter_find_stops_requests() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..30 {
        t.project
            .add_subject(json!({"label": format!("d{i:02}")}))
            .await
            .unwrap();
    }
    let before = site.requests().len();
    {
        let mut stream = t.project.subjects().limit(2).iter_find("").unwrap();
        let _ = stream.try_next().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = site.requests().len() - before;
    assert!(
        sent <= 3,
        "{sent} list requests after dropping the stream at item 1"
    );
}

/// Stopping the server mid-iteration: a clean error quickly, no hang.
#[tokio::test]
async fn server_stops_mid_iteration() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..10 {
        t.project
            .add_subject(json!({"label": format!("k{i:02}")}))
            .await
            .unwrap();
    }
    let fw = Client::builder(&site.running.admin_api_key())
        .retries(1)
        .build()
        .await
        .unwrap();
    let mut stream = fw.subjects().limit(2).iter_find("").unwrap();
    let _ = stream.try_next().await.unwrap();
    let crate::common::Site {
        running,
        dir,
        fw: admin,
    } = site;
    drop(admin);
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("stop hangs")
        .unwrap();
    let start = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), async {
        let mut last = Ok(());
        while let Some(item) = stream.try_next().await.transpose() {
            if let Err(e) = item {
                last = Err(e);
                break;
            }
        }
        last
    })
    .await
    .expect("iteration hangs after the server stopped");
    let err = result.expect_err("expected an error after the server stopped");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(15));
    drop(dir);
}

/// A wrong port: fails fast (issue: under 10 s) and the error names host and port.
#[tokio::test]
async fn wrong_port_fails_fast_and_says_where() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let start = Instant::now();
    let err = Client::new(&format!("{addr}:__force_insecure:k"))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(" / {s}"));
        source = s.source();
    }
    assert!(text.contains(&addr.port().to_string()), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
}

/// A bad key: 401, as Api with status 401.
#[tokio::test]
async fn bad_key_is_401() {
    let site = site().await;
    let err = Client::new(&format!("{}:__force_insecure:wrong", site.running.addr))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    for key in ["", "nocolon", ":"] {
        let err = Client::new(key).await.unwrap_err();
        assert!(
            matches!(err, Error::Transport { .. } | Error::InvalidArgument { .. }),
            "{key:?}: {err:?}"
        );
    }
}

/// Empty strings as labels and tags: expect a server error, not success with garbage.
#[tokio::test]
async fn empty_strings() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let r = t.session.add_tag("").await;
    assert!(r.is_err(), "empty tag accepted: {r:?}");
    let r = t.session.delete_note("").await;
    assert!(r.is_err(), "empty note id: {r:?}");
    let r = t.acquisition.delete_info(Vec::<String>::new()).await;
    let _ = r; // no keys: no-op is fine
    let r = site
        .fw
        .find_or_add_group(json!({"_id": "", "label": "x"}))
        .await;
    assert!(r.is_err(), "empty group id: {r:?}");
}

/// Concurrency through a request_concurrency(1) client shared by many tasks, with an
/// iter_find also holding the permit: no deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_does_not_deadlock_with_iter_find() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..6 {
        t.project
            .add_subject(json!({"label": format!("c{i}")}))
            .await
            .unwrap();
    }
    let fw = Client::builder(&site.running.admin_api_key())
        .request_concurrency(1)
        .build()
        .await
        .unwrap();
    let run = async {
        let mut stream = fw.subjects().limit(2).iter_find("").unwrap();
        while let Some(s) = stream.try_next().await.unwrap() {
            let fw2 = fw.clone();
            let id = s.id().to_string();
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let fw3 = fw2.clone();
                let id = id.clone();
                tasks.push(tokio::spawn(async move {
                    fw3.get_subject(&id).await.map(|_| ())
                }));
            }
            for task in tasks {
                task.await.unwrap().unwrap();
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("deadlock");
}

/// `find_one` with two matches is MoreThanOne; with none, is_not_found.
#[tokio::test]
async fn find_one_errors() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.project
        .add_subject(json!({"label": "dup"}))
        .await
        .unwrap();
    t.project
        .add_subject(json!({"label": "dup"}))
        .await
        .unwrap();
    let err = t
        .project
        .subjects()
        .find_one("label=dup")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MoreThanOne { .. }), "{err:?}");
    let err = t
        .project
        .subjects()
        .find_one("label=none")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    // find_or_add_subject with duplicates existing: returns the oldest, no error.
    let s = t
        .project
        .find_or_add_subject(json!({"label": "dup"}))
        .await
        .unwrap();
    assert_eq!(s.label.as_deref(), Some("dup"));
}

/// raw_filter goes unchecked; a bad raw filter is the server's 400, as documented.
#[tokio::test]
async fn raw_filter_unchecked() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let err = site
        .fw
        .projects()
        .raw_filter("label=~(")
        .find("")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    let ok = site
        .fw
        .projects()
        .raw_filter("label=Proj")
        .find("")
        .await
        .unwrap();
    assert_eq!(ok.len(), 1);
}

/// after_id that is not an ObjectId: server 400 or empty, not a panic; after_id with
/// iter_find is InvalidArgument with nothing sent.
#[tokio::test]
async fn after_id_odd() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    let r = site.fw.projects().after_id("not-an-id").find("").await;
    assert!(
        r.is_err() || r.as_ref().unwrap().is_empty() || r.as_ref().unwrap().len() == 1,
        "{r:?}"
    );
    let err = site
        .fw
        .projects()
        .after_id("x")
        .iter_find("")
        .err()
        .unwrap();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

/// A user who iterates `sort("label:asc")` and relabels each item expects to see every
/// item once, as without a sort. With page-numbered paging, items that leave the filter
/// shift later items onto pages already read: 2 of 12 are never seen. The Python SDK does
/// the same (page numbers), so this is the protocol, not a bug to fix here; the caveat is
/// now in `Finder::iter_find`'s docs.
#[tokio::test]
#[ignore = "inherent to page-numbered paging with a sort (as in Python); documented in iter_find"]
async fn sorted_iter_find_while_relabelling_skips_items() {
    let site = site().await;
    let t = tree(&site.fw).await;
    for i in 0..12 {
        t.project
            .add_subject(json!({"label": format!("u{i:02}")}))
            .await
            .unwrap();
    }
    // With a sort on label (page-numbered paging), relabelling moves items between pages.
    let mut stream = t
        .project
        .subjects()
        .sort("label:asc")
        .limit(5)
        .iter_find("label=~^u")
        .unwrap();
    let mut seen = Vec::new();
    while let Some(s) = stream.try_next().await.unwrap() {
        s.update(json!({"label": format!("z{}", s.label.clone().unwrap())}))
            .await
            .unwrap();
        seen.push(s.id().to_string());
    }
    let n = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!((n, seen.len()), (12, 12), "sorted paging while relabelling");
}

/// `label="a,b"`: a Python user quotes a value to keep its comma. fw-filter splits on the
/// comma anyway (commas are escaped `\,`, README §A.1), and the error says
/// `the condition "b\"" has no operator`: true, but it does not tell the user to write
/// `\,`. Expected: the message hints at `\,` when a quoted value is cut by a comma
/// (it does now, after any comma that ends a condition).
#[tokio::test]
async fn a_comma_inside_quotes_hints_at_the_escape() {
    let fw = unreachable_client().await;
    let err = fw.subjects().find("label=\"a,b\"").await.unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
    assert!(err.to_string().contains("\\,"), "{err}");
}

/// The caret is under the mistake: column of `(` in `label=~(`.
#[tokio::test]
async fn the_caret_is_under_the_mistake() {
    let fw = unreachable_client().await;
    let err = fw.projects().find("label=~(").await.unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let src = lines
        .iter()
        .position(|l| l.ends_with("label=~("))
        .expect(&text);
    let caret = lines[src + 1];
    assert_eq!(caret.find('^'), Some(lines[src].len() - 1), "{text}");
    // A filter joined from .filter() and find(): the message shows the joined text, and
    // the caret points into it.
    let err = fw
        .projects()
        .filter("label=x")
        .find("label=~(")
        .await
        .unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let src = lines
        .iter()
        .position(|l| l.ends_with("label=x,label=~("))
        .expect(&text);
    assert_eq!(
        lines[src + 1].find('^'),
        Some(lines[src].len() - 1),
        "{text}"
    );
}

/// `label="unterminated`: a value that opens a quote and never closes it is, by fw-filter's
/// rules, the text `"unterminated` with its quote. A user who forgot the closing quote gets
/// no match and no word of why. Expected: at least a lint (which the SDK now logs as a
/// `tracing` warning, as fwq prints lints), if not an error as in FlyQL.
#[test]
#[ignore = "fw-filter: an unclosed quote in a finder value is silently text, with no lint"]
fn an_unclosed_quote_gets_a_lint() {
    let filter = fw_filter::parse_filter("label=\"unterminated").unwrap();
    assert!(!filter.lints().is_empty());
}

/// `age<<30` parses (compares with the text `<30`) and fw-filter lints it; the SDK now
/// passes lints on as `tracing` warnings (fwq prints them). This pins that the lint exists.
#[test]
fn a_doubled_operator_is_linted() {
    let filter = fw_filter::parse_filter("age<<30").unwrap();
    assert!(!filter.lints().is_empty());
}

/// Non-object JSON bodies are refused before sending.
#[tokio::test]
async fn non_object_bodies_send_nothing() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let before = site.requests().len();
    for body in [json!(5), json!("x"), json!([1]), json!(null)] {
        let err = t.project.add_subject(body.clone()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        let err = t.session.update(body.clone()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
        let err = t.acquisition.update_info(body.clone()).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    }
    assert_eq!(site.requests().len(), before);
}

/// Tags, notes and permissions on the edges: a missing note is NotFound, a permission for
/// a user twice is AlreadyExists (or accepted), a permission for nobody is an error.
#[tokio::test]
async fn tags_notes_permissions_edges() {
    let site = site().await;
    let t = tree(&site.fw).await;
    // delete_note's docs promised NotFound for an unknown note; the server (like
    // Flywheel's wire, docs/wire.md §9) answers a DeletedResult counting it in
    // `not_found`. Fixed: the docs now say so, as delete_tag's do.
    let gone = t
        .session
        .delete_note("5ebd4ff8bfda5102856aa084")
        .await
        .unwrap();
    assert_eq!(gone.not_found, Some(1), "{gone:?}");
    // Documented: removing an absent tag is not an error; the reply counts it.
    let gone = t.session.delete_tag("never-added").await.unwrap();
    assert_eq!(gone.not_found, Some(1), "{gone:?}");
    t.session.add_tag("Control").await.unwrap();
    let again = t.session.add_tag("Control").await;
    assert!(
        again.is_ok() || again.as_ref().unwrap_err().is_already_exists(),
        "{again:?}"
    );
    let _bob = site.user("bob@example.org").await;
    t.group
        .add_permission(json!({"access": "ro", "_id": "bob@example.org"}))
        .await
        .unwrap();
    let again = t
        .group
        .add_permission(json!({"access": "ro", "_id": "bob@example.org"}))
        .await;
    assert!(
        again.is_ok() || again.as_ref().unwrap_err().is_already_exists(),
        "{again:?}"
    );
    let err = t
        .group
        .get_permission("nobody@example.org")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = t
        .group
        .delete_permission("nobody@example.org")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = site
        .fw
        .add_role_to_group("grp1", json!({"_id": "5ebd4ff8bfda5102856aa084"}))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = site
        .fw
        .add_role_to_group("no-such-group", json!({"_id": "x"}))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = site.fw.get_modality("NOPE").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

/// Search edges: an empty query, a huge size, no match.
#[tokio::test]
async fn search_edges() {
    let site = site().await;
    let _t = tree(&site.fw).await;
    // A size over the server's 10000 is its 400, with a message that says so.
    let err = site
        .fw
        .search(
            "subject.label = nobody",
            SearchReturnType::Subject,
            Some(u32::MAX),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert!(err.to_string().contains("10000"), "{err}");
    let none = site
        .fw
        .search(
            "subject.label = nobody",
            SearchReturnType::Subject,
            Some(10000),
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    let one = site
        .fw
        .search("subject.label = sub1", SearchReturnType::Subject, Some(1))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let empty = site.fw.search("", SearchReturnType::Subject, None).await;
    assert!(
        matches!(empty, Err(Error::QuerySyntax { .. })) || empty.is_ok(),
        "{empty:?}"
    );
}

/// `Client::from_env`: `FW_API_KEY` first; without it, a missing credentials file says
/// how to log in. Run in a child process (the environment is process-wide and
/// `set_var` is unsafe, which the workspace forbids).
#[tokio::test]
async fn from_env_in_a_child_process() {
    if std::env::var_os("PROBE_FROM_ENV_CHILD").is_some() {
        return; // the child runs from_env_child
    }
    let site = site().await;
    let key = site.running.admin_api_key();
    let with_key = tokio::task::spawn_blocking(move || from_env_child_output(Some(key)))
        .await
        .unwrap();
    assert!(with_key.contains("FROM_ENV: ok admin@local"), "{with_key}");
    let without = tokio::task::spawn_blocking(|| from_env_child_output(None))
        .await
        .unwrap();
    assert!(without.contains("FROM_ENV: err"), "{without}");
    let lower = without.to_lowercase();
    assert!(
        lower.contains("login") || lower.contains("log in"),
        "{without}"
    );
}

/// Runs `from_env_child` in a child process with an empty home and this `FW_API_KEY`.
fn from_env_child_output(key: Option<String>) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["probe::from_env_child", "--exact", "--nocapture"])
        .env("PROBE_FROM_ENV_CHILD", "1")
        .env("FLYWHEEL_USER_HOME", home.path())
        .env("HOME", home.path());
    match key {
        Some(key) => cmd.env("FW_API_KEY", key),
        None => cmd.env_remove("FW_API_KEY"),
    };
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test]
async fn from_env_child() {
    if std::env::var_os("PROBE_FROM_ENV_CHILD").is_none() {
        return;
    }
    match Client::from_env().await {
        Ok(fw) => {
            let me = fw.get_current_user().await.unwrap();
            println!(
                "FROM_ENV: ok {}",
                me.id.clone().map(|i| i.to_string()).unwrap_or_default()
            );
        }
        Err(e) => println!("FROM_ENV: err {e}"),
    }
}

/// `sort("label asc")` (a space where `:` belongs, as in SQL): fw-filter reads the key
/// `label asc` and the SDK sends `sort=label+asc`, which sorts by a field nobody has. A
/// user expects the typo caught before sending, like `label:up` is.
#[tokio::test]
#[ignore = "fw-filter: a sort key with a space (`label asc`) parses as a key; no error, no lint"]
async fn a_space_in_a_sort_key_is_refused() {
    let fw = unreachable_client().await;
    let err = fw.projects().sort("label asc").find("").await.unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
}

/// A server that accepts the connection and never answers: `request_timeout` bounds the
/// wait, and the error is a transport error, not a hang.
#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let start = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        Client::builder(&format!("{addr}:__force_insecure:k"))
            .request_timeout(Duration::from_secs(1))
            .retries(0)
            .build(),
    )
    .await
    .expect("construction hangs on a silent server");
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    hold.abort();
}

/// Tags with slashes and spaces round-trip (the path segment is escaped); a label with a
/// slash cannot be looked up by path (it is split on `/`, as in Python) and is NotFound,
/// not another container.
#[tokio::test]
async fn slashes_in_tags_and_labels() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.session.add_tag("my tag/x").await.unwrap();
    assert_eq!(
        t.session
            .reload()
            .await
            .unwrap()
            .tags
            .clone()
            .unwrap_or_default(),
        ["my tag/x"]
    );
    let gone = t.session.delete_tag("my tag/x").await.unwrap();
    assert_eq!(gone.deleted, Some(1), "{gone:?}");
    t.project
        .add_subject(json!({"label": "a/b"}))
        .await
        .unwrap();
    let err = site.fw.lookup("grp1/Proj/a/b").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // A label containing a slash is still found by a finder.
    assert_eq!(
        t.project.subjects().find("label=a/b").await.unwrap().len(),
        1
    );
}

/// find_or_add without a label is refused before sending; into_kind of the wrong kind is
/// an error naming both kinds.
#[tokio::test]
async fn find_or_add_without_label_and_wrong_kind() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let before = site.requests().len();
    let err = t
        .project
        .find_or_add_subject(json!({"sex": "male"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let err = t.subject.find_or_add_session(json!({})).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    let err = site
        .fw
        .find_or_add_group(json!({"label": "no id"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
    assert_eq!(site.requests().len(), before);
    let node = site.fw.get(t.session.id()).await.unwrap();
    let err = node.into_kind::<fw_sdk::model::ProjectKind>().unwrap_err();
    assert!(err.to_string().contains("session"), "{err}");
}

/// Fifty tasks on clones of one client, all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_tasks_share_a_client() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let fw = site.fw.clone();
        let session = t.session.clone();
        tasks.push(tokio::spawn(async move {
            fw.get_current_user().await?;
            session.add_tag(&format!("t{i}")).await?;
            fw.sessions().find("label=ses1").await.map(|v| v.len())
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), 1);
    }
    let tags = t
        .session
        .reload()
        .await
        .unwrap()
        .tags
        .clone()
        .unwrap_or_default();
    assert_eq!(tags.len(), 50);
}

/// A session with a timestamp and an unknown time zone: original_timestamp is an error
/// (not a panic); with a valid zone, the offset is the zone's.
#[tokio::test]
async fn original_timestamp_zones() {
    use fw_sdk::TimestampHelpers;
    let site = site().await;
    let t = tree(&site.fw).await;
    let s = t
        .subject
        .add_session(
            json!({"label": "tz", "timestamp": "2020-07-01T12:00:00Z", "timezone": "Mars/Olympus"}),
        )
        .await
        .unwrap();
    assert!(s.original_timestamp().is_err());
    let s = t.subject
        .add_session(json!({"label": "tz2", "timestamp": "2020-07-01T12:00:00Z", "timezone": "America/New_York"}))
        .await
        .unwrap();
    let local = s.original_timestamp().unwrap().unwrap();
    assert_eq!(local.to_rfc3339(), "2020-07-01T08:00:00-04:00");
}
