//! Allocation math: choose free ClusterIPs, NodePorts, podCIDRs and LoadBalancer addresses.
//!
//! Pure: no I/O. Each allocator is a [`Bitmap`] over offsets `0..size` with upstream's
//! static/dynamic split (KEP-3070 for ClusterIPs, KEP-3668 for NodePorts): the lowest `band`
//! offsets are left for explicit requests, and dynamic allocation takes a random free offset
//! from the upper part first, scanning forward with wrap-around, and only falls back to the
//! lower band when the upper one is full. Durability and cross-server uniqueness are not here:
//! the API server reserves every chosen value with a compare-and-swap in the store; these
//! bitmaps are its fast local view.
//!
//! Entry points: [`IpRange`], [`PortRange`], [`SubnetRange`].

mod bitmap;
mod ip;
mod ports;
mod subnets;

pub use bitmap::Bitmap;
pub use ip::IpRange;
pub use ports::PortRange;
pub use subnets::SubnetRange;

/// Why an allocation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The value lies outside the range.
    #[error("provided {what} is not in the valid range")]
    OutOfRange {
        /// "IP", "port" or "subnet".
        what: &'static str,
    },
    /// The value is already taken.
    #[error("provided {what} is already allocated")]
    Allocated {
        /// "IP", "port" or "subnet".
        what: &'static str,
    },
    /// Nothing is free.
    #[error("range is full")]
    Full,
    /// The range could not be built.
    #[error("invalid range: {0}")]
    InvalidRange(String),
}
