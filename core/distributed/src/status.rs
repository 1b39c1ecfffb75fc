//! The scheduler's HTTP status endpoint and a small live HTML page.
//!
//! The scheduler publishes a [`StatusSnapshot`] (typically the current value of a
//! `tokio::sync::watch` channel) and the crate's status server exposes it over plain HTTP/1.1:
//!
//! | Route | Response |
//! |---|---|
//! | `GET /status.json`, `GET /api/status` | the snapshot as JSON (`application/json`, `Cache-Control: no-store`) |
//! | `GET /` | a self-contained HTML page that polls `/status.json` every 500 ms |
//! | anything else | `404 Not Found` (or `405 Method Not Allowed` for a known path with another method) |
//!
//! **Authentication.** Bound to a loopback address, the server asks for nothing. Bound to any
//! other address (e.g. `--status 0.0.0.0:8787`), the page and the JSON routes need the cluster's
//! token (the same one workers and clients present), given either in the URL,
//! `http://HOST:8787/?token=TOKEN` (the page passes it on to its own polls), or as a header,
//! `Authorization: Bearer TOKEN`; without it the answer is `401 Unauthorized`.
//!
//! **Limits.** The status server has its own connection cap and timeouts ([`StatusLimits`]:
//! by default 64 connections, 10 s idle, 10 s to send a request), apart from the cluster port,
//! so idle or slow HTTP clients cannot use up the file descriptors workers and clients need.
//! A connection over the cap is answered `503 Service Unavailable` and closed.
//!
//! The page has no external resources (no CDN, no fonts, no images), so it works on an offline cluster,
//! and it inserts every string it receives with `textContent`, never as HTML.
//!
//! Architecture invariant: this module only *reads* scheduler state through the snapshot closure.
//! It holds no lock on the scheduler and cannot change anything, so a slow or hostile HTTP client
//! can at worst cost one snapshot clone per request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

/// What the scheduler looks like right now: the body of `GET /status.json`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct StatusSnapshot {
    /// Version of the scheduler–worker protocol this scheduler speaks.
    pub protocol: u32,
    /// Address the scheduler listens on for workers and clients, e.g. `tcp://10.0.0.1:8786`.
    pub address: String,
    /// Seconds since the scheduler started.
    pub uptime_s: f64,
    /// Connected workers, in the order the scheduler chooses (the page shows them as given).
    pub workers: Vec<WorkerStatus>,
    /// Number of connected clients.
    pub clients: usize,
    /// How many tasks are in each scheduler state.
    pub tasks: TaskCounts,
    /// Cumulative progress since the scheduler started.
    pub progress: Progress,
}

/// One worker as the scheduler last saw it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStatus {
    /// The scheduler's id for this worker.
    pub id: u64,
    /// Address the worker listens on for peers.
    pub address: String,
    /// Number of tasks the worker runs at once.
    pub nthreads: usize,
    /// Tasks assigned to the worker and not yet finished.
    pub processing: usize,
    /// Keys whose results the worker holds.
    pub n_keys: usize,
    /// Bytes of results the worker holds in memory.
    pub memory_bytes: u64,
    /// The worker's memory limit in bytes, if it has one.
    pub memory_limit: Option<u64>,
    /// Bytes of results the worker has spilled to disk.
    pub spilled_bytes: u64,
    /// Whether the worker has paused taking new tasks (usually because of memory pressure).
    pub paused: bool,
    /// Milliseconds since the scheduler last heard from the worker (an age, not a timestamp).
    pub last_seen_ms: u64,
    /// Tasks the worker has finished since it connected.
    pub tasks_done: u64,
    /// Bytes of task inputs the worker fetched from other workers since it connected.
    #[serde(default)]
    pub fetched_bytes: u64,
}

/// Number of tasks in each scheduler state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// Waiting for dependencies.
    pub waiting: usize,
    /// Ready to run but held back by the scheduler until a worker has room.
    pub queued: usize,
    /// Assigned to a worker.
    pub processing: usize,
    /// Finished, with the result held in some worker's memory.
    pub memory: usize,
    /// Failed, or depends on a failed task.
    pub erred: usize,
    /// Known to the scheduler but forgotten (no longer wanted, or not yet wanted).
    pub released: usize,
    /// All tasks the scheduler knows about.
    pub total: usize,
}

