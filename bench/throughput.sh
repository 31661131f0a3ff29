#!/bin/sh
# Benchmark 3: 100 containers created, started and deleted with 2, 8 and 32 in flight at once
# (3 timed rounds per level); prints containers per second.
. "$(dirname "$0")/common.sh"
b=$WORK/bundle-true
bundle "$b" /bin/true
set -- $(runtimes "$b")
N=${N:-100}
echo "== throughput: $N containers create+start+delete -f, containers/s"
printf '%-6s' runtime; for p in 2 8 32; do printf ' %12s' "P=$p"; done; echo
for name in "$@"; do
  r="$(rt_bin "$name") --root $STATE/root-$name"
  printf '%-6s' "$name"
  for p in 2 8 32; do
    hyperfine --runs 3 --warmup 1 --export-json "$WORK/tp-$name-$p.json" \
      "seq $N | xargs -P $p -I{} sh -c '$r create -b $b tp{} && $r start tp{}; $r delete -f tp{}'" \
      >/dev/null 2>"$WORK/tp.err" || { cat "$WORK/tp.err" >&2; exit 1; }
    printf ' %12s' "$(python3 -c "import json; print('%.0f' % ($N / json.load(open('$WORK/tp-$name-$p.json'))['results'][0]['mean']))")"
  done
  echo
done
