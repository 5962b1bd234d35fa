//! fw-server over HTTP: a real server on 127.0.0.1:0 with a temporary data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::collections::HashSet;

mod common;

use common::*;
use fw_server::ServerConfig;
use serde_json::{Value, json};

#[tokio::test]
async fn the_hierarchy_is_created_read_listed_updated_and_deleted() {
    let server = start().await;
    let (project, subject, session, acquisition) = hierarchy(&server).await;

    let status = server.ok("GET", "/auth/status", None).await;
    assert_eq!(
        (
            status["user_id"].as_str(),
            status["user_is_admin"].as_bool()
        ),
        (Some("admin@local"), Some(true))
    );

    // The subject made for the session's new code: code and label in sync, parents right.
    let sub = server
        .ok("GET", &format!("/subjects/{subject}"), None)
        .await;
    assert_eq!(
        (sub["code"].as_str(), sub["label"].as_str()),
        (Some("sub1"), Some("sub1"))
    );
    assert_eq!(sub["parents"], json!({"group": "grp1", "project": project}));
    let acq = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
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
        server.ok("GET", &format!("/sessions/{again}"), None).await["parents"]["subject"],
        subject
    );

    // /containers/{id} says what it is.
    let node = server
        .ok("GET", &format!("/containers/{session}"), None)
        .await;
    assert_eq!(node["container_type"], "session");
    assert_eq!(node["subject"]["code"], "sub1");

    // slim-containers and exclude-files (case-insensitive tokens).
    let slimmed: Value = server
        .http
        .get(format!("{}/sessions/{session}", server.base))
        .header("Authorization", format!("scitran-user {ADMIN}"))
        .header(
            "x-accept-feature",
            "Safe-Redirect,Slim-Containers,exclude-files",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        slimmed.get("analyses").is_none()
            && slimmed.get("files").is_none()
            && slimmed.get("label").is_some()
    );
    assert!(node.get("analyses").is_some() && node.get("files").is_some());
    let permission = server
        .ok(
            "GET",
            &format!("/projects/{project}/permissions/admin@local"),
            None,
        )
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
            server.ok("GET", path, None).await.as_array().unwrap().len(),
            n,
            "{path}"
        );
    }

    // Updates: PUT replies ModifiedResult; subject code follows the label.
    let reply = server
        .ok(
            "PUT",
            &format!("/subjects/{subject}"),
            Some(json!({"label": "sub-01", "sex": "female", "info": {"handedness": "left"}})),
        )
        .await;
    assert_eq!(reply, json!({"modified": 1, "jobs_spawned": 0}));
    let sub = server
        .ok("GET", &format!("/subjects/{subject}"), None)
        .await;
    assert_eq!(
        (sub["code"].as_str(), sub["sex"].as_str()),
        (Some("sub-01"), Some("female"))
    );
    assert_ne!(sub["modified"], sub["created"]);

    // Analyses on a container.
    let analysis = server
        .ok(
            "POST",
            &format!("/sessions/{session}/analyses"),
            Some(json!({"label": "fmriprep", "description": "d"})),
        )
        .await;
    let analysis = analysis["_id"].as_str().unwrap();
    let a = server
        .ok("GET", &format!("/analyses/{analysis}"), None)
        .await;
    assert_eq!(a["parent"], json!({"type": "session", "id": session}));

    // Deleting the session takes its acquisitions and analyses with it.
    server
        .ok("DELETE", &format!("/sessions/{session}"), None)
        .await;
    for path in [
        format!("/sessions/{session}"),
        format!("/acquisitions/{acquisition}"),
        format!("/analyses/{analysis}"),
    ] {
        assert_eq!(
            server.call("GET", &path, ADMIN, None).await.0,
            404,
            "{path}"
        );
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
    let all: HashSet<String> = server
        .ok("GET", "/subjects", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 1000);

    // As the SDK's finders do it: keyset paging until an empty page.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/subjects?limit=250&after_id={id}"),
            None => "/subjects?limit=250".to_string(),
        };
        let page = server.ok("GET", &path, None).await;
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
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), all);

    // Sorted: pages numbered from 1.
    let mut labels = Vec::new();
    for page in 1.. {
        let reply = server
            .ok(
                "GET",
                &format!("/subjects?sort=label:desc&limit=300&page={page}"),
                None,
            )
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
        .http
        .get(format!(
            "{}/subjects?limit=10&filter=label%3D~%5Es00",
            server.base
        ))
        .header("Authorization", format!("scitran-user {ADMIN}"))
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
    let everything = server.ok("GET", "/subjects", None).await;
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
        let got = server
            .ok("GET", &format!("/subjects?filter={encoded}"), None)
            .await;
        assert_eq!(
            got.as_array().unwrap().iter().collect::<Vec<_>>(),
            expected,
            "{filter}"
        );
    }
}

/// (action, method, path, body, expected status for: site admin, admin, rw, ro, none)
type Check = (&'static str, &'static str, String, Option<Value>, [u16; 5]);

