#!/usr/bin/env bash
# Makes sure this Debian machine can build and run the arm64 (Graviton) layer, installing what is
# missing. rustup cannot fetch an aarch64 standard library here, but Debian's security suite ships
# `rustc-web` with an arm64 std installable through multiarch (`libstd-rust-web-dev:arm64`), and
# `qemu-user-static` runs the aarch64 binary for the checks and tests. Only that compiler
# (/usr/bin/rustc) can use that std: the Makefiles pass RUSTC=/usr/bin/rustc to the arm64 build
# only. See layer/README.md, "arm64 (Graviton)".
#
#   layer/arm64-toolchain.sh          install when missing; exit 0 when ready
#   layer/arm64-toolchain.sh --check  install nothing; exit 1 (saying what is missing) when not ready
#
# Exits 2 with a message naming what is missing when it cannot be installed here (no apt-get, not
# root, package not found). Skip arm64 altogether with LAYER_ARCHS=x86_64.
set -euo pipefail

ARM64_RUSTC="${ARM64_RUSTC:-/usr/bin/rustc}"
TRIPLE=aarch64-unknown-linux-gnu
PACKAGES=(rustc-web libstd-rust-web-dev:arm64 qemu-user-static)
# The locked dependencies (aws-* crates) need this Rust at least.
MIN_RUST=1.94.1

say() { echo "layer: arm64: $*" >&2; }

# Prints what is missing, one item per line; nothing when ready.
missing() {
  if [ ! -x "$ARM64_RUSTC" ]; then
    echo "$ARM64_RUSTC (Debian package rustc-web)"
  else
    local libdir version
    version="$("$ARM64_RUSTC" -V 2>/dev/null | awk '{print $2}')"
    if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$MIN_RUST" "$version" | sort -V | head -n 1)" != "$MIN_RUST" ]; then
      echo "Rust >= $MIN_RUST at $ARM64_RUSTC (found '${version:-none}'; Debian package rustc-web from the security suite)"
    fi
    libdir="$("$ARM64_RUSTC" --print target-libdir --target "$TRIPLE" 2>/dev/null || true)"
    if ! ls "$libdir"/libstd-*.rlib >/dev/null 2>&1; then
      echo "the $TRIPLE standard library for $ARM64_RUSTC (Debian package libstd-rust-web-dev:arm64)"
    fi
  fi
  command -v qemu-aarch64-static >/dev/null 2>&1 || echo "qemu-aarch64-static (Debian package qemu-user-static)"
}

gaps="$(missing)"
if [ -z "$gaps" ]; then
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  say "not ready; missing:"
  printf '%s\n' "$gaps" | sed 's/^/layer:   /' >&2
  exit 1
fi

cannot() {
  say "cannot install the arm64 toolchain: $*"
  say "missing:"
  printf '%s\n' "$gaps" | sed 's/^/layer:   /' >&2
  say "install by hand: dpkg --add-architecture arm64 && apt-get update && apt-get install ${PACKAGES[*]}"
  say "or skip arm64: make layer LAYER_ARCHS=x86_64 (the same variable skips its checks and tests)"
  exit 2
}

command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || cannot "no apt-get/dpkg (not a Debian machine)"
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    cannot "not root and no password-less sudo"
  fi
fi

say "installing ${PACKAGES[*]} (~270 MB download, once); missing:"
printf '%s\n' "$gaps" | sed 's/^/layer:   /' >&2
# Other apt users on the machine: wait for the dpkg lock instead of failing at once.
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${SUDO[@]}" dpkg --add-architecture arm64
fi
"${APT[@]}" update >&2 || cannot "apt-get update failed"
"${APT[@]}" install -y --no-install-recommends "${PACKAGES[@]}" >&2 ||
  cannot "apt-get install ${PACKAGES[*]} failed (rustc-web and libstd-rust-web-dev:arm64 come from the security suite and must have the same version)"

gaps="$(missing)"
[ -z "$gaps" ] || cannot "still missing after apt-get install"
say "ready: $("$ARM64_RUSTC" -V), $(command -v qemu-aarch64-static)"
