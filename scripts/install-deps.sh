#!/usr/bin/env bash
# Installs the Debian packages peapod and its tests use, when they are missing:
# a C/C++ toolchain for the addon, util-linux (nsenter, unshare, ipcmk) and
# procps (ps) for the tests; for images: attr (setfattr: opaque directories
# and xattrs of layers), and for the image tests a real registry and the
# tools that make and push images (docker-registry, skopeo, umoci, openssl,
# zstd). Idempotent; changes nothing when all are there.
set -euo pipefail

declare -A wanted=(
  [g++]=g++ [make]=make [python3]=python3
  [nsenter]=util-linux [ipcmk]=util-linux [ps]=procps
  [dpkg-deb]=dpkg [apt-get]=apt
  [setfattr]=attr [getfattr]=attr [mknod]=coreutils
  [docker-registry]=docker-registry [skopeo]=skopeo [umoci]=umoci [openssl]=openssl [zstd]=zstd
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; run as root (apt-get install ${missing[*]})" >&2
  exit 1
fi
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "install-deps: installing $packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
