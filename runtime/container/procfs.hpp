// Writes under /proc that a container could redirect (CVE-2025-52881 and kin): every file husk
// writes there is opened through a procfs root nothing can be mounted on, without crossing a
// mount or following a magic link, and checked to be procfs before the write.
#pragma once

#include <string>

#include "common/unique_fd.hpp"

namespace husk::procfs {

// A procfs root: a new instance of its own (fsopen, not attached anywhere) where the kernel
// allows one, else /proc checked to be procfs.
UniqueFd root();
// `rel` (e.g. "sys/net/ipv4/ip_forward", "thread-self/attr/exec") under `root`; symlinks inside
// procfs (self, thread-self) are followed, magic links and mount crossings are not.
UniqueFd open(int root, const std::string& rel, int flags);
// The whole of `rel` (what the container's mounts could fake: mountinfo, say).
std::string read(int root, const std::string& rel);
// Writes `value` to `rel`; errors name `field`.
void write(int root, const std::string& rel, const std::string& value, const std::string& field);

}  // namespace husk::procfs
