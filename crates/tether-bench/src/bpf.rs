//! `bpf-service`: an experiment for issue 4's kernel target. One ClusterIP Service served by
//! two tcx programs instead of conntrack: on the uplink's ingress a SYN picks a backend
//! (`bpf_get_prandom_u32`), remembered in an LRU hash `client ip . port → backend`, and every
//! packet of the flow gets its destination address and port rewritten (checksums by the
//! helpers) and is sent to the pod by `bpf_redirect_neigh`; on the pods' veths the replies of
//! known flows get the ClusterIP back and go out of the uplink the same way. One map lookup
//! per packet, no nftables, no IP stack in the node. Runs until killed (the programs detach
//! when it exits).

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use tether_bpf::asm::{Asm, Cond, Size, helper};
use tether_bpf::{Link, Map, MapType, PROG_TYPE_SCHED_CLS, Program, TcxHook};

/// Arguments of `bpf-service`.
#[derive(Debug, clap::Args)]
pub(crate) struct BpfArgs {
    /// ClusterIP.
    #[arg(long)]
    cluster_ip: Ipv4Addr,
    /// Service port.
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Endpoints (one target port for all).
    #[arg(long, num_args = 1.., required = true)]
    backends: Vec<SocketAddr>,
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

/// The device's index in this namespace (`ip netns exec` mounts this namespace's sysfs).
fn ifindex(dev: &str) -> anyhow::Result<u32> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{dev}/ifindex"))
        .with_context(|| format!("device {dev}"))?;
    Ok(s.trim().parse()?)
}

/// A 4-byte packet field as a register holds it after a 4-byte load.
fn ne32(b: [u8; 4]) -> u32 {
    u32::from_ne_bytes(b)
}

/// A 2-byte packet field as a register holds it after a 2-byte load.
fn ne16(port: u16) -> u32 {
    u32::from(u16::from_ne_bytes(port.to_be_bytes()))
}

// Offsets in an untagged Ethernet frame with a 20-byte IPv4 header.
const ETH_PROTO: i16 = 12;
const IP_VHL: i16 = 14;
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
        .jmp32_imm(Cond::Ne, 1, 6, "pass");
}

/// Rewrites a 4-byte address at `at` from r`from` (or the constant) to the other, then a
/// port at `port_at`, then redirects to `ifindex`.
#[allow(clippy::too_many_arguments)]
fn rewrite(
    a: &mut Asm,
    old_addr: Option<u32>,
    new_addr: Option<u32>,
    addr_reg: u8,
    at: i16,
    old_port: u32,
    new_port: u32,
    port_at: i16,
    ifindex: u32,
) {
    let load = |a: &mut Asm, dst: u8, c: Option<u32>| {
        match c {
            Some(v) => a.mov32_imm(dst, v),
            None => a.mov(dst, addr_reg),
        };
    };
    // The new address on the stack, for skb_store_bytes.
    match new_addr {
        Some(v) => a.st(Size::W, 10, -20, v as i32),
        None => a.stx(Size::W, 10, -20, addr_reg),
    };
    a.mov(1, 6).mov_imm(2, TCP_CSUM);
    load(a, 3, old_addr);
    load(a, 4, new_addr);
    a.mov_imm(5, PSEUDO_HDR | 4).call(helper::L4_CSUM_REPLACE);
    a.mov(1, 6).mov_imm(2, IP_CSUM);
    load(a, 3, old_addr);
    load(a, 4, new_addr);
    a.mov_imm(5, 4).call(helper::L3_CSUM_REPLACE);
    a.mov(1, 6)
        .mov_imm(2, i32::from(at))
        .mov(3, 10)
        .add_imm(3, -20)
        .mov_imm(4, 4)
        .mov_imm(5, 0)
        .call(helper::SKB_STORE_BYTES);
    a.mov(1, 6)
        .mov_imm(2, TCP_CSUM)
        .mov32_imm(3, old_port)
        .mov32_imm(4, new_port)
        .mov_imm(5, 2)
        .call(helper::L4_CSUM_REPLACE);
    a.st(Size::H, 10, -24, new_port as i32)
        .mov(1, 6)
        .mov_imm(2, i32::from(port_at))
        .mov(3, 10)
        .add_imm(3, -24)
        .mov_imm(4, 2)
        .mov_imm(5, 0)
        .call(helper::SKB_STORE_BYTES);
    a.mov32_imm(1, ifindex)
        .mov_imm(2, 0)
        .mov_imm(3, 0)
        .mov_imm(4, 0)
        .call(helper::REDIRECT_NEIGH)
        .exit();
}

