// Starts a child program from the shim with a clean signal state (the shim blocks SIGCHLD and
// ignores SIGPIPE; children must not inherit that) and chosen fds; used for the runtime and loggers.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace husk::shim {

struct SpawnOptions {
    std::vector<std::pair<int, int>> fds;  // {source fd, target fd}; sources must not be targets
    std::vector<std::string> extra_env;    // appended to the shim's environment
    bool new_session = false;
    bool search_path = true;               // argv[0] without a slash is looked up on PATH
};

// Returns the child's pid; throws husk::Error naming argv[0] if it cannot be started.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& opt);

}  // namespace husk::shim
