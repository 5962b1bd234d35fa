//! Stored documents always read back (issue 16, "Data loss"): bodies nested deeper than the
//! store can read are refused before anything is written, and a stored document that does
//! not read back is a 500 that changes nothing, never an empty document.

use crate::common::*;
use serde_json::{Value, json};

/// `{"k": {"k": … "leaf" …}}` with `levels` objects.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!("leaf"), |inner, _| json!({ "k": inner }))
}

fn too_deep(field: &str, what: &str) -> String {
    format!("`{field}` in {what} is nested deeper than 100 levels, the most this server stores")
}

/// The acquisition as GET shows it, and the labels a finder over its session finds.
async fn acquisition_and_finder(
    server: &TestServer,
    acquisition: &str,
    session: &str,
) -> (Value, Vec<String>) {
    let doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    let found = server
        .get(&format!(
            "/sessions/{session}/acquisitions?filter=label=T1w"
        ))
        .await;
    let labels = found
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["_id"].as_str().unwrap().to_string())
        .collect();
    (doc, labels)
}

#[tokio::test]
async fn file_info_nested_124_deep_is_refused_and_the_container_stays_whole() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let metadata = json!({"info": {"keep": 1}});
    let (status, _) = server
        .upload_as_admin(&files, "a.txt", b"hello", Some(metadata))
        .await;
    assert_eq!(status, 200);
    server
        .patch(
            &format!("/acquisitions/{acquisition}/info"),
            json!({"set": {"site": "x"}}),
        )
        .await;

    // The reported input: file info 124 levels deep, through the file info route …
    for key in ["set", "replace"] {
        let (status, reply) = server
            .admin(
                "PATCH",
                &format!("{files}/a.txt/info"),
                Some(json!({ key: nested(124) })),
            )
            .await;
        assert_eq!(status, 400, "{reply}");
        assert_eq!(reply["message"], too_deep(key, "the body"));
    }
    // … and as upload metadata (plain, and in the list form the SDK sends).
    for metadata in [json!({"info": nested(124)}), json!([{"info": nested(124)}])] {
        let (status, reply) = server
            .upload_as_admin(&files, "b.txt", b"bytes", Some(metadata.clone()))
            .await;
        assert_eq!(status, 400, "{reply}");
        let expected = if metadata.is_array() {
            too_deep_item()
        } else {
            too_deep("info", "the metadata part")
        };
        assert_eq!(reply["message"], expected);
    }
    // A body deeper than JSON parsing allows says the same, for the whole body.
    let (status, reply) = server
        .admin(
            "PATCH",
            &format!("{files}/a.txt/info"),
            Some(json!({"set": nested(140)})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        reply["message"],
        "the body is nested deeper than 100 levels, the most this server stores"
    );

    // The container is whole, found by its finder, and the next write keeps everything.
    server
        .put(
            &format!("/acquisitions/{acquisition}"),
            json!({"uid": "1.2.3"}),
        )
        .await;
    let (doc, found) = acquisition_and_finder(&server, &acquisition, &session).await;
    assert_eq!(found, vec![acquisition]);
    assert_eq!(doc["label"], "T1w");
    assert_eq!(doc["uid"], "1.2.3");
    assert_eq!(doc["info"], json!({"site": "x"}));
    let names = ids(&doc["files"], "name");
    assert_eq!(names, ["a.txt"]);
    assert_eq!(doc["files"][0]["info"], json!({"keep": 1}));
    assert_eq!(doc["files"][0]["size"], 5);
}

fn too_deep_item() -> String {
    "item 0 of the metadata part is nested deeper than 100 levels, the most this server stores"
        .to_string()
}

