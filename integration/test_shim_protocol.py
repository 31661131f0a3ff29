"""The shim's Task service spoken to directly over ttrpc, without containerd: the answers to bad
input (codes 3, 5, 6, 9, 12), concurrent calls on one connection, and a whole task lifecycle."""
import os
import signal
import subprocess
import time

import pytest

from conftest import HUSK, REPO, wait_for
from ttrpc_client import Client, decode, message

SHIM = os.environ.get("HUSK_SHIM", os.path.join(REPO, "build", "shim", "containerd-shim-husk-v2"))
NS = "husktest-proto"


@pytest.fixture
def shim(husk):
    """A shim started with the `start` command in a fresh bundle; yields (client, bundle, id)."""
    if not os.path.exists(SHIM):
        pytest.skip(f"{SHIM} not built (meson -Dshim=true)")
    bundle = husk.bundle(["sleep", "1000"])
    cid = husk.new_id("p")  # registered: the husk fixture checks no cgroup or mount of it is left
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":/usr/sbin:/usr/bin:/sbin:/bin")
    env.pop("TTRPC_ADDRESS", None)
    fake_containerd = f"/tmp/husk-proto-{cid}.sock"
    r = subprocess.run([SHIM, "-namespace", NS, "-address", fake_containerd, "-publish-binary", "/bin/true",
                        "-id", cid, "start"], cwd=bundle, env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    address = r.stdout
    assert address.startswith("unix:///run/containerd/s/")
    with open(os.path.join(bundle, "address")) as f:
        assert f.read() == address
    path = address[len("unix://"):]
    c = Client(path)
    _, _, conn = c.call("Connect", message((1, cid)))
    shim_pid = conn[1][0]
    try:
        yield c, bundle, cid, path, shim_pid
    finally:
        c.close()
        if os.path.exists(f"/proc/{shim_pid}"):
            os.kill(shim_pid, signal.SIGKILL)
        subprocess.run([HUSK, "--root", f"/run/containerd/husk/{NS}", "delete", "-f", cid], capture_output=True)
        if os.path.exists(path):
            os.unlink(path)
        try:
            os.rmdir(f"/run/containerd/husk/{NS}")
        except OSError:
            pass


def create(c, cid, bundle, **kw):
    return c.call("Create", message((1, cid), (2, bundle), (6, kw.get("stdout")), (7, kw.get("stderr"))))


def test_bad_input_gets_grpc_codes_and_the_shim_stays_up(shim):
    c, bundle, cid, _, shim_pid = shim
    assert c.call("Frobnicate")[0] == 12
    assert c.call("State", service="containerd.task.v9.Nope")[0] == 12
    assert c.call("Checkpoint", message((1, cid)))[0] == 12
    assert c.call("State", message((1, cid)))[0] == 5
    code, msg, _ = create(c, cid, "/nonexistent/bundle")
    assert code == 5, msg
    # A payload that is not a protobuf message, and a frame with a broken ttrpc envelope.
    assert c.call("State", b"\xff\xff\xff\xff")[0] == 3
    c.send_frame(99, b"\xff\xff")
    stream, code, _, _ = c.read_response()
    assert (stream, code) == (99, 3)

    code, msg, resp = create(c, cid, bundle)
    assert code == 0, msg
    pid = resp[1][0]
    assert os.path.exists(f"/proc/{pid}")
    assert create(c, cid, bundle)[0] == 6
    assert c.call("Start", message((1, cid), (2, "no-such-exec")))[0] == 5
    assert c.call("Kill", message((1, cid), (2, "no-such-exec"), (3, 9)))[0] == 5
    assert c.call("Delete", message((1, "other-id")))[0] == 5
    code, msg, _ = c.call("Start", message((1, cid)))
    assert code == 0, msg
    assert c.call("Start", message((1, cid)))[0] == 9
    assert c.call("Delete", message((1, cid)))[0] == 9
    assert c.call("Pause", message((1, "other-id")))[0] == 5
    assert os.path.exists(f"/proc/{shim_pid}")


def test_wait_stays_pending_while_other_calls_are_answered(shim):
    c, bundle, cid, path, shim_pid = shim
    tmp = os.path.join(bundle, "out.log")
    code, msg, resp = create(c, cid, bundle, stdout="file://" + tmp)
    assert code == 0, msg
    pid = resp[1][0]
    assert c.call("Start", message((1, cid)))[0] == 0
    wait_stream = c.send_request("Wait", message((1, cid)))
    code, _, st = c.call("State", message((1, cid)))
    assert code == 0
    assert st[3][0] == pid
    assert st[4][0] == 2  # RUNNING
    code, _, pids = c.call("Pids", message((1, cid)))
    assert code == 0
    assert pid in [decode(p)[1][0] for p in pids.get(1, [])]
    kill_stream = c.send_request("Kill", message((1, cid), (3, 9)))
    answers = {}
    for _ in range(2):
        stream, code, msg, body = c.read_response()
        answers[stream] = (code, msg, decode(body))
    assert answers[kill_stream][0] == 0, answers[kill_stream][1]
    code, _, w = answers[wait_stream]
    assert code == 0
    assert w[1][0] == 137
    exited_at = decode(w[2][0])
    assert abs(exited_at[1][0] - time.time()) < 60
    # The exit is reported once, with the same status, by State and Delete.
    code, _, st = c.call("State", message((1, cid)))
    assert st[4][0] == 3 and st[9][0] == 137  # STOPPED
    code, msg, d = c.call("Delete", message((1, cid)))
    assert code == 0, msg
    assert d[2][0] == 137
    assert c.call("State", message((1, cid)))[0] == 5
    # Shutdown with no task left ends the shim and removes its socket.
    assert c.call("Shutdown", message((1, cid)))[0] == 0
    assert wait_for(lambda: not os.path.exists(f"/proc/{shim_pid}") or
                    open(f"/proc/{shim_pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", timeout=10)
    assert not os.path.exists(path)


def test_start_reuses_the_running_shim_of_the_same_group(shim, husk):
    c, bundle, cid, path, shim_pid = shim
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":/usr/sbin:/usr/bin:/sbin:/bin")
    r = subprocess.run([SHIM, "-namespace", NS, "-address", f"/tmp/husk-proto-{cid}.sock", "-publish-binary",
                        "/bin/true", "-id", cid, "start"], cwd=bundle, env=env, capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "unix://" + path
    assert c.call("Connect", message((1, cid)))[2][1][0] == shim_pid
