// `husk exec`: a new process inside a running container. It joins every namespace of the
// container's init through its pidfd, the container's cgroup, and then runs the same final
// steps as init (process::launch), so it gets the container's security settings.
#pragma once

#include <sys/types.h>

#include <string>

#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::exec {

struct Options {
    std::string root;
    std::string id;
    spec::Process process;
    std::string console_socket;
    std::string pid_file;
    std::string pidfd_socket;  // receives the process's pidfd (SCM_RIGHTS)
    std::vector<std::string> cgroups;  // [controller[,controller]:]path under the container's cgroup
    int preserve_fds = 0;
    bool ignore_paused = false;
    bool foreground = false;  // the caller relays the terminal and waits
};

struct Started {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd console_master;
};

// The process of the container's config.json, as the base for CLI overrides.
spec::Process config_process(const std::string& root, const std::string& id);
// Starts the process; returns once it has exec'd (or throws with the reason it could not).
Started start(const Options& opt);

}  // namespace husk::exec
