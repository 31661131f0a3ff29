// Container lifecycle operations behind the CLI: create, start, state, kill, delete, pause,
// resume, list. Each takes the container's lock for its whole run.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "spec/state.hpp"
#include "state_store.hpp"
#include "status.hpp"
#include "common/unique_fd.hpp"

namespace husk::container {

struct CreateOptions {
    std::string root;
    std::string id;
    std::string bundle;
    std::string console_socket;
    std::string pid_file;
    std::string pidfd_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    bool foreground = false;  // `run`: the caller keeps the child and handles the console itself
    // Rootless (--rootless, or not root): cgroups husk may not create are done without, as long
    // as the config asks for no resource limits (runc's rule).
    bool rootless = false;
    // --systemd-cgroup: the cgroup is a transient systemd unit (cgroups::Manager::plan_systemd).
    bool systemd_cgroup = false;
};

// What `run` needs to supervise the container it created.
struct Created {
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd console_master;  // foreground + terminal only
};

Created create(const CreateOptions& opt);
void start(const std::string& root, const std::string& id);
spec::State state(const std::string& root, const std::string& id);
std::vector<spec::State> list(const std::string& root);
void kill(const std::string& root, const std::string& id, int sig, bool all);
void remove(const std::string& root, const std::string& id, bool force);
void pause(const std::string& root, const std::string& id);
void resume(const std::string& root, const std::string& id);

// Connects to a --pidfd-socket up front (so a bad path fails before anything is made); the
// process's pidfd is sent there with SCM_RIGHTS once it runs. Empty path: no socket.
UniqueFd connect_pidfd_socket(const std::string& path);

// Derives the status from the kernel: stopped, created, paused or running.
Status status_of(const ContainerDir& dir, const Record& r);
// The runtime-spec state of a record with the given status.
spec::State make_state(const Record& r, Status status);

}  // namespace husk::container
