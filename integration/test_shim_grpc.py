"""The shim's Task service over gRPC (containerd.task.v3.Task, as containerd 2.x speaks it), driven
by a Python gRPC client without containerd: the bootstrap `start` prints, a whole task lifecycle with
a pending Wait, and the status codes for bad input. The default (ttrpc) shim never maps gRPC."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import HUSK, REPO, wait_for
from ttrpc_client import decode, message

grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")

SHIM_DIR = os.path.dirname(os.environ.get("HUSK_SHIM", os.path.join(REPO, "build", "shim", "containerd-shim-husk-v2")))
SHIM = os.path.join(SHIM_DIR, "containerd-shim-husk-v2")
GRPC_SHIM = os.path.join(SHIM_DIR, "containerd-shim-husk-v2-grpc")
NS = "husktest-grpc"
SERVICE = "containerd.task.v3.Task"
# What containerd 2.x writes to `start`'s stdin: the runtime options Any (runtimeoptions.v1.Options
# with a config body, as CRI sends for non-runc runtimes).
GRPC_OPTIONS = message((1, "runtimeoptions.v1.Options"), (2, message((3, 'Protocol = "grpc"\n'))))


@pytest.fixture(scope="module", autouse=True)
def runtime_root():
    yield
    try:
        os.rmdir(f"/run/containerd/husk/{NS}")
    except OSError:
        pass


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def gone(pid):
    return proc_state(pid) in (None, "Z")


def start_shim(bundle, cid, stdin=b"", env_extra=None):
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":/usr/sbin:/usr/bin:/sbin:/bin")
    env.pop("TTRPC_ADDRESS", None)
    env.pop("HUSK_SHIM_PROTOCOL", None)
    env.update(env_extra or {})
    return subprocess.run([SHIM, "-namespace", NS, "-address", f"/tmp/husk-grpc-{cid}.sock", "-publish-binary",
                           "/bin/true", "-id", cid, "start"], cwd=bundle, env=env, input=stdin,
                          capture_output=True, timeout=20)


class GrpcTask:
    """Raw-bytes calls to containerd.task.v3.Task; payloads hand-encoded like the ttrpc tests'."""

    def __init__(self, path):
        self.channel = grpc.insecure_channel("unix://" + path)

    def method(self, name, service=SERVICE):
        return self.channel.unary_unary(f"/{service}/{name}")

    def call(self, name, payload=b"", service=SERVICE, timeout=20):
        """(status code number, details, decoded answer)."""
        try:
            return 0, "", decode(self.method(name, service)(payload, timeout=timeout))
        except grpc.RpcError as e:
            return e.code().value[0], e.details(), {}

    def close(self):
        self.channel.close()


@pytest.fixture
def shim(husk):
    """A gRPC shim launched by `start` with Protocol = "grpc" in the options on its stdin."""
    for binary in (SHIM, GRPC_SHIM):
        if not os.path.exists(binary):
            pytest.skip(f"{binary} not built (meson -Dshim=true, libgrpc++-dev)")
    bundle = husk.bundle(["sleep", "1000"])
    cid = husk.new_id("g")
    r = start_shim(bundle, cid, GRPC_OPTIONS)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    boot = json.loads(r.stdout)
    path = boot["address"]
    assert boot == {"version": 3, "address": path, "protocol": "grpc"}
    assert path.startswith("/run/containerd/s/")
    c = GrpcTask(path)
    code, msg, conn = c.call("Connect", message((1, cid)))
    assert code == 0, msg
    shim_pid = conn[1][0]
    try:
        yield c, bundle, cid, path, shim_pid
    finally:
        c.close()
        if not gone(shim_pid):
            os.kill(shim_pid, signal.SIGKILL)
        subprocess.run([HUSK, "--root", f"/run/containerd/husk/{NS}", "delete", "-f", cid], capture_output=True)
        if os.path.exists(path):
            os.unlink(path)


def test_start_hands_the_socket_to_the_grpc_server_binary(shim):
    c, bundle, cid, path, shim_pid = shim
    assert os.readlink(f"/proc/{shim_pid}/exe") == os.path.realpath(GRPC_SHIM)
    with open(f"/proc/{shim_pid}/maps") as f:
        assert "libgrpc" in f.read()
    # The socket `start` bound is the one served (no second bind, no window without a listener).
    assert os.readlink(f"/proc/{shim_pid}/fd/3").startswith("socket:")
    with open(os.path.join(bundle, "address")) as f:
        assert f.read() == "unix://" + path
    assert c.call("Shutdown", message((1, cid)))[0] == 0
    assert wait_for(lambda: gone(shim_pid), timeout=10)
    assert not os.path.exists(path)


