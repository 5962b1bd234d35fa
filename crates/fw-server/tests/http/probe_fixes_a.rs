//! Regressions of an outside probe of issue #16: each refused input is a 400 naming the
//! field, and leaves nothing written.

use crate::common::*;
use serde_json::{Value, json};

/// Asserts a 400 with exactly `expected` as the message.
#[track_caller]
fn bad_request((status, reply): (u16, Value), expected: &str) {
    assert_eq!((status, message(&reply)), (400, expected), "{reply}");
}

fn out_of_range(field: &str, sent: &str) -> String {
    format!(
        "{field}: {sent:?} is outside the years 1-9999 in UTC \
         (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
    )
}

#[tokio::test]
async fn datetimes_outside_years_1_to_9999_are_refused_on_every_path() {
    let server = start().await;
    let (project, _, session, acquisition) = hierarchy(&server).await;
    let good = "2020-06-01T09:30:00+00:00";
    for path in [
        format!("/sessions/{session}"),
        format!("/acquisitions/{acquisition}"),
    ] {
        server.put(&path, json!({"timestamp": good})).await;
    }
    let sessions_before = server.get(&format!("/projects/{project}/sessions")).await;
    for sent in [
        "9999-12-31T23:59:59-14:00",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
    ] {
        // Updates of each kind with a timestamp.
        for path in [
            format!("/sessions/{session}"),
            format!("/acquisitions/{acquisition}"),
        ] {
            bad_request(
                server
                    .admin("PUT", &path, Some(json!({"timestamp": sent})))
                    .await,
                &out_of_range("timestamp", sent),
            );
            assert_eq!(server.get(&path).await["timestamp"], good, "{path}");
        }
        // Creates.
        bad_request(
            server
                .admin(
                    "POST",
                    "/sessions",
                    Some(json!({"label": "late", "subject": {"code": "sub1"},
                                "project": project, "timestamp": sent})),
                )
                .await,
            &out_of_range("timestamp", sent),
        );
        bad_request(
            server
                .admin(
                    "POST",
                    "/acquisitions",
                    Some(json!({"label": "late", "session": session, "timestamp": sent})),
                )
                .await,
            &out_of_range("timestamp", sent),
        );
    }
    assert_eq!(
        server.get(&format!("/projects/{project}/sessions")).await,
        sessions_before
    );
    let acquisitions = server
        .get(&format!("/sessions/{session}/acquisitions"))
        .await;
    assert_eq!(ids(&acquisitions, "_id"), [acquisition.as_str()]);
    // The edges themselves are instants Python reads.
    let path = format!("/sessions/{session}");
    for (sent, stored) in [
        (
            "9999-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59.999999+00:00",
        ),
        ("0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00+00:00"),
    ] {
        server.put(&path, json!({"timestamp": sent})).await;
        assert_eq!(server.get(&path).await["timestamp"], stored);
    }
}

#[tokio::test]
async fn a_permission_names_one_user_and_at_least_one_role_once() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    for user in ["carol@x.org", "dave@x.org"] {
        server.add_user(user);
        server.grant(&project, user, RO_ROLE).await;
    }
    let admin_role = "000000000000000000000a01";
    let permissions = format!("/projects/{project}/permissions");
    let before = server.get(&format!("/projects/{project}")).await["permissions"].clone();
    // The body's `_id` differs from the URL's user: nobody's roles change.
    bad_request(
        server
            .admin(
                "PUT",
                &format!("{permissions}/dave@x.org"),
                Some(json!({"_id": "carol@x.org", "role_ids": [admin_role]})),
            )
            .await,
        "_id: the body names \"carol@x.org\" but the URL names \"dave@x.org\"; \
         a PUT changes the permission of the user in the URL",
    );
    // No roles: via PUT or POST.
    let no_roles = |user: &str| {
        format!(
            "role_ids: a project permission needs at least one role; \
             DELETE /projects/{project}/permissions/{user} removes a member"
        )
    };
    bad_request(
        server
            .admin(
                "PUT",
                &format!("{permissions}/dave@x.org"),
                Some(json!({"role_ids": []})),
            )
            .await,
        &no_roles("dave@x.org"),
    );
    server.add_user("erin@x.org");
    bad_request(
        server
            .admin(
                "POST",
                &permissions,
                Some(json!({"_id": "erin@x.org", "role_ids": []})),
            )
            .await,
        &no_roles("erin@x.org"),
    );
    assert_eq!(
        server.get(&format!("/projects/{project}")).await["permissions"],
        before
    );
    // The same `_id` as the URL is accepted; a role given twice is held once.
    server
        .put(
            &format!("{permissions}/dave@x.org"),
            json!({"_id": "dave@x.org", "role_ids": [RW_ROLE, RW_ROLE]}),
        )
        .await;
    server
        .post(
            &permissions,
            json!({"_id": "erin@x.org", "role_ids": [RO_ROLE, RW_ROLE, RO_ROLE]}),
        )
        .await;
    assert_eq!(
        server.get(&format!("{permissions}/dave@x.org")).await,
        json!({"_id": "dave@x.org", "role_ids": [RW_ROLE]})
    );
    assert_eq!(
        server.get(&format!("{permissions}/erin@x.org")).await,
        json!({"_id": "erin@x.org", "role_ids": [RO_ROLE, RW_ROLE]})
    );
    assert_eq!(
        server.get(&format!("{permissions}/carol@x.org")).await,
        json!({"_id": "carol@x.org", "role_ids": [RO_ROLE]})
    );
}

