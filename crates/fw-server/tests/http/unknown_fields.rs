//! Unknown keys at any depth of any JSON body are a 400 naming the key's path, and nothing
//! is written (docs/wire.md §15.6); free-form objects (`info`) hold anything.

use crate::common::*;
use serde_json::{Value, json};

/// Sends `body` and asserts a 400 whose message names every path in `paths`.
async fn refused(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Value,
    what: &str,
    paths: &[&str],
) {
    let (status, reply) = server.call(method, path, ADMIN, Some(body.clone())).await;
    assert_eq!(status, 400, "{method} {path} {body}: {reply}");
    assert_eq!(
        reply["message"],
        json!(format!(
            "unknown field(s) in a {what}: {}",
            paths.join(", ")
        )),
        "{method} {path} {body}"
    );
}

#[tokio::test]
async fn container_bodies_refuse_unknown_keys_at_every_depth() {
    let server = start().await;
    let (project, subject, session, _) = hierarchy(&server).await;
    let session_path = format!("/sessions/{session}");
    let before = server.ok("GET", &session_path, None).await;
    let subject_before = server
        .ok("GET", &format!("/subjects/{subject}"), None)
        .await;
    let cases = [
        // Depth 1.
        (json!({"label": "new", "labl": "x"}), vec!["labl"]),
        // Depth 2: a permission, the embedded subject.
        (
            json!({"label": "new", "permissions": [{"_id": "admin@x.org", "role_ids": [], "acess": "ro"}]}),
            vec!["permissions[0].acess"],
        ),
        (
            json!({"subject": {"_id": subject, "master_code": "M", "sexx": "male"}}),
            vec!["subject.sexx"],
        ),
        // Several at once, each named.
        (
            json!({"x": 1, "subject": {"code": "sub1", "y": 2}}),
            vec!["x", "subject.y"],
        ),
    ];
    for (body, paths) in cases {
        refused(
            &server,
            "PUT",
            &session_path,
            body,
            "session update",
            &paths,
        )
        .await;
    }
    assert_eq!(server.ok("GET", &session_path, None).await, before);
    assert_eq!(
        server
            .ok("GET", &format!("/subjects/{subject}"), None)
            .await,
        subject_before
    );

    // A create body: nothing is created.
    refused(
        &server,
        "POST",
        "/projects",
        json!({"label": "P2", "group": "grp1", "permissions": [{"_id": "admin@x.org", "role_idz": []}]}),
        "project create body",
        &["permissions[0].role_idz"],
    )
    .await;
    let projects = server.ok("GET", "/projects", None).await;
    assert_eq!(projects.as_array().map(Vec::len), Some(1), "{projects}");

    // What the Python SDK sends for `project.add_session(subject=subject)`: the whole
    // subject, read-only fields included. Those are a subject's fields, so known.
    let mut whole = server
        .ok("GET", &format!("/subjects/{subject}"), None)
        .await;
    whole["info"] = json!({"free": {"form": {"deep": [1, {"x": 2}]}}});
    let id = server
        .create(
            "sessions",
            json!({"label": "ses2", "project": project, "subject": whole}),
        )
        .await;
    let created = server.ok("GET", &format!("/sessions/{id}"), None).await;
    assert_eq!(created["subject"]["_id"], json!(subject));

    // Free-form info holds unknown keys at any depth.
    server
        .ok(
            "PUT",
            &session_path,
            Some(json!({"info": {"a": {"b": {"c": {"unknown": 1}}}}})),
        )
        .await;
    let after = server.ok("GET", &session_path, None).await;
    assert_eq!(after["info"]["a"]["b"]["c"]["unknown"], json!(1));
}

