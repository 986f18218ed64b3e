//! `tether server` / `tether up`: open the store, start the API server, write the kubeconfig.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use tether_apiserver::pki::Pki;
use tether_apiserver::{ApiServer, Config, RegistryConfig};
use tether_store::Backend;
use tokio_util::sync::CancellationToken;

use crate::cli::ServerArgs;

fn admin_token(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("pki").join("admin.token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if !t.is_empty() {
            return Ok(t);
        }
    }
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    std::fs::create_dir_all(dir.join("pki"))?;
    std::fs::write(&path, &token).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(token)
}

fn write_kubeconfig(
    dir: &Path,
    server: &str,
    ca_pem: Option<&str>,
    token: Option<&str>,
) -> anyhow::Result<std::path::PathBuf> {
    let mut cluster = serde_json::json!({"server": server});
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] =
            serde_json::json!(base64::engine::general_purpose::STANDARD.encode(ca));
    }
    let user = match token {
        Some(t) => serde_json::json!({"token": t}),
        None => serde_json::json!({}),
    };
    let cfg = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "tether", "cluster": cluster}],
        "users": [{"name": "admin", "user": user}],
        "contexts": [{"name": "tether", "context": {"cluster": "tether", "user": "admin", "namespace": "default"}}],
        "current-context": "tether",
        "preferences": {},
    });
    let path = dir.join("kubeconfig");
    let tmp = dir.join("kubeconfig.tmp");
    // JSON is YAML: kubectl reads it as is.
    std::fs::write(&tmp, serde_json::to_vec_pretty(&cfg)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

async fn open_store(args: &ServerArgs) -> anyhow::Result<Arc<dyn Backend>> {
    if args.etcd_endpoints.is_empty() {
        let path = args.data_dir.join("store.redb");
        let s = tether_store::Embedded::open(&path, tether_store::EmbeddedOptions::default())
            .with_context(|| format!("opening the embedded store {}", path.display()))?;
        tracing::info!(path = %path.display(), "embedded store open");
        Ok(Arc::new(s))
    } else {
        let s = tether_store::Etcd::connect(&args.etcd_endpoints)
            .await
            .with_context(|| format!("connecting to etcd {:?}", args.etcd_endpoints))?;
        s.current_revision()
            .await
            .with_context(|| format!("etcd {:?} does not answer", args.etcd_endpoints))?;
        tracing::info!(endpoints = ?args.etcd_endpoints, "etcd store connected");
        Ok(Arc::new(s))
    }
}

/// Runs the server until SIGINT/SIGTERM.
pub(crate) async fn run(args: ServerArgs, up: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    if !args.etcd_prefix.is_empty() {
        anyhow::bail!("--etcd-prefix is not supported yet");
    }
    let store = open_store(&args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Where this machine's own clients reach the listener (kubeconfig, the API forwarder).
    let local = if addr.ip().is_unspecified() {
        SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
    } else {
        addr
    };
    let service_range = tether_ipam::IpRange::new(
        *args
            .service_cluster_ip_range
            .first()
            .context("--service-cluster-ip-range is empty")?,
    )
    .context("--service-cluster-ip-range")?;
    // What the registry gives `default/kubernetes`, and kubeadm's choice for kube-dns.
    let service_ip = service_range.first();
    let cluster_dns = service_range
        .nth(9)
        .context("service CIDR too small for the DNS address")?;
    let (tls, kubeconfig) = if args.insecure_plain_http {
        tracing::warn!(
            "serving PLAIN HTTP WITHOUT AUTHENTICATION on {addr}: for tests only, anyone who can reach this port controls the cluster"
        );
        let kc = write_kubeconfig(&args.data_dir, &format!("http://{addr}"), None, None)?;
        (None, kc)
    } else {
        let sans = Pki::default_sans(addr.ip(), service_ip, &args.tls_san);
        let pki = Pki::load_or_create(&args.data_dir.join("pki"), &sans)?;
        let token = admin_token(&args.data_dir)?;
        let host = local.to_string();
        let kc = write_kubeconfig(
            &args.data_dir,
            &format!("https://{host}"),
            Some(&pki.ca_pem),
            Some(&token),
        )?;
        (Some(Arc::new(pki.server_config()?)), kc)
    };
    let tokens = if args.insecure_plain_http {
        Vec::new()
    } else {
        vec![admin_token(&args.data_dir)?]
    };
    // Where Pods reach the API server: an explicit --advertise-address, else under `up`
    // the forwarder in the node namespace.
    let forward_api = up && args.advertise_address.is_none();
    let service_endpoint = match args.advertise_address {
        Some(ip) => Some(SocketAddr::new(ip, addr.port())),
        None => forward_api.then_some(crate::agent::API_FORWARD),
    };
    let cfg = Config {
        registry: RegistryConfig {
            service_cidrs: args.service_cluster_ip_range.clone(),
            node_port_range: args.service_node_port_range.clone(),
        },
        tokens,
        anonymous: args.insecure_plain_http,
        advertise: addr,
        service_endpoint,
        compaction_interval: Duration::from_secs(args.compaction_interval_seconds.max(1)),
    };
    let server = ApiServer::new(store, cfg)
        .await
        .map_err(|e| anyhow::anyhow!("starting the API server: {e}"))?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        stop.cancel();
    });
    tracing::info!(%addr, kubeconfig = %kubeconfig.display(), "API server ready");
    let client = kube_client(&kubeconfig).await?;
    let lb_mode = match (args.lb_pool, up) {
        (Some(pool), _) => {
            tether_controllers::loadbalancer::Mode::pool(pool).context("--lb-pool")?
        }
        (None, true) => tether_controllers::loadbalancer::Mode::Localhost,
        (None, false) => tether_controllers::loadbalancer::Mode::NodeIps,
    };
    let controllers = tokio::spawn(tether_controllers::run(
        client,
        tether_controllers::workloads::Config {
            cluster_cidr: args.cluster_cidr,
            node_mask: args.node_cidr_mask_size,
        },
        lb_mode,
        shutdown.clone(),
    ));
    let agent = if up {
        let settings = crate::agent::AgentSettings {
            kubeconfig: kubeconfig.clone(),
            node_name: crate::agent::hostname(),
            node_ip: crate::agent::NODE_IP,
            netns: crate::agent::NODE_NETNS.into(),
            data_dir: args.data_dir.join("agent"),
            cluster_cidr: args.cluster_cidr,
            cluster_dns: Some(cluster_dns),
            cluster_domain: "cluster.local".into(),
            logs_listen: "127.0.0.1:0".parse()?,
            cleanup_on_exit: true,
            service_cidr: *args
                .service_cluster_ip_range
                .first()
                .context("--service-cluster-ip-range is empty")?,
            proxy_mode: crate::cli::ProxyMode::Nftables,
            localhost_lb: true,
            // `tether up`'s node address is on `lo`: there is no uplink to serve.
            netdev_fast_path: false,
            ebpf_fast_path: false,
            dns: true,
            dns_upstreams: crate::dns::host_upstreams(),
            metrics_listen: None,
        };
        crate::agent::ensure_node_netns(crate::agent::NODE_NETNS, crate::agent::NODE_IP).await?;
        if forward_api {
            let upstream = local;
            let sd = shutdown.clone();
            tokio::spawn(async move {
                if let Err(e) = crate::agent::forward_api(
                    crate::agent::NODE_NETNS,
                    crate::agent::API_FORWARD,
                    upstream,
                    sd,
                )
                .await
                {
                    tracing::error!(error = %format!("{e:#}"), "the API forwarder for Pods failed");
                }
            });
        }
        let client = kube_client(&kubeconfig).await?;
        let sd = shutdown.clone();
        Some(tokio::spawn(async move {
            if let Err(e) = crate::agent::run(client, settings, sd.clone()).await {
                tracing::error!(error = %format!("{e:#}"), "node agent failed");
                sd.cancel();
            }
        }))
    } else {
        None
    };
    if up {
        #[allow(clippy::print_stdout)]
        {
            println!("tether is up: API server on {addr}");
            println!("export KUBECONFIG={}", kubeconfig.display());
        }
    }
    server.serve(listener, tls, shutdown.clone()).await?;
    shutdown.cancel();
    if let Some(a) = agent {
        let _ = a.await;
        crate::agent::delete_node_netns(crate::agent::NODE_NETNS);
    }
    match controllers.await {
        Ok(Err(e)) => tracing::warn!(error = %e, "controllers stopped with an error"),
        Err(e) => tracing::warn!(error = %e, "controllers task failed"),
        Ok(Ok(())) => {}
    }
    tracing::info!("stopped");
    Ok(())
}

/// A `kube` client from a kubeconfig (controllers talk to the API like any client).
pub(crate) async fn kube_client(path: &Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .context("building the client configuration")?;
    kube::Client::try_from(cfg).context("building the API client")
}

pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
