// The one check of a container's config before create makes anything (state dir, cgroups,
// init): every rule that needs only the config and the host, each error naming its field.
#pragma once

#include "spec/config.hpp"

namespace husk::container {

// Throws husk::Error naming the field. Checks that need the container's own view stay where
// that view exists: paths resolved inside the rootfs (symlinked proc/sysfs destinations, a
// bind at /proc being a procfs) are checked by init as it mounts (rootfs.cpp), and a rootless
// create learns whether it may make cgroups only by trying (container.cpp).
void validate(const spec::Config& c);

}  // namespace husk::container
