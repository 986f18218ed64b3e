#!/usr/bin/env bash
# The agent's data-plane path end to end (issue 4): from an API write to the element in the
# node's nftables table, at 1k / 10k / 50k Services.
#
#   bench/agent-sync.sh                          # COUNTS="1000 10000", 20 changes of each kind
#   COUNTS=50000 CHANGES=20 bench/agent-sync.sh
#
# Per size: a fresh `tether server --insecure-plain-http` (embedded store, temp dir, free
# 127.0.0.1 port) and a fresh `tether agent --create-netns --no-dns` whose node namespace is
# tb-<hex>-node; then `tether-bench agent-sync`: N selector-less Services, each with an
# EndpointSlice of 5 endpoints written directly, until the kernel holds them all; then single
# changes (Service + slice added, one endpoint replaced, Service deleted), each timed from
# its request's send until a netlink lookup finds it in the kernel. Agent and server RSS after.
# Needs root, nft, target/release/{tether,tether-bench}. Every process is started and
# stopped by PID; the namespace and temp dirs are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
TETHER=${TETHER:-target/release/tether}
BENCH=${BENCH:-target/release/tether-bench}
COUNTS=${COUNTS:-1000 10000}
CHANGES=${CHANGES:-20}
CLIENTS=${CLIENTS:-16}
ID=tb-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NODE=$ID-node
cleanup_extra() { ip netns del "$NODE" 2>/dev/null || true; }
bench_tmp tb-as
mem() { awk '/^VmRSS|^VmHWM/{printf "%s=%s ", $1, $2}' "/proc/$1/status"; }

echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ) $(nft --version)"
for n in $COUNTS; do
  SP=$(free_port); MP=$(free_port)
  "$TETHER" server --data-dir "$TMP/data-$n" --listen "127.0.0.1:$SP" --insecure-plain-http \
    >"$TMP/server-$n.log" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 150); do
    [ -f "$TMP/data-$n/kubeconfig" ] && curl -s -m1 "http://127.0.0.1:$SP/version" >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$TETHER" agent --kubeconfig "$TMP/data-$n/kubeconfig" --netns "$NODE" --create-netns --no-dns \
    --node-name bench-node --data-dir "$TMP/agent-$n" --metrics-listen "127.0.0.1:$MP" --cleanup-on-exit \
    >"$TMP/agent-$n.log" 2>&1 &
  APID=$!; PIDS+=("$APID")
  for _ in $(seq 150); do [ -e "/run/netns/$NODE" ] && break; sleep 0.2; done
  wait_quiet
  "$BENCH" agent-sync --server "127.0.0.1:$SP" --netns "/run/netns/$NODE" --count "$n" \
    --changes "$CHANGES" --clients "$CLIENTS" 2>"$TMP/bench-$n.err" ||
    { echo "agent_sync services=$n failed: $(grep -m3 -iE "error|panicked" "$TMP/bench-$n.err" | tr "\n" " ")"; tail -3 "$TMP/agent-$n.log"; }
  echo "agent_sync services=$n agent: $(mem "$APID") server: $(mem "$SPID")"
  echo "agent_sync services=$n agent_syncs: $(curl -s "http://127.0.0.1:$MP/metrics" | grep -E '^tether_nft_sync_proxy_rules_total|^tether_nft_sync_proxy_rules\{' | tr '\n' ' ')"
  kill "$APID"; wait "$APID" 2>/dev/null || true
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  PIDS=()
  ip netns del "$NODE" 2>/dev/null || true
done
