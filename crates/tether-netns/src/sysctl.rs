//! Per-namespace `net.*` sysctls.
//!
//! `/proc/sys/net` shows the network namespace of the task that opens the file, so the
//! files are opened on a thread inside the namespace ([`NetNs::run`]).

use std::fs;
use std::path::PathBuf;

use crate::{Error, NetNs, Result};

/// Writes `value` to sysctl `key` inside `ns` (like `ip netns exec NS sysctl -w KEY=VALUE`).
///
/// `key` is dotted (`net.ipv4.ip_forward`, `net.ipv4.conf.all.route_localnet`) or, for
/// interface names that contain dots, slashed (`net/ipv4/conf/eth0.100/rp_filter`). Only
/// `net.*` keys are accepted: other sysctls are not per network namespace, and writing
/// them would change the whole machine.
pub fn sysctl(ns: &NetNs, key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key)?;
    ns.run(|| fs::write(&path, value))?
        .map_err(|e| Error::io(format!("sysctl {key}={value} in netns {:?}", ns.name()), e))
}

/// Reads sysctl `key` inside `ns`, trimmed (see [`sysctl`] for the key syntax).
pub fn read_sysctl(ns: &NetNs, key: &str) -> Result<String> {
    let path = sysctl_path(key)?;
    let value = ns
        .run(|| fs::read_to_string(&path))?
        .map_err(|e| Error::io(format!("sysctl {key} in netns {:?}", ns.name()), e))?;
    Ok(value.trim().to_owned())
}

fn sysctl_path(key: &str) -> Result<PathBuf> {
    let invalid = || Error::Invalid(format!("sysctl key {key:?}"));
    let parts: Vec<&str> = if key.contains('/') {
        key.split('/').collect()
    } else {
        key.split('.').collect()
    };
    if parts.first() != Some(&"net")
        || parts.len() < 2
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(invalid());
    }
    let mut path = PathBuf::from("/proc/sys");
    path.extend(parts);
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() -> Result<()> {
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward")?,
            PathBuf::from("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_path("net/ipv4/conf/eth0.100/rp_filter")?,
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/rp_filter")
        );
        for bad in [
            "",
            "net",
            "kernel.hostname",
            "vm.swappiness",
            "net..ipv4",
            "net/ipv4/../../kernel/hostname",
            "/net/ipv4/ip_forward",
        ] {
            assert!(sysctl_path(bad).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
