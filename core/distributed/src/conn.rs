//! Connections: TCP (optionally TLS), framing, the handshake, and the security settings
//! every process of a cluster shares.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use super::protocol::{
    check_hello, decode, decode_batch, encode, frame_codec, Hello, HelloReply, ProtocolError, Role, DEFAULT_MAX_FRAME,
    HANDSHAKE_MAX_FRAME, MAGIC, PROTOCOL_VERSION,
};
use rask_core::Registry;

/// The environment variable holding the shared token.
pub const TOKEN_ENV: &str = "RASK_TOKEN";

/// How long a handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS for traffic between machines: a certificate and key for listening, and the CA that
/// signs every process's certificate for connecting (all PEM files).
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: tokio_rustls::TlsAcceptor,
    connector: tokio_rustls::TlsConnector,
    server_name: rustls::pki_types::ServerName<'static>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsConfig(server name {:?})", self.server_name)
    }
}

impl TlsConfig {
    /// Loads a certificate chain and private key (this process's identity) and the CA
    /// certificate that peers' certificates must chain to. `server_name` is the name peers'
    /// certificates are issued for (the same for every process of a cluster, e.g. `rask`).
    pub fn from_pem_files(cert: &Path, key: &Path, ca: &Path, server_name: &str) -> io::Result<Self> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", p.display())))
        };
        Self::from_pem(&read(cert)?, &read(key)?, &read(ca)?, server_name)
    }

    /// Like [`from_pem_files`](Self::from_pem_files), from PEM bytes.
    pub fn from_pem(cert: &[u8], key: &[u8], ca: &[u8], server_name: &str) -> io::Result<Self> {
        let bad = |what: &str, e: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"));
        let certs: Vec<_> = rustls_pemfile::certs(&mut &cert[..])
            .collect::<Result<_, _>>()
            .map_err(|e| bad("certificate", e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("certificate", "no certificate in the PEM data".into()));
        }
        let key = rustls_pemfile::private_key(&mut &key[..])
            .map_err(|e| bad("private key", e.to_string()))?
            .ok_or_else(|| bad("private key", "no private key in the PEM data".into()))?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls_pemfile::certs(&mut &ca[..]) {
            roots.add(ca.map_err(|e| bad("CA", e.to_string()))?).map_err(|e| bad("CA", e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("CA", "no certificate in the PEM data".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(roots);
        let client_verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| bad("client verifier", e.to_string()))?;
        let server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS", e.to_string()))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| bad("server certificate", e.to_string()))?;
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS", e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(certs, key)
            .map_err(|e| bad("client certificate", e.to_string()))?;
        let server_name = rustls::pki_types::ServerName::try_from(server_name.to_string())
            .map_err(|e| bad("server name", e.to_string()))?;
        Ok(TlsConfig {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(server)),
            connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
            server_name,
        })
    }
}

/// What every process of a cluster must agree on: the registry, the token, TLS and the frame cap.
#[derive(Clone, Debug)]
pub struct Security {
    /// The registry whose fingerprint is checked (and from which workers rebuild ops).
    pub registry: Arc<Registry>,
    /// The shared secret; empty turns authentication off (not recommended).
    pub token: String,
    /// TLS, if on.
    pub tls: Option<TlsConfig>,
    /// The largest frame accepted after the handshake.
    pub max_frame: usize,
    /// How long a cluster connection may go without a sign of life from its peer before it
    /// is treated as dead: connecting, the TLS and Rask handshakes, and (through TCP keepalive
    /// and `TCP_USER_TIMEOUT`) an established connection whose peer was cut off by a
    /// partition, which otherwise stays silent until TCP gives up, about 15 minutes later.
    /// Default 30 s, as Dask's `distributed.comm.timeouts.tcp`.
    pub tcp_timeout: Duration,
}

/// [`Security::tcp_timeout`]'s default.
pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(30);

impl Security {
    /// A registry with this token, no TLS and the default frame cap.
    pub fn new(registry: Arc<Registry>, token: impl Into<String>) -> Self {
        Security {
            registry,
            token: token.into(),
            tls: None,
            max_frame: DEFAULT_MAX_FRAME,
            tcp_timeout: DEFAULT_TCP_TIMEOUT,
        }
    }

    /// Security from the environment, as [`Client::connect_from_env`](super::Client::connect_from_env)
    /// documents: `$RASK_TOKEN` or the token file, `RASK_NO_AUTH=1`, and `$RASK_TLS_CERT`,
    /// `$RASK_TLS_KEY`, `$RASK_TLS_CA`, `$RASK_TLS_NAME`.
    pub fn from_env(registry: Arc<Registry>) -> rask_core::Result<Self> {
        let env_err = |m: String| rask_core::Error::Distributed(m);
        let no_auth = std::env::var("RASK_NO_AUTH").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        let token = if no_auth {
            String::new()
        } else if let Ok(t) = std::env::var(TOKEN_ENV) {
            t
        } else {
            let path = default_token_file();
            read_token(&path).map_err(|e| {
                env_err(format!("{e}; set {TOKEN_ENV}, or RASK_TOKEN_FILE, or RASK_NO_AUTH=1 to connect without one"))
            })?
        };
        if !no_auth && token.is_empty() {
            return Err(env_err("the token is empty; set RASK_NO_AUTH=1 to turn authentication off explicitly".into()));
        }
        let mut sec = Security::new(registry, token);
        let var = |k: &str| std::env::var_os(k).map(PathBuf::from);
        match (var("RASK_TLS_CERT"), var("RASK_TLS_KEY"), var("RASK_TLS_CA")) {
            (Some(cert), Some(key), Some(ca)) => {
                let name = std::env::var("RASK_TLS_NAME").unwrap_or_else(|_| "rask".into());
                let tls = TlsConfig::from_pem_files(&cert, &key, &ca, &name)
                    .map_err(|e| env_err(format!("TLS from RASK_TLS_CERT/KEY/CA: {e}")))?;
                sec = sec.with_tls(tls);
            }
            (None, None, None) => {}
            _ => {
                return Err(env_err(
                    "TLS needs all three of RASK_TLS_CERT, RASK_TLS_KEY and RASK_TLS_CA (PEM files)".into(),
                ))
            }
        }
        Ok(sec)
    }

    /// Turns TLS on.
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sets the frame cap.
    pub fn with_max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Sets [`tcp_timeout`](Self::tcp_timeout) (at least one second).
    pub fn with_tcp_timeout(mut self, timeout: Duration) -> Self {
        self.tcp_timeout = timeout.max(Duration::from_secs(1));
        self
    }

    fn hello(&self, role: Role) -> Hello {
        Hello {
            magic: MAGIC.into(),
            protocol: PROTOCOL_VERSION,
            role,
            fingerprint: self.registry.fingerprint_hex(),
            token: self.token.clone(),
            name: process_name(),
        }
    }
}

/// `host:pid`, for logs and refusal messages.
pub fn process_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// A new random token: 32 hex digits from the operating system's generator.
pub fn generate_token() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| io::Error::other(format!("no randomness for a token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The default token file: `$RASK_TOKEN_FILE`, else `~/.config/rask/token`.
pub fn default_token_file() -> PathBuf {
    if let Some(p) = std::env::var_os("RASK_TOKEN_FILE") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".config").join("rask").join("token")
}

/// The warning a token file deserves when its permissions let other users read it (any of
/// the group or other bits of mode 0o077 set, e.g. 0644), as ssh warns about private keys;
/// `None` when only the owner can read it, when it cannot be inspected, or off Unix.
/// [`read_token`] and [`load_or_create_token`] log this warning.
pub fn token_file_permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Some(format!(
                "the token file {} has mode {mode:04o}: other users can read the cluster's token; \
                 run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    None
}

fn warn_if_token_file_readable(path: &Path) {
    if let Some(warning) = token_file_permission_warning(path) {
        tracing::warn!("{warning}");
    }
}

/// Reads the token from `path`, or generates one and writes it there, readable by the user only.
/// An existing file that other users can read is used, with a warning
/// (see [`token_file_permission_warning`]).
pub fn load_or_create_token(path: &Path) -> io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            warn_if_token_file_readable(path);
            let t = s.trim().to_string();
            if t.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is empty", path.display())));
            }
            Ok(t)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let token = generate_token()?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_private(path, &token)?;
            Ok(token)
        }
        Err(e) => Err(io::Error::new(e.kind(), format!("cannot read the token file {}: {e}", path.display()))),
    }
}

