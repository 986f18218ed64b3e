//! Named network namespaces under `/run/netns`, and running code inside them.
//!
//! A namespace is created the way `ip netns add` does it: a helper thread `unshare`s a new
//! network namespace and bind-mounts `/proc/thread-self/ns/net` onto `/run/netns/<name>`, so
//! the namespace outlives the thread and `ip netns exec`/`ip -n` can use it. Entering a
//! namespace (`setns`) is per thread, so this module only ever enters on threads it spawns
//! and that end right after: a caller's thread, and tokio's pooled blocking threads, never
//! change namespace.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::{self, JoinHandle};

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use rtnetlink::Handle;

use crate::{Error, Result};

/// Where named network namespaces live (iproute2's `NETNS_RUN_DIR`).
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// A network namespace: named under [`NETNS_RUN_DIR`] ([`create`](Self::create),
/// [`open`](Self::open)) or any namespace file ([`from_path`](Self::from_path)).
///
/// The value holds an open file descriptor of the namespace, so entering it never races
/// with a concurrent delete. A namespace made by [`create`](Self::create) is deleted when
/// the value is dropped, unless [`persist`](Self::persist) was called; one obtained by
/// [`open`](Self::open) or [`from_path`](Self::from_path) is left alone on drop.
///
/// Deleting removes the name; the kernel destroys the namespace (and the links in it) once
/// the last reference is gone: processes inside it, open sockets created in it, and open
/// descriptors such as this value's.
#[derive(Debug)]
pub struct NetNs {
    name: String,
    path: PathBuf,
    file: File,
    /// The path is a bind mount under `/run/netns` that [`NetNs::delete`] may remove.
    named: bool,
    delete_on_drop: bool,
}

impl NetNs {
    /// Creates a new named network namespace (like `ip netns add NAME`) and brings its
    /// loopback interface up.
    ///
    /// Fails with [`Error::Exists`] when the name is taken. Blocks briefly (it runs a helper
    /// thread); fine to call from async code.
    pub fn create(name: &str) -> Result<Self> {
        validate_name(name)?;
        ensure_run_dir()?;
        let path = Path::new(NETNS_RUN_DIR).join(name);

        // Reserve the name: the mount point is an empty file created exclusively.
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o000)
            .open(&path)
            .map_err(|e| Error::io(format!("network namespace {name:?}"), e))?;

