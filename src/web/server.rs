//! The accept loop, with the limits a server on a hostile network needs: a cap on open
//! connections (when it is full, a new connection takes the place of the one idle longest;
//! when every connection is busy, it is answered 503 and closed at once), deadlines for each
//! TLS handshake and request head and for idle keep-alive (idle and slow-loris connections are
//! closed), a deadline for clients that stop reading (their connection is dropped), bounded
//! buffers per connection, and wrong credentials answered at a pace per client address.
//!
//! Each connection is served by hyper's HTTP/1.1 server in its own task; shutdown stops
//! accepting, answers held-back refusals at once, ends event streams, lets open requests finish
//! for a few seconds, then stops.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::auth::{Guesses, WrongCredentials};
use super::idle::{Idle, Member};
use crate::config::Http;

/// Connections the kernel may hold for the accept loop (capped by `net.core.somaxconn`): a
/// burst of connections waits there instead of having its SYNs dropped and retried a second
/// later.
const BACKLOG: u32 = 1024;

/// Kernel send buffer of each connection (Linux doubles it): with hyper's own bounded
/// buffers, what a client that does not read can make the agent hold.
const SEND_BUFFER: usize = 64 * 1024;
/// hyper's read and write buffer limit per connection; also the largest request head.
const MAX_BUFFER: usize = 64 * 1024;
/// File descriptors kept free for the agent's own files and sockets beyond `max_connections`.
const FD_RESERVE: u64 = 256;
/// How long shutdown lets open requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How often wrong credentials are summed up in the log.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(60);
/// The whole answer to a connection over `max_connections` while every connection is busy.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: text/plain; charset=utf-8\r\n\
    content-length: 21\r\n\
    retry-after: 5\r\n\
    connection: close\r\n\r\n\
    too many connections\n";

/// What the server counts, in the agent's registry.
#[derive(Clone)]
pub(crate) struct ServerMetrics {
    /// `venuemon_http_connections`.
    open: IntGauge,
    /// `venuemon_http_connections_rejected_total`.
    rejected: IntCounter,
    /// `venuemon_http_connections_dropped_total{reason}`.
    dropped: IntCounterVec,
}

/// Which deadline made the server close a connection before the client did.
#[derive(Debug, Clone, Copy)]
enum Closed {
    /// No complete request head within `header_timeout` (idle, slow-loris), or a kept-alive
    /// connection idle past `keep_alive_timeout`.
    Header,
    /// The TLS handshake took longer than `header_timeout`.
    Handshake,
    /// The client took none of a response's bytes for `send_timeout`.
    Send,
    /// The cap was full and this connection had been idle longest: a new one took its place.
    Evicted,
}

impl Closed {
    const ALL: [Closed; 4] = [
        Closed::Header,
        Closed::Handshake,
        Closed::Send,
        Closed::Evicted,
    ];

    fn label(self) -> &'static str {
        match self {
            Closed::Header => "header_timeout",
            Closed::Handshake => "handshake_timeout",
            Closed::Send => "send_timeout",
            Closed::Evicted => "evicted",
        }
    }
}

impl ServerMetrics {
    /// The server's metrics, registered in `registry`.
    pub(crate) fn new(registry: &Registry) -> ServerMetrics {
        let metrics = ServerMetrics {
            open: IntGauge::new(
                "venuemon_http_connections",
                "Open HTTP connections (at most [http] max_connections).",
            )
            .expect("the metric name is static and valid"),
            rejected: IntCounter::new(
                "venuemon_http_connections_rejected_total",
                "Connections over [http] max_connections while every connection was busy, \
                 answered 503 and closed.",
            )
            .expect("the metric name is static and valid"),
            dropped: IntCounterVec::new(
                Opts::new(
                    "venuemon_http_connections_dropped_total",
                    "Connections the agent closed: header_timeout (a request head not \
                     complete in time, or a kept-alive connection idle past \
                     keep_alive_timeout), handshake_timeout (TLS), send_timeout (the client \
                     stopped reading), evicted (idle longest when a new connection came with \
                     max_connections open).",
                ),
                &["reason"],
            )
            .expect("the metric name and label are static and valid"),
        };
        for reason in Closed::ALL {
            metrics.dropped.with_label_values(&[reason.label()]);
        }
        for metric in [
            Box::new(metrics.open.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.rejected.clone()),
            Box::new(metrics.dropped.clone()),
        ] {
            registry
                .register(metric)
                .expect("the registry is the agent's own and has no metric of these names");
        }
        metrics
    }

