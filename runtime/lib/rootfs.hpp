// The container's filesystem, built inside its mount namespace: the rootfs bind, config mounts
// in order (new mount API, targets resolved inside the rootfs), devices, pivot_root, then masked
// and read-only paths.
#pragma once

#include <string>

#include "cgroups/manager.hpp"
#include "config.hpp"
#include "unique_fd.hpp"

namespace husk::rootfs {

struct Setup {
    const spec::Config& config;
    std::string rootfs;  // absolute host path
    const cgroups::Manager* cgroup = nullptr;
    bool new_user_ns = false;
};

// Before pivot: propagation, rootfs bind, every mount, devices. Returns the rootfs fd.
UniqueFd prepare(const Setup& s);
// Makes the rootfs "/" (pivot_root, or MS_MOVE + chroot with no_pivot).
void enter(int rootfd, bool no_pivot);
// After pivot: masked and read-only paths, read-only root, rootfs propagation.
void finish(const spec::Config& config);
// Binds the console pty onto /dev/console (after pivot).
void bind_console(int slave_fd);

}  // namespace husk::rootfs
