//! The DNS server: wire decoding/encoding (hickory-proto) and the UDP/TCP loops.
//!
//! Cluster-zone questions are answered inline from one snapshot load (no lock, no await);
//! forwarded questions and ExternalName chases run in their own task.

use std::io::{IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record};
use nix::sys::socket::{
    ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg,
};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::config::{Compiled, Config};
use crate::forward::Forwarder;
use crate::index::Index;
use crate::metrics::Metrics;
use crate::records::{self, Answer, Response};

/// UDP payload size we advertise in our OPT record.
const OUR_EDNS_PAYLOAD: u16 = 1232;
/// Largest UDP response we ever send, whatever the client advertises.
const MAX_UDP: usize = 4096;
/// Idle time after which a TCP connection is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// Datagrams taken per `recvmmsg`.
const UDP_BATCH: usize = 32;
/// Receive buffer per datagram: any UDP payload fits (a query is never near it).
const UDP_BUF: usize = 65535;

/// Transport a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: responses are limited to the client's EDNS0 buffer size (512 without EDNS0).
    Udp,
    /// TCP: responses are complete (up to 65535 bytes).
    Tcp,
}

/// What is left of a request after decoding.
#[derive(Debug, Clone)]
struct Request {
    id: u16,
    op_code: OpCode,
    rd: bool,
    cd: bool,
    query: Query,
    edns_payload: Option<u16>,
    start: Instant,
}

/// Work that needs an upstream.
#[derive(Debug)]
enum Pending {
    Forward(Request),
    Chase(Box<(Request, Response, Name)>),
}

/// Outcome of the synchronous part of handling a packet.
#[derive(Debug)]
enum Step {
    Reply(Vec<u8>),
    Drop,
    Pending(Box<Pending>),
}

/// The cluster DNS server.
#[derive(Debug)]
pub struct DnsServer {
    index: Arc<Index>,
    cfg: Compiled,
    forwarder: Forwarder,
    metrics: Metrics,
}

impl DnsServer {
    /// A server answering from `index` with `config`.
    pub fn new(config: Config, index: Arc<Index>) -> Result<Self, Error> {
        let forwarder = Forwarder::new(
            config.upstreams.clone(),
            config.upstream_timeout,
            config.cache_size,
            config.cache_max_ttl,
        );
        Ok(Self {
            index,
            cfg: Compiled::new(config)?,
            forwarder,
            metrics: Metrics::default(),
        })
    }

