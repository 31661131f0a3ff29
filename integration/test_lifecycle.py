"""Lifecycle round trips as containerd, podman and runtime-tools drive them."""
import glob
import json
import os
import signal
import subprocess
import time

from conftest import HUSK, proc_status, read_config, scaled, wait_for, write_config, cgroup_dirs_named


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().split(b"\0")[0].decode()


def test_run_prints_output_and_exits_with_status(husk):
    b = husk.bundle(["sh", "-c", "echo hello; echo oops >&2; exit 7"])
    r = husk.run_output(b)
    assert r.returncode == 7
    assert r.stdout == "hello\n"
    assert "oops" in r.stderr


def test_run_killed_by_signal_exits_128_plus_n(husk):
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "echo ready; exec sleep 1000"])
    p = subprocess.Popen([HUSK, "--root", husk.root, "run", "-b", b, cid], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    husk.cmd("kill", cid, "KILL", check=True)
    p.communicate(timeout=scaled(10))
    assert p.returncode == 128 + 9


def test_run_forwards_signals(husk):
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done"])
    p = subprocess.Popen([HUSK, "--root", husk.root, "run", "-b", b, cid], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    out, _ = p.communicate(timeout=scaled(10))
    assert p.returncode == 42
    assert "got-term" in out
    assert husk.state(cid) is None  # run removes the container when it exits


def test_create_start_state_kill_delete(husk):
    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"])
    husk.cmd("create", "-b", b, cid, check=True)
    st = husk.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == b and st["ociVersion"]
    assert st["rootfs"] == os.path.join(b, "rootfs")
    assert st["created"].endswith("Z") and "T" in st["created"]
    pid = st["pid"]
    # The user process has not run yet: init waits on exec.fifo.
    assert "sleep" not in cmdline(pid)
    husk.cmd("start", cid, check=True)
    assert husk.status(cid) == "running"
    assert wait_for(lambda: cmdline(pid) == "sleep")
    husk.cmd("kill", cid, "KILL", check=True)
    assert wait_for(lambda: husk.status(cid) == "stopped")
    assert husk.state(cid)["pid"] == 0
    husk.cmd("delete", cid, check=True)
    assert husk.state(cid) is None
    assert not cgroup_dirs_named(cid)


def test_wrong_state_operations_are_refused_without_effect(husk):
    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"])
    husk.cmd("run", "-d", "-b", b, cid, check=True)
    r = husk.cmd("start", cid)
    assert r.returncode == 1 and "running" in r.stderr
    r = husk.cmd("delete", cid)
    assert r.returncode == 1 and "running" in r.stderr
    assert husk.status(cid) == "running"
    husk.cmd("kill", cid, "9", check=True)
    assert wait_for(lambda: husk.status(cid) == "stopped")
    r = husk.cmd("kill", cid, "TERM")
    assert r.returncode == 1 and "not running" in r.stderr
    r = husk.cmd("start", cid)
    assert r.returncode == 1
    husk.cmd("delete", cid, check=True)


def test_signal_spellings(husk):
    def writable(cfg):
        cfg["root"]["readonly"] = False

    for spelling, number in (("SIGUSR1", 10), ("usr1", 10), ("12", 12), ("SIGRTMIN+1", 35)):
        cid = husk.new_id()
        # Written aside and renamed: on a slow host the reader could see the file still empty.
        script = (f"trap 'echo {number} > /tmp/sig.new && mv /tmp/sig.new /tmp/sig' {number}; "
                  "touch /tmp/ready; "
                  "while true; do sleep 0.05; done")
        b = husk.bundle(["sh", "-c", script], writable)
        husk.cmd("run", "-d", "-b", b, cid, check=True)
        root = f"{b}/rootfs"
        assert wait_for(lambda: os.path.exists(f"{root}/tmp/ready"))
        husk.cmd("kill", cid, spelling, check=True)
        assert wait_for(lambda: os.path.exists(f"{root}/tmp/sig"))
        with open(f"{root}/tmp/sig") as f:
            assert f.read().strip() == str(number)
        husk.cmd("delete", "-f", cid, check=True)
    r = husk.cmd("kill", "whatever", "SIGNOPE")
    assert r.returncode == 1


def test_status_is_stopped_when_the_process_dies(husk):
    cid = husk.new_id()
    husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "1000"]), cid, check=True)
    pid = husk.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: husk.status(cid) == "stopped")
    husk.cmd("delete", cid, check=True)


def test_delete_force_kills_a_running_container(husk):
    cid = husk.new_id()
    husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "1000"]), cid, check=True)
    pid = husk.state(cid)["pid"]
    husk.cmd("delete", "-f", cid, check=True)
    assert not os.path.exists(f"/proc/{pid}/cmdline") or proc_status(pid).get("State", "").startswith("Z")
    assert husk.state(cid) is None


