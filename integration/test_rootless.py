"""Rootless: husk run by a user that is not root, with `husk spec --rootless`'s config, as runc
runs rootless containers. The user is a uid with no passwd entry, set with setpriv; its state
goes under $XDG_RUNTIME_DIR/husk; the container runs in a user namespace mapping that uid to 0,
without cgroups (the host delegates none to it).
"""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import HUSK, cgroup_dirs_named

UID = 42421


@pytest.fixture
def user(husk):
    """Runs husk as UID; yields a runner and the container's bundle (spec --rootless)."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    with open("/etc/passwd") as f:
        if any(line.split(":")[2:3] == [str(UID)] for line in f):
            pytest.skip(f"uid {UID} belongs to a user on this host")
    probe = subprocess.run(["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "unshare", "-U", "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this host does not let an unprivileged user create a user namespace: " + probe.stderr.strip())
    runtime = tempfile.mkdtemp(prefix="husk-rootless-run-")
    os.chown(runtime, UID, UID)
    os.chmod(runtime, 0o700)
    b = husk.bundle(["true"])
    # The user must reach the rootfs: open the path (tmp dirs are 0700) down to the bundle.
    d = b
    while d != "/tmp":
        os.chmod(d, 0o755)
        d = os.path.dirname(d)
    os.remove(os.path.join(b, "config.json"))

    def run(*args, input=None):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "XDG_RUNTIME_DIR": runtime}
        cmd = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", HUSK, *args]
        if args[0] == "create":
            # The container inherits create's stdio (as with runc): no pipes to wait on.
            with tempfile.TemporaryFile("w+") as err:
                p = subprocess.run(cmd, env=env, cwd=b, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=err, timeout=30)
                err.seek(0)
                return subprocess.CompletedProcess(cmd, p.returncode, "", err.read())
        return subprocess.run(cmd, env=env, cwd=b, input=input, capture_output=True, text=True, timeout=30)

    os.chmod(b, 0o777)
    r = run("spec", "--rootless", "-b", b)
    assert r.returncode == 0, r.stderr
    os.chmod(b, 0o755)
    started = []
    try:
        yield run, b, started, runtime
    finally:
        for cid in started:
            run("delete", "-f", cid)
        shutil.rmtree(runtime, ignore_errors=True)


def set_config(bundle, mutate):
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg["process"]["terminal"] = False
    mutate(cfg)
    with open(path, "w") as f:
        json.dump(cfg, f)


def test_spec_rootless_is_runcs_shape(user):
    _, b, _, _ = user
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    assert [n["type"] for n in cfg["linux"]["namespaces"]] == ["pid", "ipc", "uts", "mount", "user"]
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": UID, "size": 1}]
    assert "resources" not in cfg["linux"]
    assert not any("gid=5" in m.get("options", []) for m in cfg["mounts"])


def test_rootless_run_maps_the_user_to_root(user, husk):
    run, b, started, runtime = user
    set_config(b, lambda c: c["process"].__setitem__(
        "args", ["sh", "-c", "id -u; cat /proc/self/uid_map; hostname; cat /proc/self/status | grep CapEff"]))
    cid = husk.new_id()
    started.append(cid)
    r = run("run", cid)
    assert r.returncode == 0, r.stderr
    out = r.stdout.split("\n")
    assert out[0] == "0"
    assert out[1].split() == ["0", str(UID), "1"]
    assert out[2] == "husk"
    # The state lived under $XDG_RUNTIME_DIR/husk and is gone with the container.
    assert os.path.isdir(os.path.join(runtime, "husk"))
    assert not os.path.exists(os.path.join(runtime, "husk", cid))
    assert not cgroup_dirs_named(cid)


def test_rootless_lifecycle(user, husk):
    run, b, started, runtime = user
    set_config(b, lambda c: c["process"].__setitem__("args", ["sleep", "100"]))
    cid = husk.new_id()
    started.append(cid)
    assert run("create", cid).returncode == 0
    st = json.loads(run("state", cid).stdout)
    assert st["status"] == "created"
    assert run("start", cid).returncode == 0
    st = json.loads(run("state", cid).stdout)
    assert st["status"] == "running"
    with open(f"/proc/{st['pid']}/status") as f:
        uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
    assert uids[0] == str(UID)
    r = run("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0 and r.stdout.split() == ["0", "0", str(UID), "1"], (r.stdout, r.stderr)
    for cmd in (["pause", cid], ["update", "--memory", "64M", cid], ["ps", cid]):
        r = run(*cmd)
        assert r.returncode == 1 and "has no cgroup" in r.stderr, (cmd, r.stderr)
    assert run("kill", cid, "KILL").returncode == 0
    assert run("delete", "-f", cid).returncode == 0
    assert not os.path.exists(os.path.join(runtime, "husk", cid))
    assert not os.path.exists(f"/proc/{st['pid']}") or open(f"/proc/{st['pid']}/stat").read().split()[2] == "Z"


def test_rootless_limits_without_cgroups_are_an_error(user, husk):
    run, b, started, runtime = user
    set_config(b, lambda c: c["linux"].__setitem__("resources", {"memory": {"limit": 64 << 20}}))
    cid = husk.new_id()
    started.append(cid)
    r = run("create", cid)
    assert r.returncode == 1
    assert "linux.resources: a rootless container needs cgroups" in r.stderr
    assert not os.path.exists(os.path.join(runtime, "husk", cid))
    assert not cgroup_dirs_named(cid)


def test_rootless_cannot_map_other_ids(user, husk):
    run, b, started, runtime = user
    set_config(b, lambda c: c["linux"].__setitem__(
        "uidMappings", [{"containerID": 0, "hostID": 100000, "size": 65536}]))
    cid = husk.new_id()
    started.append(cid)
    r = run("create", cid)
    assert r.returncode == 1
    assert f"linux.uidMappings: without root, husk can map only its own id ({UID}, size 1)" in r.stderr
    assert not os.path.exists(os.path.join(runtime, "husk", cid))


def test_root_of_a_user_namespace_is_rootless_too(user, husk):
    """Root inside an unprivileged user namespace (rootlesskit, `unshare -r`) is rootless in
    auto mode: no rights over the host's cgroups, so none, as for a plain user."""
    run, b, started, runtime = user
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    as_ns_root = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", "unshare", "-U", "-r", "--"]
    os.remove(os.path.join(b, "config.json"))
    os.chmod(b, 0o777)
    r = subprocess.run(as_ns_root + [HUSK, "spec", "--rootless", "-b", b], env=env, capture_output=True, text=True)
    os.chmod(b, 0o755)
    assert r.returncode == 0, r.stderr
    set_config(b, lambda c: c["process"].__setitem__("args", ["sh", "-c", "id -u; cat /proc/self/uid_map"]))
    cid = husk.new_id()
    state = os.path.join(runtime, "ns-root")
    r = subprocess.run(as_ns_root + [HUSK, "--root", state, "run", "-b", b, cid], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "0", "1"]
    assert not cgroup_dirs_named(cid)
    assert not os.path.exists(os.path.join(state, cid))
