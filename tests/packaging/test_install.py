"""Installing: `meson install --destdir` puts the binaries, man pages and completion where they
belong, and `dpkg-buildpackage` builds the .debs with all of them in Debian's places.

The .deb build is a full build of its own (a few minutes on 2 cores); HUSK_SKIP_DEB=1 skips it
for a quick local run. Run by tests/run-all.sh.
"""
import glob
import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HUSK_BUILD_DIR", os.path.join(REPO, "build"))
HUSK = os.environ.get("HUSK", os.path.join(BUILD, "runtime", "husk"))


def commands():
    out = subprocess.run([HUSK, "--help"], capture_output=True, text=True, check=True).stdout
    block = out.split("COMMANDS:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if not line.split()[0].startswith("help")]


def has_shim():
    return os.path.exists(os.path.join(BUILD, "shim", "containerd-shim-husk-v2"))


def test_meson_install_destdir(tmp_path):
    r = subprocess.run(["meson", "install", "-C", BUILD, "--no-rebuild", "--destdir", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", BUILD, "--buildoptions"], capture_output=True, text=True, check=True).stdout)}
    prefix = opts["prefix"]

    def under(*parts):
        return os.path.join(str(tmp_path) + prefix, *parts)

    expected = [under(opts["bindir"], "husk"), under(opts["mandir"], "man8", "husk.8")]
    expected += [under(opts["mandir"], "man8", f"husk-{c}.8") for c in commands()]
    expected += [under(opts["datadir"], "bash-completion", "completions", "husk"),
                 under(opts["datadir"], "zsh", "vendor-completions" if prefix == "/usr" else "site-functions", "_husk"),
                 under(opts["datadir"], "fish", "vendor_completions.d", "husk.fish")]
    if has_shim():
        expected += [under(opts["bindir"], "containerd-shim-husk-v2"),
                     under(opts["mandir"], "man8", "containerd-shim-husk-v2.8")]
    missing = [p for p in expected if not os.path.isfile(p)]
    assert not missing, missing
    assert os.access(under(opts["bindir"], "husk"), os.X_OK)
    # The installed page has its version filled in.
    assert "@VERSION@" not in open(under(opts["mandir"], "man8", "husk.8")).read()


def test_debian_package_builds_with_binaries_man_pages_and_completion(tmp_path):
    if os.environ.get("HUSK_SKIP_DEB") == "1":
        pytest.skip("HUSK_SKIP_DEB=1")
    # Build from a copy of the tree (tracked and untracked files, not build outputs): dpkg-buildpackage
    # writes into the source tree and puts the .debs beside it.
    src = tmp_path / "husk"
    src.mkdir()
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "-co", "--exclude-standard"],
                           capture_output=True, check=True).stdout
    subprocess.run(["tar", "-C", REPO, "--null", "-T", "-", "-cf", str(tmp_path / "src.tar")], input=files,
                   check=True)
    subprocess.run(["tar", "-C", str(src), "-xf", str(tmp_path / "src.tar")], check=True)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs parallel=2")
    r = subprocess.run(["nice", "dpkg-buildpackage", "-b", "-us", "-uc", "-Pnocheck"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-6000:]

    def contents(package):
        debs = glob.glob(str(tmp_path / f"{package}_*.deb"))
        assert len(debs) == 1, os.listdir(tmp_path)
        out = subprocess.run(["dpkg", "-c", debs[0]], capture_output=True, text=True, check=True).stdout
        return debs[0], {line.split()[-1].lstrip(".") for line in out.splitlines()}

    deb, paths = contents("husk")
    expected = ["/usr/bin/husk", "/usr/share/man/man8/husk.8.gz",
                "/usr/share/bash-completion/completions/husk", "/usr/share/zsh/vendor-completions/_husk",
                "/usr/share/fish/vendor_completions.d/husk.fish", "/usr/share/doc/husk/copyright"]
    expected += [f"/usr/share/man/man8/husk-{c}.8.gz" for c in commands()]
    assert not [p for p in expected if p not in paths], sorted(paths)
    assert subprocess.run(["dpkg-deb", "-f", deb, "Built-Using"], capture_output=True, text=True,
                          check=True).stdout.strip()
    # The packaged binary runs.
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", deb, str(root)], check=True)
    v = subprocess.run([str(root / "usr/bin/husk"), "--version"], capture_output=True, text=True, check=True)
    assert v.stdout.startswith("husk version ")

    _, paths = contents("husk-containerd-shim")
    expected = ["/usr/bin/containerd-shim-husk-v2", "/usr/bin/containerd-shim-husk-v2-grpc",
                "/usr/share/man/man8/containerd-shim-husk-v2.8.gz"]
    assert not [p for p in expected if p not in paths], sorted(paths)