/// Cumulative task progress: the progress bar's numbers.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Tasks that finished successfully.
    pub finished: u64,
    /// Tasks that failed.
    pub erred: u64,
    /// Tasks submitted by clients.
    pub submitted: u64,
}

/// The snapshot source [`serve`] calls once per request.
type SnapshotFn = Arc<dyn Fn() -> StatusSnapshot + Send + Sync>;

/// How many connections the status server holds and for how long: a limit of its own, apart
/// from the cluster port's, so that clients of the status page can never use up the file
/// descriptors workers and clients need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLimits {
    /// Connections open at once; one more is answered `503 Service Unavailable` and closed.
    pub max_connections: usize,
    /// How long a connection may sit without a request: after it is accepted and after each
    /// response (a keep-alive connection the client does not use), or stalled while a response
    /// is written to a client that does not read it.
    pub idle_timeout: Duration,
    /// How long a client may take to send a whole request once its first byte has arrived
    /// (a client dripping a request byte by byte is closed after this).
    pub header_read_timeout: Duration,
}

impl Default for StatusLimits {
    /// 64 connections, 10 s idle, 10 s to send a request.
    fn default() -> Self {
        StatusLimits {
            max_connections: 64,
            idle_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
        }
    }
}

/// What the handlers share: the snapshot source and the token, if one is required.
#[derive(Clone)]
struct AppState {
    snapshot: SnapshotFn,
    token: Option<Arc<str>>,
}

/// Serves the status on `listener` until `shutdown` resolves. `snapshot` is called per request (it is cheap: a clone of a watch channel's value).
///
/// `token`, if given and not empty, is required for `/status.json`, `/api/status` and the page
/// when the listener is bound to anything but a loopback address: as `?token=TOKEN` in the URL
/// (the page passes it on to its own requests) or an `Authorization: Bearer TOKEN` header;
/// without it the answer is `401 Unauthorized`. On a loopback address no token is asked for.
///
/// Connections are held within `limits` (see [`StatusLimits`]).
///
/// After `shutdown` resolves, no new connections are accepted, idle keep-alive connections are closed
/// and requests in flight are answered; then `serve` returns `Ok(())`.
/// It returns an error only if the listener's local address cannot be read.
///
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    snapshot: Arc<dyn Fn() -> StatusSnapshot + Send + Sync>,
    token: Option<String>,
    limits: StatusLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address = listener.local_addr()?;
    let token = match token.filter(|t| !t.is_empty()) {
        Some(t) if !address.ip().is_loopback() => Some(Arc::<str>::from(t)),
        None if !address.ip().is_loopback() => {
            tracing::warn!(%address, "the status page is served beyond loopback without a token");
            None
        }
        _ => None,
    };
    tracing::info!(%address, token_required = token.is_some(), "status page listening on http://{address}/");
    let listener = LimitedListener {
        inner: listener,
        permits: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))),
        refusing: Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1))),
        limits,
        refused: 0,
    };
    axum::serve(listener, router(AppState { snapshot, token })).with_graceful_shutdown(shutdown).await
}

/// The routes, separate from [`serve`] so the table in the module docs is the whole story.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/status.json", get(status_json))
        .route("/api/status", get(status_json))
        .fallback(not_found)
        .with_state(state)
}

/// Whether the request carries the token (`?token=` or `Authorization: Bearer`), or none is needed.
fn authorized(state: &AppState, uri: &Uri, headers: &HeaderMap) -> bool {
    let Some(token) = &state.token else { return true };
    let from_query = uri
        .query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|pair| pair.strip_prefix("token="))
        .any(|given| constant_time_eq(percent_decode(given).as_bytes(), token.as_bytes()));
    let from_header = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.strip_prefix("Bearer "))
        .any(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()));
    from_query || from_header
}