#[tokio::test]
async fn info_at_the_depth_limit_round_trips_and_one_level_more_is_refused() {
    let server = start().await;
    let (_, subject, _, acquisition) = hierarchy(&server).await;
    // {"set": {"deep": value}} is 100 levels when the value is 98.
    let at_limit = nested(98);
    let set_deep = json!({"set": {"deep": at_limit}});
    let subject_info = format!("/subjects/{subject}/info");
    server.patch(&subject_info, set_deep.clone()).await;
    let doc = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(doc["info"], json!({"deep": at_limit}));
    assert_eq!(doc["label"], "sub1");

    // The same on a file, whose info is stored two levels deeper than a container's.
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, _) = server
        .upload_as_admin(&files, "a.txt", b"hello", None)
        .await;
    assert_eq!(status, 200);
    server.patch(&format!("{files}/a.txt/info"), set_deep).await;
    let doc = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert_eq!(doc["files"][0]["info"], json!({"deep": at_limit}));

    let one_more = json!({"set": {"deep": nested(99)}});
    let (status, reply) = server.admin("PATCH", &subject_info, Some(one_more)).await;
    assert_eq!(status, 400);
    assert_eq!(reply["message"], too_deep("set", "the body"));
    let doc = server.get(&format!("/subjects/{subject}")).await;
    assert_eq!(doc["info"], json!({"deep": at_limit}));
}

/// The stored document of a container, read from SQLite directly.
fn stored_doc(server: &TestServer, id: &str) -> String {
    let db = rusqlite::Connection::open(server._dir.path().join("fw.sqlite")).unwrap();
    db.query_row("SELECT doc FROM containers WHERE id = ?1", [id], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test]
async fn a_stored_document_that_does_not_read_back_is_a_500_and_is_never_replaced() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    // What the server stored before issue 16: a document deeper than serde_json reads.
    let damaged = json!({"_id": acquisition, "label": "T1w", "info": nested(130)}).to_string();
    let problem = serde_json::from_str::<Value>(&damaged)
        .unwrap_err()
        .to_string();
    let db = rusqlite::Connection::open(server._dir.path().join("fw.sqlite")).unwrap();
    db.execute(
        "UPDATE containers SET doc = ?1 WHERE id = ?2",
        [&damaged, &acquisition],
    )
    .unwrap();
    drop(db);

    let expected = format!(
        "acquisition {acquisition} is stored damaged and cannot be read ({problem}); nothing was changed"
    );
    let path = format!("/acquisitions/{acquisition}");
    let attempts: [(&str, String, Option<Value>); 6] = [
        ("GET", path.clone(), None),
        ("GET", format!("/sessions/{session}/acquisitions"), None),
        ("PUT", path.clone(), Some(json!({"label": "renamed"}))),
        (
            "PATCH",
            format!("{path}/info"),
            Some(json!({"set": {"a": 1}})),
        ),
        ("POST", format!("{path}/tags"), Some(json!({"value": "t"}))),
        ("DELETE", path.clone(), None),
    ];
    for (method, path, body) in attempts {
        let (status, reply) = server.admin(method, &path, body).await;
        assert_eq!(status, 500, "{method} {path}: {reply}");
        assert_eq!(reply["message"], expected, "{method} {path}");
        assert_eq!(reply["status_code"], 500);
    }
    let (status, reply) = server
        .upload_as_admin(&format!("{path}/files"), "a.txt", b"x", None)
        .await;
    assert_eq!((status, &reply["message"]), (500, &json!(expected)));
    assert_eq!(stored_doc(&server, &acquisition), damaged);

    // A user's stored document is read the same way.
    let key = server.add_user("bob@example.org");
    let db = rusqlite::Connection::open(server._dir.path().join("fw.sqlite")).unwrap();
    db.execute(
        "UPDATE users SET doc = '{\"_id\": ' WHERE id = 'bob@example.org'",
        [],
    )
    .unwrap();
    drop(db);
    let (status, reply) = server.admin("GET", "/users/bob@example.org", None).await;
    assert_eq!(status, 500);
    assert_eq!(
        reply["message"],
        "user bob@example.org is stored damaged and cannot be read (EOF while parsing a value at line 1 column 8); nothing was changed"
    );
    let (status, _) = server.call("GET", "/users/self", &key, None).await;
    assert_eq!(status, 500);
}
