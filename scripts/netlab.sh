#!/bin/bash
# netlab.sh — a small real network to test attached workers on: K network
# namespaces, each joined to the root namespace by a veth pair (its own
# TCP/IP stack, so a call crosses a real network path), a standalone gRPC
# worker in each, and their addresses printed. Root only (ip netns).
#
#   scripts/netlab.sh up [-k K] [--port P] [--worker PATH] [--delay MS] [--loss PCT]
#       prints "# netlab L" then one IP:PORT line per worker (stdout);
#       L names the lab for the commands below.
#   scripts/netlab.sh link L I up|down    sets worker I's link (the root end)
#   scripts/netlab.sh down [L]            kills the lab's workers, removes its
#                                         namespaces (every lab when no L);
#                                         idempotent
#   scripts/netlab.sh run [-k K] ... -- CMD ARGS
#       up, then CMD with NETLAB_ID=L and NETLAB_ADDRS=IP:PORT,... in its
#       environment, then down — on any exit (trap), Ctrl-C included.
#
# Addresses: lab L, worker I gets 10.77.L.(4I+1)/30 on the root end and
# 10.77.L.(4I+2)/30 in its namespace; nothing else is ever used. A lab's
# number is claimed with mkdir under /run/wpool-netlab, so labs of runs at
# the same time never collide. --delay/--loss use tc netem on the root end
# where the kernel has it; where it does not ("unknown qdisc"), the script
# says so once and runs without.
set -u
STATE=/run/wpool-netlab
PROG=netlab.sh

die() { echo "$PROG: $*" >&2; exit 2; }
say() { echo "$PROG: $*" >&2; }

ns_name() { echo "wpool-lab$1-$2"; }
veth_root() { echo "wpl$1-$2h"; }
veth_ns() { echo "wpl$1-$2w"; }
ip_root() { echo "10.77.$1.$((4 * $2 + 1))"; }
ip_ns() { echo "10.77.$1.$((4 * $2 + 2))"; }

default_worker() {
  local here
  here=$(cd "$(dirname "$0")/.." && pwd)
  echo "${WPOOL_WORKER_GRPC:-$here/build/wpool-worker-grpc}"
}

