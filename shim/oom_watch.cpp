#include "oom_watch.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace husk::shim {
namespace {

uint64_t read_oom_kills(const std::string& events_file) {
    std::ifstream f(events_file);
    std::string k;
    uint64_t v = 0;
    while (f >> k >> v)
        if (k == "oom_kill") return v;
    return 0;
}

}  // namespace

OomWatch::OomWatch(EventLoop& loop, pid_t pid, std::function<void()> on_oom)
    : loop_(loop), on_oom_(std::move(on_oom)) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/cgroup");
    std::string line, v1_path, v2_path;
    bool have_v2 = false;
    while (std::getline(f, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string ctrls = line.substr(a + 1, b - a - 1);
        std::istringstream cs(ctrls);
        for (std::string c; std::getline(cs, c, ',');)
            if (c == "memory") v1_path = line.substr(b + 1);
        if (ctrls.empty()) {
            v2_path = line.substr(b + 1);
            have_v2 = true;
        }
    }
    if (!v1_path.empty()) {
        std::string dir = "/sys/fs/cgroup/memory" + v1_path;
        UniqueFd efd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
        UniqueFd ctl(::open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
        UniqueFd ev(::open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC));
        if (!efd || !ctl || !ev) return;
        std::string reg = std::to_string(efd.get()) + " " + std::to_string(ctl.get());
        if (::write(ev.get(), reg.data(), reg.size()) != ssize_t(reg.size())) return;
        fd_ = std::move(efd);
    } else if (have_v2) {
        events_file_ = "/sys/fs/cgroup" + v2_path + "/memory.events";
        if (::access(events_file_.c_str(), R_OK) != 0) return;
        UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (!in || ::inotify_add_watch(in.get(), events_file_.c_str(), IN_MODIFY) < 0) return;
        oom_kills_ = read_oom_kills(events_file_);
        fd_ = std::move(in);
    }
    if (fd_) loop_.add(fd_.get(), EPOLLIN, [this](uint32_t) { on_ready(); });
}

OomWatch::~OomWatch() {
    if (fd_) loop_.remove(fd_.get());
}

void OomWatch::on_ready() {
    char buf[4096];
    bool fired = false;
    ssize_t n;
    while ((n = ::read(fd_.get(), buf, sizeof buf)) > 0) fired = true;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        // v1: the eventfd also fires when the cgroup is removed; stop watching a dead cgroup.
        loop_.remove(fd_.get());
        fd_.reset();
    }
    if (!fired) return;
    if (!events_file_.empty()) {
        uint64_t now = read_oom_kills(events_file_);
        if (now <= oom_kills_) return;
        oom_kills_ = now;
    }
    on_oom_();
}

}  // namespace husk::shim
