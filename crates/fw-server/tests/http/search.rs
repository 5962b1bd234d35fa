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
