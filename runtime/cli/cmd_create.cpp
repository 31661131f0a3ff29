#include <unistd.h>

#include "args.hpp"
#include "commands.hpp"
#include "runtime/container/container.hpp"
#include "common/error.hpp"
#include "common/proc.hpp"

namespace husk::cli {

bool Globals::rootless_mode() const {
    return rootless == "true" || (rootless == "auto" && (::geteuid() != 0 || !proc::in_initial_user_ns()));
}

void add_create_flags(Args& a, container::CreateOptions& opt) {
    opt.bundle = ".";
    a.value({"bundle", "b"}, &opt.bundle, "DIR",
            "the bundle: config.json and the rootfs (default: the current directory)");
    a.value({"console-socket"}, &opt.console_socket, "PATH", "unix socket to send the terminal's master fd to");
    a.value({"pid-file"}, &opt.pid_file, "PATH", "write the host pid of the container's init to PATH");
    a.value({"pidfd-socket"}, &opt.pidfd_socket, "PATH", "unix socket to send a pidfd of the container's init to");
    a.boolean({"no-pivot"}, &opt.no_pivot, "move the rootfs onto / instead of pivot_root (a rootfs on a ramdisk)");
    a.boolean({"no-new-keyring"}, &opt.no_new_keyring, "keep the caller's session keyring instead of a new one");
    a.integer({"preserve-fds"}, &opt.preserve_fds, "N", "pass N more fds, from fd 3 on, to the container's process");
}

int cmd_create(const Globals& g, std::vector<std::string> argv) {
    container::CreateOptions opt;
    Args a(std::move(argv));
    add_create_flags(a, opt);
    auto pos = a.parse();
    if (a.help())
        return print_usage(a, "create [options] CONTAINER-ID",
                           "Create a container; it waits for `husk start` to run its process.");
    expect_args("create", pos, 1, 1);
    opt.root = g.root;
    opt.rootless = g.rootless_mode();
    opt.systemd_cgroup = g.systemd_cgroup;
    opt.id = pos[0];
    container::create(opt);
    return 0;
}

}  // namespace husk::cli