#[tokio::test]
async fn file_permission_and_analysis_bodies_refuse_unknown_keys() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, reply) = upload(&server, &files, ADMIN, "scan.txt", b"bytes", None).await;
    assert_eq!(status, 200, "{reply}");
    let entry = format!("{files}/scan.txt/info");
    let before = server.ok("GET", &entry, None).await;

    // A file update (depth 1), and an info update around free-form info.
    refused(
        &server,
        "PUT",
        &format!("{files}/scan.txt"),
        json!({"modality": "MR", "modalty": "CT"}),
        "file update",
        &["modalty"],
    )
    .await;
    refused(
        &server,
        "PATCH",
        &entry,
        json!({"set": {"a": {"unknown": 1}}, "sett": {}}),
        "info update",
        &["sett"],
    )
    .await;
    assert_eq!(server.ok("GET", &entry, None).await, before);

    // Upload metadata: the file is not stored.
    let (status, reply) = upload(
        &server,
        &files,
        ADMIN,
        "other.txt",
        b"x",
        Some(json!({"type": "text", "tgas": ["a"]})),
    )
    .await;
    assert_eq!(
        (status, reply["message"].clone()),
        (400, json!("unknown field(s) in a file metadata: tgas"))
    );
    let (status, _) = server
        .call("GET", &format!("{files}/other.txt/info"), ADMIN, None)
        .await;
    assert_eq!(status, 404);

    // A permission (depth 1): the user gets no permission.
    server.add_user("bob@x.org");
    refused(
        &server,
        "POST",
        &format!("/projects/{project}/permissions"),
        json!({"_id": "bob@x.org", "role_ids": [RO_ROLE], "acces": "ro"}),
        "project permission",
        &["acces"],
    )
    .await;
    let permissions = server
        .ok("GET", &format!("/projects/{project}"), None)
        .await["permissions"]
        .clone();
    assert!(
        !permissions.to_string().contains("bob@x.org"),
        "{permissions}"
    );

    // An analysis (depth 1 and 2): nothing is created.
    let analyses = format!("/acquisitions/{acquisition}/analyses");
    let input = json!({"type": "acquisition", "id": acquisition, "name": "scan.txt"});
    let mut misspelt = input.clone();
    misspelt["nmae"] = json!("scan.txt");
    for (body, paths) in [
        (json!({"label": "a", "inputz": [input]}), vec!["inputz"]),
        (
            json!({"label": "a", "inputs": [input, misspelt]}),
            vec!["inputs[1].nmae"],
        ),
    ] {
        refused(
            &server,
            "POST",
            &analyses,
            body,
            "analysis create body",
            &paths,
        )
        .await;
    }
    assert_eq!(server.ok("GET", &analyses, None).await, json!([]));
    // The same inputs, spelt right, are accepted.
    server
        .ok(
            "POST",
            &analyses,
            Some(json!({"label": "a", "inputs": [input]})),
        )
        .await;
}

#[tokio::test]
async fn download_and_search_bodies_refuse_unknown_keys() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    let node = json!({"level": "project", "_id": project});
    let cases = [
        // Depth 1, 2 and 3.
        (
            json!({"nodes": [node], "optionall": true}),
            vec!["optionall"],
        ),
        (
            json!({"nodes": [node], "filters": [{"typez": {"plus": ["nifti"]}}]}),
            vec!["filters[0].typez"],
        ),
        (
            json!({"nodes": [node], "filters": [{"tags": {"plus": ["a"]}}, {"tags": {"minsu": ["b"]}}]}),
            vec!["filters[1].tags.minsu"],
        ),
        (
            json!({"nodes": [{"level": "project", "_id": project, "id": project}]}),
            vec!["nodes[0].id"],
        ),
    ];
    for (body, paths) in cases {
        refused(
            &server,
            "POST",
            "/download",
            body,
            "download request",
            &paths,
        )
        .await;
    }
    refused(
        &server,
        "POST",
        "/dataexplorer/search",
        json!({"return_type": "subject", "sort": {"field": "label", "ordr": "asc"}}),
        "search",
        &["sort.ordr"],
    )
    .await;
}

#[tokio::test]
async fn a_signed_upload_close_refuses_unknown_keys_and_keeps_the_ticket() {
    let server = start_signed().await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let opened = server
        .ok(
            "POST",
            &format!("{files}?ticket="),
            Some(json!({"metadata": {"name": "a.txt"}, "filenames": ["a.txt"]})),
        )
        .await;
    let ticket = opened["ticket"].as_str().unwrap().to_string();
    let url = opened["urls"]["a.txt"].as_str().unwrap().to_string();
    let stored = server.http.put(url).body("hello").send().await.unwrap();
    assert_eq!(stored.status().as_u16(), 200);
    let close = format!("{files}?ticket={ticket}");
    let body = json!({"multipart": {"upload_id": "u", "etags": ["e1"]}});
    refused(
        &server,
        "POST",
        &close,
        body,
        "upload ticket close",
        &["multipart.etags"],
    )
    .await;
    let info = format!("{files}/a.txt/info");
    assert_eq!(server.call("GET", &info, ADMIN, None).await.0, 404);
    // The ticket is intact: closed with a body spelt right, the file is there.
    let body = json!({"multipart": {"upload_id": "u", "e_tags": ["e1"]}});
    server.ok("POST", &close, Some(body)).await;
    assert_eq!(server.ok("GET", &info, None).await["size"], 5);
}
