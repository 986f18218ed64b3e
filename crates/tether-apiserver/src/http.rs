//! Routing and handlers: parse the Kubernetes URL space, authenticate, negotiate, and call the
//! registry.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use tether_api::fields::FieldSelector;
use tether_api::labels::Selector;
use tether_api::patch::{self, PatchType};
use tether_api::resources::{self, Resource};
use tether_api::{ApiError, meta};

use crate::codec::{self, FieldValidation, MAX_BODY};
use crate::discovery;
use crate::error::ErrorResponse;
use crate::metrics::{Metrics, RequestLabels, VerbLabels};
use crate::registry::{DeleteOptions, Registry, WriteOptions};
use crate::table::{self, IncludeObject};
use crate::watch::{self, WatchRequest};

/// Shared state of the HTTP layer.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) registry: Arc<Registry>,
    pub(crate) tokens: Vec<String>,
    pub(crate) anonymous: bool,
    pub(crate) server_address: String,
    pub(crate) metrics: Arc<Metrics>,
}

type Query = BTreeMap<String, String>;

fn parse_query(q: Option<&str>) -> Query {
    q.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    json_response_ct(code, v, "application/json")
}

fn json_response_ct(code: StatusCode, v: &Value, ct: &str) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut resp = (code, body).into_response();
    if let Ok(ct) = HeaderValue::from_str(ct) {
        resp.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    resp
}

/// The single entry point: every request goes through here.
pub(crate) async fn handle(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let (verb, resource, resp) = match dispatch(&st, req).await {
        Ok((v, r, resp)) => (v, r, resp),
        Err(e) => (
            "error".to_owned(),
            String::new(),
            ErrorResponse(e).into_response(),
        ),
    };
    let code = resp.status().as_u16();
    st.metrics
        .requests
        .get_or_create(&RequestLabels {
            verb: verb.clone(),
            resource,
            code: code.to_string(),
        })
        .inc();
    st.metrics
        .latency
        .get_or_create(&VerbLabels { verb })
        .observe(start.elapsed().as_secs_f64());
    tracing::debug!(%method, %path, code, elapsed_ms = start.elapsed().as_millis() as u64, "request");
    resp
}

