//! Forwarding of names outside the cluster zone to upstream resolvers, with a cache.
//!
//! Every lookup is bounded by the configured timeout (SERVFAIL after it, never a hang).
//! Upstreams are tried in order, each with an equal share of the time budget; a truncated UDP
//! answer is retried over TCP. The cache respects record TTLs (negative answers: the SOA's
//! `min(ttl, minimum)`), is capped in size and never stores failures.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Why a forwarded lookup failed (the client gets SERVFAIL).
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// No upstream is configured.
    #[error("no upstream resolvers configured")]
    NoUpstreams,
    /// Every upstream failed or the time budget ran out.
    #[error("upstream lookup failed: {0}")]
    Failed(String),
}

/// An upstream answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// Upstream response code.
    pub rcode: ResponseCode,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authority: Vec<Record>,
    /// Additional section (without OPT).
    pub additionals: Vec<Record>,
    /// Upstream's RA flag.
    pub recursion_available: bool,
}

type CacheKey = (Name, RecordType, DNSClass);

#[derive(Debug)]
struct CacheEntry {
    value: Forwarded,
    stored: Instant,
    ttl: Duration,
}

/// Forwarder with a TTL cache.
#[derive(Debug)]
pub struct Forwarder {
    upstreams: Vec<SocketAddr>,
    timeout: Duration,
    max_ttl: Duration,
    capacity: usize,
    cache: Mutex<HashMap<CacheKey, CacheEntry>>,
}

