"""Container escapes and leaks, each attempted for real from a hostile image: the attack must fail.

The attacks target a private copy of the husk binary (never the build's own), so that a husk
that fails a test cannot damage the tree the other tests run.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import HUSK, Husk, cgroup_dirs_named, write_config

# Runs in the container: waits for a process whose exe is not busybox (husk's own image, run as
# the interpreter of /evil), holds an fd on that exe, lets the process go on by reading the FIFO
# it blocks on, and once it is gone tries to append to the file the fd names.
ATTACKER = r"""#!/bin/sh
attack() {
  exec 3<"$1/exe" || return 1
  echo "opened $(readlink $1/exe)" >> /result
  cat "$1/root/fifo" > /dev/null &
  while [ -e "$1" ]; do sleep 0.05; done
  n=0
  while [ $n -lt 100 ]; do
    if echo PWNED >> /proc/self/fd/3; then echo WROTE >> /result; return 0; fi 2>/dev/null
    n=$((n+1)); sleep 0.05
  done
  echo "write denied" >> /result
}
i=0
while [ $i -lt 1000 ] && [ ! -e /stop ]; do
  for p in /proc/[0-9]*; do
    [ "$p" = /proc/1 ] || [ "$p" = /proc/$$ ] && continue
    l=$(readlink "$p/exe" 2>/dev/null) || continue
    case "$l" in *busybox*|"") continue ;; esac
    ( attack "$p" ) && { echo done >> /result; sleep 1000; }
  done
  i=$((i+1)); sleep 0.02
done
echo "no target" >> /result
sleep 1000
"""


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def victim(husk, tmp_path):
    """A husk for this test alone: a copy of the binary, and a Husk driving it."""
    copy = tmp_path / "husk-copy"
    shutil.copy2(HUSK, copy)
    h = Husk(husk.root, husk.bundle_base, husk.template)
    h.ids = husk.ids  # the fixture's teardown deletes them
    h.binary = str(copy)
    return h


def run_copy(h, *args, timeout=30):
    # Files, not pipes: a detached container would hold a pipe open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([h.binary, "--root", h.root] + [str(a) for a in args], stdout=out, stderr=err,
                           text=True, timeout=timeout)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())


def hostile_bundle(h, args, mutate=None):
    """A rootfs with /evil (a script whose interpreter is /proc/self/exe), a FIFO and the attacker."""
    def writable(cfg):
        cfg["root"]["readonly"] = False
        if mutate:
            mutate(cfg)

    b = h.bundle(args, writable)
    root = os.path.join(b, "rootfs")
    with open(os.path.join(root, "evil"), "w") as f:
        f.write("#!/proc/self/exe --log=/fifo\n")
    with open(os.path.join(root, "attack"), "w") as f:
        f.write(ATTACKER)
    for name in ("evil", "attack"):
        os.chmod(os.path.join(root, name), 0o755)
    os.mkfifo(os.path.join(root, "fifo"), 0o666)
    return b


def wait_result(bundle, timeout=30):
    """The attacker's findings, once the hostile program has run: it is told to stop looking."""
    open(os.path.join(bundle, "rootfs", "stop"), "w").close()
    path = os.path.join(bundle, "rootfs", "result")
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            with open(path) as f:
                text = f.read()
            if "done" in text or "no target" in text:
                return text
        time.sleep(0.1)
    with open(path) if os.path.exists(path) else open(os.devnull) as f:
        return f.read()


def test_exec_of_a_proc_self_exe_script_cannot_overwrite_husk(victim):
    """CVE-2019-5736 through `husk exec`: /evil runs with /proc/self/exe as interpreter."""
    before = sha256(victim.binary)
    cid = victim.new_id()
    b = hostile_bundle(victim, ["/attack"])
    r = run_copy(victim, "run", "-d", "-b", b, cid)
    assert r.returncode == 0, r.stderr
    run_copy(victim, "exec", cid, "/evil")
    result = wait_result(b)
    assert "WROTE" not in result, result
    assert sha256(victim.binary) == before, "the host's husk binary was changed from the container"


def test_init_of_a_proc_self_exe_script_cannot_overwrite_husk(victim):
    """The same through a container's init, watched by a container sharing its pid namespace."""
    before = sha256(victim.binary)
    watcher = victim.new_id()
    wb = hostile_bundle(victim, ["/attack"])
    assert run_copy(victim, "run", "-d", "-b", wb, watcher).returncode == 0
    pid = json.loads(run_copy(victim, "state", watcher).stdout)["pid"]

    def join_pid_ns(cfg):
        for n in cfg["linux"]["namespaces"]:
            if n["type"] == "pid":
                n["path"] = f"/proc/{pid}/ns/pid"

    target = victim.new_id()
    tb = hostile_bundle(victim, ["/evil"], join_pid_ns)
    run_copy(victim, "run", "-b", tb, target)
    result = wait_result(wb)
    assert "WROTE" not in result, result
    assert sha256(victim.binary) == before, "the host's husk binary was changed from the container"


