// Watches a task's memory cgroup for OOM kills (v1: memory.oom_control eventfd; v2: inotify on
// memory.events) and reports each on the event loop, for the /tasks/oom event.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "event_loop.hpp"
#include "common/oom.hpp"

namespace husk::shim {

class OomWatch {
public:
    // Starts watching the memory cgroup of pid; a host without one makes this a no-op.
    OomWatch(EventLoop& loop, pid_t pid, std::function<void()> on_oom);
    ~OomWatch();
    OomWatch(const OomWatch&) = delete;
    OomWatch& operator=(const OomWatch&) = delete;
    bool active() const { return watching_; }

private:
    void on_ready();
    EventLoop& loop_;
    std::function<void()> on_oom_;
    OomNotifier notifier_;  // common/oom: the same reader `husk events` uses
    bool watching_ = false;
};

}  // namespace husk::shim