impl Forwarder {
    /// A forwarder to `upstreams` with a total time budget `timeout` per lookup.
    pub fn new(
        upstreams: Vec<SocketAddr>,
        timeout: Duration,
        capacity: usize,
        max_ttl: Duration,
    ) -> Self {
        Self {
            upstreams,
            timeout,
            max_ttl,
            capacity,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether any upstream is configured.
    pub fn has_upstreams(&self) -> bool {
        !self.upstreams.is_empty()
    }

    /// A cached answer with TTLs decremented by its age, if fresh.
    pub fn cached(&self, name: &Name, qtype: RecordType, class: DNSClass) -> Option<Forwarded> {
        let key = (name.to_lowercase(), qtype, class);
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = cache.get(&key)?;
        let age = entry.stored.elapsed();
        if age >= entry.ttl {
            cache.remove(&key);
            return None;
        }
        let secs = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
        let mut value = entry.value.clone();
        for r in value
            .answers
            .iter_mut()
            .chain(value.authority.iter_mut())
            .chain(value.additionals.iter_mut())
        {
            r.ttl = r.ttl.saturating_sub(secs);
        }
        Some(value)
    }

    /// Resolves `name`/`qtype` upstream (cache first).
    pub async fn resolve(
        &self,
        name: &Name,
        qtype: RecordType,
        class: DNSClass,
    ) -> Result<(Forwarded, bool), ForwardError> {
        if let Some(hit) = self.cached(name, qtype, class) {
            return Ok((hit, true));
        }
        if self.upstreams.is_empty() {
            return Err(ForwardError::NoUpstreams);
        }
        let deadline = Instant::now() + self.timeout;
        let n = u32::try_from(self.upstreams.len()).unwrap_or(u32::MAX);
        let share = (self.timeout / n).max(Duration::from_millis(100));
        let mut last_err = String::from("timeout");
        for upstream in &self.upstreams {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let budget = share.min(deadline - now);
            match tokio::time::timeout(budget, exchange(*upstream, name, qtype, class)).await {
                Ok(Ok(fwd)) => {
                    self.store(name, qtype, class, &fwd);
                    return Ok((fwd, false));
                }
                Ok(Err(e)) => {
                    tracing::debug!(%upstream, %name, error = %e, "upstream failed");
                    last_err = e;
                }
                Err(_) => {
                    tracing::debug!(%upstream, %name, "upstream timed out");
                    last_err = format!("{upstream}: timeout");
                }
            }
        }
        Err(ForwardError::Failed(last_err))
    }

    fn store(&self, name: &Name, qtype: RecordType, class: DNSClass, fwd: &Forwarded) {
        let Some(ttl) = cache_ttl(fwd) else {
            return;
        };
        let ttl = ttl.min(self.max_ttl);
        if ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() >= self.capacity {
            cache.retain(|_, e| e.stored.elapsed() < e.ttl);
            while cache.len() >= self.capacity {
                let Some(k) = cache.keys().next().cloned() else {
                    break;
                };
                cache.remove(&k);
            }
        }
        cache.insert(
            (name.to_lowercase(), qtype, class),
            CacheEntry {
                value: fwd.clone(),
                stored: Instant::now(),
                ttl,
            },
        );
    }

    /// Number of cached entries (expired ones included until touched).
    pub fn cache_len(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// How long an upstream answer may be cached; `None` = not cacheable.
fn cache_ttl(fwd: &Forwarded) -> Option<Duration> {
    match fwd.rcode {
        ResponseCode::NoError if !fwd.answers.is_empty() => fwd
            .answers
            .iter()
            .map(|r| r.ttl)
            .min()
            .map(|s| Duration::from_secs(u64::from(s))),
        ResponseCode::NoError | ResponseCode::NXDomain => fwd.authority.iter().find_map(|r| {
            if let RData::SOA(soa) = &r.data {
                Some(Duration::from_secs(u64::from(r.ttl.min(soa.minimum))))
            } else {
                None
            }
        }),
        _ => None,
    }
}

fn build_query(name: &Name, qtype: RecordType, class: DNSClass) -> (u16, Vec<u8>) {
    let id: u16 = rand::random();
    let mut m = Message::new(id, MessageType::Query, hickory_proto::op::OpCode::Query);
    m.metadata.recursion_desired = true;
    let mut q = Query::query(name.clone(), qtype);
    q.set_query_class(class);
    m.add_query(q);
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    (id, m.to_vec().unwrap_or_default())
}

fn accept(
    resp: Message,
    id: u16,
    name: &Name,
    qtype: RecordType,
) -> Result<Option<Forwarded>, String> {
    if resp.metadata.id != id || resp.metadata.message_type != MessageType::Response {
        return Ok(None);
    }
    let matches = resp
        .queries
        .first()
        .is_some_and(|q| q.query_type() == qtype && q.name().eq_ignore_root(name));
    if !matches {
        return Ok(None);
    }
    if resp.metadata.truncation {
        return Err("truncated".into());
    }
    let Message {
        metadata,
        answers,
        authorities,
        additionals,
        ..
    } = resp;
    Ok(Some(Forwarded {
        rcode: metadata.response_code,
        answers,
        authority: authorities,
        additionals,
        recursion_available: metadata.recursion_available,
    }))
}

async fn exchange(
    upstream: SocketAddr,
    name: &Name,
    qtype: RecordType,
    class: DNSClass,
) -> Result<Forwarded, String> {
    match exchange_udp(upstream, name, qtype, class).await {
        Err(e) if e == "truncated" => exchange_tcp(upstream, name, qtype, class).await,
        other => other,
    }
}

async fn exchange_udp(
    upstream: SocketAddr,
    name: &Name,
    qtype: RecordType,
    class: DNSClass,
) -> Result<Forwarded, String> {
    let bind: SocketAddr = if upstream.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(upstream).await.map_err(|e| e.to_string())?;
    let (id, query) = build_query(name, qtype, class);
    sock.send(&query).await.map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| e.to_string())?;
        let Some(packet) = buf.get(..n) else {
            continue;
        };
        let Ok(resp) = Message::from_vec(packet) else {
            continue;
        };
        if let Some(fwd) = accept(resp, id, name, qtype)? {
            return Ok(fwd);
        }
    }
}

async fn exchange_tcp(
    upstream: SocketAddr,
    name: &Name,
    qtype: RecordType,
    class: DNSClass,
) -> Result<Forwarded, String> {
    let mut stream = TcpStream::connect(upstream)
        .await
        .map_err(|e| e.to_string())?;
    let (id, query) = build_query(name, qtype, class);
    let len = u16::try_from(query.len()).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&query);
    stream.write_all(&out).await.map_err(|e| e.to_string())?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut buf)
        .await
        .map_err(|e| e.to_string())?;
    let resp = Message::from_vec(&buf).map_err(|e| e.to_string())?;
    accept(resp, id, name, qtype)?.ok_or_else(|| "mismatched TCP response".to_owned())
}
