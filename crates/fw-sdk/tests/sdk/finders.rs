//! Finders on the client and on containers: find, find_first, find_one, iter_find, all,
//! and their options; filters checked before sending.

use futures_util::TryStreamExt;
use fw_sdk::Error;
use serde_json::json;

use crate::common::{labels, site, tree, unreachable_client};

/// Five subjects s1..s5 in Proj, sexes alternating.
async fn five_subjects(site: &crate::common::Site) -> fw_sdk::Project {
    let t = tree(&site.fw).await;
    t.subject.delete().await.unwrap();
    for i in 1..=5 {
        let sex = if i % 2 == 1 { "female" } else { "male" };
        t.project
            .add_subject(json!({"label": format!("s{i}"), "sex": sex, "info": {"n": i}}))
            .await
            .unwrap();
    }
    t.project
}

#[tokio::test]
async fn client_and_container_finders() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let fw = &site.fw;
    assert_eq!(labels(&fw.groups().find("").await.unwrap()), ["Group One"]);
    assert_eq!(
        labels(&fw.projects().find("group=grp1").await.unwrap()),
        ["Proj"]
    );
    assert_eq!(labels(&fw.subjects().find("").await.unwrap()), ["sub1"]);
    assert_eq!(labels(&fw.sessions().find("").await.unwrap()), ["ses1"]);
    assert_eq!(
        labels(&fw.acquisitions().find("label=T1w").await.unwrap()),
        ["T1w"]
    );
    assert!(fw.analyses().find("").await.unwrap().is_empty());
    let users = fw.users().find("").await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].id.as_ref().unwrap().as_str(), crate::common::ADMIN);

    assert_eq!(
        labels(&t.group.projects().find("").await.unwrap()),
        ["Proj"]
    );
    assert_eq!(
        labels(&t.project.subjects().find("").await.unwrap()),
        ["sub1"]
    );
    assert_eq!(
        labels(&t.project.sessions().find("").await.unwrap()),
        ["ses1"]
    );
    assert_eq!(
        labels(&t.subject.sessions().find("").await.unwrap()),
        ["ses1"]
    );
    assert_eq!(
        labels(&t.session.acquisitions().find("").await.unwrap()),
        ["T1w"]
    );
    // Items are handles: they act on the server.
    let subject = t.project.subjects().find_one("label=sub1").await.unwrap();
    assert_eq!(subject.id(), t.subject.id());
    assert_eq!(
        subject.sessions().find("").await.unwrap()[0].id(),
        t.session.id()
    );
}

#[tokio::test]
async fn filters_sort_limit_skip_page() {
    let site = site().await;
    let project = five_subjects(&site).await;
    let subjects = || project.subjects();
    assert_eq!(
        labels(&subjects().find("sex=male").await.unwrap()),
        ["s2", "s4"]
    );
    assert_eq!(
        labels(
            &subjects()
                .filter("sex=female")
                .find("label=~s[23]")
                .await
                .unwrap()
        ),
        ["s3"]
    );
    assert_eq!(
        labels(&subjects().sort("label:desc").find("").await.unwrap()),
        ["s5", "s4", "s3", "s2", "s1"]
    );
    assert_eq!(
        labels(&subjects().limit(2).find("").await.unwrap()),
        ["s1", "s2"]
    );
    assert_eq!(
        labels(&subjects().sort("label:asc").skip(3).find("").await.unwrap()),
        ["s4", "s5"]
    );
    assert_eq!(
        labels(
            &subjects()
                .sort("label:asc")
                .limit(2)
                .page(2)
                .find("")
                .await
                .unwrap()
        ),
        ["s3", "s4"]
    );
    let s2 = subjects().find_one("label=s2").await.unwrap();
    assert_eq!(
        labels(&subjects().after_id(s2.id()).find("").await.unwrap()),
        ["s3", "s4", "s5"]
    );
    assert_eq!(labels(&subjects().all().await.unwrap()).len(), 5);
    assert_eq!(
        labels(&subjects().sort("label:desc").limit(1).all().await.unwrap()),
        ["s5"]
    );
}

