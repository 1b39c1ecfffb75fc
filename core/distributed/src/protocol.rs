//! The wire protocol: length-delimited frames holding MessagePack-encoded, typed messages.
//!
//! Every connection starts with a handshake: the connecting side sends a [`Hello`] (protocol
//! version, role, registry fingerprint, authentication token) in a frame of at most
//! [`HANDSHAKE_MAX_FRAME`] bytes; the listening side answers [`HelloReply::Welcome`] or
//! [`HelloReply::Refused`] with a reason and closes. Only after a welcome does the frame cap
//! rise to the configured maximum ([`DEFAULT_MAX_FRAME`] unless set), so an unauthenticated
//! peer can never make a process allocate more than a few kilobytes.
//!
//! After the handshake, every frame is one batch: a `Vec` of messages of the direction's type
//! ([`ToScheduler`], [`ToWorker`], [`ToClient`], [`PeerRequest`], [`PeerReply`]). Batching lets
//! a busy worker report hundreds of finished tasks in one write.
//!
//! Decoding never trusts the peer: a frame over the cap, bytes that are not a message of the
//! expected type, or a message that breaks the protocol's rules is an error that drops that
//! one connection (see [`decode_batch`]; the fuzz tests feed it random and truncated frames).
//! The scheduler first tells a worker or client why ([`ToWorker::Closing`],
//! [`ToClient::Closing`], e.g. "a frame of N bytes is over the limit of M bytes (--max-frame)",
//! see [`FrameTooBig`]), so the peer reports the reason rather than a reset connection.

use std::fmt;

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use rask_core::Key;

/// The protocol version. Bump it whenever a message changes shape or meaning.
/// Version 2 added [`ToWorker::Closing`] and [`ToClient::Closing`]; version 3 task events
/// ([`FromClient::Submit`]`::events`, [`ToClient::TaskEvents`]) and submissions in parts
/// ([`FromClient::Stage`]); version 4 run ids ([`ToWorker::Compute`]`::run`, echoed by
/// [`ToScheduler::Done`], [`ToScheduler::Erred`] and [`ToScheduler::Missing`]).
pub const PROTOCOL_VERSION: u32 = 4;

/// The first field of every [`Hello`]: tells a Rask peer from a stray connection.
pub const MAGIC: &str = "rask";

/// The frame cap before the handshake completes.
pub const HANDSHAKE_MAX_FRAME: usize = 16 * 1024;

/// The default frame cap after the handshake (1 GiB): the largest chunk a worker can send.
pub const DEFAULT_MAX_FRAME: usize = 1 << 30;

/// What a connecting process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// A worker joining a scheduler.
    Worker,
    /// A client submitting graphs to a scheduler.
    Client,
    /// A worker or client fetching or storing data on a worker's data port.
    Peer,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Worker => "worker",
            Role::Client => "client",
            Role::Peer => "peer",
        })
    }
}

/// The first message on every connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`MAGIC`].
    pub magic: String,
    /// The sender's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// What the sender is.
    pub role: Role,
    /// The sender's registry fingerprint, 32 hex digits.
    pub fingerprint: String,
    /// The shared secret (empty when authentication is off).
    pub token: String,
    /// A name for logs (host and pid).
    pub name: String,
}

/// The answer to a [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HelloReply {
    /// Accepted.
    Welcome {
        /// The listener's protocol version.
        protocol: u32,
        /// The id the scheduler gave this connection (workers and clients), 0 on data ports.
        id: u64,
    },
    /// Refused; the connection closes after this.
    Refused {
        /// Why, in words a user can act on.
        reason: String,
    },
}

/// A task's op links and encoded values travel in the core's wire form ([`rask_core::wire`]),
/// the one path the serialisation-check scheduler also takes.
pub use rask_core::wire::{WireOp, WireValue};

/// A task's op chain: almost always one op, held inline (the scheduler keeps a spec per task,
/// and a separate allocation for the one op cost 64 bytes a task). On the wire, a sequence, as
/// a `Vec` was.
pub type WireOps = smallvec::SmallVec<[WireOp; 1]>;

/// How to produce one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireSpec {
    /// Run this op chain on the inputs.
    Task(WireOps),
    /// The value of the single input.
    Alias,
    /// A literal shipped with the graph (small values; large data is scattered to workers).
    /// Boxed: the scheduler keeps a spec per task, and most are ops.
    Data(Box<WireValue>),
    /// A key already held on the cluster (a persisted or scattered result).
    Remote,
}

