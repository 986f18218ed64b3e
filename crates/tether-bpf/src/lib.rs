//! eBPF without a compiler: maps and programs loaded with the `bpf(2)` syscall, programs
//! written with a small assembler ([`asm`]), attached to a device's ingress or egress
//! through tcx links (`BPF_LINK_CREATE`, Linux ≥ 6.6).
//!
//! This host has no clang (only `llc`) and libbpf 1.x loads only BTF-described maps, so
//! the programs are assembled here, with map file descriptors patched in as `ld_imm64`
//! pseudo loads. A link detaches when its [`Link`] is dropped (nothing is pinned). A
//! program attached with [`tcx_attach`] instead stays attached without any descriptor, until
//! [`tcx_detach`] or its device goes away: a restarted process finds it again with
//! [`tcx_query`] and [`Program::from_id`], and its maps through [`Program::info`] and
//! [`Map::from_id`] (no bpffs needed).
//!
//! Besides `tether-netns` and `tether-libnft`, this is the one crate allowed `unsafe`:
//! every block carries a `// SAFETY:` comment.

pub mod asm;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Errors of the `bpf(2)` calls.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `bpf(2)` command failed.
    #[error("bpf({cmd}): {source}")]
    Syscall {
        /// The command.
        cmd: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The verifier rejected a program; its log says why.
    #[error("the verifier rejected the program: {source}\n{log}")]
    Verifier {
        /// The cause.
        source: std::io::Error,
        /// The verifier's log.
        log: String,
    },
    /// A key or value of the wrong size.
    #[error("{what} is {got} bytes, the map wants {want}")]
    Size {
        /// Key or value.
        what: &'static str,
        /// Its size.
        got: usize,
        /// The map's.
        want: u32,
    },
}

impl Error {
    /// Whether the kernel said `ENOENT` (no such element, program or attachment).
    pub fn is_not_found(&self) -> bool {
        is_errno(self, libc::ENOENT)
    }
}

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_MAP_DELETE_ELEM: i64 = 3;
const BPF_MAP_GET_NEXT_KEY: i64 = 4;
const BPF_PROG_LOAD: i64 = 5;
const BPF_PROG_ATTACH: i64 = 8;
const BPF_PROG_DETACH: i64 = 9;
const BPF_PROG_GET_FD_BY_ID: i64 = 13;
const BPF_MAP_GET_FD_BY_ID: i64 = 14;
const BPF_OBJ_GET_INFO_BY_FD: i64 = 15;
const BPF_PROG_QUERY: i64 = 16;
/// `BPF_F_REPLACE`: an attach that replaces `replace_bpf_fd` in place.
const BPF_F_REPLACE: u32 = 1 << 2;
/// `BPF_OBJ_NAME_LEN`: object names are at most 15 bytes and a NUL.
const OBJ_NAME_LEN: usize = 16;
const BPF_LINK_CREATE: i64 = 28;
/// `union bpf_attr` is smaller than this on every kernel we meet; the tail stays zero.
const ATTR_SIZE: usize = 160;

/// A `union bpf_attr`, little by little.
struct Attr([u8; ATTR_SIZE]);

impl Attr {
    fn new() -> Self {
        Self([0; ATTR_SIZE])
    }

    fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }

    fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }

    /// Runs command `cmd`; the result is a file descriptor or 0.
    fn call(&mut self, cmd: i64, name: &'static str) -> Result<i64, Error> {
        // SAFETY: the attribute buffer lives across the call and is ATTR_SIZE bytes long, as
        // the size argument says; any pointers written into it (keys, values, instructions,
        // the license and the log) point at buffers the callers keep alive across the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                self.0.as_mut_ptr(),
                ATTR_SIZE as libc::c_uint,
            )
        };
        if r < 0 {
            Err(Error::Syscall {
                cmd: name,
                source: std::io::Error::last_os_error(),
            })
        } else {
            Ok(r)
        }
    }
}

