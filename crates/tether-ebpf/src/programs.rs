//! The two tcx programs, assembled with the maps' descriptors and the node's devices baked
//! in. Little-endian hosts only (2-byte fields are kept in 4-byte stack slots).
//!
//! Map layouts (addresses and ports in network order, counts, slots and link indexes in
//! host order; MACs as on the wire):
//!
//! | map | key | value |
//! |---|---|---|
//! | `services` (hash) | ClusterIP, port, 2 zero bytes | pick count, block base slot |
//! | `picks` (array) | base + i | slot |
//! | `backends` (array) | slot | address, port, generation (a header: `0xffff`) |
//! | `flows` (LRU) | client, client port, port, ClusterIP | the backend's value, slot, pod link, pod MAC, bridge MAC, the last SYN's sequence number |
//! | `replies` (LRU) | client, client port, target port, endpoint | ClusterIP, port, 0, slot, 0, the SYN's source MAC, uplink MAC |
//!
//! A flow's pod link (the host end of the pod's veth) and the two MACs are 0 until the
//! pod's SYN-ACK passes the reply program, which learns them from it. From then on the
//! forward program writes the frame's MACs itself and hands it to the pod's namespace with
//! `bpf_redirect_peer` (no bridge, no neighbour lookup, no backlog queue); before, and for
//! every SYN (which records the flow afresh, clearing its link; a SYN with another
//! sequence number than the flow's last is a new connection and picks afresh), it goes to
//! the bridge with `bpf_redirect_neigh`. The SYN's source MAC (the client's, or its router's) and the
//! uplink's come from the SYN, so replies leave by `bpf_redirect` with those MACs written.
//! Backends carry a generation in their last two bytes: a flow whose slot holds its
//! address and port under another generation (the endpoint came back, or a pod with the
//! same address took the slot) goes on through the bridge, never to the veth it learned
//! (see `state::Generation`).

use ipnet::Ipv4Net;
use tether_bpf::asm::{Asm, AsmError, Cond, Size, helper};

use crate::maps::Maps;

/// The forward program's name (what a restarted agent looks for on the uplink).
pub const FORWARD: &str = "tether_fwd";
/// The reply program's name (on the pods' veths).
pub const REPLY: &str = "tether_reply";

// Offsets in an untagged Ethernet frame with a 20-byte IPv4 header.
const ETH_DST: i16 = 0;
const ETH_SRC: i16 = 6;
const ETH_PROTO: i16 = 12;
const IP_VHL: i16 = 14;
const IP_FRAG: i16 = 20;
const IP_PROTO: i16 = 23;
const IP_CSUM: i32 = 24;
const IP_SADDR: i16 = 26;
const IP_DADDR: i16 = 30;
const TCP_SPORT: i16 = 34;
const TCP_DPORT: i16 = 36;
const TCP_SEQ: i16 = 38;
const TCP_FLAGS: i16 = 47;
const TCP_CSUM: i32 = 50;
const HEADERS: i32 = 54;
/// `__sk_buff.pkt_type`.
const SKB_PKT_TYPE: i16 = 4;
/// `__sk_buff.vlan_present`.
const SKB_VLAN_PRESENT: i16 = 20;
/// `__sk_buff.ingress_ifindex`.
const SKB_INGRESS_IFINDEX: i16 = 36;
/// TCP flags: SYN and ACK, and SYN alone (a connection's first segment).
const SYN_ACK: u32 = 0x12;
const SYN: u32 = 0x02;
/// `TCX_NEXT`: not ours, on to the next program (or the stack).
const TCX_NEXT: i32 = -1;
/// `TC_ACT_SHOT`: a packet a helper failed on half way is dropped, never sent half-rewritten.
const TC_ACT_SHOT: i32 = 2;
/// `BPF_F_PSEUDO_HDR`: an address change also changes the TCP pseudo-header.
const PSEUDO_HDR: i32 = 0x10;