def test_a_start_container_hook_from_the_image_cannot_run_husk(husk):
    """startContainer hooks are the image's files: one naming /proc/self/exe as its interpreter
    must not get husk's binary (it gets the exec stub, which refuses)."""
    def hook(cfg):
        cfg["root"]["readonly"] = False
        cfg["hooks"] = {"startContainer": [{"path": "/hook", "args": ["/hook"]}]}

    b = husk.bundle(["echo", "ran"], hook)
    with open(os.path.join(b, "rootfs", "hook"), "w") as f:
        f.write("#!/proc/self/exe --version\n")
    os.chmod(os.path.join(b, "rootfs", "hook"), 0o755)
    r = husk.run_output(b)
    assert "husk version" not in r.stdout + r.stderr
    assert r.returncode != 0 and "startContainer hook /hook" in r.stderr, r.stderr


def deny_execveat(cfg):
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": ["execveat"], "action": "SCMP_ACT_ERRNO"}]}


def test_a_profile_denying_execveat_still_runs_the_program(husk):
    """The stub is then entered by execve through /proc/self/fd, and the filter still applies."""
    r = husk.run_output(husk.bundle(["sh", "-c", "readlink /proc/self/exe; grep Seccomp: /proc/self/status"],
                                    deny_execveat))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["/bin/busybox", "Seccomp:", "2"], r.stdout


def test_a_profile_denying_execveat_without_proc_is_a_clear_error(husk):
    def no_proc(cfg):
        deny_execveat(cfg)
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/proc"]
        cfg["linux"]["maskedPaths"] = []
        cfg["linux"]["readonlyPaths"] = []

    r = husk.run_output(husk.bundle(["true"], no_proc))
    assert r.returncode != 0
    assert "execveat" in r.stderr and "/proc" in r.stderr, r.stderr


def test_exec_reports_a_program_the_kernel_cannot_run(husk, tmp_path):
    """A failed execve of the program itself (here ENOEXEC) still reaches `husk exec`'s caller."""
    cid = husk.new_id()
    b = husk.bundle(["sleep", "100"], lambda c: c["root"].update(readonly=False))
    with open(os.path.join(b, "rootfs", "notelf"), "wb") as f:
        f.write(b"\x7fELF garbage that is no program")
    os.chmod(os.path.join(b, "rootfs", "notelf"), 0o755)
    assert husk.cmd("run", "-d", "-b", b, cid).returncode == 0
    r = husk.cmd("exec", cid, "/notelf")
    assert r.returncode != 0 and "exec format error" in r.stderr.lower(), r.stderr


def cwd_escape_bundle(h, cwd, marker):
    """A container whose cwd is `cwd` and whose process climbs up from it and reads `marker`."""
    def conf(cfg):
        cfg["process"]["cwd"] = cwd

    return h.bundle(["sh", "-c", f"cd ../../../../../..; cat .{marker}"], conf)


def test_cwd_through_a_callers_fd_is_refused(husk, tmp_path):
    """CVE-2024-21626: `husk run 7</host/dir` with process.cwd /proc/self/fd/7 must not put the
    container's cwd on the host."""
    marker = tmp_path / "secret"
    marker.write_text("SECRET\n")
    for fd in (7, 9):  # sh redirects single-digit fds only
        b = cwd_escape_bundle(husk, f"/proc/self/fd/{fd}", str(marker))
        # The shell opens the fd in the child only: pytest's own fds stay as they are.
        r = subprocess.run(["sh", "-c", f'exec "$@" {fd}<{tmp_path}', "sh", HUSK, "--root", husk.root, "run", "-b", b,
                            husk.new_id()], capture_output=True, text=True, timeout=30)
        assert "SECRET" not in r.stdout, "the container read a host file through an fd of its caller"
        assert r.returncode == 1 and "process.cwd" in r.stderr and "outside" in r.stderr, r.stderr


def test_a_missing_cwd_through_a_callers_fd_is_not_made_on_the_host(husk, tmp_path):
    """A cwd that does not exist is created (as runc does), but inside the root only: one under
    /proc/self/fd/N (a caller's fd on a host directory) must not be made in that directory."""
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    for cwd in ("/proc/self/fd/7/made-by-container", "/proc/self/fd/7/../host/made-by-container"):
        b = cwd_escape_bundle(husk, cwd, "/nothing")
        r = subprocess.run(["sh", "-c", f'exec "$@" 7<{host_dir}', "sh", HUSK, "--root", husk.root, "run", "-b", b,
                            husk.new_id()], capture_output=True, text=True, timeout=30)
        assert os.listdir(host_dir) == [], "the container made its cwd in a host directory"
        assert r.returncode == 1 and "process.cwd" in r.stderr, r.stderr


