"""Where husk behaved unlike runc 1.1.5 on the same bundles (issue 18), each tried as a runc user
would and checked from outside: the lifecycle and its exit codes, process setup, hooks and
output formats. runc's behaviour is the contract; the README says where husk keeps its own."""
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import HUSK, cgroup_dirs_named, read_config, wait_for, write_config
from test_cgroups import V2, cg_dir
from test_hooks_console_errors import ConsoleSocket
from test_setup import new_userns, userns_bundle


def running(husk, args=None, mutate=None):
    """A started container running `args` (sleep by default); returns (id, pid)."""
    cid = husk.new_id()
    b = husk.bundle(args or ["sleep", "1000"], mutate)
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    husk.cmd("start", cid, check=True)
    return cid, pid


def cgroup_dir(pid, controller):
    """test_cgroups' cg_dir, and for "" the cgroup2 directory (on a hybrid host, the unified one)."""
    if controller or V2:
        return cg_dir(pid, controller)
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "":
                return "/sys/fs/cgroup/unified" + path
    pytest.skip("no cgroup2 hierarchy on this host")


# --- lifecycle and signals -------------------------------------------------------------------

def test_exec_ignore_paused_does_not_hold_the_container_against_resume(husk, tmp_path):
    """The hang: `exec --ignore-paused` into a paused container. Its process is born frozen, so
    exec waits for it; it must not keep the container's lock meanwhile, or `resume` (the only
    way out) blocks for ever. As with runc, exec completes once the container is resumed."""
    cid, _ = running(husk)
    husk.cmd("pause", cid, check=True)
    out = tmp_path / "exec.out"
    with open(out, "w") as f:
        ex = subprocess.Popen([HUSK, "--root", husk.root, "exec", "--ignore-paused", cid, "echo", "exec-ran"],
                              stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert ex.poll() is None  # waits for its frozen process, as runc's does
        r = husk.cmd("resume", cid, timeout=10)  # raises TimeoutExpired while the hang is there
        assert r.returncode == 0, r.stderr
        assert ex.wait(timeout=10) == 0
        assert out.read_text() == "exec-ran\n"
        assert husk.status(cid) == "running"
    finally:
        if ex.poll() is None:
            ex.kill()
            ex.wait()
        husk.cmd("resume", cid)
        husk.cmd("delete", "-f", cid, check=True)


def test_start_returns_once_the_program_has_replaced_init(husk):
    """runc's start returns after the container's execve, so that a signal sent right after goes
    to the program rather than to init's last steps (where pid 1 without a handler drops it: a
    `kill` right after `start` used to miss a shell's trap about one time in three). Checked
    where it is exact: when start returns, the process is the program, twenty times over. (The
    program's own start-up, until it installs its handlers, is a window runc has too.)"""
    b = husk.bundle(["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.02; done"])
    for _ in range(20):
        cid = husk.new_id()
        husk.cmd("create", "-b", b, cid, check=True)
        pid = husk.state(cid)["pid"]
        husk.cmd("start", cid, check=True)
        exe = os.readlink(f"/proc/{pid}/exe")
        assert exe.endswith("/bin/busybox"), f"start returned while init was still {exe}"
        husk.cmd("delete", "-f", cid, check=True)


def test_kill_with_signal_0(husk):
    """runc accepts signal 0 (the check that the processes exist), with and without --all."""
    cid, _ = running(husk)
    for args in (["kill", "-a", cid, "0"], ["kill", cid, "0"], ["kill", "--all", cid, "0"]):
        r = husk.cmd(*args)
        assert r.returncode == 0, (args, r.stderr)
    assert husk.status(cid) == "running"
    husk.cmd("delete", "-f", cid, check=True)


def test_update_takes_flags_after_the_id_and_ignores_device_rules(husk, tmp_path):
    """runc's parser takes a command's flags after its arguments too; and update leaves device
    rules alone (it does not even read them), so an access string such as "rwa" is no error."""
    cid, pid = running(husk)
    limit = os.path.join(cgroup_dir(pid, "memory"), "memory.max" if V2 else "memory.limit_in_bytes")
    r = husk.cmd("update", cid, "--memory", "100M")
    assert r.returncode == 0, r.stderr
    assert open(limit).read().strip() == str(100 << 20)
    res = tmp_path / "res.json"
    res.write_text(json.dumps({"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwa"}],
                               "memory": {"limit": 200 << 20}}))
    r = husk.cmd("update", cid, "-r", res)
    assert r.returncode == 0, r.stderr
    assert open(limit).read().strip() == str(200 << 20)
    husk.cmd("delete", "-f", cid, check=True)


