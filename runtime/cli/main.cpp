// husk: the command line. Global flags, then one command; errors are reported here, once.
#include <seccomp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "config.hpp"
#include "error.hpp"
#include "husk_version.h"
#include "log.hpp"

namespace husk::cli {
namespace {

const CommandInfo kCommands[] = {
    {"create", cmd_create, "create a container"},
    {"start", cmd_start, "run the process of a created container"},
    {"run", cmd_run, "create and start a container"},
    {"exec", cmd_exec, "run a process in a running container"},
    {"state", cmd_state, "print the state of a container"},
    {"list", cmd_list, "list containers"},
    {"kill", cmd_kill, "send a signal to a container's init"},
    {"delete", cmd_delete, "delete a container"},
    {"pause", cmd_pause, "freeze a container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"update", cmd_update, "update a container's cgroup resources"},
    {"ps", cmd_ps, "list the processes of a container"},
    {"events", cmd_events, "print a container's resource usage and OOM events"},
    {"spec", cmd_spec, "write a default config.json"},
    {"features", cmd_features, "print the features husk supports"},
};

void print_help() {
    std::printf(
        "husk: an OCI container runtime with runc's command line\n\n"
        "Usage: husk [global options] COMMAND [options] [arguments]\n\nCommands:\n");
    for (const auto& c : kCommands) std::printf("  %-10s %s\n", c.name, c.summary);
    std::printf(
        "\nGlobal options:\n"
        "  --root DIR             state directory (default /run/husk)\n"
        "  --log FILE             log file (default: none; errors still go to stderr)\n"
        "  --log-format text|json log format (default text)\n"
        "  --debug                log debug messages\n"
        "  --systemd-cgroup       use the systemd cgroup driver (not supported yet)\n"
        "  --rootless auto|true|false\n"
        "  --version, -v          print the version\n"
        "  --help, -h             print this help\n");
}

void print_version() {
    const scmp_version* v = seccomp_version();
    std::printf("husk version %s\ncommit: %s\nspec: %s\nlibseccomp: %u.%u.%u\n", HUSK_VERSION, HUSK_COMMIT,
                spec::kSpecVersion, v->major, v->minor, v->micro);
}

}  // namespace

int print_usage(const char* usage, const char* summary) {
    std::printf("Usage: husk %s\n\n%s\n", usage, summary);
    return 0;
}

}  // namespace husk::cli

int main(int argc, char** argv) {
    using namespace husk;
    using namespace husk::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    Globals g;
    bool version = false;
    // Global flags come before the command name.
    size_t cmd = 0;
    std::vector<std::string> globals;
    while (cmd < args.size() && args[cmd].size() > 1 && args[cmd][0] == '-') {
        globals.push_back(args[cmd]);
        std::string name = args[cmd].substr(args[cmd][1] == '-' ? 2 : 1);
        bool takes_value = name == "root" || name == "log" || name == "log-format" || name == "rootless" ||
                           name == "criu";
        if (takes_value && ++cmd < args.size()) globals.push_back(args[cmd]);
        ++cmd;
    }
    try {
        std::string criu;
        Args ga(globals);
        std::string root_flag;
        ga.value({"root"}, &root_flag);
        ga.value({"log"}, &g.log);
        ga.value({"log-format"}, &g.log_format);
        ga.value({"rootless"}, &g.rootless);
        ga.value({"criu"}, &criu);
        ga.boolean({"debug"}, &g.debug);
        ga.boolean({"systemd-cgroup"}, &g.systemd_cgroup);
        ga.boolean({"version", "v"}, &version);
        ga.parse();
        if (g.log_format != "text" && g.log_format != "json")
            throw Error("--log-format: invalid format \"" + g.log_format + "\" (text or json)");
        log::configure(g.log, g.log_format == "json" ? log::Format::Json : log::Format::Text, g.debug);
        if (version) {
            print_version();
            return 0;
        }
        if (ga.help() || cmd >= args.size() || args[cmd] == "help") {
            print_help();
            return cmd >= args.size() && !ga.help() ? 1 : 0;
        }
        if (g.rootless != "auto" && g.rootless != "true" && g.rootless != "false")
            throw Error("--rootless: invalid value \"" + g.rootless + "\" (auto, true or false)");
        // As runc: a user other than root keeps its state in $XDG_RUNTIME_DIR.
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        if (!root_flag.empty()) g.root = root_flag;
        else if (::geteuid() != 0 && xdg && *xdg) g.root = std::string(xdg) + "/husk";
        for (const auto& c : kCommands) {
            if (args[cmd] != c.name) continue;
            std::vector<std::string> rest(args.begin() + static_cast<long>(cmd) + 1, args.end());
            if (log::debugging()) {
                std::string line = "husk " HUSK_VERSION ": " + args[cmd];
                for (const auto& r : rest) line += " " + r;
                log::debug(line);
            }
            return c.run(g, std::move(rest));
        }
        throw Error("no such command \"" + args[cmd] + "\"");
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
}
