// start, kill, delete, pause and resume: one container id each, no output on success.
#include "args.hpp"
#include "commands.hpp"
#include "runtime/container/container.hpp"
#include "common/error.hpp"
#include "common/proc.hpp"

#include <signal.h>

namespace husk::cli {

int cmd_start(const Globals& g, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "start CONTAINER-ID", "Run the process of a created container.");
    expect_args("start", pos, 1, 1);
    container::start(g.root, pos[0]);
    return 0;
}

int cmd_kill(const Globals& g, std::vector<std::string> argv) {
    bool all = false;
    Args a(std::move(argv));
    a.boolean({"all", "a"}, &all, "signal every process in the container's cgroup, not only init");
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "kill [options] CONTAINER-ID [SIGNAL]", "Send a signal (default SIGTERM) to the container.");
    expect_args("kill", pos, 1, 2);
    int sig = pos.size() == 2 ? proc::signal_number(pos[1]) : SIGTERM;
    container::kill(g.root, pos[0], sig, all);
    return 0;
}

int cmd_delete(const Globals& g, std::vector<std::string> argv) {
    bool force = false;
    Args a(std::move(argv));
    a.boolean({"force", "f"}, &force, "kill a running container first");
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "delete [options] CONTAINER-ID", "Delete a stopped container (-f: kill it first).");
    expect_args("delete", pos, 1, 1);
    container::remove(g.root, pos[0], force);
    return 0;
}

int cmd_pause(const Globals& g, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "pause CONTAINER-ID", "Freeze every process of the container.");
    expect_args("pause", pos, 1, 1);
    container::pause(g.root, pos[0]);
    return 0;
}

int cmd_resume(const Globals& g, std::vector<std::string> argv) {
    Args a(std::move(argv));
    auto pos = a.parse();
    if (a.help()) return print_usage(a, "resume CONTAINER-ID", "Thaw a paused container.");
    expect_args("resume", pos, 1, 1);
    container::resume(g.root, pos[0]);
    return 0;
}

}  // namespace husk::cli
