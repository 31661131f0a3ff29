#include "oom_watch.hpp"

#include <sys/epoll.h>

namespace husk::shim {

OomWatch::OomWatch(EventLoop& loop, pid_t pid, std::function<void()> on_oom)
    : loop_(loop), on_oom_(std::move(on_oom)), notifier_(OomNotifier::of_process(pid)) {
    if (notifier_.fd() >= 0) {
        watching_ = true;
        loop_.add(notifier_.fd(), EPOLLIN, [this](uint32_t) { on_ready(); });
    }
}

OomWatch::~OomWatch() {
    if (watching_) loop_.remove(notifier_.fd());
}

void OomWatch::on_ready() {
    bool oom = notifier_.consume();
    if (notifier_.gone() && watching_) {
        // A dead cgroup: nothing more to watch.
        loop_.remove(notifier_.fd());
        watching_ = false;
    }
    if (oom) on_oom_();
}

}  // namespace husk::shim
