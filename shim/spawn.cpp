#include "spawn.hpp"

#include <signal.h>
#include <spawn.h>

#include <cstring>

#include "common/error.hpp"

extern char** environ;

namespace husk::shim {

pid_t spawn(const std::vector<std::string>& argv_s, const SpawnOptions& opt) {
    std::vector<std::string> args = argv_s;
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    env_s.insert(env_s.end(), opt.extra_env.begin(), opt.extra_env.end());
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (auto [from, to] : opt.fds) posix_spawn_file_actions_adddup2(&fa, from, to);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (opt.new_session) flags |= POSIX_SPAWN_SETSID;
    posix_spawnattr_setflags(&attr, flags);
    pid_t pid = -1;
    int rc = opt.search_path ? posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data())
                             : posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw Error("exec " + argv_s[0] + ": " + std::strerror(rc));
    return pid;
}

}  // namespace husk::shim
