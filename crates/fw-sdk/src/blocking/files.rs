//! Blocking file handles, transfers and search results: each holds the async value and the
//! client's runtime, as [`super::Container`] does; their methods are the twins of
//! `twins.rs`. Hand-written here: the types, fields through `Deref`, [`std::io::Read`] for
//! [`FileReader`], and `upload_reader`, which takes a [`std::io::Read`] where the async
//! method takes an `AsyncRead`.

use std::fmt;
use std::io::{self, Read};
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Runtime;
use fw_model::{FileEntry, HasFiles, SearchResponse};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::sync::mpsc;

use super::{Container, IntoBlocking};

/// Declares a blocking wrapper of an async value: the struct, `IntoBlocking` and
/// `as_async`.
macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident, $async_ty:ty) => {
        $(#[$doc])*
        pub struct $name {
            pub(super) inner: $async_ty,
            pub(super) runtime: Arc<Runtime>,
        }

        impl IntoBlocking for $async_ty {
            type Output = $name;
            fn into_blocking(self, runtime: &Arc<Runtime>) -> $name {
                $name {
                    inner: self,
                    runtime: runtime.clone(),
                }
            }
        }

        impl $name {
            /// The async value inside.
            pub fn as_async(&self) -> &$async_ty {
                &self.inner
            }
        }
    };
    // A handle: also Clone, Debug as the async value, and Deref to its wire value.
    ($(#[$doc:meta])* $name:ident, $async_ty:ty, deref $target:ty) => {
        wrapper!($(#[$doc])* $name, $async_ty);

        impl Clone for $name {
            fn clone(&self) -> Self {
                self.inner.clone().into_blocking(&self.runtime)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.inner.fmt(f)
            }
        }

        impl Deref for $name {
            type Target = $target;
            fn deref(&self) -> &$target {
                &self.inner
            }
        }
    };
}

wrapper!(
    /// A blocking file handle: [`crate::File`] (its entry through `Deref`: `file.name`,
    /// `file.size`, `file.hash`) and the runtime.
    File,
    crate::File,
    deref FileEntry
);

impl File {
    /// The file name.
    pub fn name(&self) -> &str {
        self.inner.name()
    }

    /// The entry.
    pub fn entry(&self) -> &FileEntry {
        self.inner.entry()
    }
}

wrapper!(
    /// [`crate::FileReader`] as a [`std::io::Read`]: each `read` waits for the next bytes
    /// on the client's runtime; memory stays at one network chunk. Not hash-checked, as
    /// the async reader.
    FileReader,
    crate::FileReader
);

impl fmt::Debug for FileReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::FileReader")
            .finish_non_exhaustive()
    }
}

impl Read for FileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.runtime.block_on(self.inner.read(buf))
    }
}

wrapper!(
    /// [`crate::FileDownload`], blocking: set options, then [`send`](FileDownload::send)
    /// it on the client's runtime. Same checks (size, `v0-sha384` hash) and resume.
    FileDownload,
    crate::FileDownload
);

impl fmt::Debug for FileDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.as_download().fmt(f)
    }
}

wrapper!(
    /// [`crate::FileUpload`], blocking: set options, then [`send`](FileUpload::send) it on
    /// the client's runtime; it returns blocking [`File`] handles.
    FileUpload,
    crate::FileUpload
);

impl fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::FileUpload")
            .finish_non_exhaustive()
    }
}

wrapper!(
    /// [`crate::SearchResult`] whose levels are blocking handles
    /// (`result.session()?.reload()?`); the wire value through `Deref`.
    SearchResult,
    crate::SearchResult,
    deref SearchResponse
);

/// How many bytes of a blocking reader go to the upload at a time.
const CHUNK: usize = 256 * 1024;

impl<K: HasFiles> Container<K> {
    /// [`crate::Container::upload_reader`], blocking: an upload of exactly `size` bytes
    /// read from `reader` (any [`std::io::Read`]) as the file `name`. The reader runs on a
    /// thread of its own and hands the upload a few chunks of 256 KiB ahead, so memory
    /// stays bounded. Read once: a failed attempt is not retried.
    pub fn upload_reader(
        &self,
        name: &str,
        size: u64,
        reader: impl Read + Send + 'static,
    ) -> FileUpload {
        self.inner
            .upload_reader(name, size, ChannelReader::spawn(reader))
            .into_blocking(&self.runtime)
    }
}

/// An `AsyncRead` over the chunks a thread reads from a blocking reader.
struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    offset: usize,
}

impl ChannelReader {
    fn spawn(mut reader: impl Read + Send + 'static) -> ChannelReader {
        let (tx, chunks) = mpsc::channel(4);
        std::thread::spawn(move || {
            loop {
                let mut chunk = vec![0; CHUNK];
                let item = match reader.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => {
                        chunk.truncate(n);
                        Ok(chunk)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                // A closed channel means the upload is over (done or failed): stop reading.
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        ChannelReader {
            chunks,
            current: Vec::new(),
            offset: 0,
        }
    }
}

impl AsyncRead for ChannelReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.offset == self.current.len() {
            match self.chunks.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                // The thread is done: end of input.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some(Ok(chunk))) => {
                    self.current = chunk;
                    self.offset = 0;
                }
            }
        }
        let n = buf.remaining().min(self.current.len() - self.offset);
        let start = self.offset;
        buf.put_slice(&self.current[start..start + n]);
        self.offset += n;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader gives every byte of a source larger than a chunk, in order, then ends,
    /// and passes a read error on.
    #[test]
    fn a_channel_reader_gives_the_source_whole() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let source: Vec<u8> = (0..CHUNK * 2 + 17).map(|i| (i % 251) as u8).collect();
        let mut reader = ChannelReader::spawn(io::Cursor::new(source.clone()));
        let mut read = Vec::new();
        runtime
            .block_on(reader.read_to_end(&mut read))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, source);

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let mut reader = ChannelReader::spawn(Broken);
        let err = runtime
            .block_on(reader.read_to_end(&mut Vec::new()))
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("disk gone"));
    }
}
