#!/usr/bin/env bash
# Data-plane benchmark (issue 4): client netns -> veth -> node netns -> bridge -> 3 pod netns.
#
#   bench/dataplane.sh                 # 2 interleaved rounds, wrk 8 s each, iperf3 5 s each
#   ROUNDS=1 WRK_SECS=5 IPERF_SECS=3 MODES="direct nft" bench/dataplane.sh
#
# Modes (each one in the same topology, same run):
#   direct     client -> pod IP 10.244.0.2:8080 (routed through the node; the limit)
#   nft        client -> ClusterIP 10.96.0.10:80, tether_nft::Proxier rules in the node netns
#              (cluster CIDR 10.244.0.0/16 set, so this off-cluster client is masqueraded)
#   nft-nomasq the same rules without a cluster CIDR (no masquerade; diagnostic)
#   nft-random the agent's rules but masquerading `fully-random`, as kube-proxy does
#   nft-ft     the nft rules plus a flowtable (established flows skip conntrack and routing)
#   nft-lean   the nft rules with the node's per-namespace conntrack sysctls that cost CPU per
#              packet turned off (checksum verification, TCP window tracking; diagnostic)
#   nft-netdev the agent's rules with its conntrack-free fast path (tether_nft::netdev, as the
#              agent programs it for clients on its uplink's subnet): ingress hooks on the
#              uplink tbn0 and the bridge tbbr0 pick an endpoint per SYN, remember the flow in
#              dynamic maps, rewrite statelessly and `fwd` the packets: no conntrack, no IP
#              stack in the node
#   ebpf       the agent's rules plus its eBPF fast path (tether_ebpf, as
#              `tether agent --ebpf-fast-path` programs it): tcx programs on the uplink and the
#              pods' veths, one LRU-hash and one array lookup per packet of a known flow, the
#              rewrite by the checksum helpers and bpf_redirect_neigh (no conntrack, no IP
#              stack in the node)
#   direct3    direct over the three pods: three wrk processes (one thread, a third of the
#              connections each), one per pod IP, their requests summed (the yardstick for
#              the Service modes, which spread over three pods; iperf3 as direct)
#   ebpf3      ebpf driven as direct3 is (three wrk processes, all to the ClusterIP): the
#              same client against the same three servers
#   direct-ct  direct, with the nft rules loaded (so the node runs conntrack, as any node
#              with Service rules does, also for traffic addressed to a pod)
#   userspace  client -> 10.96.0.30:80, tether_proxy::Proxy in the node netns
#   userspace-b  the same on 10.96.0.31 with PROXY_B_ARGS and BENCH_B (an A/B of proxy settings
#              or of two builds in one run, e.g. PROXY_B_ARGS="--runtime per-core")
#   haproxy    client -> 10.96.0.20:80, HAProxy (Debian, TCP mode, nbthread 2, roundrobin)
# HTTP backends: `tether agnhost netexec --http-port=8080` in each pod, path /hostname.
# BACKENDS="10.244.0.2:8080" gives the Service modes the one pod `direct` uses (a like-for-like
# yardstick: by default they spread over three pods, whose servers then share the CPU).
# PERF=DIR records a system-wide profile (perf record -a -g) of each wrk run into
# DIR/<mode>-<keepalive|newconn>.data (diagnostic: where a mode spends its CPU).
# NSTAT=1 adds the client's TCP counters (retransmits, SYN retransmits) after each mode.
# iperf3: one server in pod 1 on 5201, reached through each mode's port 5201 (one backend).
#
# Needs root, iproute2, nft, wrk, iperf3, haproxy, target/release/{tether,tether-bench}.
# Creates only namespaces named tb-<hex>-*, deletes them and kills its processes on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
TETHER=${TETHER:-target/release/tether}
BENCH=${BENCH:-target/release/tether-bench}
ROUNDS=${ROUNDS:-2}
WRK_SECS=${WRK_SECS:-8}
IPERF_SECS=${IPERF_SECS:-5}
CONNS=${CONNS:-32}
MODES=${MODES:-direct nft userspace haproxy}
PROXY_ARGS=${PROXY_ARGS:-}   # extra arguments of `tether-bench proxy` (e.g. --workers 1)
PROXY_B_ARGS=${PROXY_B_ARGS:-}   # the same for mode userspace-b
BENCH_B=${BENCH_B:-$BENCH}       # the tether-bench binary of mode userspace-b (A/B of two builds)
ID=tb-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
C=$ID-c; N=$ID-n
cleanup_extra() {
  for ns in "$C" "$N" "$ID-p1" "$ID-p2" "$ID-p3"; do ip netns del "$ns" 2>/dev/null || true; done
}
bench_tmp tb-dp
export NSTAT_HISTORY=$TMP/nstat.hist
# (background processes are started with `ip netns exec` itself, which execs, so $! is their PID)
inn() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ) id=$ID"
echo "# $(haproxy -v | head -1 | cut -c1-40); $(wrk -v 2>&1 | head -1 | cut -c1-30); $(iperf3 -v | head -1)"

