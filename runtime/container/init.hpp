// The container's first process, from clone3() to execve(): joins namespaces, builds the
// filesystem, waits on exec.fifo for `start`, drops to the configured user and runs the program.
// It runs in the memory image of `husk create` (no re-exec) and talks to it over `sync`.
#pragma once

#include <map>
#include <string>

#include "runtime/cgroups/manager.hpp"
#include "spec/config.hpp"
#include "namespaces.hpp"

namespace husk::init {

// Messages on the parent <-> child socket (SOCK_SEQPACKET): one byte, then an optional text.
enum Msg : char {
    kGo = 'G',          // parent -> child: maps written, cgroup joined
    kBindSource = 'M',  // parent -> child, before kGo: a bind source fd (SCM_RIGHTS), the
                        // text its index in config.mounts (user namespaces only)
    kRunHooks = 'H',    // child -> parent: mounts ready, run prestart/createRuntime
    kHooksDone = 'D',   // parent -> child: done; the text is the state JSON for container hooks
    kReady = 'R',       // child -> parent: set up, now waiting on exec.fifo
    kError = 'E',       // child -> parent: the text is the error
    kSeccompFd = 'S',   // child -> parent: the seccomp notify fd is attached (SCM_RIGHTS)
    kSeccompDone = 'A', // parent -> child: the fd went to linux.seccomp.listenerPath
    kRecorded = 'C',    // parent -> child: state.json is written; the socket closing before
                        // this means create died, and nobody would ever start or delete us
};

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
