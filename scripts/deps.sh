#!/usr/bin/env bash
# Installs every Debian package wpool needs to build, test and benchmark.
# Idempotent: when everything is present it checks and returns at once.
# As root it installs (running `apt-get update` first when the package lists
# are missing or stale); otherwise it prints the exact command and exits 1.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libuv1-dev                       # the supervisor's event loop
  libprotobuf-c-dev protobuf-c-compiler   # wire contract (C)
  libgrpc-dev                      # gRPC C core (grpc/grpc.h)
  libjansson-dev                   # results JSON
  libcmocka-dev                    # unit-test framework
  python3 python3-protobuf python3-grpcio  # Python worker SDK + interop tests
  libssl-dev                       # worker/examples/sha256.c (libcrypto's EVP)
  python3-numpy                    # worker/python/examples: the numpy worker
  gnuplot-nox                      # charts
  libcmark-gfm-dev libcmark-gfm-extensions-dev  # bench/report --html (Markdown to HTML)
  chromium                         # test_report_html loads each page headless (~65 s, 137 MB)
  clang libclang-rt-14-dev         # make fuzz (libFuzzer)
  valgrind procps
  iproute2                         # scripts/netlab.sh (ip netns, ss): tests/transports/test_netlab
)

missing=()
for p in "${PKGS[@]}"; do
  [ "$p" = "#" ] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages; run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the lists when they are absent or older than a day: a fresh image
# often ships without them and an install would find nothing.
lists=/var/lib/apt/lists
if [ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  echo "deps.sh: apt-get update" >&2
  apt-get update -qq
fi
echo "deps.sh: installing ${missing[*]}" >&2
$cmd -qq >/dev/null