    /// Registers the `tether_dns_*` metrics in `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        self.metrics.register(registry);
    }

    /// The server's metrics (for tests and status pages).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The index the server answers from.
    pub fn index(&self) -> &Arc<Index> {
        &self.index
    }

    /// Handles one wire-format request; `None` means "send nothing" (dropped packet).
    pub async fn handle(&self, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
        match self.handle_sync(packet, transport) {
            Step::Reply(r) => Some(r),
            Step::Drop => None,
            Step::Pending(p) => Some(self.finish(*p, transport).await),
        }
    }

    fn handle_sync(&self, packet: &[u8], transport: Transport) -> Step {
        let start = Instant::now();
        let Ok(msg) = Message::from_vec(packet) else {
            return self.formerr(packet, start);
        };
        if msg.metadata.message_type != MessageType::Query {
            self.metrics.dropped();
            return Step::Drop;
        }
        let edns_payload = msg.edns.as_ref().map(Edns::max_payload);
        let id = msg.metadata.id;
        let op_code = msg.metadata.op_code;
        let rd = msg.metadata.recursion_desired;
        let cd = msg.metadata.checking_disabled;
        if op_code != OpCode::Query {
            return Step::Reply(self.error_reply(id, op_code, rd, ResponseCode::NotImp, start));
        }
        let mut queries = msg.queries;
        if queries.len() != 1 {
            return Step::Reply(self.error_reply(id, op_code, rd, ResponseCode::FormErr, start));
        }
        let Some(query) = queries.pop() else {
            return Step::Reply(self.error_reply(id, op_code, rd, ResponseCode::FormErr, start));
        };
        let req = Request {
            id,
            op_code,
            rd,
            cd,
            query,
            edns_payload,
            start,
        };
        if req.query.query_class() != DNSClass::IN {
            return Step::Reply(self.reply(
                &req,
                ResponseCode::Refused,
                false,
                false,
                Vec::new(),
                Vec::new(),
                Vec::new(),
                transport,
            ));
        }
        let snap = self.index.snapshot();
        match records::answer(&snap, &self.cfg, req.query.name(), req.query.query_type()) {
            Answer::Authoritative(resp) => match resp.chase.clone() {
                Some(target) if self.forwarder.has_upstreams() => {
                    Step::Pending(Box::new(Pending::Chase(Box::new((req, resp, target)))))
                }
                _ => Step::Reply(self.reply(
                    &req,
                    resp.rcode,
                    true,
                    false,
                    resp.answers,
                    resp.authority,
                    resp.additionals,
                    transport,
                )),
            },
            Answer::Forward => Step::Pending(Box::new(Pending::Forward(req))),
        }
    }

    async fn finish(&self, pending: Pending, transport: Transport) -> Vec<u8> {
        match pending {
            Pending::Forward(req) => {
                let q = &req.query;
                match self
                    .forwarder
                    .resolve(q.name(), q.query_type(), q.query_class())
                    .await
                {
                    Ok((fwd, hit)) => {
                        if hit {
                            self.metrics.cache_hit();
                        } else {
                            self.metrics.forwarded();
                        }
                        let ra = fwd.recursion_available;
                        self.reply(
                            &req,
                            fwd.rcode,
                            false,
                            ra,
                            fwd.answers,
                            fwd.authority,
                            fwd.additionals,
                            transport,
                        )
                    }
                    Err(e) => {
                        tracing::debug!(name = %q.name(), error = %e, "forward failed");
                        self.reply(
                            &req,
                            ResponseCode::ServFail,
                            false,
                            false,
                            Vec::new(),
                            Vec::new(),
                            Vec::new(),
                            transport,
                        )
                    }
                }
            }
            Pending::Chase(chase) => {
                let (req, mut resp, target) = *chase;
                let qtype = req.query.query_type();
                if let Ok((fwd, hit)) = self.forwarder.resolve(&target, qtype, DNSClass::IN).await {
                    if hit {
                        self.metrics.cache_hit();
                    } else {
                        self.metrics.forwarded();
                    }
                    if fwd.rcode == ResponseCode::NoError {
                        resp.answers.extend(fwd.answers);
                    }
                }
                self.reply(
                    &req,
                    resp.rcode,
                    true,
                    false,
                    resp.answers,
                    resp.authority,
                    resp.additionals,
                    transport,
                )
            }
        }
    }

    /// FORMERR for an undecodable packet whose header is readable; drop otherwise.
    fn formerr(&self, packet: &[u8], start: Instant) -> Step {
        let Some(header) = packet.get(..12) else {
            self.metrics.dropped();
            return Step::Drop;
        };
        if header[2] & 0x80 != 0 {
            // A response: never answer it (no reflection loops).
            self.metrics.dropped();
            return Step::Drop;
        }
        let mut out = vec![0u8; 12];
        out[..2].copy_from_slice(&header[..2]);
        // QR=1, opcode copied, RD copied; RCODE=FORMERR; all counts zero.
        out[2] = 0x80 | (header[2] & 0x79);
        out[3] = 1;
        self.metrics.observe(ResponseCode::FormErr, start.elapsed());
        Step::Reply(out)
    }

    fn error_reply(
        &self,
        id: u16,
        op_code: OpCode,
        rd: bool,
        rcode: ResponseCode,
        start: Instant,
    ) -> Vec<u8> {
        let mut m = Message::error_msg(id, op_code, rcode);
        m.metadata.recursion_desired = rd;
        self.metrics.observe(rcode, start.elapsed());
        m.to_vec().unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn reply(
        &self,
        req: &Request,
        rcode: ResponseCode,
        aa: bool,
        ra: bool,
        answers: Vec<Record>,
        authority: Vec<Record>,
        additionals: Vec<Record>,
        transport: Transport,
    ) -> Vec<u8> {
        let mut m = Message::response(req.id, req.op_code);
        m.metadata.authoritative = aa;
        m.metadata.recursion_desired = req.rd;
        m.metadata.recursion_available = ra;
        m.metadata.checking_disabled = req.cd;
        m.metadata.response_code = rcode;
        m.queries.push(req.query.clone());
        m.answers = answers;
        m.authorities = authority;
        m.additionals = additionals;
        if req.edns_payload.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(OUR_EDNS_PAYLOAD);
            m.edns = Some(edns);
        }
        let limit = match transport {
            Transport::Tcp => usize::from(u16::MAX),
            Transport::Udp => usize::from(req.edns_payload.unwrap_or(512).max(512)).min(MAX_UDP),
        };
        let bytes = encode_limited(m, limit);
        self.metrics.observe(rcode, req.start.elapsed());
        bytes
    }

    /// Serves DNS over UDP on `sock` until `shutdown` is cancelled. One receive loop per
    /// available core shares the socket, so answering scales across the runtime's workers.
    pub async fn serve_udp(
        self: Arc<Self>,
        sock: std::net::UdpSocket,
        shutdown: CancellationToken,
    ) -> Result<(), Error> {
        sock.set_nonblocking(true)?;
        let sock = Arc::new(UdpSocket::from_std(sock)?);
        tracing::info!(addr = ?sock.local_addr().ok(), "dns: serving udp");
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        let mut set = tokio::task::JoinSet::new();
        for _ in 1..workers {
            set.spawn(Arc::clone(&self).udp_loop(Arc::clone(&sock), shutdown.clone()));
        }
        Arc::clone(&self).udp_loop(sock, shutdown).await;
        while set.join_next().await.is_some() {}
        Ok(())
    }

    /// One receive loop: on each readiness it takes up to [`UDP_BATCH`] datagrams with one
    /// `recvmmsg` and sends the answers with one `sendmmsg` (a busy server spends most of
    /// its time in per-packet system calls otherwise); forwarded questions are answered
    /// from their own task.
    async fn udp_loop(self: Arc<Self>, sock: Arc<UdpSocket>, shutdown: CancellationToken) {
        if !self.cfg.cfg.udp_batch {
            return self.udp_loop_single(sock, shutdown).await;
        }
        // Each buffer allocated zeroed on its own (pages untouched until a datagram lands;
        // `vec![v; n]` would copy the first into the others and touch every page).
        let mut bufs: Vec<Vec<u8>> = (0..UDP_BATCH).map(|_| vec![0u8; UDP_BUF]).collect();
        let mut got: Vec<(usize, usize, SocketAddr)> = Vec::with_capacity(UDP_BATCH);
        let mut replies: Vec<(Vec<u8>, SocketAddr)> = Vec::with_capacity(UDP_BATCH);
        let fd = sock.as_raw_fd();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                r = sock.readable() => if let Err(e) = r {
                    tracing::debug!(error = %e, "dns: udp readiness");
                    continue;
                },
            }
            got.clear();
            let received = sock.try_io(Interest::READABLE, || {
                // Built per batch: the headers hold raw pointers, which must not live
                // across an `.await` of this (`Send`) task.
                let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(UDP_BATCH, None);
                let mut iovs: Vec<[IoSliceMut<'_>; 1]> = bufs
                    .iter_mut()
                    .map(|b| [IoSliceMut::new(b.as_mut_slice())])
                    .collect();
                let msgs = recvmmsg(
                    fd,
                    &mut headers,
                    iovs.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(std::io::Error::from)?;
                for (i, m) in msgs.enumerate() {
                    if let Some(peer) = m.address.as_ref().and_then(socket_addr) {
                        got.push((i, m.bytes, peer));
                    }
                }
                Ok(())
            });
            match received {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    // ICMP errors from earlier sends surface here on some systems; keep going.
                    tracing::debug!(error = %e, "dns: udp recv");
                    continue;
                }
            }
            replies.clear();
            for &(i, n, peer) in &got {
                let Some(packet) = bufs.get(i).and_then(|b| b.get(..n)) else {
                    continue;
                };
                self.answer_udp(packet, peer, &sock, Some(&mut replies))
                    .await;
            }
            send_batch(&sock, &replies).await;
        }
    }

    /// One receive loop taking one datagram per system call (`Config::udp_batch = false`).
    async fn udp_loop_single(self: Arc<Self>, sock: Arc<UdpSocket>, shutdown: CancellationToken) {
        let mut buf = vec![0u8; UDP_BUF];
        loop {
            let (n, peer) = tokio::select! {
                () = shutdown.cancelled() => return,
                r = sock.recv_from(&mut buf) => match r {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::debug!(error = %e, "dns: udp recv");
                        continue;
                    }
                },
            };
            let Some(packet) = buf.get(..n) else {
                continue;
            };
            self.answer_udp(packet, peer, &sock, None).await;
        }
    }

    /// Answers one datagram: the reply goes to `batch` when given, else straight out;
    /// forwarded questions are answered from their own task.
    async fn answer_udp(
        self: &Arc<Self>,
        packet: &[u8],
        peer: SocketAddr,
        sock: &Arc<UdpSocket>,
        batch: Option<&mut Vec<(Vec<u8>, SocketAddr)>>,
    ) {
        match self.handle_sync(packet, Transport::Udp) {
            Step::Reply(out) => match batch {
                Some(b) => b.push((out, peer)),
                None => send_udp(sock, &out, peer).await,
            },
            Step::Drop => {}
            Step::Pending(p) => {
                let this = Arc::clone(self);
                let sock = Arc::clone(sock);
                tokio::spawn(async move {
                    let out = this.finish(*p, Transport::Udp).await;
                    send_udp(&sock, &out, peer).await;
                });
            }
        }
    }

    /// Serves DNS over TCP on `listener` until `shutdown` is cancelled.
    pub async fn serve_tcp(
        self: Arc<Self>,
        listener: std::net::TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), Error> {
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        tracing::info!(addr = ?listener.local_addr().ok(), "dns: serving tcp");
        loop {
            let (stream, peer) = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                r = listener.accept() => match r {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::debug!(error = %e, "dns: tcp accept");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let this = Arc::clone(&self);
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = shutdown.cancelled() => {}
                    r = this.serve_conn(stream) => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "dns: tcp connection");
                        }
                    }
                }
            });
        }
    }

    async fn serve_conn(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        let mut buf = Vec::new();
        loop {
            let mut len = [0u8; 2];
            match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(()),
            }
            let len = usize::from(u16::from_be_bytes(len));
            buf.resize(len, 0);
            match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut buf)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(()),
            }
            let Some(out) = self.handle(&buf, Transport::Tcp).await else {
                continue;
            };
            let Ok(olen) = u16::try_from(out.len()) else {
                continue;
            };
            let mut frame = Vec::with_capacity(out.len() + 2);
            frame.extend_from_slice(&olen.to_be_bytes());
            frame.extend_from_slice(&out);
            stream.write_all(&frame).await?;
        }
    }
}

