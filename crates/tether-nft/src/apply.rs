//! Applying rendered scripts inside the node's network namespace, one atomic transaction
//! per sync (through an in-process libnftables context, or `nft -f -`), and the
//! [`Proxier`] that decides full vs incremental.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tether_libnft::LibNft;

use tether_netns::{NetNs, SpawnOptions, command_in};
use tether_servicemap::{ServiceMap, apply, changes};

use crate::metrics::Metrics;
use crate::render::{self, Rendered};
use crate::{Config, Error, conntrack};

/// Scripts at least this large go to the `nft` program even when the library is loaded.
const LARGE_SCRIPT: usize = 1 << 20;

/// Runs nftables scripts and commands in a network namespace.
///
/// Scripts ([`apply`](Self::apply)) go through a libnftables context opened on first use
/// and kept for the life of the runner (shared by its clones): no process start per sync,
/// and its netlink socket is never closed after a transaction that deleted something
/// (closing waits out an RCU grace period in the kernel). Without the library, for scripts
/// of [`LARGE_SCRIPT`] bytes or more, and for listings ([`run`](Self::run)), the `nft`
/// program runs.
#[derive(Debug, Clone)]
pub struct Nft {
    netns: Option<PathBuf>,
    table: String,
    program: PathBuf,
    use_library: bool,
    /// The context, once opened; `Some(None)` after a failed open (the program is used).
    library: Arc<OnceLock<Option<LibNft>>>,
}

impl Nft {
    /// A runner for namespace file `netns` (`None`: the caller's namespace) and table
    /// `ip <table>`, using libnftables when it can be loaded.
    pub fn new(netns: Option<PathBuf>, table: &str) -> Self {
        Self {
            netns,
            table: table.to_owned(),
            program: PathBuf::from("nft"),
            use_library: true,
            library: Arc::default(),
        }
    }

    /// Whether scripts may go through libnftables (`false`: always the `nft` program).
    #[must_use]
    pub fn with_library(mut self, use_library: bool) -> Self {
        self.use_library = use_library;
        self
    }

    /// The libnftables context, opened on first call; `None` when disabled or unavailable.
    fn library(&self) -> Option<&LibNft> {
        if !self.use_library {
            return None;
        }
        self.library
            .get_or_init(|| match LibNft::open(self.netns.as_deref()) {
                Ok(lib) => Some(lib),
                Err(e) => {
                    tracing::warn!(error = %e, "libnftables unavailable; running `nft -f -` per sync");
                    None
                }
            })
            .as_ref()
    }

    /// The namespace file this runner enters, if any.
    pub fn netns(&self) -> Option<&Path> {
        self.netns.as_deref()
    }

    fn command(&self) -> Result<Command, Error> {
        let mut cmd = Command::new(&self.program);
        if let Some(ns) = &self.netns {
            command_in(
                &SpawnOptions {
                    netns: ns.clone(),
                    ..SpawnOptions::default()
                },
                &mut cmd,
            )?;
        }
        Ok(cmd)
    }

    /// Applies `script` as one transaction: all of it or nothing. Scripts of
    /// [`LARGE_SCRIPT`] bytes or more (full syncs of big tables) run in a fresh `nft`
    /// process: measured faster than in this process at 50k Services (7.1 s against 10.2 s),
    /// and the hundreds of MB libnftables allocates for them go back with the process.
    pub fn apply(&self, script: &str) -> Result<(), Error> {
        if script.len() < LARGE_SCRIPT
            && let Some(lib) = self.library()
        {
            return match lib.run(script) {
                Ok(_) => Ok(()),
                Err(tether_libnft::Error::Rejected(stderr)) => Err(Error::Nft {
                    status: "libnftables".to_owned(),
                    stderr,
                }),
                Err(e) => Err(Error::Library(e)),
            };
        }
        self.apply_with_program(script)
    }

