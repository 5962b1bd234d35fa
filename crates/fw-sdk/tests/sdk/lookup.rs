//! get, the typed getters, lookup, resolve and search.

use fw_model::{ContainerType, ProjectKind, SearchReturnType, SessionKind};
use fw_sdk::{AnyContainer, Error};

use crate::common::{site, tree, unreachable_client};

#[tokio::test]
async fn get_types_the_container_by_its_kind() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let fw = &site.fw;
    let cases = [
        ("grp1", ContainerType::Group),
        (t.project.id(), ContainerType::Project),
        (t.subject.id(), ContainerType::Subject),
        (t.session.id(), ContainerType::Session),
        (t.acquisition.id(), ContainerType::Acquisition),
    ];
    for (id, kind) in cases {
        let node = fw.get(id).await.unwrap();
        assert_eq!((node.container_type(), node.id()), (kind, Some(id)));
    }
    let AnyContainer::Session(session) = fw.get(t.session.id()).await.unwrap() else {
        panic!("not a session");
    };
    assert_eq!(session.label.as_deref(), Some("ses1"));
    let project = fw
        .get(t.project.id())
        .await
        .unwrap()
        .into_kind::<ProjectKind>()
        .unwrap();
    assert_eq!(project.label.as_deref(), Some("Proj"));
    let err = fw
        .get(t.project.id())
        .await
        .unwrap()
        .into_kind::<SessionKind>()
        .unwrap_err();
    assert_eq!(
        (err.expected, &err.found),
        ("session", &fw_sdk::model::ContainerType::Project)
    );
    // With `?` in a function returning fw_sdk::Error, it is an unexpected reply.
    assert_eq!(
        fw_sdk::Error::from(err).to_string(),
        "unexpected reply: expected a session, found a project"
    );
}

