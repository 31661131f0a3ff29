// The last steps before a container process runs, shared by init and exec so that both apply
// the same settings the same way: oom score, rlimits, user and groups, capabilities, umask,
// working directory, environment, no_new_privs, and the exec itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "spec/config.hpp"
#include "exec_stub.hpp"
#include "common/unique_fd.hpp"

namespace husk::process {

void set_rlimits(const spec::Process& p);
// setgroups/setresgid/setresuid with capabilities kept as configured.
void switch_user(const spec::Process& p);
// chdir, refusing a directory outside the root (reached through an open fd). With `may_defer`,
// a chdir refused for permission returns false instead of throwing (to retry as the user).
bool enter_cwd(const spec::Process& p, bool may_defer);
// Makes process.cwd (and its parents, 0755) inside the root if it does not exist, as runc does
// for the container's first process. Called as root of the container, after entering the root.
void create_cwd(const spec::Process& p);
// process.env plus HOME when the config lacks it, plus `extra`.
std::vector<std::string> environment(const spec::Process& p, const std::vector<std::string>& extra);
std::string find_executable(const std::string& name, const std::vector<std::string>& env);
// errno's text in lower case, as Go spells it: docker and podman match these words
// case-sensitively to choose a failed command's exit status (127 or 126).
std::string exec_error_text(int err);
void set_no_new_privs(const spec::Process& p);
// Marks every fd from 3 + preserve_fds close-on-exec.
void close_fds_on_exec(int preserve_fds);

struct Launch {
    std::vector<std::string> extra_env;
    int preserve_fds = 0;
    // Runs after every check that can fail and before the exec (init waits for `start` here).
    std::function<void()> before_exec;
    // The container's linux section: seccomp, personality and memory policy (may be null).
    const spec::Linux* linux = nullptr;
    bool exec = false;  // an exec process, not init: process.execCPUAffinity applies
    // Takes the SCMP_ACT_NOTIFY listener fd to the runtime parent, which passes it to
    // linux.seccomp.listenerPath; without it a profile with NOTIFY rules is an error.
    std::function<void(UniqueFd)> seccomp_notify;
    // The program is exec'd through this stub (made before anything loads seccomp).
    const exec_stub::Stub* stub = nullptr;
    // Closed when the program itself execs (init: exec.fifo's read end, for `start`).
    int close_at_exec = -1;
    // Where set, the exec stub waits on these for `husk start` (see exec_stub::Handoff).
    int wait_fifo = -1, wait_sync = -1;
    // Where the stub reports a failed execve of the program ("X<errno>"), if anyone listens.
    int report_fd = -1;
};

// The shared tail of init and exec, in order: rlimits, scheduler/ioprio/LSM label, personality
// and memory policy, CPU affinity, seccomp (without no_new_privs), fds close-on-exec, cwd (as
// the runtime, or after the next step where only the user may enter it), user and
// capabilities, environment, executable lookup, no_new_privs, seccomp (with it), before_exec, fd cleanup, and
// the exec through the stub, which writes the exec-time LSM labels and execs the program.
[[noreturn]] void launch(const spec::Process& p, const Launch& l);

}  // namespace husk::process