@pytest.mark.parametrize("sub", ["..", "memory:..", "a/../..", "../x"])
def test_exec_cgroup_must_be_below_the_containers(husk, sub):
    cid, pid = running(husk)
    r = husk.cmd("exec", "--cgroup", sub, cid, "echo", "ran")
    assert r.returncode == 255 and "not a sub cgroup path" in r.stderr, r.stderr
    assert r.stdout == ""
    husk.cmd("delete", "-f", cid, check=True)


def test_exec_cgroup_per_controller_repeated(husk):
    """As runc's exec --cgroup: repeated, each "[ctrl[,ctrl]:]path"; a controller the container
    has not, or a sub-cgroup that does not exist, is refused before anything runs."""
    cid, pid = running(husk)
    try:
        r = husk.cmd("exec", "--cgroup", "whaaat:/", cid, "true")
        assert r.returncode == 255 and 'unknown controller "whaaat"' in r.stderr, r.stderr
        r = husk.cmd("exec", "--cgroup", "nonexistent", cid, "true")
        assert r.returncode == 255 and "/nonexistent/cgroup.procs: no such file" in r.stderr, r.stderr
        if V2:
            return
        os.mkdir(os.path.join(cgroup_dir(pid, "memory"), "submem"))
        # cpu and cpuacct: one hierarchy or two, depending on the host.
        for ctrl in ("cpu", "cpuacct"):
            os.makedirs(os.path.join(cgroup_dir(pid, ctrl), "subcpu"), exist_ok=True)
        r = husk.cmd("exec", "--cgroup", "memory:submem", "--cgroup", "cpu,cpuacct:subcpu", cid,
                     "cat", "/proc/self/cgroup")
        assert r.returncode == 0, r.stderr
        lines = dict(line.split(":", 2)[1:] for line in r.stdout.splitlines())
        assert lines["memory"].endswith("/submem"), r.stdout
        assert next(v for k, v in lines.items() if "cpu" in k.split(",")).endswith("/subcpu"), r.stdout
        assert not lines["pids"].endswith(("/submem", "/subcpu")), r.stdout
    finally:
        husk.cmd("delete", "-f", cid, check=True)


def test_exec_that_cannot_start_exits_255(husk, tmp_path):
    """runc exits 255 where exec fails before the process runs (a caller tells that from the
    process's own status); a usage error stays 1."""
    cid, pid = running(husk)
    husk.cmd("pause", cid, check=True)
    r = husk.cmd("exec", cid, "true")
    assert r.returncode == 255 and "paused" in r.stderr, r.stderr
    husk.cmd("resume", cid, check=True)
    # A --pid-file that cannot be written: the process does not stay behind either.
    r = husk.cmd("exec", "-d", "--pid-file", tmp_path / "missing" / "pid", cid, "sleep", "999")
    assert r.returncode == 255 and "pid" in r.stderr, r.stderr
    time.sleep(0.2)
    assert not any(b"999" in open(f"/proc/{p}/cmdline", "rb").read()
                   for p in open(os.path.join(cgroup_dir(pid, "pids"), "cgroup.procs")).read().split())
    assert husk.cmd("exec", "no-such-container", "true").returncode == 255
    assert husk.cmd("exec", cid, "/no/such/program").returncode == 255
    assert husk.cmd("exec").returncode == 1
    husk.cmd("delete", "-f", cid, check=True)


