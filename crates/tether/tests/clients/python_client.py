#!/usr/bin/env python3
"""The official Python client (`kubernetes` from PyPI), unchanged, against `tether server`.

Usage: python_client.py KUBECONFIG

Drives CoreV1Api, AppsV1Api, DiscoveryV1Api and watch.Watch the way client code does and
exits non-zero (an AssertionError or an unexpected exception) on the first difference from
upstream's behaviour.
"""

import json
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

NS = "default"
LABELS = {"suite": "python-client"}


def step(msg):
    print(f"== {msg}", flush=True)


def api_error(fn, *args, **kwargs):
    """Calls fn, which must fail with an ApiException; returns (exception, decoded Status)."""
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        status = json.loads(e.body) if e.body else {}
        return e, status
    raise AssertionError(f"{fn.__name__}{args} succeeded, want an ApiException")


def wait_for(what, fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.2)


def service_body(name, labels=None, ports=None, svc_type=None):
    spec = {
        "selector": {"app": name},
        "ports": ports
        or [
            {"name": "http", "port": 80},
            {"name": "metrics", "port": 9090, "targetPort": 9091},
        ],
    }
    if svc_type:
        spec["type"] = svc_type
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": dict(labels or LABELS)},
        "spec": spec,
    }


def services(core):
    step("create a ClusterIP Service with two named ports from a dict")
    created = core.create_namespaced_service(NS, service_body("web"))
    assert isinstance(created, client.V1Service), type(created)
    assert created.metadata.name == "web", created.metadata
    assert created.metadata.uid, "no uid on the created Service"
    assert created.metadata.resource_version, "no resourceVersion on the created Service"
    assert created.metadata.creation_timestamp is not None, "no creationTimestamp"

    step("read it back: clusterIP allocated, upstream defaults")
    svc = core.read_namespaced_service("web", NS)
    ip = svc.spec.cluster_ip
    assert ip and ip != "None" and ip.startswith("10."), f"clusterIP not allocated: {ip!r}"
    assert svc.spec.cluster_ips == [ip], f"clusterIPs {svc.spec.cluster_ips} != [{ip}]"
    assert svc.spec.type == "ClusterIP", f"type defaulted to {svc.spec.type!r}"
    assert svc.spec.session_affinity == "None", svc.spec.session_affinity
    assert svc.spec.ip_families == ["IPv4"], svc.spec.ip_families
    assert svc.spec.ip_family_policy == "SingleStack", svc.spec.ip_family_policy
    assert svc.spec.internal_traffic_policy == "Cluster", svc.spec.internal_traffic_policy
    ports = {p.name: p for p in svc.spec.ports}
    assert set(ports) == {"http", "metrics"}, ports
    for p in svc.spec.ports:
        assert p.protocol == "TCP", f"port {p.name}: protocol defaulted to {p.protocol!r}"
        assert p.node_port is None, f"ClusterIP port {p.name} got nodePort {p.node_port}"
    assert ports["http"].target_port == 80, f"targetPort not defaulted to port: {ports['http']}"
    assert ports["metrics"].target_port == 9091, ports["metrics"]
    print(f"   web: clusterIP {ip}, ports {[(p.name, p.port, p.target_port) for p in svc.spec.ports]}")

    step("list with a label selector")
    core.create_namespaced_service(NS, service_body("other", labels={"suite": "elsewhere"}))
    listed = core.list_namespaced_service(NS, label_selector="suite=python-client")
    assert isinstance(listed, client.V1ServiceList), type(listed)
    names = sorted(s.metadata.name for s in listed.items)
    assert names == ["web"], f"label_selector suite=python-client listed {names}"
    assert listed.metadata.resource_version, "list without resourceVersion"
    everything = core.list_service_for_all_namespaces(label_selector="suite")
    names = sorted(s.metadata.name for s in everything.items)
    assert names == ["other", "web"], f"label_selector suite (exists) listed {names}"
    notin = core.list_namespaced_service(NS, label_selector="suite notin (python-client)")
    names = sorted(s.metadata.name for s in notin.items)
    assert "web" not in names and "other" in names, f"notin selector listed {names}"

    step("patch (strategic merge): add a label")
    patched = core.patch_namespaced_service("web", NS, {"metadata": {"labels": {"tier": "frontend"}}})
    assert patched.metadata.labels == {"suite": "python-client", "tier": "frontend"}, patched.metadata.labels
    assert patched.spec.cluster_ip == ip, "a patch changed the clusterIP"
    assert patched.metadata.resource_version != created.metadata.resource_version, "resourceVersion kept by a patch"
    step("patch (strategic merge): merge ports by port number")
    patched = core.patch_namespaced_service(
        "web", NS, {"spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": 9999}]}}
    )
    ports = {p.name: p for p in patched.spec.ports}
    assert set(ports) == {"http", "metrics"}, f"strategic merge lost a port: {patched.spec.ports}"
    assert ports["metrics"].target_port == 9999, ports["metrics"]

    step("replace with the read object (resourceVersion kept)")
    cur = core.read_namespaced_service("web", NS)
    cur.metadata.annotations = {"example.com/replaced": "yes"}
    cur.spec.session_affinity = "ClientIP"
    replaced = core.replace_namespaced_service("web", NS, cur)
    assert replaced.metadata.annotations == {"example.com/replaced": "yes"}, replaced.metadata.annotations
    assert replaced.spec.session_affinity == "ClientIP", replaced.spec.session_affinity
    assert replaced.spec.session_affinity_config is not None, "ClientIP without sessionAffinityConfig default"
    assert (
        replaced.spec.session_affinity_config.client_ip.timeout_seconds == 10800
    ), replaced.spec.session_affinity_config
    assert replaced.spec.cluster_ip == ip, "replace changed the clusterIP"

    step("replace with a stale resourceVersion -> 409 Conflict")
    cur.metadata.annotations = {"example.com/replaced": "again"}
    e, status = api_error(core.replace_namespaced_service, "web", NS, cur)
    assert e.status == 409, f"stale replace: HTTP {e.status}, want 409: {e.body}"
    assert status.get("reason") == "Conflict", f"stale replace: reason {status.get('reason')!r}: {e.body}"

    step("create a NodePort Service")
    np = core.create_namespaced_service(
        NS, service_body("np", ports=[{"name": "http", "port": 80, "targetPort": 8080}], svc_type="NodePort")
    )
    assert np.spec.type == "NodePort", np.spec.type
    node_port = np.spec.ports[0].node_port
    assert node_port is not None and 30000 <= node_port <= 32767, f"nodePort {node_port} outside 30000-32767"
    assert np.spec.external_traffic_policy == "Cluster", np.spec.external_traffic_policy
    print(f"   np: nodePort {node_port}")
    return ip


