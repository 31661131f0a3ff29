"""husk exec: a process that enters exactly the container's world and nothing of the host."""
import json
import os
import subprocess
import tempfile
import time

from conftest import HUSK, proc_status, wait_for
from test_hooks_console_errors import ConsoleSocket


def running(husk, mutate=None):
    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"], mutate)
    husk.cmd("run", "-d", "-b", b, cid, check=True)
    return cid, husk.state(cid)["pid"]


def test_exec_sees_the_container(husk):
    def named(cfg):
        cfg["hostname"] = "inside"

    cid, pid = running(husk, named)
    r = husk.cmd("exec", cid, "sh", "-c", "hostname; ps -o pid,comm | grep -w sleep; ls /; cat /proc/1/cmdline")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "inside"
    assert lines[1].split() == ["1", "sleep"]
    assert "bin" in lines and "proc" in lines
    assert r.stdout.endswith("sleep\x001000\x00")


def test_exec_joins_namespaces_and_cgroup_of_init(husk, tmp_path):
    cid, pid = running(husk)
    r = husk.cmd("exec", "-d", "--pid-file", tmp_path / "pid", cid, "sleep", "100")
    assert r.returncode == 0, r.stderr
    epid = int((tmp_path / "pid").read_text())
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert os.stat(f"/proc/{epid}/ns/{ns}").st_ino == os.stat(f"/proc/{pid}/ns/{ns}").st_ino, ns
    with open(f"/proc/{epid}/cgroup") as a, open(f"/proc/{pid}/cgroup") as b:
        assert a.read() == b.read()
    assert os.readlink(f"/proc/{epid}/root") == os.readlink(f"/proc/{pid}/root")
    assert proc_status(epid)["CapEff"] == proc_status(pid)["CapEff"]
    assert proc_status(epid)["CapBnd"] == proc_status(pid)["CapBnd"]
    assert proc_status(epid)["NoNewPrivs"] == proc_status(pid)["NoNewPrivs"] == "1"


def test_exec_cap_adds_capabilities(husk):
    cid, pid = running(husk)
    r = husk.cmd("exec", "--cap", "CAP_SYS_ADMIN", cid, "sh", "-c", "grep CapEff /proc/self/status")
    eff = int(r.stdout.split()[1], 16)
    assert eff & (1 << 21)  # CAP_SYS_ADMIN
    assert eff & (1 << 5)   # CAP_KILL from the config


def test_exec_exit_codes_and_signals(husk):
    cid, _ = running(husk)
    assert husk.cmd("exec", cid, "sh", "-c", "exit 7").returncode == 7
    assert husk.cmd("exec", cid, "sh", "-c", "kill -9 $$").returncode == 137
    r = husk.cmd("exec", cid, "/no/such/binary")
    assert r.returncode == 255 and "/no/such/binary" in r.stderr  # runc's status for an exec that fails


def test_exec_env_cwd_user(husk):
    cid, _ = running(husk)
    r = husk.cmd("exec", "-e", "FOO=bar", "-e", "PATH=/bin", "--cwd", "/tmp", "-u", "1000:1001", "-g", "10",
                 cid, "sh", "-c", "echo $FOO $PATH; pwd; id -u; id -g; id -G")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["bar /bin", "/tmp", "1000", "1001", "1001 10"]


def test_exec_process_json(husk, tmp_path):
    cid, _ = running(husk)
    proc = {"args": ["sh", "-c", "echo $X; pwd; ulimit -n"], "env": ["X=from-json", "PATH=/bin"], "cwd": "/dev",
            "user": {"uid": 0, "gid": 0}, "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 321}]}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    r = husk.cmd("exec", "--process", f, cid)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["from-json", "/dev", "321"]
    f.write_text('{"args": "sh"}')
    r = husk.cmd("exec", "-p", f, cid)
    assert r.returncode == 255 and "process.args" in r.stderr


def test_exec_fds_only_stdio(husk):
    cid, _ = running(husk)
    r = husk.cmd("exec", cid, "ls", "/proc/self/fd")
    assert r.stdout.split() == ["0", "1", "2", "3"]  # 3: the directory ls is reading


def test_exec_cwd_is_inside_the_container(husk):
    """CVE-2024-21626: no host directory may be reachable as cwd or through a leaked fd."""
    cid, _ = running(husk)
    r = husk.cmd("exec", cid, "sh", "-c", "cd ..; cd ..; ls /proc/self/cwd/ | head -50; readlink /proc/self/cwd",
                 cwd="/")
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "/"
    for fd in range(3, 20):
        assert husk.cmd("exec", cid, "readlink", f"/proc/self/fd/{fd}").stdout.strip() in ("",)


def test_exec_tty_through_console_socket(husk, tmp_path):
    cid, _ = running(husk)
    sock = str(tmp_path / "c.sock")
    cs = ConsoleSocket(sock)
    try:
        r = husk.cmd("exec", "-t", "-d", "--console-socket", sock, cid, "sh", "-c", "tty; echo done; sleep 1")
        assert r.returncode == 0, r.stderr
        cs.thread.join(5)
        assert b"/dev/pts/" in cs.read_until(b"done")
    finally:
        cs.close()


def test_exec_ignore_paused_runs_once_the_container_is_resumed(husk):
    """As runc's cgroups.bats: the exec waits in the frozen cgroup, and `resume` (which it must
    not lock out) lets it run."""
    cid, _ = running(husk)
    husk.cmd("pause", cid, check=True)
    argv = [HUSK, "--root", husk.root, "exec", "--ignore-paused", cid, "echo", "ok"]
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            time.sleep(0.5)
            assert p.poll() is None, "the exec finished in a frozen container"
            r = husk.cmd("resume", cid, timeout=10)
            assert r.returncode == 0, r.stderr
            assert p.wait(timeout=10) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        out.seek(0)
        assert out.read() == "ok\n"
    assert husk.status(cid) == "running"


def test_exec_refused_in_paused_and_stopped_containers(husk):
    cid, pid = running(husk)
    husk.cmd("pause", cid, check=True)
    assert husk.status(cid) == "paused"
    r = husk.cmd("exec", cid, "true")
    assert r.returncode == 255 and "paused" in r.stderr  # as runc
    husk.cmd("resume", cid, check=True)
    husk.cmd("kill", cid, "KILL", check=True)
    assert wait_for(lambda: husk.status(cid) == "stopped")
    r = husk.cmd("exec", cid, "true")
    assert r.returncode == 255 and "stopped" in r.stderr
    r = husk.cmd("exec", "nope-" + cid, "true")
    assert r.returncode == 255 and "does not exist" in r.stderr