/// One node of a submitted graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireNode {
    /// Its key.
    pub key: Key,
    /// What produces it.
    pub spec: WireSpec,
    /// Its inputs, in order (empty for data and remote nodes).
    pub deps: Vec<Key>,
    /// Its rank in the plan's order: lower runs first.
    pub priority: u32,
}

/// Why a task failed, as the client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    /// The task that failed first (for an error inherited from a dependency, that dependency).
    pub key: Key,
    /// The op that failed (or `worker` when the workers running it died).
    pub op: String,
    /// The original message.
    pub message: String,
}

/// Worker → scheduler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToScheduler {
    /// First message after the handshake.
    Register {
        /// Compute threads.
        nthreads: usize,
        /// Where peers fetch this worker's data (`host:port`).
        data_address: String,
        /// The memory limit, if any.
        memory_limit: Option<u64>,
        /// The worker's process id.
        pid: u32,
    },
    /// A task finished; its result is held by the worker.
    Done {
        /// The task.
        key: Key,
        /// The run this reports ([`ToWorker::Compute`]`::run`).
        run: u64,
        /// The size of its result.
        nbytes: u64,
        /// Seconds it ran.
        seconds: f64,
    },
    /// A task failed with an error.
    Erred {
        /// The task.
        key: Key,
        /// The run this reports.
        run: u64,
        /// The op that failed.
        op: String,
        /// The original message.
        message: String,
    },
    /// A dependency could not be fetched from any holder; the task was not run.
    Missing {
        /// The task that needed it.
        key: Key,
        /// The run this reports.
        run: u64,
        /// The dependency.
        dependency: Key,
    },
    /// The worker now also holds these keys (replicas fetched from peers, or scattered data).
    Added {
        /// Keys and sizes.
        keys: Vec<(Key, u64)>,
    },
    /// The answer to [`ToWorker::Steal`].
    StealReply {
        /// The task.
        key: Key,
        /// Whether it was taken back (it had not started).
        stolen: bool,
    },
    /// Periodic liveness and load report.
    Heartbeat(WorkerMetrics),
}

/// A worker's load, sent with each heartbeat.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerMetrics {
    /// Bytes of results held in memory.
    pub memory_bytes: u64,
    /// Bytes of results spilled to disk.
    pub spilled_bytes: u64,
    /// Results held.
    pub n_keys: usize,
    /// Whether it stopped starting tasks because memory is above the pause threshold.
    pub paused: bool,
    /// Tasks completed since it started.
    pub tasks_done: u64,
    /// Bytes of task inputs it fetched from other workers since it joined.
    #[serde(default)]
    pub fetched_bytes: u64,
}

/// Scheduler → worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Run a task.
    Compute {
        /// The task.
        key: Key,
        /// What to run.
        spec: WireSpec,
        /// Its inputs with the data addresses of the workers holding each.
        deps: Vec<(Key, Vec<String>)>,
        /// Lower runs first.
        priority: (u64, u32),
        /// This assignment's id, new for every `Compute` the scheduler sends. The worker's
        /// reports name it, so a report from an assignment the scheduler has withdrawn (with
        /// a `Release`, after which the worker drops the result) is told from one of the
        /// current assignment, even on the same worker. Dask's `run_id`.
        run: u64,
    },
    /// Give a queued task back if it has not started.
    Steal {
        /// The task.
        key: Key,
    },
    /// Drop these results (and forget these tasks if they are queued).
    Release {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Shut down cleanly.
    Close,
    /// The scheduler is closing this connection because of something the worker sent (a
    /// frame over its `--max-frame`, a malformed frame); the last message before the close.
    Closing {
        /// Why, e.g. "frame size too big: a frame of N bytes is over the limit of M bytes (--max-frame)".
        reason: String,
    },
    /// The scheduler removed this worker from the cluster (it was silent longer than the
    /// heartbeat timeout, e.g. stopped with SIGSTOP): the scheduler has forgotten what it held
    /// and is recomputing it elsewhere. The last message before the close: the worker drops its
    /// results and joins again as a fresh worker.
    Removed {
        /// Why, e.g. "no heartbeat for 10.2 s (the heartbeat timeout is 10 s)".
        reason: String,
    },
    /// Sent about once a second whatever else is sent, so that a worker can tell a silent
    /// (stopped, hung or unreachable) scheduler from an idle one.
    Keepalive,
}