/// Reads an existing token file, warning if other users can read it
/// (see [`token_file_permission_warning`]).
pub fn read_token(path: &Path) -> io::Result<String> {
    let s = std::fs::read_to_string(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read the token file {}: {e}", path.display())))?;
    warn_if_token_file_readable(path);
    Ok(s.trim().to_string())
}

fn write_private(path: &Path, contents: &str) -> io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

/// A TCP stream, plain or TLS.
pub enum Stream {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, as the connecting side.
    TlsClient(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// TLS, as the listening side.
    TlsServer(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Stream::Plain",
            Stream::TlsClient(_) => "Stream::TlsClient",
            Stream::TlsServer(_) => "Stream::TlsServer",
        })
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::TlsClient(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::TlsServer(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A framed connection after a successful handshake.
#[derive(Debug)]
pub struct Conn {
    framed: Framed<Stream, super::protocol::FrameCodec>,
    /// The id the scheduler assigned (outgoing connections to a scheduler).
    pub id: u64,
}

impl Conn {
    /// Sends a batch of messages.
    pub async fn send<T: Serialize>(&mut self, batch: &[T]) -> Result<(), ProtocolError> {
        self.framed.send(encode(&batch)?).await.map_err(ProtocolError::Io)
    }

    /// Receives a batch; `Closed` at end of stream.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, ProtocolError> {
        match self.framed.next().await {
            Some(Ok(frame)) => decode_batch(&frame),
            Some(Err(e)) => Err(read_error(e)),
            None => Err(ProtocolError::Closed),
        }
    }

    /// Splits into a sink and a stream for concurrent reading and writing.
    pub fn split(self) -> (ConnWriter, ConnReader) {
        let (w, r) = self.framed.split();
        (ConnWriter { sink: w }, ConnReader { stream: r })
    }
}

type FramedConn = Framed<Stream, super::protocol::FrameCodec>;

/// The writing half of a [`Conn`].
#[derive(Debug)]
pub struct ConnWriter {
    sink: futures_util::stream::SplitSink<FramedConn, Bytes>,
}

impl ConnWriter {
    /// Sends a batch of messages.
    pub async fn send<T: Serialize>(&mut self, batch: &[T]) -> Result<(), ProtocolError> {
        self.sink.send(encode(&batch)?).await.map_err(ProtocolError::Io)
    }
}

/// The reading half of a [`Conn`].
#[derive(Debug)]
pub struct ConnReader {
    stream: futures_util::stream::SplitStream<FramedConn>,
}

impl ConnReader {
    /// Receives a batch; `Closed` at end of stream.
    pub async fn recv<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, ProtocolError> {
        match self.stream.next().await {
            Some(Ok(frame)) => decode_batch(&frame),
            Some(Err(e)) => Err(read_error(e)),
            None => Err(ProtocolError::Closed),
        }
    }
}

/// A read error as the protocol sees it. A TLS peer that closes without `close_notify` (every
/// process that exits, and every dropped connection: nothing here sends one) is a plain end of
/// stream: frames carry their own lengths, so a frame cut short is dropped, never decoded, and
/// a cut between frames loses nothing a closed connection would not.
fn read_error(e: io::Error) -> ProtocolError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        ProtocolError::Closed
    } else {
        ProtocolError::Io(e)
    }
}

/// TCP keepalive and (on Linux) `TCP_USER_TIMEOUT` on a cluster connection, as Dask's
/// `set_tcp_timeout`: probes start after a quarter of `timeout` of silence, and the connection
/// fails once `timeout` passes without an answer or with sent data unacknowledged, so a peer
/// behind a partition is found dead in `timeout` instead of after TCP's own retries.
pub(crate) fn set_tcp_timeout(tcp: &TcpStream, timeout: Duration) -> io::Result<()> {
    let sock = socket2::SockRef::from(tcp);
    let idle = (timeout / 4).max(Duration::from_secs(1));
    let keepalive = socket2::TcpKeepalive::new().with_time(idle);
    #[cfg(target_os = "linux")]
    let keepalive = {
        let interval = ((timeout.saturating_sub(idle)) / 10).max(Duration::from_secs(1));
        let retries = (timeout.saturating_sub(idle).as_secs() / interval.as_secs().max(1)).max(1) as u32;
        keepalive.with_interval(interval).with_retries(retries)
    };
    sock.set_tcp_keepalive(&keepalive)?;
    #[cfg(target_os = "linux")]
    sock.set_tcp_user_timeout(Some(timeout))?;
    Ok(())
}

/// Connects to `address` as `role`: TCP, TLS if configured, then the handshake, each within
/// the [`tcp_timeout`](Security::tcp_timeout).
pub async fn connect(address: &str, role: Role, security: &Security) -> Result<Conn, ProtocolError> {
    let limit = security.tcp_timeout;
    let timed_out =
        || ProtocolError::Timeout(format!("connecting to {address} (tcp_timeout {:.0} s)", limit.as_secs_f64()));
    let tcp = tokio::time::timeout(limit, TcpStream::connect(address))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| ProtocolError::Io(io::Error::new(e.kind(), format!("cannot connect to {address}: {e}"))))?;
    tcp.set_nodelay(true)?;
    set_tcp_timeout(&tcp, limit)?;
    let stream = match &security.tls {
        None => Stream::Plain(tcp),
        Some(tls) => {
            let handshake = tls.connector.connect(tls.server_name.clone(), tcp);
            Stream::TlsClient(Box::new(tokio::time::timeout(limit, handshake).await.map_err(|_| timed_out())??))
        }
    };
    let mut framed = Framed::new(stream, frame_codec(HANDSHAKE_MAX_FRAME));
    let exchange = async {
        framed.send(encode(&security.hello(role))?).await?;
        match framed.next().await {
            Some(Ok(frame)) => decode::<HelloReply>(&frame),
            Some(Err(e)) => Err(ProtocolError::Io(e)),
            None => Err(ProtocolError::Closed),
        }
    };
    let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| ProtocolError::Timeout(format!("handshake with {address}")))??;
    match reply {
        HelloReply::Welcome { protocol, id } => {
            if protocol != PROTOCOL_VERSION {
                return Err(ProtocolError::Refused {
                    address: address.into(),
                    reason: format!("it speaks protocol version {protocol}, this process {PROTOCOL_VERSION}"),
                });
            }
            framed.codec_mut().set_max_frame_length(security.max_frame);
            Ok(Conn { framed, id })
        }
        HelloReply::Refused { reason } => Err(ProtocolError::Refused { address: address.into(), reason }),
    }
}