    /// Applies `script` with `nft -f -`.
    fn apply_with_program(&self, script: &str) -> Result<(), Error> {
        let mut cmd = self.command()?;
        cmd.args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawn = |source| Error::Spawn {
            program: "nft",
            source,
        };
        let mut child = cmd.spawn().map_err(spawn)?;
        if let Some(mut stdin) = child.stdin.take() {
            // A write error means nft exited early; its status and stderr say why.
            let _ = stdin.write_all(script.as_bytes());
        }
        let out = child.wait_with_output().map_err(spawn)?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::Nft {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// Runs `nft ARGS…` and returns its stdout.
    pub fn run(&self, args: &[&str]) -> Result<String, Error> {
        let mut cmd = self.command()?;
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| Error::Spawn {
                program: "nft",
                source,
            })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(Error::Nft {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    /// `nft list table ip <table>`.
    pub fn list_table(&self) -> Result<String, Error> {
        self.run(&["list", "table", "ip", &self.table])
    }

    /// `nft -j list table ip <table>` (JSON).
    pub fn list_table_json(&self) -> Result<String, Error> {
        self.run(&["-j", "list", "table", "ip", &self.table])
    }

    /// Whether `table ip <table>` exists (one netlink request: `nft list tables` reads
    /// every element of every set first).
    pub fn table_exists(&self) -> Result<bool, Error> {
        crate::netlink::table_exists(self.netns.as_deref(), &self.table)
    }

    /// The value of element `key` (script syntax, e.g. `10.96.0.50 . tcp . 80 . 0`) of one of
    /// the sets or maps the full sync writes by netlink (`fast-endpoints-<n>`,
    /// `cluster-ips`, `fast-hairpin`), encoded as the kernel holds it (empty for a set);
    /// `None` when absent. One netlink lookup, not a listing: cheap at any table size. For
    /// many lookups, [`element_reader`](Self::element_reader).
    pub fn element(&self, set: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.element_reader()?.get(set, key)
    }

    /// A reader for [`element`](Self::element) lookups that opens its netlink socket in the
    /// namespace once (benchmarks poll it to see when a change reached the kernel).
    pub fn element_reader(&self) -> Result<ElementReader, Error> {
        Ok(ElementReader(crate::netlink::Lookup::open(
            self.netns.as_deref(),
            &self.table,
        )?))
    }

    /// `value` (script syntax, e.g. `10.244.1.5 . 8080`) encoded as the values of `set` are,
    /// to compare with [`element`](Self::element).
    pub fn encode_value(set: &str, value: &str) -> Option<Vec<u8>> {
        crate::netlink::encode_value(set, value)
    }

    /// Removes our tables (`ip` and the fast path's `netdev`, and only them), if present.
    pub fn delete_table(&self) -> Result<(), Error> {
        let (t, n) = (
            format!("ip {}", self.table),
            format!("netdev {}", self.table),
        );
        self.apply(&format!(
            "add table {t}\ndelete table {t}\nadd table {n}\ndelete table {n}\n"
        ))
    }
}

/// Single-element lookups over one netlink socket (see [`Nft::element_reader`]).
#[derive(Debug)]
pub struct ElementReader(crate::netlink::Lookup);

impl ElementReader {
    /// See [`Nft::element`].
    pub fn get(&self, set: &str, key: &str) -> Result<Option<Vec<u8>>, Error> {
        self.0.get(set, key)
    }
}

/// How a sync was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncKind {
    /// The table was replaced.
    Full,
    /// Only the changed ports were applied (`n` of them).
    Incremental(usize),
    /// Nothing changed.
    Unchanged,
}

/// Keeps `table ip tether` equal to the rendering of the latest [`ServiceMap`]
/// (upstream `Proxier.syncProxyRules`).
#[derive(Debug)]
pub struct Proxier {
    cfg: Config,
    nft: Nft,
    /// What the kernel holds, when known; `None` forces a full sync.
    state: Option<Rendered>,
    /// The map last applied (diffed against the next one, and for conntrack cleanup).
    last: ServiceMap,
    /// Whether a sync has succeeded yet (no conntrack cleanup before the first).
    applied_once: bool,
    /// Full loads whose map elements went as a netlink batch.
    netlink_loads: u64,
    /// What the netdev fast path's table holds, when known; `None` forces its full sync.
    netdev: Option<crate::netdev::State>,
    metrics: Option<Metrics>,
}

impl Proxier {
    /// A proxier for `cfg`; the first [`sync`](Self::sync) is a full one.
    pub fn new(cfg: Config) -> Self {
        let nft = Nft::new(cfg.netns.clone(), &cfg.table).with_library(cfg.nft_library);
        Self {
            cfg,
            nft,
            state: None,
            last: ServiceMap::new(),
            applied_once: false,
            netlink_loads: 0,
            netdev: None,
            metrics: None,
        }
    }

    /// Records sync durations and counts in `metrics`.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Option<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// The `nft` runner (for listing and cleanup).
    pub fn nft(&self) -> &Nft {
        &self.nft
    }

    /// How many full loads wrote their map elements as a netlink batch.
    pub fn netlink_loads(&self) -> u64 {
        self.netlink_loads
    }

    /// Makes the next sync a full one.
    pub fn force_full(&mut self) {
        self.state = None;
        self.netdev = None;
    }

    /// What the netdev fast path holds (`None` before its first sync or after a failure).
    pub fn netdev_state(&self) -> Option<&crate::netdev::State> {
        self.netdev.as_ref()
    }

    /// Brings the table in line with `map`: a full sync the first time and after any
    /// failure, otherwise only the ports that changed since the last successful sync (an
    /// incremental failure falls back to a full sync at once). Then clears stale UDP
    /// conntrack entries.
    pub fn sync(&mut self, map: &ServiceMap) -> Result<SyncKind, Error> {
        let start = Instant::now();
        let updates = changes(&self.last, map);
        let result = self
            .sync_inner(map, &updates)
            .and_then(|kind| self.sync_netdev_or_remove(map, &updates).map(|()| kind));
        let elapsed = start.elapsed();
        if let Some(m) = &self.metrics {
            m.observe(&result, elapsed);
        }
        match &result {
            Ok(kind) => {
                tracing::debug!(?kind, ?elapsed, ports = map.len(), "nftables sync");
                if self.applied_once {
                    conntrack::clear_stale_udp(self.nft.netns(), &self.last, &updates);
                }
                self.applied_once = true;
                // Advance by the changes alone (no copy of the whole map per sync).
                apply(&mut self.last, &updates);
            }
            Err(e) => tracing::warn!(error = %e, ?elapsed, "nftables sync failed"),
        }
        result
    }

    fn sync_inner(
        &mut self,
        map: &ServiceMap,
        updates: &[tether_servicemap::Update],
    ) -> Result<SyncKind, Error> {
        if let Some(state) = self.state.as_mut() {
            if updates.is_empty() {
                return Ok(SyncKind::Unchanged);
            }
            match render::incremental(&self.cfg, state, updates) {
                Ok(script) => match self.nft.apply(&script) {
                    Ok(()) => return Ok(SyncKind::Incremental(updates.len())),
                    Err(e) => {
                        tracing::warn!(error = %e, "incremental nftables sync failed; doing a full sync");
                    }
                },
                Err(e) => tracing::debug!(reason = %e, "full sync needed"),
            }
            self.state = None;
        }
        if self.cfg.netlink_elements {
            match self.load_split(map) {
                Ok(state) => {
                    self.state = Some(state);
                    self.netlink_loads += 1;
                    return Ok(SyncKind::Full);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "netlink element load failed; loading the whole table as one script");
                }
            }
        }
        let (script, state) = render::full(&self.cfg, map);
        self.nft.apply(&script)?;
        self.state = Some(state);
        Ok(SyncKind::Full)
    }
}

impl Proxier {
    /// [`sync_netdev`](Self::sync_netdev); when it fails, the netdev table is removed and
    /// the next sync is a full one. Established fast connections then break (their packets
    /// meet conntrack mid-stream); new ones take the `ip` table. Only a failure to remove
    /// the table fails the sync (and so is retried).
    fn sync_netdev_or_remove(
        &mut self,
        map: &ServiceMap,
        updates: &[tether_servicemap::Update],
    ) -> Result<(), Error> {
        let Err(e) = self.sync_netdev(map, updates) else {
            return Ok(());
        };
        tracing::error!(error = %e, "netdev fast path failed; removing it until the next change");
        self.netdev = None;
        let t = format!("netdev {}", self.cfg.table);
        self.nft
            .apply(&format!("add table {t}\ndelete table {t}\n"))
    }

    /// The pods' veths to hook: the bridge's ports now, or (when they cannot be read) the
    /// ones `hooked` before; none without the fast path.
    fn bridge_ports(&self, hooked: Option<&crate::netdev::State>) -> BTreeSet<String> {
        let Some(d) = &self.cfg.netdev else {
            return BTreeSet::new();
        };
        crate::ports::bridge_ports(self.cfg.netns.as_deref(), &d.bridge)
            .map(|ports| ports.into_keys().collect())
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading the bridge's ports; keeping the hooked ones");
                hooked.map(|s| s.hooked().clone()).unwrap_or_default()
            })
    }

