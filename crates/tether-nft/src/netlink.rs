//! Set and map elements written as one nf_tables netlink batch (`NFT_MSG_NEWSETELEM`
//! messages between `NFNL_MSG_BATCH_BEGIN` and `_END`), without libnftables' parser and
//! evaluator, which cost ~20 µs per element of the fast path's maps (`perf`, § 3 of
//! BENCHMARKS.md). Only the maps whose field types are listed in [`fields_of`] are written
//! this way; the caller keeps every other object in its script.
//!
//! Encoding as the kernel reads it (`nft_data_init`): a concatenation's fields each take a
//! multiple of 4 bytes (one 32-bit register each); addresses and ports in network byte order,
//! `numgen` values in host byte order (the expression stores a host `u32` in its register).

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use crate::Error;

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
const NFT_MSG_NEWCHAIN: u16 = 3;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_NEWSET: u16 = 9;
const NFT_MSG_GETSET: u16 = 10;
const NFT_MSG_GETSETELEM: u16 = 13;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFT_SET_ANONYMOUS: u32 = 0x1;
const NFT_SET_MAP: u32 = 0x8;
const NLA_TYPE_MASK: u16 = 0x3fff;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_NEWTABLE: u16 = 0;
const NFT_MSG_GETTABLE: u16 = 1;
const NFTA_TABLE_NAME: u16 = 1;
const ENOENT: i32 = 2;
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLA_F_NESTED: u16 = 0x8000;
const NFPROTO_IPV4: u8 = 2;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;

/// Elements per message: an attribute's length is 16 bits, so a message's element list must
/// stay under 64 KiB (a fast-path element takes ~52 bytes).
const ELEMENTS_PER_MESSAGE: usize = 1000;

/// How long to wait for the kernel's answers to a batch.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// One field of a key or value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// `ipv4_addr`: 4 bytes, network order.
    Ipv4,
    /// `inet_proto`: a protocol name or number, 1 byte (padded to 4).
    Proto,
    /// `inet_service`: a port, 2 bytes network order (padded to 4).
    Port,
    /// A `numgen` value: `u32` in host order.
    Numgen,
}

/// The key and value fields of `map`'s elements, for the maps written by netlink.
pub(crate) fn fields_of(map: &str) -> Option<(&'static [Field], &'static [Field])> {
    use Field::{Ipv4, Numgen, Port, Proto};
    match map {
        "cluster-ips" => Some((&[Ipv4], &[])),
        "fast-hairpin" => Some((&[Ipv4, Ipv4], &[])),
        m if m.starts_with("fast-endpoints-") => {
            Some((&[Ipv4, Proto, Port, Numgen], &[Ipv4, Port]))
        }
        _ => None,
    }
}

