"""containerd's own runc shim (io.containerd.runc.v2) driving husk as its BinaryName, the way
existing containerd setups switch runtimes: create/start/state/exec/kill/delete as runc."""
import os

import pytest

from conftest import HUSK, wait_for
from test_shim import IMAGE, _containerd, new_id

RUNC_SHIM = "io.containerd.runc.v2"


@pytest.fixture(scope="module")
def ctd(tmp_path_factory):
    yield from _containerd(tmp_path_factory, [os.path.dirname(HUSK)])


def test_run_with_husk_as_binary_name(ctd):
    cid = new_id()
    r = ctd.ctr("run", "--rm", "--runtime", RUNC_SHIM, "--runc-binary", HUSK, IMAGE, cid,
                "sh", "-c", "echo hello from $(cat /proc/1/comm); exit 3")
    assert r.stdout.strip() == "hello from sh", r.stderr
    assert r.returncode == 3


def test_detached_exec_kill_delete_with_husk_as_binary_name(ctd):
    cid = new_id()
    r = ctd.ctr("run", "-d", "--runtime", RUNC_SHIM, "--runc-binary", HUSK, IMAGE, cid, "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        # The runc shim keeps husk's state under its own root: husk's state files are there.
        state_root = f"/run/containerd/runc/{ctd.ns}/{cid}"
        assert os.path.isfile(os.path.join(state_root, "state.json"))
        r = ctd.ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo in-exec; hostname")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0] == "in-exec"
        ps = ctd.ctr("task", "ps", cid)
        assert ps.returncode == 0 and len(ps.stdout.splitlines()) >= 2
        assert ctd.ctr("task", "pause", cid).returncode == 0
        assert "PAUSED" in ctd.ctr("task", "ls").stdout
        assert ctd.ctr("task", "resume", cid).returncode == 0
    finally:
        ctd.ctr("task", "kill", "-s", "SIGKILL", cid)
        wait_for(lambda: ctd.ctr("task", "delete", cid).returncode == 0, timeout=10)
        ctd.ctr("container", "delete", cid)
    assert not os.path.exists(f"/run/containerd/runc/{ctd.ns}/{cid}")