#[tokio::test]
async fn the_permission_matrix() {
    let server = start().await;
    let (project, subject, ..) = hierarchy(&server).await;
    let users = ["alice@x.org", "bob@x.org", "carol@x.org", "dave@x.org"];
    let keys: Vec<String> = users.iter().map(|u| server.add_user(u)).collect();
    for (user, role) in [
        (users[0], "000000000000000000000a01"),
        (users[1], "000000000000000000000a02"),
        (users[2], "000000000000000000000a03"),
    ] {
        server
            .ok(
                "POST",
                &format!("/projects/{project}/permissions"),
                Some(json!({"_id": user, "role_ids": [role]})),
            )
            .await;
    }
    let who = [
        ("site admin", ADMIN.to_string()),
        ("admin", keys[0].clone()),
        ("rw", keys[1].clone()),
        ("ro", keys[2].clone()),
        ("none", keys[3].clone()),
    ];
    // Expected statuses per caller: site admin, admin, rw, ro, none.
    let checks: Vec<Check> = vec![
        (
            "read",
            "GET",
            format!("/projects/{project}"),
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            "read below",
            "GET",
            format!("/subjects/{subject}"),
            None,
            [200, 200, 200, 200, 404],
        ),
        (
            "create",
            "POST",
            "/subjects".into(),
            Some(json!({"label": "new", "project": project})),
            [200, 200, 200, 403, 404],
        ),
        (
            "update",
            "PUT",
            format!("/projects/{project}"),
            Some(json!({"description": "d"})),
            [200, 200, 200, 403, 404],
        ),
        (
            "set permissions",
            "POST",
            format!("/projects/{project}/permissions"),
            Some(json!({"_id": "admin@local", "role_ids": []})),
            [409, 409, 403, 403, 404],
        ),
        (
            "delete",
            "DELETE",
            format!("/subjects/{subject}"),
            None,
            [200, 404, 404, 404, 404],
        ),
    ];
    for (action, method, path, body, expected) in checks {
        for ((name, key), want) in who.iter().zip(expected) {
            // Deletion goes last and once: later callers see the subject gone (404).
            let (status, reply) = server.call(method, &path, key, body.clone()).await;
            assert_eq!(status, want, "{action} by {name}: {reply}");
            if status >= 400 {
                assert_eq!(reply["status_code"], want, "errors are JSON: {reply}");
                assert!(reply["message"].as_str().is_some_and(|m| !m.is_empty()));
            }
        }
    }
    // Listing shows only projects with a permission.
    for ((name, key), visible) in who.iter().zip([1, 1, 1, 1, 0]) {
        let (_, projects) = server.call("GET", "/projects", key, None).await;
        assert_eq!(projects.as_array().unwrap().len(), visible, "{name}");
    }
    // A site admin sees everything with exhaustive=true, even without a permission.
    server
        .ok(
            "DELETE",
            &format!("/projects/{project}/permissions/admin@local"),
            None,
        )
        .await;
    assert_eq!(
        server
            .ok("GET", "/projects", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        server
            .ok("GET", "/projects?exhaustive=true", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Only site admins create groups and users.
    assert_eq!(
        server
            .call("POST", "/groups", &keys[0], Some(json!({"_id": "mine"})))
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/users",
                &keys[0],
                Some(json!({"_id": "eve@x.org"}))
            )
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .call("POST", "/users", ADMIN, Some(json!({"_id": "eve@x.org"})))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn bad_requests_get_json_4xx_and_change_nothing() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    let long = "x".repeat(300);
    let cases: Vec<(&str, String, Option<Value>, &str, u16)> = vec![
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": 5, "group": "grp1"})),
            "expected a string",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": "x", "group": "grp1", "bogus": 1})),
            "unknown field(s) in a project create body: bogus",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": long, "group": "grp1"})),
            "longer than 256",
            400,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!({"label": "x", "group": "nope"})),
            "group nope not found",
            404,
        ),
        (
            "POST",
            "/projects".into(),
            Some(json!([1, 2])),
            "must be a JSON object",
            400,
        ),
        (
            "POST",
            "/subjects".into(),
            Some(json!({"project": project})),
            "needs a `label` or a `code`",
            400,
        ),
        (
            "POST",
            "/sessions".into(),
            Some(json!({"label": "s", "project": project})),
            "needs a `subject`",
            400,
        ),
        (
            "POST",
            "/groups".into(),
            Some(json!({"_id": "Bad Id"})),
            "not a valid group id",
            400,
        ),
        (
            "POST",
            "/groups".into(),
            Some(json!({"_id": "grp1"})),
            "exists already",
            409,
        ),
        (
            "GET",
            "/projects/000000000000000000000000".into(),
            None,
            "not found",
            404,
        ),
        ("GET", format!("/subjects/{project}"), None, "subject", 404),
        (
            "GET",
            "/projects?filter=label%3D%3Dx".into(),
            None,
            "column 6",
            400,
        ),
        (
            "GET",
            "/projects?sort=label:up".into(),
            None,
            "unknown sort order",
            400,
        ),
        (
            "GET",
            "/projects?limit=ten".into(),
            None,
            "whole number",
            400,
        ),
        (
            "GET",
            "/projects?after_id=a&sort=label".into(),
            None,
            "after_id cannot be used with sort",
            400,
        ),
        ("GET", "/nothing".into(), None, "no such collection", 404),
        (
            "PUT",
            format!("/projects/{project}"),
            Some(json!({"group": "elsewhere"})),
            "group elsewhere not found",
            404,
        ),
    ];
    for (method, path, body, message, status) in cases {
        let (got, reply) = server.call(method, &path, ADMIN, body).await;
        assert_eq!(got, status, "{method} {path}: {reply}");
        assert!(
            reply["message"]
                .as_str()
                .unwrap_or_default()
                .contains(message),
            "{method} {path}: {reply}"
        );
        assert_eq!(reply["status_code"], status);
        assert!(reply["request_id"].is_string());
    }
    // Malformed JSON, and no key or a wrong key.
    let response = server
        .http
        .post(format!("{}/projects", server.base))
        .header("Authorization", format!("scitran-user {ADMIN}"))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let response = server
        .http
        .get(format!("{}/projects", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(server.call("GET", "/projects", "wrong", None).await.0, 401);
    // Nothing was written by the failed creates.
    assert_eq!(
        server
            .ok("GET", "/projects", None)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A DELETE with Content-Type: application/json and no body is fine.
    let (status, _) = server
        .call("DELETE", &format!("/projects/{project}"), ADMIN, None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn data_and_the_admin_key_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let first = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: path.clone(),
        admin_key: None,
        signed_urls: false,
    })
    .await
    .unwrap();
    let secret = first.admin_secret.clone();
    assert_eq!(secret.len(), 64);
    let base = format!("http://{}/api", first.addr);
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/groups"))
        .header("Authorization", format!("scitran-user {secret}"))
        .body(r#"{"_id": "kept"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["_id"], "kept");
    first.stop().await.unwrap();

    let second = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: path,
        admin_key: None,
        signed_urls: false,
    })
    .await
    .unwrap();
    assert_eq!(second.admin_secret, secret, "a restart keeps the admin key");
    let base = format!("http://{}/api", second.addr);
    let group: Value = http
        .get(format!("{base}/groups/kept"))
        .header("Authorization", format!("scitran-user {secret}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(group["_id"], "kept");
    assert!(
        second
            .admin_api_key()
            .ends_with(&format!(":__force_insecure:{secret}"))
    );
    second.stop().await.unwrap();
}

#[tokio::test]
async fn info_tags_notes_lookup_resolve_and_the_catalogue() {
    let server = start().await;
    let (project, subject, session, acquisition) = hierarchy(&server).await;

    // Info: set merges, delete takes dotted paths, replace replaces; keys are sanitized.
    let info = format!("/sessions/{session}/info");
    server
        .ok(
            "PATCH",
            &info,
            Some(json!({"set": {"a": 1, "nested": {"b": 2, "c": 3}, "x.y$": true}})),
        )
        .await;
    server
        .ok(
            "PATCH",
            &info,
            Some(json!({"delete": ["nested.b", "missing.key"]})),
        )
        .await;
    assert_eq!(
        server
            .ok("GET", &format!("/sessions/{session}"), None)
            .await["info"],
        json!({"a": 1, "nested": {"c": 3}, "x_y-": true})
    );
    server
        .ok("PATCH", &info, Some(json!({"replace": {"only": 1}})))
        .await;
    assert_eq!(
        server
            .ok("GET", &format!("/sessions/{session}"), None)
            .await["info"],
        json!({"only": 1})
    );
    assert_eq!(
        server
            .call("PATCH", &info, ADMIN, Some(json!({"merge": {}})))
            .await
            .0,
        400
    );

    // Tags: add (once), rename, delete; names that need encoding.
    let tags = format!("/acquisitions/{acquisition}/tags");
    assert_eq!(
        server
            .ok("POST", &tags, Some(json!({"value": "my tag/x"})))
            .await["modified"],
        1
    );
    assert_eq!(
        server
            .ok("POST", &tags, Some(json!({"value": "my tag/x"})))
            .await["modified"],
        0
    );
    assert_eq!(
        server
            .ok(
                "PUT",
                &format!("{tags}/my%20tag%2Fx"),
                Some(json!({"value": "qa"}))
            )
            .await,
        json!("qa")
    );
    assert_eq!(
        server
            .ok("GET", &format!("/acquisitions/{acquisition}"), None)
            .await["tags"],
        json!(["qa"])
    );
    assert_eq!(
        server.ok("DELETE", &format!("{tags}/qa"), None).await["deleted"],
        1
    );
    assert_eq!(
        server.ok("DELETE", &format!("{tags}/qa"), None).await["not_found"],
        1
    );
    assert_eq!(
        server
            .call(
                "PUT",
                &format!("{tags}/nope"),
                ADMIN,
                Some(json!({"value": "x"}))
            )
            .await
            .0,
        404
    );

    // Notes: attributed to the caller, with timestamps.
    let note = server
        .ok(
            "POST",
            &format!("/projects/{project}/notes"),
            Some(json!({"text": "hello"})),
        )
        .await;
    assert_eq!(
        (note["text"].as_str(), note["user"].as_str()),
        (Some("hello"), Some("admin@local"))
    );
    assert!(note["created"].is_string());
    let note_id = note["_id"].as_str().unwrap();
    assert_eq!(
        server
            .ok("GET", &format!("/projects/{project}"), None)
            .await["notes"][0]["_id"],
        note_id
    );
    assert_eq!(
        server
            .ok(
                "DELETE",
                &format!("/projects/{project}/notes/{note_id}"),
                None
            )
            .await["deleted"],
        1
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/groups/grp1/notes",
                ADMIN,
                Some(json!({"text": "x"}))
            )
            .await
            .0,
        404
    );

    // Lookup and resolve: labels, <id:…>, analyses.
    let node = server
        .ok(
            "POST",
            "/lookup",
            Some(json!({"path": ["grp1", "Proj", "sub1", "ses1", "T1w"]})),
        )
        .await;
    assert_eq!(
        (node["_id"].as_str(), node["container_type"].as_str()),
        (Some(acquisition.as_str()), Some("acquisition"))
    );
    let node = server
        .ok(
            "POST",
            "/lookup",
            Some(json!({"path": ["grp1", format!("<id:{project}>"), "sub1"]})),
        )
        .await;
    assert_eq!(node["_id"], subject);
    let analysis = server
        .ok(
            "POST",
            &format!("/sessions/{session}/analyses"),
            Some(json!({"label": "a1"})),
        )
        .await;
    let node = server
        .ok(
            "POST",
            "/lookup",
            Some(json!({"path": ["grp1", "Proj", "sub1", "ses1", "analyses", "a1"]})),
        )
        .await;
    assert_eq!(node["_id"], analysis["_id"]);
    let resolved = server
        .ok(
            "POST",
            "/resolve",
            Some(json!({"path": ["grp1", "Proj", "sub1", "ses1"]})),
        )
        .await;
    let types: Vec<&str> = resolved["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["container_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["group", "project", "subject", "session"]);
    let children: Vec<&str> = resolved["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["container_type"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["acquisition", "analysis"]);
    let (status, reply) = server
        .call(
            "POST",
            "/lookup",
            ADMIN,
            Some(json!({"path": ["grp1", "nope"]})),
        )
        .await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (404, Some("Not Found: grp1/nope"))
    );
    assert_eq!(
        server
            .call("POST", "/lookup", ADMIN, Some(json!({"path": []})))
            .await
            .0,
        400
    );
    // Someone without a permission cannot learn that the path exists.
    let key = server.add_user("mallory@x.org");
    assert_eq!(
        server
            .call(
                "POST",
                "/lookup",
                &key,
                Some(json!({"path": ["grp1", "Proj"]}))
            )
            .await
            .0,
        404
    );

    // Roles, modalities, users, keys, version, config.
    let roles = server.ok("GET", "/roles", None).await;
    let mut levels: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["default_flywheel_role"].as_str().unwrap())
        .collect();
    levels.sort();
    assert_eq!(levels, ["admin", "ro", "rw"]);
    let rw = roles
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["default_flywheel_role"] == "rw")
        .unwrap()["_id"]
        .clone();
    assert_eq!(
        server
            .ok("POST", "/groups/grp1/roles", Some(json!({"_id": rw})))
            .await["_id"],
        rw
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/groups/grp1/roles",
                ADMIN,
                Some(json!({"_id": "nope"}))
            )
            .await
            .0,
        404
    );
    let modalities: Vec<String> = server
        .ok("GET", "/modalities", None)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(modalities, ["MR", "CT", "PET"]);
    assert!(
        server.ok("GET", "/modalities/MR", None).await["classification"]["Measurement"]
            .as_array()
            .unwrap()
            .contains(&json!("T1"))
    );
    assert_eq!(
        server.call("GET", "/modalities/XR", ADMIN, None).await.0,
        404
    );
    assert_eq!(
        server.ok("GET", "/users/self", None).await["_id"],
        "admin@local"
    );
    assert_eq!(
        server.ok("GET", "/users/mallory@x.org", None).await["_id"],
        "mallory@x.org"
    );
    assert!(
        server
            .ok("GET", "/users", None)
            .await
            .as_array()
            .unwrap()
            .len()
            >= 2
    );
    let minted = server.ok("POST", "/users/self/key", None).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        server.call("GET", "/users/self", &minted, None).await.1["_id"],
        "admin@local"
    );
    assert_eq!(
        server.ok("GET", "/version", None).await["flywheel_release"],
        "23.0.0"
    );
    let config = server.ok("GET", "/config", None).await;
    assert_eq!(
        (
            config["signed_url"].as_bool(),
            config["features"]["signed_url"].as_bool()
        ),
        (Some(false), Some(false))
    );
    let (status, reply) = server.call("PATCH", "/version", ADMIN, None).await;
    assert_eq!((status, reply["status_code"].as_u64()), (405, Some(405)));
}