def test_task_lifecycle_with_a_pending_wait(shim):
    c, bundle, cid, path, shim_pid = shim
    code, msg, resp = c.call("Create", message((1, cid), (2, bundle), (6, "file://" + os.path.join(bundle, "out"))))
    assert code == 0, msg
    pid = resp[1][0]
    assert os.path.exists(f"/proc/{pid}")
    code, _, st = c.call("State", message((1, cid)))
    assert code == 0 and st[4][0] == 1  # CREATED
    assert c.call("Start", message((1, cid)))[0] == 0

    # A Wait the client gives up on is dropped; the shim keeps serving.
    assert c.call("Wait", message((1, cid)), timeout=0.5)[0] == grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
    wait = c.method("Wait").future(message((1, cid)), timeout=30)
    code, _, st = c.call("State", message((1, cid)))
    assert code == 0
    assert st[3][0] == pid and st[4][0] == 2  # RUNNING
    code, _, pids = c.call("Pids", message((1, cid)))
    assert code == 0
    assert pid in [decode(p)[1][0] for p in pids.get(1, [])]
    code, _, conn = c.call("Connect", message((1, cid)))
    assert conn[2][0] == pid
    assert not wait.done()

    assert c.call("Kill", message((1, cid), (3, 9)))[0] == 0
    w = decode(wait.result())
    assert w[1][0] == 137
    assert abs(decode(w[2][0])[1][0] - time.time()) < 60
    code, _, st = c.call("State", message((1, cid)))
    assert st[4][0] == 3 and st[9][0] == 137  # STOPPED
    code, msg, d = c.call("Delete", message((1, cid)))
    assert code == 0, msg
    assert d[1][0] == pid and d[2][0] == 137
    assert c.call("State", message((1, cid)))[0] == grpc.StatusCode.NOT_FOUND.value[0]
    # Shutdown with no task left ends the shim and removes its socket.
    assert c.call("Shutdown", message((1, cid)))[0] == 0
    assert wait_for(lambda: gone(shim_pid), timeout=10)
    assert not os.path.exists(path)


def test_bad_input_gets_grpc_status_codes(shim):
    c, bundle, cid, _, shim_pid = shim
    code = lambda *a, **kw: c.call(*a, **kw)[0]  # noqa: E731
    S = grpc.StatusCode
    assert code("Frobnicate") == S.UNIMPLEMENTED.value[0]
    assert code("Checkpoint", message((1, cid))) == S.UNIMPLEMENTED.value[0]
    # gRPC serves task.v3 only; task.v2 is the ttrpc service name.
    assert code("State", message((1, cid)), service="containerd.task.v2.Task") == S.UNIMPLEMENTED.value[0]
    assert code("State", message((1, "no-such-task"))) == S.NOT_FOUND.value[0]
    assert code("Create", message((1, cid), (2, "/nonexistent/bundle"))) == S.NOT_FOUND.value[0]
    assert code("State", b"\xff\xff\xff\xff") == S.INVALID_ARGUMENT.value[0]
    assert code("Create", message((1, cid), (2, bundle))) == 0
    assert code("Create", message((1, cid), (2, bundle))) == S.ALREADY_EXISTS.value[0]
    assert code("Start", message((1, cid))) == 0
    assert code("Start", message((1, cid))) == S.FAILED_PRECONDITION.value[0]
    assert code("Delete", message((1, cid))) == S.FAILED_PRECONDITION.value[0]
    assert not gone(shim_pid)
    assert code("Kill", message((1, cid), (3, 9))) == 0
    assert code("Wait", message((1, cid))) == 0
    assert code("Delete", message((1, cid))) == 0
    assert code("Shutdown", message((1, cid))) == 0
    assert wait_for(lambda: gone(shim_pid), timeout=10)


def test_environment_asks_for_grpc_and_the_default_stays_ttrpc_without_grpc(husk):
    for binary in (SHIM, GRPC_SHIM):
        if not os.path.exists(binary):
            pytest.skip(f"{binary} not built (meson -Dshim=true, libgrpc++-dev)")
    # $HUSK_SHIM_PROTOCOL, for a containerd that sends no options.
    bundle, cid = husk.bundle(["true"]), husk.new_id("e")
    r = start_shim(bundle, cid, env_extra={"HUSK_SHIM_PROTOCOL": "grpc"})
    assert r.returncode == 0, r.stderr
    path = json.loads(r.stdout)["address"]
    c = GrpcTask(path)
    try:
        code, msg, conn = c.call("Connect", message((1, cid)))
        assert code == 0, msg
        shim_pid = conn[1][0]
        assert c.call("Shutdown", message((1, cid)))[0] == 0
        assert wait_for(lambda: gone(shim_pid), timeout=10)
        assert not os.path.exists(path)
    finally:
        c.close()
        if os.path.exists(path):
            os.unlink(path)

    # No options: the static ttrpc server, plain address line, no gRPC library mapped.
    bundle, cid = husk.bundle(["true"]), husk.new_id("t")
    r = start_shim(bundle, cid)
    assert r.returncode == 0, r.stderr
    address = r.stdout.decode()
    assert address.startswith("unix:///run/containerd/s/")
    path = address[len("unix://"):]
    from ttrpc_client import Client
    t = Client(path)
    try:
        shim_pid = t.call("Connect", message((1, cid)))[2][1][0]
        assert os.readlink(f"/proc/{shim_pid}/exe") == os.path.realpath(SHIM)
        with open(f"/proc/{shim_pid}/maps") as f:
            maps = f.read()
        assert "libgrpc" not in maps and ".so" not in maps  # static, no shared library at all
        assert t.call("Shutdown", message((1, cid)))[0] == 0
        assert wait_for(lambda: gone(shim_pid), timeout=10)
    finally:
        t.close()
        if os.path.exists(path):
            os.unlink(path)
