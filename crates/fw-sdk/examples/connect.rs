//! Quick Reference, "Connect": a client, who am I, and what the site runs.
//!
//! `cargo run -p fw-sdk --example connect [-- --api-key KEY]` (a local Flywheel without a
//! key). In a script of your own, `Client::from_env()` reads `FW_API_KEY` or the Flywheel
//! CLI's login; the examples never do, so that they touch a real site only when told.

#[path = "common/mod.rs"]
mod common;

use common::{check, step};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main(
        "Connect: a client, the current user, the site's version and config",
        |site| async move {
            let fw = &site.fw;
            step("fw.get_current_user()", async {
                let me = fw.get_current_user().await?;
                let id = me.id.as_ref().map(|id| id.as_str().to_string());
                check(id.is_some(), "the user has an id")?;
                Ok((
                    (),
                    format!(
                        "{id:?}, {} {}",
                        me.firstname.unwrap_or_default(),
                        me.lastname.unwrap_or_default()
                    ),
                ))
            })
            .await?;
            step("fw.get_version()", async {
                let version = fw.get_version().await?;
                check(version.flywheel_release.is_some(), "a release")?;
                Ok(((), format!("release {:?}", version.flywheel_release)))
            })
            .await?;
            step("fw.get_config()", async {
                let config = fw.get_config().await?;
                Ok(((), format!("signed URLs: {:?}", config.signed_url)))
            })
            .await?;
            step("fw.auth_status()", async {
                let status = fw.auth_status().await?;
                Ok(((), format!("{status:?}").chars().take(80).collect()))
            })
            .await?;
            Ok(())
        },
    )
    .await
}