# --- topology ---
ip netns add "$C"; ip netns add "$N"
ip link add tbc0 netns "$C" type veth peer name tbn0 netns "$N"
inn "$C" ip addr add 10.10.0.2/24 dev tbc0
inn "$C" ip link set lo up; inn "$C" ip link set tbc0 up
inn "$C" ip route add default via 10.10.0.1
inn "$N" ip addr add 10.10.0.1/24 dev tbn0
inn "$N" ip link set lo up; inn "$N" ip link set tbn0 up
inn "$N" sysctl -qw net.ipv4.ip_forward=1
inn "$N" ip link add tbbr0 type bridge
inn "$N" ip addr add 10.244.0.1/24 dev tbbr0
inn "$N" ip link set tbbr0 up
inn "$N" ip addr add 10.96.0.20/32 dev lo
inn "$N" ip addr add 10.96.0.30/32 dev lo
inn "$N" ip addr add 10.96.0.31/32 dev lo
for i in 1 2 3; do
  P=$ID-p$i
  ip netns add "$P"
  ip link add tbp$i netns "$N" type veth peer name eth0 netns "$P"
  inn "$N" ip link set tbp$i master tbbr0
  inn "$N" ip link set tbp$i up
  inn "$P" ip link set lo up
  inn "$P" ip addr add 10.244.0.$((i + 1))/24 dev eth0
  inn "$P" ip link set eth0 up
  inn "$P" ip route add default via 10.244.0.1
  ip netns exec "$P" "$TETHER" agnhost netexec --http-port=8080 >"$TMP/pod$i.log" 2>&1 &
  PIDS+=($!)
done
ip netns exec "$ID-p1" iperf3 -s -p 5201 >/dev/null 2>&1 &
PIDS+=($!)
BACKENDS=${BACKENDS:-10.244.0.2:8080 10.244.0.3:8080 10.244.0.4:8080}
for _ in $(seq 50); do
  inn "$C" curl -s -m1 http://10.244.0.4:8080/hostname >/dev/null 2>&1 && break; sleep 0.2
done

# --- HAProxy (own config, by PID, never the system service) ---
cat >"$TMP/haproxy.cfg" <<EOF
global
  nbthread 2
  maxconn 4000
defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend web
  bind 10.96.0.20:80
  default_backend pods
backend pods
  balance roundrobin
  server p1 10.244.0.2:8080
  server p2 10.244.0.3:8080
  server p3 10.244.0.4:8080
frontend iperf
  bind 10.96.0.20:5201
  default_backend iperf
backend iperf
  server p1 10.244.0.2:5201
EOF
haproxy -c -q -f "$TMP/haproxy.cfg"
ip netns exec "$N" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS+=($!); HAPROXY_PID=$!

# --- tether userspace proxy ---
# shellcheck disable=SC2086
ip netns exec "$N" "$BENCH" proxy --listen 10.96.0.30:80 --backends $BACKENDS --extra 5201=10.244.0.2:5201 $PROXY_ARGS >"$TMP/proxy.log" 2>&1 &
PIDS+=($!); PROXY_PID=$!
PROXY_B_PID=
case " $MODES " in *" userspace-b "*)
  # shellcheck disable=SC2086
  ip netns exec "$N" "$BENCH_B" proxy --listen 10.96.0.31:80 --backends $BACKENDS --extra 5201=10.244.0.2:5201 $PROXY_B_ARGS >"$TMP/proxy-b.log" 2>&1 &
  PIDS+=($!); PROXY_B_PID=$! ;;
esac
sleep 0.5

