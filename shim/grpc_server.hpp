// gRPC transport for the Task service (containerd.task.v3.Task, containerd 2.x): a generic gRPC
// service whose calls cross from gRPC's threads to the shim's single-threaded event loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "event_loop.hpp"
#include "rpc.hpp"
#include "common/unique_fd.hpp"

namespace grpc {
class Server;
}

namespace husk::shim {

class GrpcServer final : public Transport {
public:
    // Serves the connections accepted on listener (bound by `start`, so containerd can connect
    // as soon as `start` has printed the address).
    GrpcServer(EventLoop& loop, Dispatch dispatch, UniqueFd listener);
    ~GrpcServer() override;
    void send(uint64_t call, uint32_t stream, int code, const std::string& message,
              const std::string& payload) override;
    // gRPC owns the connections, so the shim cannot tell when containerd has gone.
    void on_idle(std::function<void()>) override {}
    void flush() override {}

    struct CallState;  // shared by the loop and the gRPC call it answers
    class Reactor;
    class Service;
    // From any thread: runs fn on the loop.
    void post(std::function<void()> fn);
    // On the loop: a request has arrived for method ("/<service>/<Method>").
    void arrived(std::shared_ptr<CallState> call, const std::string& method, std::string payload);

private:
    void drain();

    EventLoop& loop_;
    Dispatch dispatch_;
    UniqueFd listen_, wake_;
    std::mutex mu_;
    std::vector<std::function<void()>> inbox_;
    std::map<uint64_t, std::shared_ptr<CallState>> calls_;  // awaiting an answer
    uint64_t next_call_ = 1;
    std::unique_ptr<Service> service_;
    std::unique_ptr<grpc::Server> server_;  // last: stopped before what its threads use goes
};

}  // namespace husk::shim
