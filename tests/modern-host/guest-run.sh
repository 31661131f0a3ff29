#!/bin/bash
# Runs inside the modern-host VM (started at boot by husk-tests.service, from the 9p share at
# /mnt/host): checks the guest is what the stage promises (systemd as PID 1, cgroup v2 only),
# copies husk's build and tests onto the guest disk, runs the unit tests and the chosen
# integration tests, and leaves out/log, out/summary ("N passed, M failed, K skipped") and
# out/rc in the share. The unit powers the VM off when this ends.
set -u -o pipefail
share=/mnt/host
out=$share/out
mkdir -p "$out"
exec > >(tee "$out/log" > /dev/console) 2>&1
tee_pid=$!

passed=0 failed=0 skipped=0
finish() {
  echo "$passed passed, $failed failed, $skipped skipped" | tee "$out/summary"
  [ "$failed" -eq 0 ]; echo $? > "$out/rc"
  exec > /dev/null 2>&1
  wait "$tee_pid"
  sync
  exit 0
}
precondition() {
  if eval "$2"; then echo "ok: $1"; passed=$((passed + 1))
  else echo "FAILED: $1"; failed=$((failed + 1)); fi
}

echo "== modern host: $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ {print $2 / 1024 " MiB"}' /proc/meminfo)"
precondition "systemd is PID 1" '[ "$(cat /proc/1/comm)" = systemd ]'
precondition "/sys/fs/cgroup is cgroup2 alone" \
  '[ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && ! grep -q " cgroup " /proc/mounts'
precondition "cgroup v2 has the cpu, memory, pids and io controllers" \
  '[ -z "$(for c in cpu memory pids io; do grep -qw $c /sys/fs/cgroup/cgroup.controllers || echo $c; done)" ]'
echo "this test's cgroup: $(cat /proc/self/cgroup); controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

work=/root/husk
rm -rf "$work" && mkdir -p "$work"
tar -C "$work" -xf "$share/husk.tar" || { echo "cannot unpack husk.tar"; failed=$((failed + 1)); }
cd "$work"
. tests/counts.sh

if [ -f "$share/bench-runs" ]; then
  # bench/ instead of the tests: each script counts as one test that passes when it completes.
  mkdir -p /tmp/husk-bench && cp "$share/floor" /tmp/husk-bench/floor
  for s in run lifecycle memory; do
    if RUNS=$(cat "$share/bench-runs") MEM_RUNS=5 bench/$s.sh; then passed=$((passed + 1))
    else echo "FAILED: bench/$s.sh"; failed=$((failed + 1)); fi
  done
  finish
fi

unit build

# The integration tests in the share's pytest-args (one argument a line), with every timeout the
# tests take from conftest scaled for software emulation.
mapfile -t args < "$share/pytest-args"
echo "== integration: ${args[*]}"
log=$(mktemp)
HUSK_TEST_TIMEOUT_SCALE=${HUSK_TEST_TIMEOUT_SCALE:-10} \
  python3 -m pytest -p no:cacheprovider -q -rs "${args[@]}" 2>&1 | tee "$log"
count_pytest_log "$log"

finish
