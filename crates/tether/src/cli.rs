//! Command-line flags (clap derive), parsed once.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Kubernetes Services, for real, in one binary.
#[derive(Debug, Parser)]
#[command(name = "tether", version, about)]
pub(crate) struct Cli {
    /// Log filter (tracing-subscriber EnvFilter syntax); RUST_LOG works too.
    #[arg(long, global = true)]
    pub(crate) log: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a whole single-node cluster on the embedded store.
    Up(ServerArgs),
    /// Run the API server (and controllers).
    Server(ServerArgs),
    /// Run a node agent: register the Node, run its pods.
    Agent(AgentArgs),
    /// The built-in agnhost test image (`netexec`, `serve-hostname`, `pause`, ...).
    #[command(disable_help_flag = true)]
    Agnhost {
        /// Subcommand and flags, as upstream's agnhost takes them.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// Flags of `tether agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// Kubeconfig to reach the API server.
    #[arg(long)]
    pub(crate) kubeconfig: PathBuf,
    /// The Node's name (default: the hostname).
    #[arg(long)]
    pub(crate) node_name: Option<String>,
    /// The node's InternalIP, an address in the node network namespace.
    #[arg(long, default_value_t = crate::agent::NODE_IP)]
    pub(crate) node_ip: std::net::IpAddr,
    /// The node's network namespace (under /run/netns): pods, bridge and rules go there.
    #[arg(long, default_value = crate::agent::NODE_NETNS)]
    pub(crate) netns: String,
    /// Create the node namespace (with the node address on its `lo`) when missing.
    #[arg(long)]
    pub(crate) create_netns: bool,
    /// Agent state: pod IPs, pod files, logs.
    #[arg(long, default_value = "/var/lib/tether/agent")]
    pub(crate) data_dir: PathBuf,
    /// Cluster CIDR (traffic leaving it is masqueraded).
    #[arg(long, default_value = "10.244.0.0/16")]
    pub(crate) cluster_cidr: ipnet::IpNet,
    /// Cluster DNS address written into pods' resolv.conf.
    #[arg(long, default_value = "10.96.0.10")]
    pub(crate) cluster_dns: std::net::IpAddr,
    /// Cluster domain.
    #[arg(long, default_value = "cluster.local")]
    pub(crate) cluster_domain: String,
    /// Where the agent serves container logs to the API server.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub(crate) logs_listen: SocketAddr,
    /// Upstream resolvers for names outside the cluster domain (default: this machine's
    /// /etc/resolv.conf).
    #[arg(long, value_delimiter = ',')]
    pub(crate) dns_upstream: Vec<SocketAddr>,
    /// Service CIDR (routed into the node's data plane).
    #[arg(long, default_value = "10.96.0.0/12")]
    pub(crate) service_cidr: ipnet::IpNet,
    /// Data plane: `nftables` (kernel, default) or `userspace` (the L4 proxy).
    #[arg(long, default_value = "nftables")]
    pub(crate) proxy_mode: ProxyMode,
    /// Serve every LoadBalancer Service's ports on this machine's 127.0.0.1 too (what
    /// `tether up` does, like Docker Desktop's `localhost` load balancer).
    #[arg(long)]
    pub(crate) localhost_lb: bool,
    /// Serve TCP ClusterIP connections from clients on the node address's subnet to pods
    /// on this node in `table netdev tether`, without conntrack, instead of the eBPF fast
    /// path (nftables mode). Off by default: measured no cheaper than conntrack
    /// (BENCHMARKS.md § 8c).
    #[arg(long, conflicts_with = "ebpf_fast_path")]
    pub(crate) netdev_fast_path: bool,
    /// The eBPF fast path, on by default in nftables mode: TCP ClusterIP connections from
    /// clients on the node address's subnet to pods on this node are served by two tcx
    /// programs before the IP stack, without conntrack or nftables; everything else stays on
    /// the nftables table. It needs `--node-ip` on a link with a subnet (not on `lo`, as in
    /// `tether up`) and Linux ≥ 6.6 (tcx). See BENCHMARKS.md § 8e. This flag is accepted
    /// for scripts that name it.
    #[arg(long, conflicts_with = "no_ebpf_fast_path")]
    pub(crate) ebpf_fast_path: bool,
    /// Turn the eBPF fast path off (every connection takes the nftables table); programs an
    /// earlier run left are detached.
    #[arg(long)]
    pub(crate) no_ebpf_fast_path: bool,
    /// Do not serve cluster DNS from this agent.
    #[arg(long)]
    pub(crate) no_dns: bool,
    /// Serve the agent's Prometheus metrics on this address (`/metrics`).
    #[arg(long)]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Stop this node's pods when the agent stops (default: they keep running and a restarted
    /// agent re-adopts them).
    #[arg(long)]
    pub(crate) cleanup_on_exit: bool,
}

/// Flags of `tether server` and `tether up`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// State directory: the store, the PKI and the admin kubeconfig (`DIR/kubeconfig`).
    #[arg(long, default_value = "/var/lib/tether")]
    pub(crate) data_dir: PathBuf,
    /// Address the API server listens on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    pub(crate) listen: SocketAddr,
    /// The address Pods reach the API server at, published (with the listen port) as the
    /// `kubernetes` Service's Endpoints and EndpointSlice. Default: the listen address
    /// unless it is loopback or unspecified; `tether up` publishes its node forwarder
    /// (10.255.0.2:6443 in the node namespace).
    #[arg(long)]
    pub(crate) advertise_address: Option<std::net::IpAddr>,
    /// etcd v3 endpoints (comma-separated); without it the embedded store under the data dir.
    #[arg(long, value_delimiter = ',')]
    pub(crate) etcd_endpoints: Vec<String>,
    /// Key prefix in etcd (lets clusters share one etcd).
    #[arg(long, default_value = "")]
    pub(crate) etcd_prefix: String,
    /// Service CIDRs, one per IP family, primary first (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "10.96.0.0/12")]
    pub(crate) service_cluster_ip_range: Vec<ipnet::IpNet>,
    /// Cluster CIDR: each node gets a podCIDR from it.
    #[arg(long, default_value = "10.244.0.0/16")]
    pub(crate) cluster_cidr: ipnet::IpNet,
    /// Prefix length of each node's podCIDR.
    #[arg(long, default_value_t = 24)]
    pub(crate) node_cidr_mask_size: u8,
    /// NodePort range.
    #[arg(long, default_value = "30000-32767")]
    pub(crate) service_node_port_range: String,
    /// Serve plain HTTP with no authentication. FOR TESTS ONLY: anyone who can reach the port
    /// controls the cluster.
    #[arg(long)]
    pub(crate) insecure_plain_http: bool,
    /// Extra names or addresses for the serving certificate.
    #[arg(long, value_delimiter = ',')]
    pub(crate) tls_san: Vec<String>,
    /// LoadBalancer addresses come from this pool (default: the Ready nodes' addresses;
    /// `tether up`: `localhost`).
    #[arg(long)]
    pub(crate) lb_pool: Option<ipnet::IpNet>,
    /// Seconds between store compactions.
    #[arg(long, default_value_t = 300)]
    pub(crate) compaction_interval_seconds: u64,
}

/// Which data plane forwards Service traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProxyMode {
    /// nftables rules in the kernel (kube-proxy's nftables mode).
    Nftables,
    /// The userspace L4 proxy.
    Userspace,
}
