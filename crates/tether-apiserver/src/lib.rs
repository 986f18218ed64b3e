//! The Kubernetes HTTP API.
