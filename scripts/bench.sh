#!/usr/bin/env bash
# The throughput benchmark in one command (bench/README.md): install the
# dependencies, build Release without sanitizers (build-bench), cross-build the
# Cortex-M4 firmware for the footprint (build-bench-arm, scripts/build-arm.sh),
# then run dfuart-bench: the virtual-time table, the targets, the real-time pty
# checks, host RSS and the device footprint.
#
#   scripts/bench.sh [dfuart-bench options]     e.g. --json, --strict, --runs 21
#
# Environment: DFUART_BENCH_BUILD_DIR (default build-bench),
# DFUART_BENCH_ARM_DIR (default build-bench-arm), DFUART_BENCH_SKIP_ARM=1 to
# reuse an existing cross build instead of rebuilding it.
# Exit status: dfuart-bench's (0 even when a target FAILs, unless --strict),
# non-zero if a build fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${DFUART_BENCH_BUILD_DIR:-build-bench}
ARM=${DFUART_BENCH_ARM_DIR:-build-bench-arm}

scripts/install-deps.sh >&2
# Release, no sanitizers: the numbers are about the code, not the instrumentation.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDFUART_SANITIZE=OFF -DDFUART_WERROR=ON >&2
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" --target dfuart-bench >&2

if [ "${DFUART_BENCH_SKIP_ARM:-0}" != 1 ]; then
  log="$BUILD/build-arm.log"
  if ! scripts/build-arm.sh "$ARM" >"$log" 2>&1; then
    echo "bench: the Cortex-M4 build failed (see $log): footprint not measured" >&2
  fi
fi

case "$ARM" in
/*) ARM_ABS=$ARM ;;
*) ARM_ABS=$PWD/$ARM ;;
esac
exec "$BUILD/bench/dfuart-bench" --arm-build "$ARM_ABS" "$@"
