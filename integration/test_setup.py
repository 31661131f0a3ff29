"""Container setup read from outside: namespaces, rootfs, mounts, devices, process settings."""
import json
import os
import shutil
import stat
import subprocess

import pytest

from conftest import HUSK, host_mount_line, host_mounts_under, peer_group, proc_status, read_config, wait_for, write_config


def ns_inode(pid, name):
    return os.stat(f"/proc/{pid}/ns/{name}").st_ino


def run_detached(husk, args, mutate=None):
    cid = husk.new_id()
    b = husk.bundle(args, mutate)
    husk.cmd("run", "-d", "-b", b, cid, check=True)
    return cid, husk.state(cid)["pid"], b


def output(husk, script, mutate=None):
    r = husk.run_output(husk.bundle(["sh", "-c", script], mutate))
    assert r.returncode == 0, r.stderr
    return r.stdout


def assert_refused(husk, mutate, *words):
    """create with this config change fails with exit 1, names the problem, leaves nothing."""
    cid = husk.new_id()
    r = husk.cmd("create", "-b", husk.bundle(["true"], mutate), cid)
    assert r.returncode == 1, r.stderr
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    assert husk.state(cid) is None


def test_every_namespace_is_new(husk):
    def all_ns(cfg):
        cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup", "time")]

    cid, pid, _ = run_detached(husk, ["sleep", "100"], all_ns)
    for name in ("pid", "net", "ipc", "uts", "mnt", "cgroup", "time"):
        assert ns_inode(pid, name) != ns_inode("self", name), name
    assert proc_status(pid)["NSpid"].split()[-1] == "1"


