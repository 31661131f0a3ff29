// husk: the command line. Global flags, then one command; errors are reported here, once.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "common/error.hpp"
#include "husk_version.h"
#include "runtime/container/kernel.hpp"
#include "common/log.hpp"

int main(int argc, char** argv) {
    using namespace husk;
    using namespace husk::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    Globals g;
    GlobalFlags gf;
    std::string command;  // for the pointer to help in usage errors
    try {
        // Global flags come before the command name.
        Args ga({});
        add_global_flags(ga, g, gf);
        size_t cmd = 0;
        std::vector<std::string> globals;
        while (cmd < args.size() && args[cmd].size() > 1 && args[cmd][0] == '-') {
            globals.push_back(args[cmd]);
            std::string name = args[cmd].substr(args[cmd][1] == '-' ? 2 : 1);
            if (name.find('=') == std::string::npos && ga.takes_value(name) && ++cmd < args.size())
                globals.push_back(args[cmd]);
            ++cmd;
        }
        ga = Args(globals);
        add_global_flags(ga, g, gf);
        ga.parse();
        if (g.log_format != "text" && g.log_format != "json")
            throw UsageError("--log-format: invalid format \"" + g.log_format + "\" (text or json)");
        log::configure(g.log, g.log_format == "json" ? log::Format::Json : log::Format::Text, g.debug);
        if (gf.version || (cmd < args.size() && args[cmd] == "version")) {
            std::fputs(version_text().c_str(), stdout);
            return 0;
        }
        // `husk help CMD` is `husk CMD --help`, as in runc.
        if (cmd + 1 < args.size() && (args[cmd] == "help" || args[cmd] == "h")) {
            args.erase(args.begin() + static_cast<long>(cmd));
            args.resize(cmd + 1);
            args.push_back("--help");
        }
        if (ga.help() || cmd >= args.size() || args[cmd] == "help" || args[cmd] == "h") {
            std::fputs(global_help().c_str(), stdout);
            return cmd >= args.size() && !ga.help() ? 1 : 0;
        }
        if (g.rootless != "auto" && g.rootless != "true" && g.rootless != "false")
            throw UsageError("--rootless: invalid value \"" + g.rootless + "\" (auto, true or false)");
        // As runc: a user other than root keeps its state in $XDG_RUNTIME_DIR.
        const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        if (!gf.root.empty()) g.root = gf.root;
        else if (::geteuid() != 0 && xdg && *xdg) g.root = std::string(xdg) + "/husk";
        for (const auto& c : commands()) {
            if (args[cmd] != c.name) continue;
            command = c.name;
            std::vector<std::string> rest(args.begin() + static_cast<long>(cmd) + 1, args.end());
            if (log::debugging()) {
                std::string line = "husk " HUSK_VERSION ": " + args[cmd];
                for (const auto& r : rest) line += " " + r;
                log::debug(line);
            }
            // One uname(); --help still works on a kernel that is too old.
            bool help = std::find_if(rest.begin(), rest.end(), [](const std::string& s) {
                            return s == "--help" || s == "-help" || s == "-h";
                        }) != rest.end();
            if (c.needs_kernel && !help) kernel::require_supported();
            return c.run(g, std::move(rest));
        }
        throw UsageError("no such command \"" + args[cmd] + "\"");
    } catch (const UsageError& e) {
        log::error(usage_error_message(e.what(), command));
        return 1;
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
}
