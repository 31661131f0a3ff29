// The container's filesystem, built inside its mount namespace: the rootfs bind, config mounts
// in order (new mount API, targets resolved inside the rootfs), devices, pivot_root, then masked
// and read-only paths.
#pragma once

#include <map>
#include <string>

#include "cgroups/manager.hpp"
#include "config.hpp"
#include "unique_fd.hpp"

namespace husk::rootfs {

struct Setup {
    const spec::Config& config;
    std::string rootfs;  // absolute host path
    const cgroups::Manager* cgroup = nullptr;
    bool user_ns = false;  // in a user namespace (new or joined): devices are bind mounts
    // Without a mount namespace of its own the container's mounts are made in the caller's
    // namespace (as runc does), the host's propagation is left alone, and the root is chroot'ed.
    bool own_mount_ns = true;
    // Detached idmapped mounts made by the parent, by index in config.mounts.
    const std::map<size_t, UniqueFd>* idmapped = nullptr;
};

// Idmapped bind mounts (idmap, ridmap, or mount uid/gid mappings), made before clone: setting
// a mount's idmapping needs CAP_SYS_ADMIN over its filesystem, which a container in a user
// namespace of its own lacks. The child attaches them where the config says.
std::map<size_t, UniqueFd> make_idmapped_mounts(const spec::Config& c, const std::string& rootfs);

enum class Entry { PivotRoot, MoveRoot, Chroot };

// Before pivot: propagation, rootfs bind, every mount, devices. Returns the rootfs fd.
UniqueFd prepare(const Setup& s);
// Makes the rootfs "/": pivot_root, MS_MOVE + chroot (--no-pivot), or a plain chroot when
// the container shares the host's mount namespace.
void enter(int rootfd, Entry how);
// Detaches every mount under `rootfs` in the current namespace (for containers without a mount
// namespace, whose mounts live in the host's), deepest first.
void unmount_under(const std::string& rootfs);
// After pivot: masked and read-only paths, read-only root, rootfs propagation.
void finish(const spec::Config& config);
// Binds the console pty onto /dev/console (after pivot).
void bind_console(int slave_fd);

}  // namespace husk::rootfs