#[tokio::test]
async fn typed_getters_and_missing_ids() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let fw = &site.fw;
    assert_eq!(
        fw.get_group("grp1").await.unwrap().label.as_deref(),
        Some("Group One")
    );
    assert_eq!(
        fw.get_project(t.project.id())
            .await
            .unwrap()
            .label
            .as_deref(),
        Some("Proj")
    );
    assert_eq!(
        fw.get_subject(t.subject.id())
            .await
            .unwrap()
            .code
            .as_deref(),
        Some("sub1")
    );
    assert_eq!(
        fw.get_session(t.session.id()).await.unwrap().age,
        Some(946728000)
    );
    assert_eq!(
        fw.get_acquisition(t.acquisition.id())
            .await
            .unwrap()
            .session
            .as_ref()
            .map(|s| s.as_str()),
        Some(t.session.id())
    );
    let missing = "650000000000000000000099";
    for err in [
        fw.get(missing).await.unwrap_err(),
        fw.get_project(missing).await.unwrap_err(),
        fw.get_session(missing).await.unwrap_err(),
        fw.get_analysis(missing).await.unwrap_err(),
        fw.get_group("nogroup").await.unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.status(), Some(404));
    }
    // A project id asked for as a session: the server's 404, not a mistyped value.
    assert!(
        fw.get_session(t.project.id())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn lookup_walks_labels() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let fw = &site.fw;
    let AnyContainer::Group(group) = fw.lookup("grp1").await.unwrap() else {
        panic!("not a group")
    };
    assert_eq!(group.id(), "grp1");
    let project = fw.lookup("grp1/Proj").await.unwrap();
    assert_eq!(project.id(), Some(t.project.id()));
    let acquisition = fw.lookup("grp1/Proj/sub1/ses1/T1w").await.unwrap();
    assert_eq!(
        (acquisition.container_type(), acquisition.id()),
        (ContainerType::Acquisition, Some(t.acquisition.id()))
    );
    let err = fw.lookup("grp1/Proj/nobody").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn resolve_gives_the_path_and_children() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let resolved = site.fw.resolve("grp1/Proj").await.unwrap();
    let kinds = |nodes: &[AnyContainer]| {
        nodes
            .iter()
            .map(|n| (n.container_type(), n.id().map(str::to_string)))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(&resolved.path),
        [
            (ContainerType::Group, Some("grp1".to_string())),
            (ContainerType::Project, Some(t.project.id().to_string()))
        ]
    );
    assert_eq!(
        kinds(&resolved.children),
        [(ContainerType::Subject, Some(t.subject.id().to_string()))]
    );
    assert!(
        site.fw
            .resolve("grp1/Nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn search_returns_typed_levels() {
    let site = site().await;
    let t = tree(&site.fw).await;
    let results = site
        .fw
        .search(
            "session.label = ses1 AND subject.sex = female",
            SearchReturnType::Session,
            Some(10),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.return_type, Some(SearchReturnType::Session));
    let session = result.session().unwrap().unwrap();
    assert_eq!(session.id(), t.session.id());
    // The level is a handle: reload fetches the whole session.
    assert_eq!(session.reload().await.unwrap().age, Some(946728000));
    assert_eq!(result.project().unwrap().unwrap().id(), t.project.id());
    assert_eq!(result.group().unwrap().unwrap().id(), "grp1");
    let acquisitions = site
        .fw
        .search(
            "acquisition.label = T1w",
            SearchReturnType::Acquisition,
            None,
        )
        .await
        .unwrap();
    assert_eq!(acquisitions.len(), 1);
    let acquisition = acquisitions[0].acquisition().unwrap().unwrap();
    assert_eq!(acquisition.id(), t.acquisition.id());
    assert_eq!(
        acquisitions[0].subject().unwrap().unwrap().id(),
        t.subject.id()
    );
    assert!(acquisitions[0].analysis().is_none());
    let response = acquisitions[0].clone().into_response();
    assert_eq!(
        response.parent.and_then(|p| p.r#type),
        Some(ContainerType::Session)
    );
    let none = site
        .fw
        .search("session.label = nothing", SearchReturnType::Session, None)
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn a_malformed_query_sends_nothing() {
    let fw = unreachable_client().await;
    let err = fw
        .search("session.age >> 3", SearchReturnType::Session, None)
        .await
        .unwrap_err();
    let Error::QuerySyntax { what, error, .. } = &err else {
        panic!("expected a syntax error, got {err:?}");
    };
    assert_eq!(
        (*what, error.message(), error.column()),
        ("FlyQL query", "unknown operator '>>'", 13)
    );
    let sent = fw
        .search("session.age > 3", SearchReturnType::Session, None)
        .await
        .unwrap_err();
    assert!(matches!(sent, Error::Transport(_)), "{sent:?}");
}

#[tokio::test]
async fn lookup_and_resolve_reach_files() {
    let site = site().await;
    let t = tree(&site.fw).await;
    // Uploads are part 2 of the SDK; the transport puts a file in place for this test.
    let file = site.dir.path().join("scan.nii.gz");
    std::fs::write(&file, b"hello world").unwrap();
    site.fw
        .transport()
        .upload(
            fw_transport::Upload::new(
                fw_transport::UploadTarget::new("acquisitions", t.acquisition.id()),
                fw_transport::UploadSource::Path(file),
            )
            .mode(fw_transport::UploadMode::Multipart),
        )
        .await
        .unwrap();
    let node = site
        .fw
        .lookup("grp1/Proj/sub1/ses1/T1w/files/scan.nii.gz")
        .await
        .unwrap();
    let AnyContainer::File(entry) = node else {
        panic!("not a file node: {node:?}");
    };
    assert_eq!(
        (entry.name.as_deref(), entry.size),
        (Some("scan.nii.gz"), Some(11))
    );
    let parent = entry.parent_ref.as_ref().unwrap();
    assert_eq!(
        parent.id.as_ref().map(|i| i.as_str()),
        Some(t.acquisition.id())
    );
    let resolved = site.fw.resolve("grp1/Proj/sub1/ses1/T1w").await.unwrap();
    assert_eq!(resolved.path.len(), 5);
    let children: Vec<_> = resolved
        .children
        .iter()
        .map(AnyContainer::container_type)
        .collect();
    assert_eq!(children, [ContainerType::File]);
}
