//! Quick Reference, "Metadata": `info`, the free-form key/value store of every container:
//! `update_info` (merge), `replace_info`, `delete_info` (dotted keys), and finders on it.
//!
//! `cargo run -p fw-sdk --example info [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{baseline, check, step};
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Info (custom metadata)", |site| async move {
        let fw = &site.fw;
        let (project, session) = baseline(fw, "info").await?;
        let acquisition = session.acquisitions().find_one("label=T1w").await?;
        step(
            "acquisition.replace_info(json!({\"splines\": 34}))",
            async {
                acquisition.replace_info(json!({"splines": 34})).await?;
                let info = acquisition.reload().await?.info.clone();
                check(
                    info == json!({"splines": 34}).as_object().cloned(),
                    "only splines",
                )?;
                Ok(((), format!("{info:?}")))
            },
        )
        .await?;
        step(
            "acquisition.update_info(json!({\"curve\": \"bezier\", \"scanner\": {…}}))",
            async {
                acquisition
                    .update_info(
                        json!({"curve": "bezier", "scanner": {"model": "Prisma", "field": 3}}),
                    )
                    .await?;
                let info = acquisition.reload().await?.info.clone().unwrap_or_default();
                check(info.len() == 3, "merged")?;
                Ok(((), format!("{} keys", info.len())))
            },
        )
        .await?;
        step(
            "acquisition.delete_info([\"splines\", \"scanner.field\"])",
            async {
                acquisition
                    .delete_info(["splines", "scanner.field"])
                    .await?;
                let info = acquisition.reload().await?.info.clone();
                check(
                    info == json!({"curve": "bezier", "scanner": {"model": "Prisma"}})
                        .as_object()
                        .cloned(),
                    "deleted",
                )?;
                Ok(((), format!("{info:?}")))
            },
        )
        .await?;
        step(
            "session.update(json!({\"info\": {…}})), then a finder on info",
            async {
                session
                    .update_info(json!({"hair": "black", "eyes": "blue"}))
                    .await?;
                let found = project.sessions().find("info.hair=black").await?;
                check(
                    found.iter().any(|s| s.id() == session.id()),
                    "found by info",
                )?;
                Ok((
                    (),
                    format!("{} session(s) with info.hair=black", found.len()),
                ))
            },
        )
        .await?;
        Ok(())
    })
    .await
}
