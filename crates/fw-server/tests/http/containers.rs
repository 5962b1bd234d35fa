//! The hierarchy: create, read, list (finders and paging), update, move and delete.

use std::collections::HashSet;

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn the_hierarchy_is_created_read_listed_updated_and_deleted() {
    let server = start().await;
    let (project, subject, session, acquisition) = hierarchy(&server).await;

    let status = server.get("/auth/status").await;
    assert_eq!(
        (
            status["user_id"].as_str(),
            status["user_is_admin"].as_bool()
        ),
        (Some("admin@local"), Some(true))
    );

    // The subject made for the session's new code: code and label in sync, parents right.
    let sub = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(
        (sub["code"].as_str(), sub["label"].as_str()),
        (Some("sub1"), Some("sub1"))
    );
    assert_eq!(sub["parents"], json!({"group": "grp1", "project": project}));
    let acq = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(
        acq["parents"],
        json!({"group": "grp1", "project": project, "subject": subject, "session": session})
    );
    assert!(acq["created"].as_str().unwrap().ends_with("+00:00"));

    // A second session with the same code reuses the subject.
    let again = server
        .create(
            "sessions",
            json!({"label": "ses2", "project": project, "subject": {"code": "sub1"}}),
        )
        .await;
    assert_eq!(
        server.get(&format!("/sessions/{again}")).await["parents"]["subject"],
        subject
    );

    // /containers/{id} says what it is.
    let node = server.get(&format!("/containers/{session}")).await;
    assert_eq!(node["container_type"], "session");
    assert_eq!(node["subject"]["code"], "sub1");

    // slim-containers and exclude-files (case-insensitive tokens).
    let slimmed: Value = server
        .request(reqwest::Method::GET, &format!("/sessions/{session}"))
        .header(
            "x-accept-feature",
            "Safe-Redirect,Slim-Containers,exclude-files",
        )
        .json_reply()
        .await;
    assert!(
        slimmed.get("analyses").is_none()
            && slimmed.get("files").is_none()
            && slimmed.get("label").is_some()
    );
    assert!(node.get("analyses").is_some() && node.get("files").is_some());
    let permission = server
        .get(&format!("/projects/{project}/permissions/admin@local"))
        .await;
    assert_eq!(permission["role_ids"], json!(["000000000000000000000a01"]));

    // Child lists.
    let lists = [
        ("/groups/grp1/projects", 1),
        (&*format!("/projects/{project}/subjects"), 1),
        (&*format!("/projects/{project}/sessions"), 2),
        (&*format!("/subjects/{subject}/sessions"), 2),
        (&*format!("/sessions/{session}/acquisitions"), 1),
    ];
    for (path, n) in lists {
        assert_eq!(
            server.get(path).await.as_array().unwrap().len(),
            n,
            "{path}"
        );
    }

    // Updates: PUT replies ModifiedResult; subject code follows the label.
    let reply = server
        .put(
            &format!("/subjects/{subject}"),
            json!({"label": "sub-01", "sex": "female", "info": {"handedness": "left"}}),
        )
        .await;
    assert_eq!(reply, json!({"modified": 1, "jobs_spawned": 0}));
    let sub = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(
        (sub["code"].as_str(), sub["sex"].as_str()),
        (Some("sub-01"), Some("female"))
    );
    assert_ne!(sub["modified"], sub["created"]);

    // Analyses on a container.
    let analysis = server
        .post(
            &format!("/sessions/{session}/analyses"),
            json!({"label": "fmriprep", "description": "d"}),
        )
        .await;
    let analysis = analysis["_id"].as_str().unwrap();
    let a = server.get(&format!("/analyses/{analysis}")).await;
    assert_eq!(a["parent"], json!({"type": "session", "id": session}));

    // Deleting the session takes its acquisitions and analyses with it.
    server.delete(&format!("/sessions/{session}")).await;
    for path in [
        format!("/sessions/{session}"),
        format!("/acquisitions/{acquisition}"),
        format!("/analyses/{analysis}"),
    ] {
        assert_eq!(server.status("GET", &path, None).await, 404, "{path}");
    }
}

