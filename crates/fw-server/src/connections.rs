//! Accepting and serving connections, with bounds a hostile or broken client cannot get
//! past: at most [`Limits::max_connections`] at once, a request head within
//! [`Limits::header_read_timeout`], and no stall longer than [`Limits::idle_timeout`] in a
//! request body or in taking a reply. (Issue 16: 1,100 idle sockets used to stop the
//! server answering anyone.)
//!
//! `axum::serve` has none of these, so connections are served here with hyper's HTTP/1.1
//! server directly: its header-read timeout, a body wrapper for stalled request bodies, and
//! a socket wrapper for stalled replies. HTTP/1.1 is what the Python SDK speaks.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};

/// Bounds on connections, and how many database connections serve reads.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a request head (request line and headers) may take to arrive, counted
    /// from when the server is ready for it: after the connection opens, or after the
    /// previous reply on a kept-alive connection. So it is also how long an idle
    /// connection stays open. The connection is closed without a reply. Default 30 s.
    pub header_read_timeout: Duration,
    /// The longest a request body may pause between bytes (the handler then answers 400
    /// and the connection closes), and the longest a client may take none of a reply's
    /// bytes (the connection closes). Default 60 s.
    pub idle_timeout: Duration,
    /// Connections served at once. Past it, new connections wait in the listen queue
    /// until one closes; the timeouts above make sure one does. Default 512, under the
    /// usual limit of 1,024 open files, leaving room for the database and blobs.
    pub max_connections: usize,
    /// Database connections that serve reads at once (SQLite in WAL mode lets readers
    /// run beside the one writer). Default 4. With 1 every read waits for the one before.
    pub read_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            read_connections: 4,
        }
    }
}

/// Serves `app` on `listener` until `until` completes, then stops accepting, lets every
/// connection finish the request in flight, and returns.
///
/// # Errors
///
/// Never for a failed accept (logged, retried after a pause: running out of file
/// descriptors must not end the server); only if the connection bound's semaphore closes.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    until: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(until);
    loop {
        let permit = tokio::select! {
            () = &mut until => break,
            permit = permits.clone().acquire_owned() => permit.map_err(io::Error::other)?,
        };
        let stream = tokio::select! {
            () = &mut until => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (app, limits, stopping) = (app.clone(), limits.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(stream, app, &limits, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a permit until it ends.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

/// Serves one connection until it closes, or until `stopping` (then gracefully: the
/// request in flight is answered).
async fn connection(
    stream: TcpStream,
    app: Router,
    limits: &Limits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // hyper's own replies to heads it cannot parse become JSON (`parse_errors`).
    let io = TokioIo::new(crate::parse_errors::JsonParseErrors::new(StalledWrites {
        inner: stream,
        stall: Stall::new(limits.idle_timeout),
    }));
    let idle = limits.idle_timeout;
    let app = hyper_util::service::TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let request = request.map(|body| {
            axum::body::Body::new(StalledBody {
                inner: body,
                stall: Stall::new(idle),
            })
        });
        hyper::service::Service::call(&app, request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let stop = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stop => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("a connection ended: {e}");
    }
}

/// The clock of a stall: started when a poll finds no progress, stopped by progress.
struct Stall {
    idle: Duration,
    sleep: Pin<Box<Sleep>>,
    waiting: bool,
}

impl Stall {
    fn new(idle: Duration) -> Stall {
        Stall {
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            waiting: false,
        }
    }

    /// Progress: the clock stops.
    fn progressed(&mut self) {
        self.waiting = false;
    }

    /// No progress: starts the clock if it is not running; ready once `idle` has passed
    /// without progress.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.waiting {
            self.waiting = true;
            self.sleep.as_mut().reset(Instant::now() + self.idle);
        }
        self.sleep.as_mut().poll(cx)
    }
}

/// A request body that fails when no byte of it arrives for `idle`.
struct StalledBody {
    inner: Incoming,
    stall: Stall,
}

impl http_body::Body for StalledBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.stall.progressed();
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        ready!(this.stall.poll_expired(cx));
        let seconds = this.stall.idle.as_secs_f64();
        Poll::Ready(Some(Err(Box::new(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no byte of the request body arrived for {seconds} s"),
        )))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket whose writes fail when the client takes no byte for `idle`.
struct StalledWrites {
    inner: TcpStream,
    stall: Stall,
}

impl StalledWrites {
    /// What a write that returned `poll` means: progress stops the clock, a stall
    /// longer than `idle` is an error.
    fn check<T>(&mut self, poll: Poll<io::Result<T>>, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stall.progressed();
            return poll;
        }
        ready!(self.stall.poll_expired(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client took no byte of the reply in time",
        )))
    }
}
impl AsyncRead for StalledWrites {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StalledWrites {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.check(poll, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.check(poll, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(poll, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
