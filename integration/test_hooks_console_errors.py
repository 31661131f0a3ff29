"""Hooks in order with the state on stdin, terminals through a console socket, and bad input
that must fail cleanly: exit 1, a message naming the problem, nothing left behind."""
import array
import json
import os
import socket
import subprocess
import threading

import pytest

from conftest import HUSK, cgroup_dirs_named, read_config, write_config


def hook_script(tmp_path, name, log):
    """A host-side hook that appends its name and its stdin (the state) to `log`."""
    path = tmp_path / f"hook-{name}.sh"
    path.write_text(f"#!/bin/sh\n{{ printf '%s ' {name}; cat; echo; }} >> {log}\n")
    path.chmod(0o755)
    return str(path)


def test_hooks_run_in_order_with_state_on_stdin(husk, tmp_path):
    log = tmp_path / "hooks.log"
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "echo container-ran"])
    cfg = read_config(b)
    cfg["hooks"] = {k: [{"path": hook_script(tmp_path, k, log)}]
                    for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    # startContainer runs in the container: its path resolves there.
    with open(os.path.join(b, "rootfs", "bin", "start-hook"), "w") as f:
        f.write("#!/bin/sh\necho startContainer-ran\n")
    os.chmod(os.path.join(b, "rootfs", "bin", "start-hook"), 0o755)
    cfg["hooks"]["startContainer"] = [{"path": "/bin/start-hook"}]
    write_config(b, cfg)
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    husk.cmd("start", cid, check=True)
    lines = [l for l in log.read_text().splitlines() if l]
    names = [l.split(" ", 1)[0] for l in lines]
    assert names == ["prestart", "createRuntime", "createContainer", "poststart"]
    for line in lines:
        state = json.loads(line.split(" ", 1)[1])
        assert state["id"] == cid and state["pid"] == pid and state["bundle"] == b
        assert state["ociVersion"]
    assert json.loads(lines[0].split(" ", 1)[1])["status"] == "creating"
    husk.cmd("kill", cid, "KILL")
    husk.cmd("delete", "-f", cid, check=True)
    last = log.read_text().splitlines()[-1]
    assert last.startswith("poststop ")
    assert json.loads(last.split(" ", 1)[1])["status"] == "stopped"


def test_poststart_hooks_run_after_the_process_is_executed(husk, tmp_path):
    """The spec: poststart hooks are called after the user-specified process is executed. The
    hook sees the container's pid already running the container's program, not husk."""
    seen = tmp_path / "seen"
    b = husk.bundle(["sleep", "30"])
    cfg = read_config(b)
    script = (f"pid=$(sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/'); "
              f"cat /proc/$pid/comm > {seen}; readlink /proc/$pid/exe >> {seen}")
    # A slow startContainer hook (run by init between start and execve) keeps init husk for a
    # while: a poststart hook that did not wait for execve would see "husk".
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", script]}],
                    "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 0.3"]}]}
    write_config(b, cfg)
    for _ in range(2):
        cid = husk.new_id()
        husk.cmd("create", "-b", b, cid, check=True)
        husk.cmd("start", cid, check=True)
        comm, exe = seen.read_text().split("\n")[:2]
        assert comm == "sleep" and "husk" not in exe, (comm, exe)
        husk.cmd("delete", "-f", cid, check=True)


