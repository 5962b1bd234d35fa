//! Quick Reference, "Finders": `find`, `find_first`, `find_one`, `iter_find`, listing
//! all, on the client and on containers, with sort, limit and `include_all_info`.
//!
//! `cargo run -p fw-sdk --example finders [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{check, step, study};
use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main(
        "Finders on the client and on containers",
        |site| async move {
            let fw = &site.fw;
            let (_, project) = study(fw, "finders").await?;
            step("fw.subjects().find(\"project=<id>\")", async {
                let found = fw
                    .subjects()
                    .find(&format!("project={}", project.id()))
                    .await?;
                check(found.len() == 2, "two subjects")?;
                Ok(((), format!("{} subjects", found.len())))
            })
            .await?;
            step("project.subjects().all()", async {
                let all = project.subjects().all().await?;
                check(all.len() == 2, "two subjects")?;
                Ok(((), format!("{} subjects", all.len())))
            })
            .await?;
            step("project.subjects().find(\"created>2018-10-31\")", async {
                let found = project.subjects().find("created>2018-10-31").await?;
                check(found.len() == 2, "made after 2018")?;
                Ok(((), format!("{} subjects", found.len())))
            })
            .await?;
            step("project.sessions().find_first(\"label=followup\")", async {
                let first = project.sessions().find_first("label=followup").await?;
                check(
                    first.as_ref().and_then(|s| s.label.as_deref()) == Some("followup"),
                    "a followup",
                )?;
                Ok(((), "Some(followup)".to_string()))
            })
            .await?;
            step("project.subjects().find_one(\"label=sub-02\")", async {
                let one = project.subjects().find_one("label=sub-02").await?;
                check(one.sex.as_deref() == Some("male"), "sub-02 is male")?;
                Ok(((), one.id().to_string()))
            })
            .await?;
            step(
                "project.sessions().sort(\"label:desc\").limit(1).iter_find(\"\")",
                async {
                    let labels: Vec<String> = project
                        .sessions()
                        .sort("label:desc")
                        .limit(1)
                        .iter_find("")?
                        .map_ok(|s| s.label.clone().unwrap_or_default())
                        .try_collect()
                        .await?;
                    check(
                        labels == ["followup", "followup", "baseline", "baseline"],
                        "sorted, every page",
                    )?;
                    Ok(((), format!("{labels:?} (pages of 1)")))
                },
            )
            .await?;
            step("fw.acquisitions().include_all_info(true).find(…)", async {
                let found = fw
                    .acquisitions()
                    .include_all_info(true)
                    .find(&format!("parents.project={},label=T1w", project.id()))
                    .await?;
                check(found.len() == 4, "a T1w per session")?;
                Ok((
                    (),
                    format!("{} acquisitions with their full info", found.len()),
                ))
            })
            .await?;
            Ok(())
        },
    )
    .await
}
