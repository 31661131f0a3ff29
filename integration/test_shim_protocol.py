"""The shim's Task service spoken to directly over ttrpc, without containerd: the answers to bad
input (codes 3, 5, 6, 9, 12), concurrent calls on one connection, and a whole task lifecycle."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import HUSK, REPO, read_config, wait_for, write_config
from ttrpc_client import Client, decode, message

SHIM = os.environ.get("HUSK_SHIM", os.path.join(REPO, "build", "shim", "containerd-shim-husk-v2"))
NS = "husktest-proto"


@pytest.fixture(scope="module", autouse=True)
def runtime_roots():
    """The runtimes' state roots for this namespace go once the module is done."""
    yield
    for runtime in ("husk", "runc"):
        try:
            os.rmdir(f"/run/containerd/{runtime}/{NS}")
        except OSError:
            pass


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


def test_a_failed_create_is_answered_with_the_runtimes_error_and_leaves_nothing(shim):
    c, bundle, cid, _, shim_pid = shim
    cfg = read_config(bundle)
    good = json.loads(json.dumps(cfg))
    cfg["process"]["args"] = []
    write_config(bundle, cfg)
    code, msg, _ = create(c, cid, bundle)
    assert code == 2 and "process.args" in msg, (code, msg)
    assert c.call("State", message((1, cid)))[0] == 5
    assert not os.path.exists(f"/run/containerd/husk/{NS}/{cid}")
    # The id is free again, and the shim still serves.
    write_config(bundle, good)
    code, msg, _ = create(c, cid, bundle)
    assert code == 0, msg
    code, msg, _ = c.call("Delete", message((1, cid)))
    assert code == 0, msg
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


