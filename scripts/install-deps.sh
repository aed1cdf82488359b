#!/usr/bin/env bash
# Installs every Debian 12 package dfuart needs to build, test and run its demo.
# Idempotent and non-interactive; safe to run on every CI start.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libzip-dev libcjson-dev
  libprotobuf-c-dev protobuf-c-compiler
  libserialport-dev libssl-dev zlib1g-dev
  libcmocka-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
