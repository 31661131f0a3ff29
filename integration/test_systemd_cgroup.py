"""husk --systemd-cgroup against a real systemd: a Debian 12 container booted with
systemd-nspawn (systemd_box.py), husk inside it talking to that systemd over D-Bus. Each test
checks from systemd's side (systemctl show of the unit, the unit's cgroup files), as runc's bats
tests do, and removes every container and unit it made, even when it fails."""
import json
import os
import random
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import oci_image
import systemd_box
from conftest import HUSK, REPO, wait_for

SHIM = os.path.join(os.path.dirname(os.path.dirname(HUSK)), "shim", "containerd-shim-husk-v2")
MB = 1024 * 1024


def _box(unified):
    for tool in ("debootstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (tests/install-deps.sh installs it)")
    try:
        tree = systemd_box.ensure_tree()
    except systemd_box.Unavailable as e:
        pytest.skip(str(e))
    work = tempfile.mkdtemp(prefix="husk-sdbox-", dir="/var/tmp")
    os.chmod(work, 0o755)
    binds = [(HUSK, "/usr/local/bin/husk", True), (work, "/work", False)]
    if os.path.exists(SHIM):
        binds.append((SHIM, "/usr/local/bin/containerd-shim-husk-v2", True))
    b = systemd_box.SystemdBox(binds, unified=unified)
    b.work = work
    try:
        subprocess.run([os.path.join(REPO, "integration", "mkbundle.sh"), os.path.join(work, "template")], check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ, HUSK=HUSK))
        b.start(tree)
        print(f"systemd container up in {b.boot_seconds:.1f} s")
        b.v2 = b.run("stat -f -c %T /sys/fs/cgroup").stdout.strip() == "cgroup2fs"
        yield b
    finally:
        left = b.stop()
        shutil.rmtree(work, ignore_errors=True)
        assert not left, f"cgroups of the systemd container left behind: {left}"


@pytest.fixture(scope="module")
def box():
    """systemd on the host's cgroup layout (here hybrid: the v1 controllers)."""
    yield from _box(unified=False)


@pytest.fixture(scope="module")
def box_v2():
    """systemd on a cgroup v2 tree of its own. On a v1 or hybrid host that tree has no
    controllers (they are v1's): units, devices (eBPF), freezing and user managers, no limits."""
    yield from _box(unified=True)


class BoxHusk:
    """husk --systemd-cgroup inside the box; remembers containers and units for teardown."""

    def __init__(self, box):
        self.box = box
        self.ids = []
        self.units = []  # other units a test makes (slices, test services)

    def cmd(self, *args, timeout=60, env=""):
        return self.box.run(f"{env} husk --systemd-cgroup " + shlex.join(str(a) for a in args), timeout=timeout)

    def new_id(self):
        cid = "sd-" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def bundle(self, args, mutate=None):
        """A bundle in the shared work directory; returns its path inside the box."""
        name = "b-" + uuid.uuid4().hex[:8]
        d = os.path.join(self.box.work, name)
        shutil.copytree(os.path.join(self.box.work, "template", "rootfs"), os.path.join(d, "rootfs"), symlinks=True)
        with open(os.path.join(self.box.work, "template", "config.json")) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        if mutate:
            mutate(cfg)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        return "/work/" + name

    def state(self, cid):
        r = self.cmd("state", cid)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def started(self, args, mutate=None, cid=None):
        cid = cid or self.new_id()
        r = self.cmd("run", "-d", "-b", self.bundle(args, mutate), cid)
        assert r.returncode == 0, r.stderr
        return cid, self.state(cid)["pid"]

    def cleanup(self):
        for cid in self.ids:
            if self.cmd("state", cid).returncode == 0:
                self.cmd("delete", "-f", cid)
        for u in self.units:
            self.box.run(f"systemctl stop {u}; systemctl reset-failed {u}")
        left = [u for cid in self.ids for u in self.box.units(f"*{cid}*")]
        for u in left:
            self.box.run(f"systemctl stop {u}; systemctl reset-failed {u}")
        return left


@pytest.fixture
def sd(box):
    h = BoxHusk(box)
    try:
        yield h
    finally:
        left = h.cleanup()
        assert not left, f"units left behind: {left}"
        for cid in h.ids:
            r = box.run(f"find /sys/fs/cgroup -maxdepth 4 -name '*{cid}*'")
            assert not r.stdout.strip(), f"cgroups of {cid} left behind: {r.stdout}"
        assert not box.units("husk-*.scope"), box.units("husk-*.scope")
        assert not box.run("systemctl list-units --failed --plain --no-legend 'husk*'").stdout.strip()


