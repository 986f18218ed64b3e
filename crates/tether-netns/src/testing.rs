//! Helpers for tests and benchmarks that build namespace topologies.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};

/// Whether the process may create namespaces (runs as root). When not, writes a loud banner
/// to stderr (past the test harness's output capture) and returns `false` so the test can
/// return early, except under `CI=true`, where a skip would hide lost coverage and this
/// panics instead.
///
/// ```no_run
/// # fn t() {
/// if !tether_netns::testing::require_root() {
///     return;
/// }
/// # }
/// ```
pub fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let msg = "network namespace tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}; CI=true forbids skipping");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`, and a skip
    // must be seen.
    let banner = format!(
        "\n{line}\n## SKIPPED: {msg}\n{line}\n\n",
        line = "#".repeat(72)
    );
    let _ = std::io::stderr().lock().write_all(banner.as_bytes());
    false
}

/// `prefix` followed by 8 random hex digits, e.g. `unique_name("tt-")` → `tt-3fa9c01e`;
/// short enough for interface names with a prefix of up to 7 bytes.
pub fn unique_name(prefix: &str) -> String {
    let mut name = prefix.to_owned();
    for byte in random_bytes::<4>() {
        let _ = write!(name, "{byte:02x}");
    }
    name
}

/// Random bytes from the kernel (falls back to time- and counter-derived bytes if
/// `/dev/urandom` cannot be read, which only weakens uniqueness).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        use std::hash::{BuildHasher, RandomState};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let seed = RandomState::new().hash_one((
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now(),
        ));
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed.rotate_left(8 * (i as u32 % 8)) as u8;
        }
    }
    buf
}
