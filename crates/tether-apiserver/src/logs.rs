//! `pods/<name>/log`: relayed to the node agent that runs the pod (its address is the Node's
//! `tether.dev/kubelet-endpoint` annotation), streamed back as `text/plain` like upstream.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use tether_api::status::ApiError;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::registry::Registry;

/// The Node annotation holding the agent's logs address.
pub(crate) const ENDPOINT_ANNOTATION: &str = "tether.dev/kubelet-endpoint";

fn names_at(pod: &Value, pointer: &str) -> Vec<String> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|c| c.get("name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The container a log request is for, as upstream's `validateContainer`: the named one
/// (app, init or ephemeral), else the only app container.
fn pick_container(pod: &Value, name: &str, requested: Option<&String>) -> Result<String, ApiError> {
    let names = names_at(pod, "/spec/containers");
    match requested.filter(|c| !c.is_empty()) {
        Some(c) => {
            let known = names.contains(c)
                || names_at(pod, "/spec/initContainers").contains(c)
                || names_at(pod, "/spec/ephemeralContainers").contains(c);
            if known {
                Ok(c.clone())
            } else {
                Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )))
            }
        }
        None if names.len() == 1 => Ok(names[0].clone()),
        None if names.is_empty() => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        None => {
            let mut msg = format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            );
            let inits = names_at(pod, "/spec/initContainers");
            if !inits.is_empty() {
                msg.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            Err(ApiError::bad_request(msg))
        }
    }
}

/// Relays a log request for `pod`.
pub(crate) async fn relay(
    reg: &Registry,
    pod: &Value,
    q: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ns = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let container = pick_container(pod, name, q.get("container"))?;
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if node.is_empty() {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    }
    let nodes = tether_api::resources::find("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("no nodes resource"))?;
    let node_obj = reg.get(nodes, "", node).await?;
    let endpoint = node_obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(ENDPOINT_ANNOTATION))
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("node {node} has no agent serving logs")))?
        .to_owned();
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for k in [
            "follow",
            "previous",
            "tailLines",
            "limitBytes",
            "sinceSeconds",
            "timestamps",
        ] {
            if let Some(v) = q.get(k) {
                query.append_pair(k, v);
            }
        }
        query.finish()
    };
    let path = format!(
        "/containerLogs/{}/{}/{}?{}",
        percent(ns),
        percent(name),
        percent(&container),
        query
    );
    let unreachable =
        |e: std::io::Error| ApiError::internal(format!("Get \"http://{endpoint}{path}\": {e}"));
    let mut stream = tokio::net::TcpStream::connect(&endpoint)
        .await
        .map_err(unreachable)?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: {endpoint}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(unreachable)?;
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).await.map_err(unreachable)?;
    let code: u16 = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(502);
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await.map_err(unreachable)?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    if code != 200 {
        let mut body = String::new();
        let _ = reader.read_to_string(&mut body).await;
        return Err(ApiError::bad_request(body.trim().to_owned()));
    }
    let stream = tokio_util::io::ReaderStream::new(reader);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/plain")
        .body(Body::from_stream(stream))
        .map_err(ApiError::internal)
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
