//! Quick Reference, "Permissions and roles": roles, a role added to a group, a user's
//! group permission (add, update, delete) and project permission with a role id, and what
//! that user then sees. On a real site, give an existing user with `--user ID`.
//!
//! `cargo run -p fw-sdk --example permissions [-- --api-key KEY --user ID]`

#[path = "common/mod.rs"]
mod common;

use common::{GROUP, check, check_reads_only, read_only_role, step, study};
use fw_sdk::Error;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Permissions and roles", |site| async move {
        let fw = &site.fw;
        let (group, project) = study(fw, "permissions").await?;
        let (user, user_client) = site.other_user().await?;
        let read_only = step("fw.get_all_roles(), fw.add_role_to_group", async {
            let id = read_only_role(fw, GROUP).await?;
            let roles = fw.get_all_roles().await?;
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
                check_reads_only(other).await?;
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