    fn dropped(&self, reason: Closed) {
        self.dropped.with_label_values(&[reason.label()]).inc();
    }
}

/// The connection a request came on, as its handlers see it (a request extension).
#[derive(Clone)]
pub(crate) struct Link {
    /// How the connection's writes are going.
    pub(crate) progress: Arc<Progress>,
    /// Fires when the server shuts down: an endless answer (an event stream) ends then.
    pub(crate) stopping: CancellationToken,
}

/// How a connection's writes are going, shared by its IO, its watchdog and its requests.
pub(crate) struct Progress {
    /// When this connection opened: the origin of `stalled_since`.
    opened: Instant,
    /// Milliseconds after `opened`, plus one, since a write found the socket full and none
    /// has gone through since; 0 while writes go through.
    stalled_since: AtomicU64,
    /// Set once the connection is being dropped because its client stopped reading.
    dropped: AtomicBool,
    /// Reads that brought bytes: how the head clock sees a request begin.
    reads: AtomicU64,
    /// Request heads waited for so far: the first one is the connection's first request.
    heads: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            opened: Instant::now(),
            stalled_since: AtomicU64::new(0),
            dropped: AtomicBool::new(false),
            reads: AtomicU64::new(0),
            heads: AtomicU64::new(0),
        }
    }

    /// Whether the connection was dropped because its client stopped reading.
    pub(crate) fn dropped(&self) -> bool {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Notes how a write (or flush) went: blocked, or through.
    fn note<T>(&self, poll: &Poll<io::Result<T>>, went_through: impl FnOnce(&T) -> bool) {
        match poll {
            Poll::Pending => {
                let now = self.opened.elapsed().as_millis();
                let now = u64::try_from(now).unwrap_or(u64::MAX - 1) + 1;
                let _ = self.stalled_since.compare_exchange(
                    0,
                    now,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
            Poll::Ready(Ok(value)) if went_through(value) => {
                self.stalled_since.store(0, Ordering::Relaxed);
            }
            Poll::Ready(_) => {}
        }
    }

    /// How long writes have been blocked, if they are.
    fn stalled_for(&self) -> Option<Duration> {
        match self.stalled_since.load(Ordering::Relaxed) {
            0 => None,
            since => {
                let since = self.opened + Duration::from_millis(since - 1);
                Some(Instant::now().saturating_duration_since(since))
            }
        }
    }

    /// Returns once writes have been blocked for `limit`, marking the connection dropped.
    async fn stall(&self, limit: Duration) {
        loop {
            let wait = match self.stalled_for() {
                Some(stalled) if stalled >= limit => break,
                Some(stalled) => limit - stalled,
                None => limit,
            };
            tokio::time::sleep(wait).await;
        }
        self.dropped.store(true, Ordering::Relaxed);
    }
}

/// A connection's byte stream, noting in its `Progress` whether writes go through.
struct Watched<I> {
    io: I,
    progress: Arc<Progress>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.progress.reads.fetch_add(1, Ordering::Relaxed);
        }
        poll
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.progress.note(&poll, |n| *n > 0);
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.progress.note(&poll, |n| *n > 0);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.progress.note(&poll, |()| true);
        poll
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_shutdown(cx);
        self.progress.note(&poll, |()| true);
        poll
    }
}

/// hyper's clock for the request-head deadline of one connection. hyper arms it when it
/// starts waiting for a head, for `header_timeout`; this clock moves that deadline: a
/// connection's first request must be complete `header_timeout` after the connection opened;
/// a later one may keep the connection idle for `keep_alive_timeout`, and must be complete
/// `header_timeout` after its first bytes came. hyper arms it only once the previous response
/// is written out, so it also tells the idle queue that the connection waits for a head.
struct HeadClock {
    progress: Arc<Progress>,
    member: Arc<Member>,
    header: Duration,
    keep_alive: Duration,
}

