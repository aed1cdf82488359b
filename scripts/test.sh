#!/usr/bin/env bash
# The README's test command: install dependencies, build everything with
# -Werror under AddressSanitizer + UndefinedBehaviorSanitizer, cross-build the
# device firmware for Cortex-M4F, run every test.
# Usage: scripts/test.sh [extra ctest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
BUILD=${DFUART_BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DDFUART_SANITIZE=ON -DDFUART_WERROR=ON
cmake --build "$BUILD" -j "$(nproc)"
# The device side must also cross-compile for Cortex-M4F and fit its budget
# (prints arm-none-eabi-size; fails if it links a heap allocator).
scripts/build-arm.sh build-arm
# Sanitizer reports must fail the test that caused them, not scroll past.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -V so CMocka's per-test summary lines reach the log. The full power-cut
# sweep (label "sweep", ~6-7 min) runs in CI (.ci/run) or with DFUART_SWEEP=1;
# the default run includes its deterministic subset (test_sim_powercut).
if [ "${DFUART_SWEEP:-0}" = 1 ]; then
  ctest --test-dir "$BUILD" --output-on-failure -V "$@"
else
  ctest --test-dir "$BUILD" --output-on-failure -V -LE sweep "$@"
fi
