#!/usr/bin/env bash
# Interleaved bdevperf measurements for docs/performance.md: each round runs every scenario once, so load from
# other processes spreads over all of them; prints median, min and max total IOPS per scenario.
#   perf/bench/measure.sh [rounds] [seconds]      (defaults: 5 rounds of 10 s)
# Scenarios (one reactor on core 0, 4 KiB I/O, queue depth 128):
#   null-randread     Null0 (1 GiB, 4 KiB blocks)   randread
#   malloc-randread   Malloc0 (1 GiB, 4 KiB blocks) randread
#   malloc-randwrite  Malloc0 (1 GiB, 4 KiB blocks) randwrite
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds=${1:-5}
secs=${2:-10}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
scenarios=("null-randread:null-1g.json:randread" "malloc-randread:malloc-1g.json:randread" "malloc-randwrite:malloc-1g.json:randwrite")
for ((r = 1; r <= rounds; r++)); do
  for s in "${scenarios[@]}"; do
    IFS=: read -r name cfg w <<<"$s"
    "$root/bin/bdevperf" --json "$here/$cfg" -q 128 -o 4096 -w "$w" -t "$secs" -m 0x1 \
      --json-results "$out/$name.$r.json" >"$out/$name.$r.log" 2>&1 || { echo "$name round $r failed:"; cat "$out/$name.$r.log"; exit 1; }
    echo "round $r $name: $(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; print("%.0f IOPS, %.0f I/Os per reactor CPU-second" % (t["iops"], t["ios_per_cpu_second"]))' "$out/$name.$r.json")"
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys, glob
out, rounds = sys.argv[1], int(sys.argv[2])
print("\n%-18s %12s %12s %12s %14s %12s %12s %9s %9s" % ("scenario", "median IOPS", "min", "max",
      "median IO/cpu-s", "min", "max", "p50 us", "p99 us"))
for name in ("null-randread", "malloc-randread", "malloc-randwrite"):
    runs = [json.load(open(f))["total"] for f in sorted(glob.glob(f"{out}/{name}.*.json"))]
    iops = sorted(r["iops"] for r in runs)
    med = statistics.median(iops)
    mid = min(runs, key=lambda r: abs(r["iops"] - med))
    cpu = sorted(r["ios_per_cpu_second"] for r in runs)
    print("%-18s %12.0f %12.0f %12.0f %14.0f %12.0f %12.0f %9.2f %9.2f" % (name, med, iops[0], iops[-1],
          statistics.median(cpu), cpu[0], cpu[-1], mid["p50_latency_us"], mid["p99_latency_us"]))
PY
