// OOM notification through eventfd (v1) or inotify on memory.events (v2).
#include "oom.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "controller.hpp"
#include "common/log.hpp"

namespace husk::cgroups {

OomNotifier::OomNotifier(const std::string& memory_dir, bool v2) : dir_(memory_dir), v2_(v2) {
    if (dir_.empty()) return;
    if (v2_) {
        fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (fd_ && ::inotify_add_watch(fd_.get(), (dir_ + "/memory.events").c_str(), IN_MODIFY) < 0) fd_.reset();
        seen_ = read_keyed(dir_, "memory.events")["oom"];
        return;
    }
    fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    control_.reset(::open((dir_ + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_ || !control_) {
        fd_.reset();
        return;
    }
    try {
        set(dir_, "cgroup.event_control", std::to_string(fd_.get()) + " " + std::to_string(control_.get()),
            "events");
    } catch (const std::exception& e) {
        log::warn(std::string("no OOM notification: ") + e.what());
        fd_.reset();
    }
}

bool OomNotifier::consume() {
    if (!fd_) return false;
    if (!v2_) {
        // The eventfd also fires when the cgroup is removed; that is no OOM.
        if (!has(dir_, "memory.oom_control")) return false;
        uint64_t n = 0;
        return ::read(fd_.get(), &n, sizeof n) == sizeof n && n > 0;
    }
    char buf[4096];
    while (::read(fd_.get(), buf, sizeof buf) > 0) {
    }
    uint64_t now = read_keyed(dir_, "memory.events")["oom"];
    bool fresh = now > seen_;
    seen_ = now;
    return fresh;
}

}  // namespace husk::cgroups
