#!/usr/bin/env bash
# Runs every test suite -- cmocka binaries BUILD/tests/<group>/test_* and
# python unittest files tests/<group>/test_*.py, groups as the code is
# (wire, pool, transports, workers, bench, tools) -- each under a time
# limit, and closes with one line "tests: N passed, N failed".
# Usage: scripts/run-tests.sh [BUILD] [FILTER]
# FILTER (a substring of "<group>/<suite>") runs only the suites that match:
# "pool/" one group, "test_recycle" one suite (also TESTS=... make test).
set -u
build=${1:-build}
filter=${2:-${TESTS:-}}
python=${PYTHON:-/usr/bin/python3}
limit=${TEST_TIMEOUT:-300}
export WPOOL_BUILD="$build"
passed=0; failed=0; failed_names=()

run() { # name cmd...
  local name=$1; shift
  [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
  local t0=$SECONDS
  echo "=== $name"
  if timeout -k 5 "$limit" "$@"; then
    passed=$((passed + 1)); echo "--- ok   $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "--- FAIL $name ($((SECONDS - t0)) s)"
  fi
}

for t in "$build"/tests/*/test_*; do
  [ -x "$t" ] || continue
  run "$(basename "$(dirname "$t")")/$(basename "$t")" "$t"
done
# Python suites exercise the SDK and interop; they use the C build only as
# peers, so the sanitized build skips them (ASan cannot preload into python)
# -- except test_cli.py, which only drives the C programs it tests.
for t in tests/*/test_*.py; do
  [ -f "$t" ] || continue
  [ -n "${WPOOL_SANITIZED:-}" ] && [ "$(basename "$t")" != test_cli.py ] && continue
  run "${t#tests/}" "$python" "$t"
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
