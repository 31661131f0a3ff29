// OOM notification for `husk events`: an fd that becomes readable when the container's memory
// cgroup hits an OOM (v1: eventfd on memory.oom_control; v2: inotify on memory.events).
#pragma once

#include <cstdint>
#include <string>

#include "common/unique_fd.hpp"

namespace husk::cgroups {

class OomNotifier {
public:
    // memory_dir: the cgroup directory with the memory controller's files; v2 selects the kind.
    OomNotifier(const std::string& memory_dir, bool v2);
    // -1 when the host gives no notification (no memory controller).
    int fd() const { return fd_.get(); }
    // Call when fd() is readable: true if an OOM happened since the last call.
    bool consume();

private:
    std::string dir_;
    bool v2_;
    UniqueFd fd_;
    UniqueFd control_;  // v1: memory.oom_control, kept open for the eventfd registration
    uint64_t seen_ = 0;  // v2: memory.events "oom" count already reported
};

}  // namespace husk::cgroups
