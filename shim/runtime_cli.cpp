#include "runtime_cli.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/error.hpp"
#include "spawn.hpp"
#include "common/unique_fd.hpp"

namespace husk::shim {

std::vector<std::string> runtime_argv(const RuntimeConfig& rc, const std::vector<std::string>& args) {
    std::vector<std::string> v{rc.binary};
    if (!rc.root.empty()) v.insert(v.end(), {"--root", rc.root});
    if (!rc.log.empty()) v.insert(v.end(), {"--log", rc.log, "--log-format", "json"});
    if (rc.systemd_cgroup) v.push_back("--systemd-cgroup");
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

std::string last_log_error(const std::string& log_text) {
    std::istringstream in(log_text);
    std::string line, last;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object() && j.value("level", "") == "error" && j.contains("msg") && j["msg"].is_string())
            last = j["msg"].get<std::string>();
    }
    return last;
}

namespace {

std::string read_tail(const std::string& path, off_t from) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return {};
    std::string s;
    char buf[4096];
    ::lseek(fd.get(), from, SEEK_SET);
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    return s;
}

off_t file_size(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd ? ::lseek(fd.get(), 0, SEEK_END) : 0;
}

}  // namespace

RunResult run_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io, bool capture) {
    RunResult res;
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    int pipefd[2] = {-1, -1};
    if (capture && ::pipe2(pipefd, O_CLOEXEC) != 0) {
        res.status = 1;
        res.error = std::string("pipe: ") + std::strerror(errno);
        return res;
    }
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    off_t log_start = rc.log.empty() ? 0 : file_size(rc.log);

    SpawnOptions opt;
    opt.fds = {{io.in >= 0 ? io.in : null.get(), 0},
               {capture ? wr.get() : (io.out >= 0 ? io.out : null.get()), 1},
               {io.err >= 0 ? io.err : null.get(), 2}};
    pid_t pid;
    try {
        pid = spawn(runtime_argv(rc, args), opt);
    } catch (const Error& e) {
        res.status = 127;
        res.error = e.what();
        return res;
    }
    wr.reset();
    if (capture) {
        char buf[4096];
        for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) != 0;) {
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            res.output.append(buf, size_t(n));
        }
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (res.status != 0) {
        res.error = rc.log.empty() ? std::string() : last_log_error(read_tail(rc.log, log_start));
        if (res.error.empty()) res.error = rc.binary + " " + (args.empty() ? "" : args[0]) +
                                           " failed with status " + std::to_string(res.status);
    }
    return res;
}

}  // namespace husk::shim
