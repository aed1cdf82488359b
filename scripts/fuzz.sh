#!/usr/bin/env bash
# Bounded libFuzzer run of every target in tests/fuzz (README.md there).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      # default 60
#
# Builds build-fuzz with clang (-DDFUART_FUZZ=ON), then runs each target for
# the given time on a temporary COPY of its checked-in corpus, so the repo is
# never modified. Prints one summary line per target and exits non-zero if
# any target crashed, leaving the crash input under build-fuzz/fuzz-artifacts/
# (its path is printed). Environment:
#   FUZZ_BUILD_DIR   build directory (default build-fuzz)
#   FUZZ_TARGETS     space-separated subset (default: all seven)
#   FUZZ_ARGS        extra libFuzzer flags, e.g. "-jobs=4 -workers=4"
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${1:-60}
case "$SECONDS_PER_TARGET" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET]" >&2; exit 2 ;;
esac
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=${FUZZ_TARGETS:-"fuzz_frame fuzz_dfw_rx fuzz_initpkt fuzz_manifest fuzz_pkg fuzz_settings fuzz_bl_boot"}
read -r -a EXTRA <<<"${FUZZ_ARGS:-}"

command -v clang >/dev/null || { echo "fuzz: clang not found (scripts/install-deps.sh)" >&2; exit 2; }

# RelWithDebInfo: optimised enough for speed, symbols for the stack traces.
CC=clang cmake -S . -B "$BUILD" -DDFUART_FUZZ=ON -DDFUART_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" --target dfuart_fuzz -j "$(nproc)" >/dev/null

ARTIFACTS="$PWD/$BUILD/fuzz-artifacts"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfuart-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Reports must stop the run with a stack trace, and the temp files of fuzz_pkg
# go to the scratch directory.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TMPDIR="$WORK"

failed=0
for t in $TARGETS; do
  bin="$BUILD/tests/fuzz/$t"
  [ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; exit 2; }
  mkdir -p "$WORK/$t" "$ARTIFACTS/$t"
  cp -r "tests/fuzz/corpus/$t" "$WORK/$t/corpus"
  seeds=$(find "$WORK/$t/corpus" -type f | wc -l)
  log="$WORK/$t/log"
  rc=0
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$t/" "${EXTRA[@]}" \
    "$WORK/$t/corpus" >"$log" 2>&1 || rc=$?

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+[[:space:]]+(INITED|NEW|REDUCE|pulse|DONE)' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(find "$WORK/$t/corpus" -type f | wc -l)
  crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //' || true)
  if [ "$rc" -ne 0 ] || [ -n "$crash" ]; then
    failed=1
    echo "$t: CRASH after ${runs:-?} runs (exit $rc), cov ${cov:-?}: ${crash:-no artifact written}"
    grep -E 'INVARIANT VIOLATED|ERROR: |runtime error|SUMMARY' -A2 "$log" | head -12 | sed 's/^/  /'
    cp "$log" "$ARTIFACTS/$t/last.log"
    echo "  full log: $ARTIFACTS/$t/last.log"
  else
    echo "$t: ${runs:-?} runs in ${SECONDS_PER_TARGET}s, cov ${cov:-?}, ft ${ft:-?}, corpus $seeds -> $corp, 0 crashes"
  fi
done
exit "$failed"