        let mounted = thread::scope(|s| {
            let worker = thread::Builder::new()
                .name(thread_name(name))
                .spawn_scoped(s, || -> Result<()> {
                    unshare(CloneFlags::CLONE_NEWNET)
                        .map_err(|e| Error::errno("unshare(CLONE_NEWNET)", e))?;
                    mount(
                        Some("/proc/thread-self/ns/net"),
                        &path,
                        None::<&str>,
                        MsFlags::MS_BIND,
                        None::<&str>,
                    )
                    .map_err(|e| {
                        Error::errno(format!("bind-mount netns onto {}", path.display()), e)
                    })
                })
                .map_err(|e| Error::io("spawn netns thread", e))?;
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        if let Err(e) = mounted {
            let _ = fs::remove_file(&path);
            return Err(e);
        }

        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) => {
                let _ = umount2(&path, MntFlags::MNT_DETACH);
                let _ = fs::remove_file(&path);
                return Err(Error::io(format!("open {}", path.display()), e));
            }
        };
        // From here on, dropping `ns` cleans up.
        let ns = Self {
            name: name.to_owned(),
            path,
            file,
            named: true,
            delete_on_drop: true,
        };
        ns.block_on(|| async {
            let (conn, handle, _) =
                rtnetlink::new_connection().map_err(|e| Error::io("open rtnetlink socket", e))?;
            tokio::spawn(conn);
            crate::set_up(&handle, "lo").await
        })?;
        tracing::debug!(netns = name, "created network namespace");
        Ok(ns)
    }

    /// Opens an existing named namespace (`/run/netns/NAME`). The value does not delete it
    /// on drop; call [`delete`](Self::delete) for that.
    pub fn open(name: &str) -> Result<Self> {
        validate_name(name)?;
        let path = Path::new(NETNS_RUN_DIR).join(name);
        let mut ns = Self::from_path(&path)?;
        ns.name = name.to_owned();
        ns.named = true;
        Ok(ns)
    }

    /// Opens any network namespace file, such as `/proc/<pid>/ns/net` or, for the namespace
    /// the process started in, `/proc/self/ns/net`. Such a value is never deleted;
    /// [`delete`](Self::delete) refuses it.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::open(&path)
            .map_err(|e| Error::io(format!("network namespace {}", path.display()), e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ns = Self {
            name,
            path,
            file,
            named: false,
            delete_on_drop: false,
        };
        // A stale mount point (a plain file) or a different kind of namespace fails setns.
        ns.run(|| ()).map_err(|e| match e {
            Error::Io { source, .. } if source.raw_os_error() == Some(Errno::EINVAL as i32) => {
                Error::Invalid(format!("{} is not a network namespace", ns.path.display()))
            }
            other => other,
        })?;
        Ok(ns)
    }

    /// The namespace's name (the file name of its path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace file, e.g. `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keeps the namespace after this value is dropped (for namespaces that outlive the
    /// process, like a pod's; delete later with [`NetNs::open`] + [`NetNs::delete`]).
    #[must_use]
    pub fn persist(mut self) -> Self {
        self.delete_on_drop = false;
        self
    }

    /// Deletes the namespace's name (like `ip netns delete NAME`): lazily unmounts and
    /// removes `/run/netns/NAME`. Refused for namespaces opened with
    /// [`from_path`](Self::from_path).
    pub fn delete(mut self) -> Result<()> {
        self.delete_on_drop = false;
        if !self.named {
            return Err(Error::Invalid(format!(
                "{} is not a named network namespace",
                self.path.display()
            )));
        }
        self.remove()
    }

    fn remove(&self) -> Result<()> {
        match umount2(&self.path, MntFlags::MNT_DETACH) {
            Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => {}
            Err(e) => return Err(Error::errno(format!("umount {}", self.path.display()), e)),
        }
        match fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("remove {}", self.path.display()), e)),
        }
        tracing::debug!(netns = %self.name, "deleted network namespace");
        Ok(())
    }

    /// Runs `f` on a new thread that has entered this namespace, waits for it and returns
    /// its result. A panic in `f` is resumed on the caller's thread.
    ///
    /// Sockets created inside `f` stay in this namespace wherever they are used later, so
    /// the usual pattern is `let l = ns.run(|| TcpListener::bind(addr))??;`. Blocks the
    /// caller until `f` returns.
    pub fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        let fd = self.file.as_fd();
        thread::scope(|s| {
            let worker = thread::Builder::new()
                .name(thread_name(&self.name))
                .spawn_scoped(s, move || setns(fd, CloneFlags::CLONE_NEWNET).map(|()| f()))
                .map_err(|e| Error::io("spawn netns thread", e))?;
            match worker.join() {
                Ok(result) => {
                    result.map_err(|e| Error::errno(format!("setns into {}", self.name), e))
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Spawns a detached thread that enters this namespace and runs `f` (for servers and
    /// load generators that keep opening sockets). The outer error is a failure to spawn;
    /// the thread's result is `Err` when entering the namespace failed.
    pub fn spawn<T, F>(&self, f: F) -> Result<JoinHandle<Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let file = self.dup()?;
        let name = self.name.clone();
        thread::Builder::new()
            .name(thread_name(&self.name))
            .spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::errno(format!("setns into {name}"), e))?;
                drop(file);
                Ok(f())
            })
            .map_err(|e| Error::io("spawn netns thread", e))
    }

    /// Opens an rtnetlink connection inside this namespace: the socket is created on a
    /// helper thread that entered the namespace, then driven by a task spawned on the
    /// current tokio runtime. The task ends when the last clone of the handle is dropped.
    pub async fn handle(&self) -> Result<Handle> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Invalid("NetNs::handle must be called inside a tokio runtime".into())
        })?;
        let file = self.dup()?;
        let name = self.name.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        thread::Builder::new()
            .name(thread_name(&self.name))
            .spawn(move || {
                let opened = setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::errno(format!("setns into {name}"), e))
                    .and_then(|()| {
                        // The socket registers with the caller's reactor; it keeps its
                        // namespace after this thread ends.
                        let _entered = rt.enter();
                        rtnetlink::new_connection()
                            .map_err(|e| Error::io("open rtnetlink socket", e))
                    });
                let _ = tx.send(opened.map(|(conn, handle, _)| (conn, handle)));
            })
            .map_err(|e| Error::io("spawn netns thread", e))?;
        let (conn, handle) = rx
            .await
            .map_err(|_| Error::Invalid("netns helper thread died".into()))??;
        tokio::spawn(conn);
        Ok(handle)
    }

    /// Runs an async closure on a fresh current-thread runtime on a thread inside the
    /// namespace (so every socket the future opens is created inside it).
    pub(crate) fn block_on<T, Fut>(&self, f: impl FnOnce() -> Fut + Send) -> Result<T>
    where
        T: Send,
        Fut: Future<Output = Result<T>>,
    {
        self.run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::io("build tokio runtime", e))?;
            rt.block_on(f())
        })?
    }

    fn dup(&self) -> Result<File> {
        self.file
            .try_clone()
            .map_err(|e| Error::io(format!("dup netns fd of {}", self.name), e))
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if self.delete_on_drop
            && let Err(e) = self.remove()
        {
            tracing::warn!(netns = %self.name, error = %e, "deleting network namespace failed");
        }
    }
}

/// Accepts what iproute2 accepts, minus surprises: 1–255 bytes, no `/`, no NUL, not `.`/`..`.
fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 255
        || name == "."
        || name == ".."
        || name.contains(['/', '\0'])
    {
        return Err(Error::Invalid(format!("network namespace name {name:?}")));
    }
    Ok(())
}

fn thread_name(ns: &str) -> String {
    // Linux keeps 15 bytes of a thread name; std truncates.
    format!("ns:{ns}")
}

/// Makes `/run/netns` exist and be a shared mount point, like iproute2's `netns_add`, so
/// namespace mounts propagate to mount namespaces created later (and `ip netns` agrees).
fn ensure_run_dir() -> Result<()> {
    static DONE: Mutex<bool> = Mutex::new(false);
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if *done {
        return Ok(());
    }
    let dir = Path::new(NETNS_RUN_DIR);
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| Error::io(format!("create {NETNS_RUN_DIR}"), e))?;
    let mut made_mount = false;
    loop {
        match mount(
            None::<&str>,
            dir,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => break,
            // Not a mount point yet: bind it onto itself, then retry.
            Err(Errno::EINVAL) if !made_mount => {
                mount(
                    Some(dir),
                    dir,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| Error::errno(format!("bind-mount {NETNS_RUN_DIR}"), e))?;
                made_mount = true;
            }
            Err(e) => return Err(Error::errno(format!("make {NETNS_RUN_DIR} shared"), e)),
        }
    }
    *done = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("tt-abc").is_ok());
        assert!(validate_name("cni-0b1f.x_y").is_ok());
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_name(&"x".repeat(256)).is_err());
    }
}