target() {
  case $1 in
    direct|direct-ct|direct3) echo 10.244.0.2:8080 10.244.0.2:5201 ;;
    nft|nft-nomasq|nft-random|nft-ft|nft-lean|nft-netdev|ebpf|ebpf3) echo 10.96.0.10:80 10.96.0.10:5201 ;;
    userspace) echo 10.96.0.30:80 10.96.0.30:5201 ;;
    userspace-b) echo 10.96.0.31:80 10.96.0.31:5201 ;;
    haproxy) echo 10.96.0.20:80 10.96.0.20:5201 ;;
  esac
}
# CPU time (user + system, clock ticks) of process $1 so far, threads included.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The process serving mode $1 (empty for the kernel modes).
proxy_pid() {
  case $1 in
    userspace) echo "$PROXY_PID" ;;
    userspace-b) echo "$PROXY_B_PID" ;;
    haproxy) echo "$HAPROXY_PID" ;;
  esac
}
# Busy CPU time of the whole machine so far (user, nice, system, irq, softirq: not idle,
# iowait or steal), clock ticks.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
wrk_run() { # label url extra-args...
  local out pid t0 t1 m0 m1 reqs cpu=""
  pid=$(proxy_pid "${1%% *}")
  [ -n "$pid" ] && t0=$(cpu_ticks "$pid")
  m0=$(machine_ticks)
  local perf_pid=
  if [ -n "${PERF:-}" ]; then
    perf record -q -a -g -o "$PERF/${1// /-}.data" -- sleep "$WRK_SECS" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  if [ "${1%% *}" = direct3 ] || [ "${1%% *}" = ebpf3 ]; then
    # Three wrk processes, one thread each, a third of the connections each: to each pod
    # (direct3), or all to the ClusterIP (ebpf3).
    local i url=${*: -1} args=("${@:2:$#-2}") n=$((CONNS / 3)) wpids=()
    for i in 2 3 4; do
      inn "$C" wrk -t1 -c"$n" -d"${WRK_SECS}s" --latency "${args[@]}" "${url/10.244.0.2/10.244.0.$i}" >"$TMP/wrk$i" 2>&1 &
      wpids+=($!)
    done
    for i in "${wpids[@]}"; do wait "$i" 2>/dev/null || true; done
    m1=$(machine_ticks)
    out=$(awk '/requests in/{n += $1} /Requests\/sec/{r += $2} END {printf "%d requests in\nRequests/sec: %.2f\n", n, r}' "$TMP"/wrk[234])
  else
    out=$(inn "$C" wrk -t2 -c"$CONNS" -d"${WRK_SECS}s" --latency "${@:2}" 2>&1) || true
    m1=$(machine_ticks)
  fi
  [ -n "$perf_pid" ] && wait "$perf_pid" 2>/dev/null
  reqs=$(echo "$out" | awk '/requests in/{print $1}')
  # The machine's CPU per request (client, pods and data plane together): the data planes
  # differ only in their own part, and unlike req/s it does not move with CPU steal.
  cpu=$(awk -v d=$((m1 - m0)) -v n="${reqs:-0}" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (n > 0) printf " machine_cpu_us_per_req=%.1f", d / hz * 1e6 / n }')
  if [ -n "$pid" ]; then
    # The proxy's own CPU per request: unlike req/s, not moved by other tenants' load.
    t1=$(cpu_ticks "$pid")
    cpu+=$(awk -v d=$((t1 - t0)) -v n="${reqs:-0}" -v hz="$(getconf CLK_TCK)" \
      'BEGIN { if (n > 0) printf " proxy_cpu_us_per_req=%.1f", d / hz * 1e6 / n }')
  fi
  printf '%s rps=%s p50=%s p99=%s%s errors="%s"\n' "$1" \
    "$(echo "$out" | awk '/Requests\/sec/{print $2}')" \
    "$(echo "$out" | awk '$1=="50%"{print $2}')" \
    "$(echo "$out" | awk '$1=="99%"{print $2}')" \
    "$cpu" \
    "$(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ')"
}

# TIME_WAIT sockets the pods hold. A new connection that lands on the 4-tuple of one of them
# is accepted only if its sequence number and timestamp move forward, which holds for the
# same originator and route but not across modes: masquerade and the proxies both reach the
# pods from the node's address 10.244.0.1, and an unmasqueraded client's timestamps and
# sequence numbers depend on the address it dialled (a pod IP in `direct`, a ClusterIP in
# `nft-nomasq`). Such a SYN is answered with a stale ACK and retried after 1 s: nft's new
# connections once fell to ~240 req/s right after the proxies' rounds, and `direct` gave
# thousands of SYN retransmits after `nft-nomasq`. So before every mode, wait (at most 70 s)
# until the pods hold none.
tw_at_pods() {
  local n=0 i
  for i in 1 2 3; do
    n=$((n + $(inn "$ID-p$i" ss -Htn state time-wait | wc -l)))
  done
  echo "$n"
}
drain_time_wait() {
  local t0=$SECONDS left
  left=$(tw_at_pods)
  [ "$left" -eq 0 ] && return 0
  while [ "$left" -gt 0 ] && [ $((SECONDS - t0)) -lt 70 ]; do sleep 1; left=$(tw_at_pods); done
  echo "# waited $((SECONDS - t0)) s for the pods' TIME_WAIT to expire ($left left)"
}

