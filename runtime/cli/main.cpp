// husk: the command line. Global flags, then one command; errors are reported here, once.
#include <seccomp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cctype>
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

int cmd_checkpoint(const Globals&, std::vector<std::string>);
int cmd_restore(const Globals&, std::vector<std::string>);

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
    {"checkpoint", cmd_checkpoint, "checkpoint a running container (not supported)"},
    {"restore", cmd_restore, "restore a container from a previous checkpoint (not supported)"},
};

// checkpoint and restore exist, as in runc's command list, and say why they cannot run.
int cmd_no_criu(const char* name) {
    throw Error(std::string(name) + ": not supported on this build/host: husk has no checkpoint/restore (CRIU) support");
}
int cmd_checkpoint(const Globals&, std::vector<std::string>) { return cmd_no_criu("checkpoint"); }
int cmd_restore(const Globals&, std::vector<std::string>) { return cmd_no_criu("restore"); }

// The version block, first line "husk version X" as tools that read `runc --version` expect.
std::string version_lines() {
    const scmp_version* v = seccomp_version();
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s\ncommit: %s\nspec: %s\nlibseccomp: %u.%u.%u\n", HUSK_VERSION, HUSK_COMMIT,
                  spec::kSpecVersion, v->major, v->minor, v->micro);
    return buf;
}

// In runc's (urfave/cli) layout, which tools parse: NAME, USAGE, VERSION, then COMMANDS with
// one "   name  summary" line each, then GLOBAL OPTIONS.
void print_help() {
    std::printf(
        "NAME:\n   husk - an OCI container runtime with runc's command line\n\n"
        "USAGE:\n   husk [global options] command [command options] [arguments...]\n\n"
        "VERSION:\n   %s\nCOMMANDS:\n",
        version_lines().c_str());
    for (const auto& c : kCommands) std::printf("   %-10s  %s\n", c.name, c.summary);
    std::printf("   %-10s  %s\n", "help, h", "Shows a list of commands or help for one command");
    std::printf(
        "\nGLOBAL OPTIONS:\n"
        "   --debug                     enable debug logging\n"
        "   --log value                 set the log file to write husk logs to (default: stderr with --debug)\n"
        "   --log-format value          set the log format ('text' (default), or 'json')\n"
        "   --root value                root directory for storage of container state (default: \"/run/husk\")\n"
        "   --systemd-cgroup            use the systemd cgroup driver (not supported yet)\n"
        "   --rootless value            ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")\n"
        "   --help, -h                  show help\n"
        "   --version, -v               print the version\n");
}

void print_version() { std::printf("husk version %s", version_lines().c_str()); }

}  // namespace

int print_usage(const char* usage, const char* summary) {
    // runc's layout: NAME ("husk start - ...") and USAGE.
    std::string name = usage;
    name = name.substr(0, name.find(' '));
    std::string text = summary;
    if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    if (!text.empty() && text.back() == '.') text.pop_back();
    std::printf("NAME:\n   husk %s - %s\n\nUSAGE:\n   husk %s\n", name.c_str(), text.c_str(), usage);
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
        if (version || (cmd < args.size() && args[cmd] == "version")) {
            print_version();
            return 0;
        }
        // `husk help CMD` is `husk CMD --help`, as in runc.
        if (cmd + 1 < args.size() && (args[cmd] == "help" || args[cmd] == "h")) {
            args.erase(args.begin() + static_cast<long>(cmd));
            args.resize(cmd + 1);
            args.push_back("--help");
        }
        if (ga.help() || cmd >= args.size() || args[cmd] == "help" || args[cmd] == "h") {
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
