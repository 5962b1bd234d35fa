//! Ids, secrets and timestamps made by the server.

use std::sync::atomic::{AtomicU32, Ordering};

/// Random bytes from the operating system.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS's randomness failing is not something the server can go on without.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the operating system gave no randomness: {e}");
    }
    bytes
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n * 2);
    for _ in 0..n.div_ceil(16) {
        for b in random_bytes::<16>() {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out.truncate(n * 2);
    out
}

/// A new ObjectId, as MongoDB makes them: 4 bytes of seconds, 5 random bytes fixed per
/// process, and a 3-byte counter; so ids sort by creation time.
pub(crate) fn object_id() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    static PROCESS: std::sync::OnceLock<[u8; 5]> = std::sync::OnceLock::new();
    let process = PROCESS.get_or_init(random_bytes::<5>);
    let seconds = chrono::Utc::now().timestamp() as u32;
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
    let mut out = format!("{seconds:08x}");
    for b in process {
        out.push_str(&format!("{b:02x}"));
    }
    out.push_str(&format!("{count:06x}"));
    out
}

/// A new API key secret: 32 random bytes as hex.
pub(crate) fn new_secret() -> String {
    random_hex(32)
}

/// Now, as the server writes timestamps (see [`isoformat`]).
pub(crate) fn now() -> String {
    isoformat(chrono::Utc::now())
}

/// A UTC instant as Python's `isoformat()` writes an aware UTC time, the one form every
/// datetime the server stores and returns takes (docs/wire.md §15.2):
/// `2020-06-01T09:30:00+00:00`, with six fractional digits only when they are not zero.
/// Of one fixed width per case, these texts sort as their instants do (`+` < `.`).
pub(crate) fn isoformat(t: chrono::DateTime<chrono::Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// A datetime a client sent, as the UTC instant the server stores (docs/wire.md
/// §15.2): any ISO-8601 form fw-filter reads; no offset means UTC. The instant must lie
/// in years 1-9999 in UTC: outside them `isoformat` writes a year Python's `datetime`
/// cannot read (`+10000-…`, `0000-…`), and the SDK could no longer read the container.
///
/// # Errors
///
/// A 400 naming `field` when the text is not a date and time, or is one outside
/// 0001-01-01T00:00:00Z..=9999-12-31T23:59:59.999999Z once its offset is applied.
pub(crate) fn instant(text: &str, field: &str) -> Result<String, crate::error::ApiError> {
    use chrono::Datelike;
    let t = fw_filter::parse_datetime(text)
        .ok_or_else(|| {
            crate::error::ApiError::bad_request(format!(
                "{field}: expected a date and time (ISO 8601), found {text:?}"
            ))
        })?
        .with_timezone(&chrono::Utc);
    if !(1..=9999).contains(&t.year()) {
        return Err(crate::error::ApiError::bad_request(format!(
            "{field}: {text:?} is outside the years 1-9999 in UTC \
             (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
        )));
    }
    Ok(isoformat(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_are_stored_as_utc_instants() {
        let cases = [
            ("2020-06-01T09:30:00", "2020-06-01T09:30:00+00:00"),
            ("2020-06-01T09:00:00+05:00", "2020-06-01T04:00:00+00:00"),
            ("2020-06-01T05:00:00Z", "2020-06-01T05:00:00+00:00"),
            ("2020-06-01T01:30:00-04:00", "2020-06-01T05:30:00+00:00"),
            (
                "2020-06-01 09:30:00.25+0000",
                "2020-06-01T09:30:00.250000+00:00",
            ),
        ];
        for (sent, stored) in cases {
            assert_eq!(instant(sent, "timestamp").unwrap(), stored, "{sent}");
        }
        assert_eq!(
            instant("yesterday", "timestamp").unwrap_err().message,
            "timestamp: expected a date and time (ISO 8601), found \"yesterday\""
        );
        // Instants outside years 1-9999 in UTC, with the offset applied, are refused.
        for sent in [
            "9999-12-31T23:59:59-14:00",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00+01:00",
        ] {
            assert_eq!(
                instant(sent, "timestamp").unwrap_err().message,
                format!(
                    "timestamp: {sent:?} is outside the years 1-9999 in UTC \
                     (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z)"
                )
            );
        }
        for (sent, stored) in [
            (
                "9999-12-31T23:59:59.999999Z",
                "9999-12-31T23:59:59.999999+00:00",
            ),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"),
            ("0001-01-01T01:00:00+01:00", "0001-01-01T00:00:00+00:00"),
        ] {
            assert_eq!(instant(sent, "timestamp").unwrap(), stored, "{sent}");
        }
        // The stored texts sort as their instants.
        let mut texts: Vec<String> = [
            "2020-06-01T09:00:00+05:00",
            "2020-06-01T05:00:00Z",
            "2020-06-01T01:30:00-04:00",
            "2020-06-01T04:00:00.5Z",
        ]
        .iter()
        .map(|t| instant(t, "t").unwrap())
        .collect();
        texts.sort();
        assert_eq!(
            texts,
            [
                "2020-06-01T04:00:00+00:00",
                "2020-06-01T04:00:00.500000+00:00",
                "2020-06-01T05:00:00+00:00",
                "2020-06-01T05:30:00+00:00"
            ]
        );
    }

    #[test]
    fn ids_are_object_ids_in_creation_order() {
        let a = object_id();
        let b = object_id();
        assert!(a.len() == 24 && a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(a < b);
        assert_eq!(new_secret().len(), 64);
        assert_ne!(new_secret(), new_secret());
    }
}