def errors(core):
    step("create a duplicate -> 409 AlreadyExists")
    e, status = api_error(core.create_namespaced_service, NS, service_body("web"))
    assert e.status == 409, f"duplicate create: HTTP {e.status}, want 409: {e.body}"
    assert status.get("kind") == "Status", e.body
    assert status.get("status") == "Failure", e.body
    assert status.get("reason") == "AlreadyExists", f"duplicate create: reason {status.get('reason')!r}"
    assert status.get("code") == 409, e.body
    assert status.get("message") == 'services "web" already exists', status.get("message")
    assert status.get("details", {}).get("name") == "web", e.body
    assert status.get("details", {}).get("kind") == "services", e.body

    step("get a missing Service -> 404 NotFound")
    e, status = api_error(core.read_namespaced_service, "missing", NS)
    assert e.status == 404, f"missing get: HTTP {e.status}, want 404: {e.body}"
    assert status.get("reason") == "NotFound", e.body
    assert status.get("message") == 'services "missing" not found', status.get("message")

    step("delete a missing Service -> 404 NotFound")
    e, status = api_error(core.delete_namespaced_service, "missing", NS)
    assert e.status == 404, f"missing delete: HTTP {e.status}, want 404: {e.body}"

    step("invalid port 0 -> 422 Invalid with upstream's message")
    e, status = api_error(
        core.create_namespaced_service, NS, service_body("bad", ports=[{"port": 0, "targetPort": 8080}])
    )
    assert e.status == 422, f"port 0: HTTP {e.status}, want 422: {e.body}"
    assert status.get("reason") == "Invalid", e.body
    assert status.get("details", {}).get("kind") == "Service", e.body
    assert status.get("details", {}).get("name") == "bad", e.body
    want = 'Service "bad" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'
    assert status.get("message") == want, f"port 0 message:\n  got  {status.get('message')!r}\n  want {want!r}"
    causes = status.get("details", {}).get("causes", [])
    assert causes == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 0: must be between 1 and 65535, inclusive",
            "field": "spec.ports[0].port",
        }
    ], f"causes {causes}"
    # Without a targetPort it defaults to the port (0), so upstream reports both fields.
    e, status = api_error(core.create_namespaced_service, NS, service_body("bad", ports=[{"port": 0}]))
    assert e.status == 422, f"port 0: HTTP {e.status}, want 422: {e.body}"
    want = (
        'Service "bad" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, '
        "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]"
    )
    assert status.get("message") == want, f"port 0 message:\n  got  {status.get('message')!r}\n  want {want!r}"

    step("get in a missing namespace -> 404")
    e, _ = api_error(core.read_namespaced_service, "web", "no-such-namespace")
    assert e.status == 404, f"missing namespace: HTTP {e.status}"