def test_exec_cwd_through_a_callers_fd_is_refused(husk, tmp_path):
    marker = tmp_path / "secret"
    marker.write_text("SECRET\n")
    cid = husk.new_id()
    assert husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "100"]), cid).returncode == 0
    r = subprocess.run(["sh", "-c", f'exec "$@" 9<{tmp_path}', "sh", HUSK, "--root", husk.root, "exec", "--cwd",
                        "/proc/self/fd/9", cid, "sh", "-c", f"cd ../../../../../..; cat .{marker}"],
                       capture_output=True, text=True, timeout=30)
    assert "SECRET" not in r.stdout
    assert r.returncode != 0 and "outside" in r.stderr, r.stderr


def test_cwd_through_husks_cgroup_fd_on_cgroup_v2_is_refused(husk, tmp_path):
    """On cgroup v2 husk holds the container's cgroup directory open for CLONE_INTO_CGROUP; init
    must not inherit it. cgroup2 mounted over /sys/fs/cgroup in a private mount namespace takes
    husk's v2 path on this hybrid host."""
    if not os.path.exists("/sys/fs/cgroup/unified") and not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        pytest.skip("no cgroup2 hierarchy on this host")
    marker = tmp_path / "secret"
    marker.write_text("SECRET\n")
    script = ["mount -t cgroup2 none /sys/fs/cgroup || exit 99"]
    for fd in range(3, 16):
        cid = husk.new_id()
        b = cwd_escape_bundle(husk, f"/proc/self/fd/{fd}", str(marker))
        # run, then delete in the same mount namespace (the saved cgroup paths are v2 ones).
        script.append(f"echo '== {fd}'; {HUSK} --root {husk.root} run -b {b} {cid} 2>&1; "
                      f"{HUSK} --root {husk.root} delete -f {cid} 2>/dev/null")
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(script)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 99, r.stdout + r.stderr
    assert "SECRET" not in r.stdout, r.stdout
    assert "outside the container" in r.stdout or "No such file" in r.stdout, r.stdout


def test_a_dev_null_swapped_for_a_symlink_does_not_unmask_paths(husk):
    """CVE-2025-31133: with /dev from the rootfs, the host side can swap rootfs/dev/null for a
    symlink while create runs (a createContainer hook does it here, at the worst moment).
    Masked paths must get the null device or nothing, never the symlink's target."""
    def conf(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if not m["destination"].startswith("/dev")]

    b = husk.bundle(["sh", "-c", "wc -c < /proc/keys"], conf)
    rootfs = os.path.join(b, "rootfs")
    cfg = json.load(open(os.path.join(b, "config.json")))
    cfg["hooks"] = {"createContainer": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"rm -f {rootfs}/dev/null && ln -s /proc/timer_list {rootfs}/dev/null"]}]}
    write_config(b, cfg)
    r = husk.run_output(b)
    assert not (r.returncode == 0 and r.stdout.strip() not in ("", "0")), "a masked path showed another file"
    assert r.returncode != 0 and "/dev/null" in r.stderr and "not the null device" in r.stderr, r.stdout + r.stderr


# Lesser defects of the same review: each is a clear error, or no error at all.

def refused(husk, bundle, *words):
    cid = husk.new_id()
    r = husk.cmd("create", "-b", bundle, cid)
    assert r.returncode == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert husk.state(cid) is None
    assert not cgroup_dirs_named(cid)


def test_a_memory_limit_too_small_to_start_says_so(husk):
    b = husk.bundle(["true"], lambda c: c["linux"].setdefault("resources", {}).update(memory={"limit": 1}))
    refused(husk, b, "out of memory", "linux.resources.memory.limit")


def test_a_number_json_cannot_hold_names_its_field(husk):
    b = husk.bundle(["true"])
    path = os.path.join(b, "config.json")
    text = open(path).read().replace('"args": [', '"oomScoreAdj": 1e400, "args": [', 1)
    assert "1e400" in text
    open(path, "w").write(text)
    refused(husk, b, "process.oomScoreAdj", "number overflow")


@pytest.mark.parametrize("major,minor,field", [(-1, 0, "major"), (1, 4294967296, "minor")])
def test_device_numbers_the_kernel_cannot_hold_are_refused(husk, major, minor, field):
    def dev(cfg):
        cfg["linux"]["devices"] = [{"type": "c", "path": "/dev/x", "major": major, "minor": minor}]

    refused(husk, husk.bundle(["true"], dev), f"linux.devices[0].{field}", "out of range")


