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

/// Now, as the server writes timestamps: `2024-01-02T03:04:05.678000+00:00`.
pub(crate) fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
