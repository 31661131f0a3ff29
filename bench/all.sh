#!/bin/sh
# Runs every benchmark in turn (never two at once) and keeps the output in $WORK/results.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${BENCH_WORK:-/tmp/husk-bench}/results.txt
mkdir -p "$(dirname "$out")"
{
  echo "# $(uname -r), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), cgroups: $(
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo v2; elif [ -d /sys/fs/cgroup/unified ]; then echo hybrid; else echo v1; fi)"
  for s in run lifecycle throughput memory; do "$here/$s.sh" 2>&1 | grep -v -e Warning -e '^ *$'; done
  /usr/bin/python3 "$here/shim.py" 2>&1 || echo "shim bench failed"
  "$here/sizes.sh"
} | tee "$out"
