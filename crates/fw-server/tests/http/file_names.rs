//! Every path that names a file applies the file-name rule (docs/wire.md §15.3), and a
//! name a client sends is applied or refused, never dropped (§15.6): the file update body,
//! the upload metadata, and the Python SDK's `move_file` (`POST /files/{id}/move`).

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn a_name_is_applied_with_the_rule_or_refused_never_dropped() {
    let server = start().await;
    let (_, _, _, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let (status, reply) = upload(&server, &files, ADMIN, "scan.txt", b"bytes", None).await;
    assert_eq!(status, 200, "{reply}");
    let names = || async {
        let doc = server
            .ok("GET", &format!("/acquisitions/{acquisition}"), None)
            .await;
        let mut names: Vec<String> = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };

    // `PUT …/files/{name}` has no `name` (FileModifyInput): a 400 naming it.
    let (status, reply) = server
        .call(
            "PUT",
            &format!("{files}/scan.txt"),
            ADMIN,
            Some(json!({"name": "renamed.txt"})),
        )
        .await;
    assert_eq!(
        (status, reply["message"].clone()),
        (400, json!("unknown field(s) in a file update: name"))
    );
    assert_eq!(names().await, ["scan.txt"]);

    // Upload metadata naming another file than the part, or breaking the rule: refused,
    // naming the field (and the character), nothing stored. The part's own name is fine.
    let cases = [
        ("other.txt", 400, "file part is named part.txt"),
        ("bad:name.txt", 400, "':' at position 4"),
        ("part.txt", 200, ""),
    ];
    for (name, expected, says) in cases {
        let metadata = json!({"name": name, "type": "text"});
        let (status, reply) =
            upload(&server, &files, ADMIN, "part.txt", b"x", Some(metadata)).await;
        assert_eq!(status, expected, "{name}: {reply}");
        if expected == 400 {
            let message = reply["message"].as_str().unwrap();
            assert!(
                message.starts_with("name: ") && message.contains(says),
                "{message}"
            );
            assert_eq!(names().await, ["scan.txt"]);
        }
    }
    assert_eq!(names().await, ["part.txt", "scan.txt"]);
}

#[tokio::test]
async fn move_file_renames_with_the_rule() {
    let server = start().await;
    let (_, _, session, acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    for (name, bytes) in [("a.txt", &b"one"[..]), ("a.txt", b"two"), ("b.txt", b"b")] {
        let (status, reply) = upload(&server, &files, ADMIN, name, bytes, None).await;
        assert_eq!(status, 200, "{reply}");
    }
    let info = server.ok("GET", &format!("{files}/a.txt/info"), None).await;
    let file_id = info["file_id"].as_str().unwrap().to_string();
    let moved = format!("/files/{file_id}/move");
    let refusals = [
        (json!({"name": "bad|name.txt"}), 400, "'|' at position 4"),
        (json!({"name": "b.txt"}), 409, "has a file named \"b.txt\""),
        (
            json!({"nmae": "c.txt"}),
            400,
            "unknown field(s) in a file move: nmae",
        ),
        (json!({}), 400, "needs a new `name`"),
        (
            json!({"name": "c.txt", "container_reference": {"type": "session", "id": session}}),
            501,
            "container_reference",
        ),
        (
            json!({"name": "c.txt", "run_gear_rules": true}),
            501,
            "run_gear_rules",
        ),
    ];
    for (body, status, says) in refusals {
        let (got, reply) = server.call("POST", &moved, ADMIN, Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {reply}");
        assert!(
            reply["message"].as_str().unwrap().contains(says),
            "{body}: {reply}"
        );
    }
    // Nothing was renamed.
    assert_eq!(
        server.ok("GET", &format!("{files}/a.txt/info"), None).await["name"],
        "a.txt"
    );

    // A rename: what the Python SDK sends for `fw.move_file(file_id, {"name": …})`.
    let reply = server
        .ok(
            "POST",
            &moved,
            Some(json!({"name": "c.txt", "run_gear_rules": false, "container_reference": {"type": "acquisition", "id": acquisition}})),
        )
        .await;
    assert_eq!(reply["modified"], 1, "{reply}");
    let (status, _) = server
        .call("GET", &format!("{files}/a.txt/info"), ADMIN, None)
        .await;
    assert_eq!(status, 404);
    let renamed = server.ok("GET", &format!("/files/{file_id}"), None).await;
    assert_eq!(
        (renamed["name"].clone(), renamed["version"].clone()),
        (json!("c.txt"), json!(2))
    );
    // The older version went with it, and the bytes are the file's.
    let old = server
        .ok("GET", &format!("/files/{file_id}?version=1"), None)
        .await;
    assert_eq!(old["name"], "c.txt");
    let bytes = reqwest::Client::new()
        .get(format!("{}{files}/c.txt", server.base))
        .header("Authorization", format!("scitran-user {ADMIN}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..], b"two");
    // A reader may not rename.
    let key = server.add_user("reader@x.org");
    let project = server
        .ok("GET", &format!("/acquisitions/{acquisition}"), None)
        .await["parents"]["project"]
        .as_str()
        .unwrap()
        .to_string();
    server.grant(&project, "reader@x.org", RO_ROLE).await;
    let (status, _) = server
        .call("POST", &moved, &key, Some(json!({"name": "d.txt"})))
        .await;
    assert_eq!(status, 403);
}
