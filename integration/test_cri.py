"""Kubernetes' path to husk: containerd 1.6's CRI plugin with husk as a RuntimeClass handler,
driven as kubelet drives it (the CRI v1 gRPC calls critest makes, over cri_client.py).

One private containerd with CRI for the module (cri_env.py: own root, state, socket; CNI bridge,
pods' network namespaces and the stream server inside a network namespace made here); handlers
`husk` (husk's shim) and `husk-runc-shim` (containerd's runc shim running husk). Every pod lives
under one cgroup parent of the module's; at the end no pod, shim, network namespace, veth, mount
or cgroup of the module may be left.
"""
import os
import shutil
import signal
import time

import pytest

from conftest import wait_for
from containerd_env import live_pids_mentioning
import cri_env
from cri_env import BUSYBOX_IMAGE, NGINX_IMAGE, STREAM_PORT, CriEnv, cgroup_dirs

cri_client = pytest.importorskip("cri_client", reason="python3-grpcio is not installed")
from cri_client import CONTAINER_EXITED, CONTAINER_RUNNING, Cri, resources, websocket_exec  # noqa: E402

HANDLERS = ["husk", "husk-runc-shim"]


class Env:
    def __init__(self, env, cri, cgroup_parent):
        self.env, self.cri, self.cgroup_parent = env, cri, cgroup_parent
        self.pods = []

    def pod(self, name, handler, **kw):
        """Runs a pod sandbox; returns (pod id, its config, its log directory)."""
        log_dir = os.path.join(self.env.base, "logs", name)
        os.makedirs(log_dir, exist_ok=True)
        config = self.cri.pod_config(name, self.cgroup_parent, log_dir=log_dir, **kw)
        pod = self.cri.run_pod(config, handler)
        self.pods.append(pod)
        return pod, config, log_dir

    def container(self, pod, config, name, image=BUSYBOX_IMAGE, command=("sleep", "1000"), **kw):
        cid = self.cri.create(pod, config, name, image, command=command, log_path=name + ".log", **kw)
        self.cri.start(cid)
        return cid

    def remove_pod(self, pod):
        self.cri.stop_pod(pod)
        self.cri.remove_pod(pod)
        self.pods.remove(pod)

    def shims_of(self, pod):
        return [pid for pid in live_pids_mentioning(self.env.base) if pod in open(f"/proc/{pid}/cmdline").read()]


@pytest.fixture(scope="module")
def cri(tmp_path_factory):
    for tool in ("containerd", "ctr", "nsenter", "ip", "g++"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} not installed (tests/install-deps.sh)")
    if not os.path.exists("/usr/lib/cni/bridge"):
        pytest.skip("containernetworking-plugins not installed (tests/install-deps.sh)")
    if not os.path.exists(cri_env.SHIM):
        pytest.skip(f"{cri_env.SHIM} not built (meson -Dshim=true)")
    # A SIGTERM (a CI timeout) ends the run through this fixture's teardown too.
    old_handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    cri_env.handle_signals()
    env = CriEnv()
    parent = env.cgroup_parent
    client = None
    try:
        env.start(cri_env.build_images(str(tmp_path_factory.mktemp("cri-images"))))
        client = Cri(env.endpoint)
        e = Env(env, client, parent)
        yield e
        for pod in list(e.pods):
            e.remove_pod(pod)
        assert client.list_pods() == [], "pods left after RemovePodSandbox"
    finally:
        if client:
            client.close()
        left = env.teardown()
        for sig, handler in old_handlers.items():
            signal.signal(sig, handler)
        netns = [n for n in os.listdir("/run/netns") if n.startswith(env.netns)] if os.path.isdir("/run/netns") else []
        left["network namespaces"] = netns
        for what, items in left.items():
            assert not items, f"{what} left behind: {items}"


