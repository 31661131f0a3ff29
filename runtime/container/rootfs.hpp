// The container's filesystem, built inside its mount namespace: the rootfs bind, config mounts
// in order (new mount API, targets resolved inside the rootfs), devices, pivot_root, then masked
// and read-only paths.
#pragma once

#include <map>
#include <string>

#include "runtime/cgroups/manager.hpp"
#include "spec/config.hpp"
#include "common/unique_fd.hpp"

namespace husk::rootfs {

// The checks of config.mounts that need no rootfs (what may be mounted at or over /proc),
// made by validate() before create makes anything.
void check_mount_destinations(const spec::Config& c);

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
    // Bind sources the parent opened for a container in a user namespace, by index.
    const std::map<size_t, UniqueFd>* bind_sources = nullptr;
};

// Idmapped bind mounts (idmap, ridmap, or mount uid/gid mappings), made before clone: setting
// a mount's idmapping needs CAP_SYS_ADMIN over its filesystem, which a container in a user
// namespace of its own lacks. The child attaches them where the config says.
std::map<size_t, UniqueFd> make_idmapped_mounts(const spec::Config& c, const std::string& rootfs);

// The sources of the config's bind mounts (idmapped ones aside), opened O_PATH by the calling
// husk, privileged on the host, inside the new mount namespace of `pid` (as runc does): in a
// user namespace the container's root may be unable to reach a source that the bind is meant
// to give it. Made in that namespace, so that the binds init makes from them are those it would
// have made by path. Empty where husk may not enter it (rootless); a source that cannot be
// opened is left to init, which names the error.
std::map<size_t, UniqueFd> open_bind_sources(const spec::Config& c, const std::string& rootfs, pid_t pid);

enum class Entry { PivotRoot, MoveRoot, Chroot };

// Before pivot: propagation, rootfs bind, every mount, devices. Returns the rootfs fd.
UniqueFd prepare(const Setup& s);
// Makes the rootfs "/": pivot_root, MS_MOVE + chroot (--no-pivot, after unmounting or
// covering the host's procfs and sysfs mounts that stay in the namespace), or a plain chroot
// when the container shares the host's mount namespace. `rootfs` is rootfd's host path.
void enter(int rootfd, Entry how, const std::string& rootfs);
// Detaches every mount under `rootfs` in the current namespace (for containers without a mount
// namespace, whose mounts live in the host's), deepest first.
void unmount_under(const std::string& rootfs);
// After pivot: masked and read-only paths, read-only root, rootfs propagation.
void finish(const spec::Config& config);
// Binds the console pty onto /dev/console (after pivot).
void bind_console(int slave_fd);

}  // namespace husk::rootfs
