#!/usr/bin/env bash
# Installs what tether and its tests need on Debian, when missing. Idempotent; run as root.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have nft        || need+=(nftables)
have ip         || need+=(iproute2)
have etcd       || need+=(etcd-server)
have protoc     || need+=(protobuf-compiler)
have dig        || need+=(dnsutils)
have curl       || need+=(curl)
have conntrack  || need+=(conntrack)
have gcc        || need+=(build-essential)
have pkg-config || need+=(pkg-config)
have python3    || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps.sh: missing ${need[*]} and not root: install them or run as root" >&2
    exit 1
  fi
  echo "deps.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The official Python client, for the client-library e2e tests (PyPI; Debian's Python is
# externally managed, which older pips do not know about and ignore).
if ! python3 -c 'import kubernetes' >/dev/null 2>&1; then
  echo "deps.sh: installing the Python kubernetes client (pip)" >&2
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet kubernetes
fi
if ! have cargo; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "deps.sh: no Rust toolchain; installing rustup (stable)" >&2
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt >/dev/null
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
