#include "event_loop.hpp"

#include <sys/epoll.h>

#include <cerrno>

#include "common/error.hpp"

namespace husk::shim {

EventLoop::EventLoop() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!ep_) throw_errno("epoll_create1");
}

void EventLoop::add(int fd, uint32_t events, Handler h) {
    uint32_t gen = next_gen_++;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = uint64_t(gen) << 32 | uint32_t(fd);
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("epoll_ctl add");
    fds_[fd] = Entry{gen, std::make_shared<Handler>(std::move(h))};
}

void EventLoop::modify(int fd, uint32_t events) {
    auto it = fds_.find(fd);
    if (it == fds_.end()) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = uint64_t(it->second.gen) << 32 | uint32_t(fd);
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) throw_errno("epoll_ctl mod");
}

void EventLoop::remove(int fd) {
    if (fds_.erase(fd)) ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) {
    timers_.emplace(std::chrono::steady_clock::now() + delay, std::move(fn));
}

void EventLoop::run() {
    running_ = true;
    epoll_event evs[16];
    while (running_) {
        int timeout = -1;
        if (!timers_.empty()) {
            auto d = std::chrono::duration_cast<std::chrono::milliseconds>(
                timers_.begin()->first - std::chrono::steady_clock::now());
            timeout = d.count() < 0 ? 0 : int(d.count()) + 1;
        }
        int n = ::epoll_wait(ep_.get(), evs, 16, timeout);
        if (n < 0 && errno != EINTR) throw_errno("epoll_wait");
        for (int i = 0; i < n && running_; ++i) {
            int fd = int(uint32_t(evs[i].data.u64));
            uint32_t gen = uint32_t(evs[i].data.u64 >> 32);
            auto it = fds_.find(fd);
            // A stale event for an fd closed and reused earlier in this batch is dropped.
            if (it == fds_.end() || it->second.gen != gen) continue;
            auto h = it->second.handler;  // keeps the callback alive if it removes itself
            (*h)(evs[i].events);
        }
        auto now = std::chrono::steady_clock::now();
        while (running_ && !timers_.empty() && timers_.begin()->first <= now) {
            auto fn = std::move(timers_.begin()->second);
            timers_.erase(timers_.begin());
            fn();
        }
    }
}

}  // namespace husk::shim