for r in $(seq "$ROUNDS"); do
  echo "## round $r"
  wait_quiet
  for m in $MODES; do
    case $m in
      nft|nft-ft|nft-lean|nft-netdev|direct-ct|ebpf|ebpf3) masq=(--cluster-cidr 10.244.0.0/16) ;;
      nft-nomasq) masq=() ;;
      nft-random) masq=(--cluster-cidr 10.244.0.0/16 --fully-random) ;;
    esac
    fast=()
    devices=(--netdev-uplink tbn0 --netdev-bridge tbbr0 --netdev-clients 10.10.0.0/24 --netdev-pods 10.244.0.0/24)
    [ "$m" = nft-netdev ] && fast=("${devices[@]}")
    [ "${m%3}" = ebpf ] && fast=(--ebpf "${devices[@]}")
    if [ "${m%-*}" = nft ] || [ "$m" = direct-ct ] || [ "${m%3}" = ebpf ]; then
      # shellcheck disable=SC2086
      inn "$N" "$BENCH" nft-service --cluster-ip 10.96.0.10 --port 80 --backends $BACKENDS \
        "${masq[@]}" "${fast[@]}" --extra 5201=10.244.0.2:5201 | sed 's/^/# /'
    fi
    if [ "$m" = nft-ft ] && ! inn "$N" nft -f - 2>/dev/null <<EOF
table ip tether {
  flowtable ft { hook ingress priority filter; devices = { tbn0, tbbr0 }; }
  chain ft-forward { type filter hook forward priority filter; policy accept; meta l4proto { tcp, udp } flow add @ft; }
}
EOF
    then
      echo "# nft-ft skipped: this kernel has no flowtables (CONFIG_NF_FLOW_TABLE)"
      inn "$N" nft delete table ip tether
      continue
    fi
    lean=0; [ "$m" = nft-lean ] && lean=1
    inn "$N" sysctl -qw net.netfilter.nf_conntrack_checksum=$((1 - lean)) \
      net.netfilter.nf_conntrack_tcp_be_liberal=$lean 2>/dev/null || true
    drain_time_wait
    [ -n "${NSTAT:-}" ] && inn "$C" nstat -n >/dev/null
    read -r http ipf <<<"$(target "$m")"
    inn "$C" curl -s -m2 "http://$http/hostname" >/dev/null || echo "# $m: curl failed"
    wrk_run "$m keepalive" "http://$http/hostname"
    wrk_run "$m newconn" -H "Connection: close" "http://$http/hostname"
    if [ "$IPERF_SECS" != 0 ]; then
      g=$(inn "$C" iperf3 -c "${ipf%:*}" -p "${ipf#*:}" -t "$IPERF_SECS" -J 2>/dev/null |
        python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' 2>/dev/null || echo fail)
      echo "$m iperf3 gbit_s=$g"
    fi
    [ -n "${NSTAT:-}" ] && echo "# client nstat: $(inn "$C" nstat -s 2>/dev/null | grep -E 'Retrans|SynRetrans|TimeWait|ActiveOpens|AttemptFails|EstabResets' | awk '{printf "%s=%s ", $1, $2}')"
    if [ "${m%-*}" = nft ] || [ "$m" = direct-ct ] || [ "${m%3}" = ebpf ]; then inn "$N" nft delete table ip tether; fi
    if [ "${m%3}" = ebpf ]; then
      echo "# ebpf: $(inn "$N" conntrack -C 2>/dev/null) conntrack entries"
      inn "$N" "$BENCH" ebpf-remove --uplink tbn0 --bridge tbbr0
    fi
    if [ "$m" = nft-netdev ]; then
      echo "# nft-netdev: $(inn "$N" nft list map netdev tether flows | grep -o ' : ' | wc -l) flows remembered, $(inn "$N" conntrack -C 2>/dev/null) conntrack entries"
      inn "$N" nft delete table netdev tether
    fi
  done
done