/// Appends one field's register bytes to `out`.
fn encode_field(out: &mut Vec<u8>, field: Field, text: &str) -> Option<()> {
    match field {
        Field::Ipv4 => out.extend_from_slice(&text.parse::<Ipv4Addr>().ok()?.octets()),
        Field::Proto => {
            let p: u8 = match text {
                "tcp" => 6,
                "udp" => 17,
                "sctp" => 132,
                n => n.parse().ok()?,
            };
            out.extend_from_slice(&[p, 0, 0, 0]);
        }
        Field::Port => {
            let p: u16 = text.parse().ok()?;
            out.extend_from_slice(&p.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
        Field::Numgen => out.extend_from_slice(&text.parse::<u32>().ok()?.to_ne_bytes()),
    }
    Some(())
}

/// Appends `text` (fields joined by ` . `, as the scripts write them) encoded as `fields`.
fn encode_into(out: &mut Vec<u8>, fields: &[Field], text: &str) -> Option<()> {
    let mut parts = text.split(" . ").map(str::trim);
    for f in fields {
        encode_field(out, *f, parts.next()?)?;
    }
    parts.next().is_none().then_some(())
}

/// A netlink batch being built.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    buf: Vec<u8>,
    seq: u32,
    /// The sequence number of the one message that asks for an acknowledgement (the last).
    ack: Option<u32>,
}

impl Batch {
    fn header(&mut self, ty: u16, flags: u16, family: u8, res_id: u16) -> usize {
        let start = self.buf.len();
        self.seq += 1;
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in `finish`
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&self.seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
        // nfgenmsg
        self.buf.push(family);
        self.buf.push(0); // NFNETLINK_V0
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        start
    }

    fn finish(&mut self, start: usize) {
        let len = u32::try_from(self.buf.len() - start).unwrap_or(u32::MAX);
        self.buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
    }

    fn attr(&mut self, ty: u16, payload: &[u8]) {
        let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    /// An attribute whose payload is `text` encoded as `fields`, written in place.
    fn attr_encoded(&mut self, ty: u16, fields: &[Field], text: &str) -> Option<()> {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        encode_into(&mut self.buf, fields, text)?;
        self.set_len(start)?;
        self.pad();
        Some(())
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn nest_start(&mut self, ty: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        start
    }

    /// Patches the 16-bit length of the attribute that starts at `start`.
    fn set_len(&mut self, start: usize) -> Option<()> {
        let len = u16::try_from(self.buf.len() - start).ok()?;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        Some(())
    }

    fn c_string(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    /// A batch that first empties the sets and maps in `flush` (`nft flush set`), then adds
    /// `elements` (`(map, key, value)` as the scripts write them; an empty value for a set)
    /// to `table`'s sets and maps, each encoded straight into the batch as [`fields_of`] its
    /// map says, in messages of up to [`ELEMENTS_PER_MESSAGE`]. One transaction: an element
    /// flushed and added again never leaves the kernel's view.
    pub(crate) fn new_elements(
        table: &str,
        flush: &[&str],
        elements: &[(&'static str, String, String)],
    ) -> Result<Self, Error> {
        let mut b = Self::default();
        let begin = b.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        b.finish(begin);
        for (n, set) in flush.iter().enumerate() {
            let last = n + 1 == flush.len() && elements.is_empty();
            let flags = NLM_F_REQUEST | if last { NLM_F_ACK } else { 0 };
            // A DELSETELEM without an element list flushes the set (`nft_set_flush`).
            let msg = b.header(
                (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_DELSETELEM,
                flags,
                NFPROTO_IPV4,
                0,
            );
            if last {
                b.ack = Some(b.seq);
            }
            b.attr(NFTA_SET_ELEM_LIST_TABLE, &Self::c_string(table));
            b.attr(NFTA_SET_ELEM_LIST_SET, &Self::c_string(set));
            b.finish(msg);
        }
        let chunks: Vec<&[(&str, String, String)]> = elements
            .chunk_by(|x, y| x.0 == y.0)
            .flat_map(|same_set| same_set.chunks(ELEMENTS_PER_MESSAGE))
            .collect();
        for (n, chunk) in chunks.iter().enumerate() {
            let set = chunk[0].0;
            let (key_fields, value_fields) = fields_of(set)
                .ok_or_else(|| Error::Netlink(format!("no netlink encoding for {set}")))?;
            // Only the last message asks for an acknowledgement: errors come back for any
            // message anyway, and an ack per message (a socket buffer each) overruns the
            // receive queue at 50k Services (ENOBUFS).
            let last = n + 1 == chunks.len();
            let flags = NLM_F_REQUEST | NLM_F_CREATE | if last { NLM_F_ACK } else { 0 };
            let msg = b.header(
                (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM,
                flags,
                NFPROTO_IPV4,
                0,
            );
            if last {
                b.ack = Some(b.seq);
            }
            b.attr(NFTA_SET_ELEM_LIST_TABLE, &Self::c_string(table));
            b.attr(NFTA_SET_ELEM_LIST_SET, &Self::c_string(set));
            let list = b.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
            for (_, key, value) in *chunk {
                let bad =
                    || Error::Netlink(format!("cannot encode element {key} : {value} of {set}"));
                let elem = b.nest_start(NFTA_LIST_ELEM);
                let k = b.nest_start(NFTA_SET_ELEM_KEY);
                b.attr_encoded(NFTA_DATA_VALUE, key_fields, key)
                    .ok_or_else(bad)?;
                b.set_len(k).ok_or_else(bad)?;
                if !value_fields.is_empty() {
                    let d = b.nest_start(NFTA_SET_ELEM_DATA);
                    b.attr_encoded(NFTA_DATA_VALUE, value_fields, value)
                        .ok_or_else(bad)?;
                    b.set_len(d).ok_or_else(bad)?;
                }
                b.set_len(elem).ok_or_else(bad)?;
            }
            b.set_len(list)
                .ok_or_else(|| Error::Netlink("element message too large".to_owned()))?;
            b.finish(msg);
        }
        let end = b.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        b.finish(end);
        Ok(b)
    }

    /// The batch's bytes.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Sends the batch on a netlink socket opened in `netns` (the caller's namespace when
    /// `None`) and waits for the acknowledgement: the kernel commits all of it or none.
    pub(crate) fn send(&self, netns: Option<&Path>) -> Result<(), Error> {
        let socket = open(netns)?;
        // One sendmsg carries the whole batch, so the send buffer must hold it.
        let size = self.buf.len() + 4096;
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::SndBufForce, &size)
            .map_err(|e| io("SO_SNDBUFFORCE", e.into()))?;
        // Errors carry only the failed message's header (not its ~50 KB of elements), and
        // the receive queue holds a few thousand of them.
        socket
            .set_cap_ack(true)
            .map_err(|e| io("NETLINK_CAP_ACK", e))?;
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBufForce, &(4 << 20))
            .map_err(|e| io("SO_RCVBUFFORCE", e.into()))?;
        socket
            .send_to(&self.buf, &SocketAddr::new(0, 0), 0)
            .map_err(|e| io("send batch", e))?;
        let Some(ack) = self.ack else {
            return Ok(());
        };
        match read_replies(&socket, ack, |_, _| {})? {
            None => Ok(()),
            Some(code) => Err(errno("the kernel refused the element batch", code)),
        }
    }
}

pub(crate) fn io(what: &str, e: std::io::Error) -> Error {
    Error::Netlink(format!("{what}: {e}"))
}

/// A netfilter netlink socket in `netns` (the caller's namespace when `None`), whose reads
/// give up after [`REPLY_TIMEOUT`].
fn open(netns: Option<&Path>) -> Result<Socket, Error> {
    open_protocol(netns, NETLINK_NETFILTER)
}

/// A netlink socket of `protocol` in `netns` (the caller's namespace when `None`), whose
/// reads give up after [`REPLY_TIMEOUT`].
pub(crate) fn open_protocol(netns: Option<&Path>, protocol: isize) -> Result<Socket, Error> {
    let open = || -> std::io::Result<Socket> {
        let mut s = Socket::new(protocol)?;
        s.bind_auto()?;
        Ok(s)
    };
    let socket = match netns {
        Some(p) => tether_netns::NetNs::from_path(p)?
            .run(open)?
            .map_err(|e| io("netlink socket", e))?,
        None => open().map_err(|e| io("netlink socket", e))?,
    };
    let timeout =
        nix::sys::time::TimeVal::new(i64::try_from(REPLY_TIMEOUT.as_secs()).unwrap_or(30), 0);
    nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &timeout)
        .map_err(|e| io("SO_RCVTIMEO", e.into()))?;
    Ok(socket)
}

/// Reads messages from `socket`, handing each one's type, sequence number, error code (for
/// `NLMSG_ERROR`) and attributes (for nf_tables messages) to `on` until it returns a result.
fn read_messages<R>(
    socket: &Socket,
    mut on: impl FnMut(u16, u32, i32, Attrs) -> Option<R>,
) -> Result<R, Error> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = socket
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| io("receive replies", e))?;
        let mut off = 0;
        while off + 16 <= n {
            let len = read_u32(&buf, off) as usize;
            let ty = read_u16(&buf, off + 4);
            let seq = read_u32(&buf, off + 8);
            if len < 16 || off + len > n {
                return Err(Error::Netlink("malformed netlink reply".to_owned()));
            }
            let (code, attrs) = if ty == NLMSG_ERROR {
                let code = (len >= 20).then(|| read_u32(&buf, off + 16).cast_signed());
                (code.unwrap_or(0), Attrs::new())
            } else {
                // nlmsghdr (16) + nfgenmsg (4), then attributes.
                (0, parse_attrs(&buf[off + 20.min(len)..off + len]))
            };
            if let Some(r) = on(ty, seq, code, attrs) {
                return Ok(r);
            }
            off += (len + 3) & !3;
        }
    }
}

/// Reads the kernel's replies until the acknowledgement (or error) of message `seq`,
/// showing `seen` the type and the attributes of every other message. Returns the first
/// error (a negative errno) any message got.
fn read_replies(
    socket: &Socket,
    seq: u32,
    mut seen: impl FnMut(u16, Attrs),
) -> Result<Option<i32>, Error> {
    let mut first_error: Option<i32> = None;
    read_messages(socket, |ty, msg_seq, code, attrs| {
        if ty != NLMSG_ERROR {
            seen(ty, attrs);
            return None;
        }
        if code != 0 {
            first_error.get_or_insert(code);
        }
        (msg_seq == seq).then_some(first_error)
    })
}

/// An error for the negative errno `code` a request `what` got.
fn errno(what: &str, code: i32) -> Error {
    Error::Netlink(format!(
        "{what}: {}",
        std::io::Error::from_raw_os_error(-code)
    ))
}

/// Whether `table ip <table>` exists in `netns`: one `NFT_MSG_GETTABLE` (`nft list
/// tables` reads the whole ruleset first: 8.9 s and 533 MB at 50k Services).
pub(crate) fn table_exists(netns: Option<&Path>, table: &str) -> Result<bool, Error> {
    let socket = open(netns)?;
    let mut b = Batch::default();
    let msg = b.header(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE,
        NLM_F_REQUEST | NLM_F_ACK,
        NFPROTO_IPV4,
        0,
    );
    b.attr(NFTA_TABLE_NAME, &Batch::c_string(table));
    b.finish(msg);
    socket
        .send_to(&b.buf, &SocketAddr::new(0, 0), 0)
        .map_err(|e| io("send GETTABLE", e))?;
    let mut found = false;
    match read_replies(&socket, b.seq, |ty, _| {
        found |= ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE;
    })? {
        None => Ok(found),
        Some(c) if c == -ENOENT => Ok(false),
        Some(c) => Err(errno("GETTABLE", c)),
    }
}

/// Looks single elements up in `table ip <table>` over one netlink socket opened in the
/// namespace once (a lookup is then one request and one reply, no thread or namespace
/// switch).
#[derive(Debug)]
pub(crate) struct Lookup {
    socket: Socket,
    table: String,
}

impl Lookup {
    /// A socket in `netns` (the caller's namespace when `None`) for `table`.
    pub(crate) fn open(netns: Option<&Path>, table: &str) -> Result<Self, Error> {
        Ok(Self {
            socket: open(netns)?,
            table: table.to_owned(),
        })
    }

    /// The value of element `key` (script syntax, see [`fields_of`]) of set or map `set`,
    /// as the kernel holds it (empty for a set's element); `None` when absent. One
    /// `NFT_MSG_GETSETELEM`: a lookup in the kernel, not a dump.
    pub(crate) fn get(&self, set: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        let (key_fields, _) = fields_of(set)
            .ok_or_else(|| Error::Netlink(format!("no netlink encoding for {set}")))?;
        let bad = || Error::Netlink(format!("cannot encode key {key} of {set}"));
        let mut b = Batch::default();
        let msg = b.header(
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM,
            NLM_F_REQUEST | NLM_F_ACK,
            NFPROTO_IPV4,
            0,
        );
        b.attr(NFTA_SET_ELEM_LIST_TABLE, &Batch::c_string(&self.table));
        b.attr(NFTA_SET_ELEM_LIST_SET, &Batch::c_string(set));
        let list = b.nest_start(NFTA_SET_ELEM_LIST_ELEMENTS);
        let elem = b.nest_start(NFTA_LIST_ELEM);
        let k = b.nest_start(NFTA_SET_ELEM_KEY);
        b.attr_encoded(NFTA_DATA_VALUE, key_fields, key)
            .ok_or_else(bad)?;
        b.set_len(k).ok_or_else(bad)?;
        b.set_len(elem).ok_or_else(bad)?;
        b.set_len(list).ok_or_else(bad)?;
        b.finish(msg);
        self.socket
            .send_to(&b.buf, &SocketAddr::new(0, 0), 0)
            .map_err(|e| io("send GETSETELEM", e))?;
        let mut value = None;
        let reply = read_replies(&self.socket, b.seq, |ty, attrs| {
            if ty == (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM {
                value = value.take().or_else(|| element_data(&attrs));
            }
        })?;
        match reply {
            None => Ok(value),
            Some(c) if c == -ENOENT => Ok(None),
            Some(c) => Err(errno("GETSETELEM", c)),
        }
    }
}

/// The data of the first element in a NEWSETELEM message's attributes (ELEMENTS >
/// LIST_ELEM > DATA > DATA_VALUE); empty for a set's element, which has no DATA.
fn element_data(attrs: &Attrs) -> Option<Vec<u8>> {
    let (_, list) = attrs
        .iter()
        .find(|(t, _)| *t == NFTA_SET_ELEM_LIST_ELEMENTS)?;
    let (_, elem) = parse_attrs(list)
        .into_iter()
        .find(|(t, _)| *t == NFTA_LIST_ELEM)?;
    Some(
        parse_attrs(&elem)
            .into_iter()
            .find(|(t, _)| *t == NFTA_SET_ELEM_DATA)
            .and_then(|(_, d)| {
                parse_attrs(&d)
                    .into_iter()
                    .find(|(t, _)| *t == NFTA_DATA_VALUE)
            })
            .map(|(_, v)| v)
            .unwrap_or_default(),
    )
}

/// `value` (script syntax) encoded as the values of `set` are (compare with
/// [`Lookup::get`]); `None` when it cannot be.
pub(crate) fn encode_value(set: &str, value: &str) -> Option<Vec<u8>> {
    let (_, value_fields) = fields_of(set)?;
    let mut out = Vec::new();
    if !value_fields.is_empty() {
        encode_into(&mut out, value_fields, value)?;
    }
    Some(out)
}

/// The chains and named sets/maps of `table ip <table>` in `netns`: two netlink dumps
/// (`NFT_MSG_GETCHAIN`, `NFT_MSG_GETSET`), names and flags only, never elements.
pub(crate) fn live_objects(
    netns: Option<&Path>,
    table: &str,
) -> Result<crate::render::LiveObjects, Error> {
    let socket = open(netns)?;
    let mut out = crate::render::LiveObjects::default();
    // Chain dumps are not filtered by table in the kernel: every `ip` chain comes back.
    for attrs in dump(
        &socket,
        NFT_MSG_GETCHAIN,
        NFT_MSG_NEWCHAIN,
        NFTA_CHAIN_TABLE,
        table,
    )? {
        if attr_str(&attrs, NFTA_CHAIN_TABLE) == Some(table)
            && let Some(name) = attr_str(&attrs, NFTA_CHAIN_NAME)
        {
            out.chains.push(name.to_owned());
        }
    }
    for attrs in dump(
        &socket,
        NFT_MSG_GETSET,
        NFT_MSG_NEWSET,
        NFTA_SET_TABLE,
        table,
    )? {
        let flags = attrs
            .iter()
            .find(|(ty, _)| *ty == NFTA_SET_FLAGS)
            .and_then(|(_, v)| <[u8; 4]>::try_from(v.as_slice()).ok())
            .map_or(0, u32::from_be_bytes);
        if attr_str(&attrs, NFTA_SET_TABLE) == Some(table)
            && flags & NFT_SET_ANONYMOUS == 0
            && let Some(name) = attr_str(&attrs, NFTA_SET_NAME)
        {
            out.sets.push((name.to_owned(), flags & NFT_SET_MAP != 0));
        }
    }
    Ok(out)
}

/// One message's top-level attributes: `(type, payload)`.
pub(crate) type Attrs = Vec<(u16, Vec<u8>)>;

/// A string attribute (NUL-terminated) of `attrs`.
pub(crate) fn attr_str(attrs: &Attrs, ty: u16) -> Option<&str> {
    let (_, v) = attrs.iter().find(|(t, _)| *t == ty)?;
    std::str::from_utf8(v.split(|b| *b == 0).next()?).ok()
}

/// Dumps `get` objects of family `ip` (with `table_attr` = `table` in the request, which
/// filters where the kernel supports it) and returns the attributes of every `new` reply.
fn dump(
    socket: &Socket,
    get: u16,
    new: u16,
    table_attr: u16,
    table: &str,
) -> Result<Vec<Attrs>, Error> {
    let mut b = Batch::default();
    let msg = b.header(
        (NFNL_SUBSYS_NFTABLES << 8) | get,
        NLM_F_REQUEST | NLM_F_DUMP,
        NFPROTO_IPV4,
        0,
    );
    b.attr(table_attr, &Batch::c_string(table));
    b.finish(msg);
    socket
        .send_to(&b.buf, &SocketAddr::new(0, 0), 0)
        .map_err(|e| io("send dump request", e))?;
    let mut out = Vec::new();
    read_messages(socket, |ty, _, code, attrs| match ty {
        NLMSG_DONE => Some(Ok(())),
        NLMSG_ERROR if code != 0 => Some(Err(errno("dump", code))),
        t if t == (NFNL_SUBSYS_NFTABLES << 8) | new => {
            out.push(attrs);
            None
        }
        _ => None,
    })??;
    Ok(out)
}

/// The top-level attributes of a message body (or of a nested attribute's payload).
pub(crate) fn parse_attrs(mut body: &[u8]) -> Attrs {
    let mut out = Vec::new();
    while body.len() >= 4 {
        let len = usize::from(read_u16(body, 0));
        let ty = read_u16(body, 2) & NLA_TYPE_MASK;
        if len < 4 || len > body.len() {
            break;
        }
        out.push((ty, body[4..len].to_vec()));
        body = &body[((len + 3) & !3).min(body.len())..];
    }
    out
}

fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(fields: &[Field], text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        encode_into(&mut out, fields, text)?;
        Some(out)
    }

    #[test]
    fn fields_encode_as_registers() {
        let (key, value) = fields_of("fast-endpoints-5").expect("fast map");
        let k = encode(key, "10.96.0.1 . tcp . 80 . 3").expect("key");
        let mut want = vec![10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0];
        want.extend_from_slice(&3u32.to_ne_bytes());
        assert_eq!(k, want);
        assert_eq!(
            encode(value, "10.244.1.2 . 8080").expect("value"),
            [10, 244, 1, 2, 0x1f, 0x90, 0, 0]
        );
        let (hp, _) = fields_of("fast-hairpin").expect("hairpin");
        assert_eq!(
            encode(hp, "10.244.1.2 . 10.244.1.2").expect("pair"),
            [10, 244, 1, 2, 10, 244, 1, 2]
        );
        assert!(fields_of("service-ips").is_none());
        assert!(encode(key, "10.96.0.1 . tcp . 80").is_none());
        assert!(encode(key, "10.96.0.1 . tcp . 99999 . 0").is_none());
    }

    #[test]
    fn batch_layout() {
        let els = vec![("cluster-ips", "10.96.0.1".to_owned(), String::new())];
        let b = Batch::new_elements("tether", &[], &els).expect("batch");
        let bytes = b.bytes();
        // begin (20 bytes), one NEWSETELEM, end (20 bytes); lengths add up.
        assert_eq!(read_u32(bytes, 0), 20);
        assert_eq!(read_u16(bytes, 4), NFNL_MSG_BATCH_BEGIN);
        let msg_len = read_u32(bytes, 20) as usize;
        assert_eq!(read_u16(bytes, 24), (10 << 8) | 12);
        assert_eq!(20 + msg_len + 20, bytes.len());
        assert_eq!(read_u16(bytes, 20 + msg_len + 4), NFNL_MSG_BATCH_END);
        assert_eq!(b.ack, Some(2));
    }
}