/// The binary as a user runs it: the two printed lines, `user add` against a running
/// server, and a clean exit on SIGTERM.
#[test]
fn the_binary_prints_its_key_adds_users_and_stops_on_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(binary)
        .args(["serve", "--create", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let listening = lines.next().unwrap().unwrap();
    let key_line = lines.next().unwrap().unwrap();
    let address = listening
        .strip_prefix("listening on http://")
        .unwrap()
        .to_string();
    let key = key_line.strip_prefix("api key: ").unwrap();
    assert_eq!(
        key,
        format!(
            "{address}:__force_insecure:{}",
            key.rsplit(':').next().unwrap()
        )
    );

    let out = Command::new(binary)
        .args([
            "user",
            "add",
            "--id",
            "zoe@x.org",
            "--firstname",
            "Zoe",
            "--key",
            "zoekey",
            "--data-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The whole key to use, with the address the running server recorded.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{address}:__force_insecure:zoekey")
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let me: Value = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{address}/api/users/self"))
            .header("Authorization", "scitran-user zoekey")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        (me["_id"].as_str(), me["firstname"].as_str()),
        (Some("zoe@x.org"), Some("Zoe"))
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "SIGTERM ends the server cleanly");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(
        logs.contains("GET /api/users/self 200"),
        "one log line per request: {logs}"
    );
}

#[tokio::test]
async fn structured_search_returns_distinct_containers_of_the_return_type() {
    let server = start().await;
    let (project, subject, session, acquisition) = hierarchy(&server).await;
    let second = server
        .create(
            "sessions",
            json!({"label": "ses2", "project": project, "subject": {"code": "sub2"}, "age": 100}),
        )
        .await;
    server
        .create(
            "acquisitions",
            json!({"label": "multi_echo", "session": second}),
        )
        .await;
    server
        .create(
            "acquisitions",
            json!({"label": "multi_echo", "session": second}),
        )
        .await;
    server
        .ok(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"age": 946728000})),
        )
        .await;

    let search = |query: &str, return_type: &str| json!({"structured_query": query, "return_type": return_type});
    let ids = |reply: &Value, level: &str| -> Vec<String> {
        reply
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[level]["_id"].as_str().unwrap().to_string())
            .collect()
    };
    // Subjects that have an acquisition named multi_echo: one, not two.
    let reply = server
        .ok(
            "POST",
            "/dataexplorer/search?simple=true",
            Some(search("acquisition.label = multi_echo", "subject")),
        )
        .await;
    assert_eq!(reply.as_array().unwrap().len(), 1);
    assert_eq!(reply[0]["subject"]["code"], "sub2");
    assert_eq!(
        reply[0]["parent"],
        json!({"_id": project, "type": "project"})
    );
    assert_eq!(reply[0]["return_type"], "subject");

    let reply = server
        .ok(
            "POST",
            "/dataexplorer/search",
            Some(search(
                "session.age >= 0 AND project.label = Proj",
                "session",
            )),
        )
        .await;
    assert_eq!(ids(&reply, "session").len(), 2);
    let reply = server
        .ok(
            "POST",
            "/dataexplorer/search",
            Some(search(
                "session.age > 1000 AND subject.code = sub1",
                "acquisition",
            )),
        )
        .await;
    assert_eq!(
        ids(&reply, "acquisition"),
        std::slice::from_ref(&acquisition)
    );
    assert_eq!(
        reply[0]["parent"],
        json!({"_id": session, "type": "session"})
    );
    assert_eq!(reply[0]["subject"]["_id"], subject);
    // Two conditions on one level must hold in the same document.
    let reply = server
        .ok(
            "POST",
            "/dataexplorer/search",
            Some(search(
                "acquisition.label = T1w AND acquisition.label = multi_echo",
                "session",
            )),
        )
        .await;
    assert_eq!(reply, json!([]));
    // size, from the query or the body.
    let reply = server
        .ok(
            "POST",
            "/dataexplorer/search?size=1",
            Some(search("project.label = Proj", "session")),
        )
        .await;
    assert_eq!(reply.as_array().unwrap().len(), 1);
    let (status, reply) = server
        .call(
            "POST",
            "/dataexplorer/search",
            ADMIN,
            Some(json!({"structured_query": "x EXISTS", "return_type": "session", "size": 10001})),
        )
        .await;
    assert_eq!((status, reply["status_code"].as_u64()), (400, Some(400)));
    // An invalid query is a 400 with the position.
    let (status, reply) = server
        .call(
            "POST",
            "/dataexplorer/search",
            ADMIN,
            Some(search("a\n >> b", "session")),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid structured query"),
        "{reply}"
    );
    assert!(
        reply["message"]
            .as_str()
            .unwrap()
            .contains("line 2, column 2"),
        "{reply}"
    );
    // Only what the caller may see.
    let key = server.add_user("nosy@x.org");
    let (_, reply) = server
        .call(
            "POST",
            "/dataexplorer/search",
            &key,
            Some(search("project.label = Proj", "session")),
        )
        .await;
    assert_eq!(reply, json!([]));
}