def test_a_hostname_with_nul_is_refused(husk):
    refused(husk, husk.bundle(["true"], lambda c: c.update(hostname="box\0evil")), "hostname", "NUL")


def test_concurrent_forced_deletes_both_succeed(husk):
    for _ in range(5):
        cid = husk.new_id()
        assert husk.cmd("run", "-d", "-b", husk.bundle(["sleep", "100"]), cid).returncode == 0
        procs = [subprocess.Popen([HUSK, "--root", husk.root, "delete", "-f", cid], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [(p.wait(timeout=30), p.stderr.read()) for p in procs]
        assert all(rc == 0 for rc, _ in results), results
        assert husk.state(cid) is None


def test_proc_writes_are_not_redirected_by_a_fake_proc(husk, tmp_path):
    """CVE-2025-52881 class: init writes sysctls and oom_score_adj before the container's own
    /proc exists, through whatever /proc its mount namespace has. Joining a mount namespace
    whose /proc is a tmpfs of plain files, those writes must reach the kernel, not the files."""
    holder = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         "mount -t tmpfs fake /proc && mkdir -p /proc/sys/net/ipv4 /proc/self && "
         "echo untouched > /proc/sys/net/ipv4/ip_forward && echo untouched > /proc/self/oom_score_adj && "
         "echo ready && exec sleep 1000"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        # Held open now: the container's pivot_root in that namespace moves the holder's root.
        fake = f"/proc/{holder.pid}/root/proc"
        fakes = [open(f"{fake}/sys/net/ipv4/ip_forward"), open(f"{fake}/self/oom_score_adj")]

        def conf(cfg):
            for n in cfg["linux"]["namespaces"]:
                if n["type"] == "mount":
                    n["path"] = f"/proc/{holder.pid}/ns/mnt"
            cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
            cfg["process"]["oomScoreAdj"] = 321

        r = husk.run_output(husk.bundle(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj"],
                                        conf))
        for f in fakes:
            f.seek(0)
            assert f.read().strip() == "untouched", "a write went to the fake /proc"
            f.close()
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["1", "321"], r.stdout
    finally:
        holder.kill()
        holder.wait()


def test_only_procfs_may_be_mounted_at_proc(husk, tmp_path):
    """A tmpfs with options, or a bind of a plain directory, at /proc would take the place of the
    procfs that writes and masks rely on."""
    for mount in ({"destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]},
                  {"destination": "/proc", "type": "bind", "source": str(tmp_path), "options": ["rbind"]},
                  {"destination": "/proc", "type": "none", "source": str(tmp_path), "options": ["bind"]}):
        def conf(cfg, mount=mount):
            cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/proc"] + [mount]

        refused(husk, husk.bundle(["true"], conf), "/proc", "proc")


def test_the_hosts_procfs_may_be_bound_at_proc(husk):
    def conf(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/proc"]
        cfg["mounts"].append({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]})
        cfg["linux"]["maskedPaths"] = []
        cfg["linux"]["readonlyPaths"] = []

    r = husk.run_output(husk.bundle(["sh", "-c", "test -e /proc/self/status && echo ok"], conf))
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_a_symlinked_dev_console_is_not_followed(husk, tmp_path):
    """CVE-2025-52565 class: the console's pty is bound over /dev/console itself, never over
    what a symlink there names (a /dev from the rootfs is the image's)."""
    from test_hooks_console_errors import ConsoleSocket

    def conf(cfg):
        cfg["process"]["terminal"] = True
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] not in ("/dev", "/dev/shm", "/dev/mqueue")]

    b = husk.bundle(["sh", "-c", "stat -c %F /target"], conf)
    rootfs = os.path.join(b, "rootfs")
    with open(os.path.join(rootfs, "target"), "w") as f:
        f.write("plain file\n")
    os.symlink("/target", os.path.join(rootfs, "dev", "console"))
    sock = str(tmp_path / "console.sock")
    cs = ConsoleSocket(sock)
    try:
        cid = husk.new_id()
        r = husk.cmd("create", "--console-socket", sock, "-b", b, cid)
        mounted_over_target = False
        if r.returncode == 0:
            pid = husk.state(cid)["pid"]
            with open(f"/proc/{pid}/mountinfo") as f:
                mounted_over_target = any(line.split()[4] == "/target" for line in f)
        assert not mounted_over_target, "the console was bound over the symlink's target"
        assert r.returncode == 1 and "/dev/console" in r.stderr, r.stderr
    finally:
        cs.close()
