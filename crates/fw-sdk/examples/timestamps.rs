//! Quick Reference, "Timestamps and age": set a timestamp with its zone, read it in UTC,
//! in the local zone and in the session's own zone (no extra crate), ages in
//! years/months/weeks/days.
//!
//! `cargo run -p fw-sdk --example timestamps [-- --api-key KEY]`

#[path = "common/mod.rs"]
mod common;

use chrono::{TimeZone, Utc};
use common::{check, step, study};
use fw_sdk::model::Timestamp;
use fw_sdk::{AgeHelpers, LocalTimes, TimestampHelpers};
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::main("Timestamps and age", |site| async move {
        let fw = &site.fw;
        let (_, project) = study(fw, "timestamps").await?;
        let session = project.sessions().find_first("label=baseline").await?.ok_or("no baseline")?;
        let when = Utc.with_ymd_and_hms(2020, 1, 1, 4, 30, 0).single().ok_or("no such time")?;
        let session = step("session.update(json!({\"timestamp\": …, \"timezone\": \"America/Chicago\"}))", async {
            session.update(json!({"timestamp": Timestamp::from_datetime(when), "timezone": "America/Chicago"})).await?;
            let again = session.reload().await?;
            check(again.timestamp().map(Timestamp::utc) == Some(when), "stored")?;
            Ok((again, format!("{when}")))
        })
        .await?;
        step("session.original_timestamp(), local_timestamp()", async {
            let original = session.original_timestamp()?.ok_or("no timestamp")?;
            check(original.to_rfc3339() == "2019-12-31T22:30:00-06:00", "in Chicago")?;
            let local = session.local_timestamp().ok_or("no timestamp")?;
            Ok(((), format!("original {original}, here {local}")))
        })
        .await?;
        step("session.age_years(), age_months(), age_weeks(), age_days()", async {
            let ages = (session.age_years(), session.age_months(), session.age_weeks(), session.age_days());
            check(ages.0 == Some(30.0) && ages.3 == Some(10957.5), "30 years")?;
            Ok(((), format!("{ages:?}")))
        })
        .await?;
        step("project.local_created(), local_modified()", async {
            let created = project.local_created().ok_or("no created time")?;
            Ok(((), format!("created {created}, modified {:?}", project.local_modified())))
        })
        .await?;
        Ok(())
    })
    .await
}
