#!/bin/sh
# Benchmark 2: create, start and delete of a /bin/true container, each timed on its own ($RUNS
# runs); hyperfine's --prepare brings the container to the state the timed step needs.
. "$(dirname "$0")/common.sh"
b=$WORK/bundle-true
bundle "$b" /bin/true
set -- $(runtimes "$b")
echo "== create / start / delete, $RUNS runs each"
for name in "$@"; do
  r="$(rt_bin "$name") --root $STATE/root-$name"
  # delete -f in the prepare steps: a no-op when nothing is there, and never left running.
  hyperfine -N --runs "$RUNS" --export-json "$WORK/create-$name.json" -n create \
    --prepare "sh -c '$r delete -f bench-lc 2>/dev/null || true'" "$r create -b $b bench-lc" >/dev/null
  hyperfine -N --runs "$RUNS" --export-json "$WORK/start-$name.json" -n start \
    --prepare "sh -c '$r delete -f bench-lc 2>/dev/null; $r create -b $b bench-lc'" "$r start bench-lc" >/dev/null
  # delete of a stopped container: start it and wait (bounded) until /bin/true has exited.
  hyperfine -N --runs "$RUNS" --export-json "$WORK/delete-$name.json" -n delete \
    --prepare "sh -c '$r delete -f bench-lc 2>/dev/null; $r create -b $b bench-lc && $r start bench-lc; i=0; while [ \$i -lt 500 ] && ! $r state bench-lc | grep -q stopped; do i=\$((i+1)); done'" \
    "$r delete bench-lc" >/dev/null
  rt "$name" delete -f bench-lc >/dev/null 2>&1 || true
done
printf '%-6s %10s %10s %10s %14s\n' runtime create_ms start_ms delete_ms total_vs_husk
hc=$(mean_ms "$WORK/create-husk.json"); hs=$(mean_ms "$WORK/start-husk.json"); hd=$(mean_ms "$WORK/delete-husk.json")
ht=$(python3 -c "print($hc+$hs+$hd)")
for name in "$@"; do
  c=$(mean_ms "$WORK/create-$name.json"); s=$(mean_ms "$WORK/start-$name.json"); d=$(mean_ms "$WORK/delete-$name.json")
  printf '%-6s %10s %10s %10s %13sx   (create %sx, start %sx, delete %sx)\n' "$name" "$c" "$s" "$d" \
    "$(ratio "$(python3 -c "print($c+$s+$d)")" "$ht")" "$(ratio "$c" "$hc")" "$(ratio "$s" "$hs")" "$(ratio "$d" "$hd")"
done