/// Accepts the handshake of an incoming TCP connection. On refusal the reason is sent to the
/// peer, the connection closed, and the reason returned as an error.
pub async fn accept(
    tcp: TcpStream,
    roles: &[Role],
    security: &Security,
    assign_id: impl FnOnce(Role) -> u64,
) -> Result<(Conn, Role), ProtocolError> {
    tcp.set_nodelay(true)?;
    set_tcp_timeout(&tcp, security.tcp_timeout)?;
    let peer_addr = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into());
    let work = async {
        let stream = match &security.tls {
            None => Stream::Plain(tcp),
            Some(tls) => Stream::TlsServer(Box::new(tls.acceptor.accept(tcp).await?)),
        };
        let mut framed = Framed::new(stream, frame_codec(HANDSHAKE_MAX_FRAME));
        let hello: Hello = match framed.next().await {
            Some(Ok(frame)) => decode(&frame)?,
            Some(Err(e)) => return Err(ProtocolError::Io(e)),
            None => return Err(ProtocolError::Closed),
        };
        Ok((framed, hello))
    };
    let (mut framed, hello) = tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
        .await
        .map_err(|_| ProtocolError::Timeout(format!("handshake from {peer_addr}")))??;
    if let Err(reason) = check_hello(&hello, roles, &security.registry.fingerprint_hex(), &security.token) {
        tracing::warn!(peer = %peer_addr, name = %hello.name, %reason, "refused a connection");
        let _ = framed.send(encode(&HelloReply::Refused { reason: reason.clone() })?).await;
        return Err(ProtocolError::Refused { address: peer_addr, reason });
    }
    let id = assign_id(hello.role);
    framed.send(encode(&HelloReply::Welcome { protocol: PROTOCOL_VERSION, id })?).await?;
    framed.codec_mut().set_max_frame_length(security.max_frame);
    Ok((Conn { framed, id }, hello.role))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls() -> TlsConfig {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["rask".to_string()]).unwrap();
        let cert = params.signed_by(&key, &rcgen::Issuer::new(ca_params, ca_key)).unwrap();
        TlsConfig::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes(), ca.pem().as_bytes(), "rask").unwrap()
    }

    /// A TLS peer that goes away without `close_notify` (as every Rask process does) ends the
    /// stream: the reader sees `Closed`, not an error to log as a warning.
    #[test]
    fn a_tls_peer_that_leaves_without_close_notify_ends_the_stream_quietly() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let security = Security::new(Arc::new(Registry::builder().build().unwrap()), "t").with_tls(tls());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let address = listener.local_addr().unwrap().to_string();
            let server_security = security.clone();
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let (mut conn, _) = accept(tcp, &[Role::Client], &server_security, |_| 1).await.unwrap();
                conn.recv::<u32>().await.map(|_| ())
            });
            let client = connect(&address, Role::Client, &security).await.unwrap();
            drop(client);
            let ended = server.await.unwrap();
            assert!(matches!(ended, Err(ProtocolError::Closed)), "{ended:?}");
        });
    }

    /// Both ends of a cluster connection get keepalive probes and, on Linux, a user timeout,
    /// so a peer cut off by a partition is found dead within the tcp_timeout; connecting to an
    /// address that never answers fails within it too.
    #[test]
    fn cluster_connections_detect_a_silent_peer_within_the_tcp_timeout() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            for tcp in [&client, &server] {
                set_tcp_timeout(tcp, Duration::from_secs(8)).unwrap();
                let sock = socket2::SockRef::from(tcp);
                assert!(sock.keepalive().unwrap());
                assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(2), "a quarter of the timeout");
                #[cfg(target_os = "linux")]
                {
                    assert_eq!(sock.tcp_user_timeout().unwrap(), Some(Duration::from_secs(8)));
                    assert_eq!(sock.tcp_keepalive_interval().unwrap(), Duration::from_secs(1));
                    assert_eq!(sock.tcp_keepalive_retries().unwrap(), 6);
                }
            }
            // 192.0.2.0/24 (TEST-NET-1) is never routed: the SYN goes unanswered, or the
            // network is unreachable at once; either way the connect ends within the timeout.
            let security = Security::new(Arc::new(Registry::builder().build().unwrap()), "t")
                .with_tcp_timeout(Duration::from_secs(1));
            let t0 = std::time::Instant::now();
            let Err(err) = connect("192.0.2.1:9", Role::Client, &security).await else {
                panic!("nothing answers there")
            };
            assert!(t0.elapsed() < Duration::from_secs(5), "{err} after {:?}", t0.elapsed());
        });
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_other_users_can_read_gets_a_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = token_file_permission_warning(&path).expect("mode 0644 must be warned about");
        assert!(warning.contains("0644") && warning.contains("chmod 600"), "{warning}");
        assert_eq!(read_token(&path).unwrap(), "secret", "the token is still read");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(token_file_permission_warning(&path).is_some(), "group-readable is warned about too");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(token_file_permission_warning(&path), None);
        // A file load_or_create_token writes is private from the start.
        let fresh = dir.path().join("sub").join("token");
        load_or_create_token(&fresh).unwrap();
        assert_eq!(token_file_permission_warning(&fresh), None);
    }
}