/// Decodes `%XX` escapes and `+` (tokens are hex, but a browser may escape what it is given).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits make at most 0xff.
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compares without stopping at the first difference, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The answer to a request without the token.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer"), (header::CACHE_CONTROL, "no-store")],
        "the status page needs the cluster's token: add ?token=TOKEN to the URL or send Authorization: Bearer TOKEN\n",
    )
        .into_response()
}

/// `GET /status.json`: a fresh snapshot as JSON, never cached.
async fn status_json(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorized(&state, &uri, &headers) {
        return unauthorized();
    }
    match serde_json::to_vec(&(state.snapshot)()) {
        Ok(body) => {
            ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
        }
        // Serialising these plain structs cannot fail today; answer 500 rather than panic if that ever changes.
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot serialise status: {err}\n")).into_response(),
    }
}

/// `GET /`: the live page.
async fn page(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !authorized(&state, &uri, &headers) {
        return unauthorized();
    }
    ([(header::CACHE_CONTROL, "no-store")], Html(PAGE)).into_response()
}

/// Any unknown path.
async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "not found: try / or /status.json\n")
}

/// The status port's listener: accepts while fewer than `limits.max_connections` connections
/// are open, answers any more with a 503 and closes them, and wraps each connection in the
/// [`StatusLimits`] timeouts.
struct LimitedListener {
    inner: tokio::net::TcpListener,
    permits: Arc<tokio::sync::Semaphore>,
    /// Connections being answered 503 (bounded too, so refusing cannot use up descriptors).
    refusing: Arc<tokio::sync::Semaphore>,
    limits: StatusLimits,
    refused: u64,
}