def proc_cgroups(box, pid):
    """/proc/PID/cgroup as seen from inside the box: {controllers: path}."""
    out = {}
    for line in box.run(f"cat /proc/{pid}/cgroup", check=True).stdout.splitlines():
        _, ctrl, path = line.split(":", 2)
        out[ctrl] = path
    return out


def cg_file(box, unit_cgroup, controller, name):
    base = "/sys/fs/cgroup" if box.v2 else f"/sys/fs/cgroup/{controller}"
    return box.run(f"cat {base}{unit_cgroup}/{name}", check=True).stdout.strip()


def test_run_makes_a_transient_scope_that_systemd_manages(box, sd):
    cid, pid = sd.started(["sleep", "1000"])
    unit = f"husk-{cid}.scope"
    p = box.show(unit, "ActiveState", "Slice", "ControlGroup", "Delegate", "Description", "Transient",
                 "DefaultDependencies", "TasksCurrent")
    assert p["ActiveState"] == "active"
    assert p["Slice"] == "system.slice"
    assert p["ControlGroup"] == f"/system.slice/{unit}"
    assert p["Delegate"] == "yes" and p["Transient"] == "yes" and p["DefaultDependencies"] == "no"
    assert p["Description"] == f"husk container {cid}"
    assert p["TasksCurrent"] == "1"
    # Init is in the unit's cgroup in every hierarchy, those systemd leaves alone too.
    cgs = proc_cgroups(box, pid)
    assert all(path == f"/system.slice/{unit}" for path in cgs.values()), cgs
    # The state records the driver: delete (no flag needed) stops the unit.
    r = box.run(f"husk delete -f {cid}")
    assert r.returncode == 0, r.stderr
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    assert not box.run(f"find /sys/fs/cgroup -name '{unit}'").stdout.strip()


@pytest.mark.parametrize("path, unit, slice_, cgroup", [
    ("machine-husktest.slice:hp:{id}", "hp-{id}.scope", "machine-husktest.slice",
     "/machine.slice/machine-husktest.slice/hp-{id}.scope"),
    ("-::{id}", "{id}.scope", "-.slice", "/{id}.scope"),
    (":husk:{id}", "husk-{id}.scope", "system.slice", "/system.slice/husk-{id}.scope"),
])
def test_cgroups_path_slice_prefix_name(box, sd, path, unit, slice_, cgroup):
    cid = sd.new_id()
    unit, cgroup = unit.format(id=cid), cgroup.format(id=cid)
    if slice_.startswith("machine-"):
        sd.units += [slice_, "machine.slice"]
    _, pid = sd.started(["sleep", "1000"], lambda c: c["linux"].__setitem__("cgroupsPath", path.format(id=cid)), cid=cid)
    p = box.show(unit, "ActiveState", "Slice", "ControlGroup")
    assert p == {"ActiveState": "active", "Slice": slice_, "ControlGroup": cgroup}
    assert proc_cgroups(box, pid)["memory"] == cgroup
    assert sd.cmd("delete", "-f", cid).returncode == 0
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


