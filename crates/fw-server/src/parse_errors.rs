//! hyper's own error replies in the JSON error shape.
//!
//! When a request head cannot be parsed (headers over hyper's buffer or header-count limit,
//! a URI over its length limit, a malformed request line or header), hyper answers by
//! itself, before any service or middleware runs: a bare `431`, `414` or `400` with no body
//! (`hyper::proto::h1::role::Server::on_error`), then closes the connection. hyper offers no
//! hook to shape that reply, so [`JsonParseErrors`] does it at the socket: it recognises the
//! one reply hyper writes on its own (one of those statuses, no `content-type`, no body; a
//! reply of ours always carries a JSON body) and writes the JSON error shape in its place,
//! keeping the status. Issue 16: every rejection is JSON with its status.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The statuses hyper answers a request head it cannot parse with.
const HYPER_STATUSES: [u16; 3] = [400, 414, 431];

/// A socket whose writes of hyper's bare parse-error reply are replaced by the JSON error
/// shape.
pub(crate) struct JsonParseErrors<T> {
    inner: T,
    /// The replacement being written: its bytes, how many are written, and the length of
    /// hyper's reply, reported as written once the replacement is.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<T> JsonParseErrors<T> {
    pub(crate) fn new(inner: T) -> JsonParseErrors<T> {
        JsonParseErrors {
            inner,
            replacing: None,
        }
    }
}

/// The JSON reply to write instead of `written`, if `written` is hyper's bare reply to a
/// request head it could not parse: a whole response head with one of
/// [`HYPER_STATUSES`], no `content-type` and nothing after it.
fn replacement(written: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(written).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let (version, rest) = status_line.split_once(' ')?;
    if !version.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = rest.get(..3)?.parse().ok()?;
    if !HYPER_STATUSES.contains(&status) {
        return None;
    }
    let mut headers = Vec::new();
    for line in lines {
        let name = line.split_once(':')?.0.trim().to_ascii_lowercase();
        match name.as_str() {
            "content-type" => return None,
            "content-length" | "transfer-encoding" | "connection" => {}
            _ => headers.push(line),
        }
    }
    let message = match status {
        431 => {
            "the request's header fields are too large: a request line and headers of at \
                most about 400 KiB, and at most 100 headers"
        }
        414 => "the request's URI is too long",
        _ => "the request is not valid HTTP: its request line or a header is malformed",
    };
    let body = serde_json::json!({
        "message": message,
        "status_code": status,
        "request_id": crate::ids::random_hex(8),
    })
    .to_string();
    let mut reply = format!("{status_line}\r\n");
    for line in headers {
        reply.push_str(line);
        reply.push_str("\r\n");
    }
    reply.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    Some(reply.into_bytes())
}

impl<T: AsyncWrite + Unpin> JsonParseErrors<T> {
    /// Writes the replacement, if one is under way: ready with hyper's length once all of
    /// it is written.
    fn poll_replacing(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<usize>>> {
        let Some((bytes, done, original)) = self.replacing.as_mut() else {
            return Poll::Ready(None);
        };
        while *done < bytes.len() {
            match ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..])) {
                Ok(0) => return Poll::Ready(Some(Err(io::ErrorKind::WriteZero.into()))),
                Ok(n) => *done += n,
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
        let original = *original;
        self.replacing = None;
        Poll::Ready(Some(Ok(original)))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonParseErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // hyper repeats a write that was pending with the same bytes, so a replacement
        // under way continues whatever `buf` is.
        if this.replacing.is_none()
            && let Some(reply) = replacement(buf)
        {
            this.replacing = Some((reply, 0, buf.len()));
        }
        if let Some(result) = ready!(this.poll_replacing(cx)) {
            return Poll::Ready(result);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper writes a bodiless reply head as one slice; a partial vectored write is
        // allowed, so that slice goes alone through `poll_write`.
        let first = bufs.iter().find(|b| !b.is_empty());
        if let Some(first) = first
            && (self.replacing.is_some() || bufs.len() == 1 || replacement(first).is_some())
        {
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(Err(e)) = ready!(this.poll_replacing(cx)) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bare_parse_error_replies_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 10:00:00 GMT\r\n\r\n";
        let reply = String::from_utf8(replacement(bare).unwrap()).unwrap();
        let (head, body) = reply.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ndate: Mon, 30 Nov 2026 10:00:00 GMT"));
        assert!(head.contains("\r\ncontent-type: application/json"));
        assert!(head.contains(&format!("\r\ncontent-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["status_code"], 431);
        assert!(body["message"].as_str().unwrap().contains("too large"));
        // Replies of ours: JSON, a body, or another status.
        for ours in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 409 Conflict\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ] {
            assert!(replacement(ours).is_none(), "{}", String::from_utf8_lossy(ours));
        }
    }
}
