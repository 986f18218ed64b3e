//! `bpf-service`: an experiment for issue 4's kernel target. ClusterIP Services served by two
//! tcx programs instead of conntrack, with the maps a data plane for any number of Services
//! needs:
//!
//! - `services`: ClusterIP . port → (endpoint count, first index in `backends`);
//! - `backends`: index → endpoint address . port;
//! - `flows` (LRU): client . port . Service port . ClusterIP → endpoint address . port;
//! - `replies` (LRU): client . port . target port . endpoint → ClusterIP . Service port.
//!
//! On the uplink's ingress a packet of a known flow (one lookup) gets its destination address
//! and port rewritten (checksums by the helpers) and goes to the pod by `bpf_redirect_neigh`;
//! a SYN of a new flow to a Service picks an endpoint (`bpf_get_prandom_u32`) and records
//! both directions. On the pods' veths the replies of known flows (one lookup) get the
//! ClusterIP and port back and go out of the uplink the same way. No nftables, no IP stack
//! in the node. Runs until killed (the programs detach when it exits). Assumes a
//! little-endian host (2-byte fields are kept in 4-byte stack slots).

use anyhow::Context as _;
use tether_bpf::asm::{Asm, Cond, Size, helper};
use tether_bpf::{Link, Map, MapType, PROG_TYPE_SCHED_CLS, Program, TcxHook};

/// Arguments of `bpf-service`.
#[derive(Debug, clap::Args)]
pub(crate) struct BpfArgs {
    /// A Service: `CLUSTER_IP:PORT=ENDPOINT:PORT,ENDPOINT:PORT,...` (repeat the flag).
    #[arg(long = "service", required = true)]
    services: Vec<String>,
    /// The device clients come in on.
    #[arg(long)]
    uplink: String,
    /// The pods' bridge.
    #[arg(long)]
    bridge: String,
    /// The pods' veths (host side).
    #[arg(long, num_args = 1.., required = true)]
    pod_devs: Vec<String>,
}

/// `IP:PORT=IP:PORT,…`.
fn parse_service(s: &str) -> anyhow::Result<(std::net::SocketAddrV4, Vec<std::net::SocketAddrV4>)> {
    let (vip, eps) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("expected CLUSTER_IP:PORT=ENDPOINT:PORT,..."))?;
    let eps = eps
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((vip.parse()?, eps))
}

/// The device's index in this namespace (`ip netns exec` mounts this namespace's sysfs).
fn ifindex(dev: &str) -> anyhow::Result<u32> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{dev}/ifindex"))
        .with_context(|| format!("device {dev}"))?;
    Ok(s.trim().parse()?)
}

// Offsets in an untagged Ethernet frame with a 20-byte IPv4 header.
const ETH_PROTO: i16 = 12;
const IP_VHL: i16 = 14;
const IP_FRAG: i16 = 20;
const IP_PROTO: i16 = 23;
const IP_CSUM: i32 = 24;
const IP_SADDR: i16 = 26;
const IP_DADDR: i16 = 30;
const TCP_SPORT: i16 = 34;
const TCP_DPORT: i16 = 36;
const TCP_FLAGS: i16 = 47;
const TCP_CSUM: i32 = 50;
const HEADERS: i32 = 54;
/// `TCX_NEXT`: not ours, on to the next program (or the stack).
const TCX_NEXT: i32 = -1;
/// `TC_ACT_SHOT`: a packet a helper failed on half way is dropped, never sent half-rewritten.
const TC_ACT_SHOT: i32 = 2;
/// `BPF_F_PSEUDO_HDR`: an address change also changes the TCP pseudo-header.
const PSEUDO_HDR: i32 = 0x10;

/// Parses up to the TCP header: r6 = skb, r7 = data; jumps to `pass` for anything but
/// TCP in IPv4 without options.
fn parse(a: &mut Asm) {
    a.mov(6, 1)
        .ldx(Size::W, 7, 6, 76)
        .ldx(Size::W, 8, 6, 80)
        .mov(1, 7)
        .add_imm(1, HEADERS)
        .jmp_reg(Cond::Gt, 1, 8, "pass")
        .ldx(Size::H, 1, 7, ETH_PROTO)
        .jmp32_imm(
            Cond::Ne,
            1,
            u32::from(u16::from_ne_bytes([0x08, 0x00])),
            "pass",
        )
        .ldx(Size::B, 1, 7, IP_VHL)
        .jmp32_imm(Cond::Ne, 1, 0x45, "pass")
        .ldx(Size::B, 1, 7, IP_PROTO)
        .jmp32_imm(Cond::Ne, 1, 6, "pass")
        // Fragments pass (a later one has no TCP header; the first one alone cannot be
        // rewritten): the "more fragments" flag and the offset, in network order.
        .ldx(Size::H, 1, 7, IP_FRAG)
        .and32_imm(1, u32::from(u16::from_ne_bytes(0x3fffu16.to_be_bytes())))
        .jmp32_imm(Cond::Ne, 1, 0, "pass");
}