def read_cgroup(cid, v1_controller, v1_file, v2_file):
    """A file of the container's cgroup (v1 controller on hybrid hosts, else v2)."""
    for root, _, files in os.walk(os.path.join("/sys/fs/cgroup", v1_controller)):
        if root.endswith(cid) and v1_file in files:
            return open(os.path.join(root, v1_file)).read().strip()
    for root, _, files in os.walk("/sys/fs/cgroup"):
        if root.endswith(cid) and v2_file in files:
            return open(os.path.join(root, v2_file)).read().strip()
    raise AssertionError(f"no cgroup of {cid}")


@pytest.mark.parametrize("handler", HANDLERS)
def test_pod_lifecycle_exec_stats_update_logs(cri, handler):
    c = cri.cri
    pod, config, log_dir = cri.pod("life-" + handler, handler, hostname="cri-host", dns=["10.10.10.10"])
    ip = c.pod_ip(pod)
    assert ip.startswith("10.213.0."), ip
    cid = cri.container(pod, config, "main", command=["sh", "-c", "echo started; exec sleep 1000"])
    assert c.status(cid)["state"] == CONTAINER_RUNNING

    out, err, code = c.exec_sync(cid, ["sh", "-c", "hostname; grep nameserver /etc/resolv.conf; echo oops >&2; exit 3"])
    assert (out, err, code) == ("cri-host\nnameserver 10.10.10.10\n", "oops\n", 3)
    # The pod's network namespace, shared with the sandbox: the container sees the pod's IP.
    out, _, _ = c.exec_sync(cid, ["ip", "-4", "-o", "addr", "show", "eth0"])
    assert f" {ip}/" in out

    url = c.exec_url(cid, ["sh", "-c", "echo streamed; echo to-err >&2; exit 4"])
    out, err, status = websocket_exec(cri.env.connect("127.0.0.1", STREAM_PORT), url)
    assert (out, err) == ("streamed\n", "to-err\n")
    assert status["status"] == "Failure" and status["details"]["causes"][0]["message"] == "4", status
    out, _, status = websocket_exec(cri.env.connect("127.0.0.1", STREAM_PORT), c.exec_url(cid, ["true"]))
    assert status["status"] == "Success", status

    c.exec_sync(cid, ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
    cpu, mem = c.stats(cid)
    assert cpu > 0 and mem > 0, (cpu, mem)

    c.update(cid, resources(memory=96 << 20, cpu_period=100000, cpu_quota=30000))
    st = c.status(cid)
    assert (st["memory_limit"], st["cpu_quota"]) == (96 << 20, 30000), st
    assert int(read_cgroup(cid, "memory", "memory.limit_in_bytes", "memory.max")) == 96 << 20
    quota = read_cgroup(cid, "cpu", "cpu.cfs_quota_us", "cpu.max")
    assert quota.split()[0] == "30000", quota

    # Log rotation as kubelet does it: rename, then ReopenContainerLog; new lines go to a new file.
    log = os.path.join(log_dir, "main.log")
    assert wait_for(lambda: os.path.exists(log) and "stdout F started" in open(log).read())
    os.rename(log, log + ".1")
    c.reopen_log(cid)
    c.exec_sync(cid, ["sh", "-c", "echo after-reopen > /proc/1/fd/1"])
    assert wait_for(lambda: os.path.exists(log) and "stdout F after-reopen" in open(log).read()), \
        open(log).read() if os.path.exists(log) else "no new log file"
    assert "after-reopen" not in open(log + ".1").read()

    shims = cri.shims_of(pod)
    cri.remove_pod(pod)
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"
                                    for p in shims)), "the pod's shim outlived RemovePodSandbox"
    assert not [d for d in cgroup_dirs(cri.cgroup_parent) if pod in d or cid in d]


