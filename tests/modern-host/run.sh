#!/bin/bash
# The modern-host stage: boots the Debian 12 VM (systemd as PID 1, pure cgroup v2; image from
# build-image.sh) under qemu with software emulation, shares husk's build and tests with it over
# 9p, and prints what the guest ran and its "N passed, M failed, K skipped" line. Needs build/
# built (ninja -C build). The VM is killed after $HUSK_VM_TIMEOUT seconds (default 1200) in any
# case, which counts as a failure.
#   tests/modern-host/run.sh [PYTEST ARGS...]    default: the v2 and systemd integration tests
#   tests/modern-host/run.sh --bench             bench/ (run, lifecycle, memory) with husk, runc
#                                                and crun, $BENCH_RUNS (20) runs each, as ratios
set -u -o pipefail
cd "$(dirname "$0")/../.."
here=tests/modern-host
fail() { echo "modern-host: $*"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# What runs inside: the tests whose behaviour differs on cgroup v2 and under systemd (cgroup
# files, update, events and OOM, pause/resume through the freezer, exec joining the cgroup, the
# lifecycle with cgroup cleanup). The rest checks nothing host-specific and stays native.
default_tests="integration/test_cgroups.py
integration/test_exec.py
integration/test_lifecycle.py"

[ -x build/runtime/husk ] || fail "build/runtime/husk not built (ninja -C build)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (tests/install-deps.sh)"

start=$(date +%s)
image=$("$here/build-image.sh") || fail "building the image failed"
built=$(date +%s)
echo "modern-host: image $image ($((built - start)) s)"

work=$(mktemp -d /var/tmp/husk-modern-host.XXXXXX)
qemu_pid=""
cleanup() {
  [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
share=$work/share
mkdir -p "$share/out"
cp "$here/guest-run.sh" "$share/"
extra=""
if [ "${1:-}" = --bench ]; then
  shift
  echo "${BENCH_RUNS:-20}" > "$share/bench-runs"
  # Static: the guest has no compiler.
  cc -static -O2 -o "$share/floor" bench/floor.c || fail "cannot build bench/floor.c"
  extra=bench
fi
if [ $# -gt 0 ]; then printf '%s\n' "$@"; else echo "$default_tests"; fi > "$share/pytest-args"
# The build's binaries and the tests, in the repository's layout (conftest finds husk and the
# shim under build/); the guest copies them onto its own disk.
tar -cf "$share/husk.tar" --exclude=__pycache__ build/runtime/husk \
  $(ls build/shim/containerd-shim-husk-v2 2>/dev/null) $(find build/tests/unit -name '*-unit' -type f) \
  integration tests/counts.sh $extra || fail "cannot pack the build"

timeout=${HUSK_VM_TIMEOUT:-1200}
echo "modern-host: booting (qemu TCG, 2 cpus, 4 GiB; killed after $timeout s)"
timeout -k 10 "$timeout" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 4096 \
  -kernel "$image/kernel" -initrd "$image/initrd.img" \
  -append "console=ttyS0 panic=-1 quiet systemd.getty_auto=0 systemd.show_status=0" \
  -drive "file=$image/disk.img,if=virtio,format=raw" -snapshot \
  -virtfs "local,path=$share,mount_tag=husk,security_model=none,id=husk" \
  -nic none -display none -monitor none -serial "file:$work/console.log" -no-reboot &
qemu_pid=$!
wait "$qemu_pid"
status=$?
qemu_pid=""
end=$(date +%s)
echo "modern-host: VM ran $((end - built)) s (qemu exit $status)"

if [ -f "$share/out/log" ]; then
  cat "$share/out/log"
fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "--- console (last 30 lines)"; tail -n 30 "$work/console.log"
  fail "the VM ran past $timeout s and was killed"
fi
summary=$(cat "$share/out/summary" 2>/dev/null)
if [ -z "$summary" ]; then
  echo "--- console (last 60 lines)"; tail -n 60 "$work/console.log"
  fail "the guest left no summary"
fi
# The guest's log (printed above) ends with its summary line.
[ "$(cat "$share/out/rc" 2>/dev/null)" = 0 ]
