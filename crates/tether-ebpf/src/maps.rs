//! The five maps: created fresh, or found again through the forward program a previous
//! process left attached (so its flows, and the connections they carry, survive a restart).

use std::collections::BTreeSet;

use tether_bpf::{Map, MapType, NO_COMMON_LRU, Program};

use crate::Error;
use crate::programs::{FLOW_VALUE_SIZE, REPLY_VALUE_SIZE};
use crate::state::{
    BLOCK_SIZE, BLOCKS, Frontend, Op, Recovered, SLOTS, parse_backend, parse_header,
};

/// Flows remembered at once (each direction); beyond it the least recently used go.
pub const FLOW_CAPACITY: u32 = 262_144;

/// The maps the programs share. Names carry a layout version: a process that finds maps of
/// another layout starts afresh.
#[derive(Debug)]
pub struct Maps {
    /// ClusterIP . port → pick count, block base.
    pub services: Map,
    /// base + i → slot.
    pub picks: Map,
    /// slot → endpoint (or a block header).
    pub backends: Map,
    /// The client side of each fast flow.
    pub flows: Map,
    /// The pod side of each fast flow.
    pub replies: Map,
}

/// (name, type, key size, value size, capacity, flags) of each map, in [`Maps`] order. The
/// flow maps keep one LRU list per CPU: a SYN's two updates take no lock shared with the
/// other CPUs.
const LAYOUT: [(&str, MapType, u32, u32, u32, u32); 5] = [
    ("tt3_services", MapType::Hash, 8, 8, BLOCKS, 0),
    ("tt3_picks", MapType::Array, 4, 4, SLOTS, 0),
    ("tt3_backends", MapType::Array, 4, 8, SLOTS, 0),
    (
        "tt3_flows",
        MapType::LruHash,
        12,
        FLOW_VALUE_SIZE,
        FLOW_CAPACITY,
        NO_COMMON_LRU,
    ),
    (
        "tt3_replies",
        MapType::LruHash,
        12,
        REPLY_VALUE_SIZE,
        FLOW_CAPACITY,
        NO_COMMON_LRU,
    ),
];

impl Maps {
    /// New, empty maps.
    pub fn create() -> Result<Self, Error> {
        let [services, picks, backends, flows, replies] =
            LAYOUT.map(|(name, kind, k, v, n, f)| Map::create_named(kind, k, v, n, f, name));
        Ok(Self {
            services: services?,
            picks: picks?,
            backends: backends?,
            flows: flows?,
            replies: replies?,
        })
    }

    /// The maps of `prog` (a forward program found attached), when they have this layout.
    pub fn of(prog: &Program) -> Result<Option<Self>, Error> {
        let info = prog.info()?;
        let mut found: [Option<Map>; 5] = Default::default();
        for id in info.map_ids {
            let map = Map::from_id(id)?;
            let m = map.info()?;
            let Some(i) = LAYOUT.iter().position(|(name, kind, k, v, n, f)| {
                m.name == *name
                    && m.kind == *kind as u32
                    && m.key_size == *k
                    && m.value_size == *v
                    && m.max_entries == *n
                    && m.flags == *f
            }) else {
                continue;
            };
            found[i] = Some(map);
        }
        let [
            Some(services),
            Some(picks),
            Some(backends),
            Some(flows),
            Some(replies),
        ] = found
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            services,
            picks,
            backends,
            flows,
            replies,
        }))
    }

    /// What a previous process left: each block's header and members, and the frontends
    /// `services` lists.
    pub fn recovered(&self) -> Result<(Vec<Recovered>, BTreeSet<Frontend>), Error> {
        let mut blocks = Vec::new();
        for index in 0..BLOCKS {
            let base = index * BLOCK_SIZE;
            let Some(frontend) = self
                .backends
                .lookup(&base.to_ne_bytes())?
                .as_deref()
                .and_then(parse_header)
            else {
                continue;
            };
            let mut members = Vec::new();
            for slot in base + 1..base + BLOCK_SIZE {
                if let Some(b) = self
                    .backends
                    .lookup(&slot.to_ne_bytes())?
                    .as_deref()
                    .and_then(parse_backend)
                {
                    members.push((slot, b));
                }
            }
            blocks.push((index, frontend, members));
        }
        let mut listed = BTreeSet::new();
        let mut key: Option<Vec<u8>> = None;
        while let Some(k) = self.services.next_key(key.as_deref())? {
            if let (Some(ip), Some(port)) = (k.first_chunk::<4>(), k.get(4..6)) {
                listed.insert(Frontend {
                    vip: (*ip).into(),
                    port: u16::from_be_bytes([port[0], port[1]]),
                });
            }
            key = Some(k);
        }
        Ok((blocks, listed))
    }

    /// Applies `ops` in order.
    pub fn apply(&self, ops: &[Op]) -> Result<(), Error> {
        for op in ops {
            match op {
                Op::Backend { slot, value } => self.backends.update(&slot.to_ne_bytes(), value)?,
                Op::Pick { index, slot } => {
                    self.picks
                        .update(&index.to_ne_bytes(), &slot.to_ne_bytes())?;
                }
                Op::Service { frontend, entry } => {
                    let mut key = [0u8; 8];
                    key[..4].copy_from_slice(&frontend.vip.octets());
                    key[4..6].copy_from_slice(&frontend.port.to_be_bytes());
                    match entry {
                        Some((count, base)) => {
                            let mut v = [0u8; 8];
                            v[..4].copy_from_slice(&count.to_ne_bytes());
                            v[4..].copy_from_slice(&base.to_ne_bytes());
                            self.services.update(&key, &v)?;
                        }
                        None => {
                            self.services.delete(&key)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
