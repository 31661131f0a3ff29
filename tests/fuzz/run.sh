#!/bin/bash
# Builds the libFuzzer targets (clang, -Dfuzz=true, in build-fuzz/) and runs each for
# $FUZZ_SECONDS (default 45) on a scratch copy of its corpus. Prints one line per target,
# "fuzz TARGET: ok" or "fuzz TARGET: FAILED", and the crashing input's path on failure.
set -u -o pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-45}
build=${FUZZ_BUILD:-build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CXX=clang++-14 meson setup "$build" -Dfuzz=true >/dev/null || { echo "fuzz build: FAILED (meson setup)"; exit 1; }
fi
ninja -C "$build" >/dev/null || { echo "fuzz build: FAILED (ninja)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for corpus in tests/fuzz/corpus/*/; do
  t=$(basename "$corpus")
  mkdir -p "$work/$t" "$work/$t-crash"
  cp "$corpus"* "$work/$t/"
  if "$build/tests/fuzz/$t" -max_total_time="$seconds" -artifact_prefix="$work/$t-crash/" -print_final_stats=0 \
       "$work/$t" >"$work/$t.log" 2>&1; then
    echo "fuzz $t: ok ($(grep -o 'Done [0-9]* runs' "$work/$t.log"))"
  else
    echo "fuzz $t: FAILED"
    grep -E 'ERROR|runtime error|SUMMARY|uncaught|Test unit written' "$work/$t.log" | head -n 8
    mkdir -p /tmp/husk-fuzz-crashes && cp "$work/$t-crash/"* /tmp/husk-fuzz-crashes/ 2>/dev/null
    echo "  (crashing inputs copied to /tmp/husk-fuzz-crashes)"
    status=1
  fi
done
exit $status
