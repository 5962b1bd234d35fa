//! Quick Reference, "Queries": finder filters (operators, regexes, info fields) and a
//! structured FlyQL search with typed results; a mistake is an error with a caret, and
//! nothing is sent.
//!
//! `cargo run -p fw-sdk --example queries [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{check, step, study};
use fw_sdk::Error;
use fw_sdk::model::SearchReturnType;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Finder filters and FlyQL search", |site| async move {
        let fw = &site.fw;
        let (_, project) = study(fw, "queries").await?;
        step("project.sessions().find(\"age<978285600\") (31 years, in seconds)", async {
            let found = project.sessions().find("age<978285600").await?;
            check(found.len() == 2, "the two baselines are under 31 years")?;
            Ok(((), format!("{} sessions younger than 31 years", found.len())))
        })
        .await?;
        step("session.acquisitions().find(\"label=~.*REST.*\")", async {
            let session = project.sessions().find_first("label=baseline").await?.ok_or("no baseline")?;
            let found = session.acquisitions().find("label=~.*REST.*").await?;
            check(found.len() == 1, "one resting-state run")?;
            Ok(((), format!("{:?}", found[0].label)))
        })
        .await?;
        step("fw.search(\"subject.sex = female AND session.label = baseline\")", async {
            let results = fw
                .search(
                    &format!("project.label = queries AND subject.sex = female AND session.label = baseline AND group._id = {}", common::GROUP),
                    SearchReturnType::Session,
                    Some(100),
                )
                .await?;
            check(results.len() == 1, "one female baseline")?;
            let session = results[0].session().ok_or("a session result")??;
            Ok(((), format!("session {} ({:?})", session.id(), session.label)))
        })
        .await?;
        step("a malformed query is refused before sending", async {
            match fw.search("subject.sex = = female", SearchReturnType::Session, None).await {
                Err(Error::QuerySyntax { .. }) => {}
                other => return Err(format!("expected a syntax error, got {other:?}").into()),
            }
            match fw.subjects().find("label=~(").await {
                Err(error @ Error::QuerySyntax { .. }) => Ok(((), format!("e.g. {error}").replace('\n', " | "))),
                other => Err(format!("expected a syntax error, got {other:?}").into()),
            }
        })
        .await?;
        Ok(())
    })
    .await
}
