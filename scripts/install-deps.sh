#!/usr/bin/env bash
# Installs the Debian packages peapod and its tests use, when they are missing:
# a C/C++ toolchain for the addon, util-linux (nsenter, unshare, ipcmk) and
# procps (ps) for the tests; the pod network: the CNI plugins (bridge,
# host-local, portmap, firewall in /usr/lib/cni), iptables for portmap and
# masquerade, iproute2 (ip) for the tests; chromium, the real browser the
# test of `peapod ui` drives headless (through puppeteer-core, which
# downloads no browser of its own); for images: attr (setfattr: opaque
# directories and xattrs of layers), and for the image tests a real
# registry and the tools that make and push images (docker-registry,
# skopeo, umoci, openssl, zstd). Idempotent; changes nothing when all are
# there.
set -euo pipefail

declare -A wanted=(
  [g++]=g++ [make]=make [python3]=python3
  [nsenter]=util-linux [ipcmk]=util-linux [ps]=procps
  [dpkg-deb]=dpkg [apt-get]=apt
  [/usr/lib/cni/bridge]=containernetworking-plugins [/usr/lib/cni/portmap]=containernetworking-plugins
  [iptables]=iptables [ip]=iproute2
  [setfattr]=attr [getfattr]=attr [mknod]=coreutils
  [docker-registry]=docker-registry [skopeo]=skopeo [umoci]=umoci [openssl]=openssl [zstd]=zstd
)
# Installed without their recommends: chromium's (udev, avahi, upower, a
# printer setup...) are services a headless test never needs. DejaVu gives
# its screenshots a font.
declare -A lean=(
  [chromium]=chromium [fc-list]=fontconfig
)
missing=()
for cmd in "${!wanted[@]}"; do
  if [[ $cmd == /* ]]; then [ -x "$cmd" ] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  missing+=("${wanted[$cmd]}")
done
missing_lean=()
for cmd in "${!lean[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing_lean+=("${lean[$cmd]}")
done
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing_lean+=(fonts-dejavu-core)
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_lean[@]} -eq 0 ]; then
  echo "install-deps: everything is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]} ${missing_lean[*]}; run as root (apt-get install ${missing[*]} ${missing_lean[*]})" >&2
  exit 1
fi
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "install-deps: installing $packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages
fi
if [ ${#missing_lean[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing_lean[@]}" | sort -u | tr '\n' ' ')
  echo "install-deps: installing $packages (without recommends)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages
fi