# Removes lab L: its workers (the pids it recorded, only those), its
# namespaces (which takes their veth ends along), its state. Idempotent.
lab_down() {
  local L=$1 dir=$STATE/$1 f pid i
  [ -d "$dir" ] || return 0
  for f in "$dir"/pid.*; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null
  done
  for i in $(seq 1 20); do # 2 s for a drain, then SIGKILL
    local alive=0
    for f in "$dir"/pid.*; do
      [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for f in "$dir"/pid.*; do
    [ -e "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
  done
  for f in "$dir"/ns.*; do
    [ -e "$f" ] || continue
    ip netns del "$(cat "$f")" 2>/dev/null
  done
  rm -rf "$dir"
}

# Claims the first free lab number (atomic mkdir).
claim() {
  mkdir -p "$STATE" || die "cannot create $STATE"
  local L
  for L in $(seq 1 250); do
    if mkdir "$STATE/$L" 2>/dev/null; then echo "$L"; return 0; fi
  done
  die "no free lab number under $STATE (netlab.sh down?)"
}

NETEM_SAID=0
netem() { # dev delay loss
  local dev=$1 delay=$2 loss=$3 args=() out
  [ -n "$delay" ] && args+=(delay "${delay}ms")
  [ -n "$loss" ] && args+=(loss "${loss}%")
  [ ${#args[@]} = 0 ] && return 0
  if ! out=$(tc qdisc add dev "$dev" root netem "${args[@]}" 2>&1); then
    [ $NETEM_SAID = 0 ] && say "tc netem is not available here (${out//$'\n'/ }); running without added delay/loss"
    NETEM_SAID=1
  fi
}

# Waits until something listens on ip:port inside namespace ns (5 s).
wait_listen() {
  local ns=$1 port=$2 i
  for i in $(seq 1 100); do
    ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  return 1
}

up_one() { # L I port worker delay loss
  local L=$1 I=$2 port=$3 worker=$4 ns vr vn
  ns=$(ns_name "$L" "$I"); vr=$(veth_root "$L" "$I"); vn=$(veth_ns "$L" "$I")
  ip netns add "$ns" || return 1
  echo "$ns" > "$STATE/$L/ns.$I"
  ip link add "$vr" type veth peer name "$vn" netns "$ns" || return 1
  ip addr add "$(ip_root "$L" "$I")/30" dev "$vr" || return 1
  ip link set "$vr" up || return 1
  ip -n "$ns" link set lo up || return 1
  ip -n "$ns" addr add "$(ip_ns "$L" "$I")/30" dev "$vn" || return 1
  ip -n "$ns" link set "$vn" up || return 1
  netem "$vr" "$5" "$6"
  # setsid: the worker outlives this script (down stops it, by pid).
  ip netns exec "$ns" setsid "$worker" --transport grpc \
    --listen "tcp:$(ip_ns "$L" "$I"):$port" --standalone \
    </dev/null >>"$STATE/$L/log.$I" 2>&1 &
  echo $! > "$STATE/$L/pid.$I"
}

cmd_up() {
  local K=3 port=50051 worker delay="" loss=""
  worker=$(default_worker)
  while [ $# -gt 0 ]; do
    case $1 in
      -k) K=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      --worker) worker=$2; shift 2 ;;
      --delay) delay=$2; shift 2 ;;
      --loss) loss=$2; shift 2 ;;
      *) die "up: unknown option '$1'" ;;
    esac
  done
  [[ $K =~ ^[0-9]+$ ]] && [ "$K" -ge 1 ] && [ "$K" -le 60 ] || die "-k: 1..60, got '$K'"
  [ -x "$worker" ] || die "no worker at $worker (make, or --worker PATH)"
  [ "$(id -u)" = 0 ] || die "needs root (ip netns)"
  local L I
  L=$(claim) || exit 2
  # A failure half-way leaves nothing behind.
  trap 'lab_down '"$L"'; exit 1' INT TERM HUP
  for I in $(seq 0 $((K - 1))); do
    if ! up_one "$L" "$I" "$port" "$worker" "$delay" "$loss"; then
      say "lab $L: cannot set up worker $I's namespace (see above)"
      lab_down "$L"
      exit 1
    fi
  done
  for I in $(seq 0 $((K - 1))); do
    if ! wait_listen "$(ns_name "$L" "$I")" "$port"; then
      say "lab $L: worker $I does not listen: $(tail -n 3 "$STATE/$L/log.$I" 2>/dev/null)"
      lab_down "$L"
      exit 1
    fi
  done
  trap - INT TERM HUP
  echo "# netlab $L"
  for I in $(seq 0 $((K - 1))); do echo "$(ip_ns "$L" "$I"):$port"; done
}

cmd_link() {
  [ $# = 3 ] || die "usage: link L I up|down"
  [ -d "$STATE/$1" ] || die "no lab $1"
  case $3 in up|down) ;; *) die "link: up or down, got '$3'" ;; esac
  ip link set "$(veth_root "$1" "$2")" "$3"
}

cmd_down() {
  if [ $# -ge 1 ]; then lab_down "$1"; return; fi
  local d
  for d in "$STATE"/*; do [ -d "$d" ] && lab_down "$(basename "$d")"; done
  return 0
}

cmd_run() {
  local args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
  [ "${1:-}" = "--" ] && [ $# -ge 2 ] || die "run: ... -- CMD ARGS"
  shift
  local out L addrs
  out=$(cmd_up "${args[@]}") || exit $?
  L=$(echo "$out" | sed -n 's/^# netlab //p')
  addrs=$(echo "$out" | grep -v '^#' | paste -sd, -)
  trap 'lab_down '"$L" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  NETLAB_ID=$L NETLAB_ADDRS=$addrs "$@"
}

case ${1:-} in
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  link) shift; cmd_link "$@" ;;
  run) shift; cmd_run "$@" ;;
  -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) die "usage: netlab.sh up|down|link|run (--help)" ;;
esac