def test_resources_become_unit_properties_and_cgroup_values(box, sd):
    res = {"memory": {"limit": 64 * MB}, "cpu": {"shares": 512, "quota": 12345, "period": 100000},
           "pids": {"limit": 20},
           "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 4, "access": "r"}]}
    cid, _ = sd.started(["sleep", "1000"], lambda c: c["linux"].__setitem__("resources", res))
    unit = f"husk-{cid}.scope"
    cg = f"/system.slice/{unit}"
    p = box.show(unit, "MemoryLimit", "MemoryMax", "CPUShares", "CPUWeight", "CPUQuotaPerSecUSec",
                 "CPUQuotaPeriodUSec", "TasksMax", "DevicePolicy", "DeviceAllow")
    # systemd keeps CPU quota in whole percents: 12.345% becomes 13%; the cgroup gets 12345.
    assert p["CPUQuotaPerSecUSec"] == "130ms" and p["CPUQuotaPeriodUSec"] == "100ms"
    assert p["TasksMax"] == "20"
    assert p["DevicePolicy"] == "strict"
    allowed = p["DeviceAllow"].splitlines()
    for entry in ("/dev/char/1:4 r", "/dev/char/1:3 rwm", "char-pts rwm", "char-* m"):
        assert entry in allowed, (entry, allowed)
    if box.v2:
        assert p["MemoryMax"] == str(64 * MB)
        assert p["CPUWeight"] == "20"  # shares 512 -> weight
        assert cg_file(box, cg, "", "memory.max") == str(64 * MB)
        assert cg_file(box, cg, "", "cpu.max") == "12345 100000"
        assert cg_file(box, cg, "", "pids.max") == "20"
    else:
        assert p["MemoryLimit"] == str(64 * MB)
        assert p["CPUShares"] == "512"
        assert cg_file(box, cg, "memory", "memory.limit_in_bytes") == str(64 * MB)
        assert cg_file(box, cg, "cpu", "cpu.shares") == "512"
        assert cg_file(box, cg, "cpu", "cpu.cfs_quota_us") == "12345"
        assert cg_file(box, cg, "pids", "pids.max") == "20"
        devices = cg_file(box, cg, "devices", "devices.list").splitlines()
        assert "c 1:4 r" in devices and "c 1:3 rwm" in devices and "a *:* rwm" not in devices
    # systemd knows the limits: applying the unit's settings again keeps them.
    box.run("systemctl daemon-reload", check=True)
    if box.v2:
        assert cg_file(box, cg, "", "memory.max") == str(64 * MB)
    else:
        assert cg_file(box, cg, "memory", "memory.limit_in_bytes") == str(64 * MB)
    assert cg_file(box, cg, "pids", "pids.max") == "20"


def test_update_sets_the_unit_properties_then_the_cgroup(box, sd):
    cid, _ = sd.started(["sleep", "1000"])
    unit = f"husk-{cid}.scope"
    cg = f"/system.slice/{unit}"
    r = sd.cmd("update", "--memory", "96M", "--pids-limit", "30", "--cpu-quota", "20000", "--cpu-period", "100000",
               "--cpu-share", "256", cid)
    assert r.returncode == 0, r.stderr
    p = box.show(unit, "MemoryLimit", "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec", "CPUShares", "CPUWeight")
    assert p["TasksMax"] == "30" and p["CPUQuotaPerSecUSec"] == "200ms"
    assert p["MemoryMax" if box.v2 else "MemoryLimit"] == str(96 * MB)
    assert cg_file(box, cg, "pids", "pids.max") == "30"
    if not box.v2:
        assert p["CPUShares"] == "256"
        assert cg_file(box, cg, "memory", "memory.limit_in_bytes") == str(96 * MB)
        assert cg_file(box, cg, "cpu", "cpu.cfs_quota_us") == "20000"
    box.run("systemctl daemon-reload", check=True)
    assert cg_file(box, cg, "pids", "pids.max") == "30"


def test_exec_ps_pause_resume_kill_work_on_the_units_cgroup(box, sd):
    cid, pid = sd.started(["sleep", "1000"])
    unit = f"husk-{cid}.scope"
    r = sd.cmd("exec", "-d", "--pid-file", f"/work/{cid}.pid", cid, "sleep", "999")
    assert r.returncode == 0, r.stderr
    epid = int(open(os.path.join(box.work, f"{cid}.pid")).read())
    # The exec'd process is in the container's cgroup in every hierarchy, as systemd sees it too.
    assert set(proc_cgroups(box, epid).values()) == {f"/system.slice/{unit}"}
    assert box.show(unit, "TasksCurrent")["TasksCurrent"] == "2"
    ps = sd.cmd("ps", "-f", "json", cid)
    assert ps.returncode == 0, ps.stderr
    assert sorted(json.loads(ps.stdout)) == sorted([pid, epid])
    assert sd.cmd("pause", cid).returncode == 0
    assert sd.state(cid)["status"] == "paused"
    assert sd.cmd("resume", cid).returncode == 0
    assert sd.state(cid)["status"] == "running"
    ev = sd.cmd("events", "--stats", cid)
    assert ev.returncode == 0 and json.loads(ev.stdout)["data"]["pids"]["current"] == 2
    assert sd.cmd("kill", "-a", cid, "KILL").returncode == 0
    assert wait_for(lambda: sd.state(cid)["status"] == "stopped")
    assert sd.cmd("delete", cid).returncode == 0
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


def test_a_unit_of_the_same_name_that_runs_is_refused(box, sd):
    first, _ = sd.started(["sleep", "1000"])
    cid = sd.new_id()
    marker = str(random.randint(100000, 999999))
    b = sd.bundle(["sleep", marker], lambda c: c["linux"].__setitem__("cgroupsPath", f":husk:{first}"))
    r = sd.cmd("create", "-b", b, cid)
    assert r.returncode == 1
    # Refused before systemd is asked, as by the cgroupfs driver (and runc): its cgroup has processes.
    assert "linux.cgroupsPath: container's cgroup is not empty: " in r.stderr, r.stderr
    assert f"/husk-{first}.scope or a cgroup below it has processes" in r.stderr, r.stderr
    # The other container's unit is untouched, and nothing of this one is left.
    p = box.show(f"husk-{first}.scope", "ActiveState", "TasksCurrent")
    assert p == {"ActiveState": "active", "TasksCurrent": "1"}
    assert sd.state(cid) is None
    assert marker not in box.run("ps -eo args").stdout


def test_a_failed_unit_left_over_is_reset_and_the_start_retried(box, sd):
    cid = sd.new_id()
    unit = f"husk-{cid}.scope"
    # A scope that fails (runtime limit) stays loaded as failed until reset.
    box.run(f"systemd-run --scope --unit {unit} -p RuntimeMaxSec=1 sleep 100")
    assert wait_for(lambda: box.run(f"systemctl is-failed {unit}").stdout.strip() == "failed", timeout=15)
    _, pid = sd.started(["sleep", "1000"], cid=cid)
    assert box.show(unit, "ActiveState")["ActiveState"] == "active"
    assert proc_cgroups(box, pid)["memory"] == f"/system.slice/{unit}"


def test_an_oom_killed_container_leaves_no_failed_unit(box, sd):
    cid = sd.new_id()
    b = sd.bundle(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                  lambda c: c["linux"].__setitem__("resources", {"memory": {"limit": 16 * MB, "swap": 16 * MB}}))
    r = sd.cmd("run", "-b", b, cid)
    assert r.returncode != 0 and "survived" not in r.stdout, (r.returncode, r.stdout, r.stderr)
    assert sd.state(cid) is None  # run deleted it
    assert box.show(f"husk-{cid}.scope", "LoadState")["LoadState"] == "not-found"
    assert not box.run("systemctl list-units --failed --plain --no-legend").stdout.strip().startswith(f"husk-{cid}")


def test_delete_resets_a_unit_that_failed(box, sd):
    """A unit can fail under a container (on v2 an OOM kill fails it): delete leaves none."""
    # systemd stops it after 1 s, and kills it 0.5 s later (init ignores SIGTERM): "timeout".
    ann = {"org.systemd.property.RuntimeMaxSec": "1", "org.systemd.property.TimeoutStopUSec": "uint64 500000"}
    cid, _ = sd.started(["sleep", "1000"], lambda c: c.__setitem__("annotations", ann))
    unit = f"husk-{cid}.scope"
    assert box.show(unit, "RuntimeMaxUSec")["RuntimeMaxUSec"] == "1s"
    assert wait_for(lambda: box.run(f"systemctl is-failed {unit}").stdout.strip() == "failed", timeout=15)
    assert sd.state(cid)["status"] == "stopped"
    r = sd.cmd("delete", cid)
    assert r.returncode == 0, r.stderr
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


def test_annotations_set_unit_properties(box, sd):
    ann = {"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
           "org.systemd.property.CollectMode": "'inactive-or-failed'"}
    cid, _ = sd.started(["sleep", "1000"], lambda c: c.__setitem__("annotations", ann))
    p = box.show(f"husk-{cid}.scope", "TimeoutStopUSec", "CollectMode")
    assert p == {"TimeoutStopUSec": "2min 3.456789s", "CollectMode": "inactive-or-failed"}


def test_a_property_systemd_refuses_leaves_nothing_behind(box, sd):
    cid = sd.new_id()
    marker = str(random.randint(100000, 999999))
    b = sd.bundle(["sleep", marker], lambda c: c.__setitem__("annotations", {"org.systemd.property.NoSuchThing": "true"}))
    r = sd.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and f"systemd: start unit husk-{cid}.scope" in r.stderr and "NoSuchThing" in r.stderr
    assert sd.state(cid) is None
    assert marker not in box.run("ps -eo args").stdout
    assert box.show(f"husk-{cid}.scope", "LoadState")["LoadState"] == "not-found"


def test_a_missing_bus_inside_is_a_clear_error(box, sd):
    cid = sd.new_id()
    r = sd.cmd("create", "-b", sd.bundle(["sleep", "1000"]), cid, env="DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/none")
    assert r.returncode == 1
    assert "--systemd-cgroup: cannot connect to the system bus (unix:path=/run/none)" in r.stderr
    assert sd.state(cid) is None


LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "none"]


