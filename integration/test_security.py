"""Process security on real containers: capabilities, seccomp (errno, kill, notify, a full
default-deny profile), no_new_privs, scheduling, I/O priority, CPU affinity, personality,
netDevices and LSM settings, read from outside through /proc or by the process inside."""
import array
import ctypes
import json
import os
import shutil
import socket
import subprocess
import threading

import pytest

from conftest import HUSK, proc_status, wait_for
import seccomp_profile

CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_FOWNER": 3, "CAP_KILL": 5, "CAP_SETGID": 6,
        "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18,
        "CAP_AUDIT_WRITE": 29}


def mask(names):
    return "%016x" % sum(1 << CAPS[n] for n in names)


def started(husk, args, mutate):
    """Creates and starts a container; returns (id, pid) once it runs `args`."""
    cid = husk.new_id()
    b = husk.bundle(args, mutate)
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]
    husk.cmd("start", cid, check=True)
    assert wait_for(lambda: open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0] == args[0].encode())
    return cid, pid


def with_seccomp(profile, nnp=False):
    def mutate(cfg):
        cfg["linux"]["seccomp"] = profile
        cfg["process"]["noNewPrivileges"] = nnp
    return mutate


def failed_create(husk, mutate):
    """A create that must fail: returns its stderr and checks nothing was left behind."""
    cid = husk.new_id()
    b = husk.bundle(["true"], mutate)
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1, r.stderr
    assert husk.state(cid) is None
    assert not os.path.exists(os.path.join(husk.root, cid))
    return r.stderr


# --- capabilities ---------------------------------------------------------------------------

@pytest.mark.parametrize("uid", [0, 1000])
def test_capability_sets_are_exactly_as_configured(husk, uid):
    kept = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bounding = kept + ["CAP_CHOWN", "CAP_SETUID"]

    def mutate(cfg):
        cfg["process"]["user"] = {"uid": uid, "gid": uid}
        # For root, execve makes permitted = bounding | inheritable; for others it keeps only
        # the ambient set: a config that a correct runtime reproduces exactly in both cases.
        everything = bounding if uid == 0 else kept
        cfg["process"]["capabilities"] = {"bounding": bounding, "effective": everything,
                                          "permitted": everything, "inheritable": kept, "ambient": kept}
    _, pid = started(husk, ["sleep", "1000"], mutate)
    st = proc_status(pid)
    assert st["Uid"].split()[0] == str(uid)
    assert st["CapBnd"] == mask(bounding)
    assert st["CapInh"] == mask(kept)
    assert st["CapAmb"] == mask(kept)
    want = bounding if uid == 0 else kept
    assert st["CapPrm"] == mask(want)
    assert st["CapEff"] == mask(want)


def test_no_capabilities_config_gives_an_empty_non_root_process(husk):
    def mutate(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
        cfg["process"]["capabilities"] = {"bounding": ["CAP_KILL"]}
    _, pid = started(husk, ["sleep", "1000"], mutate)
    st = proc_status(pid)
    assert st["CapBnd"] == mask(["CAP_KILL"])
    assert st["CapEff"] == st["CapPrm"] == st["CapInh"] == st["CapAmb"] == "0" * 16


def test_bounding_set_does_not_trust_the_containers_proc(husk, tmp_path):
    """The bounding set is dropped after pivot_root, where /proc is the container's: one that
    claims cap_last_cap is 0 (the image's own /proc directory, with no procfs mounted over it,
    since only a procfs may be mounted at /proc) must not shrink what is dropped."""
    def mutate(cfg):
        cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != "/proc"]
        cfg["linux"]["maskedPaths"] = []
        cfg["linux"]["readonlyPaths"] = []
        cfg["process"]["capabilities"] = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                                          "permitted": ["CAP_KILL"]}

    cid = husk.new_id()
    b = husk.bundle(["sleep", "1000"], mutate)
    fake = os.path.join(b, "rootfs", "proc", "sys", "kernel")
    os.makedirs(fake)
    with open(os.path.join(fake, "cap_last_cap"), "w") as f:
        f.write("0\n")
    husk.cmd("run", "-d", "-b", b, cid, check=True)
    assert proc_status(husk.state(cid)["pid"])["CapBnd"] == mask(["CAP_KILL"])