    /// Brings the netdev fast path's table in line: a full sync the first time and after a
    /// failure (which keeps the live table's flow maps, and drops draining ports), otherwise
    /// `updates` alone. A failed incremental is followed by a full sync on the bridge's
    /// ports read again (a veth may have gone in between); a failed full sync is retried
    /// once with the table replaced (its flows lost).
    fn sync_netdev(
        &mut self,
        map: &ServiceMap,
        updates: &[tether_servicemap::Update],
    ) -> Result<(), Error> {
        let table = &self.cfg.table;
        if let Some(mut state) = self.netdev.take() {
            let Some(devices) = &self.cfg.netdev else {
                // Off: the first (full) sync removed the table.
                self.netdev = Some(state);
                return Ok(());
            };
            let ports = self.bridge_ports(Some(&state));
            let script = crate::netdev::incremental(
                table,
                devices,
                &mut state,
                updates,
                ports,
                Instant::now(),
            );
            let applied = if script.is_empty() {
                Ok(())
            } else {
                self.nft.apply(&script)
            };
            match applied {
                Ok(()) => {
                    self.netdev = Some(state);
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "netdev fast path update failed; doing a full sync");
                }
            }
        }
        let ports = self.bridge_ports(None);
        let (script, state) = crate::netdev::full(table, self.cfg.netdev.as_ref(), map, ports);
        if let Err(e) = self.nft.apply(&script) {
            tracing::warn!(error = %e, "netdev fast path load failed; replacing its table");
            let t = format!("netdev {table}");
            self.nft
                .apply(&format!("add table {t}\ndelete table {t}\n{script}"))?;
        }
        self.netdev = Some(state);
        Ok(())
    }

    /// A full sync with the fast path's map elements written as one netlink batch after a
    /// script that defines everything else.
    ///
    /// Into a namespace without the table, the script creates it with those maps empty.
    /// A live table (an agent restarting on a populated node) is rebuilt in place instead
    /// of deleted ([`render::live_script`]): the script flushes and redefines its chains and
    /// small sets in one transaction, leaving the netlink maps' elements serving, and the
    /// batch flushes and refills those maps in a second one. Between the two, the new rules
    /// read the old maps: a Service is served by its old or its new endpoints, never
    /// dropped. Any failure (e.g. a map grown past its declared `size`) makes the caller
    /// replace the whole table with one script.
    fn load_split(&self, map: &ServiceMap) -> Result<Rendered, Error> {
        let netns = self.cfg.netns.as_deref();
        // When it cannot be told whether the table exists, it is treated as live.
        let live = !matches!(self.nft.table_exists(), Ok(false));
        let (definition, bulk, state) = render::full_split(&self.cfg, map);
        let t = format!("ip {}", self.cfg.table);
        let (script, flush) = if live {
            let objects = crate::netlink::live_objects(netns, &self.cfg.table)?;
            render::live_script(&self.cfg.table, &objects, &definition).ok_or_else(|| {
                Error::Netlink("the live table's layout predates in-place rebuilds".to_owned())
            })?
        } else {
            (
                format!("add table {t}\ndelete table {t}\n{definition}"),
                Vec::new(),
            )
        };
        // The script in a fresh `nft` process: changes right after a 50k load measured
        // 3.6–5.3 ms median this way against 4.7–6.7 ms through the agent's libnftables
        // context (two runs each).
        self.nft.apply_with_program(&script)?;
        crate::netlink::Batch::new_elements(&self.cfg.table, &flush, &bulk)?.send(netns)?;
        Ok(state)
    }
}