/// Answers `503 Service Unavailable` on a connection over the cap and closes it.
async fn refuse(mut tcp: TcpStream, _permit: OwnedSemaphorePermit) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = async {
        tcp.write_all(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n")
            .await?;
        tcp.shutdown().await?;
        // Drain what the client sent until it closes, so that the close is not a reset.
        let mut buf = [0u8; 4096];
        while tcp.read(&mut buf).await? > 0 {}
        Ok::<_, io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

impl axum::serve::Listener for LimitedListener {
    type Io = LimitedStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be released.
                    tracing::warn!(error = %e, "status page: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => return (LimitedStream::new(tcp, permit, self.limits), addr),
                Err(_) => {
                    self.refused += 1;
                    if self.refused.is_power_of_two() {
                        tracing::warn!(
                            limit = self.limits.max_connections,
                            refused = self.refused,
                            "status page: too many connections; refusing more"
                        );
                    }
                    // Answer 503 and close gracefully (closing with the request unread would reset
                    // the connection before the client reads the answer), within a second and
                    // with no more refusals in progress than the cap; past that, just close.
                    if let Ok(permit) = Arc::clone(&self.refusing).try_acquire_owned() {
                        tokio::spawn(refuse(tcp, permit));
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A status connection with its place under the connection cap (released on drop) and its
/// deadline: `idle_timeout` while no request is coming in (from accept, and from each response
/// written), `header_read_timeout` from the first byte of a request. When the deadline passes,
/// reads and writes fail with `TimedOut` and the server closes the connection.
struct LimitedStream {
    inner: TcpStream,
    _permit: OwnedSemaphorePermit,
    limits: StatusLimits,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// Bytes of a request have arrived since the last response was written.
    in_request: bool,
}

impl LimitedStream {
    fn new(inner: TcpStream, permit: OwnedSemaphorePermit, limits: StatusLimits) -> Self {
        let deadline = Box::pin(tokio::time::sleep(limits.idle_timeout));
        LimitedStream { inner, _permit: permit, limits, deadline, in_request: false }
    }

    fn restart(&mut self, after: Duration) {
        let at = tokio::time::Instant::now() + after;
        self.deadline.as_mut().reset(at);
    }

    /// Called when the inner stream is not ready: fails once the deadline has passed.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                if self.in_request { "status page: request not received in time" } else { "status page: idle" },
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && !this.in_request {
                    this.in_request = true;
                    let t = this.limits.header_read_timeout;
                    this.restart(t);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_deadline(cx),
        }
    }
}

impl LimitedStream {
    /// What a write returns: once a response is going out the request is complete and the idle
    /// clock starts again; a pending write still runs against the deadline.
    fn after_write(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match r {
            Poll::Ready(Ok(n)) => {
                self.in_request = false;
                let t = self.limits.idle_timeout;
                self.restart(t);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_deadline(cx).map(|r| r.map(|()| 0)),
        }
    }
}

impl AsyncWrite for LimitedStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The live status page: inline CSS and vanilla JS, no external resources.
/// Every string from the snapshot reaches the DOM through `textContent`.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rask scheduler</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  h2 { font-size: 1.05em; margin: 1.4em 0 .4em; }
  .muted { color: #777; }
  .err { color: #c62828; }
  .bar { position: relative; height: 1.3em; background: #e3e3e3; border-radius: 3px; overflow: hidden; }
  .bar > span { position: absolute; top: 0; bottom: 0; }
  .bar .done { background: #43a047; }
  .bar .fail { background: #e53935; }
  .bar .label { position: relative; display: block; text-align: center; font-size: .85em; line-height: 1.55em; }
  .counts { display: flex; flex-wrap: wrap; gap: .5em; }
  .counts div { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .3em .8em; min-width: 5.5em; }
  .counts b { display: block; font-size: 1.25em; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { border-bottom: 1px solid #e5e5e5; padding: .35em .6em; text-align: right; white-space: nowrap; }
  th { background: #f0f0f0; font-weight: 600; }
  th:first-child, td:first-child { text-align: left; }
  td { font-variant-numeric: tabular-nums; }
  .mem { display: flex; align-items: center; justify-content: flex-end; gap: .5em; }
  .mem .bar { width: 6em; height: .7em; }
  .mem .bar > span { left: 0; background: #1e88e5; }
  .mem .bar > span.high { background: #fb8c00; }
  .mem .bar > span.full { background: #e53935; }
  .mem .bar.none { visibility: hidden; }
  .paused { color: #e65100; font-weight: 600; }
</style>
</head>
<body>
<h1>Rask scheduler <span id="address"></span></h1>
<div class="muted">up <span id="uptime">–</span> · protocol <span id="protocol">–</span> ·
  <span id="clients">– clients</span> · <span id="conn">connecting…</span></div>

<h2>Progress</h2>
<div class="bar" id="progress"><span class="done" id="done"></span><span class="fail" id="fail"></span>
  <span class="label" id="progress-label">–</span></div>

<h2>Tasks</h2>
<div class="counts" id="counts"></div>

<h2>Workers (<span id="nworkers">0</span>)</h2>
<table>
  <thead><tr><th>Address</th><th>Threads</th><th>Processing</th><th>Keys</th><th>Done</th>
    <th>Memory</th><th>Spilled</th><th>Paused</th><th>Last seen</th></tr></thead>
  <tbody id="workers"></tbody>
</table>

<script>
"use strict";
const POLL_MS = 500;
// The token the page was opened with (?token=), passed on to its own requests.
const TOKEN = new URLSearchParams(location.search).get("token");
const AUTH = TOKEN ? "?token=" + encodeURIComponent(TOKEN) : "";
const $ = (id) => document.getElementById(id);

// Builds an element whose content is plain text (textContent), so data is never parsed as HTML.
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function duration(s) {
  s = Math.floor(s);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + sec + "s";
}

function pct(part, whole) { return whole > 0 ? Math.min(100, 100 * part / whole) : 0; }

function memoryCell(w) {
  const td = el("td"), box = el("div", undefined, "mem");
  const limit = w.memory_limit;
  box.append(el("span", bytes(w.memory_bytes) + (limit == null ? "" : " / " + bytes(limit))));
  // Without a limit the bar stays, invisible, so the numbers line up with the other rows.
  const bar = el("div", undefined, limit == null ? "bar none" : "bar"), fill = el("span");
  const p = limit == null ? 0 : pct(w.memory_bytes, limit);
  fill.style.width = p + "%";
  if (p >= 90) fill.className = "full"; else if (p >= 70) fill.className = "high";
  bar.append(fill);
  box.append(bar);
  td.append(box);
  return td;
}

function render(s) {
  $("address").textContent = s.address;
  $("uptime").textContent = duration(s.uptime_s);
  $("protocol").textContent = s.protocol;
  $("clients").textContent = s.clients === 1 ? "1 client" : s.clients + " clients";

  const p = s.progress;
  $("done").style.width = pct(p.finished, p.submitted) + "%";
  $("fail").style.left = pct(p.finished, p.submitted) + "%";
  $("fail").style.width = pct(p.erred, p.submitted) + "%";
  $("progress-label").textContent = p.finished + " / " + p.submitted + " finished" +
    (p.submitted ? " (" + Math.floor(pct(p.finished, p.submitted)) + "%)" : "") +
    (p.erred ? ", " + p.erred + " erred" : "");

  const states = ["waiting", "queued", "processing", "memory", "erred", "released", "total"];
  $("counts").replaceChildren(...states.map((k) => {
    const d = el("div", k);
    d.prepend(el("b", s.tasks[k], k === "erred" && s.tasks[k] ? "err" : ""));
    return d;
  }));

  $("nworkers").textContent = s.workers.length;
  const rows = s.workers.map((w) => {
    const tr = el("tr");
    tr.append(el("td", w.address), el("td", w.nthreads), el("td", w.processing), el("td", w.n_keys),
      el("td", w.tasks_done), memoryCell(w), el("td", bytes(w.spilled_bytes)),
      el("td", w.paused ? "paused" : "–", w.paused ? "paused" : "muted"),
      el("td", (w.last_seen_ms / 1000).toFixed(1) + " s ago"));
    return tr;
  });
  if (rows.length === 0) {
    const td = el("td", "no workers connected", "muted");
    td.colSpan = 9;
    rows.push(el("tr"));
    rows[0].append(td);
  }
  $("workers").replaceChildren(...rows);
}

// Polls one request at a time: the next one starts POLL_MS after the previous one ends.
async function poll() {
  try {
    const r = await fetch("/status.json" + AUTH, { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    render(await r.json());
    $("conn").textContent = "live";
    $("conn").className = "";
  } catch (e) {
    $("conn").textContent = "disconnected (" + e.message + ")";
    $("conn").className = "err";
  }
  setTimeout(poll, POLL_MS);
}
poll();
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;
    use tokio::task::JoinHandle;

    /// A running server: its address, the shutdown trigger and the task running [`serve`].
    struct Running {
        address: std::net::SocketAddr,
        stop: oneshot::Sender<()>,
        task: JoinHandle<std::io::Result<()>>,
    }

    async fn start(snapshot: SnapshotFn) -> Running {
        start_with("127.0.0.1:0", snapshot, None, StatusLimits::default()).await
    }

    /// Like [`start`], bound to `bind` with a token and limits; the address returned is on
    /// 127.0.0.1 even for a wildcard bind.
    async fn start_with(bind: &str, snapshot: SnapshotFn, token: Option<&str>, limits: StatusLimits) -> Running {
        let listener = TcpListener::bind(bind).await.unwrap();
        let mut address = listener.local_addr().unwrap();
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, snapshot, token.map(String::from), limits, async move {
            let _ = stopped.await;
        }));
        Running { address, stop, task }
    }

    /// Reads until the peer closes the connection (true) or `within` passes (false).
    async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buf = Vec::new();
        tokio::time::timeout(within, stream.read_to_end(&mut buf)).await.is_ok()
    }

    fn short_limits(max_connections: usize) -> StatusLimits {
        StatusLimits {
            max_connections,
            idle_timeout: Duration::from_millis(600),
            header_read_timeout: Duration::from_millis(600),
        }
    }

    #[tokio::test]
    async fn connections_over_the_cap_get_503_and_idle_ones_are_closed() {
        let server = start_with("127.0.0.1:0", Arc::new(sample), None, short_limits(4)).await;
        let mut idle = Vec::new();
        for _ in 0..4 {
            idle.push(TcpStream::connect(server.address).await.unwrap());
        }
        // Give the server a moment to accept them, then one more is refused at once.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let over = request(server.address, "GET", "/status.json").await;
        assert_eq!(over.status, 503, "{over:?}");
        assert_eq!(over.body, "too many connections\n");
        // Idle connections are closed by the server, which then answers again.
        for c in &mut idle {
            assert!(closed_within(c, Duration::from_secs(5)).await, "an idle connection was kept open");
        }
        assert_eq!(request(server.address, "GET", "/status.json").await.status, 200);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_request_dripped_byte_by_byte_is_cut_off_by_the_header_read_timeout() {
        let limits = StatusLimits { idle_timeout: Duration::from_secs(30), ..short_limits(4) };
        let server = start_with("127.0.0.1:0", Arc::new(sample), None, limits).await;
        let mut slow = TcpStream::connect(server.address).await.unwrap();
        let started = std::time::Instant::now();
        let mut cut_off = false;
        for b in b"GET /status.json HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*b]).await.is_err() {
                cut_off = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        assert!(
            cut_off || closed_within(&mut slow, Duration::from_secs(1)).await,
            "a dripping client held its connection"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
        server.stop().await;
    }

    /// Sends a GET with extra header lines and reads the reply's status.
    async fn status_of(address: std::net::SocketAddr, path: &str, extra: &str) -> u16 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{extra}\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8(raw).unwrap();
        raw.split(' ').nth(1).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn beyond_loopback_the_token_is_required_as_a_query_or_a_bearer_header() {
        let server = start_with("0.0.0.0:0", Arc::new(sample), Some("s3cr/t"), StatusLimits::default()).await;
        let a = server.address;
        for path in ["/status.json", "/api/status", "/"] {
            assert_eq!(status_of(a, path, "").await, 401, "{path} without the token");
            assert_eq!(status_of(a, &format!("{path}?token=wrong"), "").await, 401, "{path}");
            assert_eq!(status_of(a, &format!("{path}?token=s3cr%2Ft"), "").await, 200, "{path} with ?token=");
            assert_eq!(status_of(a, &format!("{path}?x=1&token=s3cr/t"), "").await, 200, "{path}");
            assert_eq!(status_of(a, path, "Authorization: Bearer s3cr/t\r\n").await, 200, "{path} with a header");
            assert_eq!(status_of(a, path, "Authorization: Bearer s3cr/x\r\n").await, 401, "{path}");
        }
        let reply = request(a, "GET", "/status.json").await;
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        assert!(reply.body.contains("?token="), "{}", reply.body);
        let reply = request(a, "GET", "/status.json?token=s3cr/t").await;
        assert_eq!(serde_json::from_str::<StatusSnapshot>(&reply.body).unwrap(), sample());
        server.stop().await;
        // On loopback no token is asked for.
        let server = start_with("127.0.0.1:0", Arc::new(sample), Some("s3cr/t"), StatusLimits::default()).await;
        assert_eq!(status_of(server.address, "/status.json", "").await, 200);
        server.stop().await;
    }

    impl Running {
        /// Triggers shutdown and checks that `serve` returns promptly and cleanly.
        async fn stop(self) {
            self.stop.send(()).unwrap();
            let result = tokio::time::timeout(Duration::from_secs(5), self.task).await;
            result.expect("serve did not return after shutdown").unwrap().unwrap();
        }
    }

    /// A parsed HTTP response.
    #[derive(Debug)]
    struct Reply {
        status: u16,
        /// Header names lower-cased.
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Reply {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }
    }

    /// Sends one raw HTTP/1.1 request with `Connection: close` and reads the reply to the end.
    async fn request(address: std::net::SocketAddr, method: &str, path: &str) -> Reply {
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("no end of headers");
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect::<Vec<_>>();
        let reply = Reply { status, headers, body: body.to_string() };
        assert_ne!(reply.header("transfer-encoding"), Some("chunked"), "the helper does not decode chunked bodies");
        reply
    }

    fn sample() -> StatusSnapshot {
        StatusSnapshot {
            protocol: 3,
            address: "tcp://127.0.0.1:8786".into(),
            uptime_s: 12.5,
            workers: vec![
                WorkerStatus {
                    id: 1,
                    address: "tcp://127.0.0.1:40001".into(),
                    nthreads: 4,
                    processing: 3,
                    n_keys: 17,
                    memory_bytes: 3 << 30,
                    memory_limit: Some(4 << 30),
                    spilled_bytes: 1 << 20,
                    paused: false,
                    last_seen_ms: 120,
                    tasks_done: 99,
                    fetched_bytes: 0,
                },
                WorkerStatus {
                    id: 2,
                    address: "<script>alert(1)</script>".into(),
                    memory_limit: None,
                    paused: true,
                    ..WorkerStatus::default()
                },
            ],
            clients: 2,
            tasks: TaskCounts { waiting: 5, queued: 1, processing: 3, memory: 17, erred: 1, released: 2, total: 29 },
            progress: Progress { finished: 118, erred: 1, submitted: 150 },
        }
    }

    #[tokio::test]
    async fn status_json_round_trips_with_no_store() {
        let server = start(Arc::new(sample)).await;
        for path in ["/status.json", "/api/status"] {
            let reply = request(server.address, "GET", path).await;
            assert_eq!(reply.status, 200, "{path}");
            assert_eq!(reply.header("content-type"), Some("application/json"), "{path}");
            assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
            let back: StatusSnapshot = serde_json::from_str(&reply.body).unwrap();
            assert_eq!(back, sample(), "{path}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn snapshot_is_taken_per_request() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let snapshot: SnapshotFn = Arc::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            StatusSnapshot { tasks: TaskCounts { total: n, ..TaskCounts::default() }, ..StatusSnapshot::default() }
        });
        let server = start(snapshot).await;
        let totals = [
            serde_json::from_str::<StatusSnapshot>(&request(server.address, "GET", "/status.json").await.body).unwrap(),
            serde_json::from_str::<StatusSnapshot>(&request(server.address, "GET", "/status.json").await.body).unwrap(),
        ]
        .map(|s| s.tasks.total);
        assert_eq!(totals, [1, 2]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        server.stop().await;
    }

    #[tokio::test]
    async fn page_is_self_contained_html_that_polls() {
        let server = start(Arc::new(StatusSnapshot::default)).await;
        let reply = request(server.address, "GET", "/").await;
        assert_eq!(reply.status, 200);
        assert!(reply.header("content-type").unwrap().starts_with("text/html"), "{:?}", reply.headers);
        assert!(reply.body.contains(r#"fetch("/status.json""#));
        assert!(reply.body.contains("POLL_MS = 500"));
        assert!(reply.body.contains("setTimeout(poll, POLL_MS)"));
        // Self-contained and safe: nothing loaded from elsewhere, no data through innerHTML.
        for banned in ["http://", "https://", "src=", "<link", "innerHTML", "@import"] {
            assert!(!reply.body.contains(banned), "page contains {banned:?}");
        }
        assert!(PAGE.lines().count() < 200, "page has {} lines", PAGE.lines().count());
        server.stop().await;
    }

    #[tokio::test]
    async fn unknown_path_is_404_and_other_methods_405() {
        let server = start(Arc::new(StatusSnapshot::default)).await;
        let reply = request(server.address, "GET", "/nope").await;
        assert_eq!(reply.status, 404);
        assert!(reply.body.contains("not found"));
        for path in ["/", "/status.json", "/api/status"] {
            assert_eq!(request(server.address, "POST", path).await.status, 405, "{path}");
        }
        assert_eq!(request(server.address, "DELETE", "/status.json").await.status, 405);
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_ends_serve_even_with_an_idle_keep_alive_connection() {
        let server = start(Arc::new(StatusSnapshot::default)).await;
        // A browser keeps its connection open between polls; shutdown must not wait for it.
        let mut idle = TcpStream::connect(server.address).await.unwrap();
        idle.write_all(b"GET /status.json HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = [0_u8; 1024];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        server.stop().await;
        // The server closed the idle connection rather than leaving it hanging.
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "idle connection still open after shutdown");
    }

    #[tokio::test]
    async fn shutdown_without_any_request_ends_serve() {
        start(Arc::new(StatusSnapshot::default)).await.stop().await;
    }
}
