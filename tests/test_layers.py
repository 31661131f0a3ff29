"""The tree's layers, checked from the #include lines: each folder may include only itself and
the layers below it (common -> spec -> runtime/cgroups -> runtime/container -> runtime/cli;
the freestanding exec stub includes nothing else, and the container layer shares its wire
bytes; the shim stands on common alone). An include is resolved as the compiler does: beside the
including file first, then from the top of the tree."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# folder -> the folders its files may include from (besides system and generated headers).
ALLOWED = {
    "common": {"common"},
    "spec": {"spec", "common"},
    "runtime/cgroups": {"runtime/cgroups", "spec", "common"},
    "runtime/container": {"runtime/container", "runtime/cgroups", "runtime/exec_stub", "spec", "common"},
    "runtime/cli": {"runtime/cli", "runtime/container", "runtime/cgroups", "runtime/exec_stub", "spec", "common"},
    "runtime/exec_stub": {"runtime/exec_stub"},
    "shim": {"shim", "common"},
}
# Written by the build (protobuf, the version header, the embedded exec stub).
GENERATED = re.compile(r"(\.pb\.h|husk_version\.h|exec_stub_image\.hpp)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    out = subprocess.check_output(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard"], text=True)
    return [f for f in out.split() if f.endswith((".cpp", ".hpp", ".h"))]


def layer_of(path):
    for folder in sorted(ALLOWED, key=len, reverse=True):
        if path.startswith(folder + "/"):
            return folder
    return None


def resolve(including, inc):
    beside = os.path.normpath(os.path.join(os.path.dirname(including), inc))
    if os.path.exists(os.path.join(ROOT, beside)):
        return beside
    if os.path.exists(os.path.join(ROOT, inc)):
        return inc
    return None


def violations(folder):
    found = []
    for f in sources():
        if layer_of(f) != folder:
            continue
        with open(os.path.join(ROOT, f), encoding="utf-8") as fh:
            text = fh.read()
        for inc in INCLUDE.findall(text):
            if GENERATED.search(inc):
                continue
            target = resolve(f, inc)
            if target is None:
                found.append(f'{f}: "{inc}" is not a file of the tree')
            elif layer_of(target) not in ALLOWED[folder]:
                found.append(f'{f}: "{inc}" is in {layer_of(target)}, above or beside {folder}')
    return found


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_folder_includes_only_its_own_layer_and_those_below(folder):
    assert violations(folder) == []


def test_every_source_file_belongs_to_a_layer():
    loose = [f for f in sources() if layer_of(f) is None and not f.startswith(("tests/", "integration/", "bench/"))]
    assert loose == []


def test_an_upward_include_is_reported(tmp_path, monkeypatch):
    # The check itself: a common/ file that reaches into the container library is caught.
    for d in ("common", "runtime/container"):
        (tmp_path / d).mkdir(parents=True)
    (tmp_path / "runtime/container/init.hpp").write_text("#pragma once\n")
    (tmp_path / "common/fs.cpp").write_text('#include "runtime/container/init.hpp"\n')
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.setattr(__import__(__name__), "ROOT", str(tmp_path))
    assert violations("common") == ['common/fs.cpp: "runtime/container/init.hpp" is in runtime/container, above or beside common']