def test_pod_containers_share_one_shim_and_network(cri):
    c = cri.cri
    pod, config, _ = cri.pod("shared", "husk")
    web = cri.container(pod, config, "web", image=NGINX_IMAGE, command=())
    client = cri.container(pod, config, "client")
    assert len(cri.shims_of(pod)) == 1, "a pod's containers share one shim (io.kubernetes.cri.sandbox-id)"
    # The two containers share the pod's network namespace: localhost reaches the web server.
    assert wait_for(lambda: c.exec_sync(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:80/"])[2] == 0, timeout=10)
    # And another pod reaches it at the pod's IP, over the test bridge.
    other, other_config, _ = cri.pod("other", "husk")
    probe = cri.container(other, other_config, "probe")
    out, err, code = c.exec_sync(probe, ["wget", "-q", "-O", "-", f"http://{c.pod_ip(pod)}:80/"])
    assert code == 0 and "Welcome to nginx" in out, err
    c.stop(web, timeout=10)
    assert c.status(web)["state"] == CONTAINER_EXITED
    cri.remove_pod(other)
    cri.remove_pod(pod)


def test_exit_code_and_oom_killed_reason(cri):
    c = cri.cri
    pod, config, _ = cri.pod("exits", "husk")
    done = cri.container(pod, config, "exits", command=["sh", "-c", "exit 7"])
    assert wait_for(lambda: c.status(done)["state"] == CONTAINER_EXITED, timeout=10)
    st = c.status(done)
    assert (st["exit_code"], st["reason"]) == (7, "Error"), st
    hog = cri.container(pod, config, "hog", command=["sh", "-c", "x=0123456789; while :; do x=$x$x; done"],
                        resources_msg=resources(memory=24 << 20))
    assert wait_for(lambda: c.status(hog)["state"] == CONTAINER_EXITED, timeout=30)
    st = c.status(hog)
    assert st["reason"] == "OOMKilled" and st["exit_code"] == 137, st
    cri.remove_pod(pod)


def test_exec_sync_timeout_and_stop_timeout(cri):
    c = cri.cri
    pod, config, _ = cri.pod("timeouts", "husk")
    cid = cri.container(pod, config, "sleeper")
    t = time.monotonic()
    with pytest.raises(Exception, match="timeout|deadline|DeadlineExceeded"):
        c.exec_sync(cid, ["sleep", "30"], timeout=2)
    assert time.monotonic() - t < 15
    # sleep as PID 1 ignores SIGTERM: StopContainer's timeout ends in SIGKILL.
    t = time.monotonic()
    c.stop(cid, timeout=2)
    assert 1.5 < time.monotonic() - t < 15
    st = c.status(cid)
    assert st["state"] == CONTAINER_EXITED and st["exit_code"] == 137, st
    cri.remove_pod(pod)


@pytest.mark.parametrize("handler", HANDLERS)
def test_exec_of_a_missing_program_fails_at_once(cri, handler):
    """containerd waits for an exec's output to close before it returns Start's error: the shim
    must close its ends of the exec's fifos when the runtime's exec fails."""
    c = cri.cri
    pod, config, _ = cri.pod("badexec-" + handler, handler)
    cid = cri.container(pod, config, "sleeper")
    t = time.monotonic()
    with pytest.raises(Exception, match="executable file not found"):
        c.exec_sync(cid, ["no-such-program"], timeout=30)
    assert time.monotonic() - t < 5
    assert c.exec_sync(cid, ["echo", "still fine"])[0] == "still fine\n"
    cri.remove_pod(pod)


@pytest.mark.parametrize("handler", HANDLERS)
def test_masked_path_that_is_a_symlink(cri, handler):
    """MaskedPaths (the pod spec's /proc masks, critest's /bin/ls) put /dev/null on the path
    itself: /bin/ls is a symlink to busybox in the image, which must stay usable."""
    c = cri.cri
    pod, config, _ = cri.pod("masked-" + handler, handler)
    cid = cri.container(pod, config, "masked", masked_paths=["/bin/ls", "/etc/hostname-not-there"])
    out, err, code = c.exec_sync(cid, ["/bin/busybox", "stat", "-c", "%F %t:%T", "/bin/ls"])
    assert (out, code) == ("character special file 1:3\n", 0), err
    out, _, code = c.exec_sync(cid, ["/bin/busybox", "wc", "-c", "/bin/ls"])
    assert out.split()[0] == "0"
    assert c.exec_sync(cid, ["/bin/sh", "-c", "echo busybox is fine"])[0] == "busybox is fine\n"
    cri.remove_pod(pod)
