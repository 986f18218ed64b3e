//! The pod network, as the CNI `bridge` plugin with `host-local` IPAM builds it: a bridge in
//! the node's network namespace holding the gateway (first address of the podCIDR), a
//! namespace per pod joined by a veth with hairpin mode, IP forwarding, masquerade of traffic
//! leaving the cluster CIDR, and routes to other nodes' podCIDRs via their InternalIPs (the
//! flannel `host-gw` idea).

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;
use tether_netns::NetNs;

use crate::ipam::Ipam;

/// Network errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Namespace/link/address work failed.
    #[error("{0}")]
    Netns(#[from] tether_netns::Error),
    /// IPAM failed.
    #[error("{0}")]
    Ipam(#[from] crate::ipam::Error),
    /// nft failed.
    #[error("nft: {0}")]
    Nft(String),
}

/// The node's pod network.
#[derive(Debug)]
pub struct Network {
    node: Arc<NetNs>,
    bridge: String,
    ipam: Ipam,
}

/// A pod's network sandbox.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Sandbox {
    /// The pod's network namespace name (under /run/netns).
    pub netns: String,
    /// The pod IP.
    pub ip: IpAddr,
}

impl Sandbox {
    /// The namespace file.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(tether_netns::NETNS_RUN_DIR).join(&self.netns)
    }
}

/// The name of a pod's namespace: short and stable (interface names and paths stay small).
pub fn netns_name(uid: &str) -> String {
    let short: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("tp-{short}")
}

/// Applies an nft script in the node namespace (one transaction).
async fn run_nft(node: &NetNs, script: String) -> Result<(), Error> {
    let opts = tether_netns::SpawnOptions::new(node);
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new("nft");
        cmd.args(["-f", "-"]);
        tether_netns::output_in(&opts, cmd, script.as_bytes())
    })
    .await
    .map_err(|e| Error::Nft(e.to_string()))??;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Nft(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

impl Network {
    /// Sets up the bridge and masquerade in `node` for `pod_cidr`.
    pub async fn setup(
        node: NetNs,
        bridge: &str,
        pod_cidr: IpNet,
        cluster_cidr: IpNet,
        state_dir: PathBuf,
    ) -> Result<Self, Error> {
        let ipam = Ipam::new(state_dir, pod_cidr)?;
        let gw = ipam.with_prefix(ipam.gateway());
        tether_netns::ensure_bridge(&node, bridge, gw).await?;
        // Masquerade what leaves the cluster network (the bridge plugin's ipMasq), in a table
        // of our own.
        let family = if pod_cidr.addr().is_ipv4() {
            "ip"
        } else {
            "ip6"
        };
        let script = format!(
            "table {family} tether-cni {{}}\ndelete table {family} tether-cni\n\
             table {family} tether-cni {{\n\
               chain postrouting {{\n\
                 type nat hook postrouting priority srcnat; policy accept;\n\
                 {family} saddr {pod_cidr} {family} daddr != {cluster_cidr} {family} daddr != 224.0.0.0/4 masquerade\n\
               }}\n\
             }}\n"
        );
        run_nft(&node, script).await?;
        Ok(Self {
            node: Arc::new(node),
            bridge: bridge.to_owned(),
            ipam,
        })
    }

    /// The node namespace.
    pub fn node(&self) -> &NetNs {
        &self.node
    }

    /// The pods' bridge.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// The node namespace, shared.
    pub fn node_arc(&self) -> Arc<NetNs> {
        self.node.clone()
    }

    /// Connects from the node's namespace (probes, log relays).
    pub fn dialer(&self) -> NodeDialer {
        NodeDialer {
            ns: self.node.clone(),
        }
    }

    /// This node's podCIDR.
    pub fn pod_cidr(&self) -> IpNet {
        self.ipam.subnet()
    }

    /// The gateway address on the bridge.
    pub fn gateway(&self) -> IpAddr {
        self.ipam.gateway()
    }

    /// Creates (or re-creates) a pod's sandbox: namespace, veth into the bridge, address.
    pub async fn create_sandbox(&self, uid: &str) -> Result<Sandbox, Error> {
        let name = netns_name(uid);
        // A leftover namespace from a crash is replaced.
        if let Ok(old) = NetNs::open(&name) {
            let _ = old.delete();
        }
        let ns = NetNs::create(&name)?.persist();
        let ip = self.ipam.allocate(uid)?;
        let addr = self.ipam.with_prefix(ip);
        if let Err(e) =
            tether_netns::attach_pod(&self.node, &self.bridge, &ns, "eth0", addr, self.gateway())
                .await
        {
            self.ipam.release(uid);
            let _ = ns.delete();
            return Err(e.into());
        }
        tracing::info!(netns = name, %ip, "pod sandbox ready");
        Ok(Sandbox { netns: name, ip })
    }

    /// Removes a pod's sandbox and frees its address.
    pub fn destroy_sandbox(&self, uid: &str) {
        let name = netns_name(uid);
        if let Ok(ns) = NetNs::open(&name) {
            // Deleting the namespace deletes its veth end, and with it the host end.
            if let Err(e) = ns.delete() {
                tracing::warn!(netns = name, error = %e, "deleting pod netns failed");
            }
        }
        self.ipam.release(uid);
    }
}

/// Opens TCP connections from inside the node's network namespace.
#[derive(Debug, Clone)]
pub struct NodeDialer {
    ns: Arc<NetNs>,
}

impl NodeDialer {
    /// Connects to `addr` (1 s connect timeout) from the node's namespace.
    pub async fn connect(
        &self,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<tokio::net::TcpStream> {
        let ns = self.ns.clone();
        let std = tokio::task::spawn_blocking(move || {
            ns.run(|| {
                std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
            })
            .map_err(std::io::Error::other)?
        })
        .await
        .map_err(std::io::Error::other)??;
        std.set_nonblocking(true)?;
        tokio::net::TcpStream::from_std(std)
    }
}
