#!/usr/bin/env bash
# The README's "main job" command: install, build, and run dfuart on a bundled
# nrfutil package (inspect it, then verify it with the key it was signed with).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target dfuart

PKG=tests/fixtures/nrfutil/packages/sd_bl_app_signed.zip
KEY=tests/fixtures/nrfutil/keys/public_key.c
echo "== dfuart inspect $PKG"
build/cli/dfuart inspect "$PKG"
echo
echo "== dfuart verify --key $KEY $PKG"
build/cli/dfuart verify --key "$KEY" "$PKG"
