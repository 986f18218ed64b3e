# Shared helpers for the bench/ drivers (sourced).

# bench_tmp PREFIX: makes $TMP (/tmp/PREFIX.XXXXXX) and the PIDS array, and traps EXIT/INT/TERM
# to kill (by PID) and reap everything in PIDS, run the driver's `cleanup_extra` if it defines
# one, and remove $TMP.
bench_tmp() {
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT INT TERM
}
bench_cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if declare -F cleanup_extra >/dev/null; then cleanup_extra; fi
  rm -rf "$TMP"
}

# free_port: a port on 127.0.0.1 free for both TCP and UDP right now.
free_port() { python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));t=socket.socket();t.bind(("127.0.0.1",s.getsockname()[1]));print(s.getsockname()[1])'; }

# wait_quiet: other people build on this 2-core machine; wait (up to QUIET_WAIT s) until no
# cargo/rustc runs, and say in the output whether the next measurement ran on a quiet machine.
wait_quiet() {
  local i
  for i in $(seq "${QUIET_WAIT:-180}"); do
    if ! pgrep -x rustc >/dev/null && ! pgrep -x cargo >/dev/null; then
      echo "# quiet: no cargo/rustc running (load $(cut -d' ' -f1 /proc/loadavg))"
      return 0
    fi
    sleep 1
  done
  echo "# NOT QUIET: cargo/rustc running during this measurement (load $(cut -d' ' -f1 /proc/loadavg))"
}