fn authorized(st: &AppState, headers: &HeaderMap) -> bool {
    if st.anonymous {
        return true;
    }
    let auth = header_str(headers, header::AUTHORIZATION);
    auth.strip_prefix("Bearer ").is_some_and(|t| {
        st.tokens
            .iter()
            .any(|k| constant_time_eq(k.as_bytes(), t.trim().as_bytes()))
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Dispatched = (String, String, Response);

async fn dispatch(st: &Arc<AppState>, req: Request) -> Result<Dispatched, ApiError> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let q = parse_query(parts.uri.query());
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let public = matches!(
        segs.as_slice(),
        ["version"] | ["healthz", ..] | ["livez", ..] | ["readyz", ..]
    );
    if !public && !authorized(st, &parts.headers) {
        return Err(ApiError::unauthorized());
    }
    let accept = header_str(&parts.headers, header::ACCEPT).to_owned();
    let get = parts.method == Method::GET;
    let simple = |v: &str, resp: Response| Ok((v.to_owned(), String::new(), resp));
    match segs.as_slice() {
        ["version"] => simple("get", json_response(StatusCode::OK, &discovery::version())),
        ["healthz" | "livez" | "readyz", ..] => {
            simple("get", (StatusCode::OK, "ok").into_response())
        }
        ["metrics"] => {
            let mut resp = (StatusCode::OK, st.metrics.encode()).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            simple("get", resp)
        }
        ["openapi", "v2"] if get => {
            if accept.contains("protobuf") {
                let mut resp = (StatusCode::OK, Vec::<u8>::new()).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(crate::openapi::V2_PROTO),
                );
                simple("get", resp)
            } else {
                simple(
                    "get",
                    json_response(StatusCode::OK, &crate::openapi::v2_json()),
                )
            }
        }
        ["openapi", "v3"] if get => simple(
            "get",
            json_response(StatusCode::OK, &crate::openapi::v3_index()),
        ),
        ["openapi", "v3", rest @ ..] if get => match crate::openapi::v3_doc(&rest.join("/")) {
            Some(doc) => simple("get", json_response(StatusCode::OK, doc)),
            None => Err(ApiError::path_not_found()),
        },
        [root @ ("api" | "apis")] if get => {
            let legacy = *root == "api";
            let resp = match discovery::aggregated_version(&accept) {
                Some(v) => json_response_ct(
                    StatusCode::OK,
                    &discovery::aggregated(legacy, v),
                    &discovery::aggregated_content_type(v),
                ),
                None if legacy => {
                    json_response(StatusCode::OK, &discovery::api_versions(&st.server_address))
                }
                None => json_response(StatusCode::OK, &discovery::api_group_list()),
            };
            simple("get", resp)
        }
        ["api", "v1"] if get => match discovery::api_resource_list("", "v1") {
            Some(d) => simple("get", json_response(StatusCode::OK, &d)),
            None => Err(ApiError::path_not_found()),
        },
        ["apis", g] if get => match discovery::api_group(g) {
            Some(d) => simple("get", json_response(StatusCode::OK, &d)),
            None => Err(ApiError::path_not_found()),
        },
        ["apis", g, v] if get => match discovery::api_resource_list(g, v) {
            Some(d) => simple("get", json_response(StatusCode::OK, &d)),
            None => Err(ApiError::path_not_found()),
        },
        ["api", "v1", rest @ ..] => {
            let t = parse_target("", "v1", rest)?;
            resource(st, t, parts.method, &parts.headers, q, body).await
        }
        ["apis", g, v, rest @ ..] => {
            let t = parse_target(g, v, rest)?;
            resource(st, t, parts.method, &parts.headers, q, body).await
        }
        _ => Err(ApiError::path_not_found()),
    }
}

/// A resource URL, parsed.
#[derive(Debug)]
struct Target {
    r: &'static Resource,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_target(g: &str, v: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let find = |plural: &str| resources::find(g, v, plural).ok_or_else(ApiError::path_not_found);
    let s = |x: &str| Some(x.to_owned());
    // /namespaces/{ns}/{plural}[/{name}[/{sub}]] for namespaced kinds.
    if let ["namespaces", ns, plural, more @ ..] = rest
        && let Some(r) = resources::find(g, v, plural).filter(|r| r.namespaced)
    {
        return match more {
            [] => Ok(Target {
                r,
                ns: s(ns),
                name: None,
                sub: None,
            }),
            [name] => Ok(Target {
                r,
                ns: s(ns),
                name: s(name),
                sub: None,
            }),
            [name, sub] => Ok(Target {
                r,
                ns: s(ns),
                name: s(name),
                sub: s(sub),
            }),
            _ => Err(ApiError::path_not_found()),
        };
    }
    match rest {
        [plural] => Ok(Target {
            r: find(plural)?,
            ns: None,
            name: None,
            sub: None,
        }),
        [plural, name] => {
            let r = find(plural)?;
            if r.namespaced {
                return Err(ApiError::path_not_found());
            }
            Ok(Target {
                r,
                ns: None,
                name: s(name),
                sub: None,
            })
        }
        [plural, name, sub] => {
            let r = find(plural)?;
            if r.namespaced {
                return Err(ApiError::path_not_found());
            }
            Ok(Target {
                r,
                ns: None,
                name: s(name),
                sub: s(sub),
            })
        }
        _ => Err(ApiError::path_not_found()),
    }
}

async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            if too_large {
                Err(ApiError::too_large(MAX_BODY))
            } else {
                Err(ApiError::bad_request(format!("reading request body: {e}")))
            }
        }
    }
}

fn write_options(q: &Query, headers: &HeaderMap) -> Result<WriteOptions, ApiError> {
    let dry_run = match q.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {other:?}, supported values: \"All\""
            )));
        }
    };
    let ua = header_str(headers, header::USER_AGENT);
    let user_agent_manager: String = ua
        .split('/')
        .next()
        .unwrap_or(ua)
        .chars()
        .take(128)
        .collect();
    Ok(WriteOptions {
        dry_run,
        field_manager: q.get("fieldManager").cloned(),
        user_agent_manager,
        apply: false,
        scale: false,
    })
}

fn object_response(
    code: StatusCode,
    r: &Resource,
    obj: &Value,
    accept: &str,
    q: &Query,
) -> Response {
    if table::wants_table(accept) {
        let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(Value::Null);
        let t = table::table(
            r,
            std::slice::from_ref(obj),
            include,
            true,
            json!({"resourceVersion": rv}),
        );
        return json_response_ct(code, &t, table::CONTENT_TYPE);
    }
    json_response(code, obj)
}

