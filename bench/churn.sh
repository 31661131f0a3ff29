#!/bin/sh
# Churn: $CHURN (1000) containers in a row, then $CHURN more 4 at a time, each in turn by `run`,
# by create/start/kill/delete, or detached with an `exec` before its delete. Reports the time and
# what is left: mounts, cgroup directories, state directories and processes of the churn, and the
# kernel's count of open files (it must come back to where it was). Leaks fail the script.
. "$(dirname "$0")/common.sh"
N=${CHURN:-1000}
[ "${1:-}" = --one ] && trap - EXIT INT TERM  # a child of the parallel run: the parent cleans up
b_true=$WORK/bundle-true
b_sleep=$WORK/bundle-sleep
bundle "$b_true" /bin/true
bundle "$b_sleep" sleep 100
root=$STATE/root-husk

one() {
  i=$1; id=churn-$i
  case $((i % 3)) in
    0) rt husk run -b "$b_true" "$id" >/dev/null ;;
    1) rt husk create -b "$b_sleep" "$id" && rt husk start "$id" && rt husk kill "$id" KILL &&
       rt husk delete -f "$id" ;;
    2) rt husk run -d -b "$b_sleep" "$id" >/dev/null 2>&1 && rt husk exec "$id" true && rt husk delete -f "$id" ;;
  esac || { echo "churn: container $id failed" >&2; return 1; }
}

left() {
  m=$(grep -c "$WORK" /proc/self/mountinfo || true)
  c=$(find /sys/fs/cgroup -maxdepth 2 -type d -name 'churn-*' | wc -l)
  s=$(ls "$root" 2>/dev/null | wc -l)
  p=$(pgrep -f "$b_sleep|churn-" | wc -l)
  f=$(cut -f1 /proc/sys/fs/file-nr)
  echo "$m $c $s $p $f"
}

if [ "${1:-}" = --one ]; then one "$2"; exit; fi

set -- $(left); mounts_before=$1 files_before=$5
start=$(date +%s.%N)
i=0
while [ $i -lt "$N" ]; do one $i || exit 1; i=$((i + 1)); done
mid=$(date +%s.%N)
seq "$N" $((2 * N - 1)) | xargs -P 4 -n 1 "$0" --one || { echo "churn: a parallel container failed"; exit 1; }
end=$(date +%s.%N)
sleep 1
set -- $(left)
python3 -c "import sys; a,b,c=map(float,sys.argv[1:4]); print(f'{int(sys.argv[4])} in a row: {b-a:.1f} s; {int(sys.argv[4])} 4 at a time: {c-b:.1f} s')" \
  "$start" "$mid" "$end" "$N"
echo "left: mounts=$(($1 - mounts_before)) cgroups=$2 state=$3 processes=$4 open files: $files_before -> $5"
[ "$1" -eq "$mounts_before" ] && [ "$2" -eq 0 ] && [ "$3" -eq 0 ] && [ "$4" -eq 0 ]