/// Client → scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FromClient {
    /// Add a graph and ask for `wants` (each listed key gains one reference).
    Submit {
        /// A request id echoed if the submission is rejected.
        id: u64,
        /// The nodes.
        nodes: Vec<WireNode>,
        /// The keys the client wants (results are kept until released).
        wants: Vec<Key>,
        /// Whether the client wants a [`TaskEvent`] for every node of this submission as it
        /// finishes or fails ([`ToClient::TaskEvents`], with this submission's `id`): for
        /// progress bars and task timings. Nodes already finished are reported at once.
        events: bool,
    },
    /// Part of submission `id`, sent before its [`Submit`](FromClient::Submit) (same `id`,
    /// carrying the last part and the wants) when a graph is large, so that no frame holds a
    /// whole graph. Parts are in plan order: a node's inputs are in its part or an earlier one.
    /// If a part is rejected, the submission is (one `Rejected` with this `id`).
    Stage {
        /// The submission's id.
        id: u64,
        /// These nodes.
        nodes: Vec<WireNode>,
    },
    /// Drop one reference to each key.
    Release {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Drop the client's references and stop the work only they need; waiting futures fail
    /// as cancelled.
    Cancel {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Where are these keys held?
    WhoHas {
        /// A request id echoed in the reply.
        id: u64,
        /// The keys.
        keys: Vec<Key>,
    },
    /// Values the client stored on workers itself (scatter); each gains one reference.
    Scattered {
        /// Key, the data addresses of the workers holding it, size.
        keys: Vec<(Key, Vec<String>, u64)>,
    },
    /// The data addresses of the workers.
    Workers {
        /// A request id echoed in the reply.
        id: u64,
    },
}

impl FromClient {
    /// Roughly how much of a frame the message takes, in nodes or keys: a batch of messages
    /// is cut where the total passes [`NODES_PER_FRAME`].
    pub fn weight(&self) -> usize {
        match self {
            FromClient::Submit { nodes, wants, .. } => 1 + nodes.len() + wants.len(),
            FromClient::Stage { nodes, .. } => 1 + nodes.len(),
            FromClient::Release { keys } | FromClient::Cancel { keys } | FromClient::WhoHas { keys, .. } => {
                1 + keys.len()
            }
            FromClient::Scattered { keys } => 1 + keys.len(),
            FromClient::Workers { .. } => 1,
        }
    }
}

/// How many nodes a client puts in one frame: a larger graph goes as [`FromClient::Stage`]
/// parts of this size then a `Submit` (about 2 MB per frame for plain tasks: the client's write
/// buffer and the scheduler's read buffer each grow to a frame; 50,000 nodes held 11 MB more at
/// the peak of a million-task submission, and smaller parts cost nothing measurable).
pub const NODES_PER_FRAME: usize = 10_000;

/// How many batches of a client's messages may wait between their producer and their consumer:
/// on the client, built but not yet written to the socket; at the scheduler, decoded but not yet
/// applied to its state. A large submission is then built no faster than the scheduler takes
/// it in, and neither side ever holds more than a few parts' wire form. (Unbounded queues held
/// most of a million-task graph's wire form at once: about 175 MB on the client and 75 MB at
/// the scheduler, freed after the submission but kept by the allocator.)
pub const PARTS_IN_FLIGHT: usize = 2;

/// Scheduler → client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToClient {
    /// A wanted key is in memory on the cluster.
    Done {
        /// The key.
        key: Key,
    },
    /// A wanted key failed.
    Erred {
        /// The key.
        key: Key,
        /// Why.
        error: TaskError,
    },
    /// A wanted key was cancelled.
    Cancelled {
        /// The key.
        key: Key,
    },
    /// The answer to [`FromClient::WhoHas`].
    WhoHas {
        /// The request id.
        id: u64,
        /// Data addresses holding each key (empty: not in memory).
        holders: Vec<(Key, Vec<String>)>,
    },
    /// The answer to [`FromClient::Workers`].
    Workers {
        /// The request id.
        id: u64,
        /// Data addresses.
        addresses: Vec<String>,
    },
    /// The scheduler refused a submission (for example a graph whose node depends on a missing key).
    Rejected {
        /// The submission's id.
        id: u64,
        /// Why.
        reason: String,
    },
    /// The scheduler is closing this connection because of something the client sent (a
    /// frame over its `--max-frame`, a malformed frame); the last message before the close.
    Closing {
        /// Why, e.g. "frame size too big: a frame of N bytes is over the limit of M bytes (--max-frame)".
        reason: String,
    },
    /// Something the client's user should know about its work, e.g. that tasks are waiting
    /// and no worker is connected.
    Warning {
        /// The message.
        message: String,
    },
    /// Sent about once a second whatever else is sent, so that a client can tell a silent
    /// (stopped, hung or unreachable) scheduler from a busy one.
    Keepalive,
    /// Tasks of a submission made with `events` finished or failed (batched; sent before the
    /// `Done` and `Erred` of the same batch).
    TaskEvents {
        /// The submission's id.
        id: u64,
        /// The tasks, in the order they finished.
        events: Vec<TaskEvent>,
    },
}

