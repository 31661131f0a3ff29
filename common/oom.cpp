#include "oom.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cgroupfs.hpp"
#include "fs.hpp"
#include "log.hpp"

namespace husk {
namespace {

// Where the hierarchy with `controller` (v1) or cgroup2 (controller "") is mounted.
std::string mountpoint(const std::string& controller) {
    std::string text;
    if (!fs::try_read_file("/proc/self/mountinfo", text)) return "";
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        size_t dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        std::string post = line.substr(dash + 3);
        std::string fstype = post.substr(0, post.find(' '));
        // Fields before " - ": id parent major:minor root mountpoint ...
        size_t p = 0;
        for (int i = 0; i < 4 && p != std::string::npos; ++i) p = line.find(' ', p + 1);
        if (p == std::string::npos) continue;
        std::string mnt = line.substr(p + 1, line.find(' ', p + 1) - p - 1);
        if (controller.empty() ? fstype == "cgroup2" : fstype == "cgroup") {
            if (controller.empty()) return mnt;
            std::string opts = "," + post.substr(post.rfind(' ') + 1) + ",";
            if (opts.find("," + controller + ",") != std::string::npos) return mnt;
        }
    }
    return "";
}

}  // namespace

OomNotifier::OomNotifier(const std::string& memory_dir, bool v2) : dir_(memory_dir), v2_(v2) {
    if (dir_.empty()) return;
    if (v2_) {
        fd_.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
        if (fd_ && ::inotify_add_watch(fd_.get(), (dir_ + "/memory.events").c_str(), IN_MODIFY) < 0) fd_.reset();
        seen_ = cgroupfs::read_keyed(dir_, "memory.events")["oom_kill"];
        return;
    }
    fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    control_.reset(::open((dir_ + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_ || !control_) {
        fd_.reset();
        return;
    }
    try {
        fs::write_file(dir_ + "/cgroup.event_control", std::to_string(fd_.get()) + " " + std::to_string(control_.get()),
                       O_WRONLY);
    } catch (const std::exception& e) {
        log::warn(std::string("no OOM notification: ") + e.what());
        fd_.reset();
    }
}

OomNotifier OomNotifier::of_process(pid_t pid) {
    std::string v2_path;
    bool have_v2 = false;
    for (const auto& m : cgroupfs::cgroups_of(pid)) {
        if (m.has("memory")) {
            std::string mnt = mountpoint("memory");
            return OomNotifier(mnt.empty() ? "" : mnt + m.path, false);
        }
        if (m.controllers_text.empty()) {
            v2_path = m.path;
            have_v2 = true;
        }
    }
    std::string mnt = have_v2 ? mountpoint("") : "";
    return OomNotifier(mnt.empty() ? "" : mnt + v2_path, true);
}

bool OomNotifier::consume() {
    if (!fd_) return false;
    if (!v2_) {
        uint64_t n = 0;
        bool fired = ::read(fd_.get(), &n, sizeof n) == sizeof n && n > 0;
        // The eventfd also fires when the cgroup is removed; that is no OOM.
        gone_ = ::access((dir_ + "/memory.oom_control").c_str(), F_OK) != 0;
        return fired && !gone_;
    }
    char buf[4096];
    while (::read(fd_.get(), buf, sizeof buf) > 0) {
    }
    gone_ = ::access((dir_ + "/memory.events").c_str(), F_OK) != 0;
    uint64_t now = cgroupfs::read_keyed(dir_, "memory.events")["oom_kill"];
    bool fresh = now > seen_;
    seen_ = now;
    return fresh;
}

}  // namespace husk
