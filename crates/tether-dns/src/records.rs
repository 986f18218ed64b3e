//! The Kubernetes DNS specification as a pure function: snapshot + question → answer.
//!
//! Behaviour follows CoreDNS's `kubernetes` plugin (`handler.go`, `kubernetes.go`
//! `findServices`/`findPods`, `parse.go`, `reverse.go`, `ns.go`, `plugin/backend_lookup.go`),
//! including where NXDOMAIN and NODATA fall: SOA is answered at the apex only and is NODATA for
//! any other name (`handler.go`); TXT exists only at `dns-version`, is NODATA on names with
//! records of another type and NXDOMAIN on the apex and empty names (`Services`);
//! `dns-version` has no other type (NXDOMAIN, as any name that is not `svc`/`pod`-shaped:
//! `parseRequest`); `_tcp.<svc>` is an endpoint-shaped name that matches no endpoint
//! (NXDOMAIN).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::config::{Compiled, PodsMode};
use crate::index::{ServiceEntry, ServiceKind, Snapshot};

/// The schema version served at `dns-version.<zone>` (SPEC §2.2).
pub const DNS_SCHEMA_VERSION: &str = "1.1.0";
/// TTL of the `dns-version` TXT record (CoreDNS).
const DNS_VERSION_TTL: u32 = 28800;
/// Maximum CNAME chain followed inside the zone (CoreDNS `maxCnameChainLength`).
const MAX_CNAME_CHAIN: usize = 10;

/// An authoritative response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response code.
    pub rcode: ResponseCode,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section (the zone SOA on negative answers).
    pub authority: Vec<Record>,
    /// Additional section (SRV/NS glue).
    pub additionals: Vec<Record>,
    /// An out-of-zone CNAME target (ExternalName) whose addresses the server should resolve
    /// upstream and append to `answers`.
    pub chase: Option<Name>,
}

impl Response {
    fn new(rcode: ResponseCode) -> Self {
        Self {
            rcode,
            answers: Vec::new(),
            authority: Vec::new(),
            additionals: Vec::new(),
            chase: None,
        }
    }
}

/// What to do with a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The name is in a zone we serve: send this response with AA set.
    Authoritative(Response),
    /// Not ours (or a reverse name we do not know, with fallthrough): forward upstream.
    Forward,
}

/// Answers `qname`/`qtype` from `snap`. Pure: no I/O, never blocks.
pub fn answer(snap: &Snapshot, cfg: &Compiled, qname: &Name, qtype: RecordType) -> Answer {
    answer_depth(snap, cfg, qname, qtype, 0)
}

fn answer_depth(
    snap: &Snapshot,
    cfg: &Compiled,
    qname: &Name,
    qtype: RecordType,
    depth: usize,
) -> Answer {
    let lc = qname.to_lowercase();
    let labels: Vec<&[u8]> = lc.iter().collect();
    let z = cfg.zone_labels.len();
    if labels.len() >= z
        && labels[labels.len() - z..]
            .iter()
            .zip(&cfg.zone_labels)
            .all(|(a, b)| *a == b.as_bytes())
    {
        let ctx = Ctx {
            snap,
            cfg,
            qname,
            zone: qname.trim_to(z),
            ttl: cfg.cfg.ttl,
            depth,
        };
        return Answer::Authoritative(ctx.cluster(&labels[..labels.len() - z], qtype));
    }
    reverse(snap, cfg, qname, &labels, qtype)
}

/// Items found for a service-shaped name (CoreDNS `msg.Service`).
#[derive(Debug)]
struct Item<'s> {
    ip: IpAddr,
    port: Option<u16>,
    /// Endpoint label for endpoint-derived items; `None` for cluster IPs.
    endpoint: Option<&'s str>,
}

#[derive(Debug)]
enum Found<'s> {
    Cname(&'s str),
    Items(&'s ServiceEntry, Vec<Item<'s>>),
}

#[derive(Debug)]
enum Node<'s> {
    NxDomain,
    /// Exists, no records of any type we serve (`svc.<zone>`, `pod.<zone>`, a namespace).
    Empty,
    Apex,
    DnsVersion,
    NsDns,
    Pod(IpAddr),
    Service(Found<'s>),
}

struct Ctx<'a> {
    snap: &'a Snapshot,
    cfg: &'a Compiled,
    qname: &'a Name,
    /// The zone as the client spelled it.
    zone: Name,
    ttl: u32,
    depth: usize,
}

fn utf8(l: &[u8]) -> Option<&str> {
    std::str::from_utf8(l).ok()
}

fn strip_underscore(s: &str) -> &str {
    s.strip_prefix('_').unwrap_or(s)
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// CoreDNS `matchPortAndProtocol`: empty query parts are wildcards.
fn match_port(qport: &str, port: &str, qproto: &str, proto: &str) -> bool {
    (qport.is_empty() || same(qport, port)) && (qproto.is_empty() || same(qproto, proto))
}

/// CoreDNS `findServices` for one service.
fn find_service<'s>(
    svc: &'s ServiceEntry,
    endpoint: Option<&str>,
    port: &str,
    proto: &str,
) -> Option<Found<'s>> {
    match &svc.kind {
        ServiceKind::ExternalName(target) => {
            if endpoint.is_some() || !port.is_empty() || !proto.is_empty() {
                return None;
            }
            // An IP-looking or empty external name is not a CNAME: CoreDNS skips it.
            if target.is_empty() || target.parse::<IpAddr>().is_ok() {
                return None;
            }
            Some(Found::Cname(target))
        }
        ServiceKind::Headless => endpoint_items(svc, endpoint, port, proto),
        ServiceKind::ClusterIp(_) if endpoint.is_some() => {
            endpoint_items(svc, endpoint, port, proto)
        }
        ServiceKind::ClusterIp(ips) => {
            let mut found = false;
            let mut items = Vec::new();
            for p in &svc.ports {
                if !match_port(port, &p.name, proto, &p.protocol) {
                    continue;
                }
                found = true;
                items.extend(ips.iter().map(|ip| Item {
                    ip: *ip,
                    port: p.port,
                    endpoint: None,
                }));
            }
            found.then_some(Found::Items(svc, items))
        }
    }
}