def test_network_namespace_joined_by_path(husk):
    if not shutil.which("ip"):
        pytest.skip("the ip command (iproute2) is not installed")
    name = f"husk-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        def join(cfg):
            for n in cfg["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = f"/run/netns/{name}"

        cid, pid, _ = run_detached(husk, ["sleep", "100"], join)
        assert ns_inode(pid, "net") == os.stat(f"/run/netns/{name}").st_ino
        husk.cmd("delete", "-f", cid, check=True)
    finally:
        subprocess.run(["ip", "netns", "delete", name])


def test_namespace_path_of_the_wrong_type_is_an_error(husk):
    def wrong(cfg):
        for n in cfg["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = "/proc/self/ns/uts"

    assert_refused(husk, wrong, "is not a network namespace")


def new_userns(cfg):
    """A user namespace of its own: container root is host uid 100000, gid 200000."""
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    cfg["linux"].pop("resources", None)


def userns_bundle(husk, args, mutate):
    """A bundle whose path the mapped root can reach (tmp dirs are 0700)."""
    b = husk.bundle(args, mutate)
    d = b
    while d != "/tmp":
        os.chmod(d, 0o755)
        d = os.path.dirname(d)
    return b


def test_user_namespace_mappings(husk):
    cid = husk.new_id()
    husk.cmd("run", "-d", "-b", userns_bundle(husk, ["sleep", "100"], new_userns), cid, check=True)
    pid = husk.state(cid)["pid"]
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "100000", "65536"]
    with open(f"/proc/{pid}/gid_map") as f:
        assert f.read().split() == ["0", "200000", "65536"]
    assert proc_status(pid)["Uid"].split()[0] == "100000"
    assert ns_inode(pid, "user") != ns_inode("self", "user")


def test_joining_a_user_namespace_by_path_with_new_namespaces(husk):
    """Namespaces belong to the user namespace they are made in: a container joining another's
    user namespace gets mount, pid, net, ipc and uts namespaces owned by it, so its root there
    can mount /proc, set the hostname and make its rootfs (this failed with EPERM before)."""
    first = husk.new_id()
    husk.cmd("run", "-d", "-b", userns_bundle(husk, ["sleep", "100"], new_userns), first, check=True)
    owner = husk.state(first)["pid"]

    def join(cfg):
        cfg["linux"]["namespaces"].append({"type": "user", "path": f"/proc/{owner}/ns/user"})
        cfg["linux"].pop("resources", None)
        cfg["hostname"] = "joined"

    second = husk.new_id()
    husk.cmd("run", "-d", "-b", userns_bundle(husk, ["sleep", "100"], join), second, check=True)
    pid = husk.state(second)["pid"]
    assert ns_inode(pid, "user") == ns_inode(owner, "user")
    for kind in ("mnt", "pid", "net", "ipc", "uts"):
        assert ns_inode(pid, kind) != ns_inode(owner, kind) != ns_inode("self", kind)
    # Root of the joined namespace (its mapping: host uid 100000), not an unmapped host root.
    assert proc_status(pid)["Uid"].split()[0] == "100000"
    r = husk.cmd("exec", second, "sh", "-c", "hostname; mount | grep -c '^proc on /proc type proc'")
    assert r.returncode == 0 and r.stdout.split() == ["joined", "1"], (r.stdout, r.stderr)
    husk.cmd("delete", "-f", second, check=True)

    # Joining its pid namespace too (a pod sharing one): init is numbered there by clone3, but
    # the state must hold its pid as the host sees it.
    def join_pid(cfg):
        join(cfg)
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
        cfg["linux"]["namespaces"].append({"type": "pid", "path": f"/proc/{owner}/ns/pid"})

    third = husk.new_id()
    husk.cmd("run", "-d", "-b", userns_bundle(husk, ["sleep", "100"], join_pid), third, check=True)
    pid = husk.state(third)["pid"]
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
    assert ns_inode(pid, "pid") == ns_inode(owner, "pid")
    assert proc_status(pid)["NSpid"].split()[0] == str(pid)
    husk.cmd("delete", "-f", third, check=True)
    husk.cmd("delete", "-f", first, check=True)


def test_read_only_rootfs_rejects_writes(husk):
    r = husk.run_output(husk.bundle(["sh", "-c", "touch /newfile"]))
    assert r.returncode != 0 and "Read-only file system" in r.stderr


def test_writable_rootfs(husk):
    def rw(cfg):
        cfg["root"]["readonly"] = False

    b = husk.bundle(["sh", "-c", "echo hi > /written"], rw)
    assert husk.run_output(b).returncode == 0
    assert open(os.path.join(b, "rootfs", "written")).read() == "hi\n"


def test_masked_and_readonly_paths(husk):
    out = output(husk, "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; "
                       "echo 1 > /proc/sys/kernel/domainname && echo wrote || echo denied")
    lines = out.split()
    assert lines == ["0", "0", "denied"]


def test_default_devices_and_links(husk):
    out = output(husk, "stat -c '%n|%F|%t:%T|%a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty;"
                       " readlink /dev/fd; readlink /dev/stdin; readlink /dev/ptmx")
    lines = out.splitlines()
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
            "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    for line in lines[:6]:
        name, kind, dev, mode = line.split("|")
        assert kind == "character special file"
        hexmaj, hexmin = dev.split(":")
        assert f"{int(hexmaj, 16)}:{int(hexmin, 16)}" == want[name]
        assert mode == "666"
    assert lines[6:] == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]


def test_linux_devices(husk):
    def dev(cfg):
        cfg["linux"]["devices"] = [{"type": "c", "path": "/dev/mynull", "major": 1, "minor": 3,
                                    "fileMode": 0o666, "uid": 1, "gid": 2}]

    out = output(husk, "stat -c '%F %t:%T %a %u %g' /dev/mynull; echo x > /dev/mynull && echo ok", dev)
    assert out.split("\n")[0] == "character special file 1:3 666 1 2"
    assert out.split("\n")[1] == "ok"


def test_process_user_groups_umask_rlimits_cwd_env(husk):
    def proc(cfg):
        cfg["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 7], "umask": 0o077}
        cfg["process"]["cwd"] = "/tmp"
        cfg["process"]["env"].append("FOO=bar baz")
        cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                     {"type": "RLIMIT_NPROC", "soft": 77, "hard": 88}]

    out = output(husk, "id -u; id -g; id -G; umask; ulimit -n; ulimit -Hn; ulimit -u; pwd; echo $FOO; echo $HOME", proc)
    assert out.splitlines() == ["1000", "1001", "1001 5 7", "0077", "123", "456", "77", "/tmp", "bar baz", "/"]