// Offsets in a flow's value (`flows` and `replies`).
/// The pod link (`flows`; 0 until learned).
const V_LINK: i16 = 12;
/// The frame's destination MAC, then its source MAC, as the rewritten frame carries them.
const V_ETH: i16 = 16;
/// The sequence number of the flow's last SYN (`flows`).
const V_SEQ: i16 = 28;
/// A `flows` value's size.
pub const FLOW_VALUE_SIZE: u32 = 32;
/// A `replies` value's size.
pub const REPLY_VALUE_SIZE: u32 = 28;

// Stack slots (offsets from r10).
const FLOW_KEY: i16 = -16; // client, cport, vport, vip: 12 bytes
const SVC_KEY: i16 = -24; // vip, vport, 0: 8 bytes
const REPLY_KEY: i16 = -40; // client, cport, tport, endpoint: 12 bytes
const REPLY_VALUE: i16 = -72; // 28 bytes (8-aligned)
const FLOW_VALUE: i16 = -104; // 32 bytes (8-aligned)
const PICK_KEY: i16 = -108;
const OLD_ADDR: i16 = -112;
const NEW_ADDR: i16 = -116;
const OLD_PORT: i16 = -120;
const NEW_PORT: i16 = -124;
const NEXT_HOP: i16 = -152; // struct bpf_redir_neigh: family, address (20 bytes)
/// `AF_INET`.
const AF_INET: i32 = 2;