def test_delete_removes_cgroups_made_inside_the_containers(husk):
    """As runc: cgroups the container's processes made below its own go with it."""
    cid, pid = running(husk)
    made = []
    for d in sorted({cgroup_dir(pid, ctrl) for ctrl in ("memory", "pids", "")}):  # one on cgroup v2
        os.makedirs(os.path.join(d, "sub", "deeper"))
        made.append(os.path.join(d, "sub"))
    r = husk.cmd("delete", "-f", cid)
    try:
        assert r.returncode == 0, r.stderr
        assert not any(os.path.exists(d) for d in made)
        assert not cgroup_dirs_named(cid)
    finally:
        for d in made:
            for sub in (os.path.join(d, "deeper"), d, os.path.dirname(d)):
                if os.path.isdir(sub):
                    os.rmdir(sub)


def test_an_unusable_log_path_is_an_error(husk, tmp_path):
    for path in ("invalid:/path", str(tmp_path / "missing" / "log")):
        r = husk.cmd("--log", path, "list")
        assert r.returncode == 1 and path in r.stderr, r.stderr
    r = husk.cmd(f"--log={tmp_path / 'ok.log'}", "list")
    assert r.returncode == 0, r.stderr


# --- process setup, mounts and namespaces ----------------------------------------------------

def test_a_missing_cwd_is_created(husk):
    def conf(cfg):
        cfg["process"]["cwd"] = "/does/not/exist"
        cfg["root"]["readonly"] = True  # made before the root turns read-only, as with runc
    r = husk.run_output(husk.bundle(["sh", "-c", "pwd; stat -c %a ."], conf))
    assert (r.returncode, r.stdout) == (0, "/does/not/exist\n755\n"), r.stderr


def test_a_cwd_only_the_runtime_may_enter(husk):
    """runc changes directory before it drops to the configured user: /root (0700) works as the
    cwd of uid 1000, which could not enter it itself."""
    def conf(cfg):
        cfg["process"]["cwd"] = "/root"
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    b = husk.bundle(["sh", "-c", "pwd; ls . >/dev/null 2>&1 || echo unreadable"], conf)
    os.chmod(os.path.join(b, "rootfs", "root"), 0o700)
    r = husk.run_output(b)
    assert (r.returncode, r.stdout) == (0, "/root\nunreadable\n"), r.stderr