def test_delete_of_a_created_container_kills_its_init(husk):
    cid = husk.new_id()
    husk.cmd("create", "-b", husk.bundle(["sleep", "1000"]), cid, check=True)
    husk.cmd("delete", cid, check=True)
    assert husk.state(cid) is None


def test_list_table_json_and_quiet(husk):
    a, b = husk.new_id("a"), husk.new_id("b")
    husk.cmd("create", "-b", husk.bundle(["sleep", "1000"]), a, check=True)
    husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "1000"]), b, check=True)
    q = husk.cmd("list", "-q", check=True).stdout.split()
    assert sorted(q) == sorted([a, b])
    js = json.loads(husk.cmd("list", "--format", "json", check=True).stdout)
    by_id = {c["id"]: c for c in js}
    assert by_id[a]["status"] == "created" and by_id[b]["status"] == "running"
    table = husk.cmd("list", check=True).stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    assert any(line.split()[0] == b and "running" in line for line in table[1:])
    r = husk.cmd("list", "-f", "yaml")
    assert r.returncode == 1 and "format" in r.stderr


def test_empty_list(husk):
    assert husk.cmd("list", "-q", check=True).stdout == ""
    assert husk.cmd("list", "--format=json", check=True).stdout.strip() == "null"


def test_pid_file(husk, tmp_path):
    cid = husk.new_id()
    pidfile = tmp_path / "pid"
    husk.cmd("create", "--pid-file", pidfile, "--bundle", husk.bundle(["sleep", "100"]), cid, check=True)
    assert int(pidfile.read_text()) == husk.state(cid)["pid"]


def test_flag_spellings(husk):
    b = husk.bundle(["sleep", "100"])
    for form in (["-b", b], ["--bundle", b], ["-bundle", b], [f"--bundle={b}"]):
        cid = husk.new_id()
        husk.cmd("create", *form, cid, check=True)
        assert husk.status(cid) == "created"
        husk.cmd("delete", "--force=true", cid, check=True)


def test_duplicate_id_is_refused_and_first_is_untouched(husk):
    cid = husk.new_id()
    b = husk.bundle(["sleep", "100"])
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "already exists" in r.stderr
    assert husk.state(cid)["pid"] == pid and husk.status(cid) == "created"


