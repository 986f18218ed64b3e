//! eBPF without a compiler: maps and programs loaded with the `bpf(2)` syscall, programs
//! written with a small assembler ([`asm`]), attached to a device's ingress or egress
//! through tcx links (`BPF_LINK_CREATE`, Linux ≥ 6.6).
//!
//! This host has no clang (only `llc`) and libbpf 1.x loads only BTF-described maps, so
//! the programs are assembled here, with map file descriptors patched in as `ld_imm64`
//! pseudo loads. A link detaches when its [`Link`] is dropped (nothing is pinned).
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

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_PROG_LOAD: i64 = 5;
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

/// A map.
#[derive(Debug)]
pub struct Map {
    fd: OwnedFd,
    key_size: u32,
    value_size: u32,
}

impl Map {
    /// Creates a map.
    pub fn create(
        kind: MapType,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
    ) -> Result<Self, Error> {
        let mut a = Attr::new();
        a.u32(0, kind as u32)
            .u32(4, key_size)
            .u32(8, value_size)
            .u32(12, max_entries);
        let fd = a.call(BPF_MAP_CREATE, "MAP_CREATE")?;
        Ok(Self {
            fd: owned(fd),
            key_size,
            value_size,
        })
    }

    /// Inserts or replaces `key → value`.
    pub fn update(&self, key: &[u8], value: &[u8]) -> Result<(), Error> {
        for (what, got, want) in [
            ("key", key.len(), self.key_size),
            ("value", value.len(), self.value_size),
        ] {
            if u32::try_from(got).ok() != Some(want) {
                return Err(Error::Size { what, got, want });
            }
        }
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_ptr() as u64)
            .u64(24, 0);
        a.call(BPF_MAP_UPDATE_ELEM, "MAP_UPDATE_ELEM").map(drop)
    }

    /// The value of `key`, if present (one value: no per-CPU map types here).
    pub fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        if u32::try_from(key.len()).ok() != Some(self.key_size) {
            return Err(Error::Size {
                what: "key",
                got: key.len(),
                want: self.key_size,
            });
        }
        let mut value = vec![0u8; self.value_size as usize];
        let mut a = Attr::new();
        a.u32(0, self.fd.as_raw_fd() as u32)
            .u64(8, key.as_ptr() as u64)
            .u64(16, value.as_mut_ptr() as u64);
        match a.call(BPF_MAP_LOOKUP_ELEM, "MAP_LOOKUP_ELEM") {
            Ok(_) => Ok(Some(value)),
            Err(Error::Syscall { source, .. }) if source.raw_os_error() == Some(libc::ENOENT) => {
                Ok(None)
            }
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
        let n = name.len().min(15);
        a.0[48..48 + n].copy_from_slice(&name.as_bytes()[..n]);
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
