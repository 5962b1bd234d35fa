//! Quick Reference, "Acquisitions": a session's acquisitions, finders across the site
//! with `parents.project`, `find_one`, add (find or add), update.
//!
//! `cargo run -p fw-sdk --example acquisitions [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{baseline, check, step};
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Acquisitions", |site| async move {
        let fw = &site.fw;
        let (project, session) = baseline(fw, "acquisitions").await?;
        step("session.acquisitions().all()", async {
            let all = session.acquisitions().all().await?;
            check(all.len() >= 2, "T1w and rfMRI_REST_AP")?;
            Ok(((), format!("{} acquisitions", all.len())))
        })
        .await?;
        step(
            "fw.acquisitions().find(\"parents.project=<id>,label=T1w\")",
            async {
                let found = fw
                    .acquisitions()
                    .find(&format!("parents.project={},label=T1w", project.id()))
                    .await?;
                check(found.len() == 4, "one T1w per session")?;
                Ok(((), format!("{} T1w acquisitions", found.len())))
            },
        )
        .await?;
        step(
            "session.acquisitions().find_one(\"label=rfMRI_REST_AP\")",
            async {
                let one = session
                    .acquisitions()
                    .find_one("label=rfMRI_REST_AP")
                    .await?;
                Ok(((), one.id().to_string()))
            },
        )
        .await?;
        step(
            "session.find_or_add_acquisition, acquisition.update",
            async {
                let acquisition = session
                    .find_or_add_acquisition(json!({"label": "Localizer"}))
                    .await?;
                acquisition.update(json!({"label": "Localizer"})).await?;
                let files = acquisition
                    .reload()
                    .await?
                    .files
                    .clone()
                    .unwrap_or_default();
                Ok((
                    (),
                    format!(
                        "{} with {} files (uploads: part 2)",
                        acquisition.id(),
                        files.len()
                    ),
                ))
            },
        )
        .await?;
        Ok(())
    })
    .await
}