fn endpoint_items<'s>(
    svc: &'s ServiceEntry,
    endpoint: Option<&str>,
    port: &str,
    proto: &str,
) -> Option<Found<'s>> {
    let mut items = Vec::new();
    for slice in &svc.slices {
        for ep in &slice.endpoints {
            if endpoint.is_some_and(|e| !same(e, &ep.hostname)) {
                continue;
            }
            for p in &slice.ports {
                if !match_port(port, &p.name, proto, &p.protocol) {
                    continue;
                }
                items.push(Item {
                    ip: ep.ip,
                    port: p.port,
                    endpoint: Some(&ep.hostname),
                });
            }
        }
    }
    (!items.is_empty()).then_some(Found::Items(svc, items))
}

/// CoreDNS `findPods` name → IP: `a-b-c-d` is IPv4, anything else has `-` for `:`.
fn pod_ip(label: &str) -> Option<IpAddr> {
    if label.matches('-').count() == 3 && !label.contains("--") {
        label
            .replace('-', ".")
            .parse::<Ipv4Addr>()
            .ok()
            .map(IpAddr::V4)
    } else {
        label
            .replace('-', ":")
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6)
    }
}

fn addr_record(name: Name, ttl: u32, ip: IpAddr) -> Record {
    match ip {
        IpAddr::V4(v4) => Record::from_rdata(name, ttl, RData::A(A(v4))),
        IpAddr::V6(v6) => Record::from_rdata(name, ttl, RData::AAAA(AAAA(v6))),
    }
}

fn family_matches(ip: &IpAddr, qtype: RecordType) -> bool {
    matches!(
        (ip, qtype),
        (IpAddr::V4(_), RecordType::A) | (IpAddr::V6(_), RecordType::AAAA)
    )
}

/// `labels` + `base` as a name; `None` if it would be invalid (label or name too long).
fn join(labels: &[&str], base: &Name) -> Option<Name> {
    let mut n = Name::from_labels(labels.iter().map(|l| l.as_bytes())).ok()?;
    n.set_fqdn(false);
    n.append_name(base).ok()
}

impl<'a> Ctx<'a> {
    fn soa(&self, owner: &Name) -> Record {
        let mname = join(&["ns", "dns"], owner).unwrap_or_else(|| owner.clone());
        let rname = join(&["hostmaster"], owner).unwrap_or_else(|| owner.clone());
        Record::from_rdata(
            owner.clone(),
            self.ttl.min(300),
            RData::SOA(SOA::new(
                mname,
                rname,
                self.snap.serial(),
                7200,
                1800,
                86400,
                self.ttl,
            )),
        )
    }

    fn negative(&self, rcode: ResponseCode) -> Response {
        let rcode = if rcode == ResponseCode::NXDomain && !self.snap.synced() {
            // CoreDNS notSyncedTestCases: missing names are SERVFAIL until the first sync.
            ResponseCode::ServFail
        } else {
            rcode
        };
        let mut r = Response::new(rcode);
        r.authority.push(self.soa(&self.zone));
        r
    }

    fn records(&self, answers: Vec<Record>, additionals: Vec<Record>) -> Response {
        if answers.is_empty() {
            return self.negative(ResponseCode::NoError);
        }
        let mut r = Response::new(ResponseCode::NoError);
        r.answers = answers;
        r.additionals = additionals;
        r
    }

    fn cluster(&self, rel: &[&[u8]], qtype: RecordType) -> Response {
        match qtype {
            RecordType::AXFR | RecordType::IXFR => return Response::new(ResponseCode::Refused),
            // CoreDNS `ServeDNS`: SOA only for the apex, NODATA for every other name (whether
            // or not it exists).
            RecordType::SOA if !rel.is_empty() => return self.negative(ResponseCode::NoError),
            _ => {}
        }
        match self.parse(rel) {
            Node::NxDomain => self.negative(ResponseCode::NXDomain),
            // CoreDNS `Services` for TXT: a name without records of any type is NXDOMAIN.
            Node::Empty | Node::Apex | Node::NsDns if qtype == RecordType::TXT => {
                self.negative(ResponseCode::NXDomain)
            }
            Node::Empty => self.negative(ResponseCode::NoError),
            Node::Apex => match qtype {
                RecordType::SOA => self.records(vec![self.soa(&self.zone)], Vec::new()),
                RecordType::NS => {
                    let (ns, glue) = self.ns_records();
                    self.records(ns, glue)
                }
                _ => self.negative(ResponseCode::NoError),
            },
            Node::DnsVersion => {
                if qtype == RecordType::TXT {
                    let txt = TXT::new(vec![DNS_SCHEMA_VERSION.to_owned()]);
                    let rec =
                        Record::from_rdata(self.qname.clone(), DNS_VERSION_TTL, RData::TXT(txt));
                    self.records(vec![rec], Vec::new())
                } else {
                    // Any other type goes through CoreDNS `parseRequest`, which rejects a
                    // name that is not `svc`/`pod`-shaped: NXDOMAIN.
                    self.negative(ResponseCode::NXDomain)
                }
            }
            Node::NsDns => {
                let answers = self
                    .cfg
                    .cfg
                    .nameserver_ips
                    .iter()
                    .filter(|ip| family_matches(ip, qtype))
                    .map(|ip| addr_record(self.qname.clone(), self.ttl, *ip))
                    .collect();
                self.records(answers, Vec::new())
            }
            Node::Pod(ip) => {
                let answers = if family_matches(&ip, qtype) {
                    vec![addr_record(self.qname.clone(), self.ttl, ip)]
                } else {
                    Vec::new()
                };
                self.records(answers, Vec::new())
            }
            Node::Service(found) => self.render(found, qtype),
        }
    }

