# bench/build.sh — sourced by the bench/ wrappers: the one way they make
# sure what they run is up to date. They ask make itself, so a wrapper
# rebuilds exactly when `make` would (no list of sources to keep in step).
#
# Sets repo (this repository), build ($WPOOL_BUILD, default build; as given,
# for make) and build_dir (the same, absolute). A check costs one make
# parse, ~0.1 s here (the Makefile caches pkg-config's answers in
# $build/config.mk); a rebuild is make -s, quiet unless it fails.
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${WPOOL_BUILD:-build}
case $build in /*) build_dir=$build ;; *) build_dir=$repo/$build ;; esac

# bench_current SRC BUILD TARGET...: 0 when make in SRC (BUILD=BUILD) has
# nothing to do for the TARGETs (paths relative to SRC or absolute).
bench_current() {
  local src=$1 b=$2
  shift 2
  make -q -C "$src" BUILD="$b" "$@" >/dev/null 2>&1
}

# bench_build NAME [--or-existing] TARGET...: brings $build/TARGET... up to
# date. When make fails: its output, then "NAME: could not build
# $build_dir/TARGET (make output above)" (the first TARGET) and exit 2 —
# or, with --or-existing and that program present, a warning and on with
# it (someone's half-finished change elsewhere should not stop a program
# that only reads files).
bench_build() {
  local name=$1 keep=0 t out
  shift
  [ "${1:-}" = --or-existing ] && keep=1 && shift
  local targets=()
  for t; do targets+=("$build/$t"); done
  bench_current "$repo" "$build" "${targets[@]}" && return 0
  out=$(make -s -C "$repo" BUILD="$build" "${targets[@]}" 2>&1) && return 0
  if [ "$keep" -eq 1 ] && [ -x "$build_dir/$1" ]; then
    echo "$name: warning: rebuild failed, using the existing $build_dir/$1" >&2
    return 0
  fi
  printf '%s\n' "$out" >&2
  echo "$name: could not build $build_dir/$1 (make output above)" >&2
  exit 2
}
