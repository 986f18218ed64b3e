//! libnftables, the library behind the `nft` command, loaded at run time (`dlopen`), with
//! one long-lived context on a thread of its own inside a network namespace.
//!
//! Why not just `nft -f -`: every run of the program pays a process start (a few ms), and
//! when its transaction deleted anything, closing its netlink socket waits in the kernel
//! for nf_tables' deferred destroy work, an RCU grace period (~10 ms: `nft_rcv_nl_event`
//! flushes it on `NETLINK_URELEASE`). A context that lives as long as the agent keeps its
//! socket open, so neither cost is paid per sync. The scripts are the same text and each
//! run is still one atomic transaction.
//!
//! [`LibNft::open`] fails with [`Error::Unavailable`] when the library is missing; callers
//! fall back to the `nft` program then. All calls into the library, from every context in
//! the process, are serialised by one lock: libnftables does not promise thread safety.
//!
//! This crate and `tether-netns` are the only ones allowed `unsafe`; every block carries a
//! `// SAFETY:` comment.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use tether_netns::NetNs;

/// The library's soname (Debian's `libnftables1`, a dependency of `nftables`).
const LIBRARY: &CStr = c"libnftables.so.1";
/// `NFT_CTX_DEFAULT`: a context with its own netlink socket.
const NFT_CTX_DEFAULT: u32 = 0;
/// Errors of the library context.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The library or one of its functions could not be loaded.
    #[error("libnftables is unavailable: {0}")]
    Unavailable(String),
    /// Entering the network namespace failed.
    #[error(transparent)]
    Netns(#[from] tether_netns::Error),
    /// nftables rejected the script (the text is what `nft` prints on stderr).
    #[error("{0}")]
    Rejected(String),
    /// The script holds a NUL byte, which the C API cannot take.
    #[error("the nftables script contains a NUL byte")]
    Nul,
    /// The context's thread is gone (it could not start or it panicked).
    #[error("the libnftables thread is gone")]
    Gone,
}

/// `struct nft_ctx *`.
type Ctx = *mut c_void;

/// The functions of libnftables.h this crate calls.
#[derive(Clone, Copy)]
struct Api {
    ctx_new: unsafe extern "C" fn(u32) -> Ctx,
    ctx_free: unsafe extern "C" fn(Ctx),
    buffer_output: unsafe extern "C" fn(Ctx) -> c_int,
    buffer_error: unsafe extern "C" fn(Ctx) -> c_int,
    get_output_buffer: unsafe extern "C" fn(Ctx) -> *const c_char,
    get_error_buffer: unsafe extern "C" fn(Ctx) -> *const c_char,
    run_cmd_from_buffer: unsafe extern "C" fn(Ctx, *const c_char) -> c_int,
}

fn api() -> Result<Api, Error> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load).clone().map_err(Error::Unavailable)
}

/// The process-wide lock around every call into the library.
fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string that stays valid until the
    // next dl* call on this thread; it is copied at once.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        return "unknown error".to_owned();
    }
    // SAFETY: non-NULL, NUL-terminated (see above).
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn load() -> Result<Api, String> {
    let _g = lock();
    // SAFETY: a constant NUL-terminated soname; the library's initialisers need nothing
    // from us. The handle is never closed, so the function pointers below stay valid for
    // the life of the process.
    let handle = unsafe { libc::dlopen(LIBRARY.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(format!("dlopen libnftables.so.1: {}", dl_error()));
    }
    let sym = |name: &CStr| -> Result<*mut c_void, String> {
        // SAFETY: a valid handle from dlopen and a NUL-terminated symbol name.
        let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
        if p.is_null() {
            Err(format!("{}: {}", name.to_string_lossy(), dl_error()))
        } else {
            Ok(p)
        }
    };
    // SAFETY: each pointer is the libnftables function of that name, and each type is
    // that function's C prototype in <nftables/libnftables.h> (nftables 0.9–1.1):
    //   struct nft_ctx *nft_ctx_new(uint32_t flags);
    //   void nft_ctx_free(struct nft_ctx *ctx);
    //   int nft_ctx_buffer_output(struct nft_ctx *ctx);
    //   int nft_ctx_buffer_error(struct nft_ctx *ctx);
    //   const char *nft_ctx_get_output_buffer(struct nft_ctx *ctx);
    //   const char *nft_ctx_get_error_buffer(struct nft_ctx *ctx);
    //   int nft_run_cmd_from_buffer(struct nft_ctx *nft, const char *buf);
    unsafe {
        Ok(Api {
            ctx_new: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(u32) -> Ctx>(sym(
                c"nft_ctx_new",
            )?),
            ctx_free: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Ctx)>(sym(
                c"nft_ctx_free",
            )?),
            buffer_output: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Ctx) -> c_int>(
                sym(c"nft_ctx_buffer_output")?,
            ),
            buffer_error: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(Ctx) -> c_int>(
                sym(c"nft_ctx_buffer_error")?,
            ),
            get_output_buffer: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(Ctx) -> *const c_char,
            >(sym(c"nft_ctx_get_output_buffer")?),
            get_error_buffer: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(Ctx) -> *const c_char,
            >(sym(c"nft_ctx_get_error_buffer")?),
            run_cmd_from_buffer: std::mem::transmute::<
                *mut c_void,
                unsafe extern "C" fn(Ctx, *const c_char) -> c_int,
            >(sym(c"nft_run_cmd_from_buffer")?),
        })
    }
}

