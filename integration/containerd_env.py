"""A private containerd 1.6 (own root, state and socket, no CRI) for the shim tests and bench/:
start it with a PATH that finds the shims, drive it with ctr, and tear down everything it made."""
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile

from conftest import wait_for


def live_pids_mentioning(text):
    """Non-zombie processes whose command line mentions `text`."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            found.append(int(pid))
    return found


class Containerd:
    def __init__(self, base, ns):
        self.base = base
        self.ns = ns
        self.sock = os.path.join(base, "c.sock")
        self.proc = None

    def start(self, path_dirs):
        cfg = os.path.join(self.base, "config.toml")
        with open(cfg, "w") as f:
            f.write(f'''version = 2
root = "{self.base}/root"
state = "{self.base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{self.sock}"
[debug]
  level = "debug"
''')
        env = dict(os.environ, PATH=":".join(path_dirs + ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
        self.log = open(os.path.join(self.base, "containerd.log"), "w")
        self.proc = subprocess.Popen(["containerd", "--config", cfg], stdout=self.log, stderr=self.log,
                                     env=env, start_new_session=True)
        ok = wait_for(lambda: os.path.exists(self.sock) and self.ctr("version").returncode == 0, timeout=20)
        assert ok, "containerd did not come up: " + self.read_log()

    def read_log(self):
        with open(os.path.join(self.base, "containerd.log")) as f:
            return f.read()[-4000:]

    def ctr(self, *args, timeout=60, input=None):
        argv = ["ctr", "--address", self.sock, "--namespace", self.ns] + [str(a) for a in args]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            p = subprocess.run(argv, stdout=out, stderr=err, text=True, timeout=timeout, input=input)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(argv, p.returncode, out.read(), err.read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()

    def teardown(self, task_ids):
        """Kills and deletes every task and container, stops containerd, then removes what any
        shim left behind (processes, mounts, cgroups, sockets of `task_ids`). Returns what was
        left, as a dict of lists, for the caller to judge."""
        for t in self.ctr("task", "ls", "-q").stdout.split() if self.proc else []:
            self.ctr("task", "kill", "-s", "SIGKILL", t)
            wait_for(lambda: self.ctr("task", "delete", t).returncode == 0, timeout=10)
        for ctr_id in self.ctr("container", "ls", "-q").stdout.split() if self.proc else []:
            self.ctr("container", "delete", ctr_id)
        self.stop()
        left = live_pids_mentioning(self.base)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if self.base in line]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        cgroups = []
        for ctrl in os.listdir("/sys/fs/cgroup"):
            d = os.path.join("/sys/fs/cgroup", ctrl, self.ns)
            if os.path.isdir(d):
                children = [e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))]
                cgroups += [os.path.join(d, e) for e in children]
                for e in children:
                    try:
                        os.rmdir(os.path.join(d, e))
                    except OSError:
                        pass
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        shutil.rmtree(self.base, ignore_errors=True)
        socks = [p for p in (f"/run/containerd/s/{hashlib.sha256(f'{self.sock}/{self.ns}/{i}'.encode()).hexdigest()}"
                             for i in task_ids) if os.path.exists(p)]
        for p in socks:
            os.unlink(p)
        for runtime in ("husk", "runc"):
            try:
                os.rmdir(f"/run/containerd/{runtime}/{self.ns}")
            except OSError:
                pass
        return {"shim processes": left, "mounts": mounts, "cgroups": cgroups, "shim sockets": socks}