/// Parses up to the TCP header: r6 = skb, r7 = data; jumps to `pass` for anything but
/// TCP in IPv4 without options, and for fragments.
fn parse(a: &mut Asm) {
    a.mov(6, 1)
        // A VLAN tag the NIC took off would not be put back on a frame sent by redirect.
        .ldx(Size::W, 1, 6, SKB_VLAN_PRESENT)
        .jmp32_imm(Cond::Ne, 1, 0, "pass")
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

/// Writes the address and port of the value at r9 into the frame at `addr_at` and
/// `port_at`, keeping the old and new ones on the stack for [`checksums`].
fn set(a: &mut Asm, addr_at: i16, port_at: i16) {
    copy(a, Size::W, 7, addr_at, Size::W, OLD_ADDR);
    copy(a, Size::H, 7, port_at, Size::W, OLD_PORT);
    a.ldx(Size::W, 1, 9, 0)
        .stx(Size::W, 10, NEW_ADDR, 1)
        .stx(Size::W, 7, addr_at, 1)
        .ldx(Size::H, 1, 9, 4)
        .stx(Size::W, 10, NEW_PORT, 1)
        .stx(Size::H, 7, port_at, 1);
}

/// Writes the value's two MACs (at r9 + [`V_ETH`]) into the frame (2-byte accesses: the
/// frame's start is 2 bytes off a 4-byte boundary).
fn eth(a: &mut Asm) {
    for off in [0, 2, 4, 6, 8, 10] {
        copy_to(a, Size::H, 9, V_ETH + off, 7, off);
    }
}

/// Copies the frame's MACs to the value at `dst + at`, swapped (what a frame the other
/// way carries): its source first, then its destination.
fn swapped_eth(a: &mut Asm, dst: u8, at: i16) {
    for (size, off, to) in [
        (Size::W, ETH_SRC, 0),
        (Size::H, ETH_SRC + 4, 4),
        (Size::H, ETH_DST, 6),
        (Size::W, ETH_DST + 2, 8),
    ] {
        copy_to(a, size, 7, off, dst, at + to);
    }
}

/// Copies `size` bytes from `src + off` to `dst + to`.
fn copy_to(a: &mut Asm, size: Size, src: u8, off: i16, dst: u8, to: i16) {
    a.ldx(size, 1, src, off).stx(size, dst, to, 1);
}

/// Updates the checksums for what [`set`] wrote (the frame's pointers are invalid after).
fn checksums(a: &mut Asm) {
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
}

/// The end of both programs: a packet a helper failed on is dropped.
fn dropped(a: &mut Asm) {
    a.label("drop").mov_imm(0, TC_ACT_SHOT).exit();
}

/// `ldx` from `src + off` and `stx` of it (as `store`) to the stack at `to`.
fn copy(a: &mut Asm, load: Size, src: u8, off: i16, store: Size, to: i16) {
    a.ldx(load, 1, src, off).stx(store, 10, to, 1);
}

/// `reg = r10 + off` (a stack pointer argument).
fn stack_arg(a: &mut Asm, reg: u8, off: i16) {
    a.mov(reg, 10).add_imm(reg, i32::from(off));
}

/// The four-byte immediate whose little-endian load equals these network-order bytes.
fn wire(b: [u8; 4]) -> u32 {
    u32::from_ne_bytes(b)
}

/// Goes on only when the address at `at` (source or destination) is in one of `clients`;
/// jumps to `pass` otherwise.
fn only_clients(a: &mut Asm, at: i16, clients: &[Ipv4Net]) {
    a.ldx(Size::W, 1, 7, at);
    for net in clients {
        a.mov(2, 1)
            .and32_imm(2, wire(net.netmask().octets()))
            .jmp32_imm(Cond::Eq, 2, wire(net.network().octets()), "client");
    }
    a.ja("pass").label("client");
}

/// The program on the uplink's ingress: packets of recorded flows (whose endpoint still
/// holds its slot) and SYNs to a listed Service port from a client in `clients` are
/// rewritten to the endpoint; SYNs and flows that have not learned their pod link go to
/// `bridge`, the others straight into the pod's namespace.
pub fn forward(maps: &Maps, clients: &[Ipv4Net], bridge: u32) -> Result<Vec<u8>, AsmError> {
    let mut a = Asm::new();
    parse(&mut a);
    // Only frames addressed to this host (`pkt_type` `PACKET_HOST`), not those a
    // promiscuous uplink sees for others.
    a.ldx(Size::W, 1, 6, SKB_PKT_TYPE)
        .jmp32_imm(Cond::Ne, 1, 0, "pass");
    only_clients(&mut a, IP_SADDR, clients);
    copy(&mut a, Size::W, 7, IP_SADDR, Size::W, FLOW_KEY);
    copy(&mut a, Size::H, 7, TCP_SPORT, Size::H, FLOW_KEY + 4);
    copy(&mut a, Size::H, 7, TCP_DPORT, Size::H, FLOW_KEY + 6);
    copy(&mut a, Size::W, 7, IP_DADDR, Size::W, FLOW_KEY + 8);
    a.ldx(Size::B, 9, 7, TCP_FLAGS).ld_map(1, maps.flows.fd());
    stack_arg(&mut a, 2, FLOW_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Ne, 0, 0, "have")
        // A new flow starts only with a SYN, to a listed Service port.
        .mov(1, 9)
        .and32_imm(1, SYN_ACK)
        .jmp32_imm(Cond::Ne, 1, SYN, "pass")
        .label("syn");
    copy(&mut a, Size::W, 10, FLOW_KEY + 8, Size::W, SVC_KEY);
    copy(&mut a, Size::H, 10, FLOW_KEY + 6, Size::H, SVC_KEY + 4);
    a.st(Size::H, 10, SVC_KEY + 6, 0)
        .ld_map(1, maps.services.fd());
    stack_arg(&mut a, 2, SVC_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "unrecord")
        .ldx(Size::W, 8, 0, 0)
        .ldx(Size::W, 9, 0, 4)
        .jmp32_imm(Cond::Eq, 8, 0, "unrecord")
        .call(helper::GET_PRANDOM_U32)
        .mod32(0, 8)
        .add32(0, 9)
        .stx(Size::W, 10, PICK_KEY, 0)
        .ld_map(1, maps.picks.fd());
    stack_arg(&mut a, 2, PICK_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "unrecord");
    copy(&mut a, Size::W, 0, 0, Size::W, FLOW_VALUE + 8);
    a.label("record").ld_map(1, maps.backends.fd());
    stack_arg(&mut a, 2, FLOW_VALUE + 8);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "unrecord")
        .ldx(Size::Dw, 1, 0, 0)
        // A slot freed between the pick and here (address 0) leaves the SYN to the stack.
        // (Every way out of a SYN's recording to the stack also forgets the flow's old
        // entry, which would take the connection's next packets elsewhere.)
        .jmp32_imm(Cond::Eq, 1, 0, "unrecord")
        .stx(Size::Dw, 10, FLOW_VALUE, 1)
        // No pod link or MACs yet: the reply program learns them from the SYN-ACK.
        .st(Size::W, 10, FLOW_VALUE + V_LINK, 0)
        .st(Size::Dw, 10, FLOW_VALUE + V_ETH, 0)
        .st(Size::W, 10, FLOW_VALUE + V_ETH + 8, 0);
    copy(&mut a, Size::W, 7, TCP_SEQ, Size::W, FLOW_VALUE + V_SEQ);
    copy(&mut a, Size::W, 10, FLOW_KEY, Size::W, REPLY_KEY);
    copy(&mut a, Size::H, 10, FLOW_KEY + 4, Size::H, REPLY_KEY + 4);
    copy(&mut a, Size::H, 10, FLOW_VALUE + 4, Size::H, REPLY_KEY + 6);
    copy(&mut a, Size::W, 10, FLOW_VALUE, Size::W, REPLY_KEY + 8);
    copy(&mut a, Size::W, 10, FLOW_KEY + 8, Size::W, REPLY_VALUE);
    copy(&mut a, Size::H, 10, FLOW_KEY + 6, Size::H, REPLY_VALUE + 4);
    a.st(Size::H, 10, REPLY_VALUE + 6, 0);
    copy(
        &mut a,
        Size::W,
        10,
        FLOW_VALUE + 8,
        Size::W,
        REPLY_VALUE + 8,
    );
    a.st(Size::W, 10, REPLY_VALUE + V_LINK, 0);
    // Replies go back to the client's MAC from the uplink's (the MAC the SYN came to).
    swapped_eth(&mut a, 10, REPLY_VALUE + V_ETH);
    // The reply entry first: a flow recorded without one would send replies out un-NATed.
    // Either update failing leaves the connection to the stack (conntrack), without the
    // flow's old entry (which would take its next packets elsewhere).
    for (map, key, value) in [
        (&maps.replies, REPLY_KEY, REPLY_VALUE),
        (&maps.flows, FLOW_KEY, FLOW_VALUE),
    ] {
        a.ld_map(1, map.fd());
        stack_arg(&mut a, 2, key);
        stack_arg(&mut a, 3, value);
        a.mov_imm(4, 0)
            .call(helper::MAP_UPDATE_ELEM)
            .jmp_imm(Cond::Ne, 0, 0, "unrecord");
    }
    stack_arg(&mut a, 9, FLOW_VALUE);
    a.ja("rewrite")
        .label("have")
        .mov(9, 0)
        .ld_map(1, maps.backends.fd());
    // A recorded flow goes on only while its endpoint holds the slot it recorded.
    a.mov(2, 9)
        .add_imm(2, 8)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "stale")
        .ldx(Size::Dw, 1, 0, 0)
        .ldx(Size::Dw, 2, 9, 0)
        .jmp_reg(Cond::Ne, 1, 2, "regen")
        .label("valid")
        // A SYN on a recorded flow: a new connection from a reused client port (another
        // sequence number) picks afresh, as conntrack opens a new entry for it; a
        // retransmission (the same number) keeps its endpoint but is recorded afresh, so
        // its pod link is learned again and its replies go to the MACs this SYN brought.
        .ldx(Size::B, 1, 7, TCP_FLAGS)
        .and32_imm(1, SYN_ACK)
        .jmp32_imm(Cond::Ne, 1, SYN, "rewrite")
        .ldx(Size::W, 1, 7, TCP_SEQ)
        .ldx(Size::W, 2, 9, V_SEQ)
        .jmp32_reg(Cond::Ne, 1, 2, "syn");
    copy(&mut a, Size::W, 9, 8, Size::W, FLOW_VALUE + 8);
    a.ja("record")
        // The slot holds the same address and port under another generation: the endpoint
        // left and came back to the same slot (a readiness flap), or a pod with the same
        // address took the slot. The flow goes on, but through the bridge (to whichever pod has the address
        // now): the link it learned may be the old pod's. It takes the new generation, so
        // this happens once.
        .label("regen")
        .ldx(Size::W, 1, 0, 0)
        .ldx(Size::W, 2, 9, 0)
        .jmp32_reg(Cond::Ne, 1, 2, "stale")
        .ldx(Size::H, 1, 0, 4)
        .ldx(Size::H, 2, 9, 4)
        .jmp32_reg(Cond::Ne, 1, 2, "stale")
        // The link first: a reader that sees the new generation must not see the old link
        // (on x86; elsewhere, as for the learning, no order is promised).
        .st(Size::W, 9, V_LINK, 0)
        .ldx(Size::H, 1, 0, 6)
        .stx(Size::H, 9, 6, 1)
        .ja("valid")
        .label("rewrite");
    set(&mut a, IP_DADDR, TCP_DPORT);
    // r8 (the frame's end no longer needed): the pod link, 0 until learned.
    a.ldx(Size::W, 8, 9, V_LINK)
        .jmp32_imm(Cond::Eq, 8, 0, "checksums");
    eth(&mut a);
    a.label("checksums");
    checksums(&mut a);
    a.jmp32_imm(Cond::Eq, 8, 0, "neigh")
        .mov(1, 8)
        .mov_imm(2, 0)
        .call(helper::REDIRECT_PEER)
        .exit()
        // Through the bridge to the endpoint's address (naming the next hop spares the
        // kernel a route lookup: the pods are on-link).
        .label("neigh")
        .st(Size::W, 10, NEXT_HOP, AF_INET);
    copy(&mut a, Size::W, 10, NEW_ADDR, Size::W, NEXT_HOP + 4);
    for off in [8, 12, 16] {
        a.st(Size::W, 10, NEXT_HOP + off, 0);
    }
    a.mov32_imm(1, bridge);
    stack_arg(&mut a, 2, NEXT_HOP);
    a.mov_imm(3, 20)
        .mov_imm(4, 0)
        .call(helper::REDIRECT_NEIGH)
        .exit();
    dropped(&mut a);
    a.label("unrecord").ld_map(1, maps.flows.fd());
    stack_arg(&mut a, 2, FLOW_KEY);
    a.call(helper::MAP_DELETE_ELEM).ja("pass");
    // A recorded flow whose endpoint is gone: a new SYN on that client port picks afresh
    // (its entries are overwritten); other packets go to the stack.
    a.label("stale")
        .ldx(Size::B, 1, 7, TCP_FLAGS)
        .and32_imm(1, SYN_ACK)
        .jmp32_imm(Cond::Eq, 1, SYN, "syn")
        .label("pass")
        .mov_imm(0, TCX_NEXT)
        .exit();
    a.finish()
}