impl hyper::rt::Timer for HeadClock {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(std::time::Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.member.waiting();
        let armed = deadline.checked_sub(self.header).unwrap_or(deadline);
        let first = self.progress.heads.fetch_add(1, Ordering::Relaxed) == 0;
        Box::pin(HeadSleep {
            idle_until: if first {
                None
            } else {
                Some(armed + self.keep_alive)
            },
            header: self.header,
            deadline: deadline.into(),
            reads: self.progress.reads.load(Ordering::Relaxed),
            progress: Arc::clone(&self.progress),
            sleep: Box::pin(tokio::time::sleep_until(deadline.into())),
        })
    }
}

/// One request head's deadline (see `HeadClock`).
struct HeadSleep {
    /// While no byte of the head has come, on a kept-alive connection: the idle deadline.
    idle_until: Option<std::time::Instant>,
    header: Duration,
    /// The deadline in force.
    deadline: Instant,
    /// `Progress::reads` when the head was armed.
    reads: u64,
    progress: Arc<Progress>,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::rt::Sleep for HeadSleep {}

impl Future for HeadSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // hyper polls this after each read that did not complete the head.
        let deadline = match self.idle_until {
            Some(idle) if self.progress.reads.load(Ordering::Relaxed) == self.reads => idle.into(),
            Some(_) => {
                self.idle_until = None;
                Instant::now() + self.header
            }
            None => self.deadline,
        };
        if deadline != self.sleep.deadline() {
            self.deadline = deadline;
            self.sleep.as_mut().reset(deadline);
        }
        self.sleep.as_mut().poll(cx)
    }
}

/// What every connection task shares.
struct Shared {
    app: Router,
    http1: http1::Builder,
    tls: Option<TlsAcceptor>,
    header_timeout: Duration,
    keep_alive_timeout: Duration,
    send_timeout: Duration,
    guesses: Guesses,
    metrics: ServerMetrics,
    /// Fires at shutdown: held-back refusals go at once, so they do not hold the stop.
    stopping: CancellationToken,
}

/// A listener on `addr` with a backlog of 1024 connections.
///
/// # Errors
/// The address cannot be bound (in use, or not this host's).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's bind does: a restarted agent can listen while old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `app` on `listener` (over TLS with `tls`) with the limits of `http`, counting in
/// `metrics`, until `cancel` fires; then finishes open requests for up to 5 s. Every
/// connection is a task of its own, owned here: those still open after that (a TLS
/// handshake, a slow client) are aborted, and all have ended when this returns.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    app: Router,
    metrics: ServerMetrics,
    http: &Http,
    cancel: CancellationToken,
) {
    let max_connections = fit_file_limit(http.max_connections);
    let mut http1 = http1::Builder::new();
    http1
        .header_read_timeout(http.header_timeout)
        .max_buf_size(MAX_BUFFER);
    let shared = Arc::new(Shared {
        app,
        http1,
        tls: tls.map(|config| TlsAcceptor::from(Arc::new(config))),
        header_timeout: http.header_timeout,
        keep_alive_timeout: http.keep_alive_timeout,
        send_timeout: http.send_timeout,
        guesses: Guesses::new(http.auth_failures_per_second),
        metrics,
        stopping: cancel.clone(),
    });
    let slots = Arc::new(Semaphore::new(max_connections));
    let idle = Idle::new();
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut summary = tokio::time::interval_at(Instant::now() + SUMMARY_INTERVAL, SUMMARY_INTERVAL);
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = summary.tick() => {
                shared.guesses.log_summary();
                continue;
            }
            Some(_) = connections.join_next() => continue,
            () = cancel.cancelled() => break,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                failing = false;
                accepted
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Such as too many open files: wait for some to close.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "cannot accept connections; retrying every second");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(permit) => permit,
            // The cap is full: the connection idle longest closes as soon as it is told, and
            // its slot comes to this one.
            Err(_) if idle.evict() => {
                let permit = tokio::select! {
                    permit = Arc::clone(&slots).acquire_owned() => permit,
                    () = cancel.cancelled() => break,
                };
                shared.metrics.dropped(Closed::Evicted);
                permit.expect("the semaphore is never closed")
            }
            Err(_) => {
                shared.metrics.rejected.inc();
                refuse(&tcp, shared.tls.is_none());
                continue;
            }
        };
        let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(SEND_BUFFER);
        connections.spawn(connection(
            tcp,
            peer,
            permit,
            idle.join(),
            Arc::clone(&shared),
            graceful.watcher(),
        ));
    }
    drop(listener);
    shared.guesses.log_summary();
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("http connections still open at shutdown; closing them");
    }
    connections.shutdown().await;
}

