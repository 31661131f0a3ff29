// The shim's single-threaded epoll loop: fd readiness callbacks and one-shot timers. Everything
// the server does (sockets, child exits, pty copies, event publishing) runs on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "common/unique_fd.hpp"

namespace husk::shim {

class EventLoop {
public:
    using Handler = std::function<void(uint32_t events)>;

    EventLoop();
    void add(int fd, uint32_t events, Handler h);
    void modify(int fd, uint32_t events);
    // Safe to call from inside any callback, including the fd's own.
    void remove(int fd);
    void after(std::chrono::milliseconds delay, std::function<void()> fn);
    void run();
    void stop() { running_ = false; }

private:
    struct Entry {
        uint32_t gen;
        std::shared_ptr<Handler> handler;
    };
    UniqueFd ep_;
    std::map<int, Entry> fds_;
    uint32_t next_gen_ = 1;
    std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> timers_;
    bool running_ = false;
};

}  // namespace husk::shim
