#!/usr/bin/env bash
# The recipe of peapod's default image: a busybox root filesystem.
#   rootfs/busybox/build.sh OUT_DIR
# writes OUT_DIR/rootfs (the tree) and OUT_DIR/config.json (the image config).
# busybox comes from Debian's busybox-static (apt-get download, no install),
# else from a static busybox already on the host. No binary is committed.
set -euo pipefail
# The image's modes are the recipe's, not the caller's umask (0 would make
# its directories writable by every uid of a container).
umask 022

out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch_deb() {
  (cd "$work" && apt-get download -o APT::Sandbox::User=root busybox-static >/dev/null 2>&1)
}

busybox=""
if command -v apt-get >/dev/null 2>&1; then
  # An empty package list (a fresh container) is filled once, then retried.
  if fetch_deb || { apt-get update -qq >/dev/null 2>&1 && fetch_deb; }; then
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/deb"
    busybox="$work/deb/bin/busybox"
  fi
fi
if [ -z "$busybox" ]; then
  for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ] && file -L "$candidate" 2>/dev/null | grep -q 'statically linked'; then
      busybox=$candidate
      break
    fi
  done
fi
if [ -z "$busybox" ]; then
  echo "build.sh: no busybox: 'apt-get download busybox-static' failed and no static busybox is on this host" >&2
  exit 1
fi

root="$work/image/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var/www,var/log,run}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
install -m 0755 "$busybox" "$root/bin/busybox"

# Relative links: absolute ones would point at the host's /bin before
# pivot_root and nowhere after it.
"$root/bin/busybox" --list-full | while read -r applet; do
  [ "$applet" = "bin/busybox" ] && continue
  dir=$(dirname "$applet")
  if [ "$dir" = "." ]; then
    target=bin/busybox
  else
    target="$(echo "$dir" | sed -E 's#[^/]+#..#g')/bin/busybox"
  fi
  ln -sf "$target" "$root/$applet"
done

cp "$here/etc/passwd" "$here/etc/group" "$root/etc/"
cp "$here/config.json" "$work/image/config.json"
# Its files keep their modes for containers; on the host, only the image's owner reaches them.
chmod 700 "$work/image"

mkdir -p "$(dirname "$out")"
rm -rf "$out.tmp.$$"
mv "$work/image" "$out.tmp.$$"
# Atomic for concurrent first uses: the first rename wins, the others drop theirs.
if ! mv -T "$out.tmp.$$" "$out" 2>/dev/null; then
  rm -rf "$out.tmp.$$"
fi
echo "built busybox image in $out ($("$out/rootfs/bin/busybox" | head -1 | cut -d' ' -f1-2))"
