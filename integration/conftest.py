"""Fixtures for integration tests: real husk, real busybox containers, per-test state root.

Every container a test makes is deleted at teardown (delete -f through husk), its bundle and
state root are removed, and the test fails if anything of it is left behind.
"""
import copy
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HUSK = os.environ.get("HUSK", os.path.join(REPO, "build", "runtime", "husk"))


def pytest_configure(config):
    if os.geteuid() != 0:
        raise pytest.UsageError("integration tests run real containers: run them as root")


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory):
    """A busybox rootfs built once from Debian's busybox-static."""
    d = tmp_path_factory.mktemp("husk-template")
    subprocess.run([os.path.join(REPO, "integration", "mkbundle.sh"), str(d)], check=True, env=dict(os.environ, HUSK=HUSK))
    return d


class Husk:
    """Runs husk with a private --root; remembers containers so teardown can remove them."""

    def __init__(self, root, bundle_base, template):
        self.root = root
        self.bundle_base = bundle_base
        self.template = template
        self.ids = []

    def cmd(self, *args, input=None, timeout=30, check=False, root=True, **kw):
        argv = [HUSK] + (["--root", self.root] if root else []) + [str(a) for a in args]
        # Files, not pipes: a detached container inherits husk's stdio and would hold a pipe open.
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(argv, input=input, stdout=out, stderr=err, text=True, timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            r = subprocess.CompletedProcess(argv, p.returncode, out.read(), err.read())
        if check and r.returncode != 0:
            raise AssertionError(f"husk {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
        return r

    def new_id(self, prefix="c"):
        cid = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.ids.append(cid)
        return cid

    def bundle(self, args=None, mutate=None):
        """A fresh bundle (its own rootfs copy) with husk's default spec, non-terminal."""
        d = tempfile.mkdtemp(prefix="bundle-", dir=self.bundle_base)
        shutil.copytree(os.path.join(self.template, "rootfs"), os.path.join(d, "rootfs"), symlinks=True)
        with open(os.path.join(self.template, "config.json")) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args or ["sh", "-c", "true"]
        if mutate:
            mutate(cfg)
        write_config(d, cfg)
        return d

    def state(self, cid):
        r = self.cmd("state", cid)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def status(self, cid):
        s = self.state(cid)
        return s["status"] if s else None

    def run_output(self, bundle, cid=None, timeout=30):
        """husk run in the foreground; returns the CompletedProcess."""
        cid = cid or self.new_id()
        return self.cmd("run", "-b", bundle, cid, timeout=timeout)

    def cleanup(self):
        leftovers = []
        for cid in self.ids:
            if self.cmd("state", cid).returncode == 0:
                leftovers.append(cid)
                self.cmd("delete", "-f", cid)
        return leftovers


def write_config(bundle, cfg):
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def read_config(bundle):
    with open(os.path.join(bundle, "config.json")) as f:
        return json.load(f)


def cgroup_dirs_named(name):
    found = []
    for base, dirs, _ in os.walk("/sys/fs/cgroup"):
        for d in dirs:
            if name in d:
                found.append(os.path.join(base, d))
        if base.count("/") > 6:
            dirs[:] = []
    return found


@pytest.fixture
def husk(tmp_path, rootfs_template):
    root = str(tmp_path / "state")
    h = Husk(root, str(tmp_path), str(rootfs_template))
    yield h
    h.cleanup()
    # Nothing of this test may remain: no state, no cgroup, no mount.
    for cid in h.ids:
        assert not cgroup_dirs_named(cid), f"cgroup of {cid} left behind"
        with open("/proc/self/mountinfo") as f:
            assert cid not in f.read(), f"mount of {cid} left behind"


@pytest.fixture
def shared_host_dir(tmp_path):
    """Makes tmpfs mounts shared on the host, as an rshared bind source must be (docker refuses
    one that is not): shared_host_dir(name) returns the mount point. At the end every mount on or
    below them, propagated ones too, is undone."""
    made = []

    def make(name="shared"):
        d = tmp_path / name
        d.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "husk-" + name, str(d)], check=True)
        made.append(d)
        subprocess.run(["mount", "--make-shared", str(d)], check=True)
        return d

    try:
        yield make
    finally:
        for d in reversed(made):
            for m in reversed(host_mounts_under(d)):
                subprocess.run(["umount", "-l", m], check=False)
            subprocess.run(["umount", "-l", str(d)], check=False)


def host_mounts_under(path):
    """Mount points strictly below `path` in this (the host's) mount namespace, in mount order."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p.startswith(str(path) + "/")]


def peer_group(mountinfo_line):
    """The shared:N peer group of a mountinfo line, or None when the mount is not shared."""
    fields = mountinfo_line.split(" - ")[0].split()[6:]
    return next((f for f in fields if f.startswith("shared:")), None)


def host_mount_line(path):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if line.split()[4] == str(path)][-1]


def processes_in_cgroup(name):
    """Pids of every process in a cgroup whose last path element is `name`, in any hierarchy."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                if any(line.rstrip("\n").endswith("/" + name) for line in f):
                    found.append(pid)
        except OSError:
            pass
    return found


def wait_for(pred, timeout=10, interval=0.02):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out
