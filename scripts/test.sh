#!/usr/bin/env bash
# Sets up and runs every test: formatting, lints, unit, component and end-to-end tests (real
# kubectl, etcd, network namespaces). Tests that need root fail under CI=true when not root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check" && cargo fmt --all -- --check
echo "== cargo clippy" && cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  echo "== cargo nextest" && cargo nextest run --workspace --locked --no-fail-fast
  echo "== doc tests" && cargo test --workspace --locked --doc
else
  echo "== cargo test" && cargo test --workspace --locked --no-fail-fast
fi
