//! The Node object and its heartbeats: registration with addresses, capacity and node info;
//! the `Ready` condition refreshed every [`HEARTBEAT`]; a Lease in `kube-node-lease` renewed
//! at the same pace (upstream kubelet: `nodeStatusUpdateFrequency` 10 s, lease duration 40 s).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::Config;

/// Interval of status and lease updates.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// Lease duration written into the Lease.
pub const LEASE_SECONDS: i32 = 40;
/// The version the node reports.
pub const KUBELET_VERSION: &str = "v1.33.0+tether";
/// Annotation telling the API server where this agent serves logs.
pub const ENDPOINT_ANNOTATION: &str = "tether.dev/kubelet-endpoint";

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

fn os_image() -> String {
    read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_owned())
        .unwrap_or_else(|| "Linux".to_owned())
}

fn memory_ki() -> u64 {
    read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn status(cfg: &Config, endpoint_port: u16) -> serde_json::Value {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let t = now();
    let capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", memory_ki()),
        "pods": "110",
        "ephemeral-storage": "10Gi",
    });
    let cond = |ty: &str, st: &str, reason: &str, msg: &str| {
        json!({"type": ty, "status": st, "reason": reason, "message": msg,
               "lastHeartbeatTime": t, "lastTransitionTime": t})
    };
    json!({
        "addresses": [
            {"type": "InternalIP", "address": cfg.node_ip.to_string()},
            {"type": "Hostname", "address": cfg.node_name},
        ],
        "capacity": capacity,
        "allocatable": capacity,
        "conditions": [
            cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": endpoint_port}},
        "nodeInfo": {
            "machineID": read("/etc/machine-id"),
            "systemUUID": read("/etc/machine-id"),
            "bootID": read("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": read("/proc/sys/kernel/osrelease"),
            "osImage": os_image(),
            "containerRuntimeVersion": "tether://0.0.0",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": "",
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        },
    })
}

/// Creates or refreshes the Node object.
pub async fn register(
    client: &Client,
    cfg: &Config,
    endpoint: std::net::SocketAddr,
) -> Result<(), kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let mut labels = json!({
        "kubernetes.io/hostname": cfg.node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
    });
    for (k, v) in &cfg.node_labels {
        labels[k] = json!(v);
    }
    let meta = json!({
        "name": cfg.node_name,
        "labels": labels,
        "annotations": {ENDPOINT_ANNOTATION: endpoint.to_string()},
    });
    if api.get_opt(&cfg.node_name).await?.is_none() {
        let node: Node = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": {}}),
        )
        .map_err(kube::Error::SerdeError)?;
        match api.create(&PostParams::default(), &node).await {
            Ok(_) => tracing::info!(node = cfg.node_name, "registered node"),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    } else {
        api.patch(
            &cfg.node_name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": meta})),
        )
        .await?;
    }
    api.patch_status(
        &cfg.node_name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"status": status(cfg, endpoint.port())})),
    )
    .await?;
    Ok(())
}

/// Renews the Lease and the Ready heartbeat until `shutdown`.
pub async fn heartbeat(
    client: Client,
    cfg: Config,
    endpoint: std::net::SocketAddr,
    shutdown: CancellationToken,
) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let nodes: Api<Node> = Api::all(client.clone());
    loop {
        let t = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": cfg.node_name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": cfg.node_name, "leaseDurationSeconds": LEASE_SECONDS, "renewTime": t},
        });
        let res = leases
            .patch(
                &cfg.node_name,
                &PatchParams::apply("tether-kubelet").force(),
                &Patch::Apply(&lease),
            )
            .await;
        if let Err(e) = res {
            tracing::warn!(error = %e, "lease renewal failed");
        }
        if let Err(e) = nodes
            .patch_status(
                &cfg.node_name,
                &PatchParams::default(),
                &Patch::Merge(&json!({"status": status(&cfg, endpoint.port())})),
            )
            .await
        {
            tracing::warn!(error = %e, "node status update failed");
            // The Node may have been deleted: register it again.
            let _ = register(&client, &cfg, endpoint).await;
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(HEARTBEAT) => {}
        }
    }
}

/// Waits until the Node has a podCIDR (assigned by the server's node IPAM).
pub async fn wait_pod_cidr(
    client: &Client,
    name: &str,
    shutdown: &CancellationToken,
) -> Option<ipnet::IpNet> {
    let api: Api<Node> = Api::all(client.clone());
    loop {
        if let Ok(Some(n)) = api.get_opt(name).await
            && let Some(c) = n.spec.and_then(|s| s.pod_cidr).and_then(|c| c.parse().ok())
        {
            return Some(c);
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
