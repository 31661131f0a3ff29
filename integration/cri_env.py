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
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
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
# nginx's stand-in: busybox httpd on port $1, the script's pid in /var/run/nginx.pid (critest
# reads it and looks for "nginx" with pidof, which matches a script's comm: its file name).
NGINX = b"""#!/bin/sh
echo $$ > /var/run/nginx.pid
httpd -f -p "${1:-80}" -h /usr/share/nginx/html &
trap 'kill $!; exit 0' TERM INT QUIT
wait
"""


def build_images(workdir):
    """Builds the pause image and the test images critest v1.26.1 names into an OCI layout
    under workdir; returns the Layout."""
    rootfs = os.path.join(workdir, "busybox")
    subprocess.run([os.path.join(HERE, "mkbundle.sh"), rootfs], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, HUSK=HUSK))
    pause = os.path.join(workdir, "pause")
    subprocess.run(["g++", "-static", "-O2", "-o", pause, os.path.join(HERE, "cri_pause.cpp")], check=True)
    with open(pause, "rb") as f:
        pause_bin = f.read()
    layout = oci_image.Layout(os.path.join(workdir, "layout"))
    layout.add([PAUSE_IMAGE], [oci_image.files_layer({"/pause": (pause_bin, 0o755)})], cmd=(),
               entrypoint=("/pause",))
    base = [oci_image.rootfs_layer(os.path.join(rootfs, "rootfs")),
            oci_image.files_layer({"/etc/passwd": (PASSWD, 0o644), "/etc/group": (GROUP, 0o644)})]
    layout.add([BUSYBOX_IMAGE, STAGING + "test-image-latest:latest", STAGING + "test-image-tag:test",
                STAGING + "test-image-tag:all"] + [STAGING + f"test-image-tags:{i}" for i in (1, 2, 3)],
               base)
    for i in (1, 2, 3):
        layout.add([STAGING + f"test-image-{i}:latest"],
                   base + [oci_image.files_layer({f"/test-image-{i}": (b"%d\n" % i, 0o644)})])
    web = oci_image.files_layer({"/usr/sbin/nginx": (NGINX, 0o755),
                                 "/usr/share/nginx/html/index.html": (b"<h1>Welcome to nginx!</h1>\n", 0o644)})
    layout.add([NGINX_IMAGE], base + [web], cmd=("nginx", "80"))
    layout.add([STAGING + "hostnet-nginx-amd64:latest"], base + [web], cmd=("nginx", "12003"))
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


def has_cap(bit):
    with open("/proc/self/status") as f:
        eff = next(line for line in f if line.startswith("CapEff:")).split()[1]
    return bool(int(eff, 16) >> bit & 1)


class CriEnv:
    def __init__(self):
        self.base = tempfile.mkdtemp(prefix="husk-cri-", dir="/tmp")
        self.tag = uuid.uuid4().hex[:8]
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

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()[-6000:]

    def ctr(self, *args, timeout=120):
        argv = ["ctr", "--address", self.sock, "--namespace", NS] + list(args)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

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
        left = live_pids_mentioning(self.base)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if self.base in line.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        netns = []
        if os.path.exists(self.netns_path):
            links = subprocess.run(["ip", "-n", self.netns, "-o", "link", "show"], capture_output=True, text=True).stdout
            netns = [line.split(":")[1].strip().split("@")[0] for line in links.splitlines()
                     if line.split(":")[1].strip().split("@")[0] not in ("lo", self.bridge)]
            subprocess.run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.base, ignore_errors=True)
        return {"processes mentioning the test dir": left, "mounts": mounts, "links in the test netns": netns}


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit(__doc__)
    env = CriEnv()
    code = 1
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
        for what, items in left.items():
            if items:
                print(f"cri_env: left behind, removed: {what}: {items}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