/// One task's end, for a client that asked for events ([`FromClient::Submit`]`::events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskEvent {
    /// The task.
    pub key: Key,
    /// Whether it finished (`false`: it failed, or an input of it did).
    pub ok: bool,
    /// How long it ran on its worker, in microseconds (0 for tasks that failed without running
    /// and for results the cluster already held).
    pub micros: u64,
}

/// Peer → worker data port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerRequest {
    /// Send these values.
    Get {
        /// The keys.
        keys: Vec<Key>,
    },
    /// Store this value (scatter).
    Put {
        /// The key.
        key: Key,
        /// The value.
        value: WireValue,
    },
}

/// Worker data port → peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerReply {
    /// A value asked for.
    Data {
        /// The key.
        key: Key,
        /// The value.
        value: WireValue,
    },
    /// A key asked for is not held here.
    Missing {
        /// The key.
        key: Key,
    },
    /// A `Put` was stored.
    Stored {
        /// The key.
        key: Key,
        /// Its size.
        nbytes: u64,
    },
    /// A request failed on the worker.
    Failed {
        /// The key concerned.
        key: Key,
        /// Why.
        message: String,
    },
}

/// Everything that can go wrong on the wire.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The socket failed or a frame exceeded the cap.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection.
    #[error("the peer closed the connection")]
    Closed,
    /// A frame did not hold a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A message could not be encoded.
    #[error("cannot encode a message: {0}")]
    Encode(String),
    /// The handshake was refused.
    #[error("refused by {address}: {reason}")]
    Refused {
        /// Who refused.
        address: String,
        /// Why.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// A length-delimited codec (4-byte big-endian length) with this frame cap.
pub fn frame_codec(max_frame: usize) -> FrameCodec {
    FrameCodec {
        inner: LengthDelimitedCodec::builder().length_field_type::<u32>().max_frame_length(max_frame).new_codec(),
    }
}

/// A frame over the cap: the error (inside an `io::Error` of kind `InvalidData`) that names
/// the frame's size and the cap, so the side that refuses it can tell the other why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameTooBig {
    /// The size of the frame, from its length prefix.
    pub size: u64,
    /// The cap it is over.
    pub max: usize,
}

impl fmt::Display for FrameTooBig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "frame size too big: a frame of {} bytes is over the limit of {} bytes (--max-frame)",
            self.size, self.max
        )
    }
}

impl std::error::Error for FrameTooBig {}

impl FrameTooBig {
    /// The [`FrameTooBig`] inside `error`, if that is what it is.
    pub fn find(error: &std::io::Error) -> Option<FrameTooBig> {
        error.get_ref().and_then(|e| e.downcast_ref::<FrameTooBig>()).copied()
    }
}

/// [`LengthDelimitedCodec`] with a 4-byte length whose over-the-cap errors are [`FrameTooBig`].
#[derive(Debug)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
}

impl FrameCodec {
    /// Changes the frame cap (it rises after the handshake).
    pub fn set_max_frame_length(&mut self, max: usize) {
        self.inner.set_max_frame_length(max);
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, std::io::Error> {
        // On a length over the cap the inner codec leaves the length prefix unconsumed.
        let head = src.get(..4).map(|h| u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]])));
        self.inner.decode(src).map_err(|e| self.too_big(e, head))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = std::io::Error;

    fn encode(&mut self, data: Bytes, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        let size = data.len() as u64;
        self.inner.encode(data, dst).map_err(|e| self.too_big(e, Some(size)))
    }
}

impl FrameCodec {
    fn too_big(&self, error: std::io::Error, size: Option<u64>) -> std::io::Error {
        let is_cap = error.get_ref().is_some_and(|e| e.is::<tokio_util::codec::LengthDelimitedCodecError>());
        match size {
            Some(size) if is_cap => std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                FrameTooBig { size, max: self.inner.max_frame_length() },
            ),
            _ => error,
        }
    }
}

