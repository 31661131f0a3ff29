// Mounts the rootfs containerd's snapshotter hands to Create (overlay, bind...) on
// <bundle>/rootfs, and takes it down again on Delete and in the `delete` cleanup command.
#pragma once

#include <string>
#include <vector>

namespace husk::shim {

struct MountSpec {
    std::string type, source;
    std::vector<std::string> options;
};

struct MountFlags {
    unsigned long flags = 0;
    std::string data;  // comma-joined filesystem options
};

// mount(8)-style option words to MS_* flags plus the data string (pure; unit-tested).
MountFlags parse_mount_options(const std::vector<std::string>& options);

// Mounts each in order on target; on failure undoes what it did and throws husk::Error.
void mount_all(const std::vector<MountSpec>& mounts, const std::string& target);
// Detaches every mount stacked on target; quiet when none is.
void unmount_all(const std::string& target);

}  // namespace husk::shim
