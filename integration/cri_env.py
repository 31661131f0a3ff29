"""A private containerd 1.6 with its CRI plugin, for the CRI tests and for running critest:
own root, state and socket; everything network in a network namespace made here (containerd,
its shims, the CNI bridge, port mappings and the stream server live in it; pods get their own
namespaces from containerd, mounted under its state dir); a pause image and busybox-based test
images (the names critest asks for) built offline, imported, or served by oci_registry.py for
PullImage. Runtime handlers: `husk` (husk's shim), `husk-runc-shim` (containerd's runc shim
running husk) and `runc` (containerd's runc shim running Debian's runc, for comparison).

As a program it runs one command inside that environment and tears it down afterwards:
  python3 integration/cri_env.py -- CRITEST -runtime-endpoint {endpoint} -runtime-handler husk
(`{endpoint}` becomes the CRI socket's URL; $CRI_ENDPOINT is set too).
"""
import ctypes
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import HUSK, REPO, wait_for  # noqa: E402
from containerd_env import live_pids_mentioning  # noqa: E402
import oci_image  # noqa: E402

SHIM = os.environ.get("HUSK_SHIM", os.path.join(REPO, "build", "shim", "containerd-shim-husk-v2"))
HERE = os.path.dirname(os.path.abspath(__file__))
NS = "k8s.io"  # the containerd namespace CRI uses
STREAM_PORT = 10250
REGISTRY_PORT = 5000

