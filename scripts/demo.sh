#!/usr/bin/env bash
# The README's "main job": install, build, then update an emulated nRF52832 over a
# pseudo-terminal with the real host tool, and show what the bootloader made of it.
#
#   1. dfuart-emu create   nRF52832, S132 7.2.0 stand-in, app_s132.bin as version 1
#   2. dfuart-emu serve    the device's application (dfuart's receiver) behind a pty,
#                          paced like a 1 Mbaud UART with the flash's erase/write
#                          times (--flash-timing), in the background
#   3. dfuart update       app_signed_v2.zip over the pty: progress bar, COMMIT, reset
#   4. stop serve          SIGTERM: it saves the device file and removes the link
#   5. dfuart-emu boot     the bootloader's verdict; bank 0 compared with app_v2.bin
#
# Environment: DFUART_BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${DFUART_BUILD_DIR:-build}
BAUD=1000000
FIX=tests/fixtures/nrfutil
PKG=$FIX/packages/app_signed_v2.zip
KEY=$FIX/keys/public_key.c
APP_V2=$FIX/images/app_v2.bin
BANK0=$((0x26000)) # bank 0 starts where the S132 7.2.0 SoftDevice ends

scripts/install-deps.sh

WORK=$(mktemp -d /tmp/dfuart-demo.XXXXXX)
SERVE_PID=
cleanup() {
    if [ -n "$SERVE_PID" ] && kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # run the EXIT trap on Ctrl-C too

# Warnings stay warnings here: -Werror is the test build's job (scripts/test.sh); a
# newer compiler's new warning must not stop a user's demo.
echo "== build dfuart and dfuart-emu (RelWithDebInfo) in $BUILD"
if ! { cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDFUART_SANITIZE=OFF \
    -DDFUART_WERROR=OFF -DDFUART_BUILD_TESTS=OFF &&
    cmake --build "$BUILD" -j "$(nproc)" --target dfuart dfuart-emu; } >"$WORK/build.log" 2>&1; then
    cat "$WORK/build.log"
    echo "demo: build failed" >&2
    exit 1
fi
DFUART=$BUILD/cli/dfuart
EMU=$BUILD/emulator/dfuart-emu
DEV=$WORK/nrf52832.emu
LINK=$WORK/ttyEMU0

echo
echo "== dfuart-emu create: an nRF52832 running app_s132.bin, version 1"
"$EMU" create "$DEV" --chip nrf52832 --softdevice s132-7.2.0 --app "$FIX/images/app_s132.bin" \
    --app-version 1 --bootloader-version 1 --hw-version 52 --public-key "$KEY"

echo
echo "== dfuart-emu serve $DEV --pty $LINK --baud $BAUD --flash-timing (background)"
"$EMU" serve "$DEV" --pty "$LINK" --baud "$BAUD" --flash-timing >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 200); do # at most ~10 s
    grep -q '^serving ' "$WORK/serve.log" && break
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.05
done
if ! grep '^serving ' "$WORK/serve.log"; then
    cat "$WORK/serve.log" >&2
    echo "demo: dfuart-emu serve did not start" >&2
    exit 1
fi

echo
echo "== dfuart update $PKG --port $LINK --baud $BAUD --key $KEY"
rc=0
"$DFUART" update "$PKG" --port "$LINK" --baud "$BAUD" --key "$KEY" || rc=$?

echo
echo "== stop serve (SIGTERM); its log:"
kill -TERM "$SERVE_PID"
srv=0
wait "$SERVE_PID" || srv=$?
SERVE_PID=
[ "$rc" -ne 0 ] || rc=$srv
cat "$WORK/serve.log"
if [ "$rc" -ne 0 ]; then
    echo "demo: the update or serve failed (exit $rc)" >&2
    exit "$rc"
fi

echo
echo "== dfuart-emu boot $DEV: what the bootloader runs now"
"$EMU" boot "$DEV"
"$EMU" export "$DEV" -o "$WORK/flash.bin"
if cmp -s -n "$(stat -c %s "$APP_V2")" -i "$BANK0:0" "$WORK/flash.bin" "$APP_V2"; then
    echo "bank 0 (0x$(printf %05X "$BANK0")) holds app_v2.bin byte for byte"
else
    echo "demo: bank 0 does not hold app_v2.bin" >&2
    exit 1
fi
