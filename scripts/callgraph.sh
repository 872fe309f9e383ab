#!/bin/sh
# scripts/callgraph.sh [BUILD] — the call graph between pool/ objects, from nm:
# for each pool .o, which other pool .o defines each symbol it leaves
# undefined. Prints "a.o -> b.o (sym, ...)" per pair, then each two-way pair.
# BUILD defaults to build (objects in BUILD/obj/pool/).
set -eu
dir=${1:-build}/obj/pool
[ -d "$dir" ] || { echo "callgraph: no $dir (run make first)" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for o in "$dir"/*.o; do
  b=$(basename "$o")
  [ -f "pool/${b%.o}.c" ] || [ ! -d pool ] || continue   # a stale object
  nm -g --defined-only "$o" | awk -v o="$b" 'NF==3 {print $3, o}' >>"$tmp/def"
  nm -u "$o" | awk -v o="$b" '{print $NF, o}' >>"$tmp/undef"
done
sort -o "$tmp/def" "$tmp/def"; sort -o "$tmp/undef" "$tmp/undef"
# join on the symbol: user definer symbol
join "$tmp/undef" "$tmp/def" | awk '$2 != $3 {print $2, $3, $1}' | sort >"$tmp/edges"
awk '{k=$1" -> "$2; s[k]=s[k] (s[k]?", ":"") $3} END {for (k in s) print k"  ("s[k]")"}' \
  "$tmp/edges" | sort
echo "two-way:"
awk '{print $1, $2}' "$tmp/edges" | sort -u >"$tmp/pairs"
awk 'NR==FNR {e[$1" "$2]=1; next} ($2" "$1) in e && $1 < $2 {print "  " $1 " <-> " $2}' \
  "$tmp/pairs" "$tmp/pairs"