def watch_services(core):
    step("watch: ADDED / MODIFIED / DELETED from another thread")
    start = core.list_namespaced_service(NS, label_selector="watched=yes")
    assert start.items == [], start.items
    rv = start.metadata.resource_version
    errors_in_thread = []

    def change():
        try:
            time.sleep(0.5)
            core.create_namespaced_service(NS, service_body("watched", labels={"watched": "yes"}))
            time.sleep(0.2)
            core.patch_namespaced_service("watched", NS, {"metadata": {"annotations": {"step": "two"}}})
            time.sleep(0.2)
            core.delete_namespaced_service("watched", NS)
        except Exception as e:  # reported by the main thread
            errors_in_thread.append(e)

    t = threading.Thread(target=change)
    w = watch.Watch()
    seen = []
    t.start()
    deadline = time.monotonic() + 30
    for ev in w.stream(
        core.list_namespaced_service,
        NS,
        label_selector="watched=yes",
        resource_version=rv,
        timeout_seconds=30,
    ):
        obj = ev["object"]
        assert isinstance(obj, client.V1Service), f"watch object is {type(obj)}: {ev.get('raw_object')}"
        assert obj.metadata.name == "watched", obj.metadata.name
        seen.append(ev["type"])
        print(f"   {ev['type']} {obj.metadata.name} rv={obj.metadata.resource_version}")
        if ev["type"] == "MODIFIED":
            assert obj.metadata.annotations == {"step": "two"}, obj.metadata.annotations
        if ev["type"] == "DELETED" or time.monotonic() > deadline:
            w.stop()
    t.join()
    assert not errors_in_thread, f"changing the watched Service failed: {errors_in_thread}"
    assert seen == ["ADDED", "MODIFIED", "DELETED"], f"watch saw {seen}"

    step("watch with timeout_seconds ends by itself")
    began = time.monotonic()
    events = list(watch.Watch().stream(core.list_namespaced_service, NS, label_selector="watched=yes",
                                       resource_version=core.list_namespaced_service(NS).metadata.resource_version,
                                       timeout_seconds=2))
    took = time.monotonic() - began
    assert events == [], f"idle watch saw {events}"
    assert took < 20, f"a watch with timeout_seconds=2 took {took:.1f}s"