#[tokio::test]
async fn search_fields_it_does_not_apply_and_bad_sizes_are_refused() {
    let server = start().await;
    hierarchy(&server).await;
    let search = "/dataexplorer/search?simple=true";
    let unapplied = |fields: &str| {
        format!(
            "{fields}: not applied by fw-server's search; put the conditions in `structured_query`"
        )
    };
    for (body, expected) in [
        (
            json!({"return_type": "session", "filters": [{"terms": {"subject.code": ["x"]}}]}),
            unapplied("filters"),
        ),
        (
            json!({"return_type": "session", "search_string": "ses1"}),
            unapplied("search_string"),
        ),
        (
            json!({"return_type": "session", "all_data": true,
                   "sort": {"field": "session.label", "order": "asc"}}),
            unapplied("sort, all_data"),
        ),
        (
            json!({"return_type": "session", "size": -5}),
            "size: expected 0 or more, found -5".to_string(),
        ),
        (
            json!({"return_type": "session", "size": 10001}),
            "size: may be at most 10000, found 10001".to_string(),
        ),
    ] {
        bad_request(server.admin("POST", search, Some(body)).await, &expected);
    }
    // What the SDK's model sends is still served.
    let found = server
        .post(
            search,
            json!({"return_type": "session", "structured_query": "session.label = ses1",
                   "all_data": false, "size": 5}),
        )
        .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
}

#[tokio::test]
async fn skip_beside_page_and_non_utf8_query_values_are_refused() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    bad_request(
        server
            .admin("GET", "/projects?page=1&limit=1&skip=1", None)
            .await,
        "skip cannot be used with page: page starts at (page - 1) * limit",
    );
    bad_request(
        server.admin("GET", "/projects?filter=%ff", None).await,
        "filter: the value \"%ff\" is not UTF-8 once percent-decoded",
    );
    // A bulk download's `prefix` names the archive: refused, not decoded lossily.
    let body = json!({"nodes": [{"level": "project", "_id": project}], "optional": true});
    bad_request(
        server
            .admin("POST", "/download?prefix=%ff", Some(body.clone()))
            .await,
        "prefix: the value \"%ff\" is not UTF-8 once percent-decoded",
    );
    // UTF-8 that is percent-encoded reads as before.
    let projects = server.get("/projects?filter=label%3DProj&limit=1").await;
    assert_eq!(ids(&projects, "_id"), [project.as_str()]);
}

#[tokio::test]
async fn info_keys_that_sanitize_to_one_name_are_refused() {
    let server = start().await;
    let (_, subject, ..) = hierarchy(&server).await;
    let path = format!("/subjects/{subject}");
    server.put(&path, json!({"info": {"keep": 1}})).await;
    bad_request(
        server
            .admin("PUT", &path, Some(json!({"info": {"q_r": 1, "q.r": 2}})))
            .await,
        "info.q_r: the keys \"q.r\" and \"q_r\" both become \"q_r\" \
         (`.` becomes `_` and `$` becomes `-`); send one of them",
    );
    for (body, expected) in [
        (
            json!({"set": {"deep": {"a$b": 1, "a-b": 2}}}),
            "set.deep.a-b: the keys \"a$b\" and \"a-b\" both become \"a-b\"",
        ),
        (
            json!({"replace": {"x.y": 1, "x_y": 2}}),
            "replace.x_y: the keys \"x.y\" and \"x_y\" both become \"x_y\"",
        ),
    ] {
        bad_request(
            server
                .admin("PATCH", &format!("{path}/info"), Some(body))
                .await,
            &format!("{expected} (`.` becomes `_` and `$` becomes `-`); send one of them"),
        );
    }
    assert_eq!(server.get(&path).await["info"], json!({"keep": 1}));
}

#[tokio::test]
async fn the_recording_holds_no_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("requests.jsonl");
    let server = start_with(dir, |config| {
        config.record_requests = Some(record.clone());
        config.signed_urls = true;
    })
    .await;
    let (.., acquisition) = hierarchy(&server).await;
    let files = format!("/acquisitions/{acquisition}/files");
    let (ticket, url) = server.open_ticket_for_a_txt(&files).await;
    let status = server.http.put(url).body("hello").send().await.unwrap();
    assert_eq!(status.status(), 200);
    server
        .ok("POST", &format!("{files}?ticket={ticket}"), None)
        .await;
    server.add_file(&files, "b.txt", b"b").await;
    let download = server.get(&format!("{files}/b.txt?ticket=")).await;
    let download = download["ticket"].as_str().unwrap().to_string();
    let (status, bytes) = server
        .bytes(&format!("{files}/b.txt?ticket={download}"), ADMIN)
        .await;
    assert_eq!((status, bytes), (200, b"b".to_vec()));

    let text = std::fs::read_to_string(&record).unwrap();
    for secret in [&ticket, &download] {
        assert!(!text.contains(secret.as_str()), "a ticket in {text}");
    }
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let storage: Vec<&Value> = lines
        .iter()
        .filter(|l| l["path"].as_str().unwrap().starts_with("/storage/"))
        .collect();
    assert_eq!(storage.len(), 1, "{text}");
    assert_eq!(storage[0]["path"], "/storage/<ticket>/a.txt");
    let closes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["query"]["ticket"] == "<ticket>")
        .collect();
    // Opening and closing the upload ticket, asking for and using the download ticket:
    // each records its `ticket` as `<ticket>`.
    assert_eq!(closes.len(), 4, "{text}");
}