def test_podman_with_the_systemd_cgroup_manager(box, sd):
    """podman --cgroup-manager systemd, as on every systemd host, with husk as its runtime."""
    img = os.path.join(box.work, "podman-rootfs.tar")
    subprocess.run(["tar", "-C", os.path.join(box.work, "template", "rootfs"), "-cf", img, "."], check=True)
    pm = ("podman --cgroup-manager systemd --runtime /usr/local/bin/husk --storage-driver vfs "
          "--events-backend file ")
    r = box.run(pm + "import /work/podman-rootfs.tar localhost/husk-busybox:latest")
    assert r.returncode == 0, r.stderr
    name = "pm-" + uuid.uuid4().hex[:8]
    try:
        r = box.run(pm + "run --rm " + " ".join(LIMITS) + " localhost/husk-busybox sh -c 'echo hi; exit 3'")
        assert r.returncode == 3 and r.stdout == "hi\n", r.stderr
        r = box.run(pm + f"run -d --name {name} " + " ".join(LIMITS) + " localhost/husk-busybox sleep 1000")
        assert r.returncode == 0, r.stderr
        full = r.stdout.strip()
        unit = f"libpod-{full}.scope"
        p = box.show(unit, "ActiveState", "Slice", "ControlGroup")
        assert p["ActiveState"] == "active" and p["Slice"] == "machine.slice", p
        assert p["ControlGroup"] == f"/machine.slice/{unit}"
        r = box.run(pm + f"exec {name} sh -c 'cat /proc/1/cmdline; echo'")
        assert r.returncode == 0 and "sleep" in r.stdout, r.stderr
        assert box.run(pm + f"pause {name}").returncode == 0
        assert "paused" in box.run(pm + f"inspect -f '{{{{.State.Status}}}}' {name}").stdout
        assert box.run(pm + f"unpause {name}").returncode == 0
        assert box.run(pm + f"stop -t 1 {name}").returncode == 0
        assert box.run(pm + f"rm {name}").returncode == 0
        assert box.show(unit, "LoadState")["LoadState"] == "not-found"
    finally:
        box.run(pm + "rm -af -t 0")
        box.run(pm + "rmi -af")
        left = box.units("libpod-*")
        for u in left:
            box.run(f"systemctl stop {u}; systemctl reset-failed {u}")
        assert not left, left


