// The last steps before a container process runs, shared by init and exec so that both apply
// the same settings the same way: oom score, rlimits, user and groups, capabilities, umask,
// working directory, environment, no_new_privs, and the exec itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.hpp"

namespace husk::process {

void set_oom_score_adj(const spec::Process& p);
void set_rlimits(const spec::Process& p);
// setgroups/setresgid/setresuid with capabilities kept as configured.
void switch_user(const spec::Process& p);
void enter_cwd(const spec::Process& p);
// process.env plus HOME when the config lacks it, plus `extra`.
std::vector<std::string> environment(const spec::Process& p, const std::vector<std::string>& extra);
std::string find_executable(const std::string& name, const std::vector<std::string>& env);
void set_no_new_privs(const spec::Process& p);
// Marks every fd from 3 + preserve_fds close-on-exec.
void close_fds_on_exec(int preserve_fds);
[[noreturn]] void exec(const std::string& path, const spec::Process& p, const std::vector<std::string>& env);

struct Launch {
    std::vector<std::string> extra_env;
    int preserve_fds = 0;
    // Runs after every check that can fail and before the exec (init waits for `start` here).
    std::function<void()> before_exec;
};

// The shared tail of init and exec, in order: rlimits, user and capabilities, cwd, environment,
// executable lookup, no_new_privs, before_exec, fd cleanup, exec.
[[noreturn]] void launch(const spec::Process& p, const Launch& l);

}  // namespace husk::process
