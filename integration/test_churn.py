"""Churn: many containers made and removed in a row and 4 at a time, with run, create/start/
kill/delete and exec mixed, must leave the host as it found it (bench/churn.sh does 1000)."""
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

from conftest import HUSK


def snapshot(husk):
    """What of ours the host holds (other tests may run beside this one: only ours counts)."""
    prefix = f"churn-{os.getpid()}-"
    with open("/proc/self/mountinfo") as f:
        mounts = sum(1 for line in f if husk.bundle_base in line or prefix in line)
    cgroups = [d for c in os.listdir("/sys/fs/cgroup") if os.path.isdir(os.path.join("/sys/fs/cgroup", c))
               for d in os.listdir(os.path.join("/sys/fs/cgroup", c)) if d.startswith(prefix)]
    return {"mounts": mounts, "cgroups": cgroups, "our fds": len(os.listdir("/proc/self/fd")),
            "state dirs": os.listdir(husk.root) if os.path.isdir(husk.root) else []}


def one(husk, bundle, i):
    """The i-th container's life: three kinds in turn."""
    cid = f"churn-{os.getpid()}-{i}"
    husk.ids.append(cid)  # the fixture deletes whatever a failure leaves

    def h(*args):
        # A file, not a pipe, for stderr: a detached container keeps what it inherits open.
        with tempfile.TemporaryFile("w+") as err:
            r = subprocess.run([HUSK, "--root", husk.root] + list(args), stdout=subprocess.DEVNULL, stderr=err,
                               timeout=60)
            err.seek(0)
            assert r.returncode == 0, f"{' '.join(args)}: {err.read()}"

    if i % 3 == 0:
        h("run", "-b", bundle, cid)
    elif i % 3 == 1:
        h("create", "-b", bundle, cid)
        h("start", cid)
        h("kill", cid, "KILL")
        h("delete", "-f", cid)
    else:
        h("run", "-d", "-b", bundle, cid)
        h("exec", cid, "true")
        h("delete", "-f", cid)


def test_churn_leaves_nothing(husk):
    b_true = husk.bundle(["true"])
    b_sleep = husk.bundle(["sleep", "100"])
    before = snapshot(husk)
    for i in range(30):
        one(husk, b_true if i % 3 == 0 else b_sleep, i)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: one(husk, b_true if i % 3 == 0 else b_sleep, i), range(30, 90)))
    after = snapshot(husk)
    assert after == before
    leftover = subprocess.run(["pgrep", "-f", f"churn-{os.getpid()}-"], capture_output=True, text=True).stdout
    assert not leftover.strip(), leftover