def deployments(apps):
    step("create a Deployment via AppsV1Api and read it")
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": dict(LABELS)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "registry.k8s.io/e2e-test-images/agnhost:2.45",
                            "args": ["netexec", "--http-port=80"],
                            "ports": [{"name": "http", "containerPort": 80}],
                        }
                    ]
                },
            },
        },
    }
    created = apps.create_namespaced_deployment(NS, body)
    assert isinstance(created, client.V1Deployment), type(created)
    d = apps.read_namespaced_deployment("web", NS)
    assert d.spec.replicas == 2, d.spec.replicas
    assert d.spec.selector.match_labels == {"app": "web"}, d.spec.selector
    assert d.spec.strategy.type == "RollingUpdate", d.spec.strategy
    assert d.spec.revision_history_limit == 10, d.spec.revision_history_limit
    c = d.spec.template.spec.containers[0]
    assert c.ports[0].protocol == "TCP", c.ports[0]
    assert c.image_pull_policy == "IfNotPresent", c.image_pull_policy
    listed = apps.list_namespaced_deployment(NS, label_selector="suite=python-client")
    assert [x.metadata.name for x in listed.items] == ["web"], listed.items
    # The Deployment controller makes a ReplicaSet owned by it.
    rs = wait_for(
        "a ReplicaSet for deployment web",
        lambda: apps.list_namespaced_replica_set(NS, label_selector="app=web").items,
    )
    owners = rs[0].metadata.owner_references or []
    assert any(o.kind == "Deployment" and o.name == "web" for o in owners), owners
    scaled = apps.patch_namespaced_deployment_scale("web", NS, {"spec": {"replicas": 1}})
    assert scaled.spec.replicas == 1, scaled.spec
    assert apps.read_namespaced_deployment("web", NS).spec.replicas == 1


def endpoint_slices(discovery):
    step("list EndpointSlices via DiscoveryV1Api")
    sel = "kubernetes.io/service-name=web"
    slices = wait_for(
        "an EndpointSlice for service web",
        lambda: discovery.list_namespaced_endpoint_slice(NS, label_selector=sel).items,
    )
    for s in slices:
        assert isinstance(s, client.V1EndpointSlice), type(s)
        assert s.address_type == "IPv4", s.address_type
        assert s.metadata.labels.get("endpointslice.kubernetes.io/managed-by") == "endpointslice-controller.k8s.io", (
            s.metadata.labels
        )
        owners = s.metadata.owner_references or []
        assert any(o.kind == "Service" and o.name == "web" for o in owners), owners
        assert {p.name for p in (s.ports or [])} <= {"http", "metrics"}, s.ports
    everything = discovery.list_endpoint_slice_for_all_namespaces()
    mine = {s.metadata.name for s in slices}
    assert mine <= {s.metadata.name for s in everything.items}, [s.metadata.name for s in everything.items]
    print(f"   {len(slices)} slice(s) for web, {len(everything.items)} in all namespaces")


def cleanup(core, apps):
    step("delete everything")
    for name in ("web", "other", "np"):
        st = core.delete_namespaced_service(name, NS)
        assert st is not None
    apps.delete_namespaced_deployment("web", NS)
    left = [s.metadata.name for s in core.list_namespaced_service(NS).items]
    assert left == ["kubernetes"], f"services left after delete: {left}"
    wait_for(
        "the Deployment to be gone",
        lambda: not apps.list_namespaced_deployment(NS, label_selector="suite=python-client").items,
    )
    wait_for(
        "the garbage collector to delete the Deployment's ReplicaSets",
        lambda: not apps.list_namespaced_replica_set(NS, label_selector="app=web").items,
    )


def main():
    assert len(sys.argv) == 2, "usage: python_client.py KUBECONFIG"
    config.load_kube_config(config_file=sys.argv[1])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    discovery = client.DiscoveryV1Api()

    step("server version and API discovery")
    version = client.VersionApi().get_code()
    assert version.major and version.git_version, version
    groups = [g.name for g in client.ApisApi().get_api_versions().groups]
    for g in ("apps", "discovery.k8s.io"):
        assert g in groups, f"group {g} not discovered: {groups}"
    print(f"   server {version.git_version}")

    services(core)
    errors(core)
    watch_services(core)
    deployments(apps)
    endpoint_slices(discovery)
    cleanup(core, apps)
    print("PASS: the official Python client works against tether", flush=True)


if __name__ == "__main__":
    main()
