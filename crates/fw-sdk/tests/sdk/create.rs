//! Creating containers, typed and from JSON; find-or-create, racing included.

use fw_model::{
    AcquisitionInput, AnalysisInput, GroupInput, ProjectInput, SessionInput, SubjectInput,
};
use fw_sdk::Error;
use serde_json::json;

use crate::common::{labels, site, tree};

#[tokio::test]
async fn add_group_returns_the_id_and_refuses_a_taken_one() {
    let site = site().await;
    let fw = &site.fw;
    let typed = GroupInput {
        id: Some("my_group".into()),
        label: Some("My Test Group".into()),
        ..Default::default()
    };
    let id = fw.add_group(typed.clone()).await.unwrap();
    assert_eq!(id.as_str(), "my_group");
    assert_eq!(
        fw.get_group("my_group").await.unwrap().label.as_deref(),
        Some("My Test Group")
    );
    let err = fw.add_group(typed).await.unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(err.status(), Some(409));
    assert_eq!(
        err.to_string(),
        "already exists: group my_group exists already"
    );
    // find_or_add_group: the 409 is the "found" case.
    let group = fw
        .find_or_add_group(json!({"_id": "my_group", "label": "x"}))
        .await
        .unwrap();
    assert_eq!(group.label.as_deref(), Some("My Test Group"));
    let new = fw.find_or_add_group(json!({"_id": "other"})).await.unwrap();
    assert_eq!(new.id(), "other");
    let err = fw
        .find_or_add_group(json!({"label": "no id"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test]
async fn parents_add_children_typed_and_from_json() {
    let site = site().await;
    let fw = &site.fw;
    fw.add_group(json!({"_id": "gg"})).await.unwrap();
    let group = fw.get_group("gg").await.unwrap();
    let project = group
        .add_project(ProjectInput {
            label: Some("P".into()),
            description: Some("d".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            project.label.as_deref(),
            project.description.as_deref(),
            project.group.as_ref().map(|g| g.as_str())
        ),
        (Some("P"), Some("d"), Some("gg"))
    );
    let typed = project
        .add_subject(SubjectInput {
            label: Some("Subject2".into()),
            firstname: Some("Lisa".into()),
            lastname: Some("Simpson".into()),
            sex: Some("female".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            typed.firstname.as_deref(),
            typed.sex.as_deref(),
            typed.project.as_ref().map(|p| p.as_str())
        ),
        (Some("Lisa"), Some("female"), Some(project.id()))
    );
    let from_json = project
        .add_subject(json!({"label": "Subject 01"}))
        .await
        .unwrap();
    assert_eq!(from_json.label.as_deref(), Some("Subject 01"));

    let session = typed
        .add_session(SessionInput {
            label: Some("Session1".into()),
            age: Some(20 * 365 * 24 * 60 * 60),
            weight: Some(140.0),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        session
            .subject
            .as_ref()
            .and_then(|s| s.id.as_ref())
            .map(|id| id.as_str()),
        Some(typed.id())
    );
    assert_eq!(
        (session.age, session.weight),
        (Some(630720000), Some(140.0))
    );
    assert_eq!(
        session.project.as_ref().map(|p| p.as_str()),
        Some(project.id())
    );

    // A session straight under the project names its subject by code.
    let direct = project
        .add_session(json!({"label": "ses-direct", "subject": {"code": "sub3"}}))
        .await
        .unwrap();
    assert_eq!(
        direct.subject.as_ref().and_then(|s| s.code.as_deref()),
        Some("sub3")
    );

    let acquisition = session
        .add_acquisition(AcquisitionInput {
            label: Some("Localizer".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        acquisition.session.as_ref().map(|s| s.as_str()),
        Some(session.id())
    );
    assert_eq!(
        labels(&session.acquisitions().find("").await.unwrap()),
        ["Localizer"]
    );

    let analysis = session
        .add_analysis(AnalysisInput {
            label: Some("qa".into()),
            description: Some("checks".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(analysis.label.as_deref(), Some("qa"));
    let parent = analysis.parent.as_ref().unwrap();
    assert_eq!(
        (
            parent.r#type.as_ref().map(|t| t.as_str()),
            parent.id.as_ref().map(|i| i.as_str())
        ),
        (Some("session"), Some(session.id()))
    );
    assert_eq!(
        site.fw
            .get_analysis(analysis.id())
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("checks")
    );
    assert_eq!(labels(&site.fw.analyses().find("").await.unwrap()), ["qa"]);
}

#[tokio::test]
async fn bad_create_bodies() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let err = t.project.add_subject(json!("sub9")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid argument: a metadata body must be a JSON object, not \"sub9\""
    );
    let err = t
        .project
        .add_subject(json!({"label": 5}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = t
        .session
        .add_acquisition(json!({"label": "x", "colour": "red"}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[tokio::test]
async fn find_or_add_finds_then_creates() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let found = t
        .project
        .find_or_add_subject(json!({"label": "sub1"}))
        .await
        .unwrap();
    assert_eq!(found.id(), t.subject.id());
    let made = t
        .project
        .find_or_add_subject(json!({"label": "sub2", "sex": "male"}))
        .await
        .unwrap();
    assert_eq!(made.sex.as_deref(), Some("male"));
    let again = t
        .project
        .find_or_add_subject(json!({"label": "sub2"}))
        .await
        .unwrap();
    assert_eq!(again.id(), made.id());
    assert_eq!(
        t.group
            .find_or_add_project(json!({"label": "Proj"}))
            .await
            .unwrap()
            .id(),
        t.project.id()
    );
    assert_eq!(
        t.subject
            .find_or_add_session(json!({"label": "ses1"}))
            .await
            .unwrap()
            .id(),
        t.session.id()
    );
    let ses2 = t
        .subject
        .find_or_add_session(json!({"label": "ses2"}))
        .await
        .unwrap();
    assert_eq!(
        ses2.subject
            .as_ref()
            .and_then(|s| s.id.as_ref())
            .map(|i| i.as_str()),
        Some(t.subject.id())
    );
    assert_eq!(
        t.session
            .find_or_add_acquisition(json!({"label": "T1w"}))
            .await
            .unwrap()
            .id(),
        t.acquisition.id()
    );
    // Labels with filter syntax in them are matched exactly.
    let odd = t
        .session
        .find_or_add_acquisition(json!({"label": "a,b=~c"}))
        .await
        .unwrap();
    assert_eq!(
        t.session
            .find_or_add_acquisition(json!({"label": "a,b=~c"}))
            .await
            .unwrap()
            .id(),
        odd.id()
    );
    let err = t
        .project
        .find_or_add_subject(json!({"sex": "male"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err:?}");
}

#[tokio::test]
async fn racing_find_or_add_ends_with_one_container() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let count = |method: &str, prefix: &str| {
        site.requests()
            .iter()
            .filter(|r| r["method"] == method && r["path"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    // Three calls interleaved on this runtime usually all miss, all create, and two lose;
    // rounds go on until one did, so the losing path is known to have run.
    let mut rounds = 0;
    while count("DELETE", "/api/subjects/") == 0 {
        assert!(rounds < 20, "no round raced");
        let label = format!("race{rounds}");
        let body = || json!({ "label": label });
        let (a, b, c) = tokio::join!(
            t.project.find_or_add_subject(body()),
            t.project.find_or_add_subject(body()),
            t.project.find_or_add_subject(body()),
        );
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        assert_eq!((a.id(), b.id()), (c.id(), c.id()), "round {rounds}");
        let all = t
            .project
            .subjects()
            .find(&format!("label={label}"))
            .await
            .unwrap();
        assert_eq!(all.len(), 1, "round {rounds}");
        assert_eq!(all[0].id(), a.id());
        rounds += 1;
    }
    // Every create that lost was deleted: sub1 and one subject per round remain.
    let (created, deleted) = (
        count("POST", "/api/subjects"),
        count("DELETE", "/api/subjects/"),
    );
    assert_eq!(created - deleted, 1 + rounds);
    assert_eq!(
        t.project.subjects().find("").await.unwrap().len(),
        1 + rounds
    );
}
