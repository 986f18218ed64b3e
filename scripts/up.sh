#!/usr/bin/env bash
# Sets up and runs a single-node tether cluster on the embedded store (`tether up`).
# Prints the `export KUBECONFIG=...` line to use from another shell. Extra args go to `tether up`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
cargo build --release --locked -p tether
exec ./target/release/tether up "$@"