def test_unknown_capability_is_an_error_naming_the_field(husk):
    err = failed_create(husk, lambda c: c["process"]["capabilities"].update(effective=["CAP_KILL", "CAP_BOGUS"]))
    assert "process.capabilities.effective[1]" in err and "CAP_BOGUS" in err


def test_a_capability_husk_lacks_is_an_error_naming_it(husk):
    if int(proc_status(os.getpid())["CapPrm"], 16) & (1 << 24):
        pytest.skip("this host gives root CAP_SYS_RESOURCE")
    err = failed_create(husk, lambda c: c["process"]["capabilities"].update(
        permitted=["CAP_KILL", "CAP_SYS_RESOURCE"], bounding=["CAP_KILL", "CAP_SYS_RESOURCE"]))
    assert "process.capabilities" in err and "CAP_SYS_RESOURCE" in err, err


# --- no_new_privs ---------------------------------------------------------------------------

@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(husk, nnp):
    _, pid = started(husk, ["sleep", "1000"], lambda c: c["process"].update(noNewPrivileges=nnp))
    assert proc_status(pid)["NoNewPrivs"] == ("1" if nnp else "0")


# --- seccomp --------------------------------------------------------------------------------

def allow_all_but(rules):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_errno_returns_the_configured_errno(husk, nnp):
    prof = allow_all_but([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                          {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"},
                          {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"}])
    b = husk.bundle(["sh", "-c", "mkdir /tmp/x; rmdir /tmp; echo done"], with_seccomp(prof, nnp))
    r = husk.run_output(b)
    assert r.returncode == 0, r.stderr
    assert "Invalid cross-device link" in r.stderr  # EXDEV, 18
    assert "Operation not permitted" in r.stderr  # errnoRet defaults to EPERM
    assert "done" in r.stdout


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD"])
def test_seccomp_kill_ends_the_process_with_sigsys(husk, action):
    b = husk.bundle(["mkdir", "/tmp/x"], with_seccomp(allow_all_but([{"names": ["mkdir", "mkdirat"], "action": action}])))
    r = husk.run_output(b)
    assert r.returncode == 128 + 31, (r.returncode, r.stderr)


def test_seccomp_trap_sends_sigsys_and_log_allows(husk):
    b = husk.bundle(["mkdir", "/tmp/x"], with_seccomp(allow_all_but([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRAP"}])))
    assert husk.run_output(b).returncode == 128 + 31
    b = husk.bundle(["sh", "-c", "cat /proc/self/status >/dev/null && echo logged"],
                    with_seccomp(allow_all_but([{"names": ["read"], "action": "SCMP_ACT_LOG"}])))
    assert husk.run_output(b).stdout == "logged\n"


def test_seccomp_flags_supported_here_are_accepted(husk):
    feats = json.loads(husk.cmd("features", root=False, check=True).stdout)["linux"]["seccomp"]
    assert {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"} <= set(feats["supportedFlags"])
    prof = allow_all_but([{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}])
    prof["flags"] = feats["supportedFlags"]
    b = husk.bundle(["sh", "-c", "rmdir /tmp || echo refused"], with_seccomp(prof))
    r = husk.run_output(b)
    assert (r.returncode, r.stdout) == (0, "refused\n"), r.stderr
    for flag in set(feats["knownFlags"]) - set(feats["supportedFlags"]):
        prof["flags"] = [flag]
        assert f"{flag} is not supported" in failed_create(husk, with_seccomp(prof))


def test_features_reports_security(husk):
    f = json.loads(husk.cmd("features", root=False, check=True).stdout)["linux"]
    assert "CAP_SYS_ADMIN" in f["capabilities"] and "CAP_CHOWN" in f["capabilities"]
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        assert len(f["capabilities"]) == int(fh.read()) + 1
    assert f["seccomp"]["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in f["seccomp"]["actions"] and "SCMP_CMP_MASKED_EQ" in f["seccomp"]["operators"]
    assert "SCMP_ARCH_X86_64" in f["seccomp"]["archs"]
    assert f["apparmor"]["enabled"] == os.path.exists("/sys/kernel/security/apparmor")
    assert f["selinux"]["enabled"] == os.path.exists("/sys/fs/selinux/enforce")


def test_seccomp_argument_conditions(husk):
    # kill(pid, 0) is refused; kill(pid, SIGCONT) passes. MASKED_EQ: (sig & 0xff) == 0.
    prof = allow_all_but([{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                           "args": [{"index": 1, "value": 0xFF, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}])
    b = husk.bundle(["sh", "-c", "kill -0 $$ && echo zero-ok; kill -CONT $$ && echo cont-ok"], with_seccomp(prof))
    r = husk.run_output(b)
    assert "cont-ok" in r.stdout and "zero-ok" not in r.stdout, (r.stdout, r.stderr)


def test_seccomp_default_deny_profile_runs_a_shell(husk):
    script = "echo hello; ls / >/dev/null && echo listed; cat /proc/self/status | grep -q Seccomp && echo read; renice -n 5 -p $$ >/dev/null || echo denied"
    b = husk.bundle(["sh", "-c", script], with_seccomp(seccomp_profile.profile(), nnp=True))
    r = husk.run_output(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["hello", "listed", "read", "denied"], (r.stdout, r.stderr)
    assert "Operation not permitted" in r.stderr  # setpriority is not in the profile


def test_seccomp_default_deny_profile_without_no_new_privs(husk):
    # Loaded before the user switch, the filter also sees husk's last steps; older profiles
    # lack close_range, which husk then does without.
    prof = seccomp_profile.profile()
    prof["syscalls"][0]["names"] = [n for n in prof["syscalls"][0]["names"] if n != "close_range"]
    b = husk.bundle(["sh", "-c", "echo hello"], with_seccomp(prof, nnp=False))
    r = husk.run_output(b)
    assert (r.returncode, r.stdout) == (0, "hello\n"), r.stderr


# Syscalls from clone3 (435) on, x86-64 numbering: newer than the profile below once removed.
NEWER_THAN_PIDFD_OPEN = set("""clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise
epoll_pwait2 mount_setattr quotactl_fd landlock_create_ruleset landlock_add_rule
landlock_restrict_self memfd_secret process_mrelease futex_waitv set_mempolicy_home_node
cachestat fchmodat2 map_shadow_stack futex_wake futex_wait futex_requeue statmount listmount
lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal""".split())

PROBE = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static const char *name(long r) { return r == 0 ? "OK" : errno == ENOSYS ? "ENOSYS" : errno == EPERM ? "EPERM" : strerror(errno); }
int main(void) {
    printf("faccessat2 %s\n", name(syscall(439, AT_FDCWD, "/", F_OK, 0)));
    printf("acct %s\n", name(syscall(SYS_acct, NULL)));
    /* Newer than libseccomp 2.5.4 knows (cachestat, 451), and no syscall at all. */
    printf("cachestat %s\n", name(syscall(451, -1, NULL, NULL, 0)));
    printf("nr-1000 %s\n", name(syscall(1000)));
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is needed to build the probe program")
def test_seccomp_syscalls_newer_than_the_profile_get_enosys(husk, tmp_path):
    """As runc: under a default-deny profile, a syscall newer than any the profile names fails
    with ENOSYS (a C library then falls back), libseccomp knowing it or not, while an old one it
    leaves out gets the default errno (EPERM)."""
    src = tmp_path / "probe.c"
    src.write_text(PROBE)
    probe = tmp_path / "probe"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(probe), str(src)], check=True, capture_output=True)
    prof = seccomp_profile.profile()
    for rule in prof["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n not in NEWER_THAN_PIDFD_OPEN]
    prof["syscalls"] = [rule for rule in prof["syscalls"] if rule["names"]]
    assert not any("acct" == n for rule in prof["syscalls"] for n in rule["names"])
    b = husk.bundle(["/probe"], with_seccomp(prof, nnp=True))
    shutil.copy(probe, os.path.join(b, "rootfs", "probe"))
    r = husk.run_output(b)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["faccessat2 ENOSYS", "acct EPERM", "cachestat ENOSYS", "nr-1000 ENOSYS"], r.stdout
    # A profile that allows by default is left alone: the newer syscall runs.
    b = husk.bundle(["/probe"], with_seccomp(allow_all_but([{"names": ["acct"], "action": "SCMP_ACT_ERRNO"}])))
    shutil.copy(probe, os.path.join(b, "rootfs", "probe"))
    r = husk.run_output(b)
    assert r.stdout.split("\n")[:2] == ["faccessat2 OK", "acct EPERM"], (r.stdout, r.stderr)


def test_seccomp_filter_is_visible_in_proc_status(husk):
    _, pid = started(husk, ["sleep", "1000"], with_seccomp(allow_all_but([{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}])))
    assert proc_status(pid)["Seccomp"] == "2"
    assert proc_status(pid)["Seccomp_filters"] == "1"


@pytest.mark.parametrize("change,field", [
    ({"architectures": ["SCMP_ARCH_NOPE"]}, "linux.seccomp.architectures[0]"),
    ({"flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}, "linux.seccomp.flags[0]"),
    ({"defaultAction": "SCMP_ACT_MAYBE"}, "linux.seccomp.defaultAction"),
    ({"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}, "index"),
    ({"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO",
                    "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]}, "op"),
    ({"syscalls": [{"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}], "listenerPath": "/nonexistent/sock"},
     "linux.seccomp.listenerPath"),
])
def test_seccomp_bad_profiles_are_refused(husk, change, field):
    prof = allow_all_but([])
    prof.update(change)
    err = failed_create(husk, with_seccomp(prof))
    assert field in err, err


def test_seccomp_listener_that_refuses_is_an_error(husk, tmp_path):
    path = str(tmp_path / "refusing.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens: connect is refused
    prof = allow_all_but([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}])
    prof["listenerPath"] = path
    err = failed_create(husk, with_seccomp(prof))
    assert "linux.seccomp.listenerPath" in err and "refused" in err, err


# struct seccomp_notif (80 bytes) and seccomp_notif_resp (24 bytes), <linux/seccomp.h>
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101


class Notif(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("pid", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("nr", ctypes.c_int32), ("arch", ctypes.c_uint32), ("ip", ctypes.c_uint64),
                ("args", ctypes.c_uint64 * 6)]


class NotifResp(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("val", ctypes.c_int64), ("error", ctypes.c_int32),
                ("flags", ctypes.c_uint32)]


def seccomp_agent(path, got, connections=1):
    """Accepts husk's connections (one per process that loads the filter), keeps each message,
    and answers one notification on the last fd with success (val 0) without doing anything."""
    libc = ctypes.CDLL(None, use_errno=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(connections)
    srv.settimeout(20)

    def serve():
        kept = []
        try:
            got["msgs"], got["nfds"] = [], []
            for _ in range(connections):
                conn, _ = srv.accept()
                msg, fds, _, _ = socket.recv_fds(conn, 65536, 4)
                got["msgs"].append(json.loads(msg))
                got["nfds"].append(len(fds))
                kept += fds
                conn.close()
            got["msg"] = got["msgs"][-1]
            n = Notif()
            if libc.ioctl(kept[-1], NOTIF_RECV, ctypes.byref(n)) != 0:
                got["error"] = os.strerror(ctypes.get_errno())
                return
            resp = NotifResp(id=n.id, val=0, error=0, flags=0)
            if libc.ioctl(kept[-1], NOTIF_SEND, ctypes.byref(resp)) != 0:
                got["error"] = os.strerror(ctypes.get_errno())
        except Exception as e:  # reported by the test thread
            got["error"] = repr(e)
        finally:
            for fd in kept:
                os.close(fd)
            srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_notify_agent_gets_fd_and_answers(husk, tmp_path, nnp):
    path = str(tmp_path / "agent.sock")
    got = {}
    agent = seccomp_agent(path, got)
    prof = allow_all_but([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}])
    prof.update(listenerPath=path, listenerMetadata="hello-agent")
    # The agent says "success" but creates nothing: mkdir succeeds and the directory is absent.
    b = husk.bundle(["sh", "-c", "mkdir /tmp/n && echo made; test -d /tmp/n || echo absent"], with_seccomp(prof, nnp))
    cid = husk.new_id()
    r = husk.run_output(b, cid=cid)
    agent.join(10)
    assert "error" not in got, got
    assert r.stdout.split() == ["made", "absent"], (r.stdout, r.stderr)
    m = got["msg"]
    assert got["nfds"] == [1]
    assert m["fds"] == ["seccompFd"] and m["metadata"] == "hello-agent" and m["ociVersion"]
    assert m["state"]["id"] == cid and m["state"]["pid"] == m["pid"] and m["pid"] > 0
    assert m["state"]["status"] == "creating"


# --- scheduling, I/O priority, affinity, personality, memory policy --------------------------

def test_scheduler_policy_and_nice(husk):
    _, pid = started(husk, ["sleep", "1000"],
                     lambda c: c["process"].update(scheduler={"policy": "SCHED_BATCH", "nice": 7}))
    with open(f"/proc/{pid}/sched") as f:
        policy = [l for l in f if l.startswith("policy")][0]
    assert policy.split(":")[1].strip() == "3"  # SCHED_BATCH
    with open(f"/proc/{pid}/stat") as f:
        assert f.read().rsplit(")", 1)[1].split()[16] == "7"  # field 19: nice


def test_io_priority(husk):
    _, pid = started(husk, ["sleep", "1000"],
                     lambda c: c["process"].update(ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6}))
    libc = ctypes.CDLL(None, use_errno=True)
    SYS_ioprio_get = 252  # x86_64
    prio = libc.syscall(SYS_ioprio_get, 1, pid)  # IOPRIO_WHO_PROCESS
    assert (prio >> 13, prio & 0xFF) == (2, 6)


def all_cpus():
    with open("/sys/devices/system/cpu/online") as f:
        return f.read().strip()


def test_exec_cpu_affinity_does_not_apply_to_init(husk):
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    _, pid = started(husk, ["sleep", "1000"],
                     lambda c: c["process"].update(execCPUAffinity={"initial": "0", "final": "1"}))
    assert proc_status(pid)["Cpus_allowed_list"] == all_cpus()


def test_a_narrow_cpu_mask_of_the_caller_is_not_inherited(husk):
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    b = husk.bundle(["sh", "-c", "grep Cpus_allowed_list /proc/self/status"])
    r = husk.cmd("run", "-b", b, husk.new_id(), preexec_fn=lambda: os.sched_setaffinity(0, {0}))
    assert r.stdout.split() == ["Cpus_allowed_list:", all_cpus()], (r.stdout, r.stderr)


def test_bad_cpu_list_is_refused(husk):
    err = failed_create(husk, lambda c: c["process"].update(execCPUAffinity={"final": "0-x"}))
    assert "process.execCPUAffinity.final" in err


def test_personality_linux32(husk):
    _, pid = started(husk, ["sleep", "1000"], lambda c: c["linux"].update(personality={"domain": "LINUX32"}))
    with open(f"/proc/{pid}/personality") as f:
        assert int(f.read(), 16) == 0x0008
    b = husk.bundle(["uname", "-m"], lambda c: c["linux"].update(personality={"domain": "LINUX32"}))
    assert husk.run_output(b).stdout.strip() in ("i686", "i386")


def test_memory_policy_bind(husk):
    if not os.path.exists("/sys/devices/system/node/node0"):
        pytest.skip("no NUMA nodes on this host")
    _, pid = started(husk, ["sleep", "1000"],
                     lambda c: c["linux"].update(memoryPolicy={"mode": "MPOL_BIND", "nodes": "0"}))
    with open(f"/proc/{pid}/numa_maps") as f:
        assert "bind:0" in f.read()


def test_bad_memory_policy_is_refused(husk):
    err = failed_create(husk, lambda c: c["linux"].update(memoryPolicy={"mode": "MPOL_SOMETIMES", "nodes": "0"}))
    assert "linux.memoryPolicy.mode" in err


def test_intel_rdt_without_resctrl_is_refused(husk):
    if os.path.exists("/sys/fs/resctrl/schemata"):
        pytest.skip("resctrl is mounted here")
    err = failed_create(husk, lambda c: c["linux"].update(intelRdt={"closID": "x"}))
    assert "linux.intelRdt" in err


# --- netDevices -----------------------------------------------------------------------------

@pytest.fixture
def dummy_link():
    """A host interface to move: a dummy, or one end of a veth pair where there is no dummy
    driver. Whatever remains on the host afterwards is deleted."""
    if not shutil.which("ip"):
        pytest.skip("the ip command (iproute2) is not installed")
    name = "hsk" + os.urandom(4).hex()
    peer = name + "p"
    made = [name]
    if subprocess.run(["ip", "link", "add", name, "type", "dummy"], capture_output=True).returncode != 0:
        if subprocess.run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer],
                          capture_output=True).returncode != 0:
            pytest.skip("cannot create a dummy or veth interface here")
        made.append(peer)
    yield name
    for n in made:
        if os.path.exists(f"/sys/class/net/{n}"):
            subprocess.run(["ip", "link", "del", n], capture_output=True)


def test_net_device_is_moved_and_renamed_with_its_addresses(husk, dummy_link):
    subprocess.run(["ip", "addr", "add", "10.199.7.5/24", "dev", dummy_link], check=True)
    subprocess.run(["ip", "addr", "add", "fd00:199::5/64", "dev", dummy_link, "nodad"], check=True)
    subprocess.run(["ip", "link", "set", dummy_link, "up"], check=True)

    def mutate(cfg):
        cfg["linux"]["netDevices"] = {dummy_link: {"name": "ctr0"}}
    _, pid = started(husk, ["sleep", "1000"], mutate)
    with open(f"/proc/{pid}/net/dev") as f:
        names = [l.split(":")[0].strip() for l in f.readlines()[2:]]
    assert "ctr0" in names and dummy_link not in names
    assert not os.path.exists(f"/sys/class/net/{dummy_link}")
    out = subprocess.run(["nsenter", "-t", str(pid), "-n", "ip", "addr", "show", "ctr0"],
                         capture_output=True, text=True, check=True).stdout
    assert "10.199.7.5/24" in out and "fd00:199::5/64" in out, out
    assert ",UP" in out.splitlines()[0], out


def test_missing_net_device_is_refused(husk):
    err = failed_create(husk, lambda c: c["linux"].update(netDevices={"hsknothere0": {"name": "eth1"}}))
    assert "linux.netDevices.hsknothere0" in err


# --- LSM ------------------------------------------------------------------------------------

def test_selinux_label_without_selinux_is_refused(husk):
    if os.path.exists("/sys/fs/selinux/enforce"):
        pytest.skip("SELinux is enabled here")
    err = failed_create(husk, lambda c: c["process"].update(selinuxLabel="system_u:system_r:container_t:s0"))
    assert "process.selinuxLabel" in err


def test_apparmor_profile_without_apparmor_is_ignored(husk):
    if os.path.exists("/sys/module/apparmor/parameters/enabled"):
        pytest.skip("AppArmor is present here")
    b = husk.bundle(["sh", "-c", "echo ok"], lambda c: c["process"].update(apparmorProfile="husk-test"))
    r = husk.run_output(b)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr


# --- exec gets the same settings --------------------------------------------------------------

def test_exec_runs_under_the_containers_seccomp_profile(husk):
    prof = allow_all_but([{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}])
    cid, _ = started(husk, ["sleep", "1000"], with_seccomp(prof, nnp=True))
    r = husk.cmd("exec", cid, "sh", "-c", "mkdir /tmp/x; grep Seccomp: /proc/self/status")
    assert "Invalid cross-device link" in r.stderr
    assert r.stdout.split() == ["Seccomp:", "2"]


def test_exec_notify_agent_gets_the_exec_process(husk, tmp_path):
    path = str(tmp_path / "agent.sock")
    got = {}
    agent = seccomp_agent(path, got, connections=2)
    prof = allow_all_but([{"names": ["rmdir"], "action": "SCMP_ACT_NOTIFY"}])
    prof.update(listenerPath=path, listenerMetadata="for-exec")
    # The first connection is init's (it never calls rmdir), the second the exec process's.
    cid, pid = started(husk, ["sleep", "1000"], with_seccomp(prof))
    r = husk.cmd("exec", cid, "sh", "-c", "rmdir /etc && echo removed; test -d /etc && echo still-there")
    agent.join(10)
    assert "error" not in got, got
    assert r.stdout.split() == ["removed", "still-there"], (r.stdout, r.stderr)
    assert got["nfds"] == [1, 1]
    assert got["msgs"][0]["pid"] == pid and got["msgs"][0]["state"]["status"] == "creating"
    m = got["msg"]
    assert m["metadata"] == "for-exec" and m["state"]["id"] == cid and m["state"]["pid"] == pid
    assert m["state"]["status"] == "running" and m["pid"] not in (0, pid)


def test_exec_cpu_affinity_and_scheduler(husk, tmp_path):
    cid, _ = started(husk, ["sleep", "1000"], None)
    cpu = str(os.cpu_count() - 1)
    process = {"args": ["sleep", "100"], "cwd": "/", "env": ["PATH=/bin:/usr/bin"],
               "user": {"uid": 0, "gid": 0},
               "execCPUAffinity": {"initial": "0", "final": cpu},
               "scheduler": {"policy": "SCHED_IDLE"}, "ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 0}}
    (tmp_path / "p.json").write_text(json.dumps(process))
    r = husk.cmd("exec", "-d", "--pid-file", tmp_path / "pid", "--process", tmp_path / "p.json", cid)
    assert r.returncode == 0, r.stderr
    epid = int((tmp_path / "pid").read_text())
    assert proc_status(epid)["Cpus_allowed_list"] == cpu
    with open(f"/proc/{epid}/sched") as f:
        assert [l for l in f if l.startswith("policy")][0].split(":")[1].strip() == "5"  # SCHED_IDLE
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(252, 1, epid) >> 13 == 3  # IOPRIO_CLASS_IDLE


@pytest.mark.parametrize("nnp", [True, False])
def test_seccomp_and_capabilities_in_a_user_namespace(husk, nnp):
    def mutate(cfg):
        cfg["linux"]["namespaces"].append({"type": "user"})
        # Identity mapping: the bundle under a 0700 pytest dir stays reachable.
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        cfg["linux"]["seccomp"] = allow_all_but([{"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}])
        cfg["process"]["noNewPrivileges"] = nnp
        cfg["process"]["capabilities"] = {k: ["CAP_KILL", "CAP_CHOWN"] for k in
                                          ("bounding", "effective", "permitted", "inheritable", "ambient")}
    b = husk.bundle(["sh", "-c", "rmdir /tmp; grep -E '^(CapEff|Uid)' /proc/self/status; cat /proc/self/uid_map"], mutate)
    r = husk.run_output(b)
    assert r.returncode == 0, r.stderr
    assert "Invalid cross-device link" in r.stderr
    assert r.stdout.split() == ["Uid:", "0", "0", "0", "0", "CapEff:", mask(["CAP_KILL", "CAP_CHOWN"]),
                                "0", "0", "65536"], r.stdout
