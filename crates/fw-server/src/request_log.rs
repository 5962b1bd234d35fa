//! What the request log may show of a request. Tickets are credentials: a download ticket
//! (`?ticket=`) or a bulk download ticket is the only thing a keyless download needs, and a
//! signed-URL upload ticket (`/storage/{ticket}/{name}`) the only thing a storage PUT needs.
//! So the log shows the path without the query, and storage paths with the ticket hidden.

/// What stands in for a ticket in the log and in a recording.
pub(crate) const REDACTED: &str = "<ticket>";

/// The path of a request as the log shows it: no query, and no upload ticket.
pub(crate) fn loggable_path(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    match path.strip_prefix("/storage/") {
        Some(rest) => match rest.split_once('/') {
            Some((_ticket, name)) => format!("/storage/{REDACTED}/{name}"),
            None => format!("/storage/{REDACTED}"),
        },
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_never_reach_the_log() {
        let check = |uri: &str, expected: &str| {
            let uri: axum::http::Uri = uri.parse().unwrap();
            assert_eq!(loggable_path(&uri), expected);
        };
        check(
            "/storage/abc123/scan.nii.gz",
            "/storage/<ticket>/scan.nii.gz",
        );
        check("/storage/abc123", "/storage/<ticket>");
        check("/storage/abc123/a%2Fb", "/storage/<ticket>/a%2Fb");
        check(
            "/api/projects/p1/files/a.txt?ticket=secret",
            "/api/projects/p1/files/a.txt",
        );
        check("/api/download?ticket=secret", "/api/download");
        check("/api/projects", "/api/projects");
    }
}
