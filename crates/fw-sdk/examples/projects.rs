//! Quick Reference, "Projects": find by group and label (`find`, `find_first`,
//! `find_one`), lookup by path, get by id, update, count subjects.
//!
//! `cargo run -p fw-sdk --example projects [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{GROUP, check, step, study};
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Projects", |site| async move {
        let fw = &site.fw;
        let (group, project) = study(fw, "projects").await?;
        let filter = format!("group={GROUP},label=projects");
        step(
            "fw.projects().find / find_first / find_one(\"group=…,label=projects\")",
            async {
                check(fw.projects().find(&filter).await?.len() == 1, "find")?;
                check(
                    fw.projects().find_first(&filter).await?.is_some(),
                    "find_first",
                )?;
                let one = fw.projects().find_one(&filter).await?;
                check(one.id() == project.id(), "find_one")?;
                Ok(((), one.id().to_string()))
            },
        )
        .await?;
        step("fw.lookup(\"<group>/projects\")", async {
            let node = fw.lookup(&format!("{GROUP}/projects")).await?;
            check(node.id() == Some(project.id()), "the same project")?;
            Ok(((), format!("{:?}", node.container_type())))
        })
        .await?;
        step(
            "group.projects().find_one(\"label=projects\"), fw.get_project(id)",
            async {
                let one = group.projects().find_one("label=projects").await?;
                let by_id = fw.get_project(one.id()).await?;
                check(by_id.label.as_deref() == Some("projects"), "get_project")?;
                Ok(((), format!("{:?}", by_id.label)))
            },
        )
        .await?;
        step("project.update(json!({\"description\": …}))", async {
            project
                .update(json!({"description": "made by the fw-sdk examples"}))
                .await?;
            let again = project.reload().await?;
            check(
                again.description.as_deref() == Some("made by the fw-sdk examples"),
                "updated",
            )?;
            Ok(((), format!("{:?}", again.description)))
        })
        .await?;
        step("project.subjects().all().len()", async {
            let count = project.subjects().all().await?.len();
            check(count == 2, "two subjects")?;
            Ok(((), format!("{count} subjects")))
        })
        .await?;
        Ok(())
    })
    .await
}
