//! Containers as processes: started in the pod's network namespace with a private mount and
//! UTS namespace (the pod's `/etc/resolv.conf`, `/etc/hosts` and hostname), their output
//! appended to a log file per container and restart, in their own process group so that they
//! outlive an agent restart (the agent re-adopts them).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::images::Program;

/// How to start one container process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The tether binary (for the built-in agnhost).
    pub exe: PathBuf,
    /// What to run.
    pub program: Program,
    /// Environment (complete: nothing is inherited from the agent).
    pub env: Vec<(String, String)>,
    /// `workingDir`.
    pub working_dir: Option<String>,
    /// The pod's network namespace file.
    pub netns: PathBuf,
    /// The pod's hostname.
    pub hostname: String,
    /// Files bind-mounted into the container (`resolv.conf`, `hosts`).
    pub bind_files: Vec<(PathBuf, PathBuf)>,
    /// Where stdout and stderr go.
    pub log: PathBuf,
}

/// Starts a container process.
pub fn start(l: &Launch) -> std::io::Result<tokio::process::Child> {
    let mut cmd = match &l.program {
        Program::Agnhost(args) => {
            let mut c = std::process::Command::new(&l.exe);
            c.arg("agnhost").args(args);
            c
        }
        Program::Host(argv) => {
            let (first, rest) = argv.split_first().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command")
            })?;
            let mut c = std::process::Command::new(first);
            c.args(rest);
            c
        }
    };
    cmd.env_clear();
    for (k, v) in &l.env {
        cmd.env(k, v);
    }
    if let Some(w) = l.working_dir.as_ref().filter(|w| !w.is_empty()) {
        cmd.current_dir(w);
    }
    if let Some(parent) = l.log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&l.log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    {
        use std::os::unix::process::CommandExt;
        // Own process group: a Ctrl-C or SIGTERM to the agent's group does not reach pods.
        cmd.process_group(0);
    }
    let opts = tether_netns::SpawnOptions {
        netns: l.netns.clone(),
        hostname: Some(l.hostname.clone()),
        bind_files: l.bind_files.clone(),
    };
    tether_netns::command_in(&opts, &mut cmd).map_err(std::io::Error::other)?;
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(false);
    cmd.spawn()
}

/// Sends a signal to a container's process group (it leads its own group) and to the process.
pub fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let p = nix::unistd::Pid::from_raw(raw);
    let _ = nix::sys::signal::killpg(p, sig);
    let _ = nix::sys::signal::kill(p, sig);
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// The start time of a process in clock ticks since boot (to tell a PID reused by another
/// process from ours).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// The pod's `/etc/resolv.conf` (ClusterFirst: cluster DNS and the upstream search list) and
/// `/etc/hosts`, written under `dir`.
pub fn write_pod_files(
    dir: &Path,
    namespace: &str,
    hostname: &str,
    ip: std::net::IpAddr,
    dns: Option<(std::net::IpAddr, &str)>,
    fqdn: Option<&str>,
) -> std::io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let resolv = dir.join("resolv.conf");
    let hosts = dir.join("hosts");
    let text = match dns {
        Some((server, domain)) => format!(
            "search {namespace}.svc.{domain} svc.{domain} {domain}\nnameserver {server}\noptions ndots:5\n"
        ),
        None => std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
    };
    std::fs::write(&resolv, text)?;
    let mut h = String::from(
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    match fqdn {
        Some(f) => h.push_str(&format!("{ip}\t{f}\t{hostname}\n")),
        None => h.push_str(&format!("{ip}\t{hostname}\n")),
    }
    std::fs::write(&hosts, h)?;
    Ok((resolv, hosts))
}