/// The NUL-terminated object name at `bytes`.
fn name_of(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Copies `name` (at most 15 bytes) into an attribute's name field at `at`.
fn put_name(a: &mut Attr, at: usize, name: &str) {
    let n = name.len().min(OBJ_NAME_LEN - 1);
    a.0[at..at + n].copy_from_slice(&name.as_bytes()[..n]);
}

/// `BPF_OBJ_GET_INFO_BY_FD` into a buffer of `len` bytes (the kernel fills what it knows).
fn object_info(fd: RawFd, len: usize, what: &'static str) -> Result<Vec<u8>, Error> {
    let mut info = vec![0u8; len];
    let mut a = Attr::new();
    a.u32(0, fd as u32)
        .u32(4, len as u32)
        .u64(8, info.as_mut_ptr() as u64);
    a.call(BPF_OBJ_GET_INFO_BY_FD, what)?;
    Ok(info)
}

fn word(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|w| w.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn is_errno(e: &Error, errno: i32) -> bool {
    matches!(e, Error::Syscall { source, .. } if source.raw_os_error() == Some(errno))
}

fn owned(fd: i64) -> OwnedFd {
    // SAFETY: `fd` is a descriptor the kernel just returned to us and nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// Map types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum MapType {
    /// `BPF_MAP_TYPE_HASH`.
    Hash = 1,
    /// `BPF_MAP_TYPE_ARRAY`.
    Array = 2,
    /// `BPF_MAP_TYPE_LRU_HASH`: full, it evicts the least recently used entry.
    LruHash = 9,
}

/// `BPF_F_NO_COMMON_LRU`: an LRU map keeps one list per CPU (no lock shared by all CPUs;
/// each CPU's updates evict from its own share of the capacity).
pub const NO_COMMON_LRU: u32 = 1 << 1;

/// A map.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    key_size: u32,
    value_size: u32,
}

/// What the kernel says about a map (`struct bpf_map_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    /// The map type (`BPF_MAP_TYPE_*`).
    pub kind: u32,
    /// The map's id.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// The `BPF_F_*` flags it was created with.
    pub flags: u32,
    /// The name it was created with.
    pub name: String,
}