fn with_warnings(mut resp: Response, warnings: &[String]) -> Response {
    for w in warnings {
        if let Ok(v) = HeaderValue::from_str(&format!("299 - {w:?}")) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

/// The request's label and field selectors; `None` when they select everything.
fn selector_filter(r: &'static Resource, q: &Query) -> Result<Option<watch::Filter>, ApiError> {
    let labels = Selector::parse(q.get("labelSelector").map_or("", String::as_str))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(q.get("fieldSelector").map_or("", String::as_str), r.kind)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if labels.is_everything() && fields.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(move |v: &Value| {
        (labels.is_everything() || labels.matches(&meta::labels(v)))
            && (fields.is_empty() || fields.matches(r.kind, v))
    })))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rev: i64, key: &str) -> String {
    let t = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv: rev,
        start: key.into(),
    };
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&t).unwrap_or_default())
}

/// The revision and last key of a continue token.
fn decode_continue(s: &str) -> Result<(i64, String), ApiError> {
    let bad =
        || ApiError::bad_request("continue key is not valid: illegal base64 data at input byte 0");
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s))
        .map_err(|_| bad())?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((t.rv, t.start))
}

async fn resource(
    st: &Arc<AppState>,
    t: Target,
    method: Method,
    headers: &HeaderMap,
    q: Query,
    body: Body,
) -> Result<Dispatched, ApiError> {
    let r = t.r;
    let reg = st.registry.clone();
    let accept = header_str(headers, header::ACCEPT).to_owned();
    let ct = header_str(headers, header::CONTENT_TYPE).to_owned();
    let ns = t.ns.clone().unwrap_or_default();
    let done = |verb: &str, resp: Response| Ok((verb.to_owned(), r.plural.to_owned(), resp));
    if let Some(sub) = &t.sub
        && r.subresource(sub).is_none()
    {
        return Err(ApiError::path_not_found());
    }
    match (method, t.name.as_deref(), t.sub.as_deref()) {
        // Collections.
        (Method::GET, None, None) => {
            let watching = matches!(q.get("watch").map(String::as_str), Some("true" | "1"));
            let filter = selector_filter(r, &q)?;
            if watching {
                let w = WatchRequest {
                    resource: r,
                    namespace: t.ns.clone(),
                    filter,
                    resource_version: q.get("resourceVersion").cloned(),
                    send_initial_events: q.get("sendInitialEvents").map(String::as_str)
                        == Some("true"),
                    bookmarks: q.get("allowWatchBookmarks").map(String::as_str) == Some("true"),
                    timeout: q
                        .get("timeoutSeconds")
                        .and_then(|s| s.parse::<u64>().ok())
                        .map(Duration::from_secs),
                    table: table::wants_table(&accept)
                        .then(|| IncludeObject::parse(q.get("includeObject").map(String::as_str))),
                };
                return done("watch", watch::serve(reg, w).await?);
            }
            let limit = q
                .get("limit")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(0);
            let token = q
                .get("continue")
                .filter(|c| !c.is_empty())
                .map(|c| decode_continue(c))
                .transpose()?;
            // A token pins its list's revision (a non-positive one, as upstream's
            // inconsistent-continue tokens carry, reads the latest).
            let (at, start) = match token {
                Some((rv, key)) => ((rv > 0).then_some(rv), Some(key)),
                None => (None, None),
            };
            let page = reg
                .list(r, t.ns.as_deref(), start.clone(), at, limit, &|v| {
                    watch::matches(filter.as_ref(), v)
                })
                .await
                .map_err(|mut e| {
                    // Upstream's etcd3 store hands back a token that goes on from the same
                    // key at the latest revision (an inconsistent remainder), as the
                    // message says.
                    if e.code == 410
                        && let Some(key) = &start
                    {
                        e.details.list_continue = Some(encode_continue(-1, key));
                    }
                    e
                })?;
            let mut list_meta = json!({"resourceVersion": page.revision.to_string()});
            if let Some(k) = &page.next {
                list_meta["continue"] = json!(encode_continue(page.revision, k));
            }
            if table::wants_table(&accept) {
                let include = IncludeObject::parse(q.get("includeObject").map(String::as_str));
                let tb = table::table(r, &page.items, include, true, list_meta);
                return done(
                    "list",
                    json_response_ct(StatusCode::OK, &tb, table::CONTENT_TYPE),
                );
            }
            let list = json!({
                "kind": r.list_kind(),
                "apiVersion": r.api_version(),
                "metadata": list_meta,
                "items": page.items,
            });
            done("list", json_response(StatusCode::OK, &list))
        }
        (Method::POST, None, None) => {
            if r.namespaced && t.ns.is_none() {
                return Err(ApiError::method_not_supported(r, "create"));
            }
            let bytes = read_body(body).await?;
            let obj = codec::decode_body(&ct, &bytes)?;
            let fv = FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?;
            let warnings = codec::check_fields(r, &obj, fv)?;
            let opts = write_options(&q, headers)?;
            let created = reg.create(r, &ns, obj, &opts).await?;
            done(
                "create",
                with_warnings(
                    object_response(StatusCode::CREATED, r, &created, &accept, &q),
                    &warnings,
                ),
            )
        }
        (Method::DELETE, None, None) => {
            let filter = selector_filter(r, &q)?;
            let page = reg
                .list(r, t.ns.as_deref(), None, None, 0, &|v| {
                    watch::matches(filter.as_ref(), v)
                })
                .await?;
            let opts = delete_options(&q, &[])?;
            let mut deleted = Vec::new();
            for item in page.items {
                let name = meta::name(&item).to_owned();
                let ns = meta::namespace(&item).to_owned();
                match reg.delete(r, &ns, &name, &opts).await {
                    Ok(v) => deleted.push(v),
                    Err(e) if e.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            let list = json!({
                "kind": r.list_kind(),
                "apiVersion": r.api_version(),
                "metadata": {},
                "items": deleted,
            });
            done("deletecollection", json_response(StatusCode::OK, &list))
        }
        // Objects.
        (Method::GET, Some(name), None | Some("status")) => {
            let obj = reg.get(r, &ns, name).await?;
            done("get", object_response(StatusCode::OK, r, &obj, &accept, &q))
        }
        (Method::GET, Some(name), Some("scale")) => {
            let obj = reg.get(r, &ns, name).await?;
            done("get", json_response(StatusCode::OK, &to_scale(&obj)))
        }
        (Method::GET, Some(name), Some("log")) => {
            let pod = reg.get(r, &ns, name).await?;
            done("get", crate::logs::relay(&reg, &pod, &q).await?)
        }
        (Method::PUT, Some(name), sub) => {
            let bytes = read_body(body).await?;
            let obj = codec::decode_body(&ct, &bytes)?;
            let opts = write_options(&q, headers)?;
            match sub {
                None | Some("status") => {
                    let fv = FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?;
                    let warnings = codec::check_fields(r, &obj, fv)?;
                    let (v, created) = reg.update(r, &ns, name, sub, obj, &opts).await?;
                    let code = if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    done(
                        "update",
                        with_warnings(object_response(code, r, &v, &accept, &q), &warnings),
                    )
                }
                Some("scale") => {
                    let replicas = obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
                    let precondition = meta::meta_str(&obj, "resourceVersion")
                        .filter(|s| !s.is_empty())
                        .and_then(|s| s.parse().ok());
                    let f = move |cur: &Value| {
                        let mut new = cur.clone();
                        new["spec"]["replicas"] = replicas.clone();
                        Ok(new)
                    };
                    let opts = WriteOptions {
                        scale: true,
                        ..opts.clone()
                    };
                    let (v, _) = reg
                        .guaranteed_update(r, &ns, name, None, precondition, &opts, false, &f)
                        .await?;
                    done("update", json_response(StatusCode::OK, &to_scale(&v)))
                }
                Some("finalize") => {
                    let fins = obj
                        .pointer("/spec/finalizers")
                        .cloned()
                        .unwrap_or(json!([]));
                    let f = move |cur: &Value| {
                        let mut new = cur.clone();
                        new["spec"]["finalizers"] = fins.clone();
                        Ok(new)
                    };
                    let (v, _) = reg
                        .guaranteed_update(r, &ns, name, Some("finalize"), None, &opts, false, &f)
                        .await?;
                    done("update", json_response(StatusCode::OK, &v))
                }
                _ => Err(ApiError::method_not_supported(r, "update")),
            }
        }
        (Method::PATCH, Some(name), sub) => {
            let bytes = read_body(body).await?;
            let opts = write_options(&q, headers)?;
            let resp = patch_object(st, r, &ns, name, sub, &ct, &bytes, &q, &opts, &accept).await?;
            done("patch", resp)
        }
        (Method::DELETE, Some(name), None) => {
            let bytes = read_body(body).await?;
            let opts = delete_options(&q, &bytes)?;
            let v = reg.delete(r, &ns, name, &opts).await?;
            done("delete", json_response(StatusCode::OK, &v))
        }
        (Method::POST, Some(name), Some("binding")) => {
            let bytes = read_body(body).await?;
            let b = codec::decode_body(&ct, &bytes)?;
            if meta::name(&b) != name {
                return Err(ApiError::bad_request(
                    "name in URL does not match name in Binding object",
                ));
            }
            let node = b
                .pointer("/target/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if node.is_empty() {
                return Err(ApiError::bad_request("binding target name is required"));
            }
            // The binding's uid and resourceVersion are preconditions on the pod.
            let uid = meta::meta_str(&b, "uid").unwrap_or("").to_owned();
            let precondition = meta::meta_str(&b, "resourceVersion")
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid resourceVersion {s:?}"))
                    })
                })
                .transpose()?;
            let annotations = b.pointer("/metadata/annotations").cloned();
            let binding_r = Resource {
                plural: "pods/binding",
                ..*r
            };
            let f = |cur: &Value| {
                if !uid.is_empty() && meta::meta_str(cur, "uid") != Some(uid.as_str()) {
                    return Err(ApiError::conflict(&binding_r, name));
                }
                assign_pod(cur, &node, annotations.as_ref())
                    .map_err(|why| ApiError::conflict_msg(&binding_r, name, &why))
            };
            let opts = write_options(&q, headers)?;
            reg.guaranteed_update(
                r,
                &ns,
                name,
                Some("binding"),
                precondition,
                &opts,
                false,
                &f,
            )
            .await?;
            done(
                "create",
                json_response(
                    StatusCode::CREATED,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                ),
            )
        }
        (m, _, _) => Err(ApiError::method_not_supported(
            r,
            &m.to_string().to_lowercase(),
        )),
    }
}

