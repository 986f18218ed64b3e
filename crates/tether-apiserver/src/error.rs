//! `ApiError` → HTTP response: every failure is an upstream `Status` body.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tether_api::ApiError;

/// Wrapper so handlers can `?` into a response.
#[derive(Debug)]
pub(crate) struct ErrorResponse(pub(crate) ApiError);

impl From<ApiError> for ErrorResponse {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.0.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.0.to_status()).unwrap_or_default();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Maps a store failure to the Status upstream gives for an etcd failure.
pub(crate) fn store_error(e: tether_store::Error) -> ApiError {
    match e {
        tether_store::Error::Compacted {
            requested,
            compacted,
        } => ApiError::expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        other => ApiError::internal(other),
    }
}
