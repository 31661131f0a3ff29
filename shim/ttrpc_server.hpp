// ttrpc server on the event loop: accepts connections, decodes Request frames, hands each call
// to the dispatcher, and lets the answer come later (Wait stays pending for a task's life).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "event_loop.hpp"
#include "rpc.hpp"
#include "ttrpc_frame.hpp"
#include "common/unique_fd.hpp"

namespace husk::shim {

class TtrpcServer final : public Transport {
public:
    TtrpcServer(EventLoop& loop, Dispatch dispatch) : loop_(loop), dispatch_(std::move(dispatch)) {}
    // Called when the last connection that made a call closes (probes that only connect, as
    // `start` does to find a live shim, do not count).
    void on_idle(std::function<void()> fn) override { on_idle_ = std::move(fn); }
    void listen(UniqueFd sock);
    void add_connection(UniqueFd conn);
    void send(uint64_t conn, uint32_t stream, int code, const std::string& message,
              const std::string& payload) override;
    void flush() override;

private:
    struct Conn {
        UniqueFd fd;
        ttrpc::FrameReader reader;
        std::string out;
        bool called = false;
    };
    void on_readable(uint64_t id);
    void on_writable(uint64_t id);
    void close_conn(uint64_t id);
    void handle_frame(uint64_t id, const ttrpc::Frame& f);
    void write_some(uint64_t id);

    EventLoop& loop_;
    Dispatch dispatch_;
    UniqueFd listen_;
    std::map<uint64_t, Conn> conns_;
    uint64_t next_id_ = 1;
    std::function<void()> on_idle_;
};

}  // namespace husk::shim