/// `BindingREST.setPodNodeAndMetadata`: the pod bound to `node`, or why it cannot be. Like
/// upstream this is a plain storage update (no strategy, no validation): the node name, the
/// binding's annotations and a `PodScheduled=True` condition.
fn assign_pod(pod: &Value, node: &str, annotations: Option<&Value>) -> Result<Value, String> {
    let name = meta::name(pod);
    if meta::meta_str(pod, "deletionTimestamp").is_some() {
        return Err(format!(
            "pod {name} is being deleted, cannot be assigned to a host"
        ));
    }
    let cur = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !cur.is_empty() {
        return Err(format!("pod {name} is already assigned to node {cur:?}"));
    }
    if pod
        .pointer("/spec/schedulingGates")
        .and_then(Value::as_array)
        .is_some_and(|g| !g.is_empty())
    {
        return Err(format!("pod {name} has non-empty .spec.schedulingGates"));
    }
    let mut new = pod.clone();
    new["spec"]["nodeName"] = json!(node);
    if let Some(Value::Object(add)) = annotations
        && let Some(m) = meta::meta_mut(&mut new)
    {
        let anns = m.entry("annotations").or_insert_with(|| json!({}));
        if !anns.is_object() {
            *anns = json!({});
        }
        if let Some(anns) = anns.as_object_mut() {
            anns.extend(add.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    // podutil.UpdatePodCondition: replace the condition; the transition time moves only when
    // the status changes.
    if !new["status"].is_object() {
        new["status"] = json!({});
    }
    let conds = &mut new["status"]["conditions"];
    if !conds.is_array() {
        *conds = json!([]);
    }
    let mut cond = json!({
        "type": "PodScheduled",
        "status": "True",
        "lastProbeTime": null,
        "lastTransitionTime": meta::now_rfc3339(),
    });
    if let Some(list) = conds.as_array_mut() {
        match list.iter_mut().find(|c| c["type"] == "PodScheduled") {
            Some(old) => {
                if old["status"] == "True" {
                    cond["lastTransitionTime"] = old["lastTransitionTime"].clone();
                }
                *old = cond;
            }
            None => list.push(cond),
        }
    }
    Ok(new)
}

fn delete_options(q: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let b: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("json: {e}")))?
    };
    let grace = b
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| q.get("gracePeriodSeconds").and_then(|s| s.parse().ok()));
    let mut propagation = b
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| q.get("propagationPolicy").cloned());
    if propagation.is_none() {
        propagation = match b.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => Some("Orphan".to_owned()),
            Some(false) => Some("Background".to_owned()),
            None => None,
        };
    }
    if let Some(p) = &propagation
        && !matches!(p.as_str(), "Background" | "Foreground" | "Orphan")
    {
        return Err(ApiError::bad_request(format!(
            "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
        )));
    }
    let dry_run = b
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == "All"))
        || q.get("dryRun").map(String::as_str) == Some("All");
    Ok(DeleteOptions {
        grace_period: grace,
        propagation,
        precondition_uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        precondition_rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
        dry_run,
    })
}

