"""A real systemd for the systemd cgroup driver's tests: a Debian 12 tree made by debootstrap
(cached under /var/cache/husk-tests and rebuilt when missing or outdated), booted with
systemd-nspawn from a cgroup of its own, with husk and its shim bound in. Commands run inside
with nsenter. stop() ends the boot and removes its cgroups; the tree itself stays read-only
(--volatile=overlay), so every boot starts from the same state."""
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid

from conftest import wait_for

CACHE = os.environ.get("HUSK_TEST_CACHE", "/var/cache/husk-tests")
TREE = os.path.join(CACHE, "systemd-bookworm")
MIRROR = os.environ.get("HUSK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# podman and containerd drive husk inside; crun and containernetworking-plugins only satisfy
# podman's dependencies (debootstrap does not resolve virtual packages); procps for `husk ps`;
# dbus-user-session for a user's bus (rootless).
PACKAGES = ["systemd", "systemd-sysv", "dbus", "dbus-user-session", "procps", "podman", "conmon", "crun",
            "containernetworking-plugins", "containerd"]
# Services of those packages that would start at boot and are not wanted there.
MASKED = ["podman.service", "podman.socket", "podman-restart.service", "podman-auto-update.service",
          "podman-auto-update.timer", "containerd.service", "console-getty.service", "getty.target",
          "systemd-timesyncd.service", "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer",
          "fstrim.timer", "dpkg-db-backup.timer", "man-db.timer"]
STAMP_TEXT = "bookworm minbase " + ",".join(PACKAGES) + " masked " + ",".join(MASKED) + "\n"
# A bound on the one slow step (75 s to 6 min here, with the mirror reachable; cached after).
DEBOOTSTRAP_SECONDS = int(os.environ.get("HUSK_DEBOOTSTRAP_SECONDS", "900"))
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Unavailable(Exception):
    """The tree cannot be built here for a reason outside husk (no package mirror)."""


def _mirror_error():
    try:
        urllib.request.urlopen(MIRROR + "/dists/bookworm/Release", timeout=20).close()
        return None
    except Exception as e:  # noqa: BLE001 - any failure to reach it is the reason to report
        return f"{type(e).__name__}: {e}"


def _mounts_below(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == path or mnt.startswith(path + "/"):
                out.append(mnt)
    return sorted(out, key=lambda m: -m.count("/"))


def _remove_tree(path):
    """rm -rf of a tree that an earlier, interrupted build may have left mounts in (its /proc,
    /sys): those are unmounted first, never removed through."""
    for mnt in _mounts_below(path):
        subprocess.run(["umount", "--lazy", mnt], capture_output=True)
    left = _mounts_below(path)
    if left:
        raise RuntimeError(f"cannot remove {path}: still mounted: {left}")
    shutil.rmtree(path, ignore_errors=True)


def ensure_tree():
    """The cached tree, built first if it is missing or made from another package list."""
    os.makedirs(CACHE, exist_ok=True)
    stamp = os.path.join(TREE, ".husk-tree")
    with open(os.path.join(CACHE, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs build it once
        try:
            with open(stamp) as f:
                if f.read() == STAMP_TEXT:
                    return TREE
        except OSError:
            pass
        err = _mirror_error()
        if err:
            raise Unavailable(f"debootstrap cannot reach the package mirror {MIRROR}: {err}")
        new = TREE + ".new"
        _remove_tree(new)
        debs = os.path.join(CACHE, "debs")
        os.makedirs(debs, exist_ok=True)
        # In a mount namespace of its own: the /proc and /sys it mounts in the tree go with it,
        # even when it is killed half way (the time limit, or the test run interrupted).
        p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase",
                              f"--cache-dir={debs}", "--include=" + ",".join(PACKAGES), "bookworm", new, MIRROR],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            out, _ = p.communicate(timeout=DEBOOTSTRAP_SECONDS)
        except BaseException:
            # Its whole process group (dpkg, chroot, wget ...): they keep the namespace alive.
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            _remove_tree(new)
            raise
        r = subprocess.CompletedProcess(p.args, p.returncode, out, "")
        if r.returncode != 0:
            err = _mirror_error()
            _remove_tree(new)
            if err:
                raise Unavailable(f"debootstrap cannot reach the package mirror {MIRROR}: {err}")
            raise RuntimeError("debootstrap failed:\n" + (r.stdout + r.stderr)[-3000:])
        subprocess.run(["systemctl", f"--root={new}", "mask", "--quiet"] + MASKED, check=True,
                       capture_output=True)
        for deb in os.listdir(os.path.join(new, "var/cache/apt/archives")):
            if deb.endswith(".deb"):
                os.unlink(os.path.join(new, "var/cache/apt/archives", deb))
        with open(os.path.join(new, ".husk-tree"), "w") as f:
            f.write(STAMP_TEXT)
        _remove_tree(TREE)
        os.rename(new, TREE)
        return TREE


def _hierarchies():
    """Every cgroup hierarchy mounted under /sys/fs/cgroup: (mountpoint, is_v2)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, mnt = post.split()[0], pre.split()[4]
            if fstype in ("cgroup", "cgroup2") and (mnt == "/sys/fs/cgroup" or mnt.startswith("/sys/fs/cgroup/")):
                out.append((mnt, fstype == "cgroup2"))
    return out


class SystemdBox:
    def __init__(self, binds, unified=False):
        """binds: (host path, path inside, read_only). unified: the container gets a cgroup v2
        tree of its own (on a v1 or hybrid host, one without controllers: they are v1's)."""
        self.binds = binds
        self.unified = unified
        self.name = "husk-sd-" + uuid.uuid4().hex[:8]
        self.cgroup_dirs = []
        self.proc = None
        self.leader = None
        self.boot_seconds = None

    def start(self, tree):
        for mnt, _ in _hierarchies():
            d = os.path.join(mnt, self.name)
            os.mkdir(d)
            self.cgroup_dirs.append(d)
            for f in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(os.path.join(d, f)) and not open(os.path.join(d, f)).read().strip():
                    with open(os.path.join(mnt, f)) as src, open(os.path.join(d, f), "w") as dst:
                        dst.write(src.read().strip())
        procs = [os.path.join(d, "cgroup.procs") for d in self.cgroup_dirs]

        def join_cgroups():
            for p in procs:
                with open(p, "w") as f:
                    f.write("0")

        argv = ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--volatile=overlay",
                "--private-network", "--console=passive", "-M", self.name, "-D", tree]
        for src, dst, ro in self.binds:
            argv.append(f"--bind{'-ro' if ro else ''}={src}:{dst}")
        argv.append("-b")
        self.log = tempfile.NamedTemporaryFile("w+", prefix="husk-nspawn-", suffix=".log")
        start = time.monotonic()
        # Unset: nspawn gives the container the host's layout (here hybrid); "0" would be v1 only.
        env = {k: v for k, v in os.environ.items() if k != "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"}
        if self.unified:
            env["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1"
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     preexec_fn=join_cgroups, start_new_session=True, env=env)
        self.leader = wait_for(self._find_leader, timeout=30, interval=0.05)
        assert self.leader, "systemd-nspawn started no systemd: " + self.read_log()
        self._wait_running(start)
        # nspawn mounts the v1 controllers read-only: systemd then cannot apply a unit's limits
        # (nor husk write them). Writable, and systemd told to look again.
        for mnt in self.run("awk '$9 == \"cgroup\" {print $5}' /proc/self/mountinfo").stdout.split():
            self.run(f"mount -o remount,bind,rw,nosuid,nodev,noexec {mnt}", check=True)
        self.run("systemctl daemon-reexec", check=True)
        self._wait_running(start)
        self.boot_seconds = time.monotonic() - start

    def _find_leader(self):
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
        except OSError:
            return None
        for k in kids:
            try:
                with open(f"/proc/{k}/comm") as f:
                    if f.read().strip() == "systemd":
                        return int(k)
            except OSError:
                pass
        return None

    def _wait_running(self, start, timeout=90):
        state = ""
        while time.monotonic() - start < timeout:
            assert self.proc.poll() is None, "systemd-nspawn exited: " + self.read_log()
            state = self.run("systemctl is-system-running").stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.1)
        raise AssertionError(f"systemd in the container is {state!r} after {timeout} s: " + self.read_log())

    def read_log(self):
        self.log.seek(0)
        return self.log.read()[-4000:]

    def run(self, cmd, input=None, timeout=120, check=False):
        """`cmd` (a shell command line) inside the container, with a clean environment."""
        argv = ["nsenter", "-t", str(self.leader), "-a", "/usr/bin/env", "-i", f"PATH={PATH}", "HOME=/root",
                "LANG=C.UTF-8", "/bin/sh", "-c", cmd]
        # Files, not pipes: a daemon started inside could hold a pipe open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(argv, input=input, stdout=out, stderr=err, text=True, timeout=timeout)
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(cmd, p.returncode, out.read(), err.read())
        if check and r.returncode != 0:
            raise AssertionError(f"in the container: {cmd} failed ({r.returncode}): {r.stdout}{r.stderr}")
        return r

    def show(self, unit, *props):
        """systemctl show's values of `unit`, as a dict (a list property's lines joined by "\n")."""
        r = self.run(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props), check=True)
        out = {}
        for line in r.stdout.splitlines():
            k, sep, v = line.partition("=")
            if sep:
                out[k] = out[k] + "\n" + v if k in out else v
        return out

    def units(self, pattern):
        """Units loaded (in any state) whose name matches the glob."""
        r = self.run(f"systemctl list-units --all --plain --no-legend '{pattern}'")
        return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]

    def stop(self):
        """Powers the container off (SIGKILL after 30 s), then kills whatever is left in its
        cgroups and removes them. Returns the cgroups that could not be removed."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        left = []
        for d in self.cgroup_dirs:
            for _ in range(50):
                pids = set()
                for base, _, files in os.walk(d):
                    if "cgroup.procs" in files:
                        with open(os.path.join(base, "cgroup.procs")) as f:
                            pids.update(int(p) for p in f.read().split())
                if not pids:
                    break
                for p in pids:  # the container's processes: ours
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.1)
            for base, dirs, _ in sorted(os.walk(d), key=lambda w: -w[0].count("/")):
                for _ in range(50):
                    try:
                        os.rmdir(base)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.1)
            if os.path.exists(d):
                left.append(d)
        self.log.close()
        return left