/// The program on the pods' veths' ingress: replies of recorded flows (whose endpoint
/// still holds its slot) get the ClusterIP and port back and the MACs the SYN brought, and
/// are redirected out of `uplink`. With `learn` (on a veth whose peer is in a pod's
/// namespace, which `bpf_redirect_peer` can reach) a SYN-ACK also teaches its flow the pod
/// link and MACs. Only packets to `clients` are looked up: the pods' other traffic (to
/// pods, the node, the cluster DNS) passes after a few compares.
pub fn reply(
    maps: &Maps,
    clients: &[Ipv4Net],
    uplink: u32,
    learn: bool,
) -> Result<Vec<u8>, AsmError> {
    let mut a = Asm::new();
    parse(&mut a);
    only_clients(&mut a, IP_DADDR, clients);
    copy(&mut a, Size::W, 7, IP_DADDR, Size::W, REPLY_KEY);
    copy(&mut a, Size::H, 7, TCP_DPORT, Size::H, REPLY_KEY + 4);
    copy(&mut a, Size::H, 7, TCP_SPORT, Size::H, REPLY_KEY + 6);
    copy(&mut a, Size::W, 7, IP_SADDR, Size::W, REPLY_KEY + 8);
    a.ld_map(1, maps.replies.fd());
    stack_arg(&mut a, 2, REPLY_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass")
        .mov(9, 0)
        .ld_map(1, maps.backends.fd())
        .mov(2, 9)
        .add_imm(2, 8)
        .call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "pass")
        .ldx(Size::W, 1, 0, 0)
        .ldx(Size::W, 2, 10, REPLY_KEY + 8)
        .jmp32_reg(Cond::Ne, 1, 2, "pass")
        .ldx(Size::H, 1, 0, 4)
        .ldx(Size::H, 2, 10, REPLY_KEY + 6)
        .jmp32_reg(Cond::Ne, 1, 2, "pass");
    if learn {
        learn_link(&mut a, maps);
    }
    a.label("rewrite");
    set(&mut a, IP_SADDR, TCP_SPORT);
    eth(&mut a);
    checksums(&mut a);
    a.mov32_imm(1, uplink)
        .mov_imm(2, 0)
        .call(helper::REDIRECT)
        .exit();
    dropped(&mut a);
    a.label("pass").mov_imm(0, TCX_NEXT).exit();
    a.finish()
}