def test_home_comes_from_passwd(husk):
    assert output(husk, "echo $HOME").strip() == "/root"


def test_hostname_domainname_sysctl_oom_score(husk):
    def cfg_(cfg):
        cfg["hostname"] = "boxy"
        cfg["domainname"] = "example.org"
        cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234"}
        cfg["process"]["oomScoreAdj"] = 321

    out = output(husk, "hostname; cat /proc/sys/kernel/domainname; cat /proc/sys/net/ipv4/ip_forward; "
                       "cat /proc/sys/kernel/shmmni; cat /proc/self/oom_score_adj", cfg_)
    assert out.split() == ["boxy", "example.org", "1", "1234", "321"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() != "1234"


def test_sysctl_of_the_host_namespace_is_refused(husk):
    def bad(cfg):
        cfg["linux"]["sysctl"] = {"vm.swappiness": "10"}

    cid = husk.new_id()
    r = husk.cmd("create", "-b", husk.bundle(["true"], bad), cid)
    assert r.returncode == 1 and "linux.sysctl" in r.stderr and "vm.swappiness" in r.stderr


def test_mounts_with_options(husk, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "file").write_text("from host\n")

    def mounts(cfg):
        cfg["mounts"] += [
            {"destination": "/data", "type": "bind", "source": str(src), "options": ["bind", "ro"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]},
            {"destination": "/deep/new/dir", "type": "tmpfs", "source": "tmpfs"},
        ]

    out = output(husk, "cat /data/file; (echo x > /data/new) 2>/dev/null && echo rw || echo ro; "
                       "stat -c %a /scratch; grep ' /scratch ' /proc/self/mounts; ls -d /deep/new/dir", mounts)
    lines = out.splitlines()
    assert lines[0] == "from host"
    assert lines[1] == "ro"
    assert lines[2] == "700"
    assert "noexec" in lines[3] and "size=1024k" in lines[3]
    assert lines[4] == "/deep/new/dir"
    assert not (src / "new").exists()


def rshared_bind(source):
    """docker -v SRC:/shared:rshared as a bundle says it, and the right to mount inside."""
    def mutate(cfg):
        cfg["mounts"].append({"destination": "/shared", "type": "bind", "source": str(source),
                              "options": ["rshared", "rw", "rbind"]})
        cfg["linux"]["rootfsPropagation"] = "shared"
        for s in ("bounding", "effective", "permitted"):
            cfg["process"]["capabilities"][s].append("CAP_SYS_ADMIN")
    return mutate


def test_rshared_bind_mount_reaches_the_host(husk, shared_host_dir):
    """Kubernetes' Bidirectional propagation: a mount made in the container below an rshared
    bind appears on the host, because the bind is a peer of the host's mount (not its slave)."""
    src = shared_host_dir("src")
    out = output(husk, "mkdir /shared/inner && mount -t tmpfs from-container /shared/inner && "
                       "grep ' /shared ' /proc/self/mountinfo", rshared_bind(src))
    assert peer_group(out) and peer_group(out) == peer_group(host_mount_line(src)), out
    assert host_mounts_under(src) == [f"{src}/inner"]
    assert host_mount_line(f"{src}/inner").split(" - ")[1].split()[1] == "from-container"


def mount_ids(mountinfo):
    return {line.split()[0]: line for line in mountinfo.splitlines()}


@pytest.mark.parametrize("own_mount", [False, True], ids=["bundle-in-root", "bundle-mounted"])
@pytest.mark.parametrize("flags", [[], ["--no-pivot"]], ids=["pivot", "no-pivot"])
def test_on_a_host_with_a_shared_root_only_the_rshared_bind_propagates(husk, tmp_path, flags, own_mount):
    """systemd makes the host's / shared. There (a mount namespace of this test, made so) the
    container's own mounts (rootfs bind, /proc, /dev ...) must stay in it, with pivot_root or
    --no-pivot, and with the bundle in / or on a mount of its own (as an overlay rootfs is),
    while the rshared bind still carries the container's mount out."""
    src = tmp_path / "src"
    src.mkdir()
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "mkdir /shared/inner && mount -t tmpfs from-container /shared/inner"],
                    rshared_bind(src))
    run = " ".join([HUSK, "--root", husk.root, "run", *flags, "-b", b, cid])
    script = (f"mount -t tmpfs host-src {src} && mount --make-shared {src} && "
              + (f"mount --bind {b} {b} && " if own_mount else "") + "cat /proc/self/mountinfo && "
              f"echo --- && {run} && echo --- && cat /proc/self/mountinfo")
    r = subprocess.run(["unshare", "--mount", "--propagation", "shared", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    before, _, after = r.stdout.split("---\n")
    new = [line for i, line in mount_ids(after).items() if i not in mount_ids(before)]
    assert [line.split()[4] for line in new] == [f"{src}/inner"], new


def test_mount_destination_symlink_cannot_escape_the_rootfs(husk, tmp_path):
    """A symlink in the image pointing at a host path must resolve inside the rootfs."""
    outside = tmp_path / "outside"
    outside.mkdir()

    def mounts(cfg):
        cfg["root"]["readonly"] = False
        cfg["mounts"].append({"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs"})

    b = husk.bundle(["sh", "-c", "echo inside > /evil/sub/marker; true"], mounts)
    os.symlink(str(outside), os.path.join(b, "rootfs", "evil"))
    r = husk.run_output(b)
    assert r.returncode == 0, r.stderr
    assert not (outside / "sub").exists()
    assert os.path.isdir(os.path.join(b, "rootfs", str(outside).lstrip("/"), "sub"))


def test_mount_over_proc_files_is_refused(husk):
    def bad(cfg):
        cfg["mounts"].append({"destination": "/proc/self/attr/current", "type": "bind", "source": "/etc/hostname",
                              "options": ["bind"]})

    assert_refused(husk, bad, "/proc")


def test_only_stdio_and_preserved_fds_reach_the_container(husk):
    out = output(husk, "ls /proc/self/fd | sort -n | tr '\\n' ' '")
    # 0 1 2 and the fd ls itself uses for the directory
    assert out.split() == ["0", "1", "2", "3"]


def test_preserve_fds(husk, tmp_path):
    f = tmp_path / "passed"
    f.write_text("through fd 3\n")
    cid = husk.new_id()
    b = husk.bundle(["sh", "-c", "cat <&3"])
    with open(f) as fd3:
        os.dup2(fd3.fileno(), 100)
    try:
        r = subprocess.run([HUSK, "--root", husk.root, "run", "--preserve-fds", "1", "-b", b, cid],
                           pass_fds=(3,), preexec_fn=lambda: os.dup2(100, 3), capture_output=True, text=True,
                           timeout=30)
    finally:
        os.close(100)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "through fd 3\n"


def test_without_namespaces_the_host_ones_are_shared_and_mounts_are_undone(husk):
    def no_ns(cfg):
        cfg["linux"]["namespaces"] = []
        cfg["hostname"] = ""
        cfg["linux"]["maskedPaths"] = []
        cfg["linux"]["readonlyPaths"] = []

    cid, pid, b = run_detached(husk, ["sleep", "100"], no_ns)
    for name in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert ns_inode(pid, name) == ns_inode("self", name), name
    assert os.readlink(f"/proc/{pid}/root") == os.path.join(b, "rootfs")
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(b, "rootfs", "proc") in f.read()
    husk.cmd("delete", "-f", cid, check=True)
    with open("/proc/self/mountinfo") as f:
        assert os.path.join(b, "rootfs") not in f.read()


def test_idmapped_bind_mount(husk, tmp_path):
    src = tmp_path / "owned"
    src.mkdir()
    (src / "f").write_text("x")
    os.chown(src / "f", 1000, 1000)

    def idmapped(cfg):
        cfg["mounts"].append({"destination": "/idm", "type": "bind", "source": str(src), "options": ["bind"],
                              "uidMappings": [{"containerID": 0, "hostID": 5000, "size": 2000}],
                              "gidMappings": [{"containerID": 0, "hostID": 6000, "size": 2000}]})
        cfg["mounts"].append({"destination": "/plain", "type": "bind", "source": str(src), "options": ["bind"]})

    out = output(husk, "stat -c '%u %g' /idm/f; stat -c '%u %g' /plain/f", idmapped)
    # On disk 1000 is shown through the mapping 0->5000 as 6000/7000.
    assert out.splitlines() == ["6000 7000", "1000 1000"]


def test_idmap_option_needs_mappings(husk):
    def bad(cfg):
        cfg["mounts"].append({"destination": "/idm", "type": "bind", "source": "/tmp", "options": ["bind", "idmap"]})

    assert_refused(husk, bad, "idmapped mount needs mappings")


def test_time_namespace_offsets(husk):
    def timens(cfg):
        cfg["linux"]["namespaces"].append({"type": "time"})
        cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 864000, "nanosecs": 0},
                                       "monotonic": {"secs": 3600, "nanosecs": 0}}

    with open("/proc/uptime") as f:
        host = float(f.read().split()[0])
    inside = float(output(husk, "cut -d' ' -f1 /proc/uptime", timens))
    assert 864000 <= inside - host < 864000 + 60


