//! `dns-suffix`, `dns-server-list`, `etc-hosts`: print from /etc/resolv.conf and /etc/hosts,
//! as upstream dns/dns.go and dns/common.go (Linux).

use crate::{Error, Result};

/// The `search` line's domains joined with commas, as upstream `GetDNSSuffixList`.
pub(crate) fn suffix_list(resolv_conf: &str) -> Option<String> {
    first_line_fields(resolv_conf, "search")
}

/// The first `nameserver` line's fields joined with commas, as upstream `getDNSServerList`.
pub(crate) fn server_list(resolv_conf: &str) -> Option<String> {
    first_line_fields(resolv_conf, "nameserver")
}

fn first_line_fields(text: &str, prefix: &str) -> Option<String> {
    text.split('\n')
        .find(|l| l.starts_with(prefix))
        .map(|l| l.split(' ').skip(1).collect::<Vec<_>>().join(","))
}

fn read(path: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        context: format!("open {path}"),
        source,
    })
}

/// Runs one of the three subcommands and returns what it prints.
pub(crate) fn run(cmd: &str) -> Result<String> {
    match cmd {
        "dns-suffix" => suffix_list(&read("/etc/resolv.conf")?)
            .ok_or_else(|| Error::Fatal("Could not find DNS search list!".to_string())),
        "dns-server-list" => server_list(&read("/etc/resolv.conf")?)
            .ok_or_else(|| Error::Fatal("Could not find DNS search list!".to_string())),
        _ => read("/etc/hosts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOLV: &str = "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n";

    #[test]
    fn lists_like_upstream() {
        assert_eq!(
            suffix_list(RESOLV).as_deref(),
            Some("default.svc.cluster.local,svc.cluster.local,cluster.local")
        );
        assert_eq!(server_list(RESOLV).as_deref(), Some("10.96.0.10"));
        assert_eq!(suffix_list("nameserver 1.1.1.1\n"), None);
    }
}