@pytest.fixture
def containerd_in_box(box):
    """containerd as a transient service inside the box (its own config, root and socket)."""
    base = os.path.join(box.work, "ctd-" + uuid.uuid4().hex[:6])
    os.makedirs(base)
    inside = "/work/" + os.path.basename(base)
    with open(os.path.join(base, "config.toml"), "w") as f:
        f.write(f'''version = 2
root = "{inside}/root"
state = "/run/husk-test-containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "/run/husk-test-containerd/c.sock"
''')
    unit = "husk-test-containerd-" + uuid.uuid4().hex[:6] + ".service"
    r = box.run(f"systemd-run --unit {unit} -p KillMode=control-group containerd --config {inside}/config.toml")
    assert r.returncode == 0, r.stderr
    ctr = "ctr --address /run/husk-test-containerd/c.sock --namespace husktest "
    try:
        assert wait_for(lambda: box.run(ctr + "version").returncode == 0, timeout=30), \
            box.run(f"journalctl -u {unit} --no-pager | tail -20").stdout
        tar = oci_image.build_image_tar(os.path.join(box.work, "template", "rootfs"), os.path.join(base, "image.tar"),
                                        "docker.io/library/husk-busybox:latest")
        r = box.run(ctr + f"image import --snapshotter native {inside}/{os.path.basename(tar)}")
        assert r.returncode == 0, r.stderr
        yield ctr, inside
    finally:
        for t in box.run(ctr + "task ls -q").stdout.split():
            box.run(ctr + f"task kill -s SIGKILL {t}")
            wait_for(lambda: box.run(ctr + f"task delete {t}").returncode == 0, timeout=10)
        for c in box.run(ctr + "container ls -q").stdout.split():
            box.run(ctr + f"container delete {c}")
        box.run(f"systemctl stop {unit}; systemctl reset-failed {unit}")
        box.run("umount -R /run/husk-test-containerd 2>/dev/null; rm -rf /run/husk-test-containerd")
        shutil.rmtree(base, ignore_errors=True)


