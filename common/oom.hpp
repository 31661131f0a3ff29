// OOM notification for a memory cgroup, for `husk events` and the shim's /tasks/oom: an fd that
// becomes readable on an OOM kill (v1: eventfd on memory.oom_control; v2: inotify on
// memory.events, counting oom_kill as containerd and runc do).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"

namespace husk {

class OomNotifier {
public:
    // memory_dir: the cgroup directory with the memory controller's files; v2 selects the kind.
    OomNotifier(const std::string& memory_dir, bool v2);
    // The memory cgroup of a process: its v1 memory hierarchy's directory where there is one
    // (v1, hybrid), else its cgroup v2 directory.
    static OomNotifier of_process(pid_t pid);
    // -1 when the host gives no notification (no memory controller).
    int fd() const { return fd_.get(); }
    // Call when fd() is readable: true if an OOM kill happened since the last call.
    bool consume();
    // After consume(): the cgroup is gone (v1's eventfd fires then too); stop watching.
    bool gone() const { return gone_; }

private:
    std::string dir_;
    bool v2_;
    UniqueFd fd_;
    UniqueFd control_;  // v1: memory.oom_control, kept open for the eventfd registration
    uint64_t seen_ = 0;  // v2: memory.events oom_kill count already reported
    bool gone_ = false;
};

}  // namespace husk