/// Encodes one message.
pub fn encode<T: Serialize>(msg: &T) -> Result<Bytes, ProtocolError> {
    rmp_serde::to_vec_named(msg).map(Bytes::from).map_err(|e| ProtocolError::Encode(e.to_string()))
}

/// Decodes one message from a whole frame. Trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(frame: &[u8]) -> Result<T, ProtocolError> {
    let mut de = rmp_serde::Deserializer::new(frame);
    let msg = T::deserialize(&mut de).map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    let rest = de.into_inner();
    if !rest.is_empty() {
        return Err(ProtocolError::Malformed(format!("{} trailing bytes after the message", rest.len())));
    }
    Ok(msg)
}

/// Decodes a batch frame: a MessagePack array of messages.
///
/// rmp-serde never preallocates from a length it reads (array and byte lengths are checked
/// against the bytes actually present), so a frame of `n` bytes allocates O(n) at most.
pub fn decode_batch<T: DeserializeOwned>(frame: &BytesMut) -> Result<Vec<T>, ProtocolError> {
    decode(frame)
}

/// Checks a peer's [`Hello`] against what this process expects; returns the refusal reason.
pub fn check_hello(hello: &Hello, expected_roles: &[Role], fingerprint: &str, token: &str) -> Result<(), String> {
    if hello.magic != MAGIC {
        return Err(format!("not a Rask peer (magic {:?})", hello.magic));
    }
    if hello.protocol != PROTOCOL_VERSION {
        return Err(format!(
            "protocol version mismatch: this side speaks version {PROTOCOL_VERSION}, {} sent version {}",
            hello.name, hello.protocol
        ));
    }
    if !expected_roles.contains(&hello.role) {
        let roles: Vec<String> = expected_roles.iter().map(ToString::to_string).collect();
        return Err(format!("a {} cannot connect here (expected: {})", hello.role, roles.join(" or ")));
    }
    if !token.is_empty() && !constant_time_eq(hello.token.as_bytes(), token.as_bytes()) {
        return Err("authentication failed: the token is missing or wrong (set RASK_TOKEN or --token-file to the \
                    scheduler's token)"
            .into());
    }
    if hello.fingerprint != fingerprint {
        return Err(format!(
            "registry fingerprint mismatch: this side has {fingerprint}, {} has {}; both must be built with the \
             same op and codec lists (run the same binary, or the user's own binary, everywhere)",
            hello.name, hello.fingerprint
        ));
    }
    Ok(())
}