#[tokio::test]
async fn paging_through_1000_subjects_has_no_gap_and_no_duplicate() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    for i in 0..999 {
        server
            .create(
                "subjects",
                json!({"label": format!("s{:04}", (i * 7919) % 1000), "project": project}),
            )
            .await;
    }
    let subjects = server.get("/subjects").await;
    let all: HashSet<&str> = ids(&subjects, "_id").into_iter().collect();
    assert_eq!(all.len(), 1000);

    // As the SDK's finders do it: keyset paging until an empty page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/subjects?limit=250&after_id={id}"),
            None => "/subjects?limit=250".to_string(),
        };
        let page = server.get(&path).await;
        let page = page.as_array().unwrap();
        if page.is_empty() {
            break;
        }
        after = page
            .last()
            .and_then(|s| s["_id"].as_str())
            .map(str::to_string);
        seen.extend(page.iter().map(|s| s["_id"].as_str().unwrap().to_string()));
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen.iter().map(String::as_str).collect::<HashSet<_>>(), all);

    // Sorted: pages numbered from 1.
    let mut labels = Vec::new();
    for page in 1.. {
        let reply = server
            .get(&format!("/subjects?sort=label:desc&limit=300&page={page}"))
            .await;
        let reply = reply.as_array().unwrap();
        if reply.is_empty() {
            break;
        }
        labels.extend(
            reply
                .iter()
                .map(|s| s["label"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(labels.len(), 1000);
    let mut sorted = labels.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(labels, sorted);
    assert_eq!(labels.iter().collect::<HashSet<_>>().len(), 1000);

    // The envelope, when asked for.
    let response = server
        .request(
            reqwest::Method::GET,
            "/subjects?limit=10&filter=label%3D~%5Es00",
        )
        .header("x-accept-feature", "Safe-Redirect,PAGINATION")
        .send()
        .await
        .unwrap();
    let page: Value = response.json().await.unwrap();
    // s0000…s0099, less s0081: 999 labels (i·7919 mod 1000) skip exactly one.
    assert_eq!(
        (page["count"].as_u64(), page["total"].as_u64()),
        (Some(10), Some(99))
    );
}

#[tokio::test]
async fn finder_results_equal_fw_filter_over_every_document() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    let other = server
        .create("projects", json!({"label": "Other", "group": "grp1"}))
        .await;
    let (sexes, sites) = (["male", "female"], ["a", "b", "c"]);
    for i in 0..60 {
        let target = if i % 3 == 0 { &other } else { &project };
        server
            .create("subjects", json!({"label": format!("sub-{i:02}"), "project": target, "sex": sexes[i % 2], "info": {"site": sites[i % 3], "score": i}}))
            .await;
    }
    let everything = server.get("/subjects").await;
    let filters = [
        format!("project={project}"),
        format!("parents.project={other},label=sub-03"),
        "label=sub-07".to_string(),
        "label=7".to_string(),
        "sex=female,info.score<30".to_string(),
        "info.site=|[a,c],label=~^sub-[0-2]".to_string(),
        format!("group=grp1,project!={project}"),
        "label>sub-50".to_string(),
        format!("_id={}", everything[5]["_id"].as_str().unwrap()),
        "info.score=null".to_string(),
        "info.score>=57".to_string(),
    ];
    for filter in filters {
        let parsed = fw_filter::parse_filter(&filter).unwrap();
        let expected: Vec<&Value> = everything
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| parsed.matches(d))
            .collect();
        let encoded: String = filter.bytes().map(|b| format!("%{b:02X}")).collect();
        let got = server.get(&format!("/subjects?filter={encoded}")).await;
        assert_eq!(
            got.as_array().unwrap().iter().collect::<Vec<_>>(),
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn containers_move_with_everything_below_them() {
    let server = start().await;
    let (p1, subject, session, acquisition) = hierarchy(&server).await;
    let p2 = server
        .create("projects", json!({"label": "Other", "group": "grp1"}))
        .await;
    let (status, _) = server
        .upload_as_admin(
            &format!("/acquisitions/{acquisition}/files"),
            "scan.nii.gz",
            b"v1",
            None,
        )
        .await;
    assert_eq!(status, 200);
    server
        .add_file(
            &format!("/acquisitions/{acquisition}/files"),
            "scan.nii.gz",
            b"v2",
        )
        .await;
    let analysis = server
        .post(
            &format!("/sessions/{session}/analyses"),
            json!({"label": "qc"}),
        )
        .await["_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A subject moves to another project with its session, acquisition, files and analysis.
    server
        .put(&format!("/subjects/{subject}"), json!({"project": p2}))
        .await;
    let sub = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(
        (sub["project"].as_str(), sub["parents"]["project"].as_str()),
        (Some(p2.as_str()), Some(p2.as_str()))
    );
    let ses = server.get(&format!("/sessions/{session}")).await;
    assert_eq!(ses["project"], json!(p2));
    assert_eq!(
        ses["parents"],
        json!({"group": "grp1", "project": p2, "subject": subject})
    );
    let acq = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(acq["parents"]["project"], json!(p2));
    assert_eq!(acq["files"][0]["parents"]["project"], json!(p2));
    assert_eq!(
        acq["files"][0]["parents"]["acquisition"],
        json!(acquisition)
    );
    let old = server
        .get(&format!(
            "/acquisitions/{acquisition}/files/scan.nii.gz?version=1"
        ))
        .await;
    assert_eq!(old, json!("v1"), "earlier versions still download");
    let file_id = acq["files"][0]["file_id"].as_str().unwrap();
    let v1 = server.get(&format!("/files/{file_id}?version=1")).await;
    assert_eq!(v1["parents"]["project"], json!(p2));
    let ana = server.get(&format!("/analyses/{analysis}")).await;
    assert_eq!(ana["parents"]["project"], json!(p2));
    let listed = |reply: Value| -> Vec<String> {
        reply
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        listed(server.get(&format!("/projects/{p2}/sessions")).await),
        [session.as_str()]
    );
    assert!(listed(server.get(&format!("/projects/{p1}/sessions")).await).is_empty());
    let found = server
        .post(
            "/lookup",
            json!({"path": ["grp1", "Other", "sub1", "ses1", "T1w"]}),
        )
        .await;
    assert_eq!(found["_id"], json!(acquisition));

    // A project holds one subject per code.
    let twin = server
        .create("subjects", json!({"label": "sub1", "project": p1}))
        .await;
    let (status, reply) = server
        .admin(
            "PUT",
            &format!("/subjects/{twin}"),
            Some(json!({"project": p2})),
        )
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        server.get(&format!("/subjects/{twin}")).await["project"],
        json!(p1)
    );

    // A session moves to a subject by id, by a new code, or to a project (same code there).
    server
        .put(&format!("/sessions/{session}"), json!({"subject": twin}))
        .await;
    let ses = server.get(&format!("/sessions/{session}")).await;
    assert_eq!(
        (ses["subject"]["_id"].as_str(), ses["project"].as_str()),
        (Some(twin.as_str()), Some(p1.as_str()))
    );
    server
        .put(
            &format!("/sessions/{session}"),
            json!({"subject": {"code": "sub9"}}),
        )
        .await;
    let ses = server.get(&format!("/sessions/{session}")).await;
    assert_eq!(
        (ses["subject"]["code"].as_str(), ses["project"].as_str()),
        (Some("sub9"), Some(p1.as_str()))
    );
    server
        .put(
            &format!("/subjects/{}", ses["subject"]["_id"].as_str().unwrap()),
            json!({"sex": "female"}),
        )
        .await;
    server
        .put(&format!("/sessions/{session}"), json!({"project": p2}))
        .await;
    let ses = server.get(&format!("/sessions/{session}")).await;
    assert_eq!(
        (
            ses["subject"]["code"].as_str(),
            ses["subject"]["sex"].as_str(),
            ses["project"].as_str()
        ),
        (Some("sub9"), Some("female"), Some(p2.as_str())),
        "the subject is made in the new project with its details"
    );
    assert_eq!(ses["parents"]["project"], json!(p2));
    let acq = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(acq["parents"]["subject"], ses["subject"]["_id"]);

    // An acquisition moves to another session; a project to another group.
    let other_session = server
        .create(
            "sessions",
            json!({"label": "ses2", "project": p1, "subject": {"code": "sub1"}}),
        )
        .await;
    server
        .put(
            &format!("/acquisitions/{acquisition}"),
            json!({"session": other_session}),
        )
        .await;
    let acq = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(
        (
            acq["parents"]["session"].as_str(),
            acq["parents"]["project"].as_str()
        ),
        (Some(other_session.as_str()), Some(p1.as_str()))
    );
    server.post("/groups", json!({"_id": "grp2"})).await;
    server
        .put(&format!("/projects/{p1}"), json!({"group": "grp2"}))
        .await;
    let acq = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(acq["parents"]["group"], json!("grp2"));
    assert_eq!(acq["files"][0]["parents"]["group"], json!("grp2"));
    server
        .expect("GET", "/projects?filter=group=grp2", None, 200)
        .await;

    // Moving needs read-write on the destination; a refused move changes nothing.
    let key = server.add_user("rw@x.org");
    server.grant(&p2, "rw@x.org", RW_ROLE).await;
    let (status, reply) = server
        .call(
            "PUT",
            &format!("/sessions/{session}"),
            &key,
            Some(json!({"project": p1})),
        )
        .await;
    assert_eq!(status, 404, "{reply}");
    assert_eq!(
        server.get(&format!("/sessions/{session}")).await["project"],
        json!(p2)
    );
    // A subject is not a session.
    server
        .expect(
            "PUT",
            &format!("/acquisitions/{acquisition}"),
            Some(json!({"session": subject})),
            404,
        )
        .await;
}

/// docs/wire.md §15.1: `PUT` merges objects recursively and replaces everything else,
/// as `subject.update(sex='male', info={'key1': 'val1'})` expects (issue 16).
#[tokio::test]
async fn put_merges_info_recursively_and_replaces_the_rest() {
    let server = start().await;
    let (_, subject, session, _) = hierarchy(&server).await;
    let path = format!("/subjects/{subject}");
    server
        .put(
            &path,
            json!({"info": {"key0": "val0", "a": {"b": 1, "c": 2}, "l": [1, 2]}}),
        )
        .await;
    server
        .put(&path, json!({"sex": "male", "info": {"key1": "val1", "a": {"b": 3}, "l": [3], "x.y": {"$z": 1}}}))
        .await;
    let doc = server.get(&path).await;
    assert_eq!(doc["sex"], "male");
    assert_eq!(
        doc["info"],
        json!({"key0": "val0", "key1": "val1", "a": {"b": 3, "c": 2}, "l": [3], "x_y": {"-z": 1}})
    );
    // An empty object replaces.
    server.put(&path, json!({"info": {"a": {}}})).await;
    let doc = server.get(&path).await;
    assert_eq!(doc["info"]["a"], json!({}));
    assert_eq!(doc["info"]["key1"], "val1");
    // Sessions alike.
    let path = format!("/sessions/{session}");
    server.put(&path, json!({"info": {"k": 1}})).await;
    server.put(&path, json!({"info": {"j": 2}})).await;
    assert_eq!(server.get(&path).await["info"], json!({"k": 1, "j": 2}));
}

/// docs/wire.md §15.6: a session update's `subject` fields other than `_id`, `code`
/// and `label` were dropped with 200 (issue 16); they are applied (`age` to the session,
/// the rest to its subject) or refused with a 400 naming them.
#[tokio::test]
async fn a_session_update_applies_its_subject_fields() {
    let server = start().await;
    let (_, subject, session, _) = hierarchy(&server).await;
    server
        .put(&format!("/sessions/{session}"), json!({"subject": {"_id": subject, "master_code": "M-1", "sex": "female", "age": 1000}}))
        .await;
    let subject_doc = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(
        (
            subject_doc["master_code"].as_str(),
            subject_doc["sex"].as_str()
        ),
        (Some("M-1"), Some("female"))
    );
    let session_doc = server.get(&format!("/sessions/{session}")).await;
    assert_eq!(session_doc["age"], 1000);
    assert_eq!(session_doc["subject"]["_id"], subject.as_str());
    // By code, the same subject: fields still applied.
    server
        .put(
            &format!("/sessions/{session}"),
            json!({"subject": {"code": "sub1", "master_code": "M-2"}}),
        )
        .await;
    assert_eq!(
        server.get(&format!("/subjects/{subject}")).await["master_code"],
        "M-2"
    );
    refused(
        server
            .admin(
                "PUT",
                &format!("/sessions/{session}"),
                Some(json!({"subject": {"_id": subject, "shoe_size": 9}})),
            )
            .await,
        400,
        "shoe_size",
    );
    server
        .expect(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"age": 5, "subject": {"age": 6}})),
            400,
        )
        .await;
}

/// docs/wire.md §15.2: datetimes were kept as the text sent, so a timestamp without an
/// offset came back without one and `sort=timestamp` ordered the strings (issue 16). They
/// are stored as UTC instants and sort as such, on create and update alike.
#[tokio::test]
async fn datetimes_are_stored_and_sorted_as_instants() {
    let server = start().await;
    let (project, _, session, _) = hierarchy(&server).await;
    let sent = [
        "2020-06-01T09:00:00+05:00",
        "2020-06-01T05:00:00Z",
        "2020-06-01T01:30:00-04:00",
    ];
    let mut ids = Vec::new();
    for (i, timestamp) in sent.iter().enumerate() {
        ids.push(
            server
                .create("sessions", json!({"label": format!("t{i}"), "project": project, "subject": {"code": "sub1"}, "timestamp": timestamp}))
                .await,
        );
    }
    let listed = server
        .get(&format!(
            "/projects/{project}/sessions?sort=timestamp:asc&filter=timestamp%3E2000-01-01"
        ))
        .await;
    let order: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["label"].as_str().unwrap(),
                s["timestamp"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("t0", "2020-06-01T04:00:00+00:00"),
            ("t1", "2020-06-01T05:00:00+00:00"),
            ("t2", "2020-06-01T05:30:00+00:00")
        ]
    );
    server
        .put(
            &format!("/sessions/{session}"),
            json!({"timestamp": "2021-03-04T05:06:07.5"}),
        )
        .await;
    assert_eq!(
        server.get(&format!("/sessions/{session}")).await["timestamp"],
        "2021-03-04T05:06:07.500000+00:00"
    );
    let (status, reply) = server
        .admin(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"timestamp": "soon"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["message"].as_str().unwrap().starts_with("timestamp"),
        "{reply}"
    );
    let created = server.get(&format!("/sessions/{}", ids[0])).await["created"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(created.ends_with("+00:00"), "{created}");
}