/// Prepares the node namespace: `net.ipv4.ip_forward=1`;
/// `net.bridge.bridge-nf-call-iptables=1` when `br_netfilter` is present (pods on one
/// bridge reach each other through a Service only if bridged replies pass conntrack; no
/// kernel module is ever loaded: without it same-bridge pod → Service → pod replies
/// bypass un-DNAT, which only `masquerade_all` works around); `route_localnet=1` when
/// localhost NodePorts are enabled.
pub fn prepare_node(cfg: &Config) -> Result<(), Error> {
    let ns = match &cfg.netns {
        Some(p) => NetNs::from_path(p)?,
        None => NetNs::from_path("/proc/self/ns/net")?,
    };
    tether_netns::sysctl(&ns, "net.ipv4.ip_forward", "1")?;
    match tether_netns::read_sysctl(&ns, "net.bridge.bridge-nf-call-iptables") {
        Ok(v) if v == "1" => {}
        Ok(_) => tether_netns::sysctl(&ns, "net.bridge.bridge-nf-call-iptables", "1")?,
        Err(_) => tracing::warn!(
            "br_netfilter is not available: replies between pods on the same bridge \
             bypass Service NAT (set masquerade_all to work around)"
        ),
    }
    if cfg.localhost_nodeports {
        tether_netns::sysctl(&ns, "net.ipv4.conf.all.route_localnet", "1")?;
    }
    Ok(())
}