/// Compares two byte strings in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_bytes::ByteBuf;
    use tokio_util::codec::Decoder;

    fn sample_batches() -> Vec<Vec<u8>> {
        let compute = ToWorker::Compute {
            key: Key::block("x", 3),
            spec: WireSpec::Task(smallvec::smallvec![WireOp {
                name: "a.b".into(),
                version: 2,
                args: rask_core::wire::WireArgs::from(vec![1, 2, 3])
            }]),
            deps: vec![(Key::new("y"), vec!["127.0.0.1:1".into()])],
            priority: (1, 2),
            run: 7,
        };
        let done = ToScheduler::Done { key: Key::new("k"), run: 7, nbytes: 10, seconds: 0.5 };
        let submit = FromClient::Submit {
            id: 1,
            nodes: vec![WireNode {
                key: Key::new("d"),
                spec: WireSpec::Data(Box::new(WireValue { tag: "f64".into(), bytes: ByteBuf::from(vec![0; 9]) })),
                deps: vec![],
                priority: 0,
            }],
            wants: vec![Key::new("d")],
            events: true,
        };
        vec![
            encode(&vec![compute.clone(), ToWorker::Release { keys: vec![Key::new("z")] }]).unwrap().to_vec(),
            encode(&vec![done]).unwrap().to_vec(),
            encode(&vec![submit]).unwrap().to_vec(),
        ]
    }

    #[test]
    fn messages_round_trip() {
        let msgs = vec![ToWorker::Steal { key: Key::new("a") }, ToWorker::Close];
        let bytes = encode(&msgs).unwrap();
        let back: Vec<ToWorker> = decode(&bytes).unwrap();
        assert_eq!(back, msgs);
        let mut with_trailing = bytes.to_vec();
        with_trailing.push(0);
        assert!(matches!(decode::<Vec<ToWorker>>(&with_trailing), Err(ProtocolError::Malformed(_))));
    }

    #[test]
    fn hello_checks_each_field() {
        let ok = Hello {
            magic: MAGIC.into(),
            protocol: PROTOCOL_VERSION,
            role: Role::Client,
            fingerprint: "f".into(),
            token: "secret".into(),
            name: "test".into(),
        };
        assert_eq!(check_hello(&ok, &[Role::Client], "f", "secret"), Ok(()));
        let e = check_hello(&Hello { protocol: 99, ..ok.clone() }, &[Role::Client], "f", "secret").unwrap_err();
        assert!(e.contains("protocol version mismatch"), "{e}");
        let e = check_hello(&Hello { token: "nope".into(), ..ok.clone() }, &[Role::Client], "f", "secret").unwrap_err();
        assert!(e.contains("authentication failed"), "{e}");
        let e = check_hello(&ok, &[Role::Client], "g", "secret").unwrap_err();
        assert!(e.contains("fingerprint mismatch"), "{e}");
        let e = check_hello(&ok, &[Role::Worker], "f", "secret").unwrap_err();
        assert!(e.contains("a client cannot connect here"), "{e}");
        let e = check_hello(&Hello { magic: "http".into(), ..ok.clone() }, &[Role::Client], "f", "").unwrap_err();
        assert!(e.contains("not a Rask peer"), "{e}");
        // Authentication off: any token passes.
        assert_eq!(check_hello(&Hello { token: String::new(), ..ok }, &[Role::Client], "f", ""), Ok(()));
    }

    #[test]
    fn oversized_frames_are_refused_before_allocation() {
        let mut codec = frame_codec(1024);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&(u32::MAX).to_be_bytes());
        buf.extend_from_slice(&[0; 16]);
        let err = codec.decode(&mut buf).unwrap_err();
        assert!(err.to_string().contains("frame size too big"), "{err}");
        assert_eq!(FrameTooBig::find(&err), Some(FrameTooBig { size: u64::from(u32::MAX), max: 1024 }));
        assert!(err.to_string().contains("4294967295 bytes is over the limit of 1024 bytes"), "{err}");
        let err = codec.encode(Bytes::from(vec![0u8; 2000]), &mut BytesMut::new()).unwrap_err();
        assert_eq!(FrameTooBig::find(&err), Some(FrameTooBig { size: 2000, max: 1024 }));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Random bytes never panic any decoder.
        #[test]
        fn random_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let frame = BytesMut::from(&bytes[..]);
            let _ = decode_batch::<ToWorker>(&frame);
            let _ = decode_batch::<ToScheduler>(&frame);
            let _ = decode_batch::<FromClient>(&frame);
            let _ = decode_batch::<ToClient>(&frame);
            let _ = decode_batch::<PeerRequest>(&frame);
            let _ = decode_batch::<PeerReply>(&frame);
            let _ = decode::<Hello>(&frame);
            let _ = decode::<HelloReply>(&frame);
        }

        /// Every truncation and single-byte corruption of a valid frame is an error or a valid
        /// message, never a panic.
        #[test]
        fn truncated_and_corrupted_frames_never_panic(which in 0usize..3, cut in 0usize..4096, pos in 0usize..4096, byte in any::<u8>()) {
            let batches = sample_batches();
            let full = &batches[which];
            let cut = cut % (full.len() + 1);
            let truncated = BytesMut::from(&full[..cut]);
            if cut < full.len() {
                prop_assert!(decode_batch::<ToWorker>(&truncated).is_err() || which != 0);
            }
            let _ = decode_batch::<ToScheduler>(&truncated);
            let _ = decode_batch::<FromClient>(&truncated);
            let mut corrupted = full.clone();
            let pos = pos % corrupted.len();
            corrupted[pos] = byte;
            let corrupted = BytesMut::from(&corrupted[..]);
            let _ = decode_batch::<ToWorker>(&corrupted);
            let _ = decode_batch::<ToScheduler>(&corrupted);
            let _ = decode_batch::<FromClient>(&corrupted);
        }

        /// Huge declared lengths inside a small frame do not allocate them.
        #[test]
        fn declared_lengths_are_not_trusted(len in any::<u32>()) {
            // A MessagePack array32 / bin32 header claiming `len` elements, with no elements.
            for marker in [0xddu8, 0xc6] {
                let mut bytes = vec![marker];
                bytes.extend_from_slice(&len.to_be_bytes());
                let frame = BytesMut::from(&bytes[..]);
                let r = decode_batch::<ToWorker>(&frame);
                prop_assert!(r.is_err() || len == 0);
            }
        }
    }
}
