//! OpenAPI documents, as much as kubectl needs.
//!
//! `/openapi/v2` answers an empty protobuf document (an empty `openapi_v2.Document` is a valid
//! message): kubectl 1.27/1.28 must download it before validating, and with no models it
//! validates nothing client-side. `/openapi/v3` lists one document per group-version whose
//! PATCH operations carry `x-kubernetes-group-version-kind` and a `fieldValidation` parameter:
//! kubectl then leaves validation to the server (`fieldValidation=Strict`). PATCH operations
//! deliberately list no request body types, so kubectl computes strategic merge patches from
//! its compiled-in types instead of looking for schemas here. `components.schemas` holds the
//! served kinds' schemas with their descriptions (generated from k8s-openapi's types), which is
//! what `kubectl explain` renders.

use serde_json::{Value, json};
use tether_api::resources::{RESOURCES, groups};

/// Content-Type of the protobuf v2 document (no `@`: Go's mime parser rejects it).
pub(crate) const V2_PROTO: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// A stable hash of the documents, for `?hash=` (changes when the resource table changes).
fn hash() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in RESOURCES {
        for b in r
            .kind
            .bytes()
            .chain(r.plural.bytes())
            .chain(r.group.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{h:016X}")
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v2` as JSON (for clients that ask for JSON).
pub(crate) fn v2_json() -> Value {
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION}, "paths": {}, "definitions": {}})
}

/// `/openapi/v3`.
pub(crate) fn v3_index() -> Value {
    let h = hash();
    let mut paths = serde_json::Map::new();
    let mut gvs = vec![(String::new(), "v1".to_owned())];
    gvs.extend(
        groups()
            .into_iter()
            .map(|(g, v)| (g.to_owned(), v.to_owned())),
    );
    for (g, v) in gvs {
        let p = gv_path(&g, &v);
        paths.insert(
            p.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={h}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<api/v1 | apis/g/v>`.
///
/// The documents never change while the process runs: each is built once, on first use.
pub(crate) fn v3_doc(path: &str) -> Option<&'static Value> {
    static DOCS: std::sync::LazyLock<
        std::sync::Mutex<std::collections::HashMap<String, &'static Value>>,
    > = std::sync::LazyLock::new(Default::default);
    let mut docs = DOCS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(doc) = docs.get(path) {
        return Some(doc);
    }
    let doc: &'static Value = Box::leak(Box::new(build_v3_doc(path)?));
    docs.insert(path.to_owned(), doc);
    Some(doc)
}

fn build_v3_doc(path: &str) -> Option<Value> {
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), (*v).to_owned()),
        ["apis", g, v] => ((*g).to_owned(), (*v).to_owned()),
        _ => return None,
    };
    let mut paths = serde_json::Map::new();
    let field_validation = json!({
        "name": "fieldValidation",
        "in": "query",
        "description": "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        "schema": {"type": "string", "uniqueItems": true}
    });
    let mut found = false;
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        found = true;
        let base = format!("/{}", gv_path(&group, &version));
        let item = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{base}/{}/{{name}}", r.plural)
        };
        let collection = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let op = |id: &str| {
            json!({
                "operationId": id,
                "parameters": [field_validation.clone()],
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": id,
                "x-kubernetes-group-version-kind": gvk.clone(),
            })
        };
        paths.insert(
            item,
            json!({"patch": op("patch"), "put": op("put"), "get": {"x-kubernetes-group-version-kind": gvk.clone()}}),
        );
        paths.insert(collection, json!({"post": op("post")}));
    }
    found.then(|| {
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
            "paths": paths,
            "components": {"schemas": schemas(&group, &version)},
        })
    })
}

/// Schemas of the kinds served in a group-version, as upstream names them
/// (`io.k8s.api.core.v1.Service`), each kind tagged with `x-kubernetes-group-version-kind`.
fn schemas(group: &str, version: &str) -> Value {
    use k8s_openapi::api::{apps, coordination, core, discovery};
    use schemars::JsonSchema;
    let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
    let mut kinds: Vec<(std::borrow::Cow<'static, str>, &str)> = Vec::new();
    macro_rules! kind {
        ($t:ty, $k:literal) => {{
            let _ = generator.subschema_for::<$t>();
            kinds.push((<$t>::schema_name(), $k));
        }};
    }
    match (group, version) {
        ("", "v1") => {
            kind!(core::v1::Namespace, "Namespace");
            kind!(core::v1::Service, "Service");
            kind!(core::v1::Endpoints, "Endpoints");
            kind!(core::v1::Pod, "Pod");
            kind!(core::v1::Node, "Node");
            kind!(core::v1::Event, "Event");
            kind!(core::v1::ConfigMap, "ConfigMap");
            kind!(core::v1::Secret, "Secret");
            kind!(core::v1::ServiceAccount, "ServiceAccount");
        }
        ("apps", "v1") => {
            kind!(apps::v1::Deployment, "Deployment");
            kind!(apps::v1::ReplicaSet, "ReplicaSet");
        }
        ("discovery.k8s.io", "v1") => kind!(discovery::v1::EndpointSlice, "EndpointSlice"),
        ("coordination.k8s.io", "v1") => kind!(coordination::v1::Lease, "Lease"),
        _ => {}
    }
    let mut defs: serde_json::Map<String, Value> = generator.take_definitions(true);
    for v in defs.values_mut() {
        upstream_refs(v);
    }
    for (name, kind) in kinds {
        if let Some(Value::Object(o)) = defs.get_mut(name.as_ref()) {
            o.insert(
                "x-kubernetes-group-version-kind".into(),
                json!([{"group": group, "version": version, "kind": kind}]),
            );
        }
    }
    Value::Object(defs)
}

/// Rewrites `{"$ref": r, "description": d}` as upstream's `{"allOf": [{"$ref": r}], "description": d}`
/// (a `$ref` with siblings is ignored by OpenAPI 3.0 readers).
fn upstream_refs(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.len() > 1
                && let Some(r) = o.remove("$ref")
            {
                o.insert("allOf".into(), json!([{"$ref": r}]));
            }
            for x in o.values_mut() {
                upstream_refs(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(upstream_refs),
        _ => {}
    }
}
