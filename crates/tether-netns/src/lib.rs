//! Linux network namespaces, veth pairs, bridges, addresses, routes and sysctls.
//!
//! This is the only tether crate allowed `unsafe` (every block carries a `// SAFETY:`
//! comment). The node agent builds its pod network with it, exactly like the CNI `bridge`
//! plugin with `host-local` IPAM does, and every test and benchmark builds its sandbox
//! topology with it.
//!
//! Newcomers start with [`NetNs`]: a named namespace under `/run/netns` (interoperable with
//! `ip netns`), removed on drop unless [`NetNs::persist`]ed. Code runs inside a namespace
//! only on threads this crate spawns ([`NetNs::run`], [`NetNs::spawn`]); the caller's thread
//! never changes namespace. Links, addresses and routes are configured over an rtnetlink
//! [`Handle`] whose socket was opened inside the namespace ([`NetNs::handle`]).
//! [`ensure_bridge`] and [`attach_pod`] are the CNI `bridge` plugin's ADD in two calls, and
//! [`command_in`] starts a pod process inside a namespace with its own hostname and
//! bind-mounted `/etc/resolv.conf` / `/etc/hosts`.
//!
//! Sockets remember the namespace they were created in: create a listener or connect a
//! stream inside [`NetNs::run`] and use it from any thread afterwards.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tether_netns::{NetNs, attach_pod, ensure_bridge};
//! let node = NetNs::create("tt-node")?;
//! let pod = NetNs::create("tt-pod")?;
//! let bridge = ensure_bridge(&node, "cni0", "10.244.1.1/24".parse()?).await?;
//! let veth = attach_pod(
//!     &node, bridge.name(), &pod, "eth0",
//!     "10.244.1.2/24".parse()?, bridge.gateway().addr(),
//! ).await?;
//! let listener = pod.run(|| std::net::TcpListener::bind("10.244.1.2:8080"))??;
//! # drop((veth, listener)); Ok(())
//! # }
//! ```

mod addr;
mod bridge;
mod error;
mod link;
mod netns;
mod route;
mod spawn;
mod sysctl;
pub mod testing;

pub use addr::{add_address, addresses, link_with_address};
pub use bridge::{Bridge, attach_pod, detach_pod, ensure_bridge};
pub use error::{Error, Result};
pub use link::{
    create_bridge, create_veth, create_veth_into, delete_link, hairpin, link_index,
    link_is_ethernet, move_link, set_down, set_hairpin, set_master, set_up,
};
pub use netns::{NETNS_RUN_DIR, NetNs};
pub use route::{
    GatewayRoute, TETHER_ROUTE_PROTO, add_gateway_route, add_route, delete_gateway_route,
    replace_local_route, tether_gateway_routes,
};
pub use rtnetlink::Handle;
pub use spawn::{SpawnOptions, command_in, output_in};
pub use sysctl::{read_sysctl, sysctl};

/// `ipnet`'s network type, re-exported because it appears in this crate's signatures.
pub use ipnet::IpNet;
