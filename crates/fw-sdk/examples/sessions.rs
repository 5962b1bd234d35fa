//! Quick Reference, "Sessions": a project's and a subject's sessions, finders by label
//! (exact and regex), get by id.
//!
//! `cargo run -p fw-sdk --example sessions [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{check, step, study};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Sessions", |site| async move {
        let fw = &site.fw;
        let (_, project) = study(fw, "sessions").await?;
        step("project.sessions().all()", async {
            let all = project.sessions().all().await?;
            check(all.len() == 4, "2 subjects × 2 sessions")?;
            Ok(((), format!("{} sessions", all.len())))
        })
        .await?;
        step(
            "project.sessions().find(\"label=baseline\"), \"label=~.*up\"",
            async {
                let exact = project.sessions().find("label=baseline").await?;
                let regex = project.sessions().find("label=~.*up").await?;
                check(exact.len() == 2 && regex.len() == 2, "two of each")?;
                Ok(((), "2 baseline, 2 matching .*up".to_string()))
            },
        )
        .await?;
        let subject = project.subjects().find_one("label=sub-01").await?;
        let session = step("subject.sessions().find_one(\"label=followup\")", async {
            let session = subject.sessions().find_one("label=followup").await?;
            Ok((session, "sub-01's followup".to_string()))
        })
        .await?;
        step("fw.get_session(id)", async {
            let again = fw.get_session(session.id()).await?;
            check(again.label.as_deref() == Some("followup"), "same session")?;
            let parent = again.parents.as_ref().and_then(|p| p.subject.clone());
            check(
                parent.as_ref().map(|p| p.as_str()) == Some(subject.id()),
                "its subject",
            )?;
            Ok(((), format!("parents.subject = {}", subject.id())))
        })
        .await?;
        Ok(())
    })
    .await
}
