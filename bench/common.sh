# Shared by the bench/ scripts (sourced): binaries, the busybox bundle, the runtimes this host can
# run, a private --root per runtime, and a cleanup trap that removes every container they made.
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
HUSK=${HUSK:-$REPO/build/runtime/husk}
RUNC=${RUNC:-$(command -v runc || true)}
CRUN=${CRUN:-$(command -v crun || true)}
WORK=${BENCH_WORK:-/tmp/husk-bench}
RUNS=${RUNS:-100}
mkdir -p "$WORK"
# The runtimes' --root directories live on a tmpfs, as /run (their default /run/runc, /run/husk,
# /run/crun) does on a standard host. This VM's /run is on its ext4 root, mounted with discard,
# where every state file created and removed costs a block discard. BENCH_STATE=DIR uses DIR as is.
if [ -n "${BENCH_STATE:-}" ]; then
  STATE=$BENCH_STATE
else
  STATE=$WORK/state
  mkdir -p "$STATE"
  mountpoint -q "$STATE" || { mount -t tmpfs -o mode=0711,size=64m husk-bench "$STATE" && MOUNTED_STATE=1; }
fi

# bundle DIR CMD...: a busybox bundle with husk's default spec. ociVersion 1.0.2 because Debian's
# crun 1.8 refuses later versions; runc and husk take it too, so every runtime reads one file.
bundle() {
  d=$1; shift
  [ -f "$d/config.json" ] && return 0
  HUSK=$HUSK "$REPO/integration/mkbundle.sh" "$d" "$@" >/dev/null
  sed -i 's/"ociVersion": "[^"]*"/"ociVersion": "1.0.2"/' "$d/config.json"
}

# runtimes BUNDLE: the runtimes that can run a container on this host (crun refuses hybrid cgroups).
runtimes() {
  out=""
  for rt in husk runc crun; do
    bin=$(rt_bin "$rt")
    [ -n "$bin" ] && [ -x "$bin" ] || continue
    if "$bin" --root "$STATE/probe-$rt" run -b "$1" "probe-$rt" >/dev/null 2>"$WORK/probe-$rt.err"; then
      out="$out $rt"
    else
      echo "bench: skipping $rt: $(head -c 200 "$WORK/probe-$rt.err")" >&2
      "$bin" --root "$STATE/probe-$rt" delete -f "probe-$rt" >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE/probe-$rt" "$WORK/probe-$rt.err"
  done
  echo $out
}

rt_bin() {
  case $1 in husk) echo "$HUSK" ;; runc) echo "$RUNC" ;; crun) echo "$CRUN" ;; esac
}

# rt NAME ARGS...: the runtime with its private state root.
rt() {
  name=$1; shift
  "$(rt_bin "$name")" --root "$STATE/root-$name" "$@"
}

# Deletes every container left under the private roots, then the roots (and their cgroups with
# them), then the tmpfs if this script mounted it.
cleanup() {
  for r in "$STATE"/root-*; do
    [ -d "$r" ] || continue
    name=${r##*/root-}
    for id in $(ls "$r" 2>/dev/null); do
      [ -d "$r/$id" ] && rt "$name" delete -f "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$r"
  done
  if [ -n "${MOUNTED_STATE:-}" ]; then umount "$STATE" && rmdir "$STATE"; fi
}
trap cleanup EXIT INT TERM

# mean_ms JSON: hyperfine's mean of the first result, in ms.
mean_ms() {
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["mean"]*1000))' "$1"
}

ratio() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
