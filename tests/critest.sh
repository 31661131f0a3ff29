#!/bin/bash
# Runs cri-tools' critest (v1.26.1, built outside this tree: cri-tools' code is never part of
# husk) against a private containerd 1.6 with CRI (integration/cri_env.py), once per runtime
# handler, and prints one line per handler: passed, failed, skipped, and the failed specs.
#   CRITEST=/path/to/critest tests/critest.sh [HANDLER...]    (default: husk runc)
# Exits 1 when a handler passes fewer specs than runc's or fails a spec runc passes.
#
# Building critest offline (Debian's golang-1.19; about 7 minutes):
#   cd cri-tools-1.26.1 && GOFLAGS=-mod=vendor go test -c -o critest ./cmd/critest
#
# Skipped, with the reason: "public image with digest should be pulled and removed" pulls
# test-image-digest@sha256:9700f9a2... - a manifest of gcr.io's whose bytes cannot be made here
# (the local registry of integration/oci_registry.py serves images built from Debian's busybox).
set -u -o pipefail
cd "$(dirname "$0")/.."
critest=${CRITEST:?set CRITEST to a critest binary (see the comment at the top)}
[ $# -gt 0 ] || set -- husk runc
out=$(mktemp -d /tmp/husk-critest-XXXXXX)
trap 'rm -rf "$out"' EXIT
for h in "$@"; do
  /usr/bin/python3 integration/cri_env.py -- "$critest" -runtime-endpoint '{endpoint}' -image-endpoint '{endpoint}' \
    -runtime-handler "$h" -ginkgo.skip 'public image with digest should be pulled and removed' \
    -ginkgo.noColor -ginkgo.succinct > "$out/$h.log" 2>&1
  counts=$(grep -E '^(FAIL|SUCCESS)! -- ' "$out/$h.log" | tail -n 1)
  [ -n "$counts" ] || { echo "$h: critest did not finish:"; tail -n 30 "$out/$h.log"; exit 1; }
  grep -E '^\s*\[FAIL\] ' "$out/$h.log" | sed 's/^ *\[FAIL\] //' | sort > "$out/$h.failed"
  echo "$h: ${counts#*-- }"
  sed 's/^/  failed: /' "$out/$h.failed"
done
rc=0
if [ -f "$out/runc.failed" ]; then
  ref=$(grep -oE '^[0-9]+' <<<"$(grep -oE '[0-9]+ Passed' "$out/runc.log" | tail -n 1)")
  for h in "$@"; do
    [ "$h" = runc ] && continue
    p=$(grep -oE '[0-9]+ Passed' "$out/$h.log" | tail -n 1 | grep -oE '^[0-9]+')
    extra=$(comm -23 "$out/$h.failed" "$out/runc.failed")
    if [ "${p:-0}" -lt "${ref:-0}" ] || [ -n "$extra" ]; then
      echo "$h: passes $p, runc $ref; failed where runc passed: ${extra:-none}"
      rc=1
    fi
  done
fi
exit $rc
