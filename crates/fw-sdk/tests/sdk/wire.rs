//! The requests the SDK sends, as fw-server recorded them: what each call sends
//! (docs/wire.md), and what it does not send.

use std::time::Duration;

use futures_util::StreamExt;
use fw_model::SearchReturnType;
use fw_sdk::{Client, Error};
use serde_json::{Value, json};

use crate::common::{site, tree};

/// `(method, path, query, body)` of recorded requests.
fn lines(requests: &[Value]) -> Vec<(String, String, Value, Value)> {
    requests
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
                r["query"].clone(),
                r["body"].clone(),
            )
        })
        .collect()
}

fn line(method: &str, path: &str, query: Value, body: Value) -> (String, String, Value, Value) {
    (method.to_string(), path.to_string(), query, body)
}

#[tokio::test]
async fn construction_sends_one_auth_status_or_nothing() {
    let site = site().await;
    assert_eq!(
        lines(&site.requests()),
        [line("GET", "/api/auth/status", json!({}), Value::Null)]
    );
    let key = site.running.admin_api_key();
    Client::builder(&key)
        .skip_auth_check(true)
        .build()
        .await
        .unwrap();
    assert_eq!(site.requests().len(), 1);
    let exhaustive = Client::builder(&key)
        .exhaustive(true)
        .build()
        .await
        .unwrap();
    exhaustive.get_version().await.unwrap();
    assert_eq!(
        lines(&site.requests_since(1)),
        [
            line(
                "GET",
                "/api/auth/status",
                json!({"exhaustive": "true"}),
                Value::Null
            ),
            line(
                "GET",
                "/api/version",
                json!({"exhaustive": "true"}),
                Value::Null
            ),
        ]
    );
}

#[tokio::test]
async fn a_malformed_filter_or_query_sends_nothing() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let before = site.requests().len();
    let err = t.project.subjects().find("label=~(").await.unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
    let err = site
        .fw
        .projects()
        .sort("label:up")
        .find_one("")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
    let err = site
        .fw
        .search("a >> b", SearchReturnType::Session, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
    assert_eq!(site.requests().len(), before);
    // The text goes out as written, not in fw-filter's canonical form.
    site.fw
        .subjects()
        .find_first("created>2018-10-31")
        .await
        .unwrap();
    assert_eq!(
        lines(&site.requests_since(before)),
        [line(
            "GET",
            "/api/subjects",
            json!({"filter": "created>2018-10-31", "limit": "1"}),
            Value::Null
        )]
    );
}

#[tokio::test]
async fn finder_requests() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let pid = t.project.id();
    let before = site.requests().len();
    site.fw.projects().all().await.unwrap();
    site.fw.projects().find_one("label=Proj").await.unwrap();
    t.project
        .subjects()
        .sort("label:asc")
        .include_all_info(true)
        .find("sex=female")
        .await
        .unwrap();
    site.fw.groups().limit(5).skip(1).find("").await.unwrap();
    assert_eq!(
        lines(&site.requests_since(before)),
        [
            line("GET", "/api/projects", json!({}), Value::Null),
            line(
                "GET",
                "/api/projects",
                json!({"filter": "label=Proj", "limit": "2"}),
                Value::Null
            ),
            line(
                "GET",
                &format!("/api/projects/{pid}/subjects"),
                json!({"filter": "sex=female", "sort": "label:asc", "include_all_info": "true", "limit": "250", "page": "1"}),
                Value::Null
            ),
            line(
                "GET",
                "/api/groups",
                json!({"limit": "5", "skip": "1"}),
                Value::Null
            ),
        ]
    );
}

#[tokio::test]
async fn iter_find_pages_by_keyset_and_stays_a_page_ahead() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let mut ids = vec![t.subject.id().to_string()];
    for label in ["s2", "s3", "s4", "s5"] {
        ids.push(
            t.project
                .add_subject(json!({"label": label}))
                .await
                .unwrap()
                .id()
                .to_string(),
        );
    }
    let path = format!("/api/projects/{}/subjects", t.project.id());
    let before = site.requests().len();
    let mut stream = t.project.subjects().limit(2).iter_find("").unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.id(), ids[0]);
    // The caller holds the first item; the next page is fetched meanwhile.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page = |after: Option<&str>| {
        let query = match after {
            Some(id) => json!({"limit": "2", "after_id": id}),
            None => json!({"limit": "2"}),
        };
        line("GET", &path, query, Value::Null)
    };
    assert_eq!(
        lines(&site.requests_since(before)),
        [page(None), page(Some(&ids[1]))]
    );
    let rest: Vec<String> = stream.map(|s| s.unwrap().id().to_string()).collect().await;
    assert_eq!(rest, ids[1..]);
    // The last page is short (1 of 2), so no empty page is asked for.
    assert_eq!(
        lines(&site.requests_since(before)),
        [page(None), page(Some(&ids[1])), page(Some(&ids[3]))]
    );
}