def test_hook_args_env_and_failure(husk, tmp_path):
    out = tmp_path / "args"
    b = husk.bundle(["true"])
    cfg = read_config(b)
    cfg["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", f'echo "$0 $1 $2 $HOOKVAR" > {out}',
                                                              "name0", "a", "b"], "env": ["HOOKVAR=v"]}]}
    write_config(b, cfg)
    assert husk.run_output(b).returncode == 0
    assert out.read_text().strip() == "name0 a b v"

    cfg["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    write_config(b, cfg)
    cid = husk.new_id()
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "createRuntime hook /bin/false" in r.stderr
    assert husk.state(cid) is None and not cgroup_dirs_named(cid)


def test_hook_timeout(husk, tmp_path):
    b = husk.bundle(["true"])
    cfg = read_config(b)
    cfg["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    write_config(b, cfg)
    cid = husk.new_id()
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "timed out" in r.stderr
    assert husk.state(cid) is None and not cgroup_dirs_named(cid)


class ConsoleSocket:
    """A console socket as podman/conmon serve it: receives the pty master with SCM_RIGHTS."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.master = None
        self.name = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        conn, _ = self.sock.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        self.name, self.master = msg.decode().rstrip("\0"), fds[0]
        conn.close()

    def read_until(self, marker):
        """Reads the pty master until `marker` shows up or the terminal closes."""
        out = b""
        while marker not in out:
            chunk = os.read(self.master, 4096)
            if not chunk:
                break
            out += chunk
        return out

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)


def test_terminal_through_console_socket(husk, tmp_path):
    sock_path = str(tmp_path / "console.sock")
    cs = ConsoleSocket(sock_path)
    try:
        cid = husk.new_id()

        def tty(cfg):
            cfg["process"]["terminal"] = True
            cfg["process"]["consoleSize"] = {"height": 33, "width": 111}

        b = husk.bundle(["sh", "-c", "tty; stty size; read line; echo got:$line"], tty)
        husk.cmd("create", "--console-socket", sock_path, "-b", b, cid, check=True)
        cs.thread.join(5)
        assert cs.master is not None and cs.name.startswith("/dev/pts/")
        husk.cmd("start", cid, check=True)
        os.write(cs.master, b"hello\n")
        text = cs.read_until(b"got:hello").decode()
        assert "/dev/pts/0" in text or "/dev/console" in text
        assert "33 111" in text
        assert "got:hello" in text
    finally:
        cs.close()


def test_terminal_without_console_socket_is_an_error(husk):
    def tty(cfg):
        cfg["process"]["terminal"] = True

    cid = husk.new_id()
    r = husk.cmd("create", "-b", husk.bundle(["true"], tty), cid)
    assert r.returncode == 1 and "console-socket" in r.stderr
    r = husk.cmd("create", "--console-socket", "/nonexistent/sock", "-b", husk.bundle(["true"], tty), cid)
    assert r.returncode == 1 and "--console-socket" in r.stderr and "/nonexistent/sock" in r.stderr
    assert husk.state(cid) is None


def assert_clean_failure(husk, cid, r, *words):
    assert r.returncode == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert husk.state(cid) is None
    assert not os.path.exists(os.path.join(husk.root, cid))
    assert not cgroup_dirs_named(cid)
    with open("/proc/self/mountinfo") as f:
        assert cid not in f.read()


@pytest.mark.parametrize("case", ["missing-bundle", "missing-config", "bad-json", "wrong-type", "unknown-ns",
                                  "escaping-root", "no-args", "missing-executable", "bad-cwd", "bad-rlimit"])
def test_bad_input_fails_cleanly(husk, tmp_path, case):
    cid = husk.new_id()
    b = husk.bundle(["true"])
    cfg = read_config(b)
    words = []
    if case == "missing-bundle":
        b, words = str(tmp_path / "nope"), ["nope"]
    elif case == "missing-config":
        os.unlink(os.path.join(b, "config.json"))
        words = ["config.json"]
    elif case == "bad-json":
        with open(os.path.join(b, "config.json"), "w") as f:
            f.write("{ nope")
        words = ["not valid JSON"]
    else:
        if case == "wrong-type":
            cfg["process"]["terminal"] = "yes"
            words = ["process.terminal", "expected a boolean"]
        elif case == "unknown-ns":
            cfg["linux"]["namespaces"].append({"type": "foo"})
            words = ['linux.namespaces[', 'unknown namespace "foo"']
        elif case == "escaping-root":
            cfg["root"]["path"] = "../../etc"
            words = ["root.path", "escapes"]
        elif case == "no-args":
            cfg["process"]["args"] = []
            words = ["process.args"]
        elif case == "missing-executable":
            cfg["process"]["args"] = ["/bin/does-not-exist"]
            words = ["does-not-exist"]
        elif case == "bad-cwd":
            # A missing cwd is made (as runc); one below a file cannot be.
            cfg["process"]["cwd"] = "/etc/passwd/dir"
            words = ["process.cwd", "/etc/passwd/dir"]
        elif case == "bad-rlimit":
            cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10 ** 9}]
            words = ["process.rlimits", "RLIMIT_NOFILE"]
        write_config(b, cfg)
    assert_clean_failure(husk, cid, husk.cmd("create", "-b", b, cid), *words)


@pytest.mark.parametrize("bad_id", ["a/b", "..", "", "x y"])
def test_bad_ids_are_refused(husk, bad_id):
    r = husk.cmd("create", "-b", husk.bundle(["true"]), bad_id)
    assert r.returncode == 1
    assert not os.path.exists(os.path.join(husk.root, "b"))


def test_errors_as_json_log_lines(husk, tmp_path):
    log = tmp_path / "log.json"
    r = husk.cmd("--log", log, "--log-format", "json", "start", "does-not-exist", root=True)
    assert r.returncode == 1
    assert "does-not-exist" in r.stderr
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert entries[-1]["level"] == "error"
    assert "does-not-exist" in entries[-1]["msg"]
    assert entries[-1]["time"].endswith("Z")


# A command that cannot run, and the words of runc's error that docker and podman match to
# choose the exit status (127: not found, 126: cannot be invoked).
CANNOT_RUN = [("nosuchcmd", 'exec: "nosuchcmd": executable file not found in $PATH'),
              ("/no/such/file", "no such file or directory"),
              ("/etc/passwd", "permission denied"),
              ("/bin", "permission denied")]


@pytest.mark.parametrize("cmd,words", CANNOT_RUN)
def test_a_command_that_cannot_run_is_named_in_the_words_engines_match(husk, cmd, words):
    cid = husk.new_id()
    r = husk.cmd("create", "-b", husk.bundle([cmd]), cid)
    assert_clean_failure(husk, cid, r, "process.args[0]", f'"{cmd}"', words)
    running = husk.new_id()
    husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "1000"]), running, check=True)
    r = husk.cmd("exec", running, cmd)
    assert r.returncode == 255  # exec that cannot start its process, as runc
    for w in ("process.args[0]", f'"{cmd}"', words):
        assert w in r.stderr, (w, r.stderr)