pub(crate) fn run(args: &BpfArgs) -> anyhow::Result<()> {
    let tport = args.backends[0].port();
    anyhow::ensure!(
        args.backends
            .iter()
            .all(|b| b.port() == tport && b.is_ipv4()),
        "one IPv4 target port for all backends"
    );
    let n = u32::try_from(args.backends.len())?;
    let (vip, port, tport) = (ne32(args.cluster_ip.octets()), ne16(args.port), ne16(tport));
    let (uplink, bridge) = (ifindex(&args.uplink)?, ifindex(&args.bridge)?);

    let flows = Map::create(MapType::LruHash, 8, 4, 262_144)?;
    let replies = Map::create(MapType::LruHash, 8, 4, 262_144)?;
    let backends = Map::create(MapType::Array, 4, 4, n)?;
    for (i, b) in args.backends.iter().enumerate() {
        let SocketAddr::V4(b) = b else { continue };
        backends.update(&u32::try_from(i)?.to_ne_bytes(), &b.ip().octets())?;
    }

    // Client → Service.
    let mut a = Asm::new();
    parse(&mut a);
    a.ldx(Size::W, 1, 7, IP_DADDR)
        .jmp32_imm(Cond::Ne, 1, vip, "pass")
        .ldx(Size::H, 1, 7, TCP_DPORT)
        .jmp32_imm(Cond::Ne, 1, port, "pass")
        .ldx(Size::W, 1, 7, IP_SADDR)
        .stx(Size::W, 10, -8, 1)
        .ldx(Size::H, 1, 7, TCP_SPORT)
        .stx(Size::W, 10, -4, 1)
        .ldx(Size::B, 9, 7, TCP_FLAGS)
        .ld_map(1, flows.fd())
        .mov(2, 10)
        .add_imm(2, -8)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Ne, 0, 0, "have")
        // A new flow starts only with a SYN.
        .mov(1, 9)
        .and32_imm(1, 0x12)
        .jmp32_imm(Cond::Ne, 1, 0x02, "pass")
        .call(helper::GET_PRANDOM_U32)
        .mod32_imm(0, n)
        .stx(Size::W, 10, -12, 0)
        .ld_map(1, backends.fd())
        .mov(2, 10)
        .add_imm(2, -12)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass")
        .ldx(Size::W, 1, 0, 0)
        .stx(Size::W, 10, -16, 1);
    for map in [&flows, &replies] {
        a.ld_map(1, map.fd())
            .mov(2, 10)
            .add_imm(2, -8)
            .mov(3, 10)
            .add_imm(3, -16)
            .mov_imm(4, 0)
            .call(helper::MAP_UPDATE_ELEM);
    }
    a.ldx(Size::W, 8, 10, -16).ja("rewrite");
    a.label("have").ldx(Size::W, 8, 0, 0).label("rewrite");
    rewrite(
        &mut a,
        Some(vip),
        None,
        8,
        IP_DADDR,
        port,
        tport,
        TCP_DPORT,
        bridge,
    );
    a.label("pass").mov_imm(0, TCX_NEXT).exit();
    let forward = Program::load(PROG_TYPE_SCHED_CLS, "tether_fwd", &a.finish()?)?;

    // Pod → client: replies of known flows.
    let mut a = Asm::new();
    parse(&mut a);
    a.ldx(Size::H, 1, 7, TCP_SPORT)
        .jmp32_imm(Cond::Ne, 1, tport, "pass")
        .ldx(Size::W, 1, 7, IP_DADDR)
        .stx(Size::W, 10, -8, 1)
        .ldx(Size::H, 1, 7, TCP_DPORT)
        .stx(Size::W, 10, -4, 1)
        .ldx(Size::W, 9, 7, IP_SADDR)
        .ld_map(1, replies.fd())
        .mov(2, 10)
        .add_imm(2, -8)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass")
        .ldx(Size::W, 1, 0, 0)
        .jmp32_reg(Cond::Ne, 1, 9, "pass");
    rewrite(
        &mut a,
        None,
        Some(vip),
        9,
        IP_SADDR,
        tport,
        port,
        TCP_SPORT,
        uplink,
    );
    a.label("pass").mov_imm(0, TCX_NEXT).exit();
    let reply = Program::load(PROG_TYPE_SCHED_CLS, "tether_reply", &a.finish()?)?;

    let mut links = vec![Link::tcx(&forward, uplink, TcxHook::Ingress)?];
    for dev in &args.pod_devs {
        links.push(Link::tcx(&reply, ifindex(dev)?, TcxHook::Ingress)?);
    }
    println!("bpf_service_attached links={}", links.len());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
