//! Quick Reference, "Tags and notes": add and delete tags, add and delete notes, and
//! finders on tags.
//!
//! `cargo run -p fw-sdk --example tags_notes [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{check, step, study};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Tags and notes", |site| async move {
        let fw = &site.fw;
        let (_, project) = study(fw, "tags_notes").await?;
        let session = project
            .sessions()
            .find_first("label=followup")
            .await?
            .ok_or("no followup")?;
        step(
            "session.add_tag(\"Control\"), add_tag(\"Analysis Required\")",
            async {
                // Reruns on a real site: a tag is added only once.
                for tag in ["Control", "Analysis Required"] {
                    if !session
                        .reload()
                        .await?
                        .tags
                        .iter()
                        .flatten()
                        .any(|t| t == tag)
                    {
                        session.add_tag(tag).await?;
                    }
                }
                let tags = session.reload().await?.tags.clone().unwrap_or_default();
                check(tags.len() >= 2, "two tags")?;
                Ok(((), format!("{tags:?}")))
            },
        )
        .await?;
        step("session.delete_tag(\"Analysis Required\")", async {
            session.delete_tag("Analysis Required").await?;
            let tags = session.reload().await?.tags.clone().unwrap_or_default();
            check(!tags.iter().any(|t| t == "Analysis Required"), "deleted")?;
            Ok(((), format!("{tags:?}")))
        })
        .await?;
        step("project.sessions().find(\"tags=Control\")", async {
            let found = project.sessions().find("tags=Control").await?;
            check(found.iter().any(|s| s.id() == session.id()), "found by tag")?;
            Ok(((), format!("{} tagged", found.len())))
        })
        .await?;
        step("session.add_note(…), delete_note(id)", async {
            let note = session.add_note("This is a note").await?;
            let id = note.id.clone().ok_or("the note has no id")?;
            let notes = session.reload().await?.notes.clone().unwrap_or_default();
            check(
                notes.iter().any(|n| n.id.as_deref() == Some(id.as_str())),
                "the note is there",
            )?;
            session.delete_note(&id).await?;
            let notes = session.reload().await?.notes.clone().unwrap_or_default();
            check(
                !notes.iter().any(|n| n.id.as_deref() == Some(id.as_str())),
                "and gone",
            )?;
            Ok(((), format!("note {id} added and deleted")))
        })
        .await?;
        Ok(())
    })
    .await
}
