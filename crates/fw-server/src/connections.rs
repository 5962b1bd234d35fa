//! Accepting and serving connections, with bounds a hostile or broken client cannot get
//! past: at most [`Limits::max_connections`] at once, a request head within
//! [`Limits::header_read_timeout`], no stall longer than [`Limits::idle_timeout`] in a
//! request body or in taking a reply, and a request body arriving at
//! [`Limits::min_body_rate`] or faster once [`Limits::body_grace`] is spent. (Issue 16:
//! 1,100 idle sockets, or 600 bodies trickled a byte every 5 s, used to stop the server
//! answering anyone.)
//!
//! `axum::serve` has none of these, so connections are served here with hyper's HTTP/1.1
//! server directly: its header-read timeout, a body wrapper for slow request bodies, and
//! a socket wrapper for stalled replies. HTTP/1.1 is what the Python SDK speaks.
//!
//! A request body that breaks either body rule is answered here, for every route and
//! whatever the handler (or the request recorder) made of the failed read: 408 in the
//! JSON error shape naming the rule, and the connection closes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
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
    /// The longest a request body may pause between bytes (the reply is then 408 and
    /// the connection closes), and the longest a client may take none of a reply's
    /// bytes (the connection closes). Default 60 s.
    pub idle_timeout: Duration,
    /// How long the server may wait for a request body's bytes before
    /// [`Limits::min_body_rate`] counts. Default 10 s.
    pub body_grace: Duration,
    /// The slowest average a request body may arrive at, in bytes per second: after
    /// waiting `body_grace + received / min_body_rate` in all for the client's bytes, the
    /// reply is 408 and the connection closes, so a client cannot hold a connection by
    /// trickling a body (Apache's `mod_reqtimeout` rule). Only time spent waiting for the
    /// client counts, not time the handler takes between reads. 0 turns the rule off.
    /// Default 8,192 (8 KiB/s).
    pub min_body_rate: u64,
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
            body_grace: Duration::from_secs(10),
            min_body_rate: 8 << 10,
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
    let rules = BodyRules::from(limits);
    let app = hyper_util::service::TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let broken = Arc::new(OnceLock::new());
        let request =
            request.map(|body| axum::body::Body::new(TimedBody::new(body, rules, broken.clone())));
        let reply = hyper::service::Service::call(&app, request);
        async move {
            let response = reply.await?;
            Ok::<_, std::convert::Infallible>(match broken.get() {
                Some(rule) => too_slow(rule),
                None => response,
            })
        }
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

/// The reply to a request whose body broke a rule: 408 naming it, and the connection
/// closes (the rest of the body is not read).
fn too_slow(rule: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::info!("a request body timed out: {rule}");
    let mut response =
        crate::error::ApiError::new(axum::http::StatusCode::REQUEST_TIMEOUT, rule).into_response();
    response.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}

/// The two rules a request body keeps (see [`Limits`]).
#[derive(Debug, Clone, Copy)]
struct BodyRules {
    idle: Duration,
    grace: Duration,
    /// Bytes per second; 0: no rate rule.
    rate: u64,
}

impl From<&Limits> for BodyRules {
    fn from(limits: &Limits) -> BodyRules {
        BodyRules {
            idle: limits.idle_timeout,
            grace: limits.body_grace,
            rate: limits.min_body_rate,
        }
    }
}

impl BodyRules {
    /// How long in all the server waits for the client's bytes of a body of which
    /// `received` bytes arrived; `None`: without end.
    fn allowance(&self, received: u64) -> Option<Duration> {
        if self.rate == 0 {
            return None;
        }
        // Whole seconds, then the remainder, so that no size overflows.
        let seconds = received / self.rate;
        let rest = Duration::from_secs_f64((received % self.rate) as f64 / self.rate as f64);
        Some(
            self.grace
                .saturating_add(Duration::from_secs(seconds))
                .saturating_add(rest),
        )
    }

    fn idle_message(&self) -> String {
        let seconds = self.idle.as_secs_f64();
        format!("no byte of the request body arrived for {seconds} s (the idle timeout)")
    }

    fn rate_message(&self) -> String {
        let (grace, rate) = (self.grace.as_secs_f64(), self.rate);
        format!(
            "the request body arrived too slowly: after the first {grace} s, a body must \
             arrive at {rate} bytes/s or faster (the minimum body rate)"
        )
    }
}

/// A request body that fails when a rule of [`BodyRules`] is broken, and then puts the
/// rule broken in `broken` so that the reply says so.
struct TimedBody {
    inner: Incoming,
    rules: BodyRules,
    received: u64,
    /// Time spent waiting for the client in waits that ended.
    waited: Duration,
    /// The wait in progress: when it began, and whether its deadline is the rate rule's.
    wait: Option<(Instant, bool)>,
    sleep: Pin<Box<Sleep>>,
    broken: Arc<OnceLock<String>>,
}

impl TimedBody {
    fn new(inner: Incoming, rules: BodyRules, broken: Arc<OnceLock<String>>) -> TimedBody {
        TimedBody {
            inner,
            rules,
            received: 0,
            waited: Duration::ZERO,
            wait: None,
            sleep: Box::pin(tokio::time::sleep(rules.idle)),
            broken,
        }
    }

    /// Starts the clock of a wait for the client, up to the nearer deadline of the two
    /// rules.
    fn start_wait(&mut self) {
        let now = Instant::now();
        let idle_at = now + self.rules.idle;
        let rate_at = self
            .rules
            .allowance(self.received)
            .map(|all| now + all.saturating_sub(self.waited));
        let (deadline, rate) = match rate_at {
            Some(at) if at < idle_at => (at, true),
            _ => (idle_at, false),
        };
        self.wait = Some((now, rate));
        self.sleep.as_mut().reset(deadline);
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let this = self.get_mut();
        if let Some(rule) = this.broken.get() {
            return Poll::Ready(Some(Err(timed_out(rule))));
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let Some((began, _)) = this.wait.take() {
                this.waited = this.waited.saturating_add(began.elapsed());
            }
            if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(Frame::data_ref)) {
                this.received = this
                    .received
                    .saturating_add(data.map_or(0, |d| d.len() as u64));
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.wait.is_none() {
            this.start_wait();
        }
        ready!(this.sleep.as_mut().poll(cx));
        let rate = this.wait.is_some_and(|(_, rate)| rate);
        let rule = if rate {
            this.rules.rate_message()
        } else {
            this.rules.idle_message()
        };
        let rule = this.broken.get_or_init(|| rule);
        Poll::Ready(Some(Err(timed_out(rule))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn timed_out(rule: &str) -> axum::BoxError {
    Box::new(io::Error::new(io::ErrorKind::TimedOut, rule.to_string()))
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