/// Errors of one connection, not of the listener (as hyper's and axum's accept loops judge).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection over the cap, every connection being busy, with a fixed 503 when it
/// is plain HTTP (a TLS client would need a handshake first: it is just closed), without
/// waiting for anything. What the client already sent is read first, so that closing does not
/// reset the connection before the client reads the answer.
fn refuse(tcp: &TcpStream, plain: bool) {
    if plain {
        let mut request = [0; 2048];
        while matches!(tcp.try_read(&mut request), Ok(n) if n > 0) {}
        let _ = tcp.try_write(REFUSAL);
    }
}

/// Serves one connection: TLS handshake (if any), then HTTP/1.1 until the client closes it,
/// a deadline passes, it is evicted while idle (the accept loop counts that) or the server
/// shuts down.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    member: Member,
    shared: Arc<Shared>,
    watcher: Watcher,
) {
    shared.metrics.open.inc();
    let open = OpenConnection {
        gauge: shared.metrics.open.clone(),
        _slot: permit,
    };
    let member = Arc::new(member);
    match &shared.tls {
        None => http(tcp, peer.ip(), Arc::clone(&member), &shared, watcher).await,
        Some(acceptor) => {
            let handshake = tokio::time::timeout(shared.header_timeout, acceptor.accept(tcp));
            tokio::select! {
                biased;
                () = member.evicted() => {}
                // No request has begun: nothing for the shutdown to wait for.
                () = shared.stopping.cancelled() => {}
                handshake = handshake => match handshake {
                    Ok(Ok(tls)) => {
                        http(tls, peer.ip(), Arc::clone(&member), &shared, watcher).await;
                    }
                    Ok(Err(e)) => tracing::debug!(error = %e, "tls handshake failed"),
                    Err(_) => shared.metrics.dropped(Closed::Handshake),
                },
            }
        }
    }
    // Out of the idle queue before the slot comes free: an eviction only ever picks a
    // connection that still holds its slot.
    drop(member);
    drop(open);
}

/// Counts an open connection and holds its slot for as long as it lives.
struct OpenConnection {
    gauge: IntGauge,
    _slot: OwnedSemaphorePermit,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Serves HTTP/1.1 on `io` from `client`; `member` is its place in the idle queue.
async fn http<I>(io: I, client: IpAddr, member: Arc<Member>, shared: &Arc<Shared>, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let progress = Arc::new(Progress::new());
    let link = Link {
        progress: Arc::clone(&progress),
        stopping: shared.stopping.clone(),
    };
    let service_shared = Arc::clone(shared);
    let service_member = Arc::clone(&member);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let shared = Arc::clone(&service_shared);
        let link = link.clone();
        let started = service_member.busy();
        async move {
            if !started {
                // Evicted just as this head came in: the connection closes (below) without
                // an answer, as a server closing an idle kept-alive connection does.
                std::future::pending::<()>().await;
            }
            let mut request: Request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(link);
            let response = shared.app.clone().oneshot(request).await?;
            if response.extensions().get::<WrongCredentials>().is_some() {
                // The refusal waits its turn; a right credential never does. At shutdown
                // it goes at once: the server is going away, and a guesser cannot stop it.
                tokio::select! {
                    () = tokio::time::sleep_until(shared.guesses.turn(client, Instant::now())) => {}
                    () = shared.stopping.cancelled() => {}
                }
            }
            Ok::<_, Infallible>(response)
        }
    });
    let io = TokioIo::new(Watched {
        io,
        progress: Arc::clone(&progress),
    });
    let mut http1 = shared.http1.clone();
    http1.timer(HeadClock {
        progress: Arc::clone(&progress),
        member: Arc::clone(&member),
        header: shared.header_timeout,
        keep_alive: shared.keep_alive_timeout,
    });
    let served = watcher.watch(http1.serve_connection(io, service));
    tokio::select! {
        // An evicted connection is not served further, not even a head that just came.
        biased;
        () = member.evicted() => {}
        served = served => match served {
            Err(e) if e.is_timeout() => shared.metrics.dropped(Closed::Header),
            Err(e) => tracing::debug!(error = %e, "http connection ended with an error"),
            Ok(()) => {}
        },
        () = progress.stall(shared.send_timeout) => shared.metrics.dropped(Closed::Send),
    }
}

