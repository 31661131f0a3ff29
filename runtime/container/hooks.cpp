#include "hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "process.hpp"
#include "common/proc.hpp"
#include "common/unique_fd.hpp"

namespace husk::hooks {
namespace {

// The hook's environment: its "env", or without one (as runc) the container process's for the
// hooks init runs, and the runtime's own for the others (which then find programs on the
// caller's PATH).
std::vector<std::string> hook_env(const spec::Hook& h, const std::vector<std::string>* fallback) {
    if (h.has_env) return h.env;
    if (fallback) return *fallback;
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
    return env;
}

void run_one(const char* phase, const spec::Hook& h, const std::string& state, const exec_stub::Stub* stub,
             const std::vector<std::string>* fallback_env) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd rd(in[0]), wr(in[1]);
    std::vector<std::string> args = h.args.empty() ? std::vector<std::string>{h.path} : h.args;
    std::vector<std::string> env = hook_env(h, fallback_env);
    auto argv = proc::cstrings(args);
    auto envp = proc::cstrings(env);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("fork hook");
    if (pid == 0) {
        ::dup2(rd.get(), 0);
        // Stdio only, as runc's hooks get: not husk's caller's fds, nor the preserved ones.
        // Close-on-exec rather than closed: the stub's memfd is still to be exec'd.
        try {
            process::close_fds_on_exec(0);
        } catch (const std::exception&) {
            _exit(127);
        }
        proc::reset_signals();
        if (stub) exec_stub::exec(*stub, h.path, args, env);
        else ::execve(h.path.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    rd.reset();
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    // A hook that does not read its stdin must not block us or kill us with SIGPIPE.
    ::fcntl(wr.get(), F_SETFL, O_NONBLOCK);
    struct sigaction ign{}, old{};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, &old);
    ssize_t unused = ::write(wr.get(), state.data(), state.size());
    (void)unused;
    ::sigaction(SIGPIPE, &old, nullptr);
    wr.reset();
    int timeout_ms = h.timeout ? *h.timeout * 1000 : -1;
    pollfd p{pidfd.get(), POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    if (r == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw Error(std::string(phase) + " hook " + h.path + ": timed out after " + std::to_string(*h.timeout) + "s");
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        throw Error(std::string(phase) + " hook " + h.path + ": could not be executed");
    throw Error(std::string(phase) + " hook " + h.path + ": " + proc::describe_status(status));
}

}  // namespace

void run_all(const char* phase, const std::vector<spec::Hook>& hooks, const std::string& state_json,
             const exec_stub::Stub* stub, const std::vector<std::string>* fallback_env) {
    for (const auto& h : hooks) run_one(phase, h, state_json, stub, fallback_env);
}

}  // namespace husk::hooks