#[tokio::test]
async fn create_requests() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let before = site.requests().len();
    let project = t
        .group
        .add_project(json!({"label": "New Project"}))
        .await
        .unwrap();
    let session = t
        .subject
        .add_session(json!({"label": "ses2", "age": 31557600}))
        .await
        .unwrap();
    let acquisition = t
        .session
        .add_acquisition(json!({"label": "T2w"}))
        .await
        .unwrap();
    let analysis = t
        .session
        .add_analysis(json!({"label": "qa"}))
        .await
        .unwrap();
    site.fw
        .add_group(json!({"_id": "newgrp", "label": "New Group"}))
        .await
        .unwrap();
    assert_eq!(
        lines(&site.requests_since(before)),
        [
            line(
                "POST",
                "/api/projects",
                json!({}),
                json!({"label": "New Project", "group": "grp1"})
            ),
            line(
                "GET",
                &format!("/api/projects/{}", project.id()),
                json!({}),
                Value::Null
            ),
            line(
                "POST",
                "/api/sessions",
                json!({}),
                json!({"label": "ses2", "age": 31557600, "project": t.project.id(), "subject": {"_id": t.subject.id()}})
            ),
            line(
                "GET",
                &format!("/api/sessions/{}", session.id()),
                json!({}),
                Value::Null
            ),
            line(
                "POST",
                "/api/acquisitions",
                json!({}),
                json!({"label": "T2w", "session": t.session.id()})
            ),
            line(
                "GET",
                &format!("/api/acquisitions/{}", acquisition.id()),
                json!({}),
                Value::Null
            ),
            line(
                "POST",
                &format!("/api/sessions/{}/analyses", t.session.id()),
                json!({"job": "true"}),
                json!({"label": "qa"})
            ),
            line(
                "GET",
                &format!("/api/analyses/{}", analysis.id()),
                json!({"inflate_job": "true"}),
                Value::Null
            ),
            line(
                "POST",
                "/api/groups",
                json!({}),
                json!({"_id": "newgrp", "label": "New Group"})
            ),
        ]
    );
}

#[tokio::test]
async fn metadata_and_permission_requests() {
    let site = site().await;
    let t = tree(&site.fw).await;
    site.user_key("bob@x.org");
    let (acq, aid) = (&t.acquisition, t.acquisition.id());
    let before = site.requests().len();
    acq.update(json!({"label": "T1w-2"})).await.unwrap();
    acq.update_info(json!({"a": 1, "nested": {"b": 2}}))
        .await
        .unwrap();
    acq.replace_info(json!({"only": true})).await.unwrap();
    acq.delete_info(["a", "nested.b"]).await.unwrap();
    acq.add_tag("my tag/x").await.unwrap();
    acq.delete_tag("my tag/x").await.unwrap();
    acq.add_note("hello").await.unwrap();
    t.group
        .add_permission(json!({"_id": "bob@x.org", "access": "rw"}))
        .await
        .unwrap();
    t.group
        .update_permission("bob@x.org", json!({"access": "admin"}))
        .await
        .unwrap();
    t.group.delete_permission("bob@x.org").await.unwrap();
    site.fw
        .search("session.label = ses1", SearchReturnType::Session, Some(10))
        .await
        .unwrap();
    site.fw.lookup("grp1/Proj").await.unwrap();
    site.fw.get(aid).await.unwrap();
    let at = |rest: &str| format!("/api/acquisitions/{aid}{rest}");
    assert_eq!(
        lines(&site.requests_since(before)),
        [
            line("PUT", &at(""), json!({}), json!({"label": "T1w-2"})),
            line(
                "PATCH",
                &at("/info"),
                json!({}),
                json!({"set": {"a": 1, "nested": {"b": 2}}})
            ),
            line(
                "PATCH",
                &at("/info"),
                json!({}),
                json!({"replace": {"only": true}})
            ),
            line(
                "PATCH",
                &at("/info"),
                json!({}),
                json!({"delete": ["a", "nested.b"]})
            ),
            line(
                "POST",
                &at("/tags"),
                json!({}),
                json!({"value": "my tag/x"})
            ),
            line("DELETE", &at("/tags/my%20tag%2Fx"), json!({}), Value::Null),
            line("POST", &at("/notes"), json!({}), json!({"text": "hello"})),
            line(
                "POST",
                "/api/groups/grp1/permissions",
                json!({}),
                json!({"_id": "bob@x.org", "access": "rw"})
            ),
            line(
                "PUT",
                "/api/groups/grp1/permissions/bob%40x.org",
                json!({}),
                json!({"access": "admin"})
            ),
            line(
                "DELETE",
                "/api/groups/grp1/permissions/bob%40x.org",
                json!({}),
                Value::Null
            ),
            line(
                "POST",
                "/api/dataexplorer/search",
                json!({"simple": "true", "size": "10"}),
                json!({"structured_query": "session.label = ses1", "return_type": "session"})
            ),
            line(
                "POST",
                "/api/lookup",
                json!({}),
                json!({"path": ["grp1", "Proj"]})
            ),
            line(
                "GET",
                &format!("/api/containers/{aid}"),
                json!({}),
                Value::Null
            ),
        ]
    );
}
