//! Starting processes inside a network namespace (the pod runtime's "container").
//!
//! [`command_in`] configures a [`Command`] so that the child, between `fork` and `exec`,
//! enters the pod's network namespace and, when asked, a fresh mount namespace (for
//! per-pod `/etc/resolv.conf` and `/etc/hosts` bind mounts) and UTS namespace (for the pod's
//! hostname). The parent process and its threads are never moved.

use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, setns, unshare};
use nix::unistd::sethostname;

use crate::{Error, NetNs, Result};

/// Where and how a process started with [`command_in`] runs.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// The network namespace file to join, e.g. `/run/netns/NAME` ([`NetNs::path`]).
    pub netns: PathBuf,
    /// A hostname for the process, set in a new UTS namespace (`None`: the host's).
    pub hostname: Option<String>,
    /// `(source, target)` bind mounts made in a new mount namespace, e.g. a generated
    /// resolv.conf onto `/etc/resolv.conf`. Both must exist. The mount namespace is a
    /// recursive slave of the host's, so these mounts never appear on the host.
    pub bind_files: Vec<(PathBuf, PathBuf)>,
}

impl SpawnOptions {
    /// Options that only join `ns`.
    pub fn new(ns: &NetNs) -> Self {
        Self {
            netns: ns.path().to_path_buf(),
            ..Self::default()
        }
    }

    /// Sets [`hostname`](Self::hostname).
    #[must_use]
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// Adds a bind mount of `source` onto `target` (see [`bind_files`](Self::bind_files)).
    #[must_use]
    pub fn bind_file(mut self, source: impl Into<PathBuf>, target: impl Into<PathBuf>) -> Self {
        self.bind_files.push((source.into(), target.into()));
        self
    }
}

/// Configures `cmd` to run inside the namespaces described by `opts`.
///
/// Everything that can fail is checked here (the namespace file opens, hostname length,
/// bind sources and targets exist); the child only makes system calls. Spawning then fails
/// with the child's errno if entering a namespace or mounting fails. Needs
/// `CAP_SYS_ADMIN`. Any `pre_exec` hooks added before or after run in order with this one.
pub fn command_in(opts: &SpawnOptions, cmd: &mut Command) -> Result<()> {
    let netns = File::open(&opts.netns)
        .map_err(|e| Error::io(format!("network namespace {}", opts.netns.display()), e))?;

    let hostname = match &opts.hostname {
        Some(h) if h.is_empty() || h.len() > 64 || h.contains('\0') => {
            return Err(Error::Invalid(format!("hostname {h:?}")));
        }
        other => other.clone(),
    };

    let mut binds = Vec::with_capacity(opts.bind_files.len());
    for (source, target) in &opts.bind_files {
        for path in [source, target] {
            path.metadata()
                .map_err(|e| Error::io(format!("bind mount path {}", path.display()), e))?;
        }
        binds.push((c_path(source)?, c_path(target)?));
    }

    let mut unshare_flags = CloneFlags::empty();
    if hostname.is_some() {
        unshare_flags |= CloneFlags::CLONE_NEWUTS;
    }
    if !binds.is_empty() {
        unshare_flags |= CloneFlags::CLONE_NEWNS;
    }

    let child_setup = move || -> std::io::Result<()> {
        setns(&netns, CloneFlags::CLONE_NEWNET)?;
        if !unshare_flags.is_empty() {
            unshare(unshare_flags)?;
        }
        if !binds.is_empty() {
            // Stop mount events from propagating back to the host before mounting.
            mount(
                None::<&std::ffi::CStr>,
                c"/",
                None::<&std::ffi::CStr>,
                MsFlags::MS_REC | MsFlags::MS_SLAVE,
                None::<&std::ffi::CStr>,
            )?;
            for (source, target) in &binds {
                mount(
                    Some(source.as_c_str()),
                    target.as_c_str(),
                    None::<&std::ffi::CStr>,
                    MsFlags::MS_BIND,
                    None::<&std::ffi::CStr>,
                )?;
            }
        }
        if let Some(hostname) = &hostname {
            sethostname(hostname)?;
        }
        Ok(())
    };

    // SAFETY: the hook runs in the forked child of a possibly multi-threaded parent, where
    // only async-signal-safe operations are allowed. It only issues system calls (setns,
    // unshare, mount, sethostname) on data prepared above (an open fd, C strings, a
    // String), does not allocate (nix passes `&CStr` through and `sethostname` borrows the
    // bytes; errors are `io::Error::from_raw_os_error`, which does not allocate) and takes
    // no locks.
    unsafe {
        cmd.pre_exec(child_setup);
    }
    Ok(())
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::Invalid(format!("path {} contains NUL", path.display())))
}

/// Runs `cmd` to completion inside the namespaces of `opts`, feeding it `stdin`, and returns
/// its output (status, stdout, stderr). For short configuration commands such as
/// `nft -f -` run inside a node's namespace.
pub fn output_in(
    opts: &SpawnOptions,
    mut cmd: Command,
    stdin: &[u8],
) -> Result<std::process::Output> {
    use std::io::Write as _;
    use std::process::Stdio;
    command_in(opts, &mut cmd)?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("spawn {program}"), e))?;
    if let Some(mut input) = child.stdin.take() {
        // A write error means the program exited early; its status and stderr say why.
        let _ = input.write_all(stdin);
    }
    child
        .wait_with_output()
        .map_err(|e| Error::io(format!("wait for {program}"), e))
}
