//! Structured (FlyQL) search.

use crate::common::*;
use serde_json::{Value, json};

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
        .put(&format!("/sessions/{session}"), json!({"age": 946728000}))
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
        .post(
            "/dataexplorer/search?simple=true",
            search("acquisition.label = multi_echo", "subject"),
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
        .post(
            "/dataexplorer/search",
            search("session.age >= 0 AND project.label = Proj", "session"),
        )
        .await;
    assert_eq!(ids(&reply, "session").len(), 2);
    let reply = server
        .post(
            "/dataexplorer/search",
            search("session.age > 1000 AND subject.code = sub1", "acquisition"),
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
        .post(
            "/dataexplorer/search",
            search(
                "acquisition.label = T1w AND acquisition.label = multi_echo",
                "session",
            ),
        )
        .await;
    assert_eq!(reply, json!([]));
    // size, from the query or the body.
    let reply = server
        .post(
            "/dataexplorer/search?size=1",
            search("project.label = Proj", "session"),
        )
        .await;
    assert_eq!(reply.as_array().unwrap().len(), 1);
    let (status, reply) = server
        .admin(
            "POST",
            "/dataexplorer/search",
            Some(json!({"structured_query": "x EXISTS", "return_type": "session", "size": 10001})),
        )
        .await;
    assert_eq!((status, reply["status_code"].as_u64()), (400, Some(400)));
    // An invalid query is a 400 with the position.
    let (status, reply) = server
        .admin(
            "POST",
            "/dataexplorer/search",
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

/// docs/wire.md §15.5: a body that does not fit its type is a 400 starting with the
/// field's path; search `size` as a numeric string is read as the number, as Flywheel did
/// (issue 16: `invalid type: string "10", expected i64` named no field).
#[tokio::test]
async fn body_type_errors_name_the_field_and_search_size_may_be_a_numeric_string() {
    let server = start().await;
    let (project, subject, session, _) = hierarchy(&server).await;
    for code in ["s2", "s3"] {
        server
            .create("subjects", json!({"code": code, "project": project}))
            .await;
    }
    let query = |size: Value| json!({"structured_query": "project.label = Proj", "return_type": "subject", "size": size});
    let reply = server.post("/dataexplorer/search", query(json!("2"))).await;
    assert_eq!(reply.as_array().unwrap().len(), 2);
    let cases = [
        (
            "POST",
            "/dataexplorer/search".to_string(),
            query(json!("ten")),
            "size: expected an integer, found the string \"ten\"",
        ),
        (
            "PUT",
            format!("/subjects/{subject}"),
            json!({"label": 5}),
            "label: expected a string, found 5",
        ),
        (
            "PUT",
            format!("/sessions/{session}"),
            json!({"age": "old"}),
            "age: expected an integer, found the string \"old\"",
        ),
        (
            "POST",
            format!("/projects/{project}/permissions"),
            json!({"_id": "admin@local", "role_ids": "admin"}),
            "role_ids: expected a list, found the string \"admin\"",
        ),
        (
            "POST",
            format!("/projects/{project}/notes"),
            json!({"text": 1}),
            "text: expected a string, found 1",
        ),
        (
            "POST",
            "/lookup".to_string(),
            json!({"path": [1]}),
            "path[0]: expected a string, found 1",
        ),
    ];
    for (method, path, body, message) in cases {
        let (status, reply) = server.admin(method, &path, Some(body)).await;
        assert_eq!(status, 400, "{method} {path}: {reply}");
        let got = reply["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{method} {path}: {got}");
    }
}
