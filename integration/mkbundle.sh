#!/bin/sh
# Builds an OCI bundle at $1: a busybox rootfs from Debian's busybox-static (no network) and a
# default config.json from `husk spec`. With a command after DIR, the container runs that
# command without a terminal. Usage: integration/mkbundle.sh DIR [COMMAND ARGS...]
# ($HUSK overrides the husk binary that writes the spec.)
set -eu
dir=${1:?usage: mkbundle.sh DIR [COMMAND ARGS...]}
shift
husk=${HUSK:-$(cd "$(dirname "$0")/.." && pwd)/build/runtime/husk}
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || { echo "mkbundle: $bb not found (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir/rootfs"
cd "$dir/rootfs"
mkdir -p bin sbin usr/bin usr/sbin etc dev proc sys tmp root home var/run
cp "$bb" bin/busybox
for applet in $(./bin/busybox --list-full); do
  [ -e "$applet" ] || ln -s /bin/busybox "$applet"
done
chmod 1777 tmp
cat > etc/passwd <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > etc/group <<'G'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
G
echo "nameserver 127.0.0.1" > etc/resolv.conf
cd ..
[ -f config.json ] || "$husk" spec
if [ $# -gt 0 ]; then
  python3 - "$@" <<'PY'
import json, sys
with open("config.json") as f:
    cfg = json.load(f)
cfg["process"]["terminal"] = False
cfg["process"]["args"] = sys.argv[1:]
with open("config.json", "w") as f:
    json.dump(cfg, f, indent=1)
PY
fi