#[tokio::test]
async fn files_upload_version_download_and_refuse_what_they_must() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");

    let (status, reply) = upload(
        &server,
        &files,
        ADMIN,
        "hello.txt",
        b"hello world",
        Some(json!({"info": {"x": 1}, "modality": "MR"})),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    let first = &reply[0];
    assert_eq!(
        (
            first["name"].as_str(),
            first["type"].as_str(),
            first["size"].as_u64()
        ),
        (Some("hello.txt"), Some("text"), Some(11))
    );
    assert_eq!(
        (
            first["version"].as_u64(),
            first["info"]["x"].as_u64(),
            first["modality"].as_str()
        ),
        (Some(1), Some(1), Some("MR"))
    );
    let hash = first["hash"].as_str().unwrap();
    assert!(
        hash.starts_with("v0-sha384-") && hash.len() == 10 + 96,
        "{hash}"
    );
    let blob = server
        ._dir
        .path()
        .join("blobs")
        .join(&hash[10..12])
        .join(&hash[10..]);
    assert_eq!(std::fs::read(&blob).unwrap(), b"hello world");

    // The same name again: a new version, same file_id, new _id; the old one stays readable.
    let (_, reply) = upload(&server, &files, ADMIN, "hello.txt", b"hello again!", None).await;
    let second = &reply[0];
    assert_eq!(second["version"], 2);
    assert_eq!(second["file_id"], first["file_id"]);
    assert_ne!(second["_id"], first["_id"]);
    assert!(second["replaced"].is_string());
    let listed = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(listed["files"].as_array().unwrap().len(), 1);

    let get = |path: String, headers: Vec<(&'static str, String)>| {
        let mut request = server.http.get(format!("{}{path}", server.base));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let range = response
                .headers()
                .get("content-range")
                .map(|v| v.to_str().unwrap().to_string());
            (status, range, response.bytes().await.unwrap().to_vec())
        }
    };
    let auth = || vec![("Authorization", format!("scitran-user {ADMIN}"))];
    assert_eq!(
        get(format!("{files}/hello.txt"), auth()).await.2,
        b"hello again!"
    );
    assert_eq!(
        get(format!("{files}/hello.txt?version=1"), auth()).await.2,
        b"hello world"
    );
    assert_eq!(
        get(format!("{files}/hello.txt?version=9"), auth()).await.0,
        404
    );
    let mut ranged = auth();
    ranged.push(("Range", "bytes=6-".to_string()));
    assert_eq!(
        get(format!("{files}/hello.txt"), ranged).await,
        (206, Some("bytes 6-11/12".to_string()), b"again!".to_vec())
    );
    let mut bad_range = auth();
    bad_range.push(("Range", "bytes=50-60".to_string()));
    assert_eq!(get(format!("{files}/hello.txt"), bad_range).await.0, 416);

    // Tickets: made with a key, used without one, only for that file.
    let ticket = server
        .ok("GET", &format!("{files}/hello.txt?ticket="), None)
        .await;
    let ticket = ticket["ticket"].as_str().unwrap();
    assert_eq!(
        get(format!("{files}/hello.txt?ticket={ticket}"), vec![])
            .await
            .2,
        b"hello again!"
    );
    assert_eq!(
        get(format!("{files}/other.txt?ticket={ticket}"), vec![])
            .await
            .0,
        401
    );
    assert_eq!(
        get(format!("{files}/hello.txt?ticket=forged"), vec![])
            .await
            .0,
        401
    );
    assert_eq!(get(format!("{files}/hello.txt"), vec![]).await.0, 401);

    // Large files: no body limit on uploads (extractors default to 2 MB).
    let large: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let (status, reply) = upload(&server, &files, ADMIN, "large.bin", &large, None).await;
    assert_eq!(
        (status, reply[0]["size"].as_u64()),
        (200, Some(5_000_000)),
        "{reply}"
    );
    assert_eq!(get(format!("{files}/large.bin"), auth()).await.2, large);
    // JSON bodies keep a limit: a 20 MB info update is refused, not read.
    let huge = json!({"set": {"blob": "x".repeat(20 << 20)}});
    assert_eq!(
        server
            .call(
                "PATCH",
                &format!("/acquisitions/{acquisition}/info"),
                ADMIN,
                Some(huge)
            )
            .await
            .0,
        400
    );

    // Any Unicode name; never one that could escape, through the form or the path.
    let (status, _) = upload(&server, &files, ADMIN, "scan é #1.nii.gz", b"x", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(format!("{files}/scan%20%C3%A9%20%231.nii.gz"), auth())
            .await
            .2,
        b"x"
    );
    for name in ["../escape", "a/b", "..", ""] {
        let (status, reply) = upload(&server, &files, ADMIN, name, b"x", None).await;
        assert_eq!(status, 400, "{name:?}: {reply}");
    }
    // (`%2E%2E` would be normalized away by the client itself; a NUL is not.)
    assert_eq!(get(format!("{files}/a%00b"), auth()).await.0, 400);

    // Read-only users download but do not upload; strangers see nothing.
    let ro = server.add_user("ro@x.org");
    server.grant(&project, "ro@x.org", RO_ROLE).await;
    assert_eq!(
        upload(&server, &files, &ro, "x.txt", b"x", None).await.0,
        403
    );
    assert_eq!(
        get(
            format!("{files}/hello.txt"),
            vec![("Authorization", format!("scitran-user {ro}"))]
        )
        .await
        .2,
        b"hello again!"
    );
    let stranger = server.add_user("who@x.org");
    assert_eq!(
        upload(&server, &files, &stranger, "x.txt", b"x", None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn an_upload_cut_halfway_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let server = start().await;
    let (.., acquisition) = hierarchy(&server).await;
    let address = server
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/api")
        .to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/acquisitions/{acquisition}/files HTTP/1.1\r\nHost: {address}\r\nAuthorization: scitran-user {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 10000000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![7u8; 300_000]).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(stream); // the connection is cut
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let doc = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(doc["files"], json!([]), "no file entry");
    let tmp: Vec<_> = std::fs::read_dir(server._dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "no partial upload left: {tmp:?}");
    let blobs = walk(&server._dir.path().join("blobs"));
    assert!(blobs.is_empty(), "no blob: {blobs:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test]
async fn file_metadata_classification_and_deletion() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    upload(
        &server,
        &files,
        ADMIN,
        "t1.nii.gz",
        b"nifti",
        Some(json!({"modality": "MR"})),
    )
    .await;
    let file = format!("{files}/t1.nii.gz");
    let current = || async {
        server
            .ok("GET", &format!("/acquisitions/{acquisition}"), None)
            .await["files"][0]
            .clone()
    };

    server
        .ok(
            "PATCH",
            &format!("{file}/info"),
            Some(json!({"set": {"a.b": 1, "c": 2}})),
        )
        .await;
    server
        .ok(
            "PATCH",
            &format!("{file}/info"),
            Some(json!({"delete": ["c"]})),
        )
        .await;
    assert_eq!(current().await["info"], json!({"a_b": 1}));

    let classification = format!("{file}/classification");
    server
        .ok(
            "PATCH",
            &classification,
            Some(json!({"add": {"Measurement": ["T1", "T1"], "Custom": ["x"]}})),
        )
        .await;
    assert_eq!(
        current().await["classification"],
        json!({"Custom": ["x"], "Measurement": ["T1"]})
    );
    let refusals = [
        (
            json!({"add": {"Measurement": ["Banana"]}}),
            "not a Measurement value of MR",
        ),
        (json!({"add": {"Flavour": ["x"]}}), "MR has no aspect"),
        (
            json!({"modality": "CT", "add": {}}),
            "only `replace` may change the modality",
        ),
        (json!({"bogus": {}}), "only"),
    ];
    for (body, message) in refusals {
        let (status, reply) = server
            .call("PATCH", &classification, ADMIN, Some(body))
            .await;
        assert_eq!(status, 400, "{reply}");
        assert!(
            reply["message"].as_str().unwrap().contains(message),
            "{reply}"
        );
    }
    server
        .ok(
            "PATCH",
            &classification,
            Some(json!({"replace": {"Scan Type": ["Standard"]}, "modality": "CT"})),
        )
        .await;
    assert_eq!(current().await["modality"], "CT");
    server
        .ok("PUT", &file, Some(json!({"modality": "PET"})))
        .await;
    assert_eq!(current().await["classification"], json!({}));
    assert_eq!(
        server
            .call("PUT", &file, ADMIN, Some(json!({"name": "renamed"})))
            .await
            .0,
        400
    );

    // Deleting needs admin on the project.
    let rw = server.add_user("rw@x.org");
    server.grant(&project, "rw@x.org", RW_ROLE).await;
    assert_eq!(server.call("DELETE", &file, &rw, None).await.0, 403);
    assert_eq!(server.ok("DELETE", &file, None).await["deleted"], 1);
    assert_eq!(server.call("DELETE", &file, ADMIN, None).await.0, 404);
    assert_eq!(current().await, Value::Null);
}

/// SIGKILL during an upload, then a restart: the database passes its integrity check, no
/// partial entry or blob is visible, and the earlier file is intact.
#[test]
fn a_server_killed_during_an_upload_loses_nothing_it_had() {
    use std::io::{BufRead, Write};
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let serve = || {
        let mut child = Command::new(binary)
            .args([
                "serve",
                "--create",
                "--addr",
                "127.0.0.1:0",
                "--admin-key",
                ADMIN,
                "--data-dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let address = lines
            .next()
            .unwrap()
            .unwrap()
            .trim_start_matches("listening on http://")
            .to_string();
        (child, address)
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mut child, address) = serve();
    let server = TestServer {
        _running: None,
        base: format!("http://{address}/api"),
        http: reqwest::Client::new(),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (.., acquisition) = runtime.block_on(hierarchy(&server));
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, _) = runtime.block_on(upload(
        &server,
        &files,
        ADMIN,
        "kept.txt",
        b"precious",
        None,
    ));
    assert_eq!(status, 200);

    // Half an upload, then SIGKILL.
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /api{files} HTTP/1.1\r\nHost: {address}\r\nAuthorization: scitran-user {ADMIN}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 50000000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"kept.txt\"\r\n\r\n"
    )
    .unwrap();
    stream.write_all(&vec![1u8; 2_000_000]).unwrap();
    stream.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    drop(stream);

    // Restart on the same directory.
    let (mut child, address) = serve();
    let server = TestServer {
        base: format!("http://{address}/api"),
        ..server
    };
    let doc = runtime.block_on(server.ok("GET", &format!("/acquisitions/{acquisition}"), None));
    let names: Vec<(&str, u64)> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["version"].as_u64().unwrap()))
        .collect();
    assert_eq!(names, [("kept.txt", 1)], "no partial version");
    let bytes = runtime.block_on(async {
        server
            .http
            .get(format!("{}{files}/kept.txt", server.base))
            .header("Authorization", format!("scitran-user {ADMIN}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(&bytes[..], b"precious");
    assert!(
        std::fs::read_dir(dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "the restart cleared tmp/"
    );
    assert_eq!(
        walk(&dir.path().join("blobs")).len(),
        1,
        "only the kept file's blob"
    );
    let connection = rusqlite::Connection::open(dir.path().join("fw.sqlite")).unwrap();
    let check: String = connection
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[tokio::test]
async fn files_by_id_tags_and_the_files_finder() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    for name in ["a.txt", "b.csv", "c.nii.gz"] {
        upload(
            &server,
            &format!("/acquisitions/{acquisition}/files"),
            ADMIN,
            name,
            name.as_bytes(),
            None,
        )
        .await;
    }
    let page = server.ok("GET", "/files?limit=2", None).await;
    assert_eq!(
        (page["count"].as_u64(), page["total"].as_u64()),
        (Some(2), Some(3))
    );
    let last = page["results"][1]["file_id"].as_str().unwrap().to_string();
    let rest = server
        .ok("GET", &format!("/files?limit=2&after_id={last}"), None)
        .await;
    assert_eq!(
        (rest["count"].as_u64(), rest["total"].as_u64()),
        (Some(1), Some(1))
    );
    let mut names: Vec<String> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["results"].as_array().unwrap())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a.txt", "b.csv", "c.nii.gz"],
        "no gap, no duplicate"
    );
    let nifti = server.ok("GET", "/files?filter=type%3Dnifti", None).await;
    assert_eq!(nifti["results"][0]["name"], "c.nii.gz");
    assert_eq!(
        nifti["results"][0]["parent_ref"],
        json!({"type": "acquisition", "id": acquisition})
    );

    let file_id = nifti["results"][0]["file_id"].as_str().unwrap().to_string();
    assert_eq!(
        server
            .ok(
                "PATCH",
                &format!("/files/{file_id}/tags"),
                Some(json!(["qa", "t1"]))
            )
            .await,
        json!(["qa", "t1"])
    );
    assert_eq!(
        server
            .ok(
                "PUT",
                &format!("/files/{file_id}/tags"),
                Some(json!(["t1"]))
            )
            .await["modified"],
        1
    );
    assert_eq!(
        server.ok("GET", &format!("/files/{file_id}"), None).await["tags"],
        json!(["t1"])
    );
    assert_eq!(
        server
            .call(
                "PATCH",
                &format!("/files/{file_id}/tags"),
                ADMIN,
                Some(json!("qa"))
            )
            .await
            .0,
        400
    );

    // Others see no files; deleting the session removes its files from the index.
    let key = server.add_user("x@x.org");
    assert_eq!(server.call("GET", "/files", &key, None).await.1["total"], 0);
    assert_eq!(
        server
            .call("GET", &format!("/files/{file_id}"), &key, None)
            .await
            .0,
        404
    );
    server
        .ok("DELETE", &format!("/sessions/{session}"), None)
        .await;
    assert_eq!(server.ok("GET", "/files", None).await["total"], 0);
    assert_eq!(
        server
            .call("GET", &format!("/files/{file_id}"), ADMIN, None)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn signed_url_tickets_need_their_ticket_and_leave_nothing_until_closed() {
    let dir = tempfile::tempdir().unwrap();
    let running = fw_server::start(ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().to_path_buf(),
        admin_key: Some(ADMIN.into()),
        signed_urls: true,
    })
    .await
    .unwrap();
    let server = TestServer {
        base: format!("http://{}/api", running.addr),
        _running: Some(running),
        http: reqwest::Client::new(),
        _dir: dir,
    };
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    assert_eq!(
        server.ok("GET", "/config", None).await["features"]["signed_url"],
        true
    );

    let opened = server
        .ok(
            "POST",
            &format!("{files}?ticket="),
            Some(json!({"metadata": {"name": "a.txt", "size": 5}, "filenames": ["a.txt"]})),
        )
        .await;
    let ticket = opened["ticket"].as_str().unwrap().to_string();
    let url = opened["urls"]["a.txt"].as_str().unwrap().to_string();
    assert!(url.ends_with(&format!("/storage/{ticket}/a.txt")), "{url}");
    let put = |url: String| {
        let http = server.http.clone();
        async move {
            http.put(url)
                .body("hello")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The storage URL needs its ticket, for the names it was opened for.
    let storage = url.trim_end_matches(&format!("{ticket}/a.txt")).to_string();
    assert_eq!(put(format!("{storage}forged/a.txt")).await, 403);
    assert_eq!(put(format!("{storage}{ticket}/other.txt")).await, 403);
    assert_eq!(put(url.clone()).await, 200);

    // Until the ticket closes, the file does not exist for anyone.
    let doc = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(doc["files"], json!([]));
    assert!(walk(&server._dir.path().join("blobs")).is_empty());

    // Closing with someone else's ticket, or one never opened, fails; the real one works.
    assert_eq!(
        server
            .call("POST", &format!("{files}?ticket=nope"), ADMIN, None)
            .await
            .0,
        404
    );
    let closed = server
        .ok("POST", &format!("{files}?ticket={ticket}"), None)
        .await;
    assert_eq!(
        (closed[0]["name"].as_str(), closed[0]["size"].as_u64()),
        (Some("a.txt"), Some(5))
    );
    assert_eq!(
        server
            .call("POST", &format!("{files}?ticket={ticket}"), ADMIN, None)
            .await
            .0,
        404,
        "a ticket closes once"
    );
    assert!(
        std::fs::read_dir(server._dir.path().join("tmp"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[tokio::test]
async fn containers_move_with_everything_below_them() {
    let server = start().await;
    let (p1, subject, session, acquisition) = hierarchy(&server).await;
    let p2 = server
        .create("projects", json!({"label": "Other", "group": "grp1"}))
        .await;
    let (status, _) = upload(
        &server,
        &format!("/acquisitions/{acquisition}/files"),
        ADMIN,
        "scan.nii.gz",
        b"v1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    upload(
        &server,
        &format!("/acquisitions/{acquisition}/files"),
        ADMIN,
        "scan.nii.gz",
        b"v2",
        None,
    )
    .await;
    let analysis = server
        .ok(
            "POST",
            &format!("/sessions/{session}/analyses"),
            Some(json!({"label": "qc"})),
        )
        .await["_id"]
        .as_str()
        .unwrap()
        .to_string();

    // A subject moves to another project with its session, acquisition, files and analysis.
    server
        .ok(
            "PUT",
            &format!("/subjects/{subject}"),
            Some(json!({"project": p2})),
        )
        .await;
    let sub = server
        .ok("GET", &format!("/subjects/{subject}"), None)
        .await;
    assert_eq!(
        (sub["project"].as_str(), sub["parents"]["project"].as_str()),
        (Some(p2.as_str()), Some(p2.as_str()))
    );
    let ses = server
        .ok("GET", &format!("/sessions/{session}"), None)
        .await;
    assert_eq!(ses["project"], json!(p2));
    assert_eq!(
        ses["parents"],
        json!({"group": "grp1", "project": p2, "subject": subject})
    );
    let acq = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(acq["parents"]["project"], json!(p2));
    assert_eq!(acq["files"][0]["parents"]["project"], json!(p2));
    assert_eq!(
        acq["files"][0]["parents"]["acquisition"],
        json!(acquisition)
    );
    let old = server
        .ok(
            "GET",
            &format!("/acquisitions/{acquisition}/files/scan.nii.gz?version=1"),
            None,
        )
        .await;
    assert_eq!(old, json!("v1"), "earlier versions still download");
    let file_id = acq["files"][0]["file_id"].as_str().unwrap();
    let v1 = server
        .ok("GET", &format!("/files/{file_id}?version=1"), None)
        .await;
    assert_eq!(v1["parents"]["project"], json!(p2));
    let ana = server
        .ok("GET", &format!("/analyses/{analysis}"), None)
        .await;
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
        listed(
            server
                .ok("GET", &format!("/projects/{p2}/sessions"), None)
                .await
        ),
        [session.as_str()]
    );
    assert!(
        listed(
            server
                .ok("GET", &format!("/projects/{p1}/sessions"), None)
                .await
        )
        .is_empty()
    );
    let found = server
        .ok(
            "POST",
            "/lookup",
            Some(json!({"path": ["grp1", "Other", "sub1", "ses1", "T1w"]})),
        )
        .await;
    assert_eq!(found["_id"], json!(acquisition));

    // A project holds one subject per code.
    let twin = server
        .create("subjects", json!({"label": "sub1", "project": p1}))
        .await;
    let (status, reply) = server
        .call(
            "PUT",
            &format!("/subjects/{twin}"),
            ADMIN,
            Some(json!({"project": p2})),
        )
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        server.ok("GET", &format!("/subjects/{twin}"), None).await["project"],
        json!(p1)
    );

    // A session moves to a subject by id, by a new code, or to a project (same code there).
    server
        .ok(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"subject": twin})),
        )
        .await;
    let ses = server
        .ok("GET", &format!("/sessions/{session}"), None)
        .await;
    assert_eq!(
        (ses["subject"]["_id"].as_str(), ses["project"].as_str()),
        (Some(twin.as_str()), Some(p1.as_str()))
    );
    server
        .ok(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"subject": {"code": "sub9"}})),
        )
        .await;
    let ses = server
        .ok("GET", &format!("/sessions/{session}"), None)
        .await;
    assert_eq!(
        (ses["subject"]["code"].as_str(), ses["project"].as_str()),
        (Some("sub9"), Some(p1.as_str()))
    );
    server
        .ok(
            "PUT",
            &format!("/subjects/{}", ses["subject"]["_id"].as_str().unwrap()),
            Some(json!({"sex": "female"})),
        )
        .await;
    server
        .ok(
            "PUT",
            &format!("/sessions/{session}"),
            Some(json!({"project": p2})),
        )
        .await;
    let ses = server
        .ok("GET", &format!("/sessions/{session}"), None)
        .await;
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
    let acq = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(acq["parents"]["subject"], ses["subject"]["_id"]);

    // An acquisition moves to another session; a project to another group.
    let other_session = server
        .create(
            "sessions",
            json!({"label": "ses2", "project": p1, "subject": {"code": "sub1"}}),
        )
        .await;
    server
        .ok(
            "PUT",
            &format!("/acquisitions/{acquisition}"),
            Some(json!({"session": other_session})),
        )
        .await;
    let acq = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(
        (
            acq["parents"]["session"].as_str(),
            acq["parents"]["project"].as_str()
        ),
        (Some(other_session.as_str()), Some(p1.as_str()))
    );
    server
        .ok("POST", "/groups", Some(json!({"_id": "grp2"})))
        .await;
    server
        .ok(
            "PUT",
            &format!("/projects/{p1}"),
            Some(json!({"group": "grp2"})),
        )
        .await;
    let acq = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert_eq!(acq["parents"]["group"], json!("grp2"));
    assert_eq!(acq["files"][0]["parents"]["group"], json!("grp2"));
    let (status, _) = server
        .call("GET", "/projects?filter=group=grp2", ADMIN, None)
        .await;
    assert_eq!(status, 200);

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
        server
            .ok("GET", &format!("/sessions/{session}"), None)
            .await["project"],
        json!(p2)
    );
    let (status, _) = server
        .call(
            "PUT",
            &format!("/acquisitions/{acquisition}"),
            ADMIN,
            Some(json!({"session": subject})),
        )
        .await;
    assert_eq!(status, 404, "a subject is not a session");
}

#[tokio::test]
async fn custom_roles_grant_the_level_of_their_actions() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let key = server.add_user("uploader@x.org");
    let role = server
        .ok(
            "POST",
            "/roles",
            Some(json!({"label": "Uploader", "actions": ["containers_view_metadata", "files_create_single"]})),
        )
        .await;
    let role_id = role["_id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            role["label"].as_str(),
            role["in_use"].as_bool(),
            role["default_flywheel_role"].is_null()
        ),
        (Some("Uploader"), Some(false), true)
    );
    let all = server.ok("GET", "/roles", None).await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    for (caller, body, want) in [
        (key.as_str(), json!({"label": "Mine", "actions": []}), 403),
        (ADMIN, json!({"label": "Uploader", "actions": []}), 409),
        (ADMIN, json!({"label": "read-only", "actions": []}), 409),
        (
            ADMIN,
            json!({"label": "X", "actions": ["Files Download"]}),
            400,
        ),
        (ADMIN, json!({"label": " ", "actions": []}), 400),
        (ADMIN, json!({"label": "Y", "colour": "red"}), 400),
    ] {
        let (status, reply) = server
            .call("POST", "/roles", caller, Some(body.clone()))
            .await;
        assert_eq!(status, want, "{body}: {reply}");
    }

    // A member with the custom role may upload (rw) but not delete (admin).
    server.grant(&project, "uploader@x.org", &role_id).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, _) = upload(&server, &files, &key, "a.txt", b"a", None).await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call("DELETE", &format!("{files}/a.txt"), &key, None)
        .await;
    assert_eq!(status, 403);
    let joined = server
        .ok(
            "GET",
            &format!("/acquisitions/{acquisition}?join=origin"),
            None,
        )
        .await;
    assert!(
        joined["join-origin"]["user"]["uploader@x.org"].is_object(),
        "{joined}"
    );
    let plain = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await;
    assert!(plain.get("join-origin").is_none());
    assert_eq!(
        server.ok("GET", &format!("/roles/{role_id}"), None).await["in_use"],
        true
    );
    let (status, _) = server
        .call("DELETE", &format!("/roles/{role_id}"), ADMIN, None)
        .await;
    assert_eq!(status, 409, "a role in use stays");

    // Changing the role changes what its members may do.
    server
        .ok(
            "PUT",
            &format!("/roles/{role_id}"),
            Some(json!({"actions": ["containers_view_metadata"]})),
        )
        .await;
    let (status, _) = upload(&server, &files, &key, "b.txt", b"b", None).await;
    assert_eq!(status, 403);
    let changed = server.ok("GET", &format!("/roles/{role_id}"), None).await;
    assert_eq!(
        changed["label"], "Uploader",
        "a partial update keeps the label"
    );
    let (status, _) = server
        .call("GET", &files.replace("/files", ""), &key, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call(
            "PUT",
            "/roles/000000000000000000000a03",
            ADMIN,
            Some(json!({"label": "ro2"})),
        )
        .await;
    assert_eq!(status, 400, "default roles stay");

    server
        .ok(
            "DELETE",
            &format!("/projects/{project}/permissions/uploader@x.org"),
            None,
        )
        .await;
    server
        .ok("DELETE", &format!("/roles/{role_id}"), None)
        .await;
    let (status, _) = server
        .call("GET", &format!("/roles/{role_id}"), ADMIN, None)
        .await;
    assert_eq!(status, 404);
}

