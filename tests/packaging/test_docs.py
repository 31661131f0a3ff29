"""Man pages and shell completion against the binary: every page renders with man -l without a
warning, and each command's page and completion know every flag its --help lists.

Run by tests/run-all.sh after the build; needs man-db, zsh and fish (tests/install-deps.sh).
"""
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HUSK_BUILD_DIR", os.path.join(REPO, "build"))
HUSK = os.environ.get("HUSK", os.path.join(BUILD, "runtime", "husk"))
COMPLETION = os.path.join(REPO, "completion")


def husk(*args):
    return subprocess.run([HUSK, *args], capture_output=True, text=True, check=True).stdout


def help_flags(text, heading):
    """[(spellings, takes_value)] from the lines under heading in a --help."""
    flags, inside = [], False
    for line in text.splitlines():
        if line == heading:
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            m = re.match(r"^\s+((?:-[A-Za-z], )?--[a-z0-9-]+(?:, --[a-z0-9-]+)?)( \S+)?\s{2,}\S", line)
            assert m, line
            flags.append((m.group(1).split(", "), m.group(2) is not None))
    return flags


def commands():
    text = husk("--help")
    block = text.split("COMMANDS:\n", 1)[1].split("\n\n", 1)[0]
    # runc's layout ends the list with "help, h": the help is no page of its own.
    return [line.split()[0] for line in block.splitlines() if not line.split()[0].startswith("help")]


COMMANDS = commands()
GLOBAL_FLAGS = help_flags(husk("--help"), "GLOBAL OPTIONS:")


def command_flags(cmd):
    return help_flags(husk(cmd, "--help"), "OPTIONS:")


def man_page(name):
    # meson configures the pages into the build tree (the version filled in).
    path = os.path.join(BUILD, "man", name)
    assert os.path.exists(path), f"{path} is not built"
    return path


def render(path):
    # MAN_DISABLE_SECCOMP: man-db's sandbox of groff fails in some containers; these are our files.
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8", MAN_KEEP_FORMATTING="", MAN_DISABLE_SECCOMP="1")
    r = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", f"{path}: {r.stderr}"
    # Plain text: no overstrike bold/underline, hyphens as typed.
    text = re.sub(".\b", "", r.stdout).replace("\u2010", "-").replace("\u2212", "-")
    assert "NAME" in text and "SYNOPSIS" in text
    return text


def documented_flags(text, section):
    """The flags of the item tags (.TP) in a rendered page's section: the lines indented by 7."""
    body = re.search(rf"^{section}\n(.*?)(?=^[A-Z][A-Z ]+$|\Z)", text, re.M | re.S)
    assert body, f"no {section} section"
    flags = set()
    for line in body.group(1).splitlines():
        if re.match(r"^ {7}-", line):
            flags |= set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", line))
    return flags


def spellings_of(flags):
    return {s for spellings, _ in flags for s in spellings}


@pytest.mark.parametrize("cmd", COMMANDS)
def test_man_page_of_each_command_lists_its_flags(cmd):
    text = render(man_page(f"husk-{cmd}.8"))
    assert f"husk-{cmd} - " in text
    assert documented_flags(text, "OPTIONS") == spellings_of(command_flags(cmd))


def test_husk_man_page_lists_global_flags_and_commands():
    text = render(man_page("husk.8"))
    assert documented_flags(text, "GLOBAL OPTIONS") == spellings_of(GLOBAL_FLAGS)
    for cmd in COMMANDS:
        assert f"husk-{cmd}(8)" in text
    assert "Linux 5.12" in text
    for ignored in ("--criu", "--systemd-cgroup"):
        assert ignored in text


def test_shim_man_page_renders():
    if not os.path.exists(os.path.join(BUILD, "shim")):
        pytest.skip("built without the shim")
    text = render(man_page("containerd-shim-husk-v2.8"))
    assert "io.containerd.husk.v2" in text and "BinaryName" in text


# --- completion ---------------------------------------------------------------------------------

def bash_complete(*words):
    """COMPREPLY of husk's bash completion for the command line `husk WORDS...` (the last word
    being completed)."""
    words = ["husk", *words]
    script = (
        f"source {COMPLETION}/husk.bash\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        "_husk\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":" + os.environ["PATH"])
    r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


def test_bash_completes_commands_and_global_flags():
    assert set(COMMANDS) <= bash_complete("")
    got = bash_complete("-")
    for spellings, _ in GLOBAL_FLAGS:
        assert set(spellings) <= got, spellings
    assert bash_complete("--log-format", "") == {"text", "json"}
    assert bash_complete("--root", "/tmp", "kill", "x", "SIGK") == {"SIGKILL"}