/// A script to run and where to send the result.
struct Job {
    script: CString,
    reply: mpsc::SyncSender<Result<String, Error>>,
}

/// One libnftables context whose netlink socket lives in a network namespace; scripts run
/// on the context's own thread, one at a time. Dropping the last handle frees the context
/// (and closes its socket).
pub struct LibNft {
    jobs: mpsc::Sender<Job>,
    netns: Option<PathBuf>,
}

impl fmt::Debug for LibNft {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LibNft")
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
}

impl LibNft {
    /// Loads the library (once per process) and opens a context inside the namespace file
    /// `netns` (`None`: the caller's namespace).
    pub fn open(netns: Option<&Path>) -> Result<Self, Error> {
        let api = api()?;
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel(1);
        let body = move || serve(api, &rx, &ready_tx);
        let ready = match netns {
            Some(path) => {
                let handle = NetNs::from_path(path)?.spawn(body)?;
                match ready_rx.recv() {
                    Ok(r) => r,
                    Err(_) => match handle.join() {
                        Ok(Err(e)) => Err(Error::Netns(e)),
                        _ => Err(Error::Gone),
                    },
                }
            }
            None => {
                thread::Builder::new()
                    .name("libnftables".to_owned())
                    .spawn(body)
                    .map_err(|e| Error::Unavailable(format!("spawn thread: {e}")))?;
                ready_rx.recv().unwrap_or(Err(Error::Gone))
            }
        };
        ready?;
        Ok(Self {
            jobs,
            netns: netns.map(Path::to_path_buf),
        })
    }

    /// Runs `script` (the text `nft -f` reads) as one transaction and returns what nft
    /// would print on stdout. On error nothing of the script took effect.
    pub fn run(&self, script: &str) -> Result<String, Error> {
        let script = CString::new(script).map_err(|_| Error::Nul)?;
        let (reply, result) = mpsc::sync_channel(1);
        self.jobs
            .send(Job { script, reply })
            .map_err(|_| Error::Gone)?;
        result.recv().unwrap_or(Err(Error::Gone))
    }
}

/// The context's thread: create it, then run jobs until every sender is gone.
fn serve(api: Api, jobs: &mpsc::Receiver<Job>, ready: &mpsc::SyncSender<Result<(), Error>>) {
    let ctx = {
        let _g = lock();
        // SAFETY: nft_ctx_new has no preconditions; NULL is checked below.
        let ctx = unsafe { (api.ctx_new)(NFT_CTX_DEFAULT) };
        if ctx.is_null() {
            let _ = ready.send(Err(Error::Unavailable("nft_ctx_new failed".to_owned())));
            return;
        }
        // SAFETY: ctx is a live context owned by this thread.
        let buffered = unsafe { (api.buffer_output)(ctx) == 0 && (api.buffer_error)(ctx) == 0 };
        if !buffered {
            // SAFETY: ctx is live and not used after this.
            unsafe { (api.ctx_free)(ctx) };
            let _ = ready.send(Err(Error::Unavailable(
                "nft_ctx_buffer_output failed".to_owned(),
            )));
            return;
        }
        ctx
    };
    let _ = ready.send(Ok(()));
    for job in jobs {
        let result = run_one(api, ctx, &job.script);
        let _ = job.reply.send(result);
    }
    let _g = lock();
    // SAFETY: ctx is live, owned by this thread and not used after this.
    unsafe { (api.ctx_free)(ctx) };
}

fn run_one(api: Api, ctx: Ctx, script: &CStr) -> Result<String, Error> {
    let _g = lock();
    // SAFETY: ctx is a live context owned by the calling thread; script is NUL-terminated
    // and outlives the call.
    let rc = unsafe { (api.run_cmd_from_buffer)(ctx, script.as_ptr()) };
    // SAFETY: ctx is live and buffers its output; each getter returns a NUL-terminated
    // string ("" when empty) valid until the next call on ctx, copied at once.
    let (out, err) = unsafe {
        (
            copy((api.get_output_buffer)(ctx)),
            copy((api.get_error_buffer)(ctx)),
        )
    };
    if rc == 0 {
        Ok(out)
    } else if err.trim().is_empty() {
        Err(Error::Rejected(format!(
            "nft_run_cmd_from_buffer returned {rc}"
        )))
    } else {
        Err(Error::Rejected(err.trim().to_owned()))
    }
}

/// Copies a C string from the library (NULL reads as empty).
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the duration of the call.
unsafe fn copy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: per the function's contract.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
