#!/usr/bin/env python3
"""Ratios of two modes of bench/dataplane.sh, round by round, and their medians.

    bench/pairs.py ebpf3 direct3 bench/results-2026-12-02/dataplane-peer-*.txt

For every round of every file that has both modes: req/s of A over B (keep-alive, new
connections), machine CPU per request of A over B, and iperf3 of A over B; then the median
of each column over all those rounds.
"""
import re
import statistics
import sys


def rounds(path):
    """Yields {(mode, test): {field: value}} per round of one dataplane.sh output."""
    cur = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## round"):
                if cur:
                    yield cur
                cur = {}
                continue
            m = re.match(r"^(\S+) (keepalive|newconn|iperf3) (.*)$", line)
            if m:
                fields = dict(re.findall(r"(\w+)=([0-9.]+)", m.group(3)))
                cur[(m.group(1), m.group(2))] = {k: float(v) for k, v in fields.items()}
    if cur:
        yield cur


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    a, b, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    cols = {
        "keep-alive": ("keepalive", "rps"),
        "keep-alive CPU": ("keepalive", "machine_cpu_us_per_req"),
        "new conn.": ("newconn", "rps"),
        "new conn. CPU": ("newconn", "machine_cpu_us_per_req"),
        "iperf3": ("iperf3", "gbit_s"),
    }
    seen = {c: [] for c in cols}
    print("file round | " + " | ".join(f"{c} {a}/{b}" for c in cols))
    for path in files:
        for i, r in enumerate(rounds(path), 1):
            row = []
            for c, (test, field) in cols.items():
                x = r.get((a, test), {}).get(field)
                y = r.get((b, test), {}).get(field)
                if x is None or not y:
                    row.append("-")
                    continue
                seen[c].append(x / y)
                row.append(f"{x / y:.2f}")
            print(f"{path.rsplit('/', 1)[-1]} {i} | " + " | ".join(row))
    print(
        "median (n) | "
        + " | ".join(
            f"{statistics.median(v):.2f} ({len(v)})" if v else "-" for v in seen.values()
        )
    )


if __name__ == "__main__":
    main()
