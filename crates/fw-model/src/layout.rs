//! How a bulk archive (docs/wire.md §11, the "classic" layout) names its folders and
//! files, so that fw-server writing an archive and fw-sdk's `download_tree` writing the
//! same tree to disk agree on every path.
//!
//! A folder is a container's label made safe as one path component
//! ([`folder_name`]), or for a container without a label [`fallback_label`]; it is made
//! unique among the folders and files beside it ([`unique`]), siblings taken in id order.

use std::collections::HashSet;

use serde_json::Value;

/// A folder name for a container without a label: a session's time (`%Y%m%d_%H%M` in its
/// time zone), then `uid`, then `code`, then `untitled`. `kind` is the container type
/// (`session`, …) and `doc` its wire JSON.
pub fn fallback_label(kind: &str, doc: &Value) -> String {
    let timestamp = (kind == "session")
        .then(|| doc["timestamp"].as_str())
        .flatten()
        .and_then(|t| crate::Timestamp::parse(t).ok())
        .map(|t| match doc["timezone"].as_str().map(|z| t.in_zone(z)) {
            Some(Ok(local)) => local.format("%Y%m%d_%H%M").to_string(),
            _ => t.utc().format("%Y%m%d_%H%M").to_string(),
        });
    timestamp
        .or_else(|| doc["uid"].as_str().map(str::to_string))
        .or_else(|| doc["code"].as_str().map(str::to_string))
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| "untitled".to_string())
}

/// A label made safe as one path component: trimmed; `/`, `\`, NUL and control
/// characters become `_`; empty becomes `untitled`, `.` and `..` become `_` and `__`.
pub fn folder_name(label: &str) -> String {
    let name: String = label
        .trim()
        .chars()
        .map(|ch| {
            if matches!(ch, '/' | '\\') || ch.is_control() {
                '_'
            } else {
                ch
            }
        })
        .collect();
    match name.as_str() {
        "" => "untitled".to_string(),
        "." | ".." => name.replace('.', "_"),
        _ => name,
    }
}

/// `name`, or `name_0`, `name_1`, … if it is taken; marks the result taken.
pub fn unique(name: String, taken: &mut HashSet<String>) -> String {
    let name = if taken.contains(&name) {
        (0..)
            .map(|i| format!("{name}_{i}"))
            .find(|candidate| !taken.contains(candidate))
            .unwrap_or(name)
    } else {
        name
    };
    taken.insert(name.clone());
    name
}

/// The label of a container's folder: its `label` if not blank, else [`fallback_label`].
pub fn folder_label(kind: &str, doc: &Value) -> String {
    doc["label"]
        .as_str()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| fallback_label(kind, doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_safe_and_unique() {
        let mut taken = HashSet::new();
        assert_eq!(unique(folder_name(" a/b "), &mut taken), "a_b");
        assert_eq!(unique(folder_name("a/b"), &mut taken), "a_b_0");
        assert_eq!(unique(folder_name("a\\b"), &mut taken), "a_b_1");
        assert_eq!(folder_name(".."), "__");
        assert_eq!(folder_name("  "), "untitled");
    }

    #[test]
    fn unlabelled_containers_fall_back_to_time_uid_code() {
        let session = json!({"timestamp": "2020-06-01T09:30:00+00:00", "timezone": "Europe/Paris"});
        assert_eq!(folder_label("session", &session), "20200601_1130");
        assert_eq!(
            folder_label("subject", &json!({"label": " ", "code": "c1"})),
            "c1"
        );
        assert_eq!(folder_label("acquisition", &json!({"uid": "1.2"})), "1.2");
        assert_eq!(folder_label("project", &json!({})), "untitled");
        assert_eq!(folder_label("project", &json!({"label": "P"})), "P");
        // Without a time zone, the time in UTC; only sessions name folders by time.
        let utc = json!({"timestamp": "2024-03-01T23:30:00+00:00", "uid": "1.2"});
        assert_eq!(fallback_label("session", &utc), "20240301_2330");
        assert_eq!(fallback_label("subject", &utc), "1.2");
    }
}
