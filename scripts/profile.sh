#!/usr/bin/env bash
# scripts/profile.sh — where a pipe request's cost goes (`make profile`).
#
# For each point N,C (default: 2,1 and 8,100; one CPU, pinned):
#   1. instructions per request by function, supervisor and workers apart:
#      `wpool ping -n N -c C` under callgrind (--trace-children=yes, cache
#      simulation off), with R and 2R requests; each function's count in the
#      second run minus the first, over R — start-up, loader and shutdown
#      cancel out, what is left is the per-request work (the instructions
#      scenario's method, per function). Workers are summed.
#   2. syscalls, context switches and CPU per request, supervisor and
#      workers, and req/s against the bare C pool: bench/baseline's ping grid
#      at these sizes and concurrencies, pinned (its cost.* counters read by
#      perf_event_open where the kernel allows; results/README.md).
#
# Usage: scripts/profile.sh [BUILD] [--points "2,1 8,100"] [--requests R]
#                           [--cpu K] [--top K] [--no-costs]
# Needs valgrind and callgrind_annotate (scripts/deps.sh installs them).
# Output: tables on stdout; the callgrind files stay in a temporary
# directory only while the script runs.
set -euo pipefail

BUILD=build
POINTS="2,1 8,100"
REQ=10000
CPU=0
TOP=15
COSTS=1
if [[ $# -gt 0 && $1 != --* ]]; then BUILD=$1; shift; fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --points) POINTS=$2; shift 2 ;;
    --requests) REQ=$2; shift 2 ;;
    --cpu) CPU=$2; shift 2 ;;
    --top) TOP=$2; shift 2 ;;
    --no-costs) COSTS=0; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $REQ =~ ^[1-9][0-9]*$ ]] || { echo "profile: --requests wants a positive integer, not '$REQ'" >&2; exit 2; }
for t in valgrind callgrind_annotate; do
  command -v $t >/dev/null || { echo "profile: $t is not installed (scripts/deps.sh)" >&2; exit 1; }
done
[[ -x $BUILD/wpool && -x $BUILD/wpool-worker ]] || { echo "profile: no $BUILD/wpool: run make" >&2; exit 1; }

DIR=$(mktemp -d /tmp/wpool-profile-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
trap 'echo "profile: interrupted" >&2; exit 130' INT TERM

# run N C R OUTDIR: wpool ping under callgrind; prints the supervisor's pid.
run() {
  mkdir -p "$4"
  valgrind --tool=callgrind --cache-sim=no --trace-children=yes \
    --callgrind-out-file="$4/cg.%p" --log-file="$4/vg.%p" \
    "$BUILD/wpool" ping -n "$1" -c "$2" --requests "$3" --warmup 500 \
    --cpus "$CPU" --worker "$BUILD/wpool-worker" >/dev/null 2>"$4/stderr" &
  local pid=$!
  if ! wait $pid; then
    echo "profile: wpool ping -n $1 -c $2 failed under valgrind: $(tail -1 "$4/stderr")" >&2
    exit 1
  fi
  echo $pid
}

for p in $POINTS; do
  n=${p%,*} c=${p#*,}
  [[ $n =~ ^[0-9]+$ && $c =~ ^[0-9]+$ ]] || { echo "profile: bad point '$p' (N,C)" >&2; exit 2; }
  echo "== n=$n c=$c, pinned to cpu $CPU: instructions per request (callgrind, $REQ vs $((2 * REQ)) requests)" >&2
  a=$(run "$n" "$c" "$REQ" "$DIR/$p.a")
  b=$(run "$n" "$c" $((2 * REQ)) "$DIR/$p.b")
  for side in a b; do
    pid=$a; [[ $side == b ]] && pid=$b
    for f in "$DIR/$p.$side"/cg.*; do
      who=wrk; [[ $f == */cg.$pid ]] && who=sup
      callgrind_annotate --auto=no --inclusive=no --threshold=100 "$f" >"$f.$who.txt"
    done
  done
  /usr/bin/python3 - "$DIR/$p" "$REQ" "$TOP" "$n" "$c" <<'EOF'
import glob, re, sys
base, req, top, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
LINE = re.compile(r"^\s*([\d,]+)\s+\([\s\d.]+%\)\s+(.*)$")

def counts(side, who):
    out = {}
    for path in glob.glob(f"{base}.{side}/cg.*.{who}.txt"):
        rows = False
        for line in open(path):
            if "file:function" in line:
                rows = True
                continue
            m = LINE.match(line) if rows else None
            if not m:
                continue
            where = re.sub(r"\s*\[.*\]$", "", m.group(2))
            fn = where.rsplit(":", 1)[-1]
            obj = re.search(r"\[(.*)\]", m.group(2))
            key = re.sub(r"'\d+$", "", fn if fn != "" else where)  # f'2: f recursing
            if key.startswith("0x") and obj:
                key = obj.group(1).rsplit("/", 1)[-1] + ":" + key
            out[key] = out.get(key, 0) + int(m.group(1).replace(",", ""))
    return out

for who, name in (("sup", "supervisor"), ("wrk", "workers (summed)")):
    a, b = counts("a", who), counts("b", who)
    d = {k: (b.get(k, 0) - a.get(k, 0)) / req for k in set(a) | set(b)}
    total = sum(d.values())
    print(f"\nn={n} c={c}  {name}: {total:,.0f} instructions per request")
    for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {v:8.1f}  {100 * v / total:5.1f} %  {k}")
EOF
done

[[ $COSTS == 1 ]] || exit 0
sizes=$(for p in $POINTS; do echo "${p%,*}"; done | sort -un | paste -sd,)
concs=$(for p in $POINTS; do echo "${p#*,}"; done | sort -un | paste -sd,)
echo "== syscalls, switches and CPU per request, req/s against the bare C pool (bench/baseline, pinned)" >&2
bench/baseline --only throughput,latency --transports pipe --sizes "$sizes" --concurrency "$concs" \
  --cpus "$CPU" --reps 3 --requests 20000 --out "$DIR/costs.json" >/dev/null
/usr/bin/python3 - "$DIR/costs.json" "$POINTS" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
m = {x["id"]: x["median"] for x in doc["metrics"]}
what = ["sup_syscalls", "wrk_syscalls", "sup_csw", "wrk_csw", "sup_cpu_us", "wrk_cpu_us"]
print(f"\n{'point':24}" + "".join(f"{w:>13}" for w in what) + f"{'req/s':>10}{'bare':>10}{'ratio':>7}{'p50 us':>8}{'/bare':>7}")
for p in sys.argv[2].split():
    n, c = p.split(",")
    mode = "pipelined" if int(c) > int(n) else "checkout"
    pt = f"{mode}/n={n}/c={c}"
    cells = "".join(f"{m.get(f'cost.{w}/pipe/{pt}', float('nan')):13.3f}" for w in what)
    print(f"{pt:24}{cells}{m.get(f'ping.rps/pipe/{pt}', 0):10.0f}{m.get(f'floor.rps/pool/{pt}', 0):10.0f}"
          f"{m.get(f'ping.rps_per_bare/pipe/{pt}', 0):7.2f}{m.get(f'ping.p50/pipe/{pt}', 0):8.1f}"
          f"{m.get(f'ping.p50_per_bare/pipe/{pt}', 0):7.2f}")
print("\nmedians of 3 rounds; wall-clock figures move with the host's load (uptime: "
      + open("/proc/loadavg").read().split()[0] + ")")
EOF