/// In the reply program (r9 its `replies` value): a SYN-ACK's flow, when it still leads
/// to this endpoint and has no link yet (every SYN clears it), learns the pod link and the
/// MACs a frame to the pod carries. The link is written last and read first, so on x86 a
/// reader that sees it sees these MACs; elsewhere it may see older or zero MACs, which the
/// pod's stack ignores (`bpf_redirect_peer` delivers as `PACKET_HOST`). Goes on to
/// `rewrite`.
fn learn_link(a: &mut Asm, maps: &Maps) {
    a.ldx(Size::B, 1, 7, TCP_FLAGS)
        .and32_imm(1, SYN_ACK)
        .jmp32_imm(Cond::Ne, 1, SYN_ACK, "rewrite");
    copy(a, Size::W, 7, IP_DADDR, Size::W, FLOW_KEY);
    copy(a, Size::H, 7, TCP_DPORT, Size::H, FLOW_KEY + 4);
    copy(a, Size::H, 9, 4, Size::H, FLOW_KEY + 6);
    copy(a, Size::W, 9, 0, Size::W, FLOW_KEY + 8);
    a.ld_map(1, maps.flows.fd());
    stack_arg(a, 2, FLOW_KEY);
    a.call(helper::MAP_LOOKUP_ELEM)
        .jmp_imm(Cond::Eq, 0, 0, "rewrite")
        .ldx(Size::W, 1, 0, V_LINK)
        .jmp32_imm(Cond::Ne, 1, 0, "rewrite")
        .ldx(Size::W, 1, 0, 0)
        .ldx(Size::W, 2, 7, IP_SADDR)
        .jmp32_reg(Cond::Ne, 1, 2, "rewrite")
        .ldx(Size::H, 1, 0, 4)
        .ldx(Size::H, 2, 7, TCP_SPORT)
        .jmp32_reg(Cond::Ne, 1, 2, "rewrite");
    swapped_eth(a, 0, V_ETH);
    a.ldx(Size::W, 1, 6, SKB_INGRESS_IFINDEX)
        .stx(Size::W, 0, V_LINK, 1);
}
