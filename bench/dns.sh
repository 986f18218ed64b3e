#!/usr/bin/env bash
# DNS benchmark (issue 5): tether-dns vs unbound, same names, same run, same load generators.
#
#   bench/dns.sh            # 10k Services, 90 % hits / 10 % NXDOMAIN, 2 interleaved rounds
#   SERVICES=10000 DURATION=10 ROUNDS=2 bench/dns.sh
#
# Needs: target/release/tether-bench (cargo build --release -p tether-bench), dnsperf, unbound
# (apt-get install -y dnsperf unbound). Everything runs on 127.0.0.1 with free ports; unbound is
# started by PID with a config file in a temp dir (never the system service) and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
BENCH=${BENCH:-target/release/tether-bench}
SERVICES=${SERVICES:-10000}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CLIENTS=${CLIENTS:-8}
bench_tmp tb-dns
rss() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ)"
echo "# unbound: $(unbound -V | head -1); dnsperf: $(dnsperf -h 2>&1 | grep -m1 Version)"
$BENCH dns-gen --services "$SERVICES" --out "$TMP" >/dev/null

TP=$(free_port)
$BENCH dns-serve --services "$SERVICES" --addr "127.0.0.1:$TP" >"$TMP/tether.out" 2>&1 &
TPID=$!; PIDS+=("$TPID")
# SINGLE=1 adds tether's earlier one-datagram-per-syscall loop as a third server.
if [ -n "${SINGLE:-}" ]; then
  SP=$(free_port)
  $BENCH dns-serve --services "$SERVICES" --addr "127.0.0.1:$SP" --udp-single >"$TMP/single.out" 2>&1 &
  SPID=$!; PIDS+=("$SPID")
fi

UP=$(free_port)
cat >"$TMP/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: $UP
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$TMP"
  pidfile: "$TMP/unbound.pid"
  use-syslog: no
  logfile: ""
  verbosity: 0
  num-threads: 2
  so-reuseport: yes
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  minimal-responses: yes
  include: "$TMP/unbound-local.conf"
remote-control:
  control-enable: no
EOF
unbound-checkconf "$TMP/unbound.conf" >/dev/null
unbound -d -c "$TMP/unbound.conf" >"$TMP/unbound.out" 2>&1 &
UPID=$!; PIDS+=("$UPID")

for _ in $(seq 100); do
  grep -q dns_ready "$TMP/tether.out" 2>/dev/null &&
    { [ -z "${SINGLE:-}" ] || grep -q dns_ready "$TMP/single.out" 2>/dev/null; } && dig +short +time=1 +tries=1 -p "$UP" @127.0.0.1 svc-1.ns-1.svc.cluster.local >/dev/null 2>&1 && break
  sleep 0.2
done
grep dns_ready "$TMP/tether.out"
echo "check: tether  $(dig +short -p "$TP" @127.0.0.1 svc-1.ns-1.svc.cluster.local) / nx: $(dig -p "$TP" @127.0.0.1 nx-1.ns-1.svc.cluster.local | grep -o 'status: [A-Z]*')"
echo "check: unbound $(dig +short -p "$UP" @127.0.0.1 svc-1.ns-1.svc.cluster.local) / nx: $(dig -p "$UP" @127.0.0.1 nx-1.ns-1.svc.cluster.local | grep -o 'status: [A-Z]*')"
echo "rss_idle_kib tether=$(rss "$TPID") unbound=$(rss "$UPID")"

perf() { # name port
  local out
  out=$(dnsperf -s 127.0.0.1 -p "$2" -d "$TMP/queries.dnsperf" -l "$DURATION" -c 4 -T 1 -q 100 -t 1 2>&1)
  echo "dnsperf_$1 qps=$(echo "$out" | awk '/Queries per second/{print $4}') lost=$(echo "$out" | awk '/Queries lost/{print $3}') avg_latency_s=$(echo "$out" | awk '/Average Latency/{print $4}') rcodes=\"$(echo "$out" | grep -A3 'Response codes' | head -1 | sed 's/.*codes: *//')\""
}
for r in $(seq "$ROUNDS"); do
  echo "## round $r"
  wait_quiet
  perf tether "$TP"
  [ -n "${SINGLE:-}" ] && perf tether_single "$SP"
  perf unbound "$UP"
  $BENCH dns-load --server "127.0.0.1:$TP" --names "$TMP/queries.txt" --clients "$CLIENTS" --duration "$DURATION" --label "load_tether" | tr '\n' ' '; echo
  if [ -n "${SINGLE:-}" ]; then
    $BENCH dns-load --server "127.0.0.1:$SP" --names "$TMP/queries.txt" --clients "$CLIENTS" --duration "$DURATION" --label "load_tether_single" | tr '\n' ' '; echo
  fi
  $BENCH dns-load --server "127.0.0.1:$UP" --names "$TMP/queries.txt" --clients "$CLIENTS" --duration "$DURATION" --label "load_unbound" | tr '\n' ' '; echo
  $BENCH dns-load --server "127.0.0.1:$TP" --names "$TMP/queries.txt" --clients 1 --duration 3 --label "rtt1_tether" | grep -E 'qps|p50|p99_' | tr '\n' ' '; echo
  $BENCH dns-load --server "127.0.0.1:$UP" --names "$TMP/queries.txt" --clients 1 --duration 3 --label "rtt1_unbound" | grep -E 'qps|p50|p99_' | tr '\n' ' '; echo
done
echo "rss_after_load_kib tether=$(rss "$TPID") unbound=$(rss "$UPID")"
kill "$TPID" "$UPID" ${SPID:+"$SPID"}; wait "$TPID" 2>/dev/null || true; wait "$UPID" 2>/dev/null || true
[ -n "${SPID:-}" ] && { wait "$SPID" 2>/dev/null || true; }
PIDS=()

# RSS at other sizes (index only, no load).
for n in ${RSS_SIZES:-10000 100000}; do
  P=$(free_port)
  $BENCH dns-serve --services "$n" --addr "127.0.0.1:$P" >"$TMP/rss.out" 2>&1 &
  RP=$!; PIDS+=("$RP")
  for _ in $(seq 200); do grep -q dns_ready "$TMP/rss.out" && break; sleep 0.1; done
  sleep 0.3
  echo "rss services=$n $(grep dns_ready "$TMP/rss.out" | sed 's/dns_ready //') rss_now_kib=$(rss "$RP")"
  kill "$RP"; wait "$RP" 2>/dev/null || true
  PIDS=()
done
