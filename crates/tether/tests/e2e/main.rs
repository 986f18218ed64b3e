//! End-to-end tests: the built `tether` binary driven by real clients (kubectl, etcd).
//!
//! Module map:
//! - `kubectl`: the kubectl workflows users run against Services (apply, create, expose, get,
//!   describe, edit, patch, label, delete, watch) and upstream's error messages.
//! - `versions`: the same core flow with every kubectl from 1.27 to 1.33.
//! - `clients`: the official client libraries unchanged: the Python `kubernetes` client (a script
//!   under `tests/clients/`) and kube-rs (CRUD, patches, server-side apply, watches, errors).
//! - `store`: restart on the same data, kill -9 durability, the etcd backend, two API servers
//!   on one etcd.
//! - `controllers`: garbage collection and namespace deletion.
//! - `api`: raw HTTP behaviour (401, 413, discovery, watch from a compacted revision).
//! - `pods`: pods that really run under `tether agent` in a node namespace (root): replicas,
//!   replacement, scaling, rolling update, probes, two containers, named ports, downward API,
//!   logs, image errors, restarts, agent restart.
//! - `dataplane`: Service traffic through the node's data plane (nftables, then userspace):
//!   ClusterIP, NodePort and LoadBalancer from a client namespace, UDP, affinity, no endpoints.
//! - `multinode`: two agents on a shared fabric: pod routes, Services and DNS across nodes.
//! - `dns`: cluster DNS answered to `dig` and `getent` inside pods, forwarding, following changes.
//! - `up`: `tether up` as a user runs it: the `kubernetes` Service's endpoint and its traffic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod clients;
mod controllers;
mod dataplane;
mod dns;
mod kubectl;
mod multinode;
mod pods;
mod store;
mod up;
mod versions;

use std::path::{Path, PathBuf};

use tether_testkit::{Kubectl, ServerOptions, TetherServer};

/// The `tether` binary under test.
pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tether"))
}

/// A fixture manifest.
pub(crate) fn fixture(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// A TLS server on the embedded store.
pub(crate) fn server() -> TetherServer {
    tether_testkit::trace_init();
    TetherServer::start(bin(), ServerOptions::default())
}

/// The default kubectl against `s`, or `None` (test skipped loudly) without kubectl.
pub(crate) fn kubectl(s: &TetherServer) -> Option<Kubectl> {
    Kubectl::new(&s.kubeconfig())
}

/// The header of `kubectl get services`.
pub(crate) const SVC_HEADER: [&str; 6] = [
    "NAME",
    "TYPE",
    "CLUSTER-IP",
    "EXTERNAL-IP",
    "PORT(S)",
    "AGE",
];

/// Rows of a `kubectl get` table, split on whitespace, header first.
pub(crate) fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The row whose first cell is `name`.
pub(crate) fn row<'a>(rows: &'a [Vec<String>], name: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r.first().is_some_and(|c| c == name))
        .unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}
