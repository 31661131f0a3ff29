#!/bin/sh
# Benchmark 7: binary sizes (file size on disk, and the shared libraries each one loads).
. "$(dirname "$0")/common.sh"
SHIM=${HUSK_SHIM:-$REPO/build/shim/containerd-shim-husk-v2}
echo "== binary sizes"
printf '%-28s %10s %12s  %s\n' binary KiB stripped_KiB "shared libraries"
for f in "$HUSK" "$RUNC" "$CRUN" "$SHIM" "$(command -v containerd-shim-runc-v2 || true)"; do
  [ -n "$f" ] && [ -f "$f" ] || continue
  libs=$(ldd "$f" 2>/dev/null | awk '/=>/ {sub(/\.so.*/, "", $1); printf "%s ", $1}')
  strip -o "$WORK/stripped" "$f"
  printf '%-28s %10d %12d  %s\n' "${f##*/}" $(($(stat -c %s "$f") / 1024)) $(($(stat -c %s "$WORK/stripped") / 1024)) "${libs:-static}"
  rm -f "$WORK/stripped"
done
