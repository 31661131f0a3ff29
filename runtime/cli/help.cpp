// What husk says about itself: the command table, the global flags, `husk --help`, a
// command's --help and `husk --version`.
#include <seccomp.h>

#include <cstdio>

#include "args.hpp"
#include "commands.hpp"
#include "spec/config.hpp"
#include "husk_version.h"

namespace husk::cli {

const std::vector<CommandInfo>& commands() {
    static const std::vector<CommandInfo> table = {
        {"create", cmd_create, "create a container", true},
        {"start", cmd_start, "run the process of a created container", false},
        {"run", cmd_run, "create and start a container", true},
        {"exec", cmd_exec, "run a process in a running container", true},
        {"state", cmd_state, "print the state of a container", false},
        {"list", cmd_list, "list containers", false},
        {"kill", cmd_kill, "send a signal to a container's init", false},
        {"delete", cmd_delete, "delete a container", false},
        {"pause", cmd_pause, "freeze a container", false},
        {"resume", cmd_resume, "thaw a paused container", false},
        {"update", cmd_update, "update a container's cgroup resources", false},
        {"ps", cmd_ps, "list the processes of a container", false},
        {"events", cmd_events, "print a container's resource usage and OOM events", false},
        {"spec", cmd_spec, "write a default config.json", false},
        {"features", cmd_features, "print the features husk supports", false},
        {"checkpoint", cmd_checkpoint, "checkpoint a running container (not supported: no CRIU)", false},
        {"restore", cmd_restore, "restore a container from a checkpoint (not supported: no CRIU)", false},
    };
    return table;
}

void add_global_flags(Args& a, Globals& g, GlobalFlags& f) {
    a.value({"root"}, &f.root, "DIR", "state directory (default /run/husk; $XDG_RUNTIME_DIR/husk for other users)");
    a.value({"log"}, &g.log, "FILE", "append log messages to FILE (errors also go to stderr)");
    a.value({"log-format"}, &g.log_format, "FORMAT", "text or json (default text)");
    a.boolean({"debug"}, &g.debug, "log debug messages too");
    a.boolean({"systemd-cgroup"}, &g.systemd_cgroup,
              "make the container's cgroup a systemd unit (linux.cgroupsPath slice:prefix:name)");
    a.value({"rootless"}, &g.rootless, "MODE",
            "auto, true or false (default auto: rootless when not root, or root of a user namespace)");
    a.value({"criu"}, &f.criu, "PATH", "accepted for runc compatibility and ignored (no checkpoint/restore)");
    a.boolean({"version", "v"}, &f.version, "print the version, commit, library versions and features");
}

// In runc's (urfave/cli) layout, which tools parse: NAME, USAGE, VERSION, COMMANDS with one
// "   name  summary" line each, then GLOBAL OPTIONS.
std::string global_help() {
    std::string version = version_text();
    version = version.substr(version.find("version ") + 8);
    std::string s =
        "NAME:\n   husk - an OCI container runtime with runc's command line\n\n"
        "USAGE:\n   husk [global options] command [command options] [arguments...]\n\n"
        "VERSION:\n   " + version + "\nCOMMANDS:\n";
    char line[128];
    for (const auto& c : commands()) {
        std::snprintf(line, sizeof line, "   %-10s  %s\n", c.name, c.summary);
        s += line;
    }
    std::snprintf(line, sizeof line, "   %-10s  %s\n", "help, h", "show the commands, or the help of one (husk help COMMAND)");
    s += line;
    Globals g;
    GlobalFlags f;
    Args a({});
    add_global_flags(a, g, f);
    s += "\nGLOBAL OPTIONS:\n" + a.flag_help();
    s += "\nRun \"husk COMMAND --help\" for a command's options, \"man husk\" for more.\n";
    return s;
}

std::string version_text() {
    const scmp_version* v = seccomp_version();
    char lib[64];
    std::snprintf(lib, sizeof lib, "%u.%u.%u", v->major, v->minor, v->micro);
    // What this build can do whatever the host; `husk features` says what the host allows.
    return std::string("husk version ") + HUSK_VERSION + "\ncommit: " + HUSK_COMMIT + "\nspec: " +
           spec::kSpecVersion + "\nlibseccomp: " + lib + "\nlibcap-ng: " + HUSK_LIBCAPNG_VERSION +
           "\ncompiler: " + HUSK_COMPILER +
           "\nfeatures: +SECCOMP +SECCOMP-NOTIFY +CAP +APPARMOR +SELINUX +CGROUPV1 +CGROUPV2 +EBPF-DEVICES"
           " +IDMAPPED-MOUNTS +ROOTLESS +USERNS +SYSTEMD -CRIU -INTEL-RDT\n";
}

int print_usage(const Args& a, const char* usage, const char* summary) {
    std::fputs(usage_text(a, usage, summary).c_str(), stdout);
    return 0;
}

}  // namespace husk::cli