// Stack slots (offsets from r10).
const FLOW_KEY: i16 = -24; // client, cport (u16), vport (u16), vip: 12 bytes
const SVC_KEY: i16 = -8; // vip, vport (u32 slot)
const REPLY_KEY: i16 = -40; // client, cport (u16), tport (u16), endpoint: 12 bytes
const REPLY_VALUE: i16 = -48; // vip, vport (u32 slot)
const FLOW_VALUE: i16 = -56; // endpoint, port (u32 slot)
const INDEX: i16 = -60;
const OLD_ADDR: i16 = -72;
const NEW_ADDR: i16 = -76;
const OLD_PORT: i16 = -80;
const NEW_PORT: i16 = -84;

/// Rewrites the address at `addr_at` and the port at `port_at` from the stack's OLD_* to
/// NEW_* (checksums first), then redirects to `ifindex`.
fn rewrite(a: &mut Asm, addr_at: i16, port_at: i16, ifindex: u32) {
    for (csum, helper_id, flags, old, new) in [
        (
            TCP_CSUM,
            helper::L4_CSUM_REPLACE,
            PSEUDO_HDR | 4,
            OLD_ADDR,
            NEW_ADDR,
        ),
        (IP_CSUM, helper::L3_CSUM_REPLACE, 4, OLD_ADDR, NEW_ADDR),
        (TCP_CSUM, helper::L4_CSUM_REPLACE, 2, OLD_PORT, NEW_PORT),
    ] {
        a.mov(1, 6)
            .mov_imm(2, csum)
            .ldx(Size::W, 3, 10, old)
            .ldx(Size::W, 4, 10, new)
            .mov_imm(5, flags)
            .call(helper_id)
            .jmp_imm(Cond::Ne, 0, 0, "drop");
    }
    for (at, from, len) in [(addr_at, NEW_ADDR, 4), (port_at, NEW_PORT, 2)] {
        a.mov(1, 6)
            .mov_imm(2, i32::from(at))
            .mov(3, 10)
            .add_imm(3, i32::from(from))
            .mov_imm(4, len)
            .mov_imm(5, 0)
            .call(helper::SKB_STORE_BYTES)
            .jmp_imm(Cond::Ne, 0, 0, "drop");
    }
    a.mov32_imm(1, ifindex)
        .mov_imm(2, 0)
        .mov_imm(3, 0)
        .mov_imm(4, 0)
        .call(helper::REDIRECT_NEIGH)
        .exit()
        .label("drop")
        .mov_imm(0, TC_ACT_SHOT)
        .exit();
}

/// `ldx` from `src + off` and `stx` of it (as `size`) to the stack at `to`.
fn copy(a: &mut Asm, load: Size, src: u8, off: i16, store: Size, to: i16) {
    a.ldx(load, 1, src, off).stx(store, 10, to, 1);
}

/// `r2 = r10 + off` (a stack pointer argument).
fn stack_arg(a: &mut Asm, reg: u8, off: i16) {
    a.mov(reg, 10).add_imm(reg, i32::from(off));
}

