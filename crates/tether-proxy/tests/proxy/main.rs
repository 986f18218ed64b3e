//! Component tests of the userspace proxy on 127.0.0.1 (and one in a network namespace).
//!
//! - `tcp`: round trip, balancing per algorithm, affinity, refused/dead backends,
//!   backend and frontend removal with drain, half-close, terminating fallback, metrics.
//! - `udp`: round trip, balancing over client sockets, affinity, backend removal.
//! - `netns`: the pluggable bind puts a listener inside a namespace (root only).

mod netns;
mod support;
mod tcp;
mod udp;
