#!/bin/sh
# Benchmark 4: peak RSS of the runtime process during `create` (/usr/bin/time), and the memory peak
# of the container's cgroup after it ran /bin/true (memory.max_usage_in_bytes on v1, memory.peak
# on v2); median of $MEM_RUNS runs. The bundle pins linux.cgroupsPath so the cgroup can be read.
. "$(dirname "$0")/common.sh"
b=$WORK/bundle-mem
bundle "$b" /bin/true
python3 - "$b/config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["linux"]["cgroupsPath"] = "/husk-bench-mem"
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PY
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then peak=/sys/fs/cgroup/husk-bench-mem/memory.peak
else peak=/sys/fs/cgroup/memory/husk-bench-mem/memory.max_usage_in_bytes; fi
n=${MEM_RUNS:-10}
set -- $(runtimes "$b")
echo "== memory: median of $n runs"
printf '%-6s %16s %18s\n' runtime create_rss_kib cgroup_peak_kib
for name in "$@"; do
  : > "$WORK/mem-$name"
  i=0
  while [ $i -lt "$n" ]; do
    i=$((i + 1))
    # -o: the container's init keeps create's stdio open, so no pipe may carry the number.
    ${TIME:-/usr/bin/time} -o "$WORK/time-$name" -f %M "$(rt_bin "$name")" --root "$STATE/root-$name" create -b "$b" bench-mem \
      </dev/null >/dev/null 2>&1
    rss=$(cat "$WORK/time-$name")
    rt "$name" start bench-mem
    j=0
    while [ $j -lt 500 ] && ! rt "$name" state bench-mem | grep -q stopped; do j=$((j + 1)); done
    p=$(cat "$peak" 2>/dev/null || echo 0)
    rt "$name" delete bench-mem
    echo "$rss $((p / 1024))" >> "$WORK/mem-$name"
  done
  python3 - "$name" "$WORK/mem-$name" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[2])]
print("%-6s %16d %18s" % (sys.argv[1], statistics.median(int(r[0]) for r in rows),
      statistics.median(int(r[1]) for r in rows) or "n/a"))
PY
done
