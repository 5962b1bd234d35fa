//! Info, tags, notes, lookup, resolve and the catalogue (version, config, roles,
//! modalities).

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn info_tags_notes_lookup_resolve_and_the_catalogue() {
    let server = start().await;
    let (project, subject, session, acquisition) = hierarchy(&server).await;

    // Info: set merges, delete takes dotted paths, replace replaces; keys are sanitized.
    let info = format!("/sessions/{session}/info");
    server
        .patch(
            &info,
            json!({"set": {"a": 1, "nested": {"b": 2, "c": 3}, "x.y$": true}}),
        )
        .await;
    server
        .patch(&info, json!({"delete": ["nested.b", "missing.key"]}))
        .await;
    assert_eq!(
        server.get(&format!("/sessions/{session}")).await["info"],
        json!({"a": 1, "nested": {"c": 3}, "x_y-": true})
    );
    server.patch(&info, json!({"replace": {"only": 1}})).await;
    assert_eq!(
        server.get(&format!("/sessions/{session}")).await["info"],
        json!({"only": 1})
    );
    server
        .expect("PATCH", &info, Some(json!({"merge": {}})), 400)
        .await;

    // Tags: add (once), rename, delete; names that need encoding.
    let tags = format!("/acquisitions/{acquisition}/tags");
    assert_eq!(
        server.post(&tags, json!({"value": "my tag/x"})).await["modified"],
        1
    );
    assert_eq!(
        server.post(&tags, json!({"value": "my tag/x"})).await["modified"],
        0
    );
    assert_eq!(
        server
            .put(&format!("{tags}/my%20tag%2Fx"), json!({"value": "qa"}))
            .await,
        json!("qa")
    );
    assert_eq!(
        server.get(&format!("/acquisitions/{acquisition}")).await["tags"],
        json!(["qa"])
    );
    assert_eq!(server.delete(&format!("{tags}/qa")).await["deleted"], 1);
    assert_eq!(server.delete(&format!("{tags}/qa")).await["not_found"], 1);
    server
        .expect(
            "PUT",
            &format!("{tags}/nope"),
            Some(json!({"value": "x"})),
            404,
        )
        .await;

    // Notes: attributed to the caller, with timestamps.
    let note = server
        .post(
            &format!("/projects/{project}/notes"),
            json!({"text": "hello"}),
        )
        .await;
    assert_eq!(
        (note["text"].as_str(), note["user"].as_str()),
        (Some("hello"), Some("admin@local"))
    );
    assert!(note["created"].is_string());
    let note_id = note["_id"].as_str().unwrap();
    assert_eq!(
        server.get(&format!("/projects/{project}")).await["notes"][0]["_id"],
        note_id
    );
    assert_eq!(
        server
            .delete(&format!("/projects/{project}/notes/{note_id}"))
            .await["deleted"],
        1
    );
    server
        .expect(
            "POST",
            "/groups/grp1/notes",
            Some(json!({"text": "x"})),
            404,
        )
        .await;

    // Lookup and resolve: labels, <id:…>, analyses.
    let node = server
        .post(
            "/lookup",
            json!({"path": ["grp1", "Proj", "sub1", "ses1", "T1w"]}),
        )
        .await;
    assert_eq!(
        (node["_id"].as_str(), node["container_type"].as_str()),
        (Some(acquisition.as_str()), Some("acquisition"))
    );
    let node = server
        .post(
            "/lookup",
            json!({"path": ["grp1", format!("<id:{project}>"), "sub1"]}),
        )
        .await;
    assert_eq!(node["_id"], subject);
    let analysis = server
        .post(
            &format!("/sessions/{session}/analyses"),
            json!({"label": "a1"}),
        )
        .await;
    let node = server
        .post(
            "/lookup",
            json!({"path": ["grp1", "Proj", "sub1", "ses1", "analyses", "a1"]}),
        )
        .await;
    assert_eq!(node["_id"], analysis["_id"]);
    let resolved = server
        .post(
            "/resolve",
            json!({"path": ["grp1", "Proj", "sub1", "ses1"]}),
        )
        .await;
    let types = ids(&resolved["path"], "container_type");
    assert_eq!(types, ["group", "project", "subject", "session"]);
    let children = ids(&resolved["children"], "container_type");
    assert_eq!(children, ["acquisition", "analysis"]);
    let (status, reply) = server
        .admin("POST", "/lookup", Some(json!({"path": ["grp1", "nope"]})))
        .await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (404, Some("Not Found: grp1/nope"))
    );
    server
        .expect("POST", "/lookup", Some(json!({"path": []})), 400)
        .await;
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
    let roles = server.get("/roles").await;
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
        server.post("/groups/grp1/roles", json!({"_id": rw})).await["_id"],
        rw
    );
    server
        .expect(
            "POST",
            "/groups/grp1/roles",
            Some(json!({"_id": "nope"})),
            404,
        )
        .await;
    let modalities = server.get("/modalities").await;
    let modalities = ids(&modalities, "_id");
    assert_eq!(modalities, ["MR", "CT", "PET"]);
    assert!(
        server.get("/modalities/MR").await["classification"]["Measurement"]
            .as_array()
            .unwrap()
            .contains(&json!("T1"))
    );
    server.expect("GET", "/modalities/XR", None, 404).await;
    assert_eq!(server.get("/users/self").await["_id"], "admin@local");
    assert_eq!(
        server.get("/users/mallory@x.org").await["_id"],
        "mallory@x.org"
    );
    assert!(server.get("/users").await.as_array().unwrap().len() >= 2);
    let minted = server.ok("POST", "/users/self/key", None).await["key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        server.call("GET", "/users/self", &minted, None).await.1["_id"],
        "admin@local"
    );
    assert_eq!(server.get("/version").await["flywheel_release"], "23.0.0");
    let config = server.get("/config").await;
    assert_eq!(
        (
            config["signed_url"].as_bool(),
            config["features"]["signed_url"].as_bool()
        ),
        (Some(false), Some(false))
    );
    // A method fw-server does not serve is its limit: 501 naming the route (§15.4).
    let (status, reply) = server.admin("PATCH", "/version", None).await;
    assert_eq!((status, reply["status_code"].as_u64()), (501, Some(501)));
    assert_eq!(
        reply["message"],
        "PATCH /api/version is not implemented by fw-server"
    );
}