IMAGE = "docker.io/library/husk-busybox:latest"


def test_containerd_runc_shim_with_systemd_cgroup(box, sd, containerd_in_box):
    """containerd's own runc shim, SystemdCgroup = true, husk as its BinaryName."""
    ctr, _ = containerd_in_box
    cid = "ctr-" + uuid.uuid4().hex[:8]
    sd.ids.append(cid)
    unit = f"husk-ctr-{cid}.scope"
    r = box.run(ctr + f"run -d --snapshotter native --runtime io.containerd.runc.v2 --runc-binary /usr/local/bin/husk "
                f"--runc-systemd-cgroup --cgroup system.slice:husk-ctr:{cid} {IMAGE} {cid} sleep 1000")
    assert r.returncode == 0, r.stderr
    p = box.show(unit, "ActiveState", "ControlGroup", "Delegate")
    assert p == {"ActiveState": "active", "ControlGroup": f"/system.slice/{unit}", "Delegate": "yes"}
    r = box.run(ctr + f"task exec --exec-id e1 {cid} sh -c 'cat /proc/1/cmdline; echo'")
    assert r.returncode == 0 and "sleep" in r.stdout, r.stderr
    assert box.show(unit, "TasksCurrent")["TasksCurrent"] == "1"  # the exec has ended
    assert box.run(ctr + f"task kill -s SIGKILL {cid}").returncode == 0
    assert wait_for(lambda: box.run(ctr + f"task delete {cid}").returncode == 0, timeout=10)
    assert box.run(ctr + f"container delete {cid}").returncode == 0
    assert box.show(unit, "LoadState")["LoadState"] == "not-found"


@pytest.mark.skipif(not os.path.exists(SHIM), reason="containerd-shim-husk-v2 not built")
def test_husk_shim_honours_systemd_cgroup(box, sd, containerd_in_box):
    """husk's own shim with SystemdCgroup = true in its husk-shim.toml passes --systemd-cgroup."""
    ctr, inside = containerd_in_box
    with open(os.path.join(box.work, os.path.basename(inside), "husk-shim.toml"), "w") as f:
        f.write('BinaryName = "/usr/local/bin/husk"\nSystemdCgroup = true\n')
    cid = "ctr-" + uuid.uuid4().hex[:8]
    sd.ids.append(cid)
    r = box.run(ctr + f"run --rm --snapshotter native --runtime io.containerd.husk.v2 "
                f"--runtime-config-path {inside}/husk-shim.toml --cgroup system.slice:husk-shim:{cid} {IMAGE} {cid} "
                "cat /proc/self/cgroup")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines and all(line.endswith(f"/system.slice/husk-shim-{cid}.scope") for line in lines), r.stdout
    assert box.show(f"husk-shim-{cid}.scope", "LoadState")["LoadState"] == "not-found"


def test_v2_unit_with_device_rules_and_freezing(box_v2):
    sd = BoxHusk(box_v2)
    try:
        res = {"devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 4,
                                                               "access": "r"}]}
        cid, pid = sd.started(["sleep", "1000"], lambda c: c["linux"].__setitem__("resources", res))
        unit = f"husk-{cid}.scope"
        p = box_v2.show(unit, "ActiveState", "ControlGroup", "DevicePolicy", "DeviceAllow", "IOAccounting")
        assert p["ActiveState"] == "active" and p["ControlGroup"] == f"/system.slice/{unit}"
        assert p["DevicePolicy"] == "strict" and "/dev/char/1:4 r" in p["DeviceAllow"].splitlines()
        assert proc_cgroups(box_v2, pid)[""] == f"/system.slice/{unit}"
        assert sd.cmd("pause", cid).returncode == 0
        assert cg_file(box_v2, f"/system.slice/{unit}", "", "cgroup.freeze") == "1"
        assert sd.cmd("resume", cid).returncode == 0
        assert sd.state(cid)["status"] == "running"
        assert sd.cmd("delete", "-f", cid).returncode == 0
        assert box_v2.show(unit, "LoadState")["LoadState"] == "not-found"
    finally:
        assert not sd.cleanup()


