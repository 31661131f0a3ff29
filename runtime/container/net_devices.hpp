// linux.netDevices: moves host network interfaces into the container's new network namespace
// and renames them there (in the parent after clone, before the container is set up); and the
// loopback of a new network namespace, brought up by init.
#pragma once

#include <sys/types.h>

#include "spec/config.hpp"

namespace husk::net_devices {

// Interfaces exist on the host, new names are valid, and the container has a netns of its own.
void validate(const spec::Linux& l);
// Moves every linux.netDevices interface into the network namespace of `pid`.
void move_into(const spec::Linux& l, pid_t pid);
// Sets `lo` of the current (new) network namespace up, as runc does for every new one.
void bring_up_loopback();

}  // namespace husk::net_devices