/// A data directory that is not a site is refused unless `--create` asks for one, and a
/// `serve` that fails takes back the site it created.
#[test]
fn the_binary_refuses_a_data_dir_that_is_not_a_site() {
    use std::process::Command;

    let binary = env!("CARGO_BIN_EXE_fw-server");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("fw-dta");
    let user_add = |data_dir: &std::path::Path, extra: &[&str]| {
        Command::new(binary)
            .args(["user", "add", "--id", "amy@x.org", "--key", "amykey"])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .output()
            .unwrap()
    };

    // A misspelt directory: an error naming it, and nothing created.
    let out = user_add(&missing, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "fw-server: {} is not a fw-server site: it does not exist; check --data-dir, or \
             pass --create to make a new site there\n",
            missing.display()
        )
    );
    assert!(!missing.exists());

    // A directory with other things in it is never made a site, even with --create.
    let other = dir.path().join("notes");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("todo.txt"), "x").unwrap();
    let out = user_add(&other, &["--create"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is not a fw-server site (it has no fw.sqlite) and is not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);

    // With --create: a new site, and the whole key for the address given.
    let out = user_add(&missing, &["--create", "--addr", "127.0.0.1:9999"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "127.0.0.1:9999:__force_insecure:amykey\n"
    );
    assert!(missing.join("fw.sqlite").is_file());

    // `serve --create` on a port in use fails and leaves no empty site behind, whether it
    // made the directory or found it empty.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for data_dir in [dir.path().join("new"), empty.clone()] {
        let out = Command::new(binary)
            .args(["serve", "--create", "--addr", &addr, "--data-dir"])
            .arg(&data_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("cannot listen on {addr}")),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!dir.path().join("new").exists());
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}
