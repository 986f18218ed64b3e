# Shared helpers for the bench/ drivers (sourced).
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
