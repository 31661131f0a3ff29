#!/usr/bin/python3
"""Benchmark 6: containerd-shim-husk-v2 against containerd-shim-runc-v2 under one private
containerd: resident memory per shim with 10 sleeping containers each, and the wall time of
`ctr run --rm IMAGE ID echo hi`. Everything it starts is torn down (integration/containerd_env)."""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(REPO, "integration"))
os.environ.setdefault("HUSK", os.path.join(REPO, "build", "runtime", "husk"))
from conftest import HUSK, wait_for  # noqa: E402
from containerd_env import Containerd, live_pids_mentioning  # noqa: E402
import oci_image  # noqa: E402

SHIM = os.environ.get("HUSK_SHIM", os.path.join(REPO, "build", "shim", "containerd-shim-husk-v2"))
IMAGE = "docker.io/library/husk-bench-busybox:latest"
SHIMS = {"husk": ("io.containerd.husk.v2", "containerd-shim-husk-v2"),
         "runc": ("io.containerd.runc.v2", "containerd-shim-runc-v2")}
N = int(os.environ.get("SHIM_CONTAINERS", "10"))
RUNS = int(os.environ.get("SHIM_RUNS", "20"))


def memory_kib(pid):
    """(VmRSS, Pss) of a process in KiB: RSS counts shared library pages in full, Pss shares them out."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/smaps_rollup") as f:
        pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    return rss, pss


def bench(c, name, ids):
    runtime, binary = SHIMS[name]
    mine = []
    for _ in range(N):
        ids.append(f"b{name}-{uuid.uuid4().hex[:8]}")
        mine.append(ids[-1])
        r = c.ctr("run", "-d", "--runtime", runtime, IMAGE, ids[-1], "sleep", "1000")
        if r.returncode != 0:
            raise RuntimeError(f"ctr run ({name}): {r.stderr}{c.read_log()}")
    time.sleep(1)  # let the Go shims' lazy start-up allocations settle before reading RSS
    pids = [p for p in live_pids_mentioning(binary) if f"-namespace {c.ns}" in open(f"/proc/{p}/cmdline").read().replace("\0", " ")]
    mem = [memory_kib(p) for p in pids]
    for i in mine:
        c.ctr("task", "kill", "-s", "SIGKILL", i)
        wait_for(lambda: c.ctr("task", "delete", i).returncode == 0, timeout=10)
        c.ctr("container", "delete", i)
    walls = []
    for _ in range(RUNS):
        ids.append(f"e{name}-{uuid.uuid4().hex[:8]}")
        t = time.perf_counter()
        r = c.ctr("run", "--rm", "--runtime", runtime, IMAGE, ids[-1], "echo", "hi")
        walls.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0 or r.stdout != "hi\n":
            raise RuntimeError(f"ctr run --rm ({name}): {r.stderr}")
    return {"shims": len(pids), "rss": sum(m[0] for m in mem) / max(len(pids), 1),
            "pss": sum(m[1] for m in mem) / max(len(pids), 1), "run_ms": statistics.mean(walls)}


def main():
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2", "runc"):
        if not shutil.which(tool):
            print(f"shim bench: {tool} not found, skipped")
            return 0
    if not os.path.exists(SHIM):
        print(f"shim bench: {SHIM} not built (meson -Dshim=true), skipped")
        return 0
    img = tempfile.mkdtemp(prefix="husk-bench-img-", dir="/tmp")
    c = Containerd(tempfile.mkdtemp(prefix="husk-bench-ctd-", dir="/tmp"), "huskbench" + uuid.uuid4().hex[:8])
    ids, res = [], {}
    try:
        subprocess.run([os.path.join(REPO, "integration", "mkbundle.sh"), img, "true"], check=True,
                       stdout=subprocess.DEVNULL)
        tar = oci_image.build_image_tar(os.path.join(img, "rootfs"), os.path.join(img, "image.tar"), IMAGE)
        c.start([os.path.dirname(SHIM), os.path.dirname(HUSK)])
        r = c.ctr("image", "import", tar)
        if r.returncode != 0:
            raise RuntimeError("image import: " + r.stderr)
        for name in SHIMS:
            res[name] = bench(c, name, ids)
    finally:
        left = c.teardown(ids)
        shutil.rmtree(img, ignore_errors=True)
        for what, items in left.items():
            if items:
                print(f"shim bench: {what} were left and have been removed: {items}", file=sys.stderr)
    print(f"== shim: {N} sleeping containers per shim kind; ctr run --rm echo, mean of {RUNS}")
    print("%-6s %6s %14s %14s %16s" % ("shim", "shims", "rss_kib/ctr", "pss_kib/ctr", "ctr_run_rm_ms"))
    for name, v in res.items():
        print("%-6s %6d %14.0f %14.0f %16.1f" % (name, v["shims"], v["rss"], v["pss"], v["run_ms"]))
    h, r = res["husk"], res["runc"]
    print(f"runc-v2/husk: rss {r['rss'] / h['rss']:.1f}x, pss {r['pss'] / h['pss']:.1f}x, "
          f"ctr run --rm {r['run_ms'] / h['run_ms']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
