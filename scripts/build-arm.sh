#!/usr/bin/env bash
# Cross-builds the device side (proto + device_fw + the nRF52832 example
# firmware) with arm-none-eabi-gcc at -Os and prints the size report.
#
#   scripts/build-arm.sh [BUILD_DIR]      default: build-arm (in the repo)
#
# Installs gcc-arm-none-eabi and libnewlib-arm-none-eabi with apt-get when
# they are missing (Debian 12; needs root or sudo). Always configures from
# scratch, so the numbers never come from a stale cache. Exit status is
# non-zero if anything fails, including the link (e.g. the image no longer
# fits its FLASH/RAM regions).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR="${1:-build-arm}"
ARM_PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi)

# Configured from scratch every time; refuse anything that looks like a source tree.
if [ -e "$BUILD_DIR/CMakeLists.txt" ] || [ -e "$BUILD_DIR/.git" ]; then
  echo "build-arm: $BUILD_DIR is not a build directory" >&2
  exit 1
fi

install_toolchain() {
  local missing=() p
  for p in "${ARM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ] && command -v arm-none-eabi-gcc >/dev/null; then
    return 0
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "build-arm: installing ${missing[*]:-${ARM_PACKAGES[*]}}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${ARM_PACKAGES[@]}"
}

install_toolchain
for tool in cmake arm-none-eabi-gcc arm-none-eabi-size arm-none-eabi-objcopy; do
  command -v "$tool" >/dev/null || { echo "build-arm: $tool not found" >&2; exit 1; }
done
arm-none-eabi-gcc --version | head -n 1

rm -rf "$BUILD_DIR"
cmake -S . -B "$BUILD_DIR" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/arm-none-eabi.cmake" \
  -DCMAKE_BUILD_TYPE=MinSizeRel \
  -DDFUART_WERROR=ON
# The size report (arm-none-eabi-size, --print-memory-usage, per-object map
# sizes) is a post-build step of the firmware target, so it prints here.
cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"

FW="$BUILD_DIR/device_fw/port/nrf52/dfuart-nrf52832-example"
for f in "$FW.elf" "$FW.hex" "$FW.bin"; do
  [ -s "$f" ] || { echo "build-arm: missing $f" >&2; exit 1; }
done
# Style practice 5: the device code never allocates. A heap call anywhere in
# the image (ours or pulled in from newlib) fails the build.
if arm-none-eabi-nm "$FW.elf" | grep -Eq ' (malloc|_malloc_r|calloc|realloc|free)$'; then
  echo "build-arm: the firmware links a heap allocator" >&2
  exit 1
fi
echo "build-arm: OK: $FW.{elf,hex,bin}"