@pytest.mark.parametrize("waits_in", ["stub", "husk"])
def test_a_waiting_init_does_not_expose_the_husk_binary(husk, waits_in):
    """CVE-2019-5736: a process sharing the pid namespace must not reach husk's binary through
    /proc/<init>/exe while init waits for start. Init waits in the exec stub (its exe the sealed
    stub: that may be read, not written), or with startContainer hooks to run after the wait,
    in husk's image, which is not dumpable: its exe cannot be opened."""
    cid = husk.new_id()
    b = husk.bundle(["sleep", "100"])
    if waits_in == "husk":
        cfg = read_config(b)
        cfg["hooks"] = {"startContainer": [{"path": "/bin/true"}]}
        write_config(b, cfg)
    husk.cmd("create", "-b", b, cid, check=True)
    pid = husk.state(cid)["pid"]

    def join_pid_ns(cfg):
        for n in cfg["linux"]["namespaces"]:
            if n["type"] == "pid":
                n["path"] = f"/proc/{pid}/ns/pid"

    script = ("if n=$(wc -c < /proc/1/exe); then echo read $n; else echo denied; fi; "
              "{ echo x >> /proc/1/exe; } 2>/dev/null && echo WROTE || echo unwritable")
    r = husk.run_output(husk.bundle(["sh", "-c", script], join_pid_ns))
    read, written = r.stdout.split("\n")[:2]
    assert written == "unwritable", r.stdout + r.stderr
    if waits_in == "husk":
        assert read == "denied", r.stdout + r.stderr
    else:
        assert read == "denied" or int(read.split()[1]) < 64 * 1024, r.stdout  # the stub, not husk


