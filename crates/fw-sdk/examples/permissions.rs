//! Quick Reference, "Permissions and roles": roles, a role added to a group, a user's
//! group permission (add, update, delete) and project permission with a role id, and what
//! that user then sees. On a real site, give an existing user with `--user ID`.
//!
//! `cargo run -p fw-sdk --example permissions [-- --api-key KEY --user ID]`

#[path = "common/mod.rs"]
mod common;

use common::{GROUP, check, step, study};
use fw_sdk::Error;
use fw_sdk::model::DefaultRole;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Permissions and roles", |site| async move {
        let fw = &site.fw;
        let (group, project) = study(fw, "permissions").await?;
        let (user, user_client) = site.other_user().await?;
        let read_only = step("fw.get_all_roles(), fw.add_role_to_group", async {
            let roles = fw.get_all_roles().await?;
            let id = roles
                .iter()
                .find(|r| r.default_flywheel_role == Some(DefaultRole::Ro))
                .and_then(|r| r.id.clone())
                .ok_or("no read-only role")?;
            match fw.add_role_to_group(GROUP, json!({"_id": id})).await {
                Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
            Ok((
                id,
                format!("{} roles; read-only added to the group", roles.len()),
            ))
        })
        .await?;
        step(
            "group.add_permission, update_permission, delete_permission",
            async {
                match group
                    .add_permission(json!({"_id": user, "access": "ro"}))
                    .await
                {
                    Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                group
                    .update_permission(&user, json!({"access": "rw"}))
                    .await?;
                let permission = group.get_permission(&user).await?;
                check(
                    serde_json::to_value(&permission)?["access"] == "rw",
                    "now rw",
                )?;
                group.delete_permission(&user).await?;
                Ok(((), format!("{user}: ro, then rw, then removed")))
            },
        )
        .await?;
        step(
            "project.add_permission(json!({\"_id\": user, \"role_ids\": [read-only]}))",
            async {
                match project
                    .add_permission(json!({"_id": user, "role_ids": [read_only]}))
                    .await
                {
                    Ok(_) | Err(Error::AlreadyExists { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                let Some(other) = &user_client else {
                    return Ok(((), format!("{user} reads the project")));
                };
                let seen = other.projects().all().await?;
                check(seen.len() == 1, "the user sees the project")?;
                let denied = seen[0].update(json!({"label": "renamed"})).await;
                check(
                    matches!(denied, Err(Error::PermissionDenied { .. })),
                    "read-only",
                )?;
                Ok((
                    (),
                    format!("{user} reads the project; an update is Error::PermissionDenied"),
                ))
            },
        )
        .await?;
        Ok(())
    })
    .await
}