/// `autoscaling/v1 Scale` of a Deployment or ReplicaSet.
fn to_scale(obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let selector = obj
        .pointer("/spec/selector")
        .and_then(|s| serde_json::from_value(s.clone()).ok())
        .map(
            |ls: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector| {
                Selector::from_label_selector(Some(&ls))
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            },
        )
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.get("name"),
            "namespace": m.get("namespace"),
            "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion"),
            "creationTimestamp": m.get("creationTimestamp"),
        },
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    })
}

#[allow(clippy::too_many_arguments)]
async fn patch_object(
    st: &Arc<AppState>,
    r: &'static Resource,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    ct: &str,
    body: &[u8],
    q: &Query,
    opts: &WriteOptions,
    accept: &str,
) -> Result<Response, ApiError> {
    let reg = &st.registry;
    let mt = codec::media_type(ct);
    let fv = FieldValidation::parse(q.get("fieldValidation").map(String::as_str))?;
    if mt == "application/apply-patch+yaml" {
        if opts.field_manager.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(
                "PATCH, application/apply-patch+yaml requests must specify a fieldManager",
            ));
        }
        let applied = codec::decode_yaml(body)?;
        let warnings = codec::check_fields(r, &applied, fv)?;
        let applied2 = applied.clone();
        let manager = opts.field_manager.clone().unwrap_or_default();
        let force = q.get("force").is_some_and(|v| v == "true");
        let now = meta::now_rfc3339();
        // An apply to `/status` is recorded with `subresource: status` (and owns only what
        // `/status` may change); other subresources' applies are not tracked.
        let tracked_sub = sub.filter(|s| *s == "status");
        let tracked = sub.is_none() || tracked_sub.is_some();
        let sub_name = tracked_sub.map(str::to_owned);
        let own = move |live: &Value, merged: Value| {
            patch::managed::apply_ownership(
                live,
                merged,
                &applied2,
                &manager,
                force,
                &now,
                sub_name.as_deref(),
            )
            .map_err(|c| patch::managed::conflict_error(&c))
        };
        let own2 = own.clone();
        let applied3 = applied.clone();
        let f = move |cur: &Value| {
            if cur.is_null() {
                return own(cur, applied3.clone());
            }
            let merged = patch::apply_merge(r.kind, cur, &applied3)
                .map_err(|e| ApiError::bad_request(e.to_string()))?;
            if tracked {
                own(cur, merged)
            } else {
                Ok(merged)
            }
        };
        let opts = &WriteOptions {
            apply: true,
            ..opts.clone()
        };
        match reg
            .guaranteed_update(r, ns, name, sub, None, opts, false, &f)
            .await
        {
            Ok((v, _)) => {
                return Ok(with_warnings(
                    object_response(StatusCode::OK, r, &v, accept, q),
                    &warnings,
                ));
            }
            Err(e) if e.code == 404 && sub.is_none() => {
                let mut obj = own2(&Value::Null, applied)?;
                if let Some(m) = meta::meta_mut(&mut obj) {
                    m.insert("name".into(), json!(name));
                }
                let v = reg.create(r, ns, obj, opts).await?;
                return Ok(with_warnings(
                    object_response(StatusCode::CREATED, r, &v, accept, q),
                    &warnings,
                ));
            }
            Err(e) => return Err(e),
        }
    }
    let Some(pt) = PatchType::from_content_type(&mt) else {
        return Err(ApiError::unsupported_media_type(ct));
    };
    let patch_json: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let precondition = if matches!(pt, PatchType::Merge | PatchType::StrategicMerge) {
        patch_json
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
    } else {
        None
    };
    let scale = sub == Some("scale");
    let body = body.to_vec();
    let warnings = std::sync::Mutex::new(Vec::new());
    let f = |cur: &Value| {
        let base = if scale { to_scale(cur) } else { cur.clone() };
        let kind = if scale { "Scale" } else { r.kind };
        let patched = patch::apply(kind, &base, &body, pt)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if scale {
            let mut new = cur.clone();
            new["spec"]["replicas"] = patched
                .pointer("/spec/replicas")
                .cloned()
                .unwrap_or(json!(0));
            return Ok(new);
        }
        let w = codec::check_fields(r, &patched, fv)?;
        if let Ok(mut g) = warnings.lock() {
            *g = w;
        }
        Ok(patched)
    };
    let real_sub = if scale { None } else { sub };
    let scale_opts;
    let opts = if scale {
        scale_opts = WriteOptions {
            scale: true,
            ..opts.clone()
        };
        &scale_opts
    } else {
        opts
    };
    let (v, _) = reg
        .guaranteed_update(r, ns, name, real_sub, precondition, opts, false, &f)
        .await?;
    if scale {
        return Ok(json_response(StatusCode::OK, &to_scale(&v)));
    }
    let w = warnings.lock().map(|g| g.clone()).unwrap_or_default();
    Ok(with_warnings(
        object_response(StatusCode::OK, r, &v, accept, q),
        &w,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::registry::tests::{pod, registry};

    #[test]
    fn assign_pod_refuses_like_upstream() {
        let mut p = pod("p");
        p["spec"]["nodeName"] = json!("n1");
        assert_eq!(
            assign_pod(&p, "n2", None).unwrap_err(),
            r#"pod p is already assigned to node "n1""#
        );
        let mut p = pod("p");
        p["spec"]["schedulingGates"] = json!([{"name": "wait"}]);
        assert_eq!(
            assign_pod(&p, "n2", None).unwrap_err(),
            "pod p has non-empty .spec.schedulingGates"
        );
        let mut p = pod("p");
        p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            assign_pod(&p, "n2", None).unwrap_err(),
            "pod p is being deleted, cannot be assigned to a host"
        );
    }

    /// BindingREST: a storage-level update that sets nodeName, merges the binding's
    /// annotations and adds `PodScheduled=True`; no strategy runs, so no generation bump.
    #[tokio::test]
    async fn binding_sets_node_annotations_and_condition() {
        let (reg, _dir) = registry().await;
        let r = resources::find("", "v1", "pods").unwrap();
        let mut body = pod("p");
        body["metadata"]["annotations"] = json!({"keep": "1"});
        let created = reg
            .create(r, "default", body, &WriteOptions::default())
            .await
            .unwrap();
        let add = json!({"from-binding": "2"});
        let f = |cur: &Value| Ok(assign_pod(cur, "n1", Some(&add)).unwrap());
        let (out, _) = reg
            .guaranteed_update(
                r,
                "default",
                "p",
                Some("binding"),
                None,
                &WriteOptions::default(),
                false,
                &f,
            )
            .await
            .unwrap();
        assert_eq!(out["spec"]["nodeName"], "n1");
        assert_eq!(
            out["metadata"]["annotations"],
            json!({"keep": "1", "from-binding": "2"})
        );
        assert_eq!(
            out["metadata"]["generation"], created["metadata"]["generation"],
            "binding runs no strategy"
        );
        let conds = out["status"]["conditions"].as_array().unwrap();
        let sched: Vec<_> = conds
            .iter()
            .filter(|c| c["type"] == "PodScheduled")
            .collect();
        assert_eq!(sched.len(), 1, "{conds:?}");
        assert_eq!(sched[0]["status"], "True");
        assert!(sched[0]["lastTransitionTime"].is_string());
        let stored = reg.get(r, "default", "p").await.unwrap();
        assert_eq!(stored["status"]["conditions"], out["status"]["conditions"]);
    }
}
