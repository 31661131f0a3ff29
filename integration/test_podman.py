"""podman (with conmon) driving husk through --runtime, as users switch runtimes there."""
import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import HUSK, REPO, host_mount_line, host_mounts_under, peer_group


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman/conmon not installed (tests/install-deps.sh installs them)")
    base = tempfile.mkdtemp(prefix="husk-podman-", dir="/tmp")
    # podman's own cgroups (cgroupfs manager): removed at the end if this test made them.
    podman_cgroups = [d for d in glob.glob("/sys/fs/cgroup/*/libpod_parent") + ["/sys/fs/cgroup/libpod_parent"]]
    existed = {d for d in podman_cgroups if os.path.isdir(d)}
    img = tmp_path_factory.mktemp("podman-image")
    subprocess.run([os.path.join(REPO, "integration", "mkbundle.sh"), str(img)], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ, HUSK=HUSK))
    tar = os.path.join(base, "rootfs.tar")
    subprocess.run(["tar", "-C", str(img / "rootfs"), "-cf", tar, "."], check=True)
    argv = ["podman", "--root", f"{base}/storage", "--runroot", f"{base}/run", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--storage-driver", "vfs", "--runtime", HUSK]

    def run(*args, timeout=60):
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout)

    r = run("import", tar, "localhost/husk-busybox:latest")
    assert r.returncode == 0, r.stderr
    try:
        yield run
    finally:
        run("rm", "-af", "-t", "0")
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if base in l]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m])
        shutil.rmtree(base, ignore_errors=True)
        for d in glob.glob("/sys/fs/cgroup/*/libpod_parent") + glob.glob("/sys/fs/cgroup/libpod_parent"):
            if d not in existed:
                for sub in ("conmon", ""):
                    try:
                        os.rmdir(os.path.join(d, sub) if sub else d)
                    except OSError:
                        pass
        assert not mounts, f"podman left mounts: {mounts}"


# Root here lacks CAP_SYS_RESOURCE: podman's default rlimits (1048576) fail with runc too.
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--network", "none"]


def test_podman_run_output_and_exit_status(podman):
    r = podman("run", "--rm", *LIMITS, "localhost/husk-busybox:latest", "sh", "-c", "echo hi from $(hostname -s | wc -c); exit 4")
    assert r.returncode == 4, r.stderr
    assert r.stdout.startswith("hi from")


def test_podman_detached_exec_and_stop(podman):
    r = podman("run", "-d", "--name", "husk-pm", *LIMITS, "localhost/husk-busybox:latest", "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        r = podman("exec", "husk-pm", "sh", "-c", "echo in-exec; cat /proc/1/cmdline")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("in-exec") and "sleep" in r.stdout
        assert "running" in podman("inspect", "-f", "{{.State.Status}}", "husk-pm").stdout
        assert podman("pause", "husk-pm").returncode == 0
        assert "paused" in podman("inspect", "-f", "{{.State.Status}}", "husk-pm").stdout
        assert podman("unpause", "husk-pm").returncode == 0
        assert podman("stop", "-t", "1", "husk-pm").returncode == 0
        assert "exited" in podman("inspect", "-f", "{{.State.Status}}", "husk-pm").stdout
    finally:
        podman("rm", "-f", "-t", "0", "husk-pm")


def test_podman_rshared_bind_mount_reaches_the_host(podman, shared_host_dir):
    """--mount bind-propagation=rshared: a mount made in the container appears on the host."""
    src = shared_host_dir("src")
    r = podman("run", "--rm", *LIMITS, "--cap-add", "SYS_ADMIN",
               "--mount", f"type=bind,src={src},dst=/shared,bind-propagation=rshared",
               "localhost/husk-busybox:latest", "sh", "-c",
               "mkdir /shared/inner && mount -t tmpfs from-podman /shared/inner && grep ' /shared ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    assert peer_group(r.stdout) and peer_group(r.stdout) == peer_group(host_mount_line(src)), r.stdout
    assert host_mounts_under(src) == [f"{src}/inner"]


@pytest.mark.parametrize("cmd,status", [("nosuchcmd", 127), ("/no/such/file", 127), ("/etc/passwd", 126), ("/bin", 126)])
def test_podman_status_of_a_command_that_cannot_run(podman, cmd, status):
    """podman reads 127 (not found) or 126 (cannot be invoked) from the runtime's error text."""
    r = podman("run", "--rm", *LIMITS, "localhost/husk-busybox:latest", cmd)
    assert r.returncode == status, r.stderr
    r = podman("run", "-d", "--name", "husk-pm-exec", *LIMITS, "localhost/husk-busybox:latest", "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        r = podman("exec", "husk-pm-exec", cmd)
        assert r.returncode == status, r.stderr
    finally:
        podman("rm", "-f", "-t", "0", "husk-pm-exec")
