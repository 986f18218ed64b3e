#!/usr/bin/env bash
# nftables programming cost (issue 4): tether_nft::Proxier in a fresh netns per size.
#
#   bench/nft-cost.sh                       # 1k, 10k, 50k Services x 5 endpoints, both layouts
#   SIZES="1000 10000" LIMIT=90 LAYOUTS=tether bench/nft-cost.sh
#
# Layouts: `tether` (the agent's: plain ClusterIP ports on the fast path of map elements,
# applied through the agent's long-lived libnftables context; a load into an empty namespace
# writes those elements as one netlink batch), `tether-script-load` (the same, but the load
# is one script), `tether+nft-program` (the
# same rules, each sync a run of `nft -f -`) and `kube-proxy` (every port with its own
# chains, kube-proxy's nftables layout, each sync a run of `nft -f -` as knftables does:
# the baseline).
# Per size: full load into an empty table, a forced full re-sync (flush + rewrite), then
# CHANGES x (add one Service, replace one endpoint, delete one Service), each a Proxier::sync.
# A size that exceeds LIMIT seconds is stopped and reported as such. Peak RSS is the largest of
# tether-bench and its `nft` children (GNU time's maximum resident set size).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
BENCH=${BENCH:-target/release/tether-bench}
SIZES=${SIZES:-1000 10000 50000}
LIMIT=${LIMIT:-120}
CHANGES=${CHANGES:-5}
LAYOUTS=${LAYOUTS:-tether tether+nft-program kube-proxy}
NS=tb-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')-nft
cleanup_extra() { ip netns del "$NS" 2>/dev/null || true; }
bench_tmp tb-nft
echo "# machine: nproc=$(nproc) kernel=$(uname -r) date=$(date -u +%FT%TZ) $(nft --version)"
for n in $SIZES; do
for layout in $LAYOUTS; do
  case $layout in
    tether) flag=() ;;
    tether+nft-program) flag=(--nft-program) ;;
    tether-script-load) flag=(--no-netlink-elements) ;;
    kube-proxy) flag=(--kube-proxy-layout --nft-program) ;;
    *) echo "unknown layout $layout" >&2; exit 2 ;;
  esac
  wait_quiet
  ip netns add "$NS"
  start=$(date +%s.%N)
  if timeout --signal=KILL "$LIMIT" /usr/bin/time -v -o "$TMP/time" \
      ip netns exec "$NS" "$BENCH" nft-cost --services "$n" --endpoints 5 --changes "$CHANGES" "${flag[@]}" \
      >"$TMP/out" 2>"$TMP/err"; then
    cat "$TMP/out"
    echo "nft_cost layout=$layout services=$n peak_rss_kib=$(awk -F': ' '/Maximum resident/{print $2}' "$TMP/time")" \
      "rules_lines=$(ip netns exec "$NS" nft list table ip tether | wc -l)"
  else
    cat "$TMP/out"
    echo "nft_cost layout=$layout services=$n did_not_finish_within_s=$LIMIT elapsed_s=$(echo "$(date +%s.%N) - $start" | bc)"
    tail -3 "$TMP/err"
  fi
  ip netns del "$NS"
done
done