impl Map {
    /// Creates a map.
    pub fn create(
        kind: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> Result<Self, Error> {
        Self::create_named(kind, key_size, value_size, max_entries, 0, "")
    }

    /// Creates a map named `name` (at most 15 bytes are kept; [`MapInfo::name`] shows it)
    /// with `flags` (`BPF_F_*`, such as [`NO_COMMON_LRU`]).
    pub fn create_named(
        kind: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        flags: u32,
        name: &str,
    ) -> Result<Self, Error> {
        let mut a = Attr::new();
        a.u32(0, kind as u32)
            .u32(4, key_size)
            .u32(8, value_size)
            .u32(12, max_entries)
            .u32(16, flags);
        put_name(&mut a, 28, name);
        let fd = a.call(BPF_MAP_CREATE, "MAP_CREATE")?;
        Ok(Self {
            fd: owned(fd),
            key_size,
            value_size,
        })
    }

    /// Opens the map with id `id` (one of [`ProgInfo::map_ids`]).
    pub fn from_id(id: u32) -> Result<Self, Error> {
        let mut a = Attr::new();
        a.u32(0, id);
        let mut map = Self {
            fd: owned(a.call(BPF_MAP_GET_FD_BY_ID, "MAP_GET_FD_BY_ID")?),
            key_size: 0,
            value_size: 0,
        };
        let info = map.info()?;
        (map.key_size, map.value_size) = (info.key_size, info.value_size);
        Ok(map)
    }

    /// The kernel's description of the map.
    pub fn info(&self) -> Result<MapInfo, Error> {
        let b = object_info(self.fd.as_raw_fd(), 80, "OBJ_GET_INFO_BY_FD")?;
        Ok(MapInfo {
            kind: word(&b, 0),
            id: word(&b, 4),
            key_size: word(&b, 8),
            value_size: word(&b, 12),
            max_entries: word(&b, 16),
            flags: word(&b, 20),
            name: name_of(&b[24..24 + OBJ_NAME_LEN]),
        })
    }

    fn check(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), Error> {
        let value = value.map(|v| ("value", v.len(), self.value_size));
        for (what, got, want) in std::iter::once(("key", key.len(), self.key_size)).chain(value) {
            if u32::try_from(got).ok() != Some(want) {
                return Err(Error::Size { what, got, want });
            }
        }
        Ok(())
    }

    /// Removes `key`; `false` when it was not there.
    pub fn delete(&self, key: &[u8]) -> Result<bool, Error> {
        self.check(key, None)?;
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64);
        match a.call(BPF_MAP_DELETE_ELEM, "MAP_DELETE_ELEM") {
            Ok(_) => Ok(true),
            Err(e) if is_errno(&e, libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The key after `key` (the first key for `None`); `None` at the end. Iterating a hash
    /// map that changes meanwhile may skip or repeat keys.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>, Error> {
        if let Some(k) = key {
            self.check(k, None)?;
        }
        let mut next = vec![0u8; self.key_size as usize];
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.map_or(0, |k| k.as_ptr() as u64))
            .u64(16, next.as_mut_ptr() as u64);
        match a.call(BPF_MAP_GET_NEXT_KEY, "MAP_GET_NEXT_KEY") {
            Ok(_) => Ok(Some(next)),
            Err(e) if is_errno(&e, libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Inserts or replaces `key → value`.
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        self.check(key, Some(value))?;
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_ptr() as u64)
            .u64(24, 0);
        a.call(BPF_MAP_UPDATE_ELEM, "MAP_UPDATE_ELEM").map(drop)
    }

    /// The value of `key`, if present (one value: no per-CPU map types here).
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        self.check(key, None)?;
        let mut value = vec![0u8; self.value_size as usize];
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_mut_ptr() as u64);
        match a.call(BPF_MAP_LOOKUP_ELEM, "MAP_LOOKUP_ELEM") {
            Ok(_) => Ok(Some(value)),
            Err(e) if is_errno(&e, libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The map's descriptor (for [`asm::Asm::ld_map`]).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// `BPF_PROG_TYPE_SCHED_CLS`: a tc / tcx program (`struct __sk_buff` context).
pub const PROG_TYPE_SCHED_CLS: u32 = 3;

/// A loaded program.
#[derive(Debug)]
pub struct Program {
    fd: OwnedFd,
}

/// What the kernel says about a program (`struct bpf_prog_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgInfo {
    /// The program's id.
    pub id: u32,
    /// The name it was loaded with.
    pub name: String,
    /// The maps it uses.
    pub map_ids: Vec<u32>,
}

impl Program {
    /// Loads `insns` (see [`asm::Asm::finish`]) as a program of type `prog_type`, under the
    /// GPL (needed by several helpers).
    pub fn load(prog_type: u32, name: &str, insns: &[u8]) -> Result<Self, Error> {
        let license = b"GPL\0";
        let mut log = vec![0u8; 1 << 20];
        let mut a = Attr::new();
        a.u32(0, prog_type)
            .u32(4, (insns.len() / 8) as u32)
            .u64(8, insns.as_ptr() as u64)
            .u64(16, license.as_ptr() as u64)
            .u32(24, 1)
            .u32(28, log.len() as u32)
            .u64(32, log.as_mut_ptr() as u64);
        put_name(&mut a, 48, name);
        match a.call(BPF_PROG_LOAD, "PROG_LOAD") {
            Ok(fd) => Ok(Self { fd: owned(fd) }),
            Err(Error::Syscall { cmd, source }) => {
                let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
                if end == 0 {
                    // Not the verifier (no log): permissions, a bad name or attribute.
                    return Err(Error::Syscall { cmd, source });
                }
                Err(Error::Verifier {
                    source,
                    log: String::from_utf8_lossy(&log[..end]).into_owned(),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Opens the program with id `id` (from [`tcx_query`]).
    pub fn from_id(id: u32) -> Result<Self, Error> {
        let mut a = Attr::new();
        a.u32(0, id);
        let fd = a.call(BPF_PROG_GET_FD_BY_ID, "PROG_GET_FD_BY_ID")?;
        Ok(Self { fd: owned(fd) })
    }

    /// The kernel's description of the program, with the ids of its maps.
    pub fn info(&self) -> Result<ProgInfo, Error> {
        // struct bpf_prog_info: id at 4, nr_map_ids at 52, map_ids at 56, name at 64.
        const LEN: usize = 80;
        let b = object_info(self.fd.as_raw_fd(), LEN, "OBJ_GET_INFO_BY_FD")?;
        let n = word(&b, 52) as usize;
        let mut ids = vec![0u32; n];
        if n > 0 {
            let mut again = vec![0u8; LEN];
            again[52..56].copy_from_slice(&(n as u32).to_ne_bytes());
            again[56..64].copy_from_slice(&(ids.as_mut_ptr() as u64).to_ne_bytes());
            let mut a = Attr::new();
            a.u32(0, self.fd.as_raw_fd() as u32)
                .u32(4, LEN as u32)
                .u64(8, again.as_mut_ptr() as u64);
            a.call(BPF_OBJ_GET_INFO_BY_FD, "OBJ_GET_INFO_BY_FD")?;
            // The kernel writes at most the `n` ids asked for and reports how many there are.
            ids.truncate(n.min(word(&again, 52) as usize));
        }
        Ok(ProgInfo {
            id: word(&b, 4),
            name: name_of(&b[64..64 + OBJ_NAME_LEN]),
            map_ids: ids,
        })
    }
}

/// Attaches `prog` to device `ifindex` (of the calling thread's network namespace) without
/// a link: it stays attached after the process exits, until [`tcx_detach`] or the device
/// goes. With `replace`, `prog` takes that attached program's place atomically (no packet
/// sees neither).
pub fn tcx_attach(
    prog: &Program,
    ifindex: u32,
    hook: TcxHook,
    replace: Option<&Program>,
) -> Result<(), Error> {
    let mut a = Attr::new();
    a.u32(0, ifindex)
        .u32(4, prog.fd.as_raw_fd() as u32)
        .u32(8, hook as u32);
    if let Some(old) = replace {
        a.u32(12, BPF_F_REPLACE).u32(16, old.fd.as_raw_fd() as u32);
    }
    a.call(BPF_PROG_ATTACH, "PROG_ATTACH").map(drop)
}

/// Detaches `prog` (attached with [`tcx_attach`]) from device `ifindex`.
pub fn tcx_detach(prog: &Program, ifindex: u32, hook: TcxHook) -> Result<(), Error> {
    let mut a = Attr::new();
    a.u32(0, ifindex)
        .u32(4, prog.fd.as_raw_fd() as u32)
        .u32(8, hook as u32);
    a.call(BPF_PROG_DETACH, "PROG_DETACH").map(drop)
}

/// The ids of the programs attached to device `ifindex` at `hook`, in order (links'
/// programs included); empty for a device without any.
pub fn tcx_query(ifindex: u32, hook: TcxHook) -> Result<Vec<u32>, Error> {
    const MAX: usize = 64;
    let mut ids = [0u32; MAX];
    let mut a = Attr::new();
    // target_ifindex, attach_type, query_flags, attach_flags, prog_ids, count.
    a.u32(0, ifindex)
        .u32(4, hook as u32)
        .u64(16, ids.as_mut_ptr() as u64)
        .u32(24, MAX as u32);
    a.call(BPF_PROG_QUERY, "PROG_QUERY")?;
    let n = (word(&a.0, 24) as usize).min(MAX);
    Ok(ids[..n].to_vec())
}

/// Where a tcx link hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcxHook {
    /// `BPF_TCX_INGRESS`.
    Ingress = 46,
    /// `BPF_TCX_EGRESS`.
    Egress = 47,
}

/// An attached program; dropping it detaches the program.
#[derive(Debug)]
pub struct Link {
    _fd: OwnedFd,
}

impl Link {
    /// Attaches `prog` to device `ifindex` of the calling thread's network namespace.
    pub fn tcx(prog: &Program, ifindex: u32, hook: TcxHook) -> Result<Self, Error> {
        let mut a = Attr::new();
        a.u32(0, prog.fd.as_raw_fd() as u32)
            .u32(4, ifindex)
            .u32(8, hook as u32);
        let fd = a.call(BPF_LINK_CREATE, "LINK_CREATE")?;
        Ok(Self { _fd: owned(fd) })
    }
}
