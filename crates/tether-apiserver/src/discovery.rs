//! Discovery: `/version`, aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1) and the
//! legacy `/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>` documents, all from the resource table.
//!
//! kubectl chooses the parser from the response Content-Type, so aggregated answers carry
//! `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` exactly.

use serde_json::{Value, json};
use tether_api::resources::{self, RESOURCES, Resource};

/// The Kubernetes version tether reports (kubectl's dispatcher picks `kubectl.1.<minor>`).
pub(crate) const MAJOR: &str = "1";
/// See [`MAJOR`].
pub(crate) const MINOR: &str = "33";
/// See [`MAJOR`].
pub(crate) const GIT_VERSION: &str = "v1.33.0+tether";

/// `/version`.
pub(crate) fn version() -> Value {
    json!({
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-12-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Which aggregated discovery version the client accepts first, if any.
pub(crate) fn aggregated_version(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if !part.contains("as=APIGroupDiscoveryList") {
            continue;
        }
        if part.contains("v=v2beta1") {
            return Some("v2beta1");
        }
        if part.contains("v=v2") {
            return Some("v2");
        }
    }
    None
}

/// The Content-Type of an aggregated discovery answer.
pub(crate) fn aggregated_content_type(v: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList")
}

fn aggregated_resource(r: &Resource) -> Value {
    let mut v = json!({
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = r
        .subresources
        .iter()
        .map(|s| {
            let g = if s.group == r.group { "" } else { s.group };
            let ver = if s.group == r.group { "" } else { s.version };
            json!({
                "subresource": s.name,
                "responseKind": {"group": g, "version": ver, "kind": s.kind},
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        v["subresources"] = Value::Array(subs);
    }
    v
}

fn aggregated_group(group: &str, version: &str) -> Value {
    let res: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(aggregated_resource)
        .collect();
    let mut meta = json!({"creationTimestamp": null});
    if !group.is_empty() {
        meta["name"] = json!(group);
    }
    json!({
        "metadata": meta,
        "versions": [{"version": version, "resources": res, "freshness": "Current"}],
    })
}

/// Aggregated discovery for `/api` (core) or `/apis` (every other group).
pub(crate) fn aggregated(core: bool, v: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group("", "v1")]
    } else {
        resources::groups()
            .into_iter()
            .map(|(g, ver)| aggregated_group(g, ver))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{v}"),
        "metadata": {},
        "items": items,
    })
}

/// Legacy `/api`.
pub(crate) fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_doc(g: &str, v: &str) -> Value {
    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
    json!({"name": g, "versions": [&gv], "preferredVersion": &gv})
}

/// Legacy `/apis`.
pub(crate) fn api_group_list() -> Value {
    let groups: Vec<Value> = resources::groups()
        .into_iter()
        .map(|(g, v)| group_doc(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy `/apis/<group>`.
pub(crate) fn api_group(group: &str) -> Option<Value> {
    let (g, v) = resources::groups().into_iter().find(|(g, _)| *g == group)?;
    let mut doc = group_doc(g, v);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// Legacy `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    let mut list = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut v = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            v["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            v["categories"] = json!(r.categories);
        }
        list.push(v);
        for s in r.subresources {
            let mut sv = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if s.group != r.group {
                sv["group"] = json!(s.group);
                sv["version"] = json!(s.version);
            }
            list.push(sv);
        }
    }
    if list.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": list,
    }))
}