def test_an_exec_process_does_not_expose_the_husk_binary(husk):
    """The same for `husk exec`: its process is husk's image until it execs (the sealed exec stub,
    /memfd:husk-exec, may be seen: it is the process's own copy and cannot be written)."""
    cid, pid, _ = run_detached(husk, ["sleep", "100"])
    # The exec'd shell looks at every other process's exe while further execs come and go.
    script = ("i=0; while [ $i -lt 200 ]; do for p in /proc/[0-9]*; do "
              "[ \"$p\" = /proc/$$ ] && continue; "
              "l=$(readlink $p/exe 2>/dev/null); case \"$l\" in /memfd:husk-exec*) ;; *husk*) echo LEAK $l; exit 1;; esac; done; "
              "i=$((i+1)); done; echo clean")
    watcher = subprocess.Popen([HUSK, "--root", husk.root, "exec", cid, "sh", "-c", script],
                               stdout=subprocess.PIPE, text=True)
    for _ in range(30):
        husk.cmd("exec", cid, "true")
    out, _ = watcher.communicate(timeout=60)
    assert out.strip().endswith("clean"), out


def test_proc_through_a_symlink_is_refused(husk):
    cid = husk.new_id()
    b = husk.bundle(["true"])
    proc = os.path.join(b, "rootfs", "proc")
    os.rmdir(proc)
    os.makedirs(os.path.join(b, "rootfs", "fakeproc"))
    os.symlink("/fakeproc", proc)
    r = husk.cmd("create", "-b", b, cid)
    assert r.returncode == 1 and "/proc" in r.stderr and "symlink" in r.stderr
    assert husk.state(cid) is None