def _start(bundle, cid, fake_containerd):
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":/usr/sbin:/usr/bin:/sbin:/bin")
    env.pop("TTRPC_ADDRESS", None)
    r = subprocess.run([SHIM, "-namespace", NS, "-address", fake_containerd, "-publish-binary", "/bin/true",
                        "-id", cid, "start"], cwd=bundle, env=env, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r.stdout[len("unix://"):]


def test_a_pods_containers_share_one_shim(husk):
    if not os.path.exists(SHIM):
        pytest.skip(f"{SHIM} not built (meson -Dshim=true)")
    sandbox = husk.new_id("pod")
    ids = [sandbox, husk.new_id("ctr")]

    def annotate(cfg):
        cfg.setdefault("annotations", {})["io.kubernetes.cri.sandbox-id"] = sandbox
    bundles = [husk.bundle(["sleep", "1000"], mutate=annotate) for _ in ids]
    fake = f"/tmp/husk-proto-{sandbox}.sock"
    paths = [_start(b, i, fake) for b, i in zip(bundles, ids)]
    assert paths[0] == paths[1]
    c = Client(paths[0])
    shim_pid = c.call("Connect", message((1, sandbox)))[2][1][0]
    try:
        for b, i in zip(bundles, ids):
            code, msg, _ = c.call("Create", message((1, i), (2, b)))
            assert code == 0, msg
            assert c.call("Start", message((1, i)))[0] == 0
        # The pod's first container goes; the shim stays for the other one.
        assert c.call("Kill", message((1, ids[0]), (3, 9)))[0] == 0
        assert c.call("Wait", message((1, ids[0])))[2][1][0] == 137
        assert c.call("Delete", message((1, ids[0])))[0] == 0
        assert c.call("Shutdown", message((1, ids[0])))[0] == 0
        time.sleep(0.2)
        code, _, st = c.call("State", message((1, ids[1])))
        assert code == 0 and st[4][0] == 2
        assert c.call("Kill", message((1, ids[1]), (3, 9)))[0] == 0
        assert c.call("Wait", message((1, ids[1])))[2][1][0] == 137
        assert c.call("Delete", message((1, ids[1])))[0] == 0
        assert c.call("Shutdown", message((1, ids[1])))[0] == 0
        assert wait_for(lambda: not os.path.exists(paths[0]), timeout=10)
    finally:
        c.close()
        _end_pod_shim(shim_pid, ids, paths[0])


def _end_pod_shim(shim_pid, ids, path):
    """What a pod test leaves, gone: the shim it started, the tasks and the socket."""
    if os.path.exists(f"/proc/{shim_pid}") and proc_state(shim_pid) != "Z":
        os.kill(shim_pid, signal.SIGKILL)
    for i in ids:
        subprocess.run([HUSK, "--root", f"/run/containerd/husk/{NS}", "delete", "-f", i], capture_output=True)
    if os.path.exists(path):
        os.unlink(path)


def _answer(c, stream, answers):
    """The answer on stream, keeping the others that come first in answers."""
    while stream not in answers:
        got, code, msg, body = c.read_response()
        answers[got] = (code, msg, decode(body))
    return answers.pop(stream)


def test_a_slow_hook_in_one_task_does_not_hold_up_the_others(husk, tmp_path):
    """A pod-shared shim runs each task's runtime commands without blocking its loop: while one
    task's create waits in a prestart hook, another task is created, started, asked for its state
    and its pids; then the first create finishes, in order on its own stream."""
    if not os.path.exists(SHIM):
        pytest.skip(f"{SHIM} not built (meson -Dshim=true)")
    sandbox = husk.new_id("pod")
    ids = [sandbox, husk.new_id("ctr")]
    fifo, hook_ran = str(tmp_path / "go"), str(tmp_path / "hook-ran")
    os.mkfifo(fifo)

    def annotate(cfg):
        cfg.setdefault("annotations", {})["io.kubernetes.cri.sandbox-id"] = sandbox

    def slow(cfg):
        annotate(cfg)
        cfg["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", f"touch {hook_ran}; read x < {fifo}"]}]}
    bundles = [husk.bundle(["sleep", "1000"], mutate=slow), husk.bundle(["sleep", "1000"], mutate=annotate)]
    fake = f"/tmp/husk-proto-{sandbox}.sock"
    paths = [_start(b, i, fake) for b, i in zip(bundles, ids)]
    assert paths[0] == paths[1]
    c = Client(paths[0], timeout=10)
    shim_pid = c.call("Connect", message((1, sandbox)))[2][1][0]
    answers = {}
    try:
        slow_create = c.send_request("Create", message((1, sandbox), (2, bundles[0])))
        assert wait_for(lambda: os.path.exists(hook_ran), timeout=10)
        code, msg, created = _answer(c, c.send_request("Create", message((1, ids[1]), (2, bundles[1]))), answers)
        assert code == 0, msg
        assert _answer(c, c.send_request("Start", message((1, ids[1]))), answers)[0] == 0
        code, _, st = _answer(c, c.send_request("State", message((1, ids[1]))), answers)
        assert code == 0 and st[4][0] == 2  # RUNNING
        code, _, pids = _answer(c, c.send_request("Pids", message((1, ids[1]))), answers)
        assert created[1][0] in [decode(p)[1][0] for p in pids.get(1, [])]
        assert slow_create not in answers  # still in its hook
        # A second Create of the id waiting in its hook is refused at once.
        assert _answer(c, c.send_request("Create", message((1, sandbox), (2, bundles[0]))), answers)[0] == 6
        with open(fifo, "w") as f:
            f.write("go\n")
        code, msg, _ = _answer(c, slow_create, answers)
        assert code == 0, msg
        for i in ids[::-1]:
            if i == sandbox:
                assert _answer(c, c.send_request("Start", message((1, i))), answers)[0] == 0
            assert _answer(c, c.send_request("Kill", message((1, i), (3, 9))), answers)[0] == 0
            assert _answer(c, c.send_request("Wait", message((1, i))), answers)[2][1][0] == 137
            assert _answer(c, c.send_request("Delete", message((1, i))), answers)[0] == 0
        assert _answer(c, c.send_request("Shutdown", message((1, sandbox))), answers)[0] == 0
        assert wait_for(lambda: not os.path.exists(paths[0]), timeout=10)
    finally:
        c.close()
        try:  # a hook still waiting is let go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        _end_pod_shim(shim_pid, ids, paths[0])


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_update_applies_resources_through_the_runtime(husk):
    """Update passes containerd's JSON LinuxResources to `<runtime> update -r`; checked with runc
    (BinaryName in containerd.runc.v1.Options) while husk has no update command."""
    if not os.path.exists(SHIM):
        pytest.skip(f"{SHIM} not built (meson -Dshim=true)")
    runtime = HUSK
    if subprocess.run([HUSK, "update", "--help"], capture_output=True).returncode != 0:
        runtime = shutil.which("runc")
        if not runtime:
            pytest.skip("husk has no update command and runc is not installed")
    cid = husk.new_id("upd")

    def cgroup(cfg):
        cfg["linux"]["cgroupsPath"] = f"/{NS}/{cid}"
    bundle = husk.bundle(["sleep", "1000"], mutate=cgroup)
    path = _start(bundle, cid, f"/tmp/husk-proto-{cid}.sock")
    c = Client(path)
    shim_pid = c.call("Connect", message((1, cid)))[2][1][0]
    opts = message((1, "containerd.runc.v1.Options"), (2, message((6, runtime))))
    try:
        code, msg, resp = c.call("Create", message((1, cid), (2, bundle), (10, opts)))
        assert code == 0, msg
        pid = resp[1][0]
        assert c.call("Start", message((1, cid)))[0] == 0
        limit = 64 * 1024 * 1024
        resources = message((1, "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"),
                            (2, json.dumps({"memory": {"limit": limit}})))
        code, msg, _ = c.call("Update", message((1, cid), (2, resources)))
        assert code == 0, msg
        with open(f"/proc/{pid}/cgroup") as f:
            lines = [l.strip().split(":", 2) for l in f]
        mem = [p for _, ctrls, p in lines if "memory" in ctrls.split(",")]
        if mem:
            got = open(f"/sys/fs/cgroup/memory{mem[0]}/memory.limit_in_bytes").read().strip()
        else:
            got = open(f"/sys/fs/cgroup{[p for _, ctrls, p in lines if ctrls == ''][0]}/memory.max").read().strip()
        assert int(got) == limit
        assert c.call("Kill", message((1, cid), (3, 9)))[0] == 0
        assert c.call("Wait", message((1, cid)))[0] == 0
        assert c.call("Delete", message((1, cid)))[0] == 0
        assert c.call("Shutdown", message((1, cid)))[0] == 0
    finally:
        c.close()
        if os.path.exists(f"/proc/{shim_pid}") and proc_state(shim_pid) != "Z":
            os.kill(shim_pid, signal.SIGKILL)
        subprocess.run([runtime, "--root", f"/run/containerd/{os.path.basename(runtime)}/{NS}", "delete", "-f", cid],
                       capture_output=True)
        if os.path.exists(path):
            os.unlink(path)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            try:
                os.rmdir(f"/sys/fs/cgroup/{ctrl}/{NS}")
            except OSError:
                pass


def test_shim_with_no_task_exits_when_its_client_goes(shim):
    """A probe that only connects keeps it; a client that called and left, with no task to
    supervise (a failed Create never followed by Shutdown), ends it."""
    c, bundle, cid, path, shim_pid = shim
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.connect(path)
    probe.close()
    time.sleep(0.2)
    assert proc_state(shim_pid) != "Z"
    assert create(c, cid, "/nonexistent/bundle")[0] == 5
    c.close()
    assert wait_for(lambda: not os.path.exists(f"/proc/{shim_pid}") or proc_state(shim_pid) == "Z", timeout=10)
    assert not os.path.exists(path)