    /// CoreDNS `parseRequest` + `Records`: classify the name left of the zone.
    fn parse(&self, rel: &[&[u8]]) -> Node<'a> {
        let Some((&last, rest)) = rel.split_last() else {
            return Node::Apex;
        };
        let is_svc = last == b"svc";
        if !is_svc && last != b"pod" {
            return match rel {
                [l] if *l == b"dns-version" => Node::DnsVersion,
                [a, b] if *a == b"ns" && *b == b"dns" => Node::NsDns,
                _ => Node::NxDomain,
            };
        }
        let Some((&ns, rest)) = rest.split_last() else {
            return Node::Empty; // `svc.<zone>` / `pod.<zone>`
        };
        let Some(ns) = utf8(ns) else {
            return Node::NxDomain;
        };
        if !is_svc && self.cfg.cfg.pods == PodsMode::Disabled {
            return Node::NxDomain;
        }
        if !self.snap.namespace_exists(ns) {
            return Node::NxDomain;
        }
        let Some((&name, rest)) = rest.split_last() else {
            return Node::Empty; // `<ns>.svc.<zone>`
        };
        let Some(name) = utf8(name) else {
            return Node::NxDomain;
        };
        if !is_svc {
            if !rest.is_empty() {
                return Node::NxDomain;
            }
            let Some(ip) = pod_ip(name) else {
                return Node::NxDomain;
            };
            if self.cfg.cfg.pods == PodsMode::Verified && !self.snap.pod_ip_in(&ip, ns) {
                return Node::NxDomain;
            }
            return Node::Pod(ip);
        }
        let Some(svc) = self.snap.service(ns, name) else {
            return Node::NxDomain;
        };
        let found = match rest {
            [] => find_service(svc, None, "", ""),
            [ep] => {
                let Some(ep) = utf8(ep) else {
                    return Node::NxDomain;
                };
                // Also `_tcp.<svc>`: CoreDNS reads one label as an endpoint name.
                find_service(svc, Some(ep), "", "")
            }
            [port, proto] => {
                let (Some(port), Some(proto)) = (utf8(port), utf8(proto)) else {
                    return Node::NxDomain;
                };
                find_service(svc, None, strip_underscore(port), strip_underscore(proto))
            }
            _ => None, // "query too long"
        };
        found.map_or(Node::NxDomain, Node::Service)
    }

    fn render(&self, found: Found<'a>, qtype: RecordType) -> Response {
        match (found, qtype) {
            (Found::Cname(target), RecordType::A | RecordType::AAAA) => {
                self.cname_chase(target, qtype)
            }
            (Found::Cname(target), RecordType::CNAME) => match self.cname(target) {
                Some((rec, _)) => self.records(vec![rec], Vec::new()),
                None => self.negative(ResponseCode::NoError),
            },
            (Found::Items(_, items), RecordType::A | RecordType::AAAA) => {
                let mut seen = HashSet::new();
                let answers = items
                    .iter()
                    .filter(|i| family_matches(&i.ip, qtype) && seen.insert(i.ip))
                    .map(|i| addr_record(self.qname.clone(), self.ttl, i.ip))
                    .collect();
                self.records(answers, Vec::new())
            }
            (Found::Items(svc, items), RecordType::SRV) => {
                let (srv, extra) = self.srv(svc, &items);
                self.records(srv, extra)
            }
            _ => self.negative(ResponseCode::NoError),
        }
    }

    fn cname(&self, target: &str) -> Option<(Record, Name)> {
        let mut t = Name::from_ascii(target).ok()?;
        t.set_fqdn(true);
        if t.eq_ignore_root(self.qname) {
            return None; // x CNAME x
        }
        let rec = Record::from_rdata(self.qname.clone(), self.ttl, RData::CNAME(CNAME(t.clone())));
        Some((rec, t))
    }

    /// ExternalName A/AAAA: the CNAME, then the target's addresses (in-zone: resolved here;
    /// out of zone: left to the server via `chase`).
    fn cname_chase(&self, target: &str, qtype: RecordType) -> Response {
        let Some((rec, t)) = self.cname(target) else {
            return self.negative(ResponseCode::NoError);
        };
        if self.zone_of(&t) {
            if self.depth >= MAX_CNAME_CHAIN {
                return self.negative(ResponseCode::NoError);
            }
            let next = answer_depth(self.snap, self.cfg, &t, qtype, self.depth + 1);
            return match next {
                Answer::Authoritative(r)
                    if r.rcode == ResponseCode::NoError && !r.answers.is_empty() =>
                {
                    let mut answers = vec![rec];
                    answers.extend(r.answers);
                    let mut out = self.records(answers, r.additionals);
                    out.chase = r.chase;
                    out
                }
                // CoreDNS drops the CNAME when the in-zone target has no records.
                _ => self.negative(ResponseCode::NoError),
            };
        }
        let mut r = self.records(vec![rec], Vec::new());
        r.chase = Some(t);
        r
    }

    fn zone_of(&self, name: &Name) -> bool {
        self.cfg.zone_name.zone_of(&name.to_lowercase())
    }

    /// CoreDNS `plugin.SRV`: priority 0, weight ⌊100/N⌋ (N = entries before de-dup), one SRV
    /// per (target, port), A/AAAA glue per (target, address).
    fn srv(&self, svc: &ServiceEntry, items: &[Item<'_>]) -> (Vec<Record>, Vec<Record>) {
        let n = u16::try_from(items.len()).unwrap_or(u16::MAX).max(1);
        let weight = (100 / n).max(1);
        let Some(base) = join(&[&svc.name, &svc.namespace, "svc"], &self.zone) else {
            return (Vec::new(), Vec::new());
        };
        let mut srv_seen: HashSet<(Option<&str>, u16)> = HashSet::new();
        let mut addr_seen: HashSet<(Option<&str>, IpAddr)> = HashSet::new();
        let mut records = Vec::new();
        let mut extra = Vec::new();
        for item in items {
            let Some(port) = item.port else {
                continue; // CoreDNS port -1 sentinel
            };
            let target = match item.endpoint {
                Some(ep) => match join(&[ep], &base) {
                    Some(t) => t,
                    None => continue,
                },
                None => base.clone(),
            };
            if srv_seen.insert((item.endpoint, port)) {
                let srv = SRV::new(0, weight, port, target.clone());
                records.push(Record::from_rdata(
                    self.qname.clone(),
                    self.ttl,
                    RData::SRV(srv),
                ));
            }
            if addr_seen.insert((item.endpoint, item.ip)) {
                extra.push(addr_record(target, self.ttl, item.ip));
            }
        }
        (records, extra)
    }

    /// Apex NS: the Service owning a nameserver IP as cluster IP (CoreDNS `nsAddrs`), else
    /// `ns.dns.<zone>` with the configured addresses as glue.
    fn ns_records(&self) -> (Vec<Record>, Vec<Record>) {
        let ips = &self.cfg.cfg.nameserver_ips;
        let mut targets: Vec<(Name, IpAddr)> = Vec::new();
        for ip in ips {
            for p in self.snap.reverse(ip) {
                if p.endpoint.is_some() {
                    continue;
                }
                if let Some(svc) = self.snap.service(&p.namespace, &p.service)
                    && let ServiceKind::ClusterIp(cips) = &svc.kind
                    && let Some(name) = join(&[&svc.name, &svc.namespace, "svc"], &self.zone)
                {
                    for cip in cips {
                        if !targets.iter().any(|(n, i)| *n == name && i == cip) {
                            targets.push((name.clone(), *cip));
                        }
                    }
                }
            }
        }
        let ns_dns = join(&["ns", "dns"], &self.zone);
        if targets.is_empty()
            && let Some(ns_dns) = &ns_dns
        {
            targets.extend(ips.iter().map(|ip| (ns_dns.clone(), *ip)));
        }
        let mut ns = Vec::new();
        let mut glue = Vec::new();
        let mut seen: Vec<&Name> = Vec::new();
        for (name, ip) in &targets {
            glue.push(addr_record(name.clone(), self.ttl, *ip));
            if !seen.contains(&name) {
                seen.push(name);
                ns.push(Record::from_rdata(
                    self.qname.clone(),
                    self.ttl,
                    RData::NS(NS(name.clone())),
                ));
            }
        }
        if ns.is_empty()
            && let Some(ns_dns) = ns_dns
        {
            ns.push(Record::from_rdata(
                self.qname.clone(),
                self.ttl,
                RData::NS(NS(ns_dns)),
            ));
        }
        (ns, glue)
    }
}

