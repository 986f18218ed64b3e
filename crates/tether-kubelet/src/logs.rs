//! The agent's logs endpoint, which the API server relays `pods/<name>/log` to:
//! `GET /containerLogs/<namespace>/<pod>/<container>?follow=&previous=&tailLines=&limitBytes=`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;

use crate::pods::Shared;

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/containerLogs/{ns}/{pod}/{container}", get(logs))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(shared)
}

fn error(code: StatusCode, msg: String) -> Response {
    (code, msg).into_response()
}

fn runs(dir: &std::path::Path) -> Vec<i64> {
    let mut v: Vec<i64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".log")?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

fn tail(data: &[u8], lines: usize) -> &[u8] {
    if lines == 0 {
        return &data[data.len()..];
    }
    let mut count = 0;
    let end = if data.ends_with(b"\n") {
        data.len() - 1
    } else {
        data.len()
    };
    for i in (0..end).rev() {
        if data[i] == b'\n' {
            count += 1;
            if count == lines {
                return &data[i + 1..];
            }
        }
    }
    data
}

async fn logs(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let uid = shared
        .pods
        .lock()
        .ok()
        .and_then(|m| m.get(&format!("{ns}/{pod}")).cloned());
    let Some(uid) = uid else {
        return error(
            StatusCode::NOT_FOUND,
            format!("pod {ns}/{pod} is not running on this node"),
        );
    };
    let dir = shared
        .cfg
        .data_dir
        .join("pods")
        .join(&uid)
        .join("logs")
        .join(&container);
    let all = runs(&dir);
    let previous = q.get("previous").is_some_and(|v| v == "true");
    let run = if previous {
        match all.len() {
            n if n >= 2 => all[n - 2],
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                    ),
                );
            }
        }
    } else {
        match all.last() {
            Some(r) => *r,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                    ),
                );
            }
        }
    };
    let file = dir.join(format!("{run}.log"));
    let data = tokio::fs::read(&file).await.unwrap_or_default();
    let mut start: Vec<u8> = match q.get("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        Some(n) => tail(&data, n).to_vec(),
        None => data.clone(),
    };
    if let Some(limit) = q.get("limitBytes").and_then(|t| t.parse::<usize>().ok()) {
        start.truncate(limit);
    }
    let follow = q.get("follow").is_some_and(|v| v == "true") && !previous;
    if !follow {
        return Response::builder()
            .header("content-type", "text/plain")
            .body(Body::from(start))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    let mut offset = data.len() as u64;
    let stream = async_stream::stream! {
        yield Ok::<Bytes, std::io::Error>(Bytes::from(start));
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let gone = shared.pods.lock().map(|m| !m.contains_key(&format!("{ns}/{pod}"))).unwrap_or(true);
            match tokio::fs::read(&file).await {
                Ok(d) if d.len() as u64 > offset => {
                    let from = usize::try_from(offset).unwrap_or(d.len()).min(d.len());
                    offset = d.len() as u64;
                    yield Ok(Bytes::copy_from_slice(&d[from..]));
                }
                Ok(_) => {}
                Err(_) => break,
            }
            // A newer run means this container restarted: its stream ends, like upstream.
            if gone || runs(&dir).last().is_some_and(|r| *r > run) {
                break;
            }
        }
    };
    Response::builder()
        .header("content-type", "text/plain")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tail_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\n", 5), b"a\n");
        assert_eq!(tail(b"a\n", 0), b"");
    }
}
