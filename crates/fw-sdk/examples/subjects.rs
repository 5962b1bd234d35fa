//! Quick Reference, "Subjects": find by label and fields, iterate, add (find or add, for
//! reruns), update fields and info.
//!
//! `cargo run -p fw-sdk --example subjects [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{check, step, study};
use futures_util::TryStreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Subjects", |site| async move {
        let fw = &site.fw;
        let (_, project) = study(fw, "subjects").await?;
        step("project.subjects().find(\"sex=male\")", async {
            let found = project.subjects().find("sex=male").await?;
            // sub-02, and on a rerun also sub-03 (made male below).
            let labels: Vec<_> = found.iter().filter_map(|s| s.label.clone()).collect();
            check(
                labels.first().map(String::as_str) == Some("sub-02"),
                "sub-02",
            )?;
            Ok(((), format!("{labels:?}")))
        })
        .await?;
        step("project.subjects().iter_find(\"\")", async {
            let count = project
                .subjects()
                .iter_find("")?
                .try_fold(0, |n, _| async move { Ok(n + 1) })
                .await?;
            check(count >= 2, "at least the two subjects")?;
            Ok(((), format!("{count} subjects streamed")))
        })
        .await?;
        let subject = step(
            "project.find_or_add_subject(json!({\"label\": \"sub-03\"}))",
            async {
                let subject = project
                    .find_or_add_subject(json!({"label": "sub-03", "sex": "female"}))
                    .await?;
                let again = project
                    .find_or_add_subject(json!({"label": "sub-03"}))
                    .await?;
                check(subject.id() == again.id(), "found the second time")?;
                Ok((subject, "made once, found on the second call".to_string()))
            },
        )
        .await?;
        step(
            "subject.update(json!({\"sex\": \"male\", \"info\": {…}}))",
            async {
                subject
                    .update(json!({"sex": "male", "info": {"key1": "val1"}}))
                    .await?;
                let again = subject.reload().await?;
                check(again.sex.as_deref() == Some("male"), "sex")?;
                check(
                    again.info.as_ref().and_then(|i| i.get("key1")) == Some(&json!("val1")),
                    "info",
                )?;
                Ok(((), format!("sex {:?}, info {:?}", again.sex, again.info)))
            },
        )
        .await?;
        step("project.subjects().find(\"info.key1=val1\")", async {
            let found = project.subjects().find("info.key1=val1").await?;
            check(found.len() == 1, "one subject with key1")?;
            Ok(((), format!("{:?}", found[0].label)))
        })
        .await?;
        Ok(())
    })
    .await
}
