//! Who may do what: the permission matrix and custom roles.

use crate::common::*;
use serde_json::{Value, json};

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
            .post(
                &format!("/projects/{project}/permissions"),
                json!({"_id": user, "role_ids": [role]}),
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
            Some(json!({"_id": "admin@local", "role_ids": [RO_ROLE]})),
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
        .delete(&format!("/projects/{project}/permissions/admin@local"))
        .await;
    assert_eq!(server.get("/projects").await.as_array().unwrap().len(), 0);
    // Spelt as Python clients spell flags (flywheel-sdk 17 sends `True`), as core read them.
    for flag in ["true", "True", "TRUE", "1"] {
        let path = format!("/projects?exhaustive={flag}");
        assert_eq!(
            server.get(&path).await.as_array().unwrap().len(),
            1,
            "{path}"
        );
    }
    for flag in ["false", "False", "0", "yes"] {
        let path = format!("/projects?exhaustive={flag}");
        assert_eq!(
            server.get(&path).await.as_array().unwrap().len(),
            0,
            "{path}"
        );
    }
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
    server
        .expect("POST", "/users", Some(json!({"_id": "eve@x.org"})), 200)
        .await;
}

#[tokio::test]
async fn custom_roles_grant_the_level_of_their_actions() {
    let server = start().await;
    let (project, _, _, acquisition) = hierarchy(&server).await;
    let key = server.add_user("uploader@x.org");
    let role = server
        .post("/roles", json!({"label": "Uploader", "actions": ["containers_view_metadata", "files_create_single"]}))
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
    let all = server.get("/roles").await;
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
        .get(&format!("/acquisitions/{acquisition}?join=origin"))
        .await;
    assert!(
        joined["join-origin"]["user"]["uploader@x.org"].is_object(),
        "{joined}"
    );
    let plain = server.get(&format!("/acquisitions/{acquisition}")).await;
    assert!(plain.get("join-origin").is_none());
    assert_eq!(
        server.get(&format!("/roles/{role_id}")).await["in_use"],
        true
    );
    // A role in use stays.
    server
        .expect("DELETE", &format!("/roles/{role_id}"), None, 409)
        .await;

    // Changing the role changes what its members may do.
    server
        .put(
            &format!("/roles/{role_id}"),
            json!({"actions": ["containers_view_metadata"]}),
        )
        .await;
    let (status, _) = upload(&server, &files, &key, "b.txt", b"b", None).await;
    assert_eq!(status, 403);
    let changed = server.get(&format!("/roles/{role_id}")).await;
    assert_eq!(
        changed["label"], "Uploader",
        "a partial update keeps the label"
    );
    let (status, _) = server
        .call("GET", &files.replace("/files", ""), &key, None)
        .await;
    assert_eq!(status, 200);
    // Default roles stay.
    server
        .expect(
            "PUT",
            "/roles/000000000000000000000a03",
            Some(json!({"label": "ro2"})),
            400,
        )
        .await;

    server
        .delete(&format!("/projects/{project}/permissions/uploader@x.org"))
        .await;
    server.delete(&format!("/roles/{role_id}")).await;
    server
        .expect("GET", &format!("/roles/{role_id}"), None, 404)
        .await;
}

/// docs/wire.md §15.6: a project permission `PUT` with `{"access": "admin"}` and no
/// `role_ids` answered 200 and stripped the user's roles (issue 16); now it is a 400 and
/// the roles stay. Unknown keys are 400s naming them, on groups too.
#[tokio::test]
async fn a_permission_without_its_roles_is_refused_and_changes_nothing() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    server.add_user("member@x.org");
    server.grant(&project, "member@x.org", RW_ROLE).await;
    let path = format!("/projects/{project}/permissions/member@x.org");
    refused(
        server
            .admin("PUT", &path, Some(json!({"access": "admin"})))
            .await,
        400,
        "access",
    );
    refused(
        server.admin("PUT", &path, Some(json!({}))).await,
        400,
        "role_ids",
    );
    assert_eq!(server.get(&path).await["role_ids"], json!([RW_ROLE]));
    refused(
        server
            .admin(
                "POST",
                "/groups/grp1/permissions",
                Some(json!({"_id": "member@x.org", "access": "ro", "role_ids": []})),
            )
            .await,
        400,
        "role_ids",
    );
}

/// A user with a role on a project but no group permission could read the project by id
/// but not `lookup` or `resolve` it by path (issue 16). A group is visible through the
/// projects one can see, everywhere a group is reached; other groups stay hidden.
#[tokio::test]
async fn a_group_is_visible_through_the_projects_one_can_see() {
    let server = start().await;
    let (project, ..) = hierarchy(&server).await;
    server
        .post("/groups", json!({"_id": "other", "label": "Other"}))
        .await;
    server
        .create("projects", json!({"label": "Hidden", "group": "other"}))
        .await;
    let key = server.add_user("member@x.org");
    server.grant(&project, "member@x.org", RO_ROLE).await;

    let (status, found) = server
        .call(
            "POST",
            "/lookup",
            &key,
            Some(json!({"path": ["grp1", "Proj"]})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["_id"], project.as_str());
    let (status, resolved) = server
        .call("POST", "/resolve", &key, Some(json!({"path": ["grp1"]})))
        .await;
    assert_eq!(status, 200, "{resolved}");
    let children: Vec<&str> = resolved["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["_id"].as_str())
        .collect();
    assert_eq!(children, [project.as_str()]);
    let (status, groups) = server.call("GET", "/groups", &key, None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["_id"].as_str())
        .collect();
    assert_eq!(ids, ["grp1"]);
    let (status, group) = server.call("GET", "/groups/grp1", &key, None).await;
    assert_eq!((status, group["label"].as_str()), (200, Some("Group One")));
    let (status, _) = server.call("GET", "/groups/other", &key, None).await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call("POST", "/lookup", &key, Some(json!({"path": ["other"]})))
        .await;
    assert_eq!(status, 404);
    // Seeing a group gives no right to change it.
    let (status, _) = server
        .call("PUT", "/groups/grp1", &key, Some(json!({"label": "Mine"})))
        .await;
    assert_eq!(status, 403);
}