pub(crate) fn run(args: &BpfArgs) -> anyhow::Result<()> {
    let services: Vec<_> = args
        .services
        .iter()
        .map(|s| parse_service(s))
        .collect::<anyhow::Result<_>>()?;
    let (uplink, bridge) = (ifindex(&args.uplink)?, ifindex(&args.bridge)?);

    let svc_map = Map::create(MapType::Hash, 8, 8, 65_536)?;
    let backends = Map::create(MapType::Array, 4, 8, 65_536)?;
    let flows = Map::create(MapType::LruHash, 12, 8, 262_144)?;
    let replies = Map::create(MapType::LruHash, 12, 8, 262_144)?;
    let mut next = 0u32;
    for (vip, eps) in &services {
        let mut key = [0u8; 8];
        key[..4].copy_from_slice(&vip.ip().octets());
        key[4..6].copy_from_slice(&vip.port().to_be_bytes());
        let mut value = [0u8; 8];
        value[..4].copy_from_slice(&u32::try_from(eps.len())?.to_ne_bytes());
        value[4..].copy_from_slice(&next.to_ne_bytes());
        svc_map.update(&key, &value)?;
        for ep in eps {
            let mut v = [0u8; 8];
            v[..4].copy_from_slice(&ep.ip().octets());
            v[4..6].copy_from_slice(&ep.port().to_be_bytes());
            backends.update(&next.to_ne_bytes(), &v)?;
            next += 1;
        }
    }

    // Client → Service.
    let mut a = Asm::new();
    parse(&mut a);
    copy(&mut a, Size::W, 7, IP_SADDR, Size::W, FLOW_KEY);
    copy(&mut a, Size::H, 7, TCP_SPORT, Size::W, FLOW_KEY + 4);
    copy(&mut a, Size::H, 7, TCP_DPORT, Size::H, FLOW_KEY + 6);
    copy(&mut a, Size::W, 7, IP_DADDR, Size::W, FLOW_KEY + 8);
    a.ldx(Size::B, 9, 7, TCP_FLAGS).ld_map(1, flows.fd());
    stack_arg(&mut a, 2, FLOW_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Ne, 0, 0, "have")
        // A new flow starts only with a SYN, to a Service.
        .mov(1, 9)
        .and32_imm(1, 0x12)
        .jmp32_imm(Cond::Ne, 1, 0x02, "pass");
    copy(&mut a, Size::W, 10, FLOW_KEY + 8, Size::W, SVC_KEY);
    copy(&mut a, Size::H, 10, FLOW_KEY + 6, Size::W, SVC_KEY + 4);
    a.ld_map(1, svc_map.fd());
    stack_arg(&mut a, 2, SVC_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass")
        .ldx(Size::W, 8, 0, 0)
        .ldx(Size::W, 1, 0, 4)
        .stx(Size::W, 10, INDEX, 1)
        .jmp32_imm(Cond::Eq, 8, 0, "pass")
        .call(helper::GET_PRANDOM_U32)
        .mod32(0, 8)
        .ldx(Size::W, 1, 10, INDEX)
        .add32(0, 1)
        .stx(Size::W, 10, INDEX, 0)
        .ld_map(1, backends.fd());
    stack_arg(&mut a, 2, INDEX);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass");
    copy(&mut a, Size::W, 0, 0, Size::W, FLOW_VALUE);
    copy(&mut a, Size::H, 0, 4, Size::W, FLOW_VALUE + 4);
    copy(&mut a, Size::W, 10, FLOW_KEY, Size::W, REPLY_KEY);
    copy(&mut a, Size::H, 10, FLOW_KEY + 4, Size::W, REPLY_KEY + 4);
    copy(&mut a, Size::H, 10, FLOW_VALUE + 4, Size::H, REPLY_KEY + 6);
    copy(&mut a, Size::W, 10, FLOW_VALUE, Size::W, REPLY_KEY + 8);
    copy(&mut a, Size::W, 10, FLOW_KEY + 8, Size::W, REPLY_VALUE);
    copy(&mut a, Size::H, 10, FLOW_KEY + 6, Size::W, REPLY_VALUE + 4);
    // The reply entry first: a flow recorded without one would send replies out un-NATed.
    // Either update failing leaves the connection to the stack (conntrack).
    for (map, key, value) in [
        (&replies, REPLY_KEY, REPLY_VALUE),
        (&flows, FLOW_KEY, FLOW_VALUE),
    ] {
        a.ld_map(1, map.fd());
        stack_arg(&mut a, 2, key);
        stack_arg(&mut a, 3, value);
        a.mov_imm(4, 0)
            .call(helper::MAP_UPDATE_ELEM)
            .jmp_imm(Cond::Ne, 0, 0, "pass");
    }
    stack_arg(&mut a, 0, FLOW_VALUE);
    a.label("have");
    copy(&mut a, Size::W, 0, 0, Size::W, NEW_ADDR);
    copy(&mut a, Size::H, 0, 4, Size::W, NEW_PORT);
    copy(&mut a, Size::W, 10, FLOW_KEY + 8, Size::W, OLD_ADDR);
    copy(&mut a, Size::H, 10, FLOW_KEY + 6, Size::W, OLD_PORT);
    rewrite(&mut a, IP_DADDR, TCP_DPORT, bridge);
    a.label("pass").mov_imm(0, TCX_NEXT).exit();
    let forward = Program::load(PROG_TYPE_SCHED_CLS, "tether_fwd", &a.finish()?)?;

    // Pod → client: replies of known flows.
    let mut a = Asm::new();
    parse(&mut a);
    copy(&mut a, Size::W, 7, IP_DADDR, Size::W, REPLY_KEY);
    copy(&mut a, Size::H, 7, TCP_DPORT, Size::W, REPLY_KEY + 4);
    copy(&mut a, Size::H, 7, TCP_SPORT, Size::H, REPLY_KEY + 6);
    copy(&mut a, Size::W, 7, IP_SADDR, Size::W, REPLY_KEY + 8);
    a.ld_map(1, replies.fd());
    stack_arg(&mut a, 2, REPLY_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass");
    copy(&mut a, Size::W, 0, 0, Size::W, NEW_ADDR);
    copy(&mut a, Size::W, 0, 4, Size::W, NEW_PORT);
    copy(&mut a, Size::W, 10, REPLY_KEY + 8, Size::W, OLD_ADDR);
    copy(&mut a, Size::H, 10, REPLY_KEY + 6, Size::W, OLD_PORT);
    rewrite(&mut a, IP_SADDR, TCP_SPORT, uplink);
    a.label("pass").mov_imm(0, TCX_NEXT).exit();
    let reply = Program::load(PROG_TYPE_SCHED_CLS, "tether_reply", &a.finish()?)?;

    let mut links = vec![Link::tcx(&forward, uplink, TcxHook::Ingress)?];
    for dev in &args.pod_devs {
        links.push(Link::tcx(&reply, ifindex(dev)?, TcxHook::Ingress)?);
    }
    println!(
        "bpf_service_attached services={} links={}",
        services.len(),
        links.len()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
