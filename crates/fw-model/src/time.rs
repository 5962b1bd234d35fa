//! Timestamps as the server sends them, and the time helpers of the Python SDK.

use std::fmt;

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// An instant read from, or written to, the wire.
///
/// Reading accepts every ISO-8601 form a server may send: an offset, `Z`, no offset at all
/// (meaning UTC, as the historical core stored naive UTC), fractional seconds of any
/// length, a space instead of `T`. The text is kept, so writing the value back reproduces
/// it exactly. Values made in Rust are written as Python's `isoformat()` would write them,
/// which is what the official SDK sends. Two timestamps are equal when they are the same
/// instant.
#[derive(Clone)]
pub struct Timestamp {
    instant: DateTime<FixedOffset>,
    text: String,
}

impl Timestamp {
    /// Reads an ISO-8601 timestamp.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let instant =
            fw_filter::parse_datetime(text).ok_or_else(|| TimestampError(text.to_string()))?;
        Ok(Timestamp {
            instant,
            text: text.to_string(),
        })
    }

    /// A timestamp with an offset, written like `2024-05-06T07:08:09+02:00`.
    pub fn from_datetime<Z: TimeZone>(dt: DateTime<Z>) -> Timestamp {
        let instant = dt.fixed_offset();
        let text = format!(
            "{}{}",
            isoformat_naive(&instant.naive_local()),
            instant.format("%:z")
        );
        Timestamp { instant, text }
    }

    /// A timestamp without an offset, written like `2024-05-06T07:08:09`, as Python sends
    /// naive datetimes. It is read as UTC.
    pub fn from_naive(naive: NaiveDateTime) -> Timestamp {
        Timestamp {
            instant: Utc.from_utc_datetime(&naive).fixed_offset(),
            text: isoformat_naive(&naive),
        }
    }

    /// The instant, with the offset it was written with (UTC when it had none).
    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.instant
    }

    /// The instant in UTC.
    pub fn utc(&self) -> DateTime<Utc> {
        self.instant.with_timezone(&Utc)
    }

    /// The instant in this machine's time zone (the SDK's `local_*` helpers).
    pub fn local(&self) -> DateTime<Local> {
        self.instant.with_timezone(&Local)
    }

    /// The instant in the IANA time zone `zone`, such as `America/New_York`.
    pub fn in_zone(&self, zone: &str) -> Result<DateTime<Tz>, TimeZoneError> {
        let tz: Tz = zone
            .parse()
            .map_err(|_| TimeZoneError::Unknown(zone.to_string()))?;
        Ok(self.instant.with_timezone(&tz))
    }

    /// The text as read, or as written for values made in Rust.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, plus `.ffffff` when there are microseconds, like Python.
fn isoformat_naive(naive: &NaiveDateTime) -> String {
    if naive.and_utc().timestamp_subsec_micros() == 0 {
        naive.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        naive.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<Z: TimeZone> From<DateTime<Z>> for Timestamp {
    fn from(dt: DateTime<Z>) -> Self {
        Timestamp::from_datetime(dt)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A timestamp that is not ISO-8601.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO-8601 timestamp: {0:?}")]
pub struct TimestampError(String);

/// Why a timestamp could not be shown in its original time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeZoneError {
    /// The container has a timestamp but no `timezone`.
    #[error("the container has no timezone")]
    Missing,
    /// The `timezone` is not an IANA time zone name.
    #[error("unknown time zone {0:?}")]
    Unknown(String),
}

/// The session age helpers of the Python SDK: `age` is in seconds, divided by fixed
/// lengths (a year is 365.25 days, a month 30 days).
pub trait AgeHelpers {
    /// The age in seconds, if known.
    fn age_seconds(&self) -> Option<i64>;

    /// Age in years of 365.25 days.
    fn age_years(&self) -> Option<f64> {
        self.age_seconds().map(|s| s as f64 / 31_557_600.0)
    }
    /// Age in months of 30 days.
    fn age_months(&self) -> Option<f64> {
        self.age_seconds().map(|s| s as f64 / 2_592_000.0)
    }
    /// Age in weeks.
    fn age_weeks(&self) -> Option<f64> {
        self.age_seconds().map(|s| s as f64 / 604_800.0)
    }
    /// Age in days.
    fn age_days(&self) -> Option<f64> {
        self.age_seconds().map(|s| s as f64 / 86_400.0)
    }
}

impl AgeHelpers for crate::Session {
    fn age_seconds(&self) -> Option<i64> {
        self.age
    }
}

impl AgeHelpers for crate::Subject {
    fn age_seconds(&self) -> Option<i64> {
        self.age
    }
}

/// The timestamp helpers of sessions and acquisitions, which carry `timestamp` and the IANA
/// `timezone` it was taken in.
pub trait TimestampHelpers {
    /// The `timestamp` field.
    fn timestamp(&self) -> Option<&Timestamp>;
    /// The `timezone` field.
    fn timezone(&self) -> Option<&str>;

    /// The timestamp in this machine's time zone (`local_timestamp`).
    fn local_timestamp(&self) -> Option<DateTime<Local>> {
        self.timestamp().map(Timestamp::local)
    }

    /// The timestamp in the zone named by `timezone` (`original_timestamp`): `Ok(None)`
    /// without a timestamp, an error without a (valid) time zone.
    fn original_timestamp(&self) -> Result<Option<DateTime<Tz>>, TimeZoneError> {
        let Some(timestamp) = self.timestamp() else {
            return Ok(None);
        };
        let zone = self.timezone().ok_or(TimeZoneError::Missing)?;
        timestamp.in_zone(zone).map(Some)
    }
}

impl TimestampHelpers for crate::Session {
    fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }
    fn timezone(&self) -> Option<&str> {
        self.timezone.as_deref()
    }
}

impl TimestampHelpers for crate::Acquisition {
    fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref()
    }
    fn timezone(&self) -> Option<&str> {
        self.timezone.as_deref()
    }
}
