#!/usr/bin/env bash
# Regenerates the binutils oracle outputs for fixtures/vmlinux that test/elf/*.test.ts compare
# ktrace against. Run from anywhere after fixtures/vmlinux changes:  test/oracle/generate.sh
# Needs GNU binutils (readelf, nm, objdump). Outputs are gzipped to keep the repository small.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
vmlinux="${1:-$root/fixtures/vmlinux}"
cd "$(dirname "$vmlinux")"
f="$(basename "$vmlinux")"
# The file is named by its basename only, so objdump's header line is the same wherever it runs.
LC_ALL=C readelf -SW "$f" | gzip -9n > "$here/readelf-S.txt.gz"
LC_ALL=C readelf -sW "$f" | gzip -9n > "$here/readelf-s.txt.gz"
LC_ALL=C nm -n "$f" | gzip -9n > "$here/nm-n.txt.gz"
LC_ALL=C objdump -d "$f" | gzip -9n > "$here/objdump-d.txt.gz"
LC_ALL=C objdump -d -M intel "$f" | gzip -9n > "$here/objdump-d-intel.txt.gz"
sha=$(sha256sum "$f" | cut -d' ' -f1)
ver=$(objdump --version | head -1)
cat > "$here/meta.json" <<JSON
{
  "vmlinux_sha256": "$sha",
  "binutils": "$ver",
  "commands": ["readelf -SW", "readelf -sW", "nm -n", "objdump -d", "objdump -d -M intel"],
  "regenerate": "test/oracle/generate.sh"
}
JSON
echo "oracle regenerated for $vmlinux ($sha)"
