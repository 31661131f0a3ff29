// run: create + start in one go. In the foreground husk stays the container's parent: it
// forwards signals, relays a terminal, and exits with the container's status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"
#include "runtime/container/container.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "common/proc.hpp"
#include "supervise.hpp"

namespace husk::cli {

int cmd_run(const Globals& g, std::vector<std::string> argv) {
    container::CreateOptions opt;
    bool detach = false, keep = false;
    Args a(std::move(argv));
    add_create_flags(a, opt);
    a.boolean({"detach", "d"}, &detach, "return once the container runs instead of waiting for it");
    a.boolean({"keep"}, &keep, "do not delete the container when it exits (not with --detach)");
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "run [options] CONTAINER-ID",
                           "Create and start a container; in the foreground, wait for it and exit with its status.");
    expect_args("run", pos, 1, 1);
    if (detach && keep) throw UsageError("--keep cannot be used with --detach");
    opt.root = g.root;
    opt.rootless = g.rootless_mode();
    opt.systemd_cgroup = g.systemd_cgroup;
    opt.id = pos[0];
    opt.foreground = !detach;

    // Block the signals we forward before the container exists, so none is lost.
    sigset_t set = forwarded_signals();
    if (!detach) ::sigprocmask(SIG_BLOCK, &set, nullptr);
    container::Created c = container::create(opt);
    clear_onlcr(c.console_master.get());
    try {
        container::start(g.root, opt.id);
    } catch (...) {
        container::remove(g.root, opt.id, true);
        throw;
    }
    if (detach) return 0;
    int sigfd = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (sigfd < 0) throw_errno("signalfd");
    int code = supervise(c.pid, c.pidfd.get(), c.console_master.get(), sigfd);
    ::close(sigfd);
    if (!keep) {
        try {
            container::remove(g.root, opt.id, true);
        } catch (const std::exception& e) {
            log::warn(e.what());
        }
    }
    return code;
}

}  // namespace husk::cli
