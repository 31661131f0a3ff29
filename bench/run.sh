#!/bin/sh
# Benchmarks 1 and 5: `RUNTIME run` of a busybox bundle whose process is /bin/true, $RUNS times in
# sequence per runtime, next to the floor (bench/floor.c: the same kernel work and nothing else).
. "$(dirname "$0")/common.sh"
b=$WORK/bundle-true
bundle "$b" /bin/true
[ -x "$WORK/floor" ] || cc -O2 -o "$WORK/floor" "$BENCH/floor.c"
set -- $(runtimes "$b")
echo "== run /bin/true, $RUNS runs each (wall per container)"
for name in "$@"; do
  hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/run-$name.json" \
    -n "$name" "$(rt_bin "$name") --root $STATE/root-$name run -b $b bench-run" >/dev/null
done
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/run-floor.json" \
  -n floor "$WORK/floor $b/rootfs /bin/true" >/dev/null
# floor-cg: the floor plus a cgroup per hierarchy, the child started in it, removed after.
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$WORK/run-floor-cg.json" \
  -n floor-cg "$WORK/floor -c husk-bench-floor $b/rootfs /bin/true" >/dev/null
floor=$(mean_ms "$WORK/run-floor.json")
husk=$(mean_ms "$WORK/run-husk.json")
printf '%-6s %9s %12s %12s\n' runtime mean_ms vs_husk vs_floor
for name in "$@" floor floor-cg; do
  m=$(mean_ms "$WORK/run-$name.json")
  printf '%-6s %9s %11sx %11sx\n' "$name" "$m" "$(ratio "$m" "$husk")" "$(ratio "$m" "$floor")"
done