def test_a_program_runnable_only_with_cap_dac_override(husk):
    """A file whose x bits are root's alone (0700) runs for uid 1000 holding CAP_DAC_OVERRIDE,
    by path and through PATH, as execve (and runc) allows."""
    def conf(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
        cfg["process"]["env"] = ["PATH=/opt:/bin"]
        caps = cfg["process"]["capabilities"]
        for k in ("bounding", "effective", "permitted"):
            caps[k] = caps.get(k, []) + ["CAP_DAC_OVERRIDE"]
    for args in (["/opt/echo", "ran"], ["echo", "ran"]):
        b = husk.bundle(args, conf)
        os.makedirs(os.path.join(b, "rootfs", "opt"))
        shutil.copy("/bin/busybox", os.path.join(b, "rootfs", "opt", "echo"))
        os.chmod(os.path.join(b, "rootfs", "opt", "echo"), 0o700)
        r = husk.run_output(b)
        assert (r.returncode, r.stdout) == (0, "ran\n"), (args, r.stderr)


def test_a_program_started_through_the_stub_keeps_exactly_its_capabilities(husk):
    """What carries CAP_DAC_OVERRIDE through the exec stub must not show in the program: its
    sets are those runc gives (for uid 1000: ambient only)."""
    def conf(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
        caps = cfg["process"]["capabilities"]
        caps["bounding"] = ["CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        caps["effective"] = caps["permitted"] = ["CAP_DAC_OVERRIDE", "CAP_NET_BIND_SERVICE"]
        caps["inheritable"] = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
        caps["ambient"] = ["CAP_NET_BIND_SERVICE"]
    r = husk.run_output(husk.bundle(["sh", "-c", "grep ^Cap /proc/self/status"], conf))
    caps = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert caps == {"CapInh": "0000000000000420", "CapPrm": "0000000000000400", "CapEff": "0000000000000400",
                    "CapBnd": "0000000000000422", "CapAmb": "0000000000000400"}, (r.stdout, r.stderr)


def test_the_terminal_belongs_to_the_process_user(husk, tmp_path):
    sock_path = str(tmp_path / "console.sock")
    console = ConsoleSocket(sock_path)
    cid = husk.new_id()
    try:
        def conf(cfg):
            cfg["process"]["terminal"] = True
            cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
        b = husk.bundle(["sh", "-c", "stat -c 'owner %u %g' $(readlink /proc/self/fd/0)"], conf)
        husk.cmd("create", "--console-socket", sock_path, "-b", b, cid, check=True)
        husk.cmd("start", cid, check=True)
        console.thread.join(timeout=10)
        out = console.read_until(b"\n").decode()
        # runc's: the user's uid; the group stays devpts' tty group (gid=5).
        assert re.search(r"owner 1000 5\b", out), out
    finally:
        console.close()
        husk.cmd("delete", "-f", cid)


def test_tmpfs_without_mode_keeps_the_covered_directorys_mode(husk):
    """As runc: a tmpfs over an existing directory takes its mode, setuid/setgid included; one on
    a new directory is tmpfs' 1777. An explicit mode= is kept (runc overrides it: README)."""
    def conf(cfg):
        cfg["mounts"] += [{"destination": d, "type": "tmpfs", "source": "tmpfs", "options": o}
                          for d, o in (("/covered", ["nosuid"]), ("/explicit", ["mode=755", "ro"]), ("/new", []))]
    b = husk.bundle(["stat", "-c", "%a %n", "/covered", "/explicit", "/new"], conf)
    for d, mode in (("covered", 0o6750), ("explicit", 0o700)):
        os.mkdir(os.path.join(b, "rootfs", d))
        os.chmod(os.path.join(b, "rootfs", d), mode)
    r = husk.run_output(b)
    assert (r.returncode, r.stdout) == (0, "6750 /covered\n755 /explicit\n1777 /new\n"), r.stderr


def test_a_new_network_namespace_has_lo_up(husk):
    r = husk.run_output(husk.bundle(["cat", "/sys/class/net/lo/flags"]))
    assert r.returncode == 0, r.stderr
    assert int(r.stdout, 16) & 0x1, r.stdout  # IFF_UP


NSPROC = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
static void put(const char *f, const char *s) { int fd = open(f, O_WRONLY); if (fd >= 0) { write(fd, s, strlen(s)); close(fd); } }
int main(void) {
    char map[64];
    unsigned u = geteuid(), g = getegid();
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) != 0) { printf("unshare: %s\n", strerror(errno)); return 1; }
    put("/proc/self/setgroups", "deny");
    snprintf(map, sizeof map, "0 %u 1", u); put("/proc/self/uid_map", map);
    snprintf(map, sizeof map, "0 %u 1", g); put("/proc/self/gid_map", map);
    pid_t pid = fork();
    if (pid == 0) {
        if (mkdir("/tmp/p", 0755) != 0) { printf("mkdir: %s\n", strerror(errno)); return 1; }
        if (mount("proc", "/tmp/p", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) { printf("mount proc: %s\n", strerror(errno)); return 1; }
        printf("mount proc: ok\n");
        return 0;
    }
    int st; waitpid(pid, &st, 0);
    return WEXITSTATUS(st);
}
"""


def writable_userns(cfg):
    new_userns(cfg)
    cfg["root"]["readonly"] = False


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the probe program")
def test_no_pivot_in_a_user_namespace_leaves_no_whole_proc_behind(husk, tmp_path):
    """With --no-pivot the host's mounts stay in the container's mount namespace, under the moved
    rootfs. A process that makes a user namespace of its own may mount procfs where a whole one
    is visible there: the host's must not count (runc unmounts or covers it), so the mount is
    refused as with pivot_root."""
    src = tmp_path / "nsproc.c"
    src.write_text(NSPROC)
    probe = tmp_path / "nsproc"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(probe), str(src)], check=True, capture_output=True)
    for flags in (["--no-pivot"], []):
        b = userns_bundle(husk, ["/nsproc"], writable_userns)
        shutil.copy(probe, os.path.join(b, "rootfs", "nsproc"))
        r = husk.cmd("run", *flags, "-b", b, husk.new_id())
        assert r.stdout == "mount proc: Operation not permitted\n", (flags, r.stdout, r.stderr)
    # Without a user namespace --no-pivot still works (the host's /proc is unmounted there).
    r = husk.cmd("run", "--no-pivot", "-b", husk.bundle(["cat", "/proc/self/comm"]), husk.new_id())
    assert (r.returncode, r.stdout) == (0, "cat\n"), r.stderr


def test_a_read_only_dev_gets_its_devices_first(husk):
    """As runc: a read-only /dev from the config is made read-only once /dev/pts, the devices and
    the console are in it."""
    def conf(cfg):
        for m in cfg["mounts"]:
            if m["destination"] == "/dev":
                m["options"].append("ro")
    r = husk.run_output(husk.bundle(["sh", "-c", "ls /dev/pts/ptmx /dev/null >/dev/null && echo ok; touch /dev/x"], conf))
    assert r.stdout == "ok\n", r.stderr
    assert "Read-only file system" in r.stderr, r.stderr


def test_a_bind_source_the_mapped_root_cannot_reach(husk, tmp_path):
    """In a user namespace, the container's root may be unable to reach a bind source (here
    under a 0700 directory of the host's root). runc opens sources before entering the namespace;
    husk does the same, so the bind works, for a directory and a file."""
    private = tmp_path / "private"
    (private / "data").mkdir(parents=True)
    (private / "data" / "f").write_text("reached\n")
    os.chmod(private, 0o700)

    def conf(cfg):
        new_userns(cfg)
        cfg["mounts"] += [{"destination": "/mnt/data", "type": "bind", "source": str(private / "data"),
                           "options": ["rbind", "ro"]},
                          {"destination": "/mnt/file", "type": "bind", "source": str(private / "data" / "f"),
                           "options": ["bind"]}]
    b = userns_bundle(husk, ["sh", "-c", "cat /mnt/data/f /mnt/file; touch /mnt/data/x"], conf)
    os.makedirs(os.path.join(b, "rootfs", "mnt", "data"))  # the mapped root cannot make them
    open(os.path.join(b, "rootfs", "mnt", "file"), "w").close()
    r = husk.run_output(b)
    assert r.stdout == "reached\nreached\n", r.stderr
    assert "Read-only file system" in r.stderr  # the bind's own options still apply


def test_device_paths_with_a_trailing_slash_or_missing_parents(husk):
    def conf(cfg):
        cfg["linux"]["devices"] = [{"path": "/dev/trail/", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
                                   {"path": "/dev/sub/dir/null2", "type": "c", "major": 1, "minor": 3}]
    r = husk.run_output(husk.bundle(["stat", "-c", "%F %t:%T %n", "/dev/trail", "/dev/sub/dir/null2"], conf))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "character special file 1:3 /dev/trail\ncharacter special file 1:3 /dev/sub/dir/null2\n"


# --- hooks -----------------------------------------------------------------------------------

def test_hook_environment_and_cwd(husk, tmp_path):
    """A hook without "env" gets the runtime's environment (its PATH finds the caller's
    programs), one with "env": [] nothing; createContainer hooks run in the rootfs."""
    out = tmp_path / "out"
    b = husk.bundle(["true"])
    cfg = read_config(b)
    cfg["hooks"] = {
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", f'echo "prestart PATH=$PATH" >> {out}']},
                     {"path": "/bin/sh", "args": ["sh", "-c", f'echo "empty env=$(env | grep -c .)" >> {out}'],
                      "env": []}],
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", f'echo "createContainer cwd=$(pwd)" >> {out}']}],
    }
    write_config(b, cfg)
    env = dict(os.environ, PATH="/husk-test-path:/usr/sbin:/usr/bin:/sbin:/bin")
    r = husk.cmd("run", "-b", b, husk.new_id(), env=env)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "prestart PATH=/husk-test-path:/usr/sbin:/usr/bin:/sbin:/bin"
    assert lines[1] == "empty env=1"  # sh itself sets PWD
    assert lines[2] == "createContainer cwd=" + os.path.realpath(os.path.join(b, "rootfs"))


def test_hooks_get_stdio_only(husk, tmp_path):
    """As runc's: fds 0-2, whatever the caller passed to husk or husk holds itself. Each hook
    execs ls on its own fds: 0-2, and 3 that ls opens to read the directory."""
    b = husk.bundle(["true"])
    cfg = read_config(b)
    cfg["root"]["readonly"] = False  # for the startContainer hook's answer
    probe = 'exec ls /proc/self/fd > {dir}/fds.$0'
    cfg["hooks"] = {k: [{"path": "/bin/sh", "args": ["sh", "-c", probe.format(dir=tmp_path), k]}]
                    for k in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    cfg["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", probe.format(dir=""), "startContainer"]}]
    write_config(b, cfg)
    r = subprocess.run(["sh", "-c", 'exec "$@" 7</ 8</', "sh", HUSK, "--root", husk.root, "run", "-b", b,
                        husk.new_id()], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    for hook in ("prestart", "createRuntime", "createContainer", "poststart", "poststop", "startContainer"):
        where = os.path.join(b, "rootfs") if hook == "startContainer" else str(tmp_path)
        with open(os.path.join(where, "fds." + hook)) as f:
            assert f.read().split() == ["0", "1", "2", "3"], hook


def test_a_failing_poststart_hook_fails_start_and_removes_the_container(husk, tmp_path):
    log = tmp_path / "poststop"
    b = husk.bundle(["sleep", "1000"])
    cfg = read_config(b)
    cfg["hooks"] = {"poststart": [{"path": "/bin/false"}],
                    "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", f"echo ran >> {log}"]}]}
    write_config(b, cfg)
    cid = husk.new_id()
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    r = husk.cmd("start", cid)
    assert r.returncode == 1 and "poststart hook /bin/false" in r.stderr, r.stderr
    assert husk.state(cid) is None and not cgroup_dirs_named(cid)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert log.read_text() == "ran\n"  # removed as delete removes it
    cid = husk.new_id()
    r = husk.cmd("run", "-b", b, cid, timeout=30)
    assert r.returncode == 1 and "poststart" in r.stderr, r.stderr
    assert husk.state(cid) is None and not cgroup_dirs_named(cid)


# --- seccomp and sysctls -----------------------------------------------------------------------

def notify_profile(names, listener):
    return {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": listener,
            "syscalls": [{"names": names, "action": "SCMP_ACT_NOTIFY"}]}


def test_seccomp_notify_on_write_is_refused(husk, tmp_path):
    listener = str(tmp_path / "agent.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(listener)
    s.listen(1)
    try:
        def conf(cfg):
            cfg["linux"]["seccomp"] = notify_profile(["mkdir", "write"], listener)
        cid = husk.new_id()
        r = husk.cmd("create", "-b", husk.bundle(["true"], conf), cid)
        assert r.returncode == 1 and "SCMP_ACT_NOTIFY cannot be used for the write syscall" in r.stderr, r.stderr
        assert husk.state(cid) is None
    finally:
        s.close()


def test_seccomp_missing_listener_in_runcs_words(husk, tmp_path):
    def conf(cfg):
        cfg["linux"]["seccomp"] = notify_profile(["mkdir"], str(tmp_path / "nobody.sock"))
    cid = husk.new_id()
    r = husk.cmd("create", "-b", husk.bundle(["true"], conf), cid)
    assert r.returncode == 1 and "failed to connect with seccomp agent" in r.stderr, r.stderr
    assert husk.state(cid) is None


def test_sysctls_of_namespaces_the_container_does_not_own_are_refused(husk):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_value = f.read().strip()  # the value it already has, should this ever go through
    cases = [({"kernel.hostname": "x"}, None, "kernel.hostname"),
             ({"net.ipv4.ip_forward": host_value}, "/proc/self/ns/net", "net.ipv4.ip_forward"),
             ({"kernel.shmmni": "4096"}, None, "kernel.shmmni")]
    for sysctl, netns, name in cases:
        def conf(cfg):
            cfg["linux"]["sysctl"] = sysctl
            if netns:
                for n in cfg["linux"]["namespaces"]:
                    if n["type"] == "network":
                        n["path"] = netns
            if name == "kernel.shmmni":
                cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "ipc"]
        cid = husk.new_id()
        r = husk.cmd("create", "-b", husk.bundle(["true"], conf), cid)
        assert r.returncode == 1 and "linux.sysctl" in r.stderr and name in r.stderr, (sysctl, r.stderr)
        assert husk.state(cid) is None


# --- output formats --------------------------------------------------------------------------

def test_events_objects_in_runcs_field_order(husk):
    """runc's event objects: {"type","id","data"} in that order (OOM events, without data, are
    checked in test_cgroups.py)."""
    cid, _ = running(husk, ["sh", "-c", "sleep 0.5"])
    r = husk.cmd("events", "--stats", cid, check=True)
    assert r.stdout.startswith('{"type":"stats","id":"%s","data":{' % cid), r.stdout[:80]
    r = husk.cmd("events", "--interval", "100ms", cid, timeout=20, check=True)
    lines = r.stdout.splitlines()
    assert lines and all(l.startswith('{"type":"stats","id":"%s","data":{' % cid) for l in lines), lines
    husk.cmd("delete", "-f", cid, check=True)


def test_debug_log_lines_as_runc_writes_them(husk, tmp_path):
    log = tmp_path / "log"
    r = husk.cmd("--debug", "--log", log, "list")
    assert r.returncode == 0, r.stderr
    lines = log.read_text().splitlines()
    assert lines and all(re.fullmatch(r'time="[0-9T:.Z-]+" level=debug msg=("([^"\\]|\\.)*"|\S+)', l) for l in lines), lines
    jlog = tmp_path / "jlog"
    husk.cmd("--debug", "--log", jlog, "--log-format", "json", "list", check=True)
    entries = [json.loads(l) for l in jlog.read_text().splitlines()]
    assert entries and all(list(e) == ["level", "msg", "time"] and e["level"] == "debug" for e in entries)
    # Without --log, runc's log is stderr; an error is said once.
    r = husk.cmd("--debug", "state", "no-such-container")
    assert r.returncode == 1
    assert re.search(r'^time="[^"]+" level=debug msg=', r.stderr, re.M), r.stderr
    assert len(re.findall("does not exist", r.stderr)) == 1, r.stderr
    assert re.search(r'^time="[^"]+" level=error msg=".*does not exist', r.stderr, re.M), r.stderr


def test_help_and_version_in_runcs_layout():
    r = subprocess.run([HUSK, "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    sections = re.findall(r"^([A-Z ]+):$", r.stdout, re.M)
    assert sections == ["NAME", "USAGE", "VERSION", "COMMANDS", "GLOBAL OPTIONS"], sections
    block = r.stdout.split("COMMANDS:\n")[1].split("\n\n")[0]
    names = [re.match(r"^   (\S+)", l).group(1).rstrip(",") for l in block.splitlines()]
    for name in ("create", "start", "run", "exec", "delete", "checkpoint", "restore", "help"):
        assert name in names, names
    first = subprocess.run([HUSK, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    assert re.fullmatch(r"husk version \S+", first), first
    assert subprocess.run([HUSK, "version"], capture_output=True, text=True).stdout.splitlines()[0] == first
    r = subprocess.run([HUSK, "start", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("NAME:\n   husk start - "), r.stdout
    assert "USAGE:\n   husk start " in r.stdout
    assert subprocess.run([HUSK, "help", "start"], capture_output=True, text=True).stdout == r.stdout


@pytest.mark.parametrize("command", ["checkpoint", "restore"])
def test_checkpoint_and_restore_say_they_are_not_supported(husk, command):
    r = husk.cmd(command, "some-id")
    assert r.returncode == 1 and "not supported on this build/host" in r.stderr, r.stderr


def test_foreground_terminal_output_keeps_its_newlines(husk):
    """As runc's `run` with process.terminal in the foreground: the container's pty does not
    turn "\\n" into "\\r\\n", so `$(husk run ...)` reads what the program wrote (runc's
    run.bats compares `stat` output from a terminal container)."""
    if not shutil.which("script"):
        pytest.skip("util-linux's script (for a controlling terminal) is not installed")
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "echo one; echo two"], lambda c: c["process"].update(terminal=True))
    r = subprocess.run(["script", "-qec", f"{HUSK} --root {husk.root} run -b {b} {cid}", "/dev/null"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    husk.cmd("delete", "-f", cid)
    assert r.returncode == 0, r.stderr
    assert b"one\ntwo\n" in r.stdout and b"\r" not in r.stdout.replace(b"\r\n", b"\n").replace(b"one\n", b""), r.stdout
