#!/usr/bin/env bash
# Pod benchmark (issue 3): pod start → Ready, Ready → EndpointSlice (p50/p99), and pods churned
# through one node: the agent's CPU and RSS.
#
#   bench/pods.sh                                  # 100 latency pods in batches of 10; 500 churned in waves of 100
#   LATENCY_PODS=50 CHURN_PODS=200 WAVE=50 bench/pods.sh
#
# A fresh `tether server --insecure-plain-http` on a free 127.0.0.1 port and one `tether agent`
# in its own node namespace `tb-pods-<pid>` (created by the agent, deleted on exit with its
# pods); then `tether-bench pods`. Pods are the built-in agnhost netexec (no readiness probe:
# Ready when the process runs). Processes are stopped by PID; temp dirs removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
[ "$(id -u)" = 0 ] || { echo "bench/pods.sh needs root (network namespaces)" >&2; exit 1; }
TETHER=${TETHER:-target/release/tether}
BENCH=${BENCH:-target/release/tether-bench}
LATENCY_PODS=${LATENCY_PODS:-100}
BATCH=${BATCH:-10}
CHURN_PODS=${CHURN_PODS:-500}
WAVE=${WAVE:-100}
NETNS=tb-pods-$$
bench_tmp tb-pods
# After the agent stops it has removed its pods. If it died instead, the pods it left are
# the directories under its data dir (one per pod UID): their namespaces are tp-<first 12
# alphanumerics of the UID> (tether-kubelet's netns_name); their processes (started by our
# agent) are stopped by PID and the namespaces deleted.
cleanup_extra() {
  local d uid ns pid
  for d in "$TMP"/agent/pods/*/; do
    [ -d "$d" ] || continue
    uid=$(basename "$d")
    ns="tp-$(printf '%s' "$uid" | tr -cd 'A-Za-z0-9' | cut -c1-12)"
    [ -e "/run/netns/$ns" ] || continue
    echo "# cleaning up pod namespace $ns left by the agent" >&2
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  ip netns del "$NETNS" 2>/dev/null || true
}
mem() { awk '/^VmRSS|^VmHWM/{printf "%s=%s ", $1, $2}' "/proc/$1/status"; }

echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ)"
SP=$(free_port)
"$TETHER" server --data-dir "$TMP/server" --listen "127.0.0.1:$SP" --insecure-plain-http \
  >"$TMP/server.log" 2>&1 &
SPID=$!; PIDS+=("$SPID")
for _ in $(seq 150); do [ -f "$TMP/server/kubeconfig" ] && curl -s -m1 "http://127.0.0.1:$SP/version" >/dev/null 2>&1 && break; sleep 0.2; done
"$TETHER" agent --kubeconfig "$TMP/server/kubeconfig" --node-name bench-node --node-ip 10.255.0.2 \
  --netns "$NETNS" --create-netns --data-dir "$TMP/agent" --cleanup-on-exit --no-dns \
  --logs-listen 127.0.0.1:0 >"$TMP/agent.log" 2>&1 &
APID=$!; PIDS=("$APID" "${PIDS[@]}")
for _ in $(seq 150); do
  kubectl --kubeconfig "$TMP/server/kubeconfig" get node bench-node -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True && break
  sleep 0.2
done
wait_quiet
echo "# agent at start: $(mem "$APID")"
"$BENCH" pods --server "127.0.0.1:$SP" --agent-pid "$APID" --server-pid "$SPID" \
  --latency-pods "$LATENCY_PODS" --batch "$BATCH" --churn-pods "$CHURN_PODS" --wave "$WAVE" \
  || { echo "bench failed"; tail -20 "$TMP/agent.log"; }
echo "# agent at end: $(mem "$APID") server: $(mem "$SPID")"
