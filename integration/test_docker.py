"""dockerd with husk added through --add-runtime (a private daemon: own data root, socket, no
bridge or iptables), as docker users switch runtimes."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import HUSK, REPO, host_mount_line, host_mounts_under, peer_group, wait_for


@pytest.fixture(scope="module")
def docker(tmp_path_factory):
    if not shutil.which("dockerd") or not os.path.exists("/usr/bin/docker"):
        pytest.skip("dockerd not installed (tests/install-deps.sh installs Debian's docker.io)")
    base = tempfile.mkdtemp(prefix="husk-docker-", dir="/tmp")
    existed = set(glob.glob("/sys/fs/cgroup/*/docker") + glob.glob("/sys/fs/cgroup/docker"))
    sock = f"unix://{base}/docker.sock"
    log = open(f"{base}/dockerd.log", "w")
    daemon = subprocess.Popen(
        ["dockerd", "--data-root", f"{base}/data", "--exec-root", f"{base}/exec", "--pidfile", f"{base}/pid",
         "-H", sock, "--bridge", "none", "--iptables=false", "--ip6tables=false", "--storage-driver", "vfs",
         "--add-runtime", f"husk={HUSK}"], stdout=log, stderr=log, start_new_session=True)

    def run(*args, timeout=60):
        return subprocess.run(["/usr/bin/docker", "-H", sock] + list(args), capture_output=True, text=True,
                              timeout=timeout)

    try:
        assert wait_for(lambda: run("version").returncode == 0, timeout=30), open(f"{base}/dockerd.log").read()[-3000:]
        img = tmp_path_factory.mktemp("docker-image")
        subprocess.run([os.path.join(REPO, "integration", "mkbundle.sh"), str(img)], check=True,
                       stdout=subprocess.DEVNULL, env=dict(os.environ, HUSK=HUSK))
        tar = f"{base}/rootfs.tar"
        subprocess.run(["tar", "-C", str(img / "rootfs"), "-cf", tar, "."], check=True)
        r = run("import", tar, "husk-busybox")
        assert r.returncode == 0, r.stderr
        yield run
    finally:
        run("rm", "-f", *run("ps", "-aq").stdout.split()) if daemon.poll() is None else None
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if base in l]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m])
        for d in set(glob.glob("/sys/fs/cgroup/*/docker") + glob.glob("/sys/fs/cgroup/docker")) - existed:
            try:
                os.rmdir(d)
            except OSError:
                pass
        shutil.rmtree(base, ignore_errors=True)
        assert not mounts, f"docker left mounts: {mounts}"


def test_docker_run_with_the_husk_runtime(docker):
    r = docker("run", "--rm", "--runtime", "husk", "--network", "none", "husk-busybox",
               "sh", "-c", "echo hi from docker; exit 5")
    assert r.returncode == 5, r.stderr
    assert r.stdout == "hi from docker\n"


def test_docker_detached_exec_and_rm(docker):
    r = docker("run", "-d", "--name", "husk-dk", "--runtime", "husk", "--network", "none", "husk-busybox",
               "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        cid = r.stdout.strip()
        r = docker("exec", "husk-dk", "sh", "-c", "echo exec-ok; hostname")
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == ["exec-ok", cid[:12]]
        assert docker("inspect", "-f", "{{.HostConfig.Runtime}}", "husk-dk").stdout.strip() == "husk"
    finally:
        assert docker("rm", "-f", "husk-dk").returncode == 0


def test_docker_rshared_volume_reaches_the_host(docker, shared_host_dir):
    """-v SRC:DST:rshared: a mount made in the container appears on the host."""
    src = shared_host_dir("src")
    r = docker("run", "--rm", "--runtime", "husk", "--network", "none", "--cap-add", "SYS_ADMIN",
               "-v", f"{src}:/shared:rshared", "husk-busybox", "sh", "-c",
               "mkdir /shared/inner && mount -t tmpfs from-docker /shared/inner && grep ' /shared ' /proc/self/mountinfo")
    assert r.returncode == 0, r.stderr
    assert peer_group(r.stdout) and peer_group(r.stdout) == peer_group(host_mount_line(src)), r.stdout
    assert host_mounts_under(src) == [f"{src}/inner"]


@pytest.mark.parametrize("cmd,status", [("nosuchcmd", 127), ("/no/such/file", 127), ("/etc/passwd", 126), ("/bin", 126)])
def test_docker_status_of_a_command_that_cannot_run(docker, cmd, status):
    """docker run reads 127 (not found) or 126 (cannot be invoked) from the runtime's error
    text; docker exec (20.10) gives 126 for any exec that fails to start, with runc too."""
    r = docker("run", "--rm", "--runtime", "husk", "--network", "none", "husk-busybox", cmd)
    assert r.returncode == status, r.stderr
    r = docker("run", "-d", "--name", "husk-dk-exec", "--runtime", "husk", "--network", "none", "husk-busybox",
               "sleep", "1000")
    assert r.returncode == 0, r.stderr
    try:
        r = docker("exec", "husk-dk-exec", cmd)
        assert r.returncode == 126, r.stdout + r.stderr
        assert f'"{cmd}"' in r.stdout
    finally:
        docker("rm", "-f", "husk-dk-exec")
