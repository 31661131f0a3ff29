// The long-lived shim server: subreaper, signalfd reaper, ttrpc Task service and event
// publisher on one epoll loop, logging into the bundle's `log` fifo that containerd reads.
#pragma once

#include <string>

#include "unique_fd.hpp"

namespace husk::shim {

inline constexpr const char* kDefaultRuntime = "husk";

struct ServeConfig {
    std::string ns, bundle, socket_path;
    bool debug = false;
};

// Runs until Shutdown leaves no container; returns the exit status.
int serve(UniqueFd listener, const ServeConfig& cfg);

}  // namespace husk::shim