@pytest.mark.parametrize("cmd", COMMANDS)
def test_bash_completes_every_flag(cmd):
    got = bash_complete(cmd, "-")
    for spellings, _ in command_flags(cmd):
        assert set(spellings) <= got, f"bash completion of husk {cmd}: {spellings} missing from {sorted(got)}"


def test_bash_skips_flag_values():
    # After "-b DIR" the next word is the container id, not a flag value.
    assert bash_complete("--root", "/nonexistent", "run", "-b", "/tmp", "-") >= {"--keep", "--detach"}
    assert bash_complete("list", "--format", "") == {"table", "json"}


def fish_complete(line):
    fish = shutil.which("fish")
    if not fish:
        pytest.fail("fish is not installed (tests/install-deps.sh installs it)")
    env = dict(os.environ, PATH=os.path.dirname(HUSK) + ":" + os.environ["PATH"])
    r = subprocess.run([fish, "--no-config", "-c", f"source {COMPLETION}/husk.fish; complete -C'{line}'"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return {l.split("\t")[0] for l in r.stdout.splitlines()}


def test_fish_completes_commands_and_global_flags():
    assert set(COMMANDS) <= fish_complete("husk ")
    got = fish_complete("husk --")
    for spellings, _ in GLOBAL_FLAGS:
        assert {s for s in spellings if s.startswith("--")} <= got


@pytest.mark.parametrize("cmd", COMMANDS)
def test_fish_completes_every_flag(cmd):
    longs, shorts = fish_complete(f"husk {cmd} --"), fish_complete(f"husk {cmd} -")
    for spellings, _ in command_flags(cmd):
        for s in spellings:
            assert s in (longs if s.startswith("--") else shorts), f"fish completion of husk {cmd}: {s} missing"


def zsh_block(text, cmd):
    """The text of the case branch for cmd in _husk (with the create flags for create and run)."""
    m = re.search(rf"^\s+\(([a-z|]*\b{cmd}\b[a-z|]*)\)\n(.*?)^\s+;;", text, re.M | re.S)
    assert m, f"_husk has no branch for {cmd}"
    block = m.group(2)
    if cmd in ("create", "run"):
        block += text.split("local -a create_flags=(", 1)[1].split("\n      )", 1)[0]
    return block


# Types `husk LINE<TAB>` into an interactive zsh in a pseudo-terminal and prints what comes back
# up to the command line redrawn below the list (every list has the help flag's "print the help").
ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "stty rows 200 cols 250; PS1='> '; LISTMAX=10000; fpath=($1 \$fpath); path=($2 \$path)"
zpty -w z "autoload -U compinit; compinit -u -D; setopt nobeep"
zpty -w -n z "husk $3"$'\t'
zpty -r z out "*print the help*husk $3*"
print -r -- "$out"
zpty -d z
"""


def zsh_complete(tmp_path, line):
    """What zsh lists for `husk LINE<TAB>`, in a pseudo-terminal, with _husk from the tree."""
    zsh = shutil.which("zsh")
    if not zsh:
        pytest.fail("zsh is not installed (tests/install-deps.sh installs it)")
    driver = tmp_path / "complete.zsh"
    driver.write_text(ZSH_DRIVER)
    r = subprocess.run([zsh, "-f", str(driver), COMPLETION, os.path.dirname(HUSK), line],
                       capture_output=True, text=True, timeout=60)
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stdout + r.stderr)
    assert "_arguments:" not in out and "command not found" not in out, out
    return out


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c != "help"])
def test_zsh_completes_every_flag(cmd, tmp_path):
    out = zsh_complete(tmp_path, f"{cmd} -")
    offered = set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", out.split(f"husk {cmd} -", 1)[-1]))
    for spellings, _ in command_flags(cmd):
        for s in spellings:
            assert s in offered, f"zsh completion of husk {cmd}: {s} missing in:\n{out}"


def test_zsh_completion_parses_and_knows_every_flag():
    zsh = shutil.which("zsh")
    if not zsh:
        pytest.fail("zsh is not installed (tests/install-deps.sh installs it)")
    r = subprocess.run([zsh, "-n", os.path.join(COMPLETION, "_husk")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = open(os.path.join(COMPLETION, "_husk")).read()
    assert text.startswith("#compdef husk\n")
    for cmd in COMMANDS:
        block = zsh_block(text, cmd)
        for spellings, _ in command_flags(cmd):
            for s in spellings:
                if s in ("-h", "--help") and "$help" in block:
                    continue
                # --bundle=, {-b+,--bundle=}, '--keep[', '(-d --detach)--keep[' ...
                assert re.search(rf"[\s'{{,()]{re.escape(s)}[=+\[',}}]", block), f"_husk {cmd}: {s} missing"
    for spellings, _ in GLOBAL_FLAGS:
        for s in spellings:
            assert re.search(rf"[\s'{{,(]{re.escape(s)}[=+\[',}}]", text), f"_husk: global {s} missing"
