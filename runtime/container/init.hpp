// The container's first process, from clone3() to execve(): joins namespaces, builds the
// filesystem, waits on exec.fifo for `start`, drops to the configured user and runs the program.
// It runs in the memory image of `husk create` (no re-exec) and talks to it over `sync_fd`
// (runtime/container/sync.hpp).
#pragma once

#include <map>
#include <string>

#include "runtime/cgroups/manager.hpp"
#include "spec/config.hpp"
#include "namespaces.hpp"

namespace husk::init {

struct Context {
    const spec::Config* config = nullptr;
    std::string id;
    std::string rootfs;
    const ns::Plan* ns = nullptr;
    const cgroups::Manager* cgroup = nullptr;
    int sync_fd = -1;
    int fifo_fd = -1;     // exec.fifo's read end (O_NONBLOCK)
    int console_fd = -1;  // connected console socket when process.terminal
    int lock_fd = -1;     // the state dir lock, closed first thing
    int cgroup_fd = -1;   // husk's fd on the container's cgroup2 dir (CLONE_INTO_CGROUP): likewise
    int preserve_fds = 0;
    bool no_pivot = false;
    bool no_new_keyring = false;
    bool join_cgroup_ns = false;  // unshare(CLONE_NEWCGROUP) after the parent placed us
    bool user_joined = false;     // cloned inside the joined user namespace already
    std::vector<std::string> extra_env;
    const std::map<size_t, UniqueFd>* idmapped = nullptr;
};

[[noreturn]] void run(const Context& ctx);


}  // namespace husk::init
