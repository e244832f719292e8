#!/bin/sh
# Fetches a real distribution kernel image with debug info, as a user would: the newest Debian 12
# linux-image-6.1.0-*-cloud-amd64-dbg (apt-get download, about 280 MB), of which only
# usr/lib/debug/boot/vmlinux-* (about 590 MB) is extracted into $XDG_CACHE_HOME/ktrace/vmlinux
# (else ~/.cache/ktrace/vmlinux). Prints the vmlinux's path; does nothing more when it is already there.
#   ktrace -k "$(scripts/real-vmlinux.sh)" vars vfs_read
# --source also extracts the matching kernel source tree (linux-source-6.1 of the same version, from
# /usr/src when that package is installed, else downloaded) beside it and prints the tree's directory
# instead: the sources of perf probe -s and of `ktrace line` (the oracle test of the real image).
# The package's name and version are written beside the image (vmlinux-RELEASE.version).
set -eu

want_source=0
case "${1:-}" in
  --source) want_source=1 ;;
  '') ;;
  *) echo "usage: $0 [--source]" >&2; exit 2 ;;
esac

# As src/cache.ts: a relative $XDG_CACHE_HOME is ignored.
case "${XDG_CACHE_HOME:-}" in
  /*) cache="$XDG_CACHE_HOME/ktrace/vmlinux" ;;
  *) cache="${HOME:?}/.cache/ktrace/vmlinux" ;;
esac
die() { echo "real-vmlinux: $*" >&2; exit 1; }

# The newest ABI of the package (linux-image-6.1.0-N-cloud-amd64-dbg, largest N) apt knows about.
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64-dbg$' 2>/dev/null \
  | cut -d' ' -f1 | sort -V | tail -n 1) || true
if [ -z "$pkg" ]; then
  # No apt (or no Debian 12 sources): the newest image already in the cache, if any.
  found=$(ls "$cache"/vmlinux-6.1.0-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1) || true
  [ -n "$found" ] || die "apt-cache knows no linux-image-6.1.0-*-cloud-amd64-dbg (a Debian 12 system with bookworm sources is needed)"
  release=${found##*/vmlinux-}
else
  release=$(echo "$pkg" | sed 's/^linux-image-//; s/-dbg$//')
fi
vmlinux="$cache/vmlinux-$release"

tmp=''
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

if [ ! -s "$vmlinux" ]; then
  [ -n "$pkg" ] || die "no package to fetch"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  echo "real-vmlinux: fetching $pkg (about 280 MB)" >&2
  (cd "$tmp" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
  deb=$(ls "$tmp"/*.deb)
  version=$(dpkg-deb -f "$deb" Version)
  echo "real-vmlinux: extracting usr/lib/debug/boot/vmlinux-$release" >&2
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './usr/lib/debug/boot/vmlinux-*'
  [ -s "$tmp/usr/lib/debug/boot/vmlinux-$release" ] || die "$deb holds no usr/lib/debug/boot/vmlinux-$release"
  echo "$pkg $version" > "$tmp/version"
  # Renamed into place: a concurrent or interrupted fetch never leaves a partial vmlinux behind.
  mv "$tmp/version" "$vmlinux.version"
  mv "$tmp/usr/lib/debug/boot/vmlinux-$release" "$vmlinux"
fi

if [ "$want_source" = 0 ]; then
  echo "$vmlinux"
  exit 0
fi

# The source tree of the image's exact version (perf -s and ktrace's source reader strip the build
# directory /build/reproducible-path/linux-VERSION/ off the DWARF's absolute paths).
[ -s "$vmlinux.version" ] || die "$vmlinux.version missing: cannot tell which source version matches"
version=$(cut -d' ' -f2 "$vmlinux.version")
srcdir="$cache/linux-source-$version"
if [ ! -f "$srcdir/Makefile" ]; then
  mkdir -p "$cache"
  [ -n "$tmp" ] || tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
  if [ "$(dpkg-query -W -f '${Version}' linux-source-6.1 2>/dev/null || true)" = "$version" ]; then
    tarball=/usr/src/linux-source-6.1.tar.xz
  else
    echo "real-vmlinux: fetching linux-source-6.1=$version (about 140 MB)" >&2
    (cd "$tmp" && apt-get download "linux-source-6.1=$version" >&2) || die "apt-get download linux-source-6.1=$version failed"
    dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb | tar -x -C "$tmp" ./usr/src/linux-source-6.1.tar.xz
    tarball="$tmp/usr/src/linux-source-6.1.tar.xz"
  fi
  echo "real-vmlinux: extracting $tarball" >&2
  mkdir -p "$tmp/src"
  tar -xJf "$tarball" -C "$tmp/src"
  rm -rf "$srcdir"
  mv "$tmp/src/linux-source-6.1" "$srcdir"
fi
echo "$srcdir"