E2E = "registry.k8s.io/e2e-test-images/"
STAGING = "gcr.io/k8s-staging-cri-tools/"
PAUSE_IMAGE = "registry.k8s.io/pause:3.6"
BUSYBOX_IMAGE = E2E + "busybox:1.29-2"
NGINX_IMAGE = E2E + "nginx:1.14-2"

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
"""
GROUP = b"""root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
www-data:x:33:
users:x:100:
nogroup:x:65534:
"""
# The web servers' stand-ins: busybox httpd on port $1, in the background of a script that
# stops on SIGTERM (as PID 1 it would ignore it otherwise). nginx's writes its pid to
# /var/run/nginx.pid (critest reads it and looks for "nginx" with pidof, which matches a
# script's comm: its file name); httpd's logs the line Apache logs.
NGINX = b"""#!/bin/sh
# Once: again with nginx's title in the command line (critest greps /proc/1/cmdline for it).
[ "$2" = "nginx: master process" ] || exec "$0" "$1" "nginx: master process"
echo $$ > /var/run/nginx.pid
httpd -f -p "$1" -h /usr/share/nginx/html &
trap 'kill $!; exit 0' TERM INT QUIT
wait
"""
HTTPD = b"""#!/bin/sh
echo "AH00094: Command line: 'httpd -D FOREGROUND'" >&2
httpd -f -p 80 -h /usr/local/apache2/htdocs &
trap 'kill $!; exit 0' TERM INT QUIT
wait
"""
# Applets critest runs that Debian's busybox-static lacks (the busybox 1.29 of the e2e image has
# them): pgrep [-f] PATTERN (names, or whole command lines, matching an extended regex; never
# itself) and ipcs -m (the shared memory segments of the IPC namespace, from /proc/sysvipc/shm).
PGREP = b"""#!/bin/sh
full=
[ "$1" = -f ] && { full=1; shift; }
[ $# = 1 ] || { echo "usage: pgrep [-f] PATTERN" >&2; exit 2; }
found=1
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  [ "$pid" = $$ ] && continue
  if [ -n "$full" ]; then name=$(tr '\\0' ' ' < "$d/cmdline" 2>/dev/null); else { read -r name < "$d/comm"; } 2>/dev/null; fi
  [ -n "$name" ] || continue
  if echo "$name" | grep -Eq -- "$1"; then echo "$pid"; found=0; fi
done
exit $found
"""
IPCS = b"""#!/bin/sh
[ "$1" = -m ] || { echo "usage: ipcs -m" >&2; exit 2; }
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch"
tail -n +2 /proc/sysvipc/shm | while read -r key shmid perms size cpid lpid nattch uid rest; do
  printf '%-10s %-10s %-10s %-10s %-10s %-10s\\n' "$key" "$shmid" "$uid" "$perms" "$size" "$nattch"
done
"""
# nonewprivs: a set-user-ID root program saying which user it runs as.
NNP = "#include <cstdio>\n#include <unistd.h>\nint main() { std::printf(\"Effective uid: %d\\n\", geteuid()); }\n"


def static_program(workdir, name, source=None, source_path=None):
    """Compiles a C++ program (from a file or a string) statically; returns its bytes."""
    if source is not None:
        source_path = os.path.join(workdir, name + ".cpp")
        with open(source_path, "w") as f:
            f.write(source)
    out = os.path.join(workdir, name)
    subprocess.run(["g++", "-static", "-O2", "-o", out, source_path], check=True)
    with open(out, "rb") as f:
        return f.read()


def build_images(workdir):
    """Builds the pause image and the test images critest v1.26.1 names into an OCI layout
    under workdir; returns the Layout."""
    rootfs = os.path.join(workdir, "busybox")
    subprocess.run([os.path.join(HERE, "mkbundle.sh"), rootfs], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, HUSK=HUSK))
    pause_bin = static_program(workdir, "pause", source_path=os.path.join(HERE, "cri_pause.cpp"))
    layout = oci_image.Layout(os.path.join(workdir, "layout"))
    layout.add([PAUSE_IMAGE], [oci_image.files_layer({"/pause": (pause_bin, 0o755)})], cmd=(),
               entrypoint=("/pause",))
    files = {"/etc/passwd": (PASSWD, 0o644), "/etc/group": (GROUP, 0o644)}
    for applet, script in (("pgrep", PGREP), ("ipcs", IPCS)):
        if not os.path.lexists(os.path.join(rootfs, "rootfs", "bin", applet)):
            files["/bin/" + applet] = (script, 0o755)
    base = [oci_image.rootfs_layer(os.path.join(rootfs, "rootfs")), oci_image.files_layer(files)]
    layout.add([BUSYBOX_IMAGE], base)
    # The image-manager tests' images: one image per name (critest checks an image's RepoTags
    # hold only the name it pulled), except the three tags critest expects on one image.
    for names in (["test-image-latest:latest"], ["test-image-tag:test"], ["test-image-tag:all"],
                  [f"test-image-tags:{i}" for i in (1, 2, 3)]):
        marker = names[0].replace(":", "-")
        layout.add([STAGING + n for n in names], base + [oci_image.files_layer({"/" + marker: (b"", 0o644)})])
    for i in (1, 2, 3):
        layout.add([STAGING + f"test-image-{i}:latest"],
                   base + [oci_image.files_layer({f"/test-image-{i}": (b"%d\n" % i, 0o644)})])
    web = oci_image.files_layer({"/usr/sbin/nginx": (NGINX, 0o755),
                                 "/usr/share/nginx/html/index.html": (b"<h1>Welcome to nginx!</h1>\n", 0o644)})
    layout.add([NGINX_IMAGE], base + [web], cmd=("nginx", "80"))
    layout.add([STAGING + "hostnet-nginx-amd64:latest"], base + [web], cmd=("nginx", "12003"))
    layout.add([E2E + "httpd:2.4.39-4"], base + [oci_image.files_layer({
        "/usr/local/bin/httpd-foreground": (HTTPD, 0o755),
        "/usr/local/apache2/htdocs/index.html": (b"<html><body><h1>It works!</h1></body></html>\n", 0o644)})],
        cmd=("httpd-foreground",))
    nnp = static_program(workdir, "nnp", source=NNP)
    layout.add([E2E + "nonewprivs:1.3"], base + [oci_image.files_layer({"/usr/local/bin/nnp": (nnp, 0o4755)})],
               entrypoint=("/usr/local/bin/nnp",), cmd=())
    for name, user in (("uid", "1002"), ("username", "www-data"), ("uid-group", "1003:users"),
                       ("username-group", "www-data:www-data")):
        layout.add([STAGING + f"test-image-user-{name}:latest"], base, user=user)
    predefined = oci_image.files_layer({
        "/etc/passwd": (PASSWD + b"default-user:x:1000:1000::/home/default-user:/bin/sh\n", 0o644),
        "/etc/group": (GROUP + b"default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n", 0o644)})
    layout.add([STAGING + "test-image-predefined-group:latest"], base + [predefined], user="1000")
    layout.write_index()
    return layout


def _setns_net(path):
    """Moves the calling thread into the network namespace at `path`."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


def cgroup_dirs(parent):
    """Every cgroup directory at or below `parent`, in each hierarchy (v1 controllers and v2)."""
    found = []
    for ctrl in os.listdir("/sys/fs/cgroup"):
        d = os.path.join("/sys/fs/cgroup", ctrl, parent.lstrip("/"))
        if os.path.isdir(d):
            found += [root for root, _, _ in os.walk(d)]
    if os.path.exists("/sys/fs/cgroup/cgroup.procs"):  # pure v2: the root is the hierarchy
        d = os.path.join("/sys/fs/cgroup", parent.lstrip("/"))
        if os.path.isdir(d):
            found += [root for root, _, _ in os.walk(d) if root not in found]
    return found


def remove_cgroups(parent):
    """Kills what is left in the cgroups at or below `parent` and removes them, deepest first."""
    for d in sorted(set(cgroup_dirs(parent)), key=len, reverse=True):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                for pid in f.read().split():
                    os.kill(int(pid), signal.SIGKILL)
            wait_for(lambda: not open(os.path.join(d, "cgroup.procs")).read().strip(), timeout=5)
            os.rmdir(d)
        except OSError:
            pass


def shm_ids():
    with open("/proc/sysvipc/shm") as f:
        return {line.split()[1] for line in f.readlines()[1:]}


def has_cap(bit):
    with open("/proc/self/status") as f:
        eff = next(line for line in f if line.startswith("CapEff:")).split()[1]
    return bool(int(eff, 16) >> bit & 1)


class CriEnv:
    """Everything of one environment is named after its tag: /tmp/husk-cri-TAG-*, the netns
    husk-cri-TAG, the bridge huskcriTAG6, the cgroup parent /husk-cri-TAG; `owner` in the base
    dir holds the pid of the process that made it, so a later run removes what a killed one left."""

    CGROUP_NAMESPACE = "/" + NS  # containerd's cgroups for pods without a cgroup parent

    def __init__(self, tag=None, base=None):
        self.tag = tag or uuid.uuid4().hex[:8]
        if base is None:
            sweep_stale()
            base = tempfile.mkdtemp(prefix=f"husk-cri-{self.tag}-", dir="/tmp")
            with open(os.path.join(base, "owner"), "w") as f:
                f.write(str(os.getpid()))
        self.base = base
        self.cgroup_parent = "/husk-cri-" + self.tag
        # /k8s.io is containerd's, shared by whoever runs CRI here: removed only if made here.
        self.owns_ns_cgroup = not cgroup_dirs(self.CGROUP_NAMESPACE)
        self.netns = "husk-cri-" + self.tag
        self.netns_path = "/run/netns/" + self.netns
        self.bridge = "huskcri" + self.tag[:6]
        self.sock = os.path.join(self.base, "cri.sock")
        self.endpoint = "unix://" + self.sock
        self.procs = []
        self.log_path = os.path.join(self.base, "containerd.log")

    def nsenter(self):
        return ["nsenter", "--net=" + self.netns_path]

    def connect(self, host, port, timeout=10):
        """A TCP socket connected to host:port inside the test's network namespace (setns is
        per thread, so a short-lived thread makes it)."""
        import socket
        result = {}

        def make():
            try:
                _setns_net(self.netns_path)
                result["sock"] = socket.create_connection((host, port), timeout=timeout)
            except OSError as e:
                result["error"] = e

        t = threading.Thread(target=make)
        t.start()
        t.join()
        if "error" in result:
            raise result["error"]
        return result["sock"]

    def start(self, layout, registry=False):
        """Starts containerd (and the registry when `registry`) and imports `layout`'s images."""
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        os.makedirs(os.path.join(self.base, "net.d"))
        with open(os.path.join(self.base, "net.d", "10-husk-cri.conflist"), "w") as f:
            f.write(f'''{{"cniVersion": "1.0.0", "name": "husk-cri", "plugins": [
  {{"type": "bridge", "bridge": "{self.bridge}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {{"type": "host-local", "ranges": [[{{"subnet": "10.213.0.0/24"}}]],
             "routes": [{{"dst": "0.0.0.0/0"}}], "dataDir": "{self.base}/cni-ipam"}}}},
  {{"type": "portmap", "capabilities": {{"portMappings": true}}}}]}}
''')
        with open(os.path.join(self.base, "husk-shim.toml"), "w") as f:
            f.write(f'BinaryName = "{HUSK}"\nRoot = "{self.base}/husk-root"\n')
        mirrors = "".join(f'''
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."{host}"]
  endpoint = ["http://127.0.0.1:{REGISTRY_PORT}"]''' for host in ("registry.k8s.io", "gcr.io"))
        cri = '[plugins."io.containerd.grpc.v1.cri"'
        # Without CAP_SYS_RESOURCE (some VMs and containers) no runtime can lower oom_score_adj
        # below containerd's; containerd then clamps the pods' values, as on rootless hosts.
        restrict_oom = "false" if has_cap(24) else "true"
        cfg = os.path.join(self.base, "config.toml")
        with open(cfg, "w") as f:
            f.write(f'''version = 2
root = "{self.base}/root"
state = "{self.base}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  level = "debug"
{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "{STREAM_PORT}"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  restrict_oom_score_adj = {restrict_oom}
{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "husk"
{cri}.containerd.runtimes.husk]
  runtime_type = "io.containerd.husk.v2"
{cri}.containerd.runtimes.husk.options]
  ConfigPath = "{self.base}/husk-shim.toml"
{cri}.containerd.runtimes.husk-runc-shim]
  runtime_type = "io.containerd.runc.v2"
{cri}.containerd.runtimes.husk-runc-shim.options]
  BinaryName = "{HUSK}"
  Root = "{self.base}/husk-runc-root"
{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
{cri}.containerd.runtimes.runc.options]
  BinaryName = "runc"
  Root = "{self.base}/runc-root"
{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{self.base}/net.d"
  max_conf_num = 1
{mirrors}
''')
        if registry:
            reg_log = open(os.path.join(self.base, "registry.log"), "w")
            reg = subprocess.Popen(self.nsenter() + [sys.executable, os.path.join(HERE, "oci_registry.py"), layout.path,
                                                     "127.0.0.1", str(REGISTRY_PORT)],
                                   stdout=subprocess.PIPE, stderr=reg_log, text=True, start_new_session=True)
            self.procs.append(reg)
            assert reg.stdout.readline().strip() == "ready", "registry did not start"
        path = [os.path.dirname(SHIM), os.path.dirname(HUSK), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        self.log = open(self.log_path, "w")
        ctd = subprocess.Popen(self.nsenter() + ["containerd", "--config", cfg], stdout=self.log, stderr=self.log,
                               env=dict(os.environ, PATH=":".join(path)), start_new_session=True)
        self.procs.append(ctd)
        ok = wait_for(lambda: os.path.exists(self.sock) and self.ctr("version").returncode == 0, timeout=30)
        assert ok, "containerd did not come up: " + self.read_log()
        if not registry:  # with one, CRI pulls what it needs (the sandbox image too) from it
            tar = layout.tar(os.path.join(self.base, "images.tar"))
            r = self.ctr("image", "import", tar)
            assert r.returncode == 0, r.stderr
            os.unlink(tar)

    def read_log(self, n=6000):
        with open(self.log_path) as f:
            return f.read()[-n:]

    def ctr(self, *args, timeout=120):
        argv = ["ctr", "--address", self.sock, "--namespace", NS] + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def pids_in_netns(self):
        """Processes in the test's network namespace (the command run in it, its children)."""
        try:
            ino = os.stat(self.netns_path).st_ino
        except OSError:
            return []
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.stat(f"/proc/{pid}/ns/net").st_ino == ino and int(pid) != os.getpid():
                    found.append(int(pid))
            except OSError:
                pass
        return found

    def teardown(self):
        """Stops every task and containerd, then removes whatever is left (processes, mounts,
        the network namespace and its bridge, cgroups). Returns what was left, as a dict of lists,
        for the caller to judge."""
        if self.procs and self.procs[-1].poll() is None:
            for t in self.ctr("task", "ls", "-q").stdout.split():
                self.ctr("task", "kill", "-s", "SIGKILL", t)
                wait_for(lambda: self.ctr("task", "delete", t).returncode == 0, timeout=10)
            for c in self.ctr("container", "ls", "-q").stdout.split():
                self.ctr("container", "delete", c)
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        left = sorted(set(live_pids_mentioning(self.base) + self.pids_in_netns()))
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if self.base in line.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        cgroups = [d for d in cgroup_dirs(self.cgroup_parent) if not d.endswith(self.cgroup_parent)]
        remove_cgroups(self.cgroup_parent)
        if self.owns_ns_cgroup:
            cgroups += [d for d in cgroup_dirs(self.CGROUP_NAMESPACE) if not d.endswith(self.CGROUP_NAMESPACE)]
            remove_cgroups(self.CGROUP_NAMESPACE)
        netns = []
        if os.path.exists(self.netns_path):
            links = subprocess.run(["ip", "-n", self.netns, "-o", "link", "show"], capture_output=True, text=True).stdout
            netns = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
                     if line.split(":")[1].strip().split("@")[0] not in ("lo", self.bridge)]
            subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        # The caller's cgroup parent (kubelet makes and removes it): only what is below it counts.
        return {"processes mentioning the test dir": left, "mounts": mounts, "links in the test netns": netns,
                "cgroups": cgroups}


def sweep_stale():
    """Tears down the environments of runs that were killed before their own teardown."""
    for base in glob.glob("/tmp/husk-cri-*-*"):
        try:
            with open(os.path.join(base, "owner")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    continue  # its owner still runs
        except OSError:
            pass
        tag = os.path.basename(base).split("-")[2]
        left = CriEnv(tag=tag, base=base).teardown()
        print(f"cri_env: removed what a killed run left in {base}: {left}", file=sys.stderr)


def _raise_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def handle_signals():
    """SIGTERM and SIGHUP end the program as SIGINT does, through the teardown."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_on_signal)


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    handle_signals()
    env = CriEnv()
    code = 1
    shm_before = shm_ids()
    try:
        layout = build_images(os.path.join(env.base, "images"))
        env.start(layout, registry=True)
        cmd = [a.replace("{endpoint}", env.endpoint) for a in argv]
        code = subprocess.run(env.nsenter() + cmd, env=dict(os.environ, CRI_ENDPOINT=env.endpoint)).returncode
    finally:
        try:
            shutil.copy(env.log_path, "/tmp/husk-cri-last-containerd.log")
        except OSError:
            pass
        left = env.teardown()
        # critest's IPC tests make shared memory segments on the host (ipcmk) and leave them.
        left["shared memory segments"] = sorted(shm_ids() - shm_before)
        for shmid in left["shared memory segments"]:
            subprocess.run(["ipcrm", "-m", shmid], check=False)
        for what, items in left.items():
            if items:
                print(f"cri_env: left behind, removed: {what}: {items}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