def test_version_and_help():
    r = subprocess.run([HUSK, "--version"], capture_output=True, text=True)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].startswith("husk version ")
    assert any(l.startswith("spec: 1.3") for l in lines)
    assert any(l.startswith("libseccomp: ") for l in lines)
    assert any(l.startswith("commit: ") for l in lines)
    r = subprocess.run([HUSK, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "create" in r.stdout and "--root" in r.stdout
    r = subprocess.run([HUSK, "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 1 and "frobnicate" in r.stderr


def test_spec_writes_a_runnable_default(husk, tmp_path):
    d = tmp_path / "specdir"
    d.mkdir()
    husk.cmd("spec", "-b", d, check=True)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"] and cfg["root"]["path"] == "rootfs"
    assert {n["type"] for n in cfg["linux"]["namespaces"]} >= {"pid", "mount", "network", "ipc", "uts"}
    # As runc's: a cgroup namespace only where /sys/fs/cgroup is cgroup v2 alone (on v1 and
    # hybrid hosts callers expect the host's cgroup paths in /proc/self/cgroup).
    pure_v2 = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                             text=True).stdout.strip() == "cgroup2fs"
    assert any(n["type"] == "cgroup" for n in cfg["linux"]["namespaces"]) == pure_v2
    r = husk.cmd("spec", "-b", d)
    assert r.returncode == 1 and "exists" in r.stderr
    husk.cmd("spec", "--rootless", "-b", tmp_path, check=True)
    rl = json.loads((tmp_path / "config.json").read_text())
    assert any(n["type"] == "user" for n in rl["linux"]["namespaces"])
    assert rl["linux"]["uidMappings"][0]["hostID"] == os.getuid()


def test_features_reports_namespaces_and_hooks(husk):
    f = json.loads(husk.cmd("features", check=True).stdout)
    assert f["ociVersionMax"].startswith("1.3")
    assert "time" in f["linux"]["namespaces"]
    assert "poststop" in f["hooks"]
    assert "rbind" in f["mountOptions"]
    assert f["linux"]["mountExtensions"]["idmap"]["enabled"] is True


def receive_pidfd(path):
    """Listens on a unix socket and returns a function that yields the received fd's Pid."""
    import socket
    import threading

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 64, 1)
        with open(f"/proc/self/fdinfo/{fds[0]}") as f:
            got["pid"] = int(next(l for l in f if l.startswith("Pid:")).split()[1])
        os.close(fds[0])
        conn.close()
        srv.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()

    def result():
        t.join(10)
        return got.get("pid")

    return result


def test_pidfd_socket_receives_the_init_and_exec_pidfds(husk, tmp_path):
    cid = husk.new_id()
    result = receive_pidfd(str(tmp_path / "pidfd.sock"))
    husk.cmd("run", "-d", "--pidfd-socket", tmp_path / "pidfd.sock", "-b", husk.bundle(["sleep", "100"]), cid,
             check=True)
    assert result() == husk.state(cid)["pid"]
    result = receive_pidfd(str(tmp_path / "exec.sock"))
    husk.cmd("exec", "-d", "--pidfd-socket", tmp_path / "exec.sock", "--pid-file", tmp_path / "p", cid, "sleep", "50",
             check=True)
    assert result() == int((tmp_path / "p").read_text())
    r = husk.cmd("create", "--pidfd-socket", tmp_path / "missing.sock", "-b", husk.bundle(["true"]), husk.new_id())
    assert r.returncode == 1 and "--pidfd-socket" in r.stderr


def test_forced_delete_of_a_missing_container_succeeds_as_with_runc(husk):
    cid = husk.new_id()
    assert husk.cmd("delete", "-f", cid).returncode == 0
    r = husk.cmd("delete", cid)
    assert r.returncode == 1 and "does not exist" in r.stderr
    # A directory an interrupted create left behind (no state.json) is cleared too.
    os.makedirs(os.path.join(husk.root, cid))
    assert husk.cmd("delete", "--force", cid).returncode == 0
    assert not os.path.exists(os.path.join(husk.root, cid))


def test_parallel_runs_under_one_cgroup_parent(husk):
    """Containers made and removed at once under one cgroupsPath parent: each create walks a
    parent another may be making or filling (cpuset) at that moment (races the benchmarks found)."""
    import concurrent.futures

    parent = f"/husk-par-{os.getpid()}"

    def cycle(worker):
        b = husk.bundle(["true"])
        cfg = read_config(b)
        failures = []
        for i in range(30):
            cid = husk.new_id(f"par{worker}")
            cfg["linux"]["cgroupsPath"] = f"{parent}/{cid}"
            write_config(b, cfg)
            r = husk.cmd("run", "-b", b, cid)
            if r.returncode != 0:
                failures.append(r.stderr.strip())
        return failures

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            failures = [f for fs in pool.map(cycle, range(8)) for f in fs]
    finally:
        # husk removes only the container's own cgroup (as runc); the shared parent is ours.
        for d in glob.glob(f"/sys/fs/cgroup/*{parent}") + glob.glob(f"/sys/fs/cgroup{parent}"):
            os.rmdir(d)
    assert failures == []


def test_exec_fifo_is_the_owners_alone(husk):
    """Whoever can open exec.fifo for writing starts the container: only its owner may."""
    cid = husk.new_id()
    husk.cmd("create", "-b", husk.bundle(["sleep", "100"]), cid, check=True)
    fifo = os.path.join(husk.root, cid, "exec.fifo")
    assert os.stat(fifo).st_mode & 0o777 == 0o600
    # Let the other user reach it: only the fifo's own mode stands in the way then.
    d = husk.root
    while d != "/tmp":
        os.chmod(d, os.stat(d).st_mode | 0o111)
        d = os.path.dirname(d)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "sh", "-c", f"echo go > {fifo}"], capture_output=True, text=True, timeout=scaled(10))
    assert r.returncode != 0 and "Permission denied" in r.stderr
    assert husk.status(cid) == "created"
    husk.cmd("delete", "-f", cid, check=True)


def test_start_after_a_start_that_died_half_way(husk):
    """A writer that opens exec.fifo and goes (a `husk start` killed before its unlink) starts
    init; the next start reports the container as running and clears the stale fifo."""
    cid = husk.new_id()
    husk.cmd("create", "-b", husk.bundle(["sleep", "100"]), cid, check=True)
    pid = husk.state(cid)["pid"]
    fifo = os.path.join(husk.root, cid, "exec.fifo")
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert wait_for(lambda: open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"sleep"))
    r = husk.cmd("start", cid)
    assert r.returncode == 1 and "it is running, not created" in r.stderr
    assert husk.status(cid) == "running"
    husk.cmd("delete", "-f", cid, check=True)


def test_state_answers_while_start_waits_for_execve(husk, tmp_path):
    """With poststart hooks, start waits for init's execve, but not holding the container's
    lock: here a slow startContainer hook holds init back and `husk state` still answers."""
    cid = husk.new_id()
    b = husk.bundle(["sleep", "100"])
    cfg = read_config(b)
    cfg["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 2"]}],
                    "poststart": [{"path": "/bin/true"}]}
    write_config(b, cfg)
    husk.cmd("create", "-b", b, cid, check=True)
    start = subprocess.Popen([HUSK, "--root", husk.root, "start", cid], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: not os.path.exists(os.path.join(husk.root, cid, "exec.fifo")))
        assert husk.status(cid) == "running"
        assert start.poll() is None  # still waiting for the hook to end and init to exec
        assert start.wait(timeout=scaled(10)) == 0
    finally:
        if start.poll() is None:
            start.kill()
            start.wait()
        husk.cmd("delete", "-f", cid, check=True)
