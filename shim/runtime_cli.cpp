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

RuntimeChild start_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io,
                           bool capture) {
    RuntimeChild child;
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    int pipefd[2] = {-1, -1};
    if (capture && ::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    child.log_start = rc.log.empty() ? 0 : file_size(rc.log);
    SpawnOptions opt;
    opt.fds = {{io.in >= 0 ? io.in : null.get(), 0},
               {capture ? wr.get() : (io.out >= 0 ? io.out : null.get()), 1},
               {io.err >= 0 ? io.err : null.get(), 2}};
    child.pid = spawn(runtime_argv(rc, args), opt);
    child.output = std::move(rd);
    return child;
}

RunResult runtime_result(const RuntimeConfig& rc, const std::vector<std::string>& args, int wait_status,
                         off_t log_start) {
    RunResult res;
    res.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
    if (res.status != 0) {
        res.error = rc.log.empty() ? std::string() : last_log_error(read_tail(rc.log, log_start));
        if (res.error.empty()) res.error = rc.binary + " " + (args.empty() ? "" : args[0]) +
                                           " failed with status " + std::to_string(res.status);
    }
    return res;
}

RunResult run_runtime(const RuntimeConfig& rc, const std::vector<std::string>& args, Stdio io, bool capture) {
    RuntimeChild child;
    try {
        child = start_runtime(rc, args, io, capture);
    } catch (const Error& e) {
        RunResult res;
        res.status = 127;
        res.error = e.what();
        return res;
    }
    std::string output;
    if (capture) {
        char buf[4096];
        for (ssize_t n; (n = ::read(child.output.get(), buf, sizeof buf)) != 0;) {
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            output.append(buf, size_t(n));
        }
    }
    int st = 0;
    while (::waitpid(child.pid, &st, 0) < 0 && errno == EINTR) {
    }
    RunResult res = runtime_result(rc, args, st, child.log_start);
    res.output = std::move(output);
    return res;
}

}  // namespace husk::shim