/// Sends `replies` with one `sendmmsg` when the socket takes them all at once; the rest (or
/// all, if that fails) one by one.
async fn send_batch(sock: &UdpSocket, replies: &[(Vec<u8>, SocketAddr)]) {
    if replies.is_empty() {
        return;
    }
    let fd = sock.as_raw_fd();
    let sent = sock
        .try_io(Interest::WRITABLE, || {
            let iovs: Vec<[IoSlice<'_>; 1]> =
                replies.iter().map(|(out, _)| [IoSlice::new(out)]).collect();
            let addrs: Vec<Option<SockaddrStorage>> = replies
                .iter()
                .map(|(_, peer)| Some(SockaddrStorage::from(*peer)))
                .collect();
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(replies.len(), None);
            let no_cmsgs: [ControlMessage<'_>; 0] = [];
            let results = sendmmsg(
                fd,
                &mut headers,
                &iovs,
                &addrs,
                no_cmsgs,
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(std::io::Error::from)?;
            Ok(results.count())
        })
        .unwrap_or(0);
    for (out, peer) in replies.iter().skip(sent) {
        send_udp(sock, out, *peer).await;
    }
}

/// A datagram's source address.
fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

async fn send_udp(sock: &UdpSocket, out: &[u8], peer: SocketAddr) {
    if let Err(e) = sock.send_to(out, peer).await {
        tracing::debug!(%peer, error = %e, "dns: udp send");
    }
}

/// Encodes `m` within `limit` bytes: whole if it fits; else without the additional section
/// (RFC 2181 §9: no TC for dropped glue); else header + question + OPT with TC set.
fn encode_limited(mut m: Message, limit: usize) -> Vec<u8> {
    if let Ok(bytes) = m.to_vec()
        && bytes.len() <= limit
    {
        return bytes;
    }
    if !m.additionals.is_empty() {
        m.additionals.clear();
        if let Ok(bytes) = m.to_vec()
            && bytes.len() <= limit
        {
            return bytes;
        }
    }
    let t = m.truncate();
    t.to_vec().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RecordType;
    use proptest::prelude::*;

    fn server() -> DnsServer {
        let index = Arc::new(records::tests::fixture_index());
        DnsServer::new(Config::default(), index).expect("server")
    }

    /// A wire-format query for `name`/`qtype`.
    fn query(name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.add_query(Query::query(Name::from_ascii(name).expect("name"), qtype));
        m.to_vec().expect("encode")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Random bytes never panic the handler; a reply is always a parseable response.
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let s = server();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            if let Some(out) = rt.block_on(s.handle(&bytes, Transport::Udp)) {
                let m = Message::from_vec(&out).expect("our reply parses");
                prop_assert_eq!(m.metadata.message_type, MessageType::Response);
                prop_assert!(out.len() <= 512 || bytes.len() > 12);
            }
        }

        /// Mutated valid queries never panic either.
        #[test]
        fn mutated_queries_never_panic(flips in proptest::collection::vec((0usize..64, any::<u8>()), 0..8), qt in any::<u16>()) {
            let s = server();
            let mut bytes = query("svc1.testns.svc.cluster.local.", RecordType::from(qt));
            for (i, b) in flips {
                if let Some(x) = bytes.get_mut(i) { *x ^= b; }
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
            let _ = rt.block_on(s.handle(&bytes, Transport::Udp));
        }
    }

    #[tokio::test]
    async fn metrics_are_exported() {
        let s = server();
        let q = query("nope.testns.svc.cluster.local.", RecordType::A);
        s.handle(&q, Transport::Udp).await.expect("reply");
        let mut registry = Registry::default();
        s.register_metrics(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(
            text.contains("tether_dns_requests_total{rcode=\"NXDOMAIN\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tether_dns_request_duration_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains("tether_dns_request_duration_seconds_bucket{le=\"+Inf\"} 1"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn formerr_and_drop() {
        let s = server();
        // Too short: dropped.
        assert!(s.handle(&[1, 2, 3], Transport::Udp).await.is_none());
        // Header says one question but none follows: FORMERR echoing the id.
        let pkt = [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xff];
        let out = s.handle(&pkt, Transport::Udp).await.expect("reply");
        assert_eq!(&out[..2], &[0xab, 0xcd]);
        assert_eq!(out[3] & 0x0f, 1);
        // A response is never answered.
        let mut resp = pkt;
        resp[2] |= 0x80;
        assert!(s.handle(&resp, Transport::Udp).await.is_none());
    }

    #[tokio::test]
    async fn truncates_over_udp_not_tcp() {
        let s = server();
        let q = query("big.testns.svc.cluster.local.", RecordType::A);
        let udp =
            Message::from_vec(&s.handle(&q, Transport::Udp).await.expect("udp")).expect("parse");
        assert!(udp.metadata.truncation);
        assert!(udp.answers.is_empty());
        let tcp =
            Message::from_vec(&s.handle(&q, Transport::Tcp).await.expect("tcp")).expect("parse");
        assert!(!tcp.metadata.truncation);
        assert_eq!(tcp.answers.len(), 100);
        assert!(tcp.metadata.authoritative);
    }
}
