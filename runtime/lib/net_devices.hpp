// linux.netDevices: moves host network interfaces into the container's new network namespace
// and renames them there. Runs in the parent after clone, before the container is set up.
#pragma once

#include <sys/types.h>

#include "config.hpp"

namespace husk::net_devices {

// Interfaces exist on the host, new names are valid, and the container has a netns of its own.
void validate(const spec::Linux& l);
// Moves every linux.netDevices interface into the network namespace of `pid`.
void move_into(const spec::Linux& l, pid_t pid);

}  // namespace husk::net_devices