def test_rootless_uses_the_users_own_manager(box_v2):
    """A user's husk --systemd-cgroup talks to that user's systemd over the user's bus."""
    b = box_v2
    uid, user = 1500, "huskuser"
    if b.run("cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null").stdout.strip() == "0":
        pytest.skip("unprivileged user namespaces are off on this kernel")
    b.run(f"id {user} || useradd -m -u {uid} {user}", check=True)
    b.run(f"loginctl enable-linger {user}", check=True)
    env = f"XDG_RUNTIME_DIR=/run/user/{uid}"
    as_user = f"setpriv --reuid={uid} --regid={uid} --clear-groups env {env} "
    cid = "rl-" + uuid.uuid4().hex[:8]
    unit = f"husk-{cid}.scope"
    try:
        assert wait_for(lambda: b.run(f"test -S /run/user/{uid}/bus").returncode == 0, timeout=30), \
            b.run(f"systemctl status user@{uid}.service --no-pager").stdout
        name = "rl-bundle-" + uuid.uuid4().hex[:6]
        d = os.path.join(b.work, name)
        shutil.copytree(os.path.join(b.work, "template", "rootfs"), os.path.join(d, "rootfs"), symlinks=True)
        os.chown(d, uid, uid)
        b.run(as_user + f"sh -c 'cd /work/{name} && husk spec --rootless'", check=True)
        with open(os.path.join(d, "config.json")) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["sleep", "1000"]
        # Its own cgroup namespace, so that /sys/fs/cgroup (cgroup2) can be mounted from the
        # user namespace (the rootless spec has none: without a cgroup of its own, runc binds the
        # host's /sys/fs/cgroup instead; husk's rootfs code does not do that yet).
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f)
        r = b.run(as_user + f"husk --systemd-cgroup run -d -b /work/{name} {cid}")
        if "user namespace" in r.stderr and "ermission" in r.stderr:
            pytest.skip("unprivileged user namespaces are not allowed here: " + r.stderr)
        assert r.returncode == 0, r.stderr
        manager_cg = f"/user.slice/user-{uid}.slice/user@{uid}.service"
        p = b.run(as_user + f"systemctl --user show {unit} -p ActiveState -p Slice -p ControlGroup", check=True).stdout
        assert f"ControlGroup={manager_cg}/user.slice/{unit}" in p and "ActiveState=active" in p, p
        assert "Slice=user.slice" in p
        st = json.loads(b.run(as_user + f"husk state {cid}", check=True).stdout)
        assert proc_cgroups(b, st["pid"])[""] == f"{manager_cg}/user.slice/{unit}"
        # The system manager has no such unit: it is the user's.
        assert b.show(unit, "LoadState")["LoadState"] == "not-found"
        assert b.run(as_user + f"husk delete -f {cid}").returncode == 0
        p = b.run(as_user + f"systemctl --user show {unit} -p LoadState").stdout
        assert "LoadState=not-found" in p, p
    finally:
        b.run(as_user + f"husk delete -f {cid}")
        b.run(as_user + f"sh -c 'systemctl --user stop {unit}; systemctl --user reset-failed {unit}'")
        b.run(f"loginctl disable-linger {user}; systemctl stop user@{uid}.service")


def test_rootless_on_cgroup_v1_is_refused(box, sd):
    """As runc: a user's manager cannot be delegated v1 controllers."""
    if box.v2:
        pytest.skip("the host's systemd runs on cgroup v2")
    uid = 1500
    box.run(f"id {uid} || useradd -m -u {uid} huskuser", check=True)
    cid = sd.new_id()
    r = box.run(f"setpriv --reuid={uid} --regid={uid} --clear-groups env XDG_RUNTIME_DIR=/run/user/{uid} "
                f"husk --systemd-cgroup --root /tmp/rl run -d -b {sd.bundle(['sleep', '1000'])} {cid}")
    assert r.returncode == 1
    assert "--systemd-cgroup: a rootless container needs cgroup v2; this host's controllers are" in r.stderr, r.stderr
