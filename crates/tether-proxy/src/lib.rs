//! Userspace data plane: a tokio L4 proxy for TCP and UDP with balancing, passive health,
//! ClientIP affinity and graceful drain — the seeds' "userland proxy".
//!
//! Newcomers start with [`Proxy`]: build it from a [`Config`], hand [`Proxy::sync`] the
//! complete set of [`Frontend`]s (a listen address, a protocol, [`Backend`]s) whenever it
//! changes, and call [`Proxy::shutdown`] at the end. The crate knows nothing of Services:
//! the binary maps each Service port onto a [`Frontend`].
//!
//! How a TCP connection is handled (`tcp.rs`):
//!
//! 1. The frontend's backend table (swapped whole on every sync, read without locks) gives
//!    the eligible backends: the ready ones, or the terminating-but-serving ones when none
//!    is ready.
//! 2. [`balance`] orders them ([`Algorithm::PowerOfTwoChoices`] by default; the module docs
//!    say why), the ClientIP-affinity backend goes first, ejected backends last.
//! 3. Backends are tried in that order (at most [`Config::max_connect_attempts`], each
//!    within [`Config::connect_timeout`]); a refused or timed-out connect ejects the
//!    backend for an exponential back-off (1 s → 30 s) and the next one is tried, so the
//!    client never notices. When none answers, the client is reset (`SO_LINGER` 0) at once.
//! 4. Bytes flow with `splice(2)` through a pipe per direction (zero copy), FIN is passed
//!    on per direction (half-close), an error or RST on either side resets both.
//!
//! UDP (`udp.rs`) keeps a flow per client address with its own connected upstream socket;
//! replies leave from the frontend socket; flows expire after [`Config::udp_idle_timeout`].
//! A backend that answers with ICMP port unreachable is ejected and the flow's first
//! datagram is resent to another backend.
//!
//! Sockets: listeners are bound by [`Config::bind`] (pluggable, e.g. inside a network
//! namespace); connections and flows to backends are opened in the proxy's own namespace.
//! `splice(2)` into a reset peer raises `SIGPIPE`; Rust binaries ignore it by default,
//! so the error arrives as `EPIPE` — a host process must not restore `SIG_DFL`.
//!
//! Removed backends and frontends drain: new connections go elsewhere at once, established
//! TCP connections get [`Config::drain_timeout`] before they are reset.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tether_proxy::Error> {
//! use tether_proxy::{Backend, Config, Frontend, Protocol, Proxy};
//! let proxy = Proxy::new(Config::default());
//! proxy
//!     .sync(vec![Frontend {
//!         listen: "127.0.0.1:8080".parse().expect("addr"),
//!         protocol: Protocol::Tcp,
//!         backends: vec![Backend::new("10.244.1.5:80".parse().expect("addr"))],
//!         affinity: None,
//!         name: "default/web:http".into(),
//!     }])
//!     .await?;
//! proxy.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod balance;
mod endpoint;
mod error;
mod forward;
mod frontend;
mod metrics;
mod model;
mod proxy;
mod runtimes;
mod tcp;
mod udp;

pub use balance::Algorithm;
pub use error::{Error, Result};
pub use model::{Backend, BindFn, BoundSocket, Config, Frontend, Protocol, bind};
pub use proxy::Proxy;
pub use runtimes::{RuntimeThreads, ThreadJob};