#[tokio::test]
async fn find_first_and_find_one() {
    let site = site().await;
    let project = five_subjects(&site).await;
    let first = project
        .subjects()
        .sort("label:desc")
        .find_first("sex=female")
        .await
        .unwrap();
    assert_eq!(first.unwrap().label.as_deref(), Some("s5"));
    assert!(
        project
            .subjects()
            .find_first("sex=other")
            .await
            .unwrap()
            .is_none()
    );

    let one = project.subjects().find_one("label=s3").await.unwrap();
    assert_eq!(one.info.as_ref().unwrap()["n"], 3);

    let none = project
        .subjects()
        .find_one("label=nobody")
        .await
        .unwrap_err();
    assert!(none.is_not_found());
    assert_eq!(none.status(), None);
    assert_eq!(
        none.to_string(),
        format!(
            "no subjects found: nothing in /projects/{}/subjects matching \"label=nobody\"",
            project.id()
        )
    );

    let two = project.subjects().find_one("sex=male").await.unwrap_err();
    let Error::MoreThanOne { message } = &two else {
        panic!("expected MoreThanOne, got {two:?}");
    };
    assert_eq!(
        message,
        &format!(
            "more than one of the subjects in /projects/{}/subjects matching \"sex=male\"",
            project.id()
        )
    );
    assert!(!two.is_not_found());
}

#[tokio::test]
async fn iter_find_streams_every_page() {
    let site = site().await;
    let project = five_subjects(&site).await;
    // Pages of 2: s1 s2 | s3 s4 | s5.
    let stream = project.subjects().limit(2).iter_find("").unwrap();
    let all: Vec<_> = stream.try_collect().await.unwrap();
    assert_eq!(labels(&all), ["s1", "s2", "s3", "s4", "s5"]);
    let sorted: Vec<_> = project
        .subjects()
        .sort("label:desc")
        .limit(2)
        .iter_find("sex=female")
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(labels(&sorted), ["s5", "s3", "s1"]);
    // find pages the same way when no limit is given (250 at a time).
    assert_eq!(project.subjects().find("").await.unwrap().len(), 5);
    let err = project.subjects().skip(1).iter_find("").err().unwrap();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test]
async fn include_all_info_returns_info() {
    let site = site().await;
    let project = five_subjects(&site).await;
    let subjects = project
        .subjects()
        .include_all_info(true)
        .find("label=s4")
        .await
        .unwrap();
    assert_eq!(subjects[0].info.as_ref().unwrap()["n"], 4);
}

#[tokio::test]
async fn a_malformed_filter_sends_nothing() {
    // The same calls against a port where nothing listens: a transport error would mean a
    // request went out; a syntax error means the filter was refused first.
    let fw = unreachable_client().await;
    let err = fw.subjects().find("label=~(").await.unwrap_err();
    let Error::QuerySyntax { what, text, error } = &err else {
        panic!("expected a syntax error, got {err:?}");
    };
    assert_eq!(
        (*what, text.as_str(), error.offset()),
        ("filter", "label=~(", 7)
    );
    let shown = err.to_string();
    assert!(shown.contains("  | label=~(\n  |        ^"), "{shown}");
    // Every finding method checks first.
    for err in [
        fw.projects().find_first("label=|[]").await.unwrap_err(),
        fw.projects().find_one("a=1,,b=2").await.unwrap_err(),
        fw.projects().filter("foo").all().await.unwrap_err(),
        fw.projects()
            .sort("label:sideways")
            .find("")
            .await
            .unwrap_err(),
        fw.projects().iter_find("label!=~x").err().unwrap(),
    ] {
        assert!(matches!(err, Error::QuerySyntax { .. }), "{err:?}");
    }
    // A valid filter on the same client does try to send, and fails to connect.
    let sent = fw.subjects().find("label=x").await.unwrap_err();
    assert!(matches!(sent, Error::Transport(_)), "{sent:?}");
}

#[tokio::test]
async fn raw_filters_are_sent_unchecked() {
    let site = site().await;
    let project = five_subjects(&site).await;
    let found = project
        .subjects()
        .raw_filter("sex=male")
        .find("label=s4")
        .await
        .unwrap();
    assert_eq!(labels(&found), ["s4"]);
    // Unchecked: the server refuses what fw-filter would have caught.
    let err = project
        .subjects()
        .raw_filter("label=~(")
        .find("")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
}

#[tokio::test]
async fn a_finder_under_a_missing_parent_is_not_found() {
    let site = site().await;
    let t = tree(&site.fw).await;
    t.project.delete().await.unwrap();
    let err = t.project.subjects().find("").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
}

/// With one request at a time, a script that updates each item while iterating still
/// runs: the pager never holds the request slot while it waits for the caller.
#[tokio::test]
async fn iterating_and_updating_with_one_request_at_a_time() {
    let site = site().await;
    five_subjects(&site).await;
    let fw = fw_sdk::Client::builder(&site.running.admin_api_key())
        .request_concurrency(1)
        .build()
        .await
        .unwrap();
    let run = async {
        let mut stream = fw.subjects().limit(2).iter_find("").unwrap();
        let mut n = 0;
        while let Some(subject) = stream.try_next().await.unwrap() {
            subject.update(json!({"cohort": "Study"})).await.unwrap();
            n += 1;
        }
        n
    };
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(fw.subjects().find("cohort=Study").await.unwrap().len(), 5);
}
