"""cgroups with real containers: limits the kernel enforces, update, ps, events, pause, delete.

Runs on cgroup v1, hybrid (v1 controllers) and pure v2 hosts; every check reads the result from
outside: cgroup files, exit codes, what the container managed to do.
"""
import glob
import json
import os
import subprocess
import time

import pytest

from conftest import HUSK, cgroup_dirs_named, scaled, wait_for

V2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
MB = 1024 * 1024


def cg_dir(pid, controller):
    """The container's cgroup directory that holds `controller`'s files, from /proc/PID/cgroup."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if V2 and ctrls == "":
                return "/sys/fs/cgroup" + path
            if not V2 and controller in ctrls.split(","):
                for mnt in os.listdir("/sys/fs/cgroup"):
                    if controller in mnt.split(","):
                        return f"/sys/fs/cgroup/{mnt}{path}"
    pytest.skip(f"no {controller} cgroup on this host")


def cg_read(pid, controller, name):
    with open(os.path.join(cg_dir(pid, controller), name)) as f:
        return f.read().strip()


def has_controller(name):
    if V2:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return name in f.read().split()
    return any(name in m.split(",") for m in os.listdir("/sys/fs/cgroup"))


def with_resources(res):
    def mutate(cfg):
        cfg["linux"].setdefault("resources", {}).update(res)
    return mutate


def started(husk, args, res=None, mutate=None):
    """A running container; returns (id, init pid, bundle)."""
    cid = husk.new_id()
    def m(cfg):
        if res:
            with_resources(res)(cfg)
        if mutate:
            mutate(cfg)
    b = husk.bundle(args, m)
    husk.cmd("create", "-b", b, cid, check=True)
    husk.cmd("start", cid, check=True)
    return cid, husk.state(cid)["pid"], b


def test_resources_are_written_to_the_cgroup_files(husk):
    res = {"memory": {"limit": 64 * MB, "reservation": 32 * MB},
           "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
           "pids": {"limit": 20}}
    cid, pid, _ = started(husk, ["sleep", "1000"], res)
    assert cg_read(pid, "pids", "pids.max") == "20"
    assert cg_read(pid, "cpuset", "cpuset.cpus") == "0"
    if V2:
        assert cg_read(pid, "memory", "memory.max") == str(64 * MB)
        assert cg_read(pid, "memory", "memory.low") == str(32 * MB)
        assert cg_read(pid, "cpu", "cpu.max") == "50000 100000"
        assert cg_read(pid, "cpu", "cpu.weight") == str(1 + (510 * 9999) // 262142)
    else:
        assert cg_read(pid, "memory", "memory.limit_in_bytes") == str(64 * MB)
        assert cg_read(pid, "memory", "memory.soft_limit_in_bytes") == str(32 * MB)
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cg_read(pid, "cpu", "cpu.cfs_period_us") == "100000"
        assert cg_read(pid, "cpu", "cpu.shares") == "512"


def memory_limit(limit):
    # memory+swap equal to the limit: no swap to escape to.
    return {"memory": {"limit": limit, "swap": limit}}


def test_memory_limit_oom_kills_an_allocation_past_it(husk):
    b = husk.bundle(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"],
                    with_resources(memory_limit(32 * MB)))
    r = husk.run_output(b, timeout=60)
    assert r.returncode == 128 + 9, r.stderr
    assert "survived" not in r.stdout


def test_small_allocation_under_the_limit_succeeds(husk):
    b = husk.bundle(["sh", "-c", "x=$(head -c 1000000 /dev/zero | tr '\\0' a); echo ${#x}"],
                    with_resources(memory_limit(32 * MB)))
    r = husk.run_output(b, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1000000"


def test_events_reports_oom_and_counters_show_it(husk):
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "sleep 0.5; x=$(head -c 200000000 /dev/zero | tr '\\0' a)"],
                    with_resources(memory_limit(32 * MB)))
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    with open(os.devnull) as devnull:
        ev = subprocess.Popen([HUSK, "--root", husk.root, "events", "--interval", "1s", cid],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=devnull, text=True)
    try:
        time.sleep(0.3)
        memdir = cg_dir(pid, "memory")
        husk.cmd("start", cid, check=True)
        assert wait_for(lambda: husk.status(cid) == "stopped", timeout=30)
        with open(os.path.join(memdir, "memory.events" if V2 else "memory.oom_control")) as f:
            counts = dict(line.split() for line in f)
        assert int(counts["oom_kill"]) >= 1
        out, err = ev.communicate(timeout=scaled(15))
    finally:
        if ev.poll() is None:
            ev.kill()
            ev.wait()
    # runc's object, its fields in runc's order, no data.
    assert '{"type":"oom","id":"%s"}' % cid in out.splitlines(), (out, err)
    assert ev.returncode == 0


def test_pids_limit_stops_a_fork_loop(husk):
    script = "i=0; while [ $i -lt 20 ]; do sleep 100 & i=$((i+1)); echo started $i; done"
    b = husk.bundle(["sh", "-c", script], with_resources({"pids": {"limit": 10}}))
    r = husk.run_output(b, timeout=60)
    started_n = r.stdout.count("started")
    # sh itself is one of the 10 tasks: 9 sleeps fit, the 10th fork fails.
    assert started_n == 9, r.stdout
    assert "fork" in r.stderr or "Resource temporarily unavailable" in r.stderr
    assert r.returncode != 0


def test_device_rules_allow_and_deny_opening_a_device(husk):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host")
    fuse = {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666, "uid": 0, "gid": 0}
    script = "(exec 3<>/dev/fuse) && echo opened; cat /dev/null && echo null-ok"

    def with_device(rules):
        def mutate(cfg):
            cfg["linux"]["devices"] = [fuse]
            cfg["linux"]["resources"]["devices"] = rules
        return mutate

    deny_all = {"allow": False, "access": "rwm"}
    allowed = husk.run_output(husk.bundle(["sh", "-c", script], with_device(
        [deny_all, {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}])))
    assert "opened" in allowed.stdout, allowed.stderr
    denied = husk.run_output(husk.bundle(["sh", "-c", script], with_device([deny_all])))
    assert "opened" not in denied.stdout
    assert "Operation not permitted" in denied.stderr
    # runc's default devices stay usable.
    assert "null-ok" in denied.stdout
    # A later deny of the same device wins over an earlier allow.
    later = husk.run_output(husk.bundle(["sh", "-c", script], with_device(
        [{"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
         {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rw"}])))
    assert "opened" not in later.stdout


def test_update_changes_the_cgroup_files(husk):
    cid, pid, b = started(husk, ["sleep", "1000"], {"memory": {"limit": 64 * MB}, "pids": {"limit": 20}})
    husk.cmd("update", "--memory", "128m", "--cpu-quota", "30000", "--cpu-period", "100000",
             "--pids-limit", "15", "--cpu-share", "256", cid, check=True)
    assert cg_read(pid, "pids", "pids.max") == "15"
    if V2:
        assert cg_read(pid, "memory", "memory.max") == str(128 * MB)
        assert cg_read(pid, "cpu", "cpu.max") == "30000 100000"
        assert cg_read(pid, "cpu", "cpu.weight") == str(1 + (254 * 9999) // 262142)
    else:
        assert cg_read(pid, "memory", "memory.limit_in_bytes") == str(128 * MB)
        assert cg_read(pid, "cpu", "cpu.cfs_quota_us") == "30000"
        assert cg_read(pid, "cpu", "cpu.shares") == "256"
    # A LinuxResources JSON on stdin.
    husk.cmd("update", "-r", "-", cid, input=json.dumps({"pids": {"limit": 12}, "memory": {"limit": 96 * MB}}),
             check=True)
    assert cg_read(pid, "pids", "pids.max") == "12"
    assert cg_read(pid, "memory", "memory.max" if V2 else "memory.limit_in_bytes") == str(96 * MB)
    assert husk.status(cid) == "running"


def test_update_bad_input_is_refused_without_changes(husk):
    cid, pid, _ = started(husk, ["sleep", "1000"], {"pids": {"limit": 20}})
    for args, needle in [(["--cpuset-cpus", "0-x"], "linux.resources.cpu.cpus"),
                         (["--memory", "lots"], "--memory"),
                         (["--pids-limit", "-5"], "linux.resources.pids.limit"),
                         (["--cpu-quota", "abc"], "--cpu-quota")]:
        r = husk.cmd("update", *args, "--pids-limit" if needle != "linux.resources.pids.limit" else "--memory",
                     "7" if needle != "linux.resources.pids.limit" else "100m", cid)
        assert r.returncode == 1, args
        assert needle in r.stderr, (args, r.stderr)
        assert cg_read(pid, "pids", "pids.max") == "20"
    r = husk.cmd("update", "--memory", "64m", "no-such-container")
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_ps_lists_the_container_processes(husk):
    cid, pid, _ = started(husk, ["sh", "-c", "sleep 1000 & exec sleep 999"])
    def pids():
        return json.loads(husk.cmd("ps", "-f", "json", cid, check=True).stdout)
    assert wait_for(lambda: len(pids()) == 2)
    assert pid in pids()
    table = husk.cmd("ps", cid, check=True).stdout.splitlines()
    assert "PID" in table[0]
    rows = table[1:]
    assert len(rows) == 2
    assert any("sleep 999" in row for row in rows) and any("sleep 1000" in row for row in rows)
    custom = husk.cmd("ps", cid, "-o", "pid,comm", check=True).stdout.splitlines()
    assert custom[0].split() == ["PID", "COMMAND"]
    assert sorted(int(r.split()[0]) for r in custom[1:]) == sorted(pids())


def test_events_stats_match_the_cgroup_files(husk):
    cid, pid, _ = started(husk, ["sleep", "1000"], {"memory": {"limit": 64 * MB}, "pids": {"limit": 20}})
    r = husk.cmd("events", "--stats", cid, check=True)
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    assert data["pids"] == {"current": int(cg_read(pid, "pids", "pids.current")), "limit": 20}
    assert data["memory"]["usage"]["limit"] == 64 * MB
    assert data["memory"]["usage"]["usage"] > 0
    assert data["cpu"]["usage"]["total"] > 0
    stat = "memory.stat"
    raw = dict(l.split() for l in cg_read(pid, "memory", stat).splitlines())
    assert set(data["memory"]["raw"]) == set(raw)


def test_events_streams_until_the_container_stops(husk):
    cid, pid, _ = started(husk, ["sleep", "2"])
    r = husk.cmd("events", "--interval", "200ms", cid, timeout=20)
    assert r.returncode == 0
    events = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(events) >= 3
    assert all(e["type"] == "stats" and e["id"] == cid for e in events)


def test_pause_stops_progress_and_resume_restarts_it(husk):
    def writable(cfg):
        cfg["root"]["readonly"] = False
    cid, pid, b = started(husk, ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /count; done"],
                          mutate=writable)
    counter = os.path.join(b, "rootfs", "count")

    def count():
        try:
            with open(counter) as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
    assert wait_for(lambda: count() > 0)
    husk.cmd("pause", cid, check=True)
    assert husk.status(cid) == "paused"
    before = count()
    time.sleep(0.5)
    assert count() == before
    husk.cmd("resume", cid, check=True)
    assert husk.status(cid) == "running"
    assert wait_for(lambda: count() > before + 10)


def test_kill_all_reaches_every_process(husk):
    cid, pid, _ = started(husk, ["sh", "-c", "sleep 1000 & sleep 1001 & wait"])
    assert wait_for(lambda: len(json.loads(husk.cmd("ps", "-f", "json", cid).stdout)) == 3)
    pids = json.loads(husk.cmd("ps", "-f", "json", cid).stdout)
    husk.cmd("kill", "--all", cid, "KILL", check=True)
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"
                                    for p in pids))
    assert wait_for(lambda: husk.status(cid) == "stopped")


def test_delete_removes_every_cgroup_it_created(husk):
    cid = husk.new_id()
    path = f"/husk-test/{cid}"
    b = husk.bundle(["sleep", "1000"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", path))
    try:
        husk.cmd("create", "-b", b, cid, check=True)
        pid = husk.state(cid)["pid"]
        dirs = {cg_dir(pid, c) for c in (["memory"] if V2 else ["memory", "cpu", "pids", "freezer", "devices"])}
        assert all(d.endswith(path) and os.path.isdir(d) for d in dirs)
        husk.cmd("delete", "-f", cid, check=True)
        assert not any(os.path.exists(d) for d in dirs)
        assert not cgroup_dirs_named(cid)
    finally:
        husk.cmd("delete", "-f", cid)
        # The parent made for the path is shared ground: runc leaves it, so may we; the test
        # removes it.
        for base in glob.glob("/sys/fs/cgroup/*/husk-test") + glob.glob("/sys/fs/cgroup/husk-test"):
            os.rmdir(base)


@pytest.mark.parametrize("res,needle", [
    ({"memory": {"limit": -5}}, "linux.resources.memory.limit"),
    ({"cpu": {"cpus": "zero"}}, "linux.resources.cpu.cpus"),
    ({"cpu": {"mems": "0-"}}, "linux.resources.cpu.mems"),
    ({"devices": [{"allow": True, "type": "q", "access": "r"}]}, "devices[0].type"),
    ({"devices": [{"allow": True, "type": "c", "access": "z"}]}, "devices[0].access"),
    ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares"),
])
def test_bad_resources_fail_create_and_leave_nothing(husk, res, needle):
    cid = husk.new_id()
    b = husk.bundle(["true"], with_resources(res))
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1
    assert needle in r.stderr
    assert husk.state(cid) is None
    assert not cgroup_dirs_named(cid)


def test_a_resource_the_host_cannot_apply_is_an_error_naming_it(husk):
    if has_controller("hugetlb"):
        pytest.skip("this host has the hugetlb controller")
    cid = husk.new_id()
    b = husk.bundle(["true"], with_resources({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}]}))
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1
    assert "linux.resources.hugepageLimits: the hugetlb controller is not available on this host" in r.stderr
    assert husk.state(cid) is None
    assert not cgroup_dirs_named(cid)


def test_cgroups_path_with_dotdot_is_refused(husk):
    cid = husk.new_id()
    b = husk.bundle(["true"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", "/husk/../../escape"))
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "linux.cgroupsPath" in r.stderr
    assert husk.state(cid) is None


def test_systemd_cgroup_driver_without_a_bus_is_a_clear_error(husk, tmp_path):
    # The driver itself runs against a real systemd in test_systemd_cgroup.py; here, its errors.
    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"])
    bus = f"unix:path={tmp_path}/no-bus"
    r = husk.cmd("--systemd-cgroup", "create", "-b", b, cid, env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus))
    assert r.returncode == 1
    assert f"--systemd-cgroup: cannot connect to the system bus ({bus}): No such file or directory" in r.stderr
    assert husk.state(cid) is None
    assert not os.path.isdir(husk.root) or not os.listdir(husk.root)


@pytest.mark.parametrize("path, message", [
    ("system.slice:husk", 'linux.cgroupsPath: "system.slice:husk" is not "slice:prefix:name"'),
    ("/husk/abc", 'linux.cgroupsPath: "/husk/abc" is not "slice:prefix:name"'),
    ("a/b.slice:husk:x", 'linux.cgroupsPath: slice "a/b.slice" must not contain "/"'),
    ("a--b.slice:husk:x", 'linux.cgroupsPath: slice "a--b.slice" is not a valid slice name'),
    ("machine:husk:x", 'linux.cgroupsPath: slice "machine" must end in ".slice"'),
])
def test_systemd_cgroup_driver_refuses_a_malformed_path(husk, path, message):
    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", path))
    r = husk.cmd("--systemd-cgroup", "create", "-b", b, cid)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert husk.state(cid) is None


def test_a_systemd_path_without_the_driver_names_the_flag(husk):
    cid = husk.new_id()
    b = husk.bundle(["true"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", "system.slice:husk:x"))
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "--systemd-cgroup" in r.stderr
    assert husk.state(cid) is None


def test_hugepage_limits_where_the_host_has_hugetlb(husk):
    if not has_controller("hugetlb") or not os.path.isdir("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        pytest.skip("no hugetlb controller or no 2MB huge pages on this host")
    cid, pid, _ = started(husk, ["sleep", "1000"], {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}]})
    assert cg_read(pid, "hugetlb", "hugetlb.2MB.max" if V2 else "hugetlb.2MB.limit_in_bytes") == str(4 * MB)


def test_unified_resources_need_cgroup_v2(husk):
    res = {"unified": {"memory.high": str(48 * MB)}}
    if not V2:
        cid = husk.new_id()
        r = husk.cmd("create", "-b", husk.bundle(["true"], with_resources(res)), cid)
        assert r.returncode == 1 and "linux.resources.unified: needs cgroup v2" in r.stderr
        assert husk.state(cid) is None
        return
    cid, pid, _ = started(husk, ["sleep", "1000"], res)
    assert cg_read(pid, "memory", "memory.high") == str(48 * MB)


def test_swap_limit_is_converted_on_v2_and_direct_on_v1(husk):
    cid, pid, _ = started(husk, ["sleep", "1000"], {"memory": {"limit": 64 * MB, "swap": 96 * MB}})
    if V2:
        if not os.path.exists(os.path.join(cg_dir(pid, "memory"), "memory.swap.max")):
            pytest.skip("no swap accounting on this host")
        assert cg_read(pid, "memory", "memory.swap.max") == str(32 * MB)
        husk.cmd("update", "--memory-swap", "128m", cid, check=True)
        assert cg_read(pid, "memory", "memory.swap.max") == str(64 * MB)
    else:
        assert cg_read(pid, "memory", "memory.memsw.limit_in_bytes") == str(96 * MB)
        husk.cmd("update", "--memory-swap", "128m", cid, check=True)
        assert cg_read(pid, "memory", "memory.memsw.limit_in_bytes") == str(128 * MB)


def test_a_cgroup_with_processes_or_frozen_is_refused(husk):
    """As runc since 1.1: a container's cgroup must be its own. Joining one with processes would
    put this config's limits and device rules on them; init would hang in a frozen one."""
    path = f"/husk-own-{os.getpid()}"
    first, second, inner = husk.new_id(), husk.new_id(), husk.new_id()
    b = husk.bundle(["sleep", "1000"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", path))
    made = []
    try:
        husk.cmd("create", "-b", b, first, check=True)
        pid = husk.state(first)["pid"]
        r = husk.cmd("create", "-b", b, second)
        assert r.returncode == 1
        assert "linux.cgroupsPath" in r.stderr and "is not empty" in r.stderr
        assert husk.state(second) is None
        # The first container is untouched: still in its cgroup, which still exists.
        assert cg_dir(pid, "pids" if not V2 else "memory").endswith(path)
        assert husk.status(first) == "created"
        husk.cmd("delete", "-f", first, check=True)

        # Nor the cgroup above one with processes (a systemd slice and its services').
        bi = husk.bundle(["sleep", "1000"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"{path}/inner"))
        husk.cmd("create", "-b", bi, inner, check=True)
        r = husk.cmd("create", "-b", b, second)
        assert r.returncode == 1 and "container's cgroup is not empty" in r.stderr
        assert husk.state(second) is None
        husk.cmd("delete", "-f", inner, check=True)
        for d in glob.glob(f"/sys/fs/cgroup/*{path}") + glob.glob(f"/sys/fs/cgroup{path}"):
            os.rmdir(d)  # the parent made for path/inner: shared ground, left by husk as by runc

        # An empty but frozen cgroup (made here, by the test) is refused as well.
        freezer = "/sys/fs/cgroup" + path if V2 else "/sys/fs/cgroup/freezer" + path
        os.mkdir(freezer)
        made.append(freezer)
        with open(os.path.join(freezer, "cgroup.freeze" if V2 else "freezer.state"), "w") as f:
            f.write("1" if V2 else "FROZEN")
        r = husk.cmd("create", "-b", b, second)
        assert r.returncode == 1 and "container's cgroup unexpectedly frozen: " in r.stderr
        assert husk.state(second) is None
        # Nothing was made in the other hierarchies either.
        assert [d for d in glob.glob(f"/sys/fs/cgroup/*{path}") + glob.glob(f"/sys/fs/cgroup{path}")] == [freezer]
        # A new cgroup below the frozen one is born frozen: refused too, and what husk made for
        # it (in every hierarchy) is gone again.
        bc = husk.bundle(["true"], lambda cfg: cfg["linux"].__setitem__("cgroupsPath", f"{path}/child"))
        r = husk.cmd("create", "-b", bc, second)
        assert r.returncode == 1 and "unexpectedly frozen (by a parent)" in r.stderr, r.stderr
        assert husk.state(second) is None
        assert [d for d in glob.glob(f"/sys/fs/cgroup/*{path}") + glob.glob(f"/sys/fs/cgroup{path}")] == [freezer]
        assert not os.path.exists(freezer + "/child")
    finally:
        husk.cmd("delete", "-f", first)
        husk.cmd("delete", "-f", second)
        husk.cmd("delete", "-f", inner)
        for d in made:
            with open(os.path.join(d, "cgroup.freeze" if V2 else "freezer.state"), "w") as f:
                f.write("0" if V2 else "THAWED")
            os.rmdir(d)
        for d in (glob.glob(f"/sys/fs/cgroup/*{path}/inner") + glob.glob(f"/sys/fs/cgroup{path}/inner") +
                  glob.glob(f"/sys/fs/cgroup/*{path}") + glob.glob(f"/sys/fs/cgroup{path}")):
            try:
                os.rmdir(d)
            except OSError:
                pass


@pytest.mark.parametrize("cgroupns,writable,owner", [(True, True, "root"), (True, False, "nobody"),
                                                      (False, True, "nobody")])
def test_v2_cgroup_is_delegated_to_a_user_namespace_root(husk, cgroupns, writable, owner):
    """As runc on cgroup v2: a container with user and cgroup namespaces of its own and a
    writable cgroupfs owns its cgroup (its root may make sub-cgroups); read-only, or without
    a cgroup namespace (where the kernel refuses a new cgroup2 mount in the user namespace and
    the container's cgroup is bound instead), it stays the host's."""
    if not V2:
        pytest.skip("cgroup delegation is cgroup v2's: this host is not pure v2 (the modern-host VM runs it)")
    from test_setup import new_userns, userns_bundle

    def mutate(cfg):
        new_userns(cfg)
        nss = [n for n in cfg["linux"]["namespaces"] if n["type"] != "cgroup"]
        cfg["linux"]["namespaces"] = nss + ([{"type": "cgroup"}] if cgroupns else [])
        for m in cfg["mounts"]:
            if m["type"] == "cgroup":
                m["options"] = [o for o in m.get("options", []) if o != "ro"] + ([] if writable else ["ro"])

    cid = husk.new_id()
    husk.cmd("run", "-d", "-b", userns_bundle(husk, ["sleep", "100"], mutate), cid, check=True)
    try:
        r = husk.cmd("exec", cid, "stat", "-c", "%U", "/sys/fs/cgroup")
        assert r.returncode == 0 and r.stdout.strip() == owner, r.stdout + r.stderr
        d = cg_dir(husk.state(cid)["pid"], "")
        assert (os.stat(d).st_uid == 100000) == (owner == "root")
    finally:
        husk.cmd("delete", "-f", cid, check=True)
