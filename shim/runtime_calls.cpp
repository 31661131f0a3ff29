#include "runtime_calls.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

namespace husk::shim {

void RuntimeCalls::run(const RuntimeConfig& rc, std::vector<std::string> args, Stdio io, bool capture, Done done) {
    RuntimeChild child;
    try {
        child = start_runtime(rc, args, io, capture);
    } catch (const Error& e) {
        ++pending_failures_;
        loop_.after(std::chrono::milliseconds(0), [this, done = std::move(done), msg = std::string(e.what())] {
            RunResult res;
            res.status = 127;
            res.error = msg;
            --pending_failures_;
            done(res);
        });
        return;
    }
    pid_t pid = child.pid;
    int out = child.output.get();
    calls_[pid] = Call{rc, std::move(args), std::move(child), {}, false, 0, std::move(done)};
    if (out >= 0) {
        ::fcntl(out, F_SETFL, ::fcntl(out, F_GETFL) | O_NONBLOCK);
        loop_.add(out, EPOLLIN, [this, pid](uint32_t) { read_output(pid); });
    }
}

void RuntimeCalls::read_output(pid_t pid) {
    auto it = calls_.find(pid);
    if (it == calls_.end()) return;
    Call& c = it->second;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(c.child.output.get(), buf, sizeof buf);
        if (n > 0) {
            c.output.append(buf, size_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        break;  // end of output, or an error that ends it
    }
    loop_.remove(c.child.output.get());
    c.child.output.reset();
    finish_if_done(pid);
}

bool RuntimeCalls::reaped(pid_t pid, int wait_status) {
    auto it = calls_.find(pid);
    if (it == calls_.end()) return false;
    it->second.exited = true;
    it->second.wait_status = wait_status;
    finish_if_done(pid);
    return true;
}

void RuntimeCalls::finish_if_done(pid_t pid) {
    auto it = calls_.find(pid);
    if (it == calls_.end() || !it->second.exited || it->second.child.output) return;
    Call c = std::move(it->second);
    calls_.erase(it);
    RunResult res = runtime_result(c.rc, c.args, c.wait_status, c.child.log_start);
    res.output = std::move(c.output);
    c.done(res);
}

}  // namespace husk::shim
