#!/usr/bin/env bash
# API benchmark (issue 2): embedded store vs etcd, same run, same client.
#
#   bench/api.sh                          # 10k Services, 16 clients, 100 watchers x 1k changes
#   COUNT=2000 CLIENTS=8 BACKENDS="embedded" bench/api.sh
#
# Per backend: a fresh `tether server --insecure-plain-http` on a free 127.0.0.1 port (and for
# etcd a fresh `etcd` on free ports with a temp data dir), then `tether-bench api`: parallel
# Service creates (req/s, p50/p99), list of all of them, and WATCHERS watch streams receiving
# CHANGES creates (delivery latency from request send to event arrival). Server RSS after.
# Every process is started and stopped by PID; temp dirs are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
TETHER=${TETHER:-target/release/tether}
BENCH=${BENCH:-target/release/tether-bench}
COUNT=${COUNT:-10000}
CLIENTS=${CLIENTS:-16}
WATCHERS=${WATCHERS:-100}
CHANGES=${CHANGES:-1000}
BACKENDS=${BACKENDS:-embedded etcd}
bench_tmp tb-api
mem() { awk '/^VmRSS|^VmHWM/{printf "%s=%s ", $1, $2}' "/proc/$1/status"; }

echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ) etcd=$(etcd --version 2>/dev/null | head -1)"
for b in $BACKENDS; do
  extra=()
  EPID=
  if [ "$b" = etcd ]; then
    CP=$(free_port); PP=$(free_port)
    etcd --name tb --data-dir "$TMP/etcd-data" \
      --listen-client-urls "http://127.0.0.1:$CP" --advertise-client-urls "http://127.0.0.1:$CP" \
      --listen-peer-urls "http://127.0.0.1:$PP" --initial-advertise-peer-urls "http://127.0.0.1:$PP" \
      --initial-cluster "tb=http://127.0.0.1:$PP" --listen-metrics-urls "" \
      >"$TMP/etcd.log" 2>&1 &
    EPID=$!; PIDS+=("$EPID")
    for _ in $(seq 100); do curl -s -m1 "http://127.0.0.1:$CP/health" | grep -q true && break; sleep 0.2; done
    extra=(--etcd-endpoints "http://127.0.0.1:$CP")
  fi
  SP=$(free_port)
  mkdir -p "$TMP/data-$b"
  "$TETHER" server --data-dir "$TMP/data-$b" --listen "127.0.0.1:$SP" --insecure-plain-http "${extra[@]}" \
    >"$TMP/server-$b.log" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
  for _ in $(seq 150); do curl -s -m1 "http://127.0.0.1:$SP/version" >/dev/null 2>&1 && break; sleep 0.2; done
  wait_quiet
  echo "## backend=$b server_rss_start: $(mem "$SPID")"
  "$BENCH" api --server "127.0.0.1:$SP" --count "$COUNT" --clients "$CLIENTS" \
    --watchers "$WATCHERS" --changes "$CHANGES" --label "$b" 2>"$TMP/bench-$b.err" || { echo "bench failed: $(grep -m3 -iE "error|panicked" "$TMP/bench-$b.err" | tr "\n" " ")"; }
  echo "backend=$b server_after: $(mem "$SPID")${EPID:+ etcd_after: $(mem "$EPID")}"
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  if [ -n "$EPID" ]; then kill "$EPID"; wait "$EPID" 2>/dev/null || true; fi
  PIDS=()
done
