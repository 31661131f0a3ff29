// The long-lived shim server: subreaper, signalfd reaper, Task service behind a transport (ttrpc
// or gRPC) and event publisher on one epoll loop, logging into the bundle's `log` fifo.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "event_loop.hpp"
#include "rpc.hpp"

namespace husk::shim {

inline constexpr const char* kDefaultRuntime = "husk";

struct ServeConfig {
    std::string ns, bundle, socket_path;
    bool debug = false;
};

// Makes the transport that listens for calls and hands each to the dispatcher.
using TransportFactory = std::function<std::unique_ptr<Transport>(EventLoop&, Dispatch)>;

// Runs until Shutdown leaves no container; returns the exit status.
int serve(const ServeConfig& cfg, const TransportFactory& make_transport);

}  // namespace husk::shim