/// Raises the soft limit of open files to the hard limit, and returns the connection cap that
/// leaves the agent room for its own files and sockets under it: `wanted`, or less with a
/// warning.
fn fit_file_limit(wanted: usize) -> usize {
    let limit = match raise_file_limit() {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            return wanted;
        }
    };
    let room = usize::try_from(limit.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
    if wanted <= room {
        return wanted;
    }
    let fitted = room.max(1);
    tracing::warn!(
        max_connections = wanted,
        open_file_limit = limit,
        serving = fitted,
        reserved = FD_RESERVE,
        "[http] max_connections does not fit under the open-file limit; serving fewer \
         (raise LimitNOFILE= or ulimit -n, or lower max_connections)"
    );
    fitted
}

/// Sets the soft `RLIMIT_NOFILE` to the hard one; returns the soft limit now in force.
fn raise_file_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit, only read by the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::watch;

    use super::*;
    use crate::config::Config;
    use crate::hub::{Snapshot, ZoneSnapshot};
    use crate::tls;
    use crate::web::{AppState, app};

    /// A server started by [`start`].
    struct Serving {
        /// Where it listens.
        addr: SocketAddr,
        /// Stops it.
        cancel: CancellationToken,
        /// Its task, which ends when `serve` returns.
        server: tokio::task::JoinHandle<()>,
        /// Its snapshots: event streams follow them for as long as this is held.
        publish: watch::Sender<Arc<Snapshot>>,
    }

    /// The agent's router serving `snapshot` on a loopback port with the limits of `http`
    /// (over TLS with `tls`).
    async fn start(snapshot: Snapshot, http: Http, tls: Option<rustls::ServerConfig>) -> Serving {
        let (publish, snapshots) = watch::channel(Arc::new(snapshot));
        let config = Config::zero_config("test");
        let state = AppState::new(snapshots, &config.venue).with_http(&http);
        let metrics = state.server.clone();
        let listener = bind(([127, 0, 0, 1], 0).into()).expect("bind");
        let addr = listener.local_addr().expect("address");
        let cancel = CancellationToken::new();
        let app = app(state, http.request_timeout);
        let stop = cancel.clone();
        let server = tokio::spawn(async move {
            serve(listener, tls, app, metrics, &http, stop).await;
        });
        Serving {
            addr,
            cancel,
            server,
            publish,
        }
    }

    /// `[http]` with short deadlines for tests.
    fn quick() -> Http {
        Http {
            header_timeout: Duration::from_millis(500),
            send_timeout: Duration::from_millis(500),
            ..Config::zero_config("test").http
        }
    }

    /// A GET of `path` on its own connection: the whole answer, head and body.
    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The value of series `name` in the agent's `/metrics`.
    async fn series(addr: SocketAddr, name: &str) -> Option<String> {
        let metrics = get(addr, "/metrics").await;
        metrics.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_string)
        })
    }

    /// Polls `series` until it is `want`, for up to 5 s.
    async fn wait_for(addr: SocketAddr, name: &str, want: &str) {
        for _ in 0..100 {
            if series(addr, name).await.as_deref() == Some(want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} is {:?}, not {want}", series(addr, name).await);
    }

    #[test]
    fn the_connection_cap_fits_under_the_open_file_limit() {
        let limit = raise_file_limit().expect("the open-file limit");
        assert_eq!(fit_file_limit(10), 10);
        let room = usize::try_from(limit - FD_RESERVE).expect("a usize");
        assert_eq!(fit_file_limit(usize::MAX), room);
        assert_eq!(raise_file_limit().expect("the limit again"), limit);
    }

    #[test]
    fn the_refusal_is_a_complete_http_answer() {
        let text = std::str::from_utf8(REFUSAL).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_its_event_stream_is_dropped() {
        // Some 600 KB of tiles: more than both ends' socket buffers hold.
        let zones = (0..100)
            .map(|i| ZoneSnapshot {
                id: format!("hall-{i}"),
                name: format!("{i}{}", "Salle plénière ".repeat(200)),
                ..Default::default()
            })
            .collect();
        let snapshot = Snapshot {
            zones,
            ..Default::default()
        };
        let serving = start(snapshot, quick(), None).await;
        let addr = serving.addr;

        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket
            .set_recv_buffer_size(4096)
            .expect("small receive buffer");
        socket.connect(&addr.into()).expect("connect");
        socket.set_nonblocking(true).expect("non-blocking");
        let mut stalled = TcpStream::from_std(socket.into()).expect("tokio stream");
        stalled
            .write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("write");
        wait_for(addr, "venuemon_http_event_streams", "1").await;
        // Never read: within about send_timeout the agent drops the stream and its connection.
        wait_for(addr, "venuemon_http_event_streams", "0").await;
        wait_for(addr, "venuemon_http_event_streams_dropped_total", "1").await;
        let dropped = "venuemon_http_connections_dropped_total{reason=\"send_timeout\"}";
        assert_eq!(series(addr, dropped).await.as_deref(), Some("1"));
        assert!(get(addr, "/healthz").await.ends_with("\r\n\r\nok\n"));
        serving.cancel.cancel();
    }

    #[tokio::test]
    async fn a_kept_alive_connection_may_idle_longer_than_a_request_head_may_take() {
        let http = Http {
            keep_alive_timeout: Duration::from_millis(1500),
            ..quick()
        };
        let serving = start(Snapshot::default(), http, None).await;
        let addr = serving.addr;
        // How long after its answer the server closes a connection that then sends `then`.
        let closed_after = |then: &'static [u8]| async move {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            ask_ok(&mut tcp, "/healthz").await;
            let answered = Instant::now();
            tokio::time::sleep(Duration::from_millis(300)).await;
            tcp.write_all(then).await.expect("write");
            let mut rest = Vec::new();
            let _ = tcp.read_to_end(&mut rest).await;
            answered.elapsed()
        };
        // Idle: kept for keep_alive_timeout, though longer than header_timeout.
        let idle = closed_after(b"").await;
        assert!(idle >= Duration::from_millis(1400), "{idle:?}");
        assert!(idle < Duration::from_millis(2500), "{idle:?}");
        // A head begun after 300 ms has header_timeout from then, not the keep-alive time.
        let slow = closed_after(b"GET /hea").await;
        assert!(slow >= Duration::from_millis(750), "{slow:?}");
        assert!(slow < Duration::from_millis(1400), "{slow:?}");
        serving.cancel.cancel();
    }

    /// Asks `path` on the kept-alive connection `tcp` and reads its answer (which must end
    /// with `ok\n`).
    async fn ask_ok(tcp: &mut TcpStream, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        while !answer.ends_with(b"ok\n") {
            let mut chunk = [0; 1024];
            let n = tcp.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before the answer");
            answer.extend_from_slice(&chunk[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200 "));
    }

    /// Whether the server closes `tcp` within a second without sending anything.
    async fn closed_without_an_answer(tcp: &mut TcpStream) -> bool {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(1), tcp.read_to_end(&mut rest));
        matches!(closed.await, Ok(Ok(0)))
    }

    /// Whether `tcp` is still open and silent 100 ms from now.
    async fn still_open(tcp: &mut TcpStream) -> bool {
        let mut byte = [0; 1];
        let read = tokio::time::timeout(Duration::from_millis(100), tcp.read(&mut byte));
        read.await.is_err()
    }

    #[tokio::test]
    async fn a_new_connection_takes_the_place_of_the_one_idle_longest_when_the_cap_is_full() {
        let http = Http {
            max_connections: 4,
            max_event_streams: 1,
            ..Config::zero_config("test").http
        };
        let serving = start(Snapshot::default(), http, None).await;
        let addr = serving.addr;
        // Idle longest first: a kept-alive connection, two silent ones, a kept-alive one.
        let mut kept = TcpStream::connect(addr).await.expect("connect");
        ask_ok(&mut kept, "/healthz").await;
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        let mut silent_too = TcpStream::connect(addr).await.expect("connect");
        wait_for_open(&silent_too).await;
        let mut kept_too = TcpStream::connect(addr).await.expect("connect");
        ask_ok(&mut kept_too, "/healthz").await;

        // The cap is full: a newcomer is answered at once, in place of the kept-alive one.
        let started = Instant::now();
        let mut newcomer = TcpStream::connect(addr).await.expect("connect");
        ask_ok(&mut newcomer, "/healthz").await;
        assert!(started.elapsed() < Duration::from_millis(300));
        assert!(closed_without_an_answer(&mut kept).await);
        assert!(still_open(&mut silent).await);
        // The next one takes the place of the first silent one.
        assert!(get(addr, "/healthz").await.ends_with("\r\n\r\nok\n"));
        assert!(closed_without_an_answer(&mut silent).await);
        assert!(still_open(&mut silent_too).await && still_open(&mut kept_too).await);

        // The counts, asked on the newcomer's connection (a new one would take another place).
        let metrics = b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
        newcomer.write_all(metrics).await.expect("write");
        let mut answer = String::new();
        newcomer.read_to_string(&mut answer).await.expect("read");
        assert!(
            answer.contains("venuemon_http_connections_dropped_total{reason=\"evicted\"} 2\n"),
            "{answer}"
        );
        assert!(
            answer.contains("venuemon_http_connections_rejected_total 0\n"),
            "{answer}"
        );
        serving.cancel.cancel();
    }

    #[tokio::test]
    async fn with_every_connection_busy_a_new_one_gets_503_at_once_and_the_cap_frees_up() {
        let http = Http {
            max_connections: 4,
            max_event_streams: 4,
            ..quick()
        };
        let serving = start(Snapshot::default(), http, None).await;
        let addr = serving.addr;
        // Three event streams (busy as long as they last) and one silent connection.
        let mut streams = vec![follow(addr).await, follow(addr).await, follow(addr).await];
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        wait_for_open(&silent).await;
        // The silent one gives way, never a stream.
        assert!(get(addr, "/healthz").await.ends_with("\r\n\r\nok\n"));
        assert!(closed_without_an_answer(&mut silent).await);
        // (Three streams and the connection asking.)
        wait_for(addr, "venuemon_http_connections", "4").await;
        wait_for(addr, "venuemon_http_event_streams", "3").await;

        // Four streams: every connection is busy, and a newcomer is refused at once.
        streams.push(follow(addr).await);
        let started = Instant::now();
        let refused = get(addr, "/healthz").await;
        assert!(refused.starts_with("HTTP/1.1 503 "), "{refused}");
        assert!(refused.ends_with("too many connections\n"), "{refused}");
        assert!(started.elapsed() < Duration::from_millis(300));

        // A stream ends: the agent answers again.
        drop(streams.pop());
        let mut refusals = 1;
        let answer = loop {
            let answer = get(addr, "/healthz").await;
            if !answer.starts_with("HTTP/1.1 503 ") || refusals > 100 {
                break answer;
            }
            refusals += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
        let rejected = "venuemon_http_connections_rejected_total";
        assert_eq!(series(addr, rejected).await, Some(refusals.to_string()));
        let evicted = "venuemon_http_connections_dropped_total{reason=\"evicted\"}";
        assert_eq!(series(addr, evicted).await.as_deref(), Some("1"));
        assert_eq!(
            series(addr, "venuemon_http_event_streams").await.as_deref(),
            Some("3")
        );
        serving.cancel.cancel();
    }

    /// Gives the server a moment to take `tcp` from its backlog.
    async fn wait_for_open(tcp: &TcpStream) {
        tcp.writable().await.expect("connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    #[tokio::test]
    async fn event_streams_over_their_cap_get_503() {
        let http = Http {
            max_event_streams: 1,
            ..Config::zero_config("test").http
        };
        let serving = start(Snapshot::default(), http, None).await;
        let addr = serving.addr;
        let first = follow(addr).await;
        let second = get(addr, "/events").await;
        assert!(second.starts_with("HTTP/1.1 503 "), "{second}");
        assert!(second.contains("retry-after: 10"), "{second}");
        assert_eq!(
            series(addr, "venuemon_http_event_streams_rejected_total").await,
            Some("1".into())
        );
        drop(first);
        wait_for(addr, "venuemon_http_event_streams", "0").await;
        follow(addr).await;
        serving.cancel.cancel();
    }

    /// A GET of `path` over HTTPS, trusting `cert` only: the whole answer.
    async fn https_get(addr: SocketAddr, cert: &std::path::Path, path: &str) -> String {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for c in rustls::pki_types::CertificateDer::pem_file_iter(cert)
            .expect("cert")
            .flatten()
        {
            roots.add(c).expect("a root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut https = tokio_rustls::TlsConnector::from(Arc::new(client))
            .connect(name, tcp)
            .await
            .expect("handshake");
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        https.write_all(request.as_bytes()).await.expect("write");
        let mut answer = Vec::new();
        // (A close without TLS close_notify may be reported as an error after the body.)
        let _ = https.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// Opens `/events` and checks that the stream starts.
    async fn follow(addr: SocketAddr) -> TcpStream {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("write");
        let mut head = [0; 12];
        tcp.read_exact(&mut head).await.expect("the stream starts");
        assert_eq!(&head, b"HTTP/1.1 200");
        tcp
    }

    #[tokio::test]
    async fn a_failed_or_silent_tls_handshake_holds_up_no_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::testing::self_signed(dir.path(), "server");
        let config = tls::server_config(&files).expect("config");
        let serving = start(Snapshot::default(), quick(), Some(config)).await;
        let addr = serving.addr;

        // Silent: closed at header_timeout, before any handshake.
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        // Plain HTTP to the TLS port: the handshake fails, no HTTP answer.
        let plain = get(addr, "/healthz").await;
        assert!(!plain.starts_with("HTTP/"), "{plain}");

        // A real client is served meanwhile.
        let answer = https_get(addr, &files.cert, "/healthz").await;
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.ends_with("ok\n"), "{answer}");

        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(3), silent.read_to_end(&mut rest));
        assert!(closed.await.is_ok(), "the silent connection is closed");
        let metrics = https_get(addr, &files.cert, "/metrics").await;
        let dropped = "venuemon_http_connections_dropped_total{reason=\"handshake_timeout\"} 1";
        assert!(metrics.contains(dropped), "{metrics}");
        serving.cancel.cancel();
    }

    #[tokio::test]
    async fn over_tls_a_connection_still_in_its_handshake_gives_way() {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = crate::testing::self_signed(dir.path(), "server");
        let config = tls::server_config(&files).expect("config");
        let http = Http {
            max_connections: 2,
            max_event_streams: 1,
            ..Config::zero_config("test").http
        };
        let serving = start(Snapshot::default(), http, Some(config)).await;
        let addr = serving.addr;
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        let mut silent_too = TcpStream::connect(addr).await.expect("connect");
        wait_for_open(&silent_too).await;
        let answer = https_get(addr, &files.cert, "/healthz").await;
        assert!(answer.ends_with("\r\n\r\nok\n"), "{answer}");
        assert!(closed_without_an_answer(&mut silent).await);
        assert!(still_open(&mut silent_too).await);
        serving.cancel.cancel();
    }

    #[tokio::test]
    async fn regression_shutdown_releases_held_back_refusals_and_ends_event_streams() {
        use base64::Engine;
        const HELD: usize = 100;
        let http = Http {
            auth: Some(crate::config::Credentials {
                basic: Some(("crew".into(), "right".into())),
                bearer: None,
            }),
            auth_failures_per_second: 1,
            max_connections: 256,
            ..Config::zero_config("test").http
        };
        let serving = start(Snapshot::default(), http, None).await;
        let addr = serving.addr;
        let basic = |password: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("crew:{password}"))
        };
        // An event stream that the snapshots (still published) would keep open for ever.
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "GET /events HTTP/1.1\r\nhost: x\r\nauthorization: Basic {}\r\n\r\n",
            basic("right")
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        wait_for(addr, "venuemon_http_event_streams", "1").await;
        // Wrong guesses at one a second: all but the first wait up to 100 s for their turn.
        let mut guesses = Vec::new();
        for _ in 0..HELD {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            let request = format!(
                "GET / HTTP/1.1\r\nhost: x\r\nauthorization: Basic {}\r\n\r\n",
                basic("wrong")
            );
            tcp.write_all(request.as_bytes()).await.expect("write");
            guesses.push(tcp);
        }
        let failures = "venuemon_http_auth_failures_total{route_group=\"page\"}";
        wait_for(addr, failures, &HELD.to_string()).await;

        let asked = Instant::now();
        serving.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(1), serving.server)
            .await
            .expect("serve returns within 1 s of cancel")
            .expect("serve did not panic");
        let took = asked.elapsed();
        for mut tcp in guesses {
            let mut answer = Vec::new();
            tcp.read_to_end(&mut answer).await.expect("read");
            assert!(answer.starts_with(b"HTTP/1.1 401 "), "a refusal");
        }
        let mut rest = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(1), stream.read_to_end(&mut rest));
        assert!(ended.await.is_ok(), "the event stream ended");
        println!("shutdown with {HELD} held refusals and an event stream: {took:?}");
        drop(serving.publish);
    }
}
