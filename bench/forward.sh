# bench/forward.sh — sourced by the bench/ wrappers that run their program
# as a child (they draw the charts after it) instead of exec'ing it.
#
# run_forwarding CMD ARGS runs CMD and returns its exit code, passing
# SIGINT, SIGTERM and SIGHUP on to it: a signal to the wrapper alone (kill,
# a CI timeout) would otherwise end the wrapper and leave the program
# running its pools with nobody waiting. CMD runs in its own process group
# (job control on, set -m): a terminal's Ctrl-C reaches the wrapper only
# and CMD gets it once, from here — seeing it twice, it would take it for a
# second Ctrl-C and kill its workers without their grace — and SIGINT is
# not ignored in it, as it is in a background command without job control.
run_forwarding() {
  local pid rc s
  set -m
  "$@" &
  pid=$!
  set +m
  for s in INT TERM HUP; do
    # shellcheck disable=SC2064 # pid is fixed now
    trap "kill -$s $pid 2>/dev/null" "$s"
  done
  while :; do
    rc=0
    wait "$pid" || rc=$?
    kill -0 "$pid" 2>/dev/null || break # a trap ended the wait, not CMD
  done
  trap - INT TERM HUP
  return "$rc"
}