/// Parses `d.c.b.a.in-addr.arpa` / 32-nibble `ip6.arpa` labels (lower case) into an address.
fn parse_reverse(labels: &[&[u8]]) -> Option<IpAddr> {
    match labels {
        [d, c, b, a, in_addr, arpa] if *in_addr == b"in-addr" && *arpa == b"arpa" => {
            let octet = |l: &[u8]| -> Option<u8> {
                let s = utf8(l)?;
                if s.len() > 1 && s.starts_with('0') {
                    return None;
                }
                s.parse().ok()
            };
            Some(IpAddr::V4(Ipv4Addr::new(
                octet(a)?,
                octet(b)?,
                octet(c)?,
                octet(d)?,
            )))
        }
        _ if labels.len() == 34 && labels[32] == b"ip6" && labels[33] == b"arpa" => {
            let mut v: u128 = 0;
            for l in labels[..32].iter().rev() {
                let [c] = l else {
                    return None;
                };
                let nibble = char::from(*c).to_digit(16)?;
                v = (v << 4) | u128::from(nibble);
            }
            Some(IpAddr::V6(Ipv6Addr::from(v)))
        }
        _ => None,
    }
}

/// Reverse zones (`in-addr.arpa`, `ip6.arpa`) and everything else.
fn reverse(
    snap: &Snapshot,
    cfg: &Compiled,
    qname: &Name,
    labels: &[&[u8]],
    qtype: RecordType,
) -> Answer {
    let n = labels.len();
    let is_reverse = n >= 2
        && labels[n - 1] == b"arpa"
        && (labels[n - 2] == b"in-addr" || labels[n - 2] == b"ip6");
    if !is_reverse {
        return Answer::Forward;
    }
    let ctx = Ctx {
        snap,
        cfg,
        qname,
        zone: qname.trim_to(2),
        ttl: cfg.cfg.ttl,
        depth: 0,
    };
    let ip = parse_reverse(labels);
    let entries = ip.as_ref().map_or(&[][..], |ip| snap.reverse(ip));
    if !entries.is_empty() {
        if qtype != RecordType::PTR {
            return Answer::Authoritative(ctx.negative(ResponseCode::NoError));
        }
        // CoreDNS `serviceRecordForIP`: a cluster IP wins (one PTR); else every endpoint.
        let chosen: Vec<_> = match entries.iter().find(|p| p.endpoint.is_none()) {
            Some(p) => vec![p],
            None => entries.iter().collect(),
        };
        let mut answers: Vec<Record> = Vec::new();
        for p in chosen {
            let mut labels: Vec<&str> = Vec::with_capacity(4);
            if let Some(ep) = &p.endpoint {
                labels.push(ep);
            }
            labels.extend([&*p.service, &*p.namespace, "svc"]);
            let Some(target) = join(&labels, &cfg.zone_name) else {
                continue;
            };
            let rec = Record::from_rdata(qname.clone(), cfg.cfg.ttl, RData::PTR(PTR(target)));
            if !answers.contains(&rec) {
                answers.push(rec);
            }
        }
        return Answer::Authoritative(ctx.records(answers, Vec::new()));
    }
    if cfg.cfg.reverse_fallthrough && !cfg.cfg.upstreams.is_empty() {
        return Answer::Forward;
    }
    if matches!(qtype, RecordType::AXFR | RecordType::IXFR) {
        return Answer::Authoritative(Response::new(ResponseCode::Refused));
    }
    Answer::Authoritative(ctx.negative(ResponseCode::NXDomain))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{Pod, PodIP, PodStatus, Service, ServicePort, ServiceSpec};
    use k8s_openapi::api::discovery::v1::{
        Endpoint, EndpointConditions, EndpointPort, EndpointSlice,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::config::Config;
    use crate::index::Index;

    fn meta(name: &str, ns: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(ns.into()),
            ..ObjectMeta::default()
        }
    }

    fn ports(ports: &[(&str, &str, i32)]) -> Option<Vec<ServicePort>> {
        Some(
            ports
                .iter()
                .map(|(n, proto, port)| ServicePort {
                    name: (!n.is_empty()).then(|| (*n).into()),
                    protocol: Some((*proto).into()),
                    port: *port,
                    ..ServicePort::default()
                })
                .collect(),
        )
    }

    pub(crate) fn svc(name: &str, ns: &str, ips: &[&str], p: &[(&str, &str, i32)]) -> Service {
        Service {
            metadata: meta(name, ns),
            spec: Some(ServiceSpec {
                cluster_ip: ips.first().map(|s| (*s).into()),
                cluster_ips: Some(ips.iter().map(|s| (*s).into()).collect()),
                ports: ports(p),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    pub(crate) fn headless(name: &str, ns: &str, p: &[(&str, &str, i32)]) -> Service {
        svc(name, ns, &["None"], p)
    }

    pub(crate) fn external(name: &str, ns: &str, target: &str) -> Service {
        Service {
            metadata: meta(name, ns),
            spec: Some(ServiceSpec {
                type_: Some("ExternalName".into()),
                external_name: Some(target.into()),
                ports: ports(&[("http", "TCP", 80)]),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        }
    }

    /// endpoints: (ip, hostname, ready)
    pub(crate) fn slice(
        name: &str,
        ns: &str,
        service: &str,
        eps: &[(&str, Option<&str>, Option<bool>)],
        p: &[(&str, &str, i32)],
    ) -> EndpointSlice {
        let mut m = meta(name, ns);
        m.labels = Some(BTreeMap::from([(
            "kubernetes.io/service-name".to_owned(),
            service.to_owned(),
        )]));
        EndpointSlice {
            metadata: m,
            address_type: "IPv4".into(),
            endpoints: eps
                .iter()
                .map(|(ip, host, ready)| Endpoint {
                    addresses: vec![(*ip).into()],
                    hostname: host.map(Into::into),
                    conditions: Some(EndpointConditions {
                        ready: *ready,
                        ..EndpointConditions::default()
                    }),
                    ..Endpoint::default()
                })
                .collect(),
            ports: Some(
                p.iter()
                    .map(|(n, proto, port)| EndpointPort {
                        name: Some((*n).into()),
                        protocol: Some((*proto).into()),
                        port: Some(*port),
                        ..EndpointPort::default()
                    })
                    .collect(),
            ),
        }
    }

    pub(crate) fn pod(name: &str, ns: &str, ip: &str) -> Pod {
        Pod {
            metadata: meta(name, ns),
            status: Some(PodStatus {
                pod_ip: Some(ip.into()),
                pod_ips: Some(vec![PodIP { ip: ip.into() }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    /// The objects of CoreDNS's `handler_test.go` (`svcIndex`, `epsIndex`) plus a few more.
    pub(crate) fn fixture_objects() -> (Vec<Service>, Vec<EndpointSlice>, Vec<Pod>) {
        let http = [("http", "TCP", 80)];
        let services = vec![
            svc(
                "kubedns",
                "kube-system",
                &["10.0.0.10"],
                &[("dns", "UDP", 53)],
            ),
            svc("svc1", "testns", &["10.0.0.1"], &http),
            svc("svcempty", "testns", &["10.0.0.1"], &http),
            svc("svc6", "testns", &["1234:abcd::1"], &http),
            headless("hdls1", "testns", &[]),
            external("external", "testns", "ext.interwebs.test"),
            external(
                "external-to-service",
                "testns",
                "svc1.testns.svc.cluster.local.",
            ),
            headless("hdlsprtls", "testns", &[]),
            svc("svc-dual-stack", "testns", &["10.0.0.3", "10::3"], &http),
            headless("notready", "testns", &http),
            {
                let mut s = headless("pnr", "testns", &http);
                if let Some(spec) = s.spec.as_mut() {
                    spec.publish_not_ready_addresses = Some(true);
                }
                s
            },
            headless("big", "testns", &http),
        ];
        let big: Vec<String> = (1..=100).map(|i| format!("10.9.0.{i}")).collect();
        let big_eps: Vec<(&str, Option<&str>, Option<bool>)> =
            big.iter().map(|s| (s.as_str(), None, Some(true))).collect();
        let slices = vec![
            slice(
                "kubedns-1",
                "kube-system",
                "kubedns",
                &[("172.0.0.100", None, None)],
                &[("dns", "UDP", 53)],
            ),
            slice(
                "svc1-slice1",
                "testns",
                "svc1",
                &[("172.0.0.1", Some("ep1a"), None)],
                &http,
            ),
            slice("svcempty-slice1", "testns", "svcempty", &[], &http),
            slice(
                "hdls1-slice1",
                "testns",
                "hdls1",
                &[
                    ("172.0.0.2", None, None),
                    ("172.0.0.3", None, Some(true)),
                    ("172.0.0.4", Some("dup-name"), None),
                    ("172.0.0.5", Some("dup-name"), None),
                    ("5678:abcd::1", None, None),
                    ("5678:abcd::2", None, None),
                    ("172.0.0.9", Some("not-ready"), Some(false)),
                ],
                &http,
            ),
            slice(
                "hdlsprtls-slice1",
                "testns",
                "hdlsprtls",
                &[("172.0.0.20", None, None)],
                &[],
            ),
            slice(
                "notready-1",
                "testns",
                "notready",
                &[("172.0.1.1", None, Some(false))],
                &http,
            ),
            slice(
                "pnr-1",
                "testns",
                "pnr",
                &[("172.0.2.1", None, Some(false))],
                &http,
            ),
            slice("big-1", "testns", "big", &big_eps, &http),
        ];
        let pods = vec![pod("foo", "podns", "10.240.0.1")];
        (services, slices, pods)
    }

    pub(crate) fn fixture_index() -> Index {
        let (s, e, p) = fixture_objects();
        Index::from_objects(&s, &e, &p)
    }

    fn cfg() -> Compiled {
        Compiled::new(Config {
            nameserver_ips: vec!["127.0.0.1".parse().expect("ip")],
            ..Config::default()
        })
        .expect("cfg")
    }

    fn ask(index: &Index, cfg: &Compiled, name: &str, qtype: RecordType) -> Response {
        let mut name = Name::from_ascii(name).expect("name");
        name.set_fqdn(true);
        match answer(&index.snapshot(), cfg, &name, qtype) {
            Answer::Authoritative(r) => r,
            Answer::Forward => panic!("{name} was forwarded"),
        }
    }

    fn render(rs: &[Record]) -> Vec<String> {
        let mut v: Vec<String> = rs
            .iter()
            .map(|r| {
                r.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        v.sort();
        v
    }

    fn strs(v: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = v.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    use RecordType as T;
    const NOERROR: ResponseCode = ResponseCode::NoError;
    const NX: ResponseCode = ResponseCode::NXDomain;

    struct Case {
        q: &'static str,
        t: RecordType,
        rcode: ResponseCode,
        answer: &'static [&'static str],
        extra: &'static [&'static str],
    }

    const fn c(
        q: &'static str,
        t: RecordType,
        rcode: ResponseCode,
        answer: &'static [&'static str],
    ) -> Case {
        Case {
            q,
            t,
            rcode,
            answer,
            extra: &[],
        }
    }

    /// CoreDNS `commonDnsTestCases` + `dnsTestCases` (handler_test.go), pod-insecure and apex
    /// cases, plus tether additions.
    #[test]
    fn coredns_handler_cases() {
        let index = fixture_index();
        let cfg = cfg();
        let cases = [
            c(
                "svc1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
            ),
            c(
                "svcempty.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["svcempty.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
            ),
            Case {
                extra: &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
                ..c(
                    "svc1.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
                    ],
                )
            },
            Case {
                extra: &["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
                ..c(
                    "svc6.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local.",
                    ],
                )
            },
            Case {
                extra: &["svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
                ..c(
                    "_http._tcp.svc1.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "_http._tcp.svc1.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc1.testns.svc.cluster.local.",
                    ],
                )
            },
            c(
                "hdls1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &[
                    "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
                    "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
                    "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
                    "hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
                ],
            ),
            c(
                "hdlsprtls.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"],
            ),
            c("svc1.testns.svc.cluster.local.", T::AAAA, NOERROR, &[]),
            c("svc0.testns.svc.cluster.local.", T::AAAA, NX, &[]),
            c("svc0.testns.svc.cluster.local.", T::A, NX, &[]),
            c("svc0.svc-nons.svc.cluster.local.", T::A, NX, &[]),
            c(
                "dns-version.cluster.local.",
                T::TXT,
                NOERROR,
                &["dns-version.cluster.local. 28800 IN TXT 1.1.0"],
            ),
            c("svc1.testns.svc.cluster.local.", T::TXT, NOERROR, &[]),
            c("svc0.svc-nons.svc.cluster.local.", T::TXT, NX, &[]),
            c(
                "bogusendpoint.hdls1.testns.svc.cluster.local.",
                T::A,
                NX,
                &[],
            ),
            c(
                "bogusendpoint.svc0.testns.svc.cluster.local.",
                T::A,
                NX,
                &[],
            ),
            c(
                "svc6.testns.svc.cluster.local.",
                T::AAAA,
                NOERROR,
                &["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
            ),
            Case {
                extra: &["svc6.testns.svc.cluster.local. 5 IN AAAA 1234:abcd::1"],
                ..c(
                    "_http._tcp.svc6.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "_http._tcp.svc6.testns.svc.cluster.local. 5 IN SRV 0 100 80 svc6.testns.svc.cluster.local.",
                    ],
                )
            },
            c(
                "hdls1.testns.svc.cluster.local.",
                T::AAAA,
                NOERROR,
                &[
                    "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
                    "hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
                ],
            ),
            c("svc.cluster.local.", T::A, NOERROR, &[]),
            c("pod.cluster.local.", T::A, NOERROR, &[]),
            c("testns.svc.cluster.local.", T::A, NOERROR, &[]),
            c("svc.cluster.local.", T::NS, NOERROR, &[]),
            c("testns.svc.cluster.local.", T::NS, NOERROR, &[]),
            c("foo.cluster.local.", T::NS, NX, &[]),
            c("foo.svc.cluster.local.", T::NS, NX, &[]),
            c(
                "svc-dual-stack.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3"],
            ),
            c(
                "svc-dual-stack.testns.svc.cluster.local.",
                T::AAAA,
                NOERROR,
                &["svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3"],
            ),
            Case {
                extra: &[
                    "svc-dual-stack.testns.svc.cluster.local. 5 IN A 10.0.0.3",
                    "svc-dual-stack.testns.svc.cluster.local. 5 IN AAAA 10::3",
                ],
                ..c(
                    "svc-dual-stack.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "svc-dual-stack.testns.svc.cluster.local. 5 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.",
                    ],
                )
            },
            c("svc1.testns.svc.cluster.local.", T::SOA, NOERROR, &[]),
            c(
                "endpoint.external.testns.svc.cluster.local.",
                T::CNAME,
                NX,
                &[],
            ),
            c(
                "subdomain.subdomain.external.testns.svc.cluster.local.",
                T::CNAME,
                NX,
                &[],
            ),
            // dnsTestCases
            Case {
                extra: &[
                    "172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2",
                    "172-0-0-3.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.3",
                    "5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1",
                    "5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2",
                    "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
                    "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
                ],
                ..c(
                    "_http._tcp.hdls1.testns.svc.cluster.local.",
                    T::SRV,
                    NOERROR,
                    &[
                        "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-2.hdls1.testns.svc.cluster.local.",
                        "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 172-0-0-3.hdls1.testns.svc.cluster.local.",
                        "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--1.hdls1.testns.svc.cluster.local.",
                        "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 5678-abcd--2.hdls1.testns.svc.cluster.local.",
                        "_http._tcp.hdls1.testns.svc.cluster.local. 5 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.",
                    ],
                )
            },
            c(
                "5678-abcd--2.hdls1.testns.svc.cluster.local",
                T::AAAA,
                NOERROR,
                &["5678-abcd--2.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::2"],
            ),
            c(
                "5678-abcd--1.hdls1.testns.svc.cluster.local.",
                T::AAAA,
                NOERROR,
                &["5678-abcd--1.hdls1.testns.svc.cluster.local. 5 IN AAAA 5678:abcd::1"],
            ),
            c(
                "5678-abcd--1.hdls1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &[],
            ),
            c(
                "172-0-0-20.hdlsprtls.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["172-0-0-20.hdlsprtls.testns.svc.cluster.local. 5 IN A 172.0.0.20"],
            ),
            c("hdlsprtls.testns.svc.cluster.local.", T::SRV, NOERROR, &[]),
            c(
                "172-0-0-2.hdls1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["172-0-0-2.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.2"],
            ),
            c(
                "dup-name.hdls1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &[
                    "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.4",
                    "dup-name.hdls1.testns.svc.cluster.local. 5 IN A 172.0.0.5",
                ],
            ),
            c(
                "external.testns.svc.cluster.local.",
                T::CNAME,
                NOERROR,
                &["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."],
            ),
            c(
                "external.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["external.testns.svc.cluster.local. 5 IN CNAME ext.interwebs.test."],
            ),
            c(
                "external-to-service.testns.svc.cluster.local",
                T::A,
                NOERROR,
                &[
                    "external-to-service.testns.svc.cluster.local. 5 IN CNAME svc1.testns.svc.cluster.local.",
                    "svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1",
                ],
            ),
            c("external.testns.svc.cluster.local.", T::SRV, NOERROR, &[]),
            c(
                "_http._tcp.external.testns.svc.cluster.local.",
                T::SRV,
                NX,
                &[],
            ),
            // CoreDNS handler_pod_insecure_test.go
            c(
                "10-240-0-1.podns.pod.cluster.local.",
                T::A,
                NOERROR,
                &["10-240-0-1.podns.pod.cluster.local. 5 IN A 10.240.0.1"],
            ),
            c(
                "172-0-0-2.podns.pod.cluster.local.",
                T::A,
                NOERROR,
                &["172-0-0-2.podns.pod.cluster.local. 5 IN A 172.0.0.2"],
            ),
            c(
                "fd00-10-244--5.podns.pod.cluster.local.",
                T::AAAA,
                NOERROR,
                &["fd00-10-244--5.podns.pod.cluster.local. 5 IN AAAA fd00:10:244::5"],
            ),
            c("blah.podns.pod.cluster.local.", T::A, NX, &[]),
            c("blah.podns.pod.cluster.local.", T::AAAA, NX, &[]),
            c("blah.podns.pod.cluster.local.", T::HINFO, NX, &[]),
            c("blah.pod-nons.pod.cluster.local.", T::A, NX, &[]),
            c("podns.pod.cluster.local.", T::A, NOERROR, &[]),
            // kubernetes_apex_test.go
            c("cluster.local.", T::HINFO, NOERROR, &[]),
            Case {
                extra: &["ns.dns.cluster.local. 5 IN A 127.0.0.1"],
                ..c(
                    "cluster.local.",
                    T::NS,
                    NOERROR,
                    &["cluster.local. 5 IN NS ns.dns.cluster.local."],
                )
            },
            c("cluster.local.", T::A, NOERROR, &[]),
            c("cluster.local.", T::AAAA, NOERROR, &[]),
            c("cluster.local.", T::SRV, NOERROR, &[]),
            c(
                "ns.dns.cluster.local.",
                T::A,
                NOERROR,
                &["ns.dns.cluster.local. 5 IN A 127.0.0.1"],
            ),
            // Reverse (reverse_test.go shapes)
            c(
                "10.0.0.10.in-addr.arpa.",
                T::PTR,
                NOERROR,
                &["10.0.0.10.in-addr.arpa. 5 IN PTR kubedns.kube-system.svc.cluster.local."],
            ),
            c(
                "1.0.0.172.in-addr.arpa.",
                T::PTR,
                NOERROR,
                &["1.0.0.172.in-addr.arpa. 5 IN PTR ep1a.svc1.testns.svc.cluster.local."],
            ),
            c(
                "100.0.0.172.in-addr.arpa.",
                T::PTR,
                NOERROR,
                &[
                    "100.0.0.172.in-addr.arpa. 5 IN PTR 172-0-0-100.kubedns.kube-system.svc.cluster.local.",
                ],
            ),
            c(
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa.",
                T::PTR,
                NOERROR,
                &[
                    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.4.3.2.1.ip6.arpa. 5 IN PTR svc6.testns.svc.cluster.local.",
                ],
            ),
            c("101.0.0.10.in-addr.arpa.", T::PTR, NX, &[]),
            c("svc1.testns.svc.cluster.local.", T::PTR, NOERROR, &[]),
            c("100.0.0.10.cluster.local.", T::PTR, NX, &[]),
            // Readiness and publishNotReadyAddresses
            c("notready.testns.svc.cluster.local.", T::A, NX, &[]),
            c(
                "pnr.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["pnr.testns.svc.cluster.local. 5 IN A 172.0.2.1"],
            ),
            c("not-ready.hdls1.testns.svc.cluster.local.", T::A, NX, &[]),
            // Endpoint names under a ClusterIP service [ext]
            c(
                "ep1a.svc1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["ep1a.svc1.testns.svc.cluster.local. 5 IN A 172.0.0.1"],
            ),
            // SRV-shaped name queried for A [ext]
            c(
                "_http._tcp.svc1.testns.svc.cluster.local.",
                T::A,
                NOERROR,
                &["_http._tcp.svc1.testns.svc.cluster.local. 5 IN A 10.0.0.1"],
            ),
            c(
                "_https._tcp.svc1.testns.svc.cluster.local.",
                T::SRV,
                NX,
                &[],
            ),
            c("_http._udp.svc1.testns.svc.cluster.local.", T::SRV, NX, &[]),
            // Where CoreDNS puts NXDOMAIN and NODATA beyond handler_test.go's cases (checked
            // against coredns/coredns plugin/kubernetes): `_tcp.<svc>` is an endpoint name
            // matching nothing (parse.go "endpoint only", as handler_test's
            // "bogusendpoint.hdls1" A → NXDOMAIN).
            c("_tcp.svc1.testns.svc.cluster.local.", T::SRV, NX, &[]),
            // dns-version A: parseRequest's errInvalidRequest, the path of handler_test's
            // "foo.cluster.local." NS → NXDOMAIN.
            c("dns-version.cluster.local.", T::A, NX, &[]),
            // SOA below the apex: handler.go answers it only when qname == zone, else NODATA
            // (handler_test "svc1.testns.svc.cluster.local." SOA → NOERROR + SOA in Ns).
            c("nothere.cluster.local.", T::SOA, NOERROR, &[]),
            // TXT on the apex and on empty names: kubernetes.go Services, "Return NXDOMAIN
            // for no match" (handler_test "svc0.svc-nons" TXT → NXDOMAIN, "svc1" TXT →
            // NOERROR); other types there stay NODATA (kubernetes_apex_test.go).
            c("cluster.local.", T::TXT, NX, &[]),
            c("testns.svc.cluster.local.", T::TXT, NX, &[]),
            c("ns.dns.cluster.local.", T::TXT, NX, &[]),
            c("10-240-0-1.podns.pod.cluster.local.", T::TXT, NOERROR, &[]),
            c("a.b.c.svc1.testns.svc.cluster.local.", T::A, NX, &[]),
            c("*.testns.svc.cluster.local.", T::A, NX, &[]),
            c(
                "svc1.testns.svc.cluster.local.",
                T::AXFR,
                ResponseCode::Refused,
                &[],
            ),
        ];
        let mut failures = Vec::new();
        for case in &cases {
            let r = ask(&index, &cfg, case.q, case.t);
            let got = (r.rcode, render(&r.answers), render(&r.additionals));
            let want = (case.rcode, strs(case.answer), strs(case.extra));
            if got != want {
                failures.push(format!(
                    "{} {:?}: got {got:?}, want {want:?}",
                    case.q, case.t
                ));
                continue;
            }
            // Negative answers carry the SOA of the zone in authority.
            if r.answers.is_empty() && r.rcode != ResponseCode::Refused {
                let ok = r.authority.len() == 1 && r.authority[0].record_type() == T::SOA;
                if !ok {
                    failures.push(format!("{} {:?}: no SOA in authority", case.q, case.t));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn soa_shape() {
        let index = fixture_index();
        let r = ask(&index, &cfg(), "svc0.testns.svc.cluster.local.", T::A);
        let soa = render(&r.authority).join("");
        let parts: Vec<&str> = soa.split(' ').collect();
        assert_eq!(
            &parts[..6],
            &[
                "cluster.local.",
                "5",
                "IN",
                "SOA",
                "ns.dns.cluster.local.",
                "hostmaster.cluster.local."
            ]
        );
        assert_eq!(&parts[7..], &["7200", "1800", "86400", "5"]);
        let r = ask(&index, &cfg(), "cluster.local.", T::SOA);
        assert_eq!(r.answers.len(), 1);
        let r = ask(&index, &cfg(), "101.0.0.10.in-addr.arpa.", T::PTR);
        assert!(
            render(&r.authority)[0].starts_with(
                "in-addr.arpa. 5 IN SOA ns.dns.in-addr.arpa. hostmaster.in-addr.arpa."
            )
        );
    }

    #[test]
    fn chase_and_case() {
        let index = fixture_index();
        let cfg = cfg();
        let r = ask(&index, &cfg, "external.testns.svc.cluster.local.", T::A);
        assert_eq!(
            r.chase,
            Some(Name::from_ascii("ext.interwebs.test.").expect("name"))
        );
        // Case-insensitive matching; the query's case is echoed.
        let r = ask(&index, &cfg, "SVC1.TestNS.svc.Cluster.Local.", T::A);
        assert_eq!(
            render(&r.answers),
            vec!["SVC1.TestNS.svc.Cluster.Local. 5 IN A 10.0.0.1"]
        );
    }

    #[test]
    fn forwarding_decisions() {
        let index = fixture_index();
        let name = |s: &str| Name::from_ascii(s).expect("name");
        let snap = index.snapshot();
        assert_eq!(
            answer(&snap, &cfg(), &name("example.com."), T::A),
            Answer::Forward
        );
        let with_upstream = Compiled::new(Config {
            upstreams: vec!["127.0.0.1:53".parse().expect("addr")],
            ..Config::default()
        })
        .expect("cfg");
        // Unknown reverse names fall through to the upstream (kubeadm Corefile).
        assert_eq!(
            answer(
                &snap,
                &with_upstream,
                &name("101.0.0.10.in-addr.arpa."),
                T::PTR
            ),
            Answer::Forward
        );
        assert!(matches!(
            answer(
                &snap,
                &with_upstream,
                &name("10.0.0.10.in-addr.arpa."),
                T::PTR
            ),
            Answer::Authoritative(_)
        ));
    }

    #[test]
    fn not_synced_is_servfail() {
        let index = Index::new();
        let r = ask(&index, &cfg(), "svc0.testns.svc.cluster.local.", T::A);
        assert_eq!(r.rcode, ResponseCode::ServFail);
    }

    #[test]
    fn pods_modes() {
        let index = fixture_index();
        let disabled = Compiled::new(Config {
            pods: PodsMode::Disabled,
            ..Config::default()
        })
        .expect("cfg");
        assert_eq!(
            ask(
                &index,
                &disabled,
                "10-240-0-1.podns.pod.cluster.local.",
                T::A
            )
            .rcode,
            NX
        );
        assert_eq!(
            ask(&index, &disabled, "podns.pod.cluster.local.", T::A).rcode,
            NX
        );
        let verified = Compiled::new(Config {
            pods: PodsMode::Verified,
            ..Config::default()
        })
        .expect("cfg");
        assert_eq!(
            ask(
                &index,
                &verified,
                "10-240-0-1.podns.pod.cluster.local.",
                T::A
            )
            .answers
            .len(),
            1
        );
        assert_eq!(
            ask(
                &index,
                &verified,
                "10-240-0-2.podns.pod.cluster.local.",
                T::A
            )
            .rcode,
            NX
        );
    }

    #[test]
    fn other_zone() {
        let index = fixture_index();
        let cfg = Compiled::new(Config {
            zone: "tether.internal".into(),
            ..Config::default()
        })
        .expect("cfg");
        let r = ask(&index, &cfg, "svc1.testns.svc.tether.internal.", T::A);
        assert_eq!(
            render(&r.answers),
            vec!["svc1.testns.svc.tether.internal. 5 IN A 10.0.0.1"]
        );
        let name = Name::from_ascii("svc1.testns.svc.cluster.local.").expect("name");
        assert_eq!(
            answer(&index.snapshot(), &cfg, &name, T::A),
            Answer::Forward
        );
    }
}
