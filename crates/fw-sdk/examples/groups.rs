//! Quick Reference, "Groups": list, get by id, lookup, find by `_id`, and a group's
//! projects; `find_or_add_group` for scripts that rerun.
//!
//! `cargo run -p fw-sdk --example groups [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use common::{GROUP, check, step, study};
use fw_sdk::AnyContainer;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Groups", |site| async move {
        let fw = &site.fw;
        study(fw, "groups").await?;
        step("fw.groups().all()", async {
            let groups = fw.groups().all().await?;
            check(
                groups.iter().any(|g| g.id() == GROUP),
                "the examples' group is listed",
            )?;
            Ok(((), format!("{} groups", groups.len())))
        })
        .await?;
        let group = step("fw.get(GROUP)", async {
            let AnyContainer::Group(group) = fw.get(GROUP).await? else {
                return Err("not a group".into());
            };
            Ok((*group, format!("a group, label {:?}", GROUP)))
        })
        .await?;
        step("fw.lookup(GROUP), fw.groups().find(\"_id=…\")", async {
            let node = fw.lookup(GROUP).await?;
            check(node.id() == Some(group.id()), "lookup finds it")?;
            let found = fw.groups().find(&format!("_id={GROUP}")).await?;
            check(found.len() == 1, "one group with that id")?;
            Ok(((), "same group both ways".to_string()))
        })
        .await?;
        step("group.projects().find(\"label=groups\")", async {
            let projects = group.projects().find("label=groups").await?;
            check(projects.len() == 1, "the example's project")?;
            let all = fw.projects().find(&format!("group={GROUP}")).await?;
            Ok(((), format!("1 of {} projects in the group", all.len())))
        })
        .await?;
        step("fw.find_or_add_group (again)", async {
            let again = fw
                .find_or_add_group(json!({"_id": GROUP, "label": "fw-sdk examples"}))
                .await?;
            check(again.id() == group.id(), "the same group, no error")?;
            Ok(((), "an existing group is found, not an error".to_string()))
        })
        .await?;
        Ok(())
    })
    .await
}
