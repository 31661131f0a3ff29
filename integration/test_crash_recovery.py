"""husk killed part way: whatever it made, `husk delete -f` removes, and the id can be used again.

strace injects SIGKILL into husk at each system call it makes in turn, as an OOM kill or a
crashing caller would stop it at any point."""
import collections
import os
import subprocess
import time

import pytest

from conftest import HUSK, cgroup_dirs_named, processes_in_cgroup

pytestmark = pytest.mark.skipif(subprocess.run(["which", "strace"], capture_output=True).returncode != 0,
                                reason="strace is not installed")


def syscalls(trace):
    """The system calls of a strace -o file, in order (the exec that started it left out)."""
    out = []
    with open(trace) as f:
        for line in f:
            name = line.split("(", 1)[0]
            if "(" in line and name.isidentifier() and name not in ("execve", "exit_group"):
                out.append(name)
    return out


def assert_nothing_left(husk, cid, rootfs, when):
    assert not cgroup_dirs_named(cid), f"cgroups left ({when})"
    assert not processes_in_cgroup(cid), f"processes left ({when})"
    with open("/proc/self/mountinfo") as f:
        assert rootfs not in f.read(), f"mounts left ({when})"
    assert husk.state(cid) is None, f"state left ({when})"
    assert [e for e in os.listdir(husk.root) if e.startswith(cid)] == [], f"state dir left ({when})"


def kill_at_each_syscall(husk, tmp_path, bundle, args, prepare=None):
    """Runs `husk ARGS` once under strace to learn its system calls, then once per call with
    SIGKILL injected there, and after each `delete -f` checks that nothing is left. `prepare`
    (given the id) makes the container the command needs first."""
    cid = husk.new_id()
    rootfs = os.path.join(bundle, "rootfs")
    trace = str(tmp_path / "trace")
    argv = [HUSK, "--root", husk.root] + [a.replace("{id}", cid) for a in args]
    if prepare:
        prepare(cid)
    subprocess.run(["strace", "-o", trace] + argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    assert husk.cmd("delete", "-f", cid).returncode == 0
    seen = collections.Counter()
    calls = syscalls(trace)
    assert len(calls) > 20
    for name in calls:
        seen[name] += 1
        when = f"{name} #{seen[name]}"
        if prepare:
            prepare(cid)
        subprocess.run(["strace", "-o", "/dev/null", "-e", f"inject={name}:signal=SIGKILL:when={seen[name]}"] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        r = husk.cmd("delete", "-f", cid)
        assert r.returncode == 0, f"delete -f after a kill at {when}: {r.stderr}"
        assert_nothing_left(husk, cid, rootfs, when)
    return cid


def test_create_killed_at_any_system_call_leaves_nothing_after_delete(husk, tmp_path):
    b = husk.bundle(["sleep", "100"])
    cid = kill_at_each_syscall(husk, tmp_path, b, ["create", "-b", b, "{id}"])
    # And the id is free again.
    assert husk.cmd("create", "-b", b, cid).returncode == 0
    assert husk.status(cid) == "created"


def test_start_killed_at_any_system_call_leaves_nothing_after_delete(husk, tmp_path):
    b = husk.bundle(["sleep", "100"])
    kill_at_each_syscall(husk, tmp_path, b, ["start", "{id}"],
                         prepare=lambda cid: husk.cmd("create", "-b", b, cid, check=True))


def test_exec_killed_at_any_system_call_leaves_nothing_after_delete(husk, tmp_path):
    b = husk.bundle(["sleep", "100"])
    kill_at_each_syscall(husk, tmp_path, b, ["exec", "{id}", "true"],
                         prepare=lambda cid: husk.cmd("run", "-d", "-b", b, cid, check=True))


def test_delete_killed_at_any_system_call_is_finished_by_the_next_delete(husk, tmp_path):
    b = husk.bundle(["sleep", "100"])
    kill_at_each_syscall(husk, tmp_path, b, ["delete", "-f", "{id}"],
                         prepare=lambda cid: husk.cmd("run", "-d", "-b", b, cid, check=True))


def test_a_create_killed_after_its_cgroups_is_stopped_and_its_id_reusable(husk, tmp_path):
    """Killed once its cgroups exist (at the rename of creating.json, before init runs), the
    container is listed as stopped, and a new create of the id clears it and succeeds."""
    b = husk.bundle(["sleep", "100"])
    cid = husk.new_id()
    subprocess.run(["strace", "-o", "/dev/null", "-e", "inject=clone3:signal=SIGKILL:when=1",
                    HUSK, "--root", husk.root, "create", "-b", b, cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert cgroup_dirs_named(cid), "the kill came before the cgroups: this test needs another point"
    assert husk.status(cid) == "stopped"
    listed = husk.cmd("list", "-q").stdout.split()
    assert cid in listed
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 0, r.stderr
    assert husk.status(cid) == "created"
    assert husk.cmd("delete", "-f", cid).returncode == 0
    assert_nothing_left(husk, cid, os.path.join(b, "rootfs"), "after the second create")


def test_init_does_not_outlive_a_create_killed_before_it_recorded_it(husk, tmp_path):
    """Killed after init reported ready but before state.json, create leaves no init waiting
    for a start that can never come."""
    b = husk.bundle(["sleep", "100"])
    cid = husk.new_id()
    # The rename that makes state.json is create's last rename; creating.json's came first.
    subprocess.run(["strace", "-o", "/dev/null", "-e", "inject=rename:signal=SIGKILL:when=2",
                    HUSK, "--root", husk.root, "create", "-b", b, cid], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    deadline = time.time() + 5
    while processes_in_cgroup(cid) and time.time() < deadline:
        time.sleep(0.05)
    assert not processes_in_cgroup(cid), "init outlived the create that made it"
    assert husk.cmd("delete", "-f", cid).returncode == 0
    assert_nothing_left(husk, cid, os.path.join(b, "rootfs"), "after delete")
